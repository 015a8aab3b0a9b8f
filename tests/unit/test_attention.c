/* Tiled attention (lib/nn/attention.c) against a naive full-softmax
 * attention in double precision: forward o and lse, backward dq, dk, dv and
 * the bias gradient (the double reference backward is itself checked against
 * central finite differences), with groups (masks), padding keys, bias, odd
 * lengths (1, 7, 1025) and every head dimension the presets use; thread-count
 * independence; the vectorised exp against libm in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/attention.h"
#include "util/cli.h"
#include "util/rng.h"

static uint64_t seed = 1;
static double urand(void) /* [-1, 1) */
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(seed >> 11) / 4503599627370496.0 - 1.0;
}

static float *frand(size_t n, double amp)
{
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * urand());
    return x;
}

/* Naive double attention of one (sequence, head), with its exact backward.
 * P is (L, L). Returns per-row lse (+inf for empty rows). */
static void ref_one(double *o, double *lse, double *P, const float *q, const float *k, const float *v,
                    const float *bias, const int *g, int L, int D, double scale)
{
    for (int i = 0; i < L; i++) {
        double mx = -INFINITY;
        for (int j = 0; j < L; j++) {
            double s = -INFINITY;
            if (!g || (g[j] >= 0 && g[j] == g[i])) {
                s = 0;
                for (int d = 0; d < D; d++)
                    s += (double)q[i * D + d] * k[j * D + d];
                s *= scale;
                if (bias)
                    s += bias[i * L + j];
            }
            P[i * L + j] = s;
            if (s > mx)
                mx = s;
        }
        double sum = 0;
        for (int j = 0; j < L; j++)
            sum += P[i * L + j] = mx == -INFINITY ? 0 : exp(P[i * L + j] - mx);
        for (int j = 0; j < L; j++)
            P[i * L + j] = sum > 0 ? P[i * L + j] / sum : 0;
        lse[i] = sum > 0 ? mx + log(sum) : INFINITY;
        for (int d = 0; d < D; d++) {
            double a = 0;
            for (int j = 0; j < L; j++)
                a += P[i * L + j] * v[j * D + d];
            o[i * D + d] = a;
        }
    }
}

static void ref_bwd_one(double *dq, double *dk, double *dv, double *dbias, const double *P, const float *q,
                        const float *k, const float *v, const float *dout, int L, int D, double scale)
{
    memset(dq, 0, sizeof(double) * L * D);
    memset(dk, 0, sizeof(double) * L * D);
    memset(dv, 0, sizeof(double) * L * D);
    double *dP = malloc(sizeof(double) * L);
    for (int i = 0; i < L; i++) {
        double rs = 0;
        for (int j = 0; j < L; j++) {
            double a = 0;
            for (int d = 0; d < D; d++)
                a += (double)dout[i * D + d] * v[j * D + d];
            dP[j] = a;
            rs += a * P[i * L + j];
        }
        for (int j = 0; j < L; j++) {
            double p = P[i * L + j], ds = p * (dP[j] - rs);
            for (int d = 0; d < D; d++) {
                dv[j * D + d] += p * dout[i * D + d];
                dq[i * D + d] += scale * ds * k[j * D + d];
                dk[j * D + d] += scale * ds * q[i * D + d];
            }
            if (dbias)
                dbias[i * L + j] += ds;
        }
    }
    free(dP);
}

/* Finite-difference check of the double reference backward on one tiny case. */
static void check_reference_backward(void)
{
    const int L = 5, D = 3;
    float *q = frand(L * D, 1), *k = frand(L * D, 1), *v = frand(L * D, 1), *dout = frand(L * D, 1),
          *bias = frand(L * L, 0.5);
    int g[5] = {0, 1, 0, -1, 1};
    double o[15], lse[5], P[25], dq[15], dk[15], dv[15], db[25] = {0}, o2[15], l2[5], P2[25];
    ref_one(o, lse, P, q, k, v, bias, g, L, D, 0.6);
    ref_bwd_one(dq, dk, dv, db, P, q, k, v, dout, L, D, 0.6);
    float *ts[4] = {q, k, v, bias};
    double *gs[4] = {dq, dk, dv, db};
    int ns[4] = {L * D, L * D, L * D, L * L};
    for (int t = 0; t < 4; t++)
        for (int x = 0; x < ns[t]; x++) {
            float keep = ts[t][x];
            double h = 1e-3, f[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                ts[t][x] = (float)(keep + (sgn ? -h : h));
                ref_one(o2, l2, P2, q, k, v, bias, g, L, D, 0.6);
                double s = 0;
                for (int i = 0; i < L * D; i++)
                    s += o2[i] * dout[i];
                f[sgn] = s;
            }
            double hh = (double)(float)(keep + h) - (double)(float)(keep - h);
            ts[t][x] = keep;
            CHECK_CLOSE(gs[t][x], (f[0] - f[1]) / hh, 2e-4, 2e-3, "reference backward vs finite differences");
        }
    free(q);
    free(k);
    free(v);
    free(dout);
    free(bias);
}

static void check_exp(void)
{
    enum { N = 20011 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++)
        x[i] = -87.0f + 175.0f * (float)i / (N - 1);
    attn_exp(y, x, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double e = exp((double)x[i]), r = fabs(y[i] - e) / e;
        if (r > worst)
            worst = r;
    }
    CHECK(worst < 3e-7, "fast exp worst relative error %.3g", worst);
    /* around 0, where softmax lives */
    worst = 0;
    for (int i = 0; i < N; i++)
        x[i] = -20.0f + 20.0f * (float)i / (N - 1);
    attn_exp(y, x, N);
    for (int i = 0; i < N; i++) {
        double e = exp((double)x[i]), r = fabs(y[i] - e) / e;
        if (r > worst)
            worst = r;
    }
    CHECK(worst < 3e-7, "fast exp worst relative error on [-20, 0]: %.3g", worst);
    float sp[5] = {-INFINITY, -88.0f, -1000.0f, 0.0f, 1.0f}, r[5];
    attn_exp(r, sp, 5);
    CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0, "exp underflow: %g %g %g", r[0], r[1], r[2]);
    CHECK(r[3] == 1.0f, "exp(0) = %.9g", r[3]);
    CHECK_CLOSE(r[4], exp(1.0), 0, 2e-7, "exp(1)");
    free(x);
    free(y);
}

/* The kernels' base-2 exponential on its domain [-125, 0], against exp2 in double. */
static void check_exp2(void)
{
    enum { N = 40009 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    double worst = 0, worst_near = 0;
    for (int i = 0; i < N; i++)
        x[i] = -125.0f * (float)i / (N - 1);
    x[7] = -0.5f, x[8] = -1.5f, x[9] = -0.49999997f, x[10] = -2.5f; /* rounding ties and near-ties */
    attn_exp2(y, x, N);
    for (int i = 0; i < N; i++) {
        double e = exp2((double)x[i]), r = fabs(y[i] - e) / e;
        if (r > worst)
            worst = r;
    }
    for (int i = 0; i < N; i++)
        x[i] = -4.0f * (float)i / (N - 1);
    attn_exp2(y, x, N);
    for (int i = 0; i < N; i++) {
        double e = exp2((double)x[i]), r = fabs(y[i] - e) / e;
        if (r > worst_near)
            worst_near = r;
    }
    CHECK(worst < 2.5e-7, "kernel exp2 worst relative error on [-125, 0]: %.3g", worst);
    CHECK(worst_near < 2.5e-7, "kernel exp2 worst relative error on [-4, 0]: %.3g", worst_near);
    float sp[3] = {0.0f, -1.0f, -200.0f}, r[3];
    attn_exp2(r, sp, 3);
    CHECK(r[0] == 1.0f && r[1] == 0.5f, "exp2(0) = %.9g, exp2(-1) = %.9g", r[0], r[1]);
    CHECK(r[2] >= 0 && r[2] < 1e-37f, "exp2 below the range: %g", r[2]);
    free(x);
    free(y);
}

enum { G_NONE, G_PAD, G_REGIONS };

/* One problem: flash forward/backward vs the double reference. */
static void check_case(int n, int H, int L, int D, int use_bias, int gmode, const char *name)
{
    size_t sz = (size_t)n * H * L * D;
    float *q = frand(sz, 1.5), *k = frand(sz, 1.5), *v = frand(sz, 1), *dout = frand(sz, 1);
    float *bias = use_bias ? frand((size_t)H * L * L, 2) : NULL;
    int *g = NULL;
    if (gmode != G_NONE) {
        g = malloc(sizeof(int) * (size_t)n * L);
        for (int s = 0; s < n; s++)
            for (int i = 0; i < L; i++) {
                int pad = (i * 7 + s) % 5 == 0; /* some padding tokens */
                g[s * L + i] = pad ? -1 : gmode == G_PAD ? 0 : (i / 3 + s) % 3;
            }
    }
    attn_problem p = {n, H, L, D, (float)(1.0 / sqrt(D)), bias, g};
    float *o = malloc(sizeof(float) * sz), *lse = malloc(sizeof(float) * (size_t)n * H * L);
    float *dq = malloc(sizeof(float) * sz), *dk = malloc(sizeof(float) * sz), *dv = malloc(sizeof(float) * sz);
    float *db = use_bias ? calloc((size_t)H * L * L, sizeof(float)) : NULL;
    attn_forward(o, lse, q, k, v, &p);
    attn_backward(dq, dk, dv, db, q, k, v, o, dout, lse, &p);

    double *ro = malloc(sizeof(double) * L * D), *rl = malloc(sizeof(double) * L), *P = malloc(sizeof(double) * L * L);
    double *rdq = malloc(sizeof(double) * L * D), *rdk = malloc(sizeof(double) * L * D),
           *rdv = malloc(sizeof(double) * L * D);
    double *rdb = use_bias ? calloc((size_t)H * L * L, sizeof(double)) : NULL;
    double eo = 0, el = 0, eg = 0, gmax = 0;
    int lse_inf_ok = 1;
    for (int s = 0; s < n; s++)
        for (int h = 0; h < H; h++) {
            size_t off = ((size_t)s * H + h) * L;
            ref_one(ro, rl, P, q + off * D, k + off * D, v + off * D, bias ? bias + (size_t)h * L * L : NULL,
                    g ? g + (size_t)s * L : NULL, L, D, p.scale);
            ref_bwd_one(rdq, rdk, rdv, rdb ? rdb + (size_t)h * L * L : NULL, P, q + off * D, k + off * D, v + off * D,
                        dout + off * D, L, D, p.scale);
            for (int i = 0; i < L * D; i++) {
                eo = fmax(eo, fabs(o[off * D + i] - ro[i]));
                eg = fmax(eg, fabs(dq[off * D + i] - rdq[i]));
                eg = fmax(eg, fabs(dk[off * D + i] - rdk[i]));
                eg = fmax(eg, fabs(dv[off * D + i] - rdv[i]));
                gmax = fmax(gmax, fmax(fabs(rdq[i]), fmax(fabs(rdk[i]), fabs(rdv[i]))));
            }
            for (int i = 0; i < L; i++) {
                if (isinf(rl[i]))
                    lse_inf_ok &= isinf(lse[off + i]) && lse[off + i] > 0;
                else
                    el = fmax(el, fabs(lse[off + i] - rl[i]));
            }
        }
    double eb = 0;
    if (use_bias)
        for (size_t x = 0; x < (size_t)H * L * L; x++) {
            eb = fmax(eb, fabs(db[x] - rdb[x]));
            gmax = fmax(gmax, fabs(rdb[x]));
        }
    CHECK(eo < 2e-5, "%s: forward o max error %.3g", name, eo);
    CHECK(el < 2e-5, "%s: lse max error %.3g", name, el);
    CHECK(lse_inf_ok, "%s: empty rows must have lse = +inf", name);
    CHECK(eg < 5e-5 * (1 + gmax), "%s: dq/dk/dv max error %.3g (max |g| %.3g)", name, eg, gmax);
    CHECK(eb < 5e-5 * (1 + gmax) * sqrt(n), "%s: dbias max error %.3g", name, eb);

    /* Reference through OpenBLAS (materialised matrix) agrees too. */
    float *o2 = malloc(sizeof(float) * sz), *l2 = malloc(sizeof(float) * (size_t)n * H * L);
    attn_forward_naive(o2, l2, q, k, v, &p);
    double en = 0;
    for (size_t i = 0; i < sz; i++)
        en = fmax(en, fabs(o2[i] - o[i]));
    CHECK(en < 2e-5, "%s: naive (BLAS) forward differs by %.3g", name, en);

    /* Identical results for 1 and 2 threads. */
    tf_set_threads(2);
    float *o3 = malloc(sizeof(float) * sz), *l3 = malloc(sizeof(float) * (size_t)n * H * L);
    float *dq3 = malloc(sizeof(float) * sz), *dk3 = malloc(sizeof(float) * sz), *dv3 = malloc(sizeof(float) * sz);
    float *db3 = use_bias ? calloc((size_t)H * L * L, sizeof(float)) : NULL;
    attn_forward(o3, l3, q, k, v, &p);
    attn_backward(dq3, dk3, dv3, db3, q, k, v, o3, dout, l3, &p);
    tf_set_threads(1);
    int same = !memcmp(o, o3, sizeof(float) * sz) && !memcmp(lse, l3, sizeof(float) * (size_t)n * H * L) &&
               !memcmp(dq, dq3, sizeof(float) * sz) && !memcmp(dk, dk3, sizeof(float) * sz) &&
               !memcmp(dv, dv3, sizeof(float) * sz) &&
               (!use_bias || !memcmp(db, db3, sizeof(float) * (size_t)H * L * L));
    CHECK(same, "%s: results differ between 1 and 2 threads", name);

    free(q);
    free(k);
    free(v);
    free(dout);
    free(bias);
    free(g);
    free(o);
    free(lse);
    free(dq);
    free(dk);
    free(dv);
    free(db);
    free(ro);
    free(rl);
    free(P);
    free(rdq);
    free(rdk);
    free(rdv);
    free(rdb);
    free(o2);
    free(l2);
    free(o3);
    free(l3);
    free(dq3);
    free(dk3);
    free(dv3);
    free(db3);
}

/* The kernels' own layout (attn_forward_t / attn_backward_t) from
 * unaligned arrays with the key padding zero: bit-identical to the
 * (n, heads, L, D) interface, padding columns of dk/dv written as zero. */
static void check_transposed(int n, int H, int L, int D, int use_bias, int gmode, const char *name)
{
    size_t sz = (size_t)n * H * L * D, rows = (size_t)n * H * L;
    int Lk = attn_key_stride(L);
    CHECK(Lk >= L && Lk < L + 64 && Lk % 4 == 0, "%s: key stride %d for L=%d", name, Lk, L);
    size_t szt = (size_t)n * H * D * Lk;
    float *q = frand(sz, 1.5), *k = frand(sz, 1.5), *v = frand(sz, 1), *dout = frand(sz, 1);
    float *bias = use_bias ? frand((size_t)H * L * L, 2) : NULL;
    int *g = NULL;
    if (gmode != G_NONE) {
        g = malloc(sizeof(int) * (size_t)n * L);
        for (int s = 0; s < n; s++)
            for (int i = 0; i < L; i++)
                g[s * L + i] = (i * 5 + s) % 7 == 0 ? -1 : gmode == G_PAD ? 0 : (i / 2 + s) % 3;
    }
    attn_problem p = {n, H, L, D, (float)(1.0 / sqrt(D)), bias, g};
    float *o = malloc(sizeof(float) * sz), *lse = malloc(sizeof(float) * rows), *dq = malloc(sizeof(float) * sz),
          *dk = malloc(sizeof(float) * sz), *dv = malloc(sizeof(float) * sz);
    float *db = use_bias ? calloc((size_t)H * L * L, sizeof(float)) : NULL;
    attn_forward(o, lse, q, k, v, &p);
    attn_backward(dq, dk, dv, db, q, k, v, o, dout, lse, &p);
    /* + 1: every array starts 4 bytes past an allocation, so misaligned */
    float *kt = calloc(szt + 1, sizeof(float)), *vt = calloc(szt + 1, sizeof(float)),
          *dkt = malloc(sizeof(float) * (szt + 1)), *dvt = malloc(sizeof(float) * (szt + 1)),
          *q1 = malloc(sizeof(float) * (sz + 1)), *o1 = malloc(sizeof(float) * (sz + 1)),
          *l1 = malloc(sizeof(float) * (rows + 1)), *dq1 = malloc(sizeof(float) * (sz + 1)),
          *dl = malloc(sizeof(float) * (rows + 1));
    float *db1 = use_bias ? calloc((size_t)H * L * L, sizeof(float)) : NULL;
    for (size_t sh = 0; sh < (size_t)n * H; sh++)
        for (int j = 0; j < L; j++)
            for (int d = 0; d < D; d++) {
                kt[1 + (sh * D + d) * Lk + j] = k[(sh * L + j) * D + d];
                vt[1 + (sh * D + d) * Lk + j] = v[(sh * L + j) * D + d];
            }
    memcpy(q1 + 1, q, sizeof(float) * sz);
    for (size_t i = 0; i < szt + 1; i++)
        dkt[i] = dvt[i] = NAN;
    attn_forward_t(o1 + 1, l1 + 1, q1 + 1, kt + 1, vt + 1, &p);
    CHECK(!memcmp(o, o1 + 1, sizeof(float) * sz) && !memcmp(lse, l1 + 1, sizeof(float) * rows),
          "%s: attn_forward_t differs from attn_forward", name);
    for (size_t i = 0; i < rows; i++) {
        float a = 0;
        for (int d = 0; d < D; d++)
            a += dout[i * D + d] * o[i * D + d];
        dl[1 + i] = a;
    }
    attn_backward_t(dq1 + 1, dkt + 1, dvt + 1, db1, q1 + 1, kt + 1, vt + 1, dout, dl + 1, l1 + 1, &p);
    int pad0 = 1;
    double e = 0;
    for (size_t sh = 0; sh < (size_t)n * H; sh++)
        for (int d = 0; d < D; d++)
            for (int j = 0; j < Lk; j++) {
                float a = dkt[1 + (sh * D + d) * Lk + j], b = dvt[1 + (sh * D + d) * Lk + j];
                if (j >= L)
                    pad0 &= a == 0 && b == 0;
                else
                    e = fmax(e, fmax(fabs(a - dk[(sh * L + j) * D + d]), fabs(b - dv[(sh * L + j) * D + d])));
            }
    /* delta is summed here without the kernels' fused multiply-adds: equal
     * to rounding only, so dq/dk/dv are compared with a tolerance */
    CHECK(e < 1e-5, "%s: attn_backward_t dk/dv differ from attn_backward by %.3g", name, e);
    CHECK(pad0, "%s: dk/dv padding columns are not zero", name);
    double eq = 0;
    for (size_t i = 0; i < sz; i++)
        eq = fmax(eq, fabs(dq[i] - dq1[1 + i]));
    CHECK(eq < 1e-5, "%s: attn_backward_t dq differs from attn_backward by %.3g", name, eq);
    if (use_bias) {
        double eb = 0;
        for (size_t x = 0; x < (size_t)H * L * L; x++)
            eb = fmax(eb, fabs(db[x] - db1[x]));
        CHECK(eb < 1e-4, "%s: attn_backward_t dbias differs by %.3g", name, eb);
    }
    free(q);
    free(k);
    free(v);
    free(dout);
    free(bias);
    free(g);
    free(o);
    free(lse);
    free(dq);
    free(dk);
    free(dv);
    free(db);
    free(kt);
    free(vt);
    free(dkt);
    free(dvt);
    free(q1);
    free(o1);
    free(l1);
    free(dq1);
    free(dl);
    free(db1);
}

int main(void)
{
    tf_set_threads(1);
    check_exp();
    check_exp2();
    check_reference_backward();
    static const int Ds[] = {4, 8, 16, 32, 64};
    char name[128];
    for (int di = 0; di < 5; di++) {
        int D = Ds[di];
        snprintf(name, sizeof name, "L=1 D=%d", D);
        check_case(3, 2, 1, D, 0, G_NONE, name);
        snprintf(name, sizeof name, "L=7 D=%d", D);
        check_case(3, 2, 7, D, 0, G_NONE, name);
        snprintf(name, sizeof name, "L=7 D=%d groups+bias", D);
        check_case(3, 2, 7, D, 1, G_REGIONS, name);
        snprintf(name, sizeof name, "L=64 D=%d windows pad+bias", D);
        check_case(5, 2, 64, D, 1, G_PAD, name);
        snprintf(name, sizeof name, "L=64 D=%d windows regions+bias", D);
        check_case(21, 2, 64, D, 1, G_REGIONS, name);
        snprintf(name, sizeof name, "L=300 D=%d", D);
        check_case(1, 2, 300, D, 0, G_NONE, name);
    }
    check_case(1, 1, 1025, 4, 0, G_NONE, "L=1025 D=4");
    check_case(1, 1, 1025, 16, 0, G_NONE, "L=1025 D=16");
    check_case(1, 1, 259, 8, 0, G_PAD, "L=259 D=8 padding");
    check_transposed(3, 2, 37, 4, 0, G_NONE, "layout L=37 D=4");
    check_transposed(3, 2, 37, 8, 1, G_REGIONS, "layout L=37 D=8 groups+bias");
    check_transposed(4, 2, 64, 16, 1, G_PAD, "layout L=64 D=16 pad+bias");
    check_transposed(2, 1, 13, 6, 0, G_PAD, "layout L=13 D=6 (generic kernel)");
    return check_report("test_attention");
}
