/* The TFSWA transformer layer (lib/nn/tlayer.c) against a naive double
 * precision reference written from the specification (Swin's procedure for
 * the window kinds: pad, roll, region mask by slices, window partition,
 * relative position index from coordinates), for all four kinds:
 * forward output; backward dx and every parameter gradient (rel_bias
 * included) against central finite differences of the reference;
 * determinism (forward twice, 1 vs 2 threads). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/tlayer.h"
#include "util/cli.h"

static uint64_t seed = 7;
static double urand(void) /* [-1, 1) */
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(seed >> 11) / 4503599627370496.0 - 1.0;
}

/* Swin's relative_position_index: coords (2, w*w) by meshgrid 'ij',
 * relative = coords[:, :, None] - coords[:, None, :], shifted by w - 1, the
 * first scaled by 2w - 1, summed. */
static void swin_rel_index(int *idx, int w)
{
    int L = w * w;
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) {
            int r0 = i / w - j / w + w - 1, r1 = i % w - j % w + w - 1;
            idx[i * L + j] = r0 * (2 * w - 1) + r1;
        }
}

typedef struct {
    const double *ln1_g, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b, *rel, *ln2_g, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} dparams;

static dparams dbind(const double *base, const tlayer_config *c, float *fbase)
{
    tlayer_params p;
    tlayer_bind(&p, fbase, c);
#define OFF(f) (p.f ? base + (p.f - fbase) : NULL)
    dparams d = {OFF(ln1_g), OFF(ln1_b), OFF(qkv_w), OFF(qkv_b), OFF(proj_w), OFF(proj_b), OFF(rel_bias),
                 OFF(ln2_g), OFF(ln2_b), OFF(fc1_w), OFF(fc1_b), OFF(fc2_w),  OFF(fc2_b)};
#undef OFF
    return d;
}

static void ref_ln(double *y, const double *x, const double *g, const double *b, int N, int C)
{
    for (int n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += x[n * C + c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (x[n * C + c] - m) * (x[n * C + c] - m);
        v /= C;
        double r = 1 / sqrt(v + 1e-5);
        for (int c = 0; c < C; c++)
            y[n * C + c] = (x[n * C + c] - m) * r * g[c] + b[c];
    }
}

static void ref_linear(double *y, const double *x, const double *w, const double *b, int N, int in, int out)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++)
                s += x[n * in + i] * w[o * in + i];
            y[n * out + o] = s;
        }
}

/* The whole layer in double. x, y (B, F, T, C). */
static void ref_layer(double *y, const double *x, const double *P, float *fbase, const tlayer_config *c, int B, int F,
                      int T)
{
    dparams p = dbind(P, c, fbase);
    const int C = c->C, H = c->heads, D = C / H, Hd = c->hidden, N = B * F * T;
    double *xn = malloc(sizeof(double) * N * C), *qkv = malloc(sizeof(double) * N * 3 * C),
           *o = calloc((size_t)N * C, sizeof(double)), *t = malloc(sizeof(double) * N * C),
           *h = malloc(sizeof(double) * N * Hd);
    ref_ln(xn, x, p.ln1_g, p.ln1_b, N, C);
    ref_linear(qkv, xn, p.qkv_w, p.qkv_b, N, C, 3 * C);
    const int w = c->kind >= TL_WINDOW ? c->window : 0, s = c->kind == TL_SHIFTED ? w / 2 : 0;
    const int Fp = w ? (F + w - 1) / w * w : F, Tp = w ? (T + w - 1) / w * w : T;
    int *img = calloc((size_t)Fp * Tp, sizeof(int)), *ridx = NULL;
    if (c->kind == TL_SHIFTED) { /* Swin's img_mask over slices (0,-w), (-w,-s), (-s,None) */
        int fs[4] = {0, Fp - w, Fp - s, Fp}, ts[4] = {0, Tp - w, Tp - s, Tp}, cnt = 0;
        for (int a = 0; a < 3; a++)
            for (int b2 = 0; b2 < 3; b2++, cnt++)
                for (int i = fs[a]; i < fs[a + 1]; i++)
                    for (int j = ts[b2]; j < ts[b2 + 1]; j++)
                        img[i * Tp + j] = cnt;
    }
    if (w) {
        ridx = malloc(sizeof(int) * w * w * w * w);
        swin_rel_index(ridx, w);
    }
    double *sc = malloc(sizeof(double) * (F * T + 1)), scale = 1 / sqrt((double)D);
    int *kt = malloc(sizeof(int) * (F * T + 1));
    for (int b = 0; b < B; b++)
        for (int f = 0; f < F; f++)
            for (int tt = 0; tt < T; tt++)
                for (int hh = 0; hh < H; hh++) {
                    int q = (b * F + f) * T + tt, nk = 0;
                    /* position of the query on the (shifted) padded grid: roll by -s */
                    int qi = ((f - s) % Fp + Fp) % Fp, qj = ((tt - s) % Tp + Tp) % Tp;
                    for (int f2 = 0; f2 < F; f2++)
                        for (int t2 = 0; t2 < T; t2++) {
                            double bias = 0;
                            if (c->kind == TL_TIME && f2 != f)
                                continue;
                            if (c->kind == TL_FREQ && t2 != tt)
                                continue;
                            if (w) {
                                int ki = ((f2 - s) % Fp + Fp) % Fp, kj = ((t2 - s) % Tp + Tp) % Tp;
                                if (ki / w != qi / w || kj / w != qj / w)
                                    continue;
                                if (img[ki * Tp + kj] != img[qi * Tp + qj])
                                    continue;
                                int li = (qi % w) * w + qj % w, lj = (ki % w) * w + kj % w;
                                bias = p.rel[ridx[li * w * w + lj] * H + hh];
                            }
                            int k = (b * F + f2) * T + t2;
                            double d = 0;
                            for (int e = 0; e < D; e++)
                                d += qkv[q * 3 * C + hh * D + e] * qkv[k * 3 * C + C + hh * D + e];
                            sc[nk] = d * scale + bias;
                            kt[nk++] = k;
                        }
                    double mx = -INFINITY, sum = 0;
                    for (int j = 0; j < nk; j++)
                        mx = fmax(mx, sc[j]);
                    for (int j = 0; j < nk; j++)
                        sum += sc[j] = exp(sc[j] - mx);
                    for (int j = 0; j < nk; j++)
                        for (int e = 0; e < D; e++)
                            o[q * C + hh * D + e] += sc[j] / sum * qkv[kt[j] * 3 * C + 2 * C + hh * D + e];
                }
    ref_linear(t, o, p.proj_w, p.proj_b, N, C, C);
    for (int i = 0; i < N * C; i++)
        y[i] = x[i] + t[i];
    ref_ln(xn, y, p.ln2_g, p.ln2_b, N, C);
    ref_linear(h, xn, p.fc1_w, p.fc1_b, N, C, Hd);
    for (int i = 0; i < N * Hd; i++)
        h[i] = 0.5 * h[i] * (1 + erf(h[i] / sqrt(2.0)));
    ref_linear(t, h, p.fc2_w, p.fc2_b, N, Hd, C);
    for (int i = 0; i < N * C; i++)
        y[i] += t[i];
    free(xn);
    free(qkv);
    free(o);
    free(t);
    free(h);
    free(img);
    free(ridx);
    free(sc);
    free(kt);
}

static void init_params(float *par, const tlayer_config *c)
{
    tlayer_params p;
    tlayer_bind(&p, par, c);
    size_t np = tlayer_num_params(c);
    for (size_t i = 0; i < np; i++)
        par[i] = (float)(0.3 * urand());
    float *w[4] = {p.qkv_w, p.proj_w, p.fc1_w, p.fc2_w};
    size_t wn[4] = {3 * (size_t)c->C * c->C, (size_t)c->C * c->C, (size_t)c->hidden * c->C, (size_t)c->hidden * c->C};
    double amp[4] = {1.2 / sqrt(c->C), 1.0 / sqrt(c->C), 1.0 / sqrt(c->C), 1.0 / sqrt(c->hidden)};
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < wn[k]; i++)
            w[k][i] = (float)(amp[k] * urand());
    for (int i = 0; i < c->C; i++) {
        p.ln1_g[i] = (float)(1 + 0.3 * urand());
        p.ln2_g[i] = (float)(1 + 0.3 * urand());
    }
    if (p.rel_bias)
        for (size_t i = 0; i < (size_t)(2 * c->window - 1) * (2 * c->window - 1) * c->heads; i++)
            p.rel_bias[i] = (float)urand();
}

static const char *kind_name[4] = {"TIME", "FREQ", "WINDOW", "SHIFTED"};

/* Forward vs reference; returns nothing, CHECKs. */
static void check_forward(tlayer_kind kind, int C, int heads, int window, int B, int F, int T)
{
    tlayer_config c = {kind, C, heads, 4 * C, window};
    size_t np = tlayer_num_params(&c), N = (size_t)B * F * T * C;
    float *par = malloc(sizeof(float) * np), *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N),
          *y2 = malloc(sizeof(float) * N);
    init_params(par, &c);
    for (size_t i = 0; i < N; i++)
        x[i] = (float)urand();
    float *act = malloc(sizeof(float) * tlayer_act_size(&c, B, F, T)),
          *act2 = malloc(sizeof(float) * tlayer_act_size(&c, B, F, T)),
          *scr = malloc(sizeof(float) * tlayer_scratch_size(&c, B, F, T));
    tlayer_params p;
    tlayer_bind(&p, par, &c);
    tlayer_forward(y, x, &p, &c, B, F, T, act, scr);
    tlayer_forward(y2, x, &p, &c, B, F, T, NULL, scr);
    CHECK(!memcmp(y, y2, sizeof(float) * N), "%s: forward with and without act differ", kind_name[kind]);
    tlayer_forward(y2, x, &p, &c, B, F, T, act2, scr);
    CHECK(!memcmp(y, y2, sizeof(float) * N) && !memcmp(act, act2, sizeof(float) * tlayer_act_size(&c, B, F, T)),
          "%s: forward is not deterministic", kind_name[kind]);
    double *dp = calloc(np, sizeof(double)), *dx = calloc(N, sizeof(double)), *dy = calloc(N, sizeof(double));
    for (size_t i = 0; i < np; i++)
        dp[i] = par[i];
    for (size_t i = 0; i < N; i++)
        dx[i] = x[i];
    ref_layer(dy, dx, dp, par, &c, B, F, T);
    double e = 0, m = 0;
    for (size_t i = 0; i < N; i++) {
        e = fmax(e, fabs(y[i] - dy[i]));
        m = fmax(m, fabs(dy[i]));
    }
    CHECK(e < 1e-5 * (1 + m), "%s C=%d heads=%d w=%d B=%d F=%d T=%d: forward max error %.3g (max |y| %.3g)",
          kind_name[kind], C, heads, window, B, F, T, e, m);
    free(par);
    free(x);
    free(y);
    free(y2);
    free(act);
    free(act2);
    free(scr);
    free(dp);
    free(dx);
    free(dy);
}

/* Backward vs central finite differences of the double reference of
 * loss = sum(y * r): dx and every parameter. */
static void check_backward(tlayer_kind kind, int C, int heads, int window, int B, int F, int T)
{
    tlayer_config c = {kind, C, heads, 4 * C, window};
    size_t np = tlayer_num_params(&c), N = (size_t)B * F * T * C;
    float *par = malloc(sizeof(float) * np), *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N),
          *r = malloc(sizeof(float) * N), *dxf = calloc(N, sizeof(float)), *gpar = calloc(np, sizeof(float));
    init_params(par, &c);
    for (size_t i = 0; i < N; i++)
        x[i] = (float)urand(), r[i] = (float)urand();
    size_t na = tlayer_act_size(&c, B, F, T);
    float *act = malloc(sizeof(float) * na), *scr = malloc(sizeof(float) * tlayer_scratch_size(&c, B, F, T));
    tlayer_params p, g;
    tlayer_bind(&p, par, &c);
    tlayer_bind(&g, gpar, &c);
    tlayer_forward(y, x, &p, &c, B, F, T, act, scr);
    tlayer_backward(dxf, &g, r, x, &p, &c, B, F, T, act, scr);

    double *dp = calloc(np, sizeof(double)), *dx = calloc(N, sizeof(double)), *yd = calloc(N, sizeof(double));
    for (size_t i = 0; i < np; i++)
        dp[i] = par[i];
    for (size_t i = 0; i < N; i++)
        dx[i] = x[i];
    const double h = 1e-5;
    double worst = 0;
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        double *v = pass ? dp : dx;
        float *an = pass ? gpar : dxf;
        size_t n = pass ? np : N;
        for (size_t i = 0; i < n; i++) {
            double keep = v[i], f[2];
            for (int sg = 0; sg < 2; sg++) {
                v[i] = keep + (sg ? -h : h);
                ref_layer(yd, dx, dp, par, &c, B, F, T);
                double s = 0;
                for (size_t k = 0; k < N; k++)
                    s += yd[k] * r[k];
                f[sg] = s;
            }
            v[i] = keep;
            double fd = (f[0] - f[1]) / (2 * h), err = fabs(an[i] - fd) / (1e-3 + fabs(fd));
            if (err > worst)
                worst = err;
            if (err > 2e-3 && bad++ < 5)
                fprintf(stderr, "%s %s[%zu]: analytic %.7g fd %.7g\n", kind_name[kind], pass ? "param" : "x", i, an[i],
                        fd);
        }
    }
    CHECK(bad == 0, "%s: %d gradients differ from finite differences (worst relative %.3g)", kind_name[kind], bad,
          worst);
    /* the rel_bias gradient is not trivially zero */
    if (g.rel_bias) {
        double s = 0;
        for (int i = 0; i < (2 * window - 1) * (2 * window - 1) * heads; i++)
            s += fabs(g.rel_bias[i]);
        CHECK(s > 1e-3, "%s: rel_bias gradient is zero", kind_name[kind]);
    }

    /* 2 threads: identical */
    tf_set_threads(2);
    float *y2 = malloc(sizeof(float) * N), *dx2 = calloc(N, sizeof(float)), *g2 = calloc(np, sizeof(float)),
          *act2 = malloc(sizeof(float) * na);
    tlayer_params gg;
    tlayer_bind(&gg, g2, &c);
    tlayer_forward(y2, x, &p, &c, B, F, T, act2, scr);
    tlayer_backward(dx2, &gg, r, x, &p, &c, B, F, T, act2, scr);
    tf_set_threads(1);
    CHECK(!memcmp(y, y2, sizeof(float) * N) && !memcmp(act, act2, sizeof(float) * na) &&
              !memcmp(dxf, dx2, sizeof(float) * N) && !memcmp(gpar, g2, sizeof(float) * np),
          "%s: 1 and 2 threads differ", kind_name[kind]);
    free(par);
    free(x);
    free(y);
    free(r);
    free(dxf);
    free(gpar);
    free(act);
    free(scr);
    free(dp);
    free(dx);
    free(yd);
    free(y2);
    free(dx2);
    free(g2);
    free(act2);
}

int main(void)
{
    tf_set_threads(1);
    for (int w = 1; w <= 8; w++) {
        int *idx = malloc(sizeof(int) * w * w * w * w), ok = 1;
        swin_rel_index(idx, w);
        for (int i = 0; i < w * w; i++)
            for (int j = 0; j < w * w; j++)
                ok &= tlayer_rel_index(i, j, w) == idx[i * w * w + j];
        CHECK(ok, "relative position index differs from Swin's for window %d", w);
        free(idx);
    }
    for (int k = 0; k < 4; k++) {
        check_forward((tlayer_kind)k, 8, 2, 4, 2, 6, 7);
        check_forward((tlayer_kind)k, 16, 2, 8, 1, 19, 13); /* several windows, odd sizes */
        check_forward((tlayer_kind)k, 32, 8, 8, 1, 9, 17);  /* seed head dim 4 */
        check_forward((tlayer_kind)k, 8, 1, 4, 1, 1, 1);    /* a single token */
        check_forward((tlayer_kind)k, 12, 3, 4, 1, 11, 9);  /* C not a multiple of 8: the packing's scalar path */
        check_backward((tlayer_kind)k, 8, 2, 4, 1, 6, 7);
        /* attention over many chunks of sequences (one per chunk for the
         * window kinds), the MLP over chunks of 5 tokens */
        tlayer_set_chunks(k >= TL_WINDOW ? 1 : 8, 5);
        check_forward((tlayer_kind)k, 8, 2, 4, 2, 6, 7);
        check_backward((tlayer_kind)k, 8, 2, 4, 1, 6, 7);
        tlayer_set_chunks(0, 0);
    }
    return check_report("test_tlayer");
}
