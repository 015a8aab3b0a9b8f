/* Benchmark of the primitive layers at model shapes (used by bench/layers.sh).
 *
 *   layers_bench THREADS [TOKENS [F T]]
 *
 * linear      tokens x C -> 4C for C = 16..256 (the MLP's first Linear),
 *             forward and backward (dx + dw + db); default 265475 tokens
 *             (F = 1025, T = 259: the first stage of 3 s of audio)
 * conv        the model's convolutions at the seed preset's channels
 *             (32, 64, 128, 256) on an (F, T) spectrogram image, B = 1:
 *             stem 7x7, down 4x4 s2, up (transposed) 4x4 s2, head 3x3 and 1x1
 * elementwise layernorm (C = 32), GELU, batchnorm, token layout, in ns/element
 *
 * FLOPs: 2 per multiply-add of the mathematical operation (linear 2 N C_in
 * C_out; conv 2 Cout Cin kh kw Ho Wo); backward counts dx and dw (twice the
 * forward). Best of 3 runs. Environment (for experiments): LAYERS_BENCH_ONLY=
 * linear|conv|elementwise, LAYERS_BENCH_TILE=floats (conv tile budget). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/layers.h"
#include "nn/layers_impl.h"
#include "util/cli.h"
#include "bench_util.h"

/* Wall time and process CPU time; GFLOP/s are printed per wall second and
 * per CPU second (the latter is steadier on a shared, loaded machine and, with
 * 1 thread, what an idle machine would show). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct {
    double wall, cpu, w0, c0;
} timer;

static void tstart(timer *t)
{
    t->w0 = now();
    t->c0 = cpu();
}

static void tstop(timer *t)
{
    double w = now() - t->w0, c = cpu() - t->c0;
    if (t->wall == 0 || w < t->wall)
        t->wall = w;
    if (t->cpu == 0 || c < t->cpu)
        t->cpu = c;
}

#define REPS 3

static void bench_linear(int64_t n, int c)
{
    unsigned s = 7;
    int h = 4 * c;
    float *x = frand((size_t)n * c, &s), *w = frand((size_t)h * c, &s), *b = frand((size_t)h, &s);
    float *y = tf_malloc(sizeof(float) * (size_t)n * h, "y"), *dx = tf_calloc((size_t)n * c, 4, "dx");
    float *dw = tf_calloc((size_t)h * c, 4, "dw"), *db = tf_calloc((size_t)h, 4, "db");
    timer tf = {0}, tb = {0};
    for (int r = 0; r < REPS; r++) {
        tstart(&tf);
        linear_forward(y, x, w, b, n, c, h);
        tstop(&tf);
        tstart(&tb);
        linear_backward(dx, dw, db, y, x, w, n, c, h); /* y stands in for dy */
        tstop(&tb);
    }
    double fl = 2.0 * n * c * h;
    printf("linear %7lld x %3d -> %4d        fwd %7.3f s %6.1f GFLOP/s (%5.1f /cpu-s)  bwd %7.3f s %6.1f GFLOP/s "
           "(%5.1f /cpu-s)\n",
           (long long)n, c, h, tf.wall, fl / tf.wall * 1e-9, fl / tf.cpu * 1e-9, tb.wall, 2 * fl / tb.wall * 1e-9,
           2 * fl / tb.cpu * 1e-9);
    fflush(stdout);
    free(x), free(w), free(b), free(y), free(dx), free(dw), free(db);
}

static void bench_conv(const char *name, int transposed, conv2d_dims d)
{
    unsigned s = 11;
    int Ho = transposed ? convt2d_out_h(&d) : conv2d_out_h(&d), Wo = transposed ? convt2d_out_w(&d) : conv2d_out_w(&d);
    size_t nx = (size_t)d.B * d.Cin * d.H * d.W, ny = (size_t)d.B * d.Cout * Ho * Wo;
    size_t nw = (size_t)d.Cout * d.Cin * d.kh * d.kw;
    size_t ws = transposed ? convt2d_workspace(&d) : conv2d_workspace(&d);
    float *x = frand(nx, &s), *w = frand(nw, &s), *b = frand((size_t)d.Cout, &s), *dy = frand(ny, &s);
    float *y = tf_malloc(sizeof(float) * ny, "y"), *work = tf_malloc(sizeof(float) * (ws ? ws : 1), "work");
    float *dx = tf_calloc(nx, 4, "dx"), *dw = tf_calloc(nw, 4, "dw"), *db = tf_calloc((size_t)d.Cout, 4, "db");
    timer tf = {0}, tb = {0};
    for (int r = 0; r < REPS; r++) {
        tstart(&tf);
        if (transposed)
            convt2d_forward(y, x, w, b, &d, work);
        else
            conv2d_forward(y, x, w, b, &d, work);
        tstop(&tf);
        tstart(&tb);
        if (transposed)
            convt2d_backward(dx, dw, db, dy, x, w, &d, work);
        else
            conv2d_backward(dx, dw, db, dy, x, w, &d, work);
        tstop(&tb);
    }
    /* multiply-adds: per input pixel for transposed, per output pixel for conv */
    double macs = transposed ? (double)d.B * d.H * d.W * d.Cin * d.Cout * d.kh * d.kw
                             : (double)d.B * Ho * Wo * d.Cout * d.Cin * d.kh * d.kw;
    printf("%-7s %3d->%3d %dx%d s%d %4dx%-4d work %4.1f MB  fwd %7.3f s %6.1f GFLOP/s (%5.1f /cpu-s)  "
           "bwd %7.3f s %6.1f GFLOP/s (%5.1f /cpu-s)\n",
           name, d.Cin, d.Cout, d.kh, d.kw, d.sh, d.H, d.W, ws * 4e-6, tf.wall, 2 * macs / tf.wall * 1e-9,
           2 * macs / tf.cpu * 1e-9, tb.wall, 4 * macs / tb.wall * 1e-9, 4 * macs / tb.cpu * 1e-9);
    fflush(stdout);
    free(x), free(w), free(b), free(dy), free(y), free(work), free(dx), free(dw), free(db);
}

static void bench_elementwise(int F, int T)
{
    unsigned s = 3;
    int C = 32;
    int64_t n = (int64_t)F * T, e = n * C;
    float *x = frand((size_t)e, &s), *g = frand((size_t)C, &s), *b = frand((size_t)C, &s), *dy = frand((size_t)e, &s);
    float *y = tf_malloc(sizeof(float) * (size_t)e, "y"), *dx = tf_calloc((size_t)e, 4, "dx");
    float *m = tf_malloc(sizeof(float) * (size_t)n, "m"), *rs = tf_malloc(sizeof(float) * (size_t)n, "rs");
    float *dg = tf_calloc((size_t)C, 4, "dg"), *db = tf_calloc((size_t)C, 4, "db");
    timer t[8] = {{0}};
    for (int r = 0; r < REPS; r++) {
        tstart(&t[0]);
        layernorm_forward(y, m, rs, x, g, b, n, C, 1e-5f);
        tstop(&t[0]);
        tstart(&t[1]);
        layernorm_backward(dx, dg, db, dy, x, m, rs, g, n, C);
        tstop(&t[1]);
        tstart(&t[2]);
        gelu_forward(y, x, e);
        tstop(&t[2]);
        tstart(&t[3]);
        gelu_backward(dx, dy, x, e);
        tstop(&t[3]);
        tstart(&t[4]);
        batchnorm_forward_train(y, m, rs, NULL, NULL, x, g, b, 1, C, n, 0.1f, 1e-5f);
        tstop(&t[4]);
        tstart(&t[5]);
        batchnorm_backward(dx, dg, db, dy, x, m, rs, g, 1, C, n);
        tstop(&t[5]);
        tstart(&t[6]);
        nchw_to_tokens(y, x, 1, C, F, T);
        tstop(&t[6]);
        tstart(&t[7]);
        tokens_to_nchw(y, x, 1, C, F, T);
        tstop(&t[7]);
    }
    const char *names[8] = {"layernorm fwd", "layernorm bwd", "gelu fwd",     "gelu bwd",
                            "batchnorm fwd", "batchnorm bwd", "nchw->tokens", "tokens->nchw"};
    for (int k = 0; k < 8; k++)
        printf("%-14s C=%d %dx%d  %8.4f s  %6.2f ns/element (%5.2f cpu-ns)\n", names[k], C, F, T, t[k].wall,
               t[k].wall / e * 1e9, t[k].cpu / e * 1e9);
    fflush(stdout);
    free(x), free(g), free(b), free(dy), free(y), free(dx), free(m), free(rs), free(dg), free(db);
}

static conv2d_dims dims(int Cin, int H, int W, int Cout, int k, int s, int p)
{
    conv2d_dims d = {1, Cin, H, W, Cout, k, k, s, s, p, p};
    return d;
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: layers_bench THREADS [TOKENS [F T]]\n");
        return 2;
    }
    int threads = (int)tf_parse_long("THREADS", argv[1], 1, 1024);
    int64_t tokens = argc > 2 ? tf_parse_long("TOKENS", argv[2], 1, 1L << 30) : 265475;
    int F = argc > 4 ? (int)tf_parse_long("F", argv[3], 8, 100000) : 1025;
    int T = argc > 4 ? (int)tf_parse_long("T", argv[4], 8, 100000) : 259;
    tf_set_threads(threads);
    const char *tile = getenv("LAYERS_BENCH_TILE"); /* experiment: conv tile budget in floats */
    if (tile)
        nn_conv_tile_floats = (size_t)tf_parse_long("LAYERS_BENCH_TILE", tile, 1, 1L << 30);
    const char *only = getenv("LAYERS_BENCH_ONLY"); /* linear, conv or elementwise */
    printf("threads %d, linear on %lld tokens, convolutions on %dx%d\n", threads, (long long)tokens, F, T);
    if (!only || strcmp(only, "linear") == 0)
        for (int c = 16; c <= 256; c *= 2)
            bench_linear(tokens, c);
    if (only && strcmp(only, "conv") != 0) {
        if (strcmp(only, "elementwise") == 0)
            bench_elementwise(F, T);
        return 0;
    }
    int F2 = (F + 2 - 4) / 2 + 1, T2 = (T + 2 - 4) / 2 + 1;
    int F3 = (F2 + 2 - 4) / 2 + 1, T3 = (T2 + 2 - 4) / 2 + 1;
    int F4 = (F3 + 2 - 4) / 2 + 1, T4 = (T3 + 2 - 4) / 2 + 1;
    bench_conv("stem", 0, dims(4, F, T, 32, 7, 1, 3));
    bench_conv("down1", 0, dims(32, F, T, 64, 4, 2, 1));
    bench_conv("down2", 0, dims(64, F2, T2, 128, 4, 2, 1));
    bench_conv("down3", 0, dims(128, F3, T3, 256, 4, 2, 1));
    bench_conv("up3", 1, dims(256, F4, T4, 128, 4, 2, 1));
    bench_conv("up2", 1, dims(128, F3, T3, 64, 4, 2, 1));
    bench_conv("up1", 1, dims(64, F2, T2, 32, 4, 2, 1));
    bench_conv("head3x3", 0, dims(32, F, T, 32, 3, 1, 1));
    bench_conv("head1x1", 0, dims(32, F, T, 16, 1, 1, 0));
    if (!only)
        bench_elementwise(F, T);
    return 0;
}
