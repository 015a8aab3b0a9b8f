/* dist_bench N REPS: under mpirun, the wall seconds of one dist_sum (lib/train/dist.h) of N
 * doubles, the median of REPS after one warm-up, as rank 0 prints it ("allreduce N doubles:
 * S s"); also checks the sum (every rank adds rank + i / N). Without mpirun: a sum of one. */
#include "train/dist.h"
#include "util/cli.h"
#include "util/progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc != 3)
        tf_usage_error("usage: dist_bench N REPS");
    size_t n = (size_t)tf_parse_long("N", argv[1], 1, 1L << 30);
    int reps = (int)tf_parse_long("REPS", argv[2], 1, 100000);
    int size = dist_init(), rank = dist_rank();
    double *buf = tf_malloc(n * sizeof(double), "buffer"), *t = tf_malloc((size_t)(reps + 1) * sizeof(double), "times");
    for (int r = 0; r <= reps; r++) {
        for (size_t i = 0; i < n; i++)
            buf[i] = rank + (double)i / (double)n;
        double s = tf_now();
        dist_sum(buf, n);
        t[r] = tf_now() - s;
    }
    for (size_t i = 0; i < n; i++) { /* sum over ranks of rank + i/n */
        double want = size * (size - 1) / 2.0 + size * (double)i / (double)n;
        if (fabs(buf[i] - want) > 1e-9 * (1 + fabs(want)))
            tf_die("element %zu: %.17g, want %.17g", i, buf[i], want);
    }
    qsort(t + 1, (size_t)reps, sizeof *t, cmp);
    if (rank == 0)
        printf("allreduce %zu doubles on %d ranks: %.6f s\n", n, size, t[1 + reps / 2]);
    free(buf);
    free(t);
    dist_finalize();
    return 0;
}
