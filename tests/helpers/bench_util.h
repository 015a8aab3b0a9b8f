/* Shared by the benchmark helpers (attn_bench, layers_bench, linear_bench). */
#ifndef TFSWA_TESTS_BENCH_UTIL_H
#define TFSWA_TESTS_BENCH_UTIL_H

#include <stddef.h>
#include <time.h>

#include "util/cli.h"

/* CPU seconds of the process (all threads): on a shared machine the wall
 * time of a 1-thread run says little; its CPU time is the cost. */
static inline double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* n uniform values in [-1, 1) from a small LCG seeded by *s. */
static inline float *frand(size_t n, unsigned *s)
{
    float *x = tf_malloc(sizeof(float) * (n ? n : 1), "bench");
    for (size_t i = 0; i < n; i++) {
        *s = *s * 1664525u + 1013904223u;
        x[i] = (float)((*s >> 8) * (1.0 / 16777216.0) * 2 - 1);
    }
    return x;
}

#endif
