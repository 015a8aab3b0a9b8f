/* Benchmark helper (bench/stft.sh): the library's stft_forward and
 * stft_inverse on SECONDS of stereo 44.1 kHz noise in memory, channels in
 * parallel over THREADS, best of REPEATS. Prints seconds and throughput
 * (seconds of stereo audio per second).
 *   stft_bench N_FFT HOP SECONDS THREADS REPEATS */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "dsp/stft.h"
#include "util/cli.h"
#include "util/progress.h"
#include "util/rng.h"

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc != 6)
        tf_usage_error("usage: stft_bench N_FFT HOP SECONDS THREADS REPEATS");
    int N = (int)tf_parse_long("N_FFT", argv[1], 2, 1 << 20), h = (int)tf_parse_long("HOP", argv[2], 1, N);
    double sec = tf_parse_double("SECONDS", argv[3], 0.01, 3600);
    int nt = (int)tf_parse_long("THREADS", argv[4], 1, 64), rep = (int)tf_parse_long("REPEATS", argv[5], 1, 100);
    tf_set_threads(nt);
    int64_t L = (int64_t)(sec * 44100), T = stft_frames(L, h), F = N / 2 + 1;
    char err[256];
    const stft_plan *p = stft_plan_get(N, h, err, sizeof err);
    if (!p)
        tf_die("%s", err);
    float *x = tf_malloc(sizeof(float) * 2 * (size_t)L, "x"), *y = tf_malloc(sizeof(float) * 2 * (size_t)L, "y");
    float *X = tf_malloc(sizeof(float) * 4 * (size_t)(F * T), "X");
    tf_rng r;
    tf_rng_seed(&r, 1);
    for (int64_t i = 0; i < 2 * L; i++)
        x[i] = (float)tf_rng_range(&r, -1, 1);
    stft_scratch *s[64];
    for (int i = 0; i < nt; i++)
        s[i] = stft_scratch_new(p);
    double best_f = 1e30, best_i = 1e30;
    for (int k = 0; k < rep; k++) {
        double t0 = tf_now();
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (int c = 0; c < 2; c++)
            stft_forward(p, s[omp_get_thread_num()], x + c * L, L, X + 2 * c * F * T);
        double t1 = tf_now();
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (int c = 0; c < 2; c++)
            stft_inverse(p, s[omp_get_thread_num()], X + 2 * c * F * T, T, y + c * L, L);
        double t2 = tf_now();
        best_f = t1 - t0 < best_f ? t1 - t0 : best_f;
        best_i = t2 - t1 < best_i ? t2 - t1 : best_i;
    }
    double e = 0;
    for (int64_t i = 0; i < 2 * L; i++)
        e = fabsf(x[i] - y[i]) > e ? fabsf(x[i] - y[i]) : e;
    printf("library %d/%d, %.0f s stereo, %d thread%s: stft %.3f s (%.0f s/s), istft %.3f s (%.0f s/s), "
           "round trip error %.2g\n",
           N, h, sec, nt, nt > 1 ? "s" : "", best_f, sec / best_f, best_i, sec / best_i, e);
    for (int i = 0; i < nt; i++)
        stft_scratch_free(s[i]);
    free(x);
    free(y);
    free(X);
    stft_plan_cache_clear();
    return 0;
}
