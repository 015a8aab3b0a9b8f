/* bfloat16 matrix-product precision (nn/precision.h):
 * - fp32 <-> bf16 conversion against hand-worked bit patterns (ties to
 *   even, carries into the exponent and to inf, subnormals, inf, NaN);
 * - the linear layer in NN_BF16 mode (forward, the fused forms, backward,
 *   backward_set) against naive double loops over the bf16-rounded
 *   operands, on the portable path everywhere and on the AVX512_BF16
 *   kernels where the CPU has them; the two paths against each other; the
 *   hardware packing against the portable conversion, bit for bit;
 *   thread-count independence of the hardware kernels.
 *
 * Tolerance of a product S = sum_k a_k b_k of K terms (bf16 operands):
 * every product a_k b_k of two bf16 values (8-bit significands) is exact in
 * fp32 (16 bits), so each path computes the exact products and differs from
 * the double reference only by its fp32 additions: at most K - 1 of them
 * on any path from a product to the sum (recursive, pairwise-then-recursive
 * as vdpbf16ps, or blocked as the chunked dW), so |S - S_ref| <= gamma_K
 * sum_k |a_k b_k| with gamma_K = K u / (1 - K u), u = 2^-24. The checks use
 * (K + 4) u sum|a_k b_k| (+ the bias and residual additions: u per
 * addition of their magnitude), and 2^-126 K for the hardware's flushed
 * subnormal products (none occur with these inputs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "check.h"
#include "nn/layers.h"
#include "nn/layers_impl.h"
#include "nn/precision.h"

static const double U = 1.0 / 16777216.0; /* 2^-24 */

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---------------------------------------------------------------- conversion */

static void test_conversion(void)
{
    static const struct {
        uint32_t f;
        uint16_t h;
        const char *why;
    } g[] = {
        {0x3f800000u, 0x3f80u, "1.0 exact"},
        {0xbfc00000u, 0xbfc0u, "-1.5 exact"},
        {0x00000000u, 0x0000u, "+0"},
        {0x80000000u, 0x8000u, "-0"},
        {0x3f807fffu, 0x3f80u, "just below half an ulp: down"},
        {0x3f808000u, 0x3f80u, "tie, 0x3f80 even: down"},
        {0x3f808001u, 0x3f81u, "just above half: up"},
        {0x3f818000u, 0x3f82u, "tie, 0x3f81 odd: up to even"},
        {0xbf818000u, 0xbf82u, "negative tie, odd: up in magnitude"},
        {0x3fff8000u, 0x4000u, "tie, odd, carry into the exponent (1.99609375 -> 2)"},
        {0x40490fdbu, 0x4049u, "pi -> 3.140625"},
        {0x3dcccccdu, 0x3dcdu, "0.1 -> 0.10009765625"},
        {0x7f7f7fffu, 0x7f7fu, "below half under the largest bf16: largest bf16"},
        {0x7f7f8000u, 0x7f80u, "tie above the largest bf16 (odd): inf"},
        {0x7f7fffffu, 0x7f80u, "largest float: inf"},
        {0xff7fffffu, 0xff80u, "-largest float: -inf"},
        {0x7f800000u, 0x7f80u, "+inf"},
        {0xff800000u, 0xff80u, "-inf"},
        {0x7fc00000u, 0x7fc0u, "quiet NaN"},
        {0xffc00001u, 0xffc0u, "negative quiet NaN, low payload dropped"},
        {0x7f800001u, 0x7fc0u, "signalling NaN with only low payload: stays NaN, quiet"},
        {0x7fa00000u, 0x7fe0u, "signalling NaN: payload top kept, quiet"},
        {0xffffffffu, 0xffffu, "all-ones NaN"},
        {0x00000001u, 0x0000u, "smallest subnormal: 0"},
        {0x00008000u, 0x0000u, "subnormal tie, even: 0"},
        {0x00008001u, 0x0001u, "subnormal above half: smallest bf16 subnormal"},
        {0x00018000u, 0x0002u, "subnormal tie, odd: up"},
        {0x807fffffu, 0x8080u, "largest negative subnormal: -2^-126 (normal)"},
        {0x00400000u, 0x0040u, "2^-127 exact"},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        uint16_t h = nn_f32_to_bf16(float_of(g[i].f));
        CHECK(h == g[i].h, "fp32 0x%08x -> bf16 0x%04x, expected 0x%04x (%s)", (unsigned)g[i].f, (unsigned)h,
              (unsigned)g[i].h, g[i].why);
        float r = nn_bf16_round(float_of(g[i].f));
        CHECK(bits_of(r) == (uint32_t)g[i].h << 16, "nn_bf16_round 0x%08x: 0x%08x (%s)", (unsigned)g[i].f,
              (unsigned)bits_of(r), g[i].why);
    }
    CHECK(nn_bf16_to_f32(0x3f80u) == 1.0f, "bf16 0x3f80 -> %g", nn_bf16_to_f32(0x3f80u));
    CHECK(nn_bf16_to_f32(0xc049u) == -3.140625f, "bf16 0xc049 -> %g", nn_bf16_to_f32(0xc049u));
    CHECK(nn_bf16_to_f32(0x0001u) == ldexpf(1.0f, -133), "bf16 0x0001 -> %g", nn_bf16_to_f32(0x0001u));
    CHECK(isinf(nn_bf16_to_f32(0xff80u)) && nn_bf16_to_f32(0xff80u) < 0, "bf16 0xff80 -> -inf");
    CHECK(isnan(nn_bf16_to_f32(0x7fc1u)), "bf16 0x7fc1 -> NaN");
    /* every bf16 survives bf16 -> fp32 -> bf16 (NaNs as quiet NaNs) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = nn_bf16_to_f32((uint16_t)h);
        uint16_t back = nn_f32_to_bf16(f);
        if (isnan(f) ? back != (uint16_t)(h | 0x40u) : back != h)
            bad++;
    }
    CHECK(bad == 0, "%d bf16 values do not survive the round trip", bad);
    /* the array form equals the scalar one */
    float a[1000], r[1000];
    for (int i = 0; i < 1000; i++)
        a[i] = float_of((uint32_t)i * 4294967u + 12345u);
    nn_bf16_round_array(r, a, 1000);
    bad = 0;
    for (int i = 0; i < 1000; i++)
        bad += bits_of(r[i]) != bits_of(nn_bf16_round(a[i]));
    CHECK(bad == 0, "nn_bf16_round_array: %d of 1000 differ from nn_bf16_round", bad);
}

/* The hardware packing (vcvtne2ps2bf16) against the portable conversion:
 * bit for bit, but for subnormal inputs, which the instruction reads as 0. */
static void test_pack(void)
{
    enum { N = 77 };
    float x[N], x2[N];
    for (int i = 0; i < N; i++) {
        x[i] = float_of((uint32_t)i * 55782191u + 7u);
        x2[i] = float_of((uint32_t)i * 91823111u + 3u);
    }
    x[0] = INFINITY, x[1] = -INFINITY, x[2] = NAN, x[3] = float_of(0x7f800001u), x[4] = float_of(0x3f808000u);
    x[5] = float_of(0x3f818000u), x[6] = float_of(0x7f7f8000u), x2[7] = NAN, x[8] = float_of(0x00018000u);
    uint16_t rows[N + 1];
    uint32_t pairs[N], pairs1[N];
    nn_bf16_pack_test(rows, pairs, x, x2, N);
    nn_bf16_pack_test(rows, pairs1, x, NULL, N);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int sub = fpclassify(x[i]) == FP_SUBNORMAL, sub2 = fpclassify(x2[i]) == FP_SUBNORMAL;
        uint16_t e = sub ? (uint16_t)((bits_of(x[i]) >> 16) & 0x8000u) : nn_f32_to_bf16(x[i]);
        uint16_t e2 = sub2 ? (uint16_t)((bits_of(x2[i]) >> 16) & 0x8000u) : nn_f32_to_bf16(x2[i]);
        if (rows[i] != e || pairs[i] != ((uint32_t)e | (uint32_t)e2 << 16) || pairs1[i] != e) {
            bad++;
            fprintf(stderr, "pack %d: x 0x%08x x2 0x%08x: row 0x%04x pair 0x%08x, expected 0x%04x 0x%08x\n", i,
                    (unsigned)bits_of(x[i]), (unsigned)bits_of(x2[i]), rows[i], (unsigned)pairs[i], e,
                    (unsigned)((uint32_t)e | (uint32_t)e2 << 16));
        }
    }
    CHECK(bad == 0, "hardware packing: %d of %d differ from the portable conversion", bad, N);
    CHECK(rows[N] == 0, "odd row: the pad is 0x%04x, not 0", rows[N]);
}

/* ---------------------------------------------------------------- linear in bf16 mode */

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static float frnd(void) /* uniform in (-1, 1) times 2^(-3..3): rounding to bf16 matters */
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    double v = (double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    return (float)ldexp(v, (int)((rs >> 3) % 7) - 3);
}

static float *rnd(int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        p[i] = frnd();
    return p;
}

static float *dup(const float *x, int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    memcpy(p, x, (size_t)n * sizeof(float));
    return p;
}

static double gelu_d(double z) { return 0.5 * z * (1.0 + erf(z / sqrt(2.0))); }

/* got vs exact + tolerance per element; returns the largest |got - exact| / tol. */
static double cmp_tol(const char *what, const float *got, const double *exact, const double *tol, int64_t n)
{
    double worst = 0;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - exact[i]);
        double q = e / tol[i];
        if (!(e <= tol[i])) {
            if (first < 0)
                first = i;
            bad++;
        }
        if (q > worst)
            worst = q;
    }
    CHECK(bad == 0, "%s: %lld of %lld beyond tolerance (first [%lld]: %.9g vs %.9g, tol %.3g)", what, (long long)bad,
          (long long)n, (long long)first, first >= 0 ? got[first] : 0.0, first >= 0 ? exact[first] : 0.0,
          first >= 0 ? tol[first] : 0.0);
    return worst;
}

typedef struct {
    int64_t n;
    int in, out;
    float *x, *w, *b, *res, *dy;            /* operands */
    float *p_dx, *p_dw, *p_db;              /* prior gradient contents (backward accumulates) */
    double *y, *ty;                         /* y = res + x W^T + b (rounded x, W), tolerance */
    double *z, *tz;                         /* x W^T + b */
    double *dx, *tdx, *dw, *tdw, *db, *tdb; /* gradients plus priors, tolerances */
} lcase;

/* s = sum_k R(a[k ak]) R(b[k bk]) over K terms in double, with the operands
 * rounded to bf16; abs = sum_k |the products|. */
static void dot_bf16(const float *a, int64_t ak, const float *b, int64_t bk, int64_t K, double *s, double *abs)
{
    double S = 0, A = 0;
    for (int64_t k = 0; k < K; k++) {
        double p = (double)nn_bf16_round(a[k * ak]) * (double)nn_bf16_round(b[k * bk]);
        S += p, A += fabs(p);
    }
    *s = S, *abs = A;
}

static void lcase_make(lcase *c, int64_t n, int in, int out)
{
    memset(c, 0, sizeof *c);
    c->n = n, c->in = in, c->out = out;
    c->x = rnd(n * in), c->w = rnd((int64_t)out * in), c->b = rnd(out), c->res = rnd(n * out), c->dy = rnd(n * out);
    c->p_dx = rnd(n * in), c->p_dw = rnd((int64_t)out * in), c->p_db = rnd(out);
    c->y = malloc((size_t)(n * out) * sizeof(double)), c->ty = malloc((size_t)(n * out) * sizeof(double));
    c->z = malloc((size_t)(n * out) * sizeof(double)), c->tz = malloc((size_t)(n * out) * sizeof(double));
    c->dx = malloc((size_t)(n * in) * sizeof(double)), c->tdx = malloc((size_t)(n * in) * sizeof(double));
    c->dw = malloc((size_t)out * in * sizeof(double)), c->tdw = malloc((size_t)out * in * sizeof(double));
    c->db = malloc((size_t)out * sizeof(double)), c->tdb = malloc((size_t)out * sizeof(double));
    for (int64_t t = 0; t < n; t++)
        for (int o = 0; o < out; o++) {
            double s, a;
            dot_bf16(c->x + t * in, 1, c->w + (int64_t)o * in, 1, in, &s, &a);
            double bb = c->b[o], rr = c->res[t * out + o];
            c->z[t * out + o] = s + bb;
            c->tz[t * out + o] = (in + 4) * U * (a + fabs(bb)) + 1e-37;
            c->y[t * out + o] = rr + s + bb;
            c->ty[t * out + o] = (in + 4) * U * (a + fabs(bb) + fabs(rr)) + 1e-37;
        }
    for (int64_t t = 0; t < n; t++)
        for (int i = 0; i < in; i++) {
            double s, a;
            dot_bf16(c->dy + t * out, 1, c->w + i, in, out, &s, &a);
            c->dx[t * in + i] = s;
            c->tdx[t * in + i] = (out + 4) * U * (a + fabs(c->p_dx[t * in + i])) + 1e-37;
        }
    for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
            double s, a;
            dot_bf16(c->dy + o, out, c->x + i, in, n, &s, &a);
            c->dw[(int64_t)o * in + i] = s;
            c->tdw[(int64_t)o * in + i] = (n + 4) * U * (a + fabs(c->p_dw[(int64_t)o * in + i])) + 1e-37;
        }
        double s = 0, a = 0; /* db: fp32 sums of the unrounded dy */
        for (int64_t t = 0; t < n; t++)
            s += c->dy[t * out + o], a += fabs(c->dy[t * out + o]);
        c->db[o] = s;
        c->tdb[o] = (n + 4) * U * (a + fabs(c->p_db[o])) + 1e-37;
    }
}

static void lcase_free(lcase *c)
{
    free(c->x), free(c->w), free(c->b), free(c->res), free(c->dy), free(c->p_dx), free(c->p_dw), free(c->p_db);
    free(c->y), free(c->ty), free(c->z), free(c->tz), free(c->dx), free(c->tdx), free(c->dw), free(c->tdw);
    free(c->db), free(c->tdb);
}

/* Everything the layer computes, with the current precision and path. */
typedef struct {
    float *y, *yres, *yin, *g, *pre, *dx, *dw, *db, *dxs, *dws;
} lout;

static void run_linear(lout *o, const lcase *c)
{
    const int64_t n = c->n, ny = n * c->out, nx = n * c->in, nw = (int64_t)c->out * c->in;
    int in = c->in, out = c->out;
    o->y = malloc((size_t)ny * sizeof(float)), o->yres = malloc((size_t)ny * sizeof(float));
    o->g = malloc((size_t)ny * sizeof(float)), o->pre = malloc((size_t)ny * sizeof(float));
    linear_forward(o->y, c->x, c->w, c->b, n, in, out);
    linear_forward_res(o->yres, c->res, c->x, c->w, c->b, n, in, out);
    o->yin = dup(c->res, ny);
    linear_forward_res(o->yin, o->yin, c->x, c->w, c->b, n, in, out);
    linear_gelu_forward(o->g, o->pre, c->x, c->w, c->b, n, in, out);
    o->dx = dup(c->p_dx, nx), o->dw = dup(c->p_dw, nw), o->db = dup(c->p_db, out);
    linear_backward(o->dx, o->dw, o->db, c->dy, c->x, c->w, n, in, out);
    o->dxs = dup(c->p_dx, nx), o->dws = dup(c->p_dw, nw);
    linear_backward_set(o->dxs, o->dws, NULL, c->dy, c->x, c->w, n, in, out);
}

static void lout_free(lout *o)
{
    free(o->y), free(o->yres), free(o->yin), free(o->g), free(o->pre), free(o->dx), free(o->dw), free(o->db);
    free(o->dxs), free(o->dws);
}

static double *plus(const double *a, const float *b, int64_t n) /* a + b, new */
{
    double *r = malloc((size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        r[i] = a[i] + (b ? b[i] : 0.0);
    return r;
}

static void check_linear(const lcase *c, const lout *o, const char *path)
{
    char w[160];
    const int64_t n = c->n, ny = n * c->out, nx = n * c->in, nw = (int64_t)c->out * c->in;
    double *z = malloc((size_t)ny * sizeof(double)), *t = malloc((size_t)ny * sizeof(double));
#define WHAT(s) (snprintf(w, sizeof w, "%s %lldx%d->%d: %s", path, (long long)n, c->in, c->out, s), w)
    cmp_tol(WHAT("linear_forward"), o->y, c->z, c->tz, ny);
    cmp_tol(WHAT("linear_forward_res"), o->yres, c->y, c->ty, ny);
    cmp_tol(WHAT("linear_forward_res in place"), o->yin, c->y, c->ty, ny);
    cmp_tol(WHAT("linear_gelu_forward pre"), o->pre, c->z, c->tz, ny);
    for (int64_t i = 0; i < ny; i++) { /* GELU' <= 1.13; the vectorised erf: 1e-6 max(1, |z|) */
        z[i] = gelu_d(c->z[i]);
        t[i] = 1.13 * c->tz[i] + 1e-6 * fmax(1.0, fabs(c->z[i]));
    }
    cmp_tol(WHAT("linear_gelu_forward"), o->g, z, t, ny);
    double *e = plus(c->dx, c->p_dx, nx);
    cmp_tol(WHAT("linear_backward dx"), o->dx, e, c->tdx, nx);
    free(e);
    cmp_tol(WHAT("linear_backward_set dx"), o->dxs, c->dx, c->tdx, nx);
    e = plus(c->dw, c->p_dw, nw);
    cmp_tol(WHAT("linear_backward dw"), o->dw, e, c->tdw, nw);
    cmp_tol(WHAT("linear_backward_set dw"), o->dws, e, c->tdw, nw);
    free(e);
    e = plus(c->db, c->p_db, c->out);
    cmp_tol(WHAT("linear_backward db"), o->db, e, c->tdb, c->out);
    free(e);
#undef WHAT
    free(z), free(t);
}

/* The largest |a - b| / tol over the forward and the gradients. */
static void cmp_paths(const lcase *c, const lout *a, const lout *b, const char *what)
{
    const int64_t ny = c->n * c->out, nx = c->n * c->in, nw = (int64_t)c->out * c->in;
    double *e = malloc((size_t)(ny > nx ? (ny > nw ? ny : nw) : (nx > nw ? nx : nw)) * sizeof(double));
    char w[160];
    /* two paths each within tol of the exact value are within 2 tol of each other */
    double *t2 = malloc((size_t)(ny > nx ? (ny > nw ? ny : nw) : (nx > nw ? nx : nw)) * sizeof(double));
    for (int64_t i = 0; i < ny; i++)
        e[i] = b->yres[i], t2[i] = 2 * c->ty[i];
    snprintf(w, sizeof w, "%s %lldx%d->%d: y", what, (long long)c->n, c->in, c->out);
    cmp_tol(w, a->yres, e, t2, ny);
    for (int64_t i = 0; i < nx; i++)
        e[i] = b->dxs[i], t2[i] = 2 * c->tdx[i];
    snprintf(w, sizeof w, "%s %lldx%d->%d: dx", what, (long long)c->n, c->in, c->out);
    cmp_tol(w, a->dxs, e, t2, nx);
    for (int64_t i = 0; i < nw; i++)
        e[i] = b->dws[i], t2[i] = 2 * c->tdw[i];
    snprintf(w, sizeof w, "%s %lldx%d->%d: dw", what, (long long)c->n, c->in, c->out);
    cmp_tol(w, a->dws, e, t2, nw);
    free(e), free(t2);
}

static int same(const float *a, const float *b, int64_t n) { return memcmp(a, b, (size_t)n * sizeof(float)) == 0; }

static void test_linear_bf16(int64_t n, int in, int out, int hw, int amx)
{
    lcase c;
    lcase_make(&c, n, in, out);
    const int64_t ny = n * out, nx = n * in, nw = (int64_t)out * in;
    lout port, hard;
    nn_set_matmul_precision(NN_BF16);
    nn_bf16_portable = 1;
    run_linear(&port, &c);
    check_linear(&c, &port, "bf16 portable");
    for (int k = hw ? 0 : 2; k < 2; k++) { /* AVX512_BF16, AMX-BF16 */
        if (k == 1 && !amx)
            break;
        const char *name = k ? "bf16 AMX-BF16" : "bf16 AVX512_BF16";
        char vs[64];
        snprintf(vs, sizeof vs, "%s vs portable", name);
        nn_bf16_portable = 0;
        nn_bf16_no_amx = !k;
        CHECK(nn_bf16_hardware() && nn_bf16_amx() == k, "%s: not selected", name);
        run_linear(&hard, &c);
        check_linear(&c, &hard, name);
        cmp_paths(&c, &hard, &port, vs);
        /* the same results with 1 thread as with 2 */
        lout one;
        int th = omp_get_max_threads();
        omp_set_num_threads(th > 1 ? 1 : 2);
        run_linear(&one, &c);
        omp_set_num_threads(th);
        CHECK(same(one.y, hard.y, ny) && same(one.yres, hard.yres, ny) && same(one.g, hard.g, ny) &&
                  same(one.dx, hard.dx, nx) && same(one.dw, hard.dw, nw) && same(one.db, hard.db, out),
              "%s %lldx%d->%d: results depend on the thread count", name, (long long)n, in, out);
        lout_free(&one);
        lout_free(&hard);
    }
    nn_bf16_portable = 0;
    nn_bf16_no_amx = 0;
    /* bf16 mode is in effect: somewhere the fp32 result differs from it by
     * more than the bf16 tolerance (the inputs' rounding is visible) */
    nn_set_matmul_precision(NN_FP32);
    lout f32;
    run_linear(&f32, &c);
    double diff = 0;
    for (int64_t i = 0; i < ny; i++)
        diff = fmax(diff, fabs((double)f32.y[i] - c.z[i]) / c.tz[i]);
    CHECK(n * in < 8 || diff > 1,
          "%lldx%d->%d: fp32 and the bf16 reference agree within the bf16 tolerance "
          "(max ratio %.3g): the test does not see the rounding",
          (long long)n, in, out, diff);
    /* and fp32 mode is back: the fp32 result is not the portable bf16 one */
    CHECK(n * in < 8 || !same(f32.y, port.y, ny), "fp32 mode after bf16 gives the bf16 results");
    lout_free(&f32);
    lout_free(&port);
    lcase_free(&c);
}

int main(void)
{
    nn_set_matmul_precision(NN_FP32);
    CHECK(nn_matmul_precision() == NN_FP32, "the default precision is not fp32");
    test_conversion();
    int hw = nn_bf16_hardware(), amx = nn_bf16_amx();
    fprintf(stderr, "test_bf16: this CPU %s AVX512_BF16%s: %s\n", hw ? "has" : "has no",
            amx  ? " and AMX-BF16"
            : hw ? " (no usable AMX-BF16)"
                 : "",
            hw ? "hardware kernels tested against the portable path" : "portable path only");
    if (hw)
        test_pack();
    static const int shapes[][3] = {
        {1, 1, 1},    {7, 5, 3},    {9, 1, 4},     {13, 17, 9},    {33, 16, 16},    {97, 16, 48},   {101, 23, 37},
        {250, 40, 8}, {37, 7, 130}, {611, 64, 16}, {3001, 16, 64}, {2048, 64, 256}, {517, 256, 64}, {300, 33, 31},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        test_linear_bf16(shapes[i][0], shapes[i][1], shapes[i][2], hw, amx);
    /* the fp32 kernels' own paths (own / OpenBLAS) under the portable bf16 path */
    for (int mode = 1; mode <= 2; mode++) {
        nn_linear_mode = mode;
        test_linear_bf16(211, 24, 40, 0, 0);
        nn_linear_mode = 0;
    }
    return check_report("test_bf16");
}
