/* Benchmark of the tiled attention core and of whole TFSWA layers at model
 * shapes (used by bench/attention.sh).
 *
 *   attn_bench core  THREADS FRAMES     attention core (attn_forward_t / attn_backward_t): FSA (L = 1025, D = 4, 8, 16),
 *                                       TSA (L = 259), windows (L = 64, bias + mask),
 *                                       flash forward / backward vs a naive
 *                                       materialise-the-matrix forward (OpenBLAS)
 *   attn_bench layer THREADS C HEADS F T   the four layer kinds, forward and backward
 *
 * FLOPs are counted as matrix products: forward 4 L^2 D per (sequence, head)
 * (Q K^T and P V), backward 10 L^2 D (five products), the FlashAttention
 * convention; exp and masking are not counted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/attention.h"
#include "nn/tlayer.h"
#include "util/cli.h"
#include "bench_util.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void core(const char *name, int n, int H, int L, int D, int windows, int threads)
{
    unsigned s = 1;
    size_t sz = (size_t)n * H * L * D;
    float *q = frand(sz, &s), *k = frand(sz, &s), *v = frand(sz, &s), *dout = frand(sz, &s);
    float *o = tf_malloc(sizeof(float) * sz, "o"), *lse = tf_malloc(sizeof(float) * (size_t)n * H * L, "lse");
    float *dq = tf_malloc(sizeof(float) * sz, "dq"), *dk = tf_malloc(sizeof(float) * sz, "dk"),
          *dv = tf_malloc(sizeof(float) * sz, "dv");
    float *bias = NULL, *db = NULL;
    int *grp = NULL;
    if (windows) {
        bias = frand((size_t)H * L * L, &s);
        db = tf_calloc((size_t)H * L * L, sizeof(float), "db");
        grp = tf_malloc(sizeof(int) * (size_t)n * L, "grp");
        for (int i = 0; i < n * L; i++)
            grp[i] = (i / 4) % 2;
    }
    attn_problem p = {n, H, L, D, (float)(1 / sqrt(D)), bias, grp};
    /* the kernels' own layout (what tlayer packs): K, V transposed, and delta */
    int Lk = attn_key_stride(L);
    size_t szt = (size_t)n * H * D * Lk;
    float *kt = aligned_alloc(64, sizeof(float) * szt + 64), *vt = aligned_alloc(64, sizeof(float) * szt + 64),
          *dkt = aligned_alloc(64, sizeof(float) * szt + 64), *dvt = aligned_alloc(64, sizeof(float) * szt + 64),
          *delta = tf_malloc(sizeof(float) * (size_t)n * H * L, "delta");
    if (!kt || !vt || !dkt || !dvt)
        tf_die("out of memory");
    memset(kt, 0, sizeof(float) * szt);
    memset(vt, 0, sizeof(float) * szt);
    for (size_t sh = 0; sh < (size_t)n * H; sh++)
        for (int j = 0; j < L; j++)
            for (int d = 0; d < D; d++) {
                kt[(sh * D + d) * Lk + j] = k[(sh * L + j) * D + d];
                vt[(sh * D + d) * Lk + j] = v[(sh * L + j) * D + d];
            }
    double pairs = (double)n * H * L * L, t0, c0, tf = 1e30, tb = 1e30, tn = 1e30, cf = 1e30, cb = 1e30, cn = 1e30;
    for (int rep = 0; rep < 2; rep++) {
        t0 = now(), c0 = cpu();
        attn_forward_t(o, lse, q, kt, vt, &p);
        tf = fmin(tf, now() - t0), cf = fmin(cf, cpu() - c0);
        for (size_t i = 0; i < (size_t)n * H * L; i++) {
            float a = 0;
            for (int d = 0; d < D; d++)
                a += dout[i * D + d] * o[i * D + d];
            delta[i] = a;
        }
        t0 = now(), c0 = cpu();
        attn_backward_t(dq, dkt, dvt, db, q, kt, vt, dout, delta, lse, &p);
        tb = fmin(tb, now() - t0), cb = fmin(cb, cpu() - c0);
        t0 = now(), c0 = cpu();
        attn_forward_naive(o, lse, q, k, v, &p);
        tn = fmin(tn, now() - t0), cn = fmin(cn, cpu() - c0);
    }
    printf("core %-6s thr %d n %4d heads %d L %4d D %2d | fwd %6.3f s (cpu %6.3f, %5.1f GFLOP/s/core, %4.2f ns/pair) | "
           "bwd %6.3f s (cpu %6.3f, %5.1f GFLOP/s/core, %4.2f ns/pair, %.2fx fwd) | naive fwd %6.3f s (cpu %6.3f): "
           "tiled %.1fx less cpu\n",
           name, threads, n, H, L, D, tf, cf, 4 * pairs * D / cf * 1e-9, cf / pairs * 1e9, tb, cb,
           10 * pairs * D / cb * 1e-9, cb / pairs * 1e9, cb / cf, tn, cn, cn / cf);
    fflush(stdout);
    free(q);
    free(k);
    free(v);
    free(dout);
    free(o);
    free(lse);
    free(dq);
    free(dk);
    free(dv);
    free(bias);
    free(db);
    free(grp);
    free(kt);
    free(vt);
    free(dkt);
    free(dvt);
    free(delta);
}

static void layer(int threads, int C, int heads, int F, int T)
{
    static const char *names[4] = {"TSA", "FSA", "W-MSA", "SW-MSA"};
    for (int kind = 0; kind < 4; kind++) {
        tlayer_config c = {(tlayer_kind)kind, C, heads, 4 * C, 8};
        unsigned s = 3;
        size_t np = tlayer_num_params(&c), N = (size_t)F * T * C;
        float *par = frand(np, &s), *g = tf_calloc(np, sizeof(float), "g");
        for (size_t i = 0; i < np; i++)
            par[i] *= 0.2f;
        float *x = frand(N, &s), *y = tf_malloc(sizeof(float) * N, "y"), *dx = tf_calloc(N, sizeof(float), "dx");
        size_t na = tlayer_act_size(&c, 1, F, T), ns = tlayer_scratch_size(&c, 1, F, T);
        float *act = tf_malloc(sizeof(float) * na, "act"), *scr = tf_malloc(sizeof(float) * ns, "scratch");
        tlayer_params p, gp;
        tlayer_bind(&p, par, &c);
        tlayer_bind(&gp, g, &c);
        double t0 = now(), c0 = cpu();
        tlayer_forward(y, x, &p, &c, 1, F, T, act, scr);
        double tf = now() - t0, cf = cpu() - c0;
        t0 = now(), c0 = cpu();
        tlayer_backward(dx, &gp, y, x, &p, &c, 1, F, T, act, scr);
        double tb = now() - t0, cb = cpu() - c0;
        printf("layer %-6s thr %d C %3d heads %d F %4d T %4d | fwd %7.3f s (cpu %7.3f) | bwd %7.3f s (cpu %7.3f) | "
               "act %6.1f MB scratch %6.1f MB\n",
               names[kind], threads, C, heads, F, T, tf, cf, tb, cb, na * 4e-6, ns * 4e-6);
        fflush(stdout);
        free(par);
        free(g);
        free(x);
        free(y);
        free(dx);
        free(act);
        free(scr);
    }
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc >= 4 && !strcmp(argv[1], "core")) {
        int th = (int)tf_parse_long("threads", argv[2], 1, 256), fr = (int)tf_parse_long("frames", argv[3], 1, 100000);
        tf_set_threads(th);
        core("FSA", fr, 8, 1025, 4, 0, th);
        core("FSA", fr, 4, 1025, 8, 0, th);
        core("FSA", fr, 2, 1025, 16, 0, th);
        core("TSA", fr * 4, 8, 259, 4, 0, th);
        core("window", fr * 64, 8, 64, 4, 1, th);
        core("window", fr * 64, 2, 64, 16, 1, th);
        return 0;
    }
    if (argc >= 7 && !strcmp(argv[1], "layer")) {
        int th = (int)tf_parse_long("threads", argv[2], 1, 256);
        tf_set_threads(th);
        layer(th, (int)tf_parse_long("C", argv[3], 1, 4096), (int)tf_parse_long("heads", argv[4], 1, 256),
              (int)tf_parse_long("F", argv[5], 1, 100000), (int)tf_parse_long("T", argv[6], 1, 100000));
        return 0;
    }
    fprintf(stderr, "usage: attn_bench core THREADS FRAMES | attn_bench layer THREADS C HEADS F T\n");
    return 2;
}
