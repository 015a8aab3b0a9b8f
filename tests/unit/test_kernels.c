/* The kernel levels of lib/nn (lib/nn/kernels.h) against each other: every
 * level this CPU runs computes the same layers on the same random inputs as
 * the portable level, which is itself tested against independent references
 * (naive double loops, finite differences, PyTorch goldens) in the other
 * unit tests, which make check also runs once per level.
 *
 * Compared: the linear layer and its fused forms and backward passes (at
 * shapes that take the own register-tiled kernels and OpenBLAS), GELU,
 * LayerNorm, attention forward and backward (with bias and groups), and the
 * four transformer layer kinds forward and backward. Levels differ in
 * vector width, so in summation order and in the exp/erf polynomials' last
 * bits: elements must agree to 1e-4 relative to the output's rms (float
 * rounding of sums of ~100 terms is ~1e-6; a wrong lane or a missed tail is
 * O(1)). Also: a level the CPU cannot run is refused and changes nothing,
 * "auto" picks the best, and unknown names are refused. */
#include "check.h"
#include "nn/attention.h"
#include "nn/kernels.h"
#include "nn/layers.h"
#include "nn/tlayer.h"
#include "util/cli.h"
#include "util/rng.h"

#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

static const char *const LEVELS[] = {"portable", "avx2", "avx512"};

static float *rnd(size_t n, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    tf_rng r;
    tf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(2 * tf_rng_uniform(&r) - 1);
    return x;
}

/* Every element of got within TOL * rms(ref) of ref. */
static void same(const float *got, const float *ref, size_t n, const char *level, const char *what)
{
    double ss = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)ref[i] * ref[i];
    double scale = n ? sqrt(ss / n) : 0;
    size_t at = 0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) != isnan(ref[i]))
            nan = 1;
        double d = fabs((double)got[i] - ref[i]);
        if (d > worst)
            worst = d, at = i;
    }
    CHECK(!nan && worst <= TOL * scale + 1e-30, "%s: %s: element %zu differs by %.3g (rms %.3g)", level, what, at,
          worst, scale);
}

/* The outputs of one level, in one array per quantity. */
#define NQ 48
typedef struct {
    float *q[NQ];
    size_t n[NQ];
    const char *name[NQ];
    int k;
} outputs;

static void keep(outputs *o, const char *name, const float *x, size_t n)
{
    o->q[o->k] = malloc(n * sizeof(float));
    memcpy(o->q[o->k], x, n * sizeof(float));
    o->n[o->k] = n;
    o->name[o->k++] = name;
}

static void run_linear(outputs *o)
{
    /* n = 37 tokens (a tail), in 24 / out 40: the own kernels; in 300 / out 260: OpenBLAS */
    static const int shape[2][2] = {{24, 40}, {300, 260}};
    for (int s = 0; s < 2; s++) {
        int n = 37, in = shape[s][0], out = shape[s][1];
        float *x = rnd((size_t)n * in, 1), *w = rnd((size_t)out * in, 2), *b = rnd(out, 3),
              *dy = rnd((size_t)n * out, 4);
        float *y = calloc((size_t)n * out, 4), *pre = calloc((size_t)n * out, 4);
        float *dx = calloc((size_t)n * in, 4), *dw = calloc((size_t)out * in, 4), *db = calloc(out, 4);
        linear_forward(y, x, w, b, n, in, out);
        keep(o, s ? "linear_forward (BLAS shape)" : "linear_forward", y, (size_t)n * out);
        linear_forward_res(y, y, x, w, b, n, in, out);
        keep(o, "linear_forward_res", y, (size_t)n * out);
        linear_gelu_forward(y, pre, x, w, b, n, in, out);
        keep(o, "linear_gelu_forward", y, (size_t)n * out);
        linear_backward(dx, dw, db, dy, x, w, n, in, out);
        keep(o, "linear_backward dx", dx, (size_t)n * in);
        keep(o, "linear_backward dw", dw, (size_t)out * in);
        keep(o, "linear_backward db", db, out);
        free(x), free(w), free(b), free(dy), free(y), free(pre), free(dx), free(dw), free(db);
    }
}

static void run_pointwise(outputs *o)
{
    int n = 203, C = 48;
    float *x = rnd((size_t)n * C, 5), *g = rnd(C, 6), *b = rnd(C, 7), *dy = rnd((size_t)n * C, 8);
    float *y = calloc((size_t)n * C, 4), *dx = calloc((size_t)n * C, 4), *dg = calloc(C, 4), *db = calloc(C, 4);
    float *mean = malloc(n * 4), *rstd = malloc(n * 4);
    for (int i = 0; i < n * C; i++)
        x[i] *= 4; /* GELU's both tails */
    gelu_forward(y, x, (int64_t)n * C);
    keep(o, "gelu_forward", y, (size_t)n * C);
    gelu_backward(dx, dy, x, (int64_t)n * C);
    keep(o, "gelu_backward", dx, (size_t)n * C);
    layernorm_forward(y, mean, rstd, x, g, b, n, C, 1e-5f);
    keep(o, "layernorm_forward", y, (size_t)n * C);
    memset(dx, 0, (size_t)n * C * 4);
    layernorm_backward(dx, dg, db, dy, x, mean, rstd, g, n, C);
    keep(o, "layernorm_backward dx", dx, (size_t)n * C);
    keep(o, "layernorm_backward dg", dg, C);
    free(x), free(g), free(b), free(dy), free(y), free(dx), free(dg), free(db), free(mean), free(rstd);
}

static void run_attention(outputs *o)
{
    int n = 3, H = 2, L = 37, D = 8; /* L not a multiple of any vector width */
    size_t sz = (size_t)n * H * L * D;
    float *q = rnd(sz, 9), *k = rnd(sz, 10), *v = rnd(sz, 11), *dout = rnd(sz, 12), *bias = rnd((size_t)H * L * L, 13);
    float *out = calloc(sz, 4), *lse = calloc((size_t)n * H * L, 4), *dq = calloc(sz, 4), *dk = calloc(sz, 4),
          *dv = calloc(sz, 4), *dbias = calloc((size_t)H * L * L, 4);
    int *grp = malloc((size_t)n * L * sizeof *grp);
    for (int i = 0; i < n * L; i++)
        grp[i] = (i % L) / 10; /* four groups per sequence */
    attn_problem p = {.n = n, .heads = H, .L = L, .D = D, .scale = 0.35f, .bias = bias, .group = grp};
    attn_forward(out, lse, q, k, v, &p);
    keep(o, "attn_forward", out, sz);
    keep(o, "attn_forward lse", lse, (size_t)n * H * L);
    attn_backward(dq, dk, dv, dbias, q, k, v, out, dout, lse, &p);
    keep(o, "attn_backward dq", dq, sz);
    keep(o, "attn_backward dk", dk, sz);
    keep(o, "attn_backward dbias", dbias, (size_t)H * L * L);
    free(q), free(k), free(v), free(dout), free(bias), free(out), free(lse), free(dq), free(dk), free(dv), free(dbias);
    free(grp);
}

static void run_tlayer(outputs *o)
{
    static const char *const name[4] = {"tlayer TSA", "tlayer FSA", "tlayer W-MSA", "tlayer SW-MSA"};
    int B = 1, F = 13, T = 11, C = 16;
    for (int kind = 0; kind < 4; kind++) {
        tlayer_config c = {.kind = (tlayer_kind)kind, .C = C, .heads = 2, .hidden = 4 * C, .window = 4};
        size_t np = tlayer_num_params(&c), N = (size_t)B * F * T * C;
        float *w = rnd(np, 20 + kind), *gw = calloc(np, 4), *x = rnd(N, 30 + kind), *dy = rnd(N, 40 + kind);
        float *y = calloc(N, 4), *dx = calloc(N, 4);
        float *act = calloc(tlayer_act_size(&c, B, F, T), 4), *scr = calloc(tlayer_scratch_size(&c, B, F, T), 4);
        tlayer_params p, g;
        tlayer_bind(&p, w, &c);
        tlayer_bind(&g, gw, &c);
        tlayer_forward(y, x, &p, &c, B, F, T, act, scr);
        keep(o, name[kind], y, N);
        tlayer_backward(dx, &g, dy, x, &p, &c, B, F, T, act, scr);
        keep(o, "tlayer backward dx", dx, N);
        keep(o, "tlayer backward dparams", gw, np);
        free(w), free(gw), free(x), free(dy), free(y), free(dx), free(act), free(scr);
    }
}

static void run_all(outputs *o)
{
    memset(o, 0, sizeof *o);
    run_linear(o);
    run_pointwise(o);
    run_attention(o);
    run_tlayer(o);
}

static void free_outputs(outputs *o)
{
    for (int i = 0; i < o->k; i++)
        free(o->q[i]);
}

int main(void)
{
    tf_set_threads(2);
    const char *start = nn_kernels();
    CHECK(nn_kernels_select("no-such-level") < 0, "an unknown level was accepted");
    CHECK(!strcmp(nn_kernels(), start), "a refused selection changed the level");
    if (!strcmp(start, "native")) {
        printf("ARCH=native build: one kernel level, nothing to compare\n");
        return check_report("test_kernels");
    }
    CHECK(nn_kernels_select("auto") == 0, "auto refused");
    const char *avail = nn_kernels_available(), *best = strrchr(avail, ' ');
    best = best ? best + 1 : avail;
    CHECK(!strcmp(nn_kernels(), best), "auto chose %s, the CPU runs %s", nn_kernels(), avail);

    outputs ref, got;
    CHECK(nn_kernels_select("portable") == 0, "portable refused");
    run_all(&ref);
    CHECK(ref.k <= NQ, "too many outputs");
    for (size_t l = 1; l < sizeof LEVELS / sizeof *LEVELS; l++) {
        if (!nn_kernels_supported(LEVELS[l])) {
            const char *before = nn_kernels();
            CHECK(nn_kernels_select(LEVELS[l]) < 0, "%s accepted on a CPU that cannot run it", LEVELS[l]);
            CHECK(!strcmp(nn_kernels(), before), "a refused level changed the level");
            printf("%s: not run by this CPU (it runs %s)\n", LEVELS[l], avail);
            continue;
        }
        CHECK(nn_kernels_select(LEVELS[l]) == 0, "%s refused", LEVELS[l]);
        CHECK(!strcmp(nn_kernels(), LEVELS[l]), "selected %s, running %s", LEVELS[l], nn_kernels());
        run_all(&got);
        for (int i = 0; i < ref.k; i++)
            same(got.q[i], ref.q[i], ref.n[i], LEVELS[l], ref.name[i]);
        printf("%s: %d outputs compared with portable\n", LEVELS[l], ref.k);
        free_outputs(&got);
    }
    free_outputs(&ref);
    nn_kernels_select("auto");
    return check_report("test_kernels");
}
