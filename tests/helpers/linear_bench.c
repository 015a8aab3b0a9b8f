/* Benchmark of linear_forward / linear_backward at the TFSWA layer's shapes,
 * the register-blocked kernels of lib/nn/linear.c against OpenBLAS (used by
 * bench/layers.sh).
 *
 *   linear_bench THREADS [TOKENS [C...]]
 *
 * For each C (default 16 32 64 128 256): qkv C -> 3C, proj C -> C,
 * fc1 C -> 4C, fc2 4C -> C, over TOKENS tokens (default 65536), each of
 * forward (y = x W^T + b), dx (dx += dy W) and dW + db (dW += dy^T x, db +=
 * colsum dy), with nn_linear_mode = 1 (own) and 2 (OpenBLAS); GFLOP/s per
 * CPU second (2 n in out FLOPs per product; steadier than wall time on a
 * shared machine), best of 3, and the ratio own / BLAS. The "auto" column
 * says which one linear_forward/backward pick by default. Also the column
 * sum (nn_colsum_acc) in GB/s.
 * With LINEAR_BF16=1 instead: the default fp32 kernels against the bf16
 * precision (nn/precision.h; AMX or AVX512_BF16 kernels where the CPU has
 * them, else the portable path; LINEAR_BF16=2 leaves AMX out), GFLOP/s per
 * CPU second and the ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/layers.h"
#include "nn/layers_impl.h"
#include "nn/precision.h"
#include "util/cli.h"
#include "bench_util.h"

#define REPS 3

/* best CPU seconds of op 0 forward, 1 dx, 2 dW + db */
static double run(int op, int64_t n, int in, int out, float *x, float *w, float *b, float *y, float *dx, float *dw,
                  float *db)
{
    double best = 1e30;
    for (int r = 0; r < REPS; r++) {
        double c0 = cpu();
        if (op == 0)
            linear_forward(y, x, w, b, n, in, out);
        else if (op == 1)
            linear_backward(dx, NULL, NULL, y, x, w, n, in, out);
        else
            linear_backward(NULL, dw, db, y, x, w, n, in, out);
        double c = cpu() - c0;
        if (c < best)
            best = c;
    }
    return best;
}

static int bf16_mode;

static void bench(const char *name, int64_t n, int in, int out)
{
    unsigned s = 7;
    float *x = frand((size_t)n * in, &s), *w = frand((size_t)out * in, &s), *b = frand((size_t)out, &s);
    float *y = frand((size_t)n * out, &s), *dx = tf_calloc((size_t)n * in, 4, "dx");
    float *dw = tf_calloc((size_t)out * in, 4, "dw"), *db = tf_calloc((size_t)out, 4, "db");
    double fl = 2.0 * n * in * out * 1e-9;
    printf("%-5s %7lld x %4d -> %4d", name, (long long)n, in, out);
    static const char *ops[3] = {"fwd", "dx", "dW+db"};
    for (int op = 0; op < 3 && bf16_mode; op++) {
        nn_set_matmul_precision(NN_FP32);
        double f32 = run(op, n, in, out, x, w, b, y, dx, dw, db);
        nn_set_matmul_precision(NN_BF16);
        double b16 = run(op, n, in, out, x, w, b, y, dx, dw, db);
        nn_set_matmul_precision(NN_FP32);
        printf("  %s %5.1f/%5.1f (%4.2fx)", ops[op], fl / f32, fl / b16, f32 / b16);
    }
    for (int op = 0; op < 3 && !bf16_mode; op++) {
        nn_linear_mode = 1;
        double own = run(op, n, in, out, x, w, b, y, dx, dw, db);
        nn_linear_mode = 2;
        double blas = run(op, n, in, out, x, w, b, y, dx, dw, db);
        nn_linear_mode = 0;
        printf("  %s %5.1f/%5.1f (%4.2fx)", ops[op], fl / own, fl / blas, blas / own);
    }
    printf("\n");
    fflush(stdout);
    free(x), free(w), free(b), free(y), free(dx), free(dw), free(db);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int64_t n = argc > 2 ? atoll(argv[2]) : 65536;
    tf_set_threads(threads);
    if (getenv("LINEAR_CHUNK"))
        nn_linear_chunk = atoi(getenv("LINEAR_CHUNK"));
    int cs[16] = {16, 32, 64, 128, 256}, nc = 5;
    if (argc > 3) {
        nc = 0;
        for (int i = 3; i < argc && nc < 16; i++)
            cs[nc++] = atoi(argv[i]);
    }
    bf16_mode = getenv("LINEAR_BF16") ? atoi(getenv("LINEAR_BF16")) : 0;
    nn_bf16_no_amx = bf16_mode == 2; /* LINEAR_BF16=2: the AVX512_BF16 kernels without AMX */
    if (bf16_mode)
        printf("GFLOP/s per CPU second, fp32 / bf16 (speed-up of bf16), %d thread(s), %lld tokens; bf16: %s\n", threads,
               (long long)n, nn_bf16_path());
    else
        printf("GFLOP/s per CPU second, own kernels / OpenBLAS (speed-up of own), %d thread(s), %lld tokens\n", threads,
               (long long)n);
    for (int i = 0; i < nc; i++) {
        int C = cs[i];
        bench("qkv", n, C, 3 * C);
        bench("proj", n, C, C);
        bench("fc1", n, C, 4 * C);
        bench("fc2", n, 4 * C, C);
    }
    /* column sums (the bias gradient of the OpenBLAS path) */
    for (int i = 0; i < nc; i++) {
        int c = 4 * cs[i];
        unsigned s = 5;
        float *m = frand((size_t)n * c, &s), *acc = tf_calloc((size_t)c, 4, "acc");
        double best = 1e30;
        for (int r = 0; r < REPS; r++) {
            double c0 = cpu();
            nn_colsum_acc(acc, m, n, c);
            double t = cpu() - c0;
            best = t < best ? t : best;
        }
        printf("colsum %lld x %d: %.2f GB/s per CPU second\n", (long long)n, c, (double)n * c * 4 / best * 1e-9);
        free(m), free(acc);
    }
    return 0;
}
