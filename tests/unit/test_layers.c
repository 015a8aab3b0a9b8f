/* lib/nn layers against independent references: every forward against a
 * naive double-precision implementation written here (plain loops), every
 * backward against central finite differences of that double reference
 * (loss = sum(dy * f(inputs))). Gradient buffers are pre-filled with random
 * values to check that backward functions accumulate. Also: thread-count
 * independence, the conv tiling (forced small), the erf/exp approximations
 * of GELU over a dense sweep. */
#include "check.h"
#include "nn/layers.h"
#include "nn/layers_impl.h"
#include "util/rng.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static tf_rng rng;

static float *frand(int64_t n, double scale)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(scale * tf_rng_range(&rng, -1.0, 1.0));
    return p;
}

static double *todouble(const float *p, int64_t n)
{
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        d[i] = p ? p[i] : 0.0;
    return d;
}

static float *fcopy(const float *p, int64_t n)
{
    float *q = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    memcpy(q, p, (size_t)n * sizeof(float));
    return q;
}

/* max |got - ref| <= tol * (1 + max |ref|), one CHECK per array. */
static void cmp(const char *what, const float *got, const double *ref, int64_t n, double tol)
{
    double maxref = 0.0, maxerr = 0.0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++)
        if (fabs(ref[i]) > maxref)
            maxref = fabs(ref[i]);
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= maxerr)) { /* also catches NaN */
            maxerr = isnan(e) ? INFINITY : e;
            worst = i;
        }
    }
    CHECK(maxerr <= tol * (1.0 + maxref), "%s: max error %.3g at %lld (got %.9g, want %.9g, max |ref| %.3g)", what,
          maxerr, (long long)worst, n ? got[worst] : 0.0, n ? ref[worst] : 0.0, maxref);
}

/* got - prior compared with ref (gradients accumulate onto prior). */
static void cmp_acc(const char *what, const float *got, const float *prior, const double *ref, int64_t n, double tol)
{
    float *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        d[i] = got[i] - prior[i];
    cmp(what, d, ref, n, tol);
    free(d);
}

/* ---------------------------------------------------------------- references */

enum { K_LINEAR, K_LN, K_GELU, K_CONV, K_CONVT, K_BN_TRAIN, K_BN_EVAL };

typedef struct {
    int kind;
    int64_t n;
    int in, out, c; /* linear: in/out; layernorm: c */
    conv2d_dims d;  /* conv, convt; batchnorm uses d.B, d.Cin (C), d.H * d.W */
    double *p[4];   /* inputs: x, w|g, b (b may be NULL) */
    int64_t np[4];
    double *rm, *rv; /* batchnorm eval */
    double eps;
} refcase;

static void ref_linear(const refcase *r, double *y)
{
    const double *x = r->p[0], *w = r->p[1], *b = r->p[2];
    for (int64_t i = 0; i < r->n; i++)
        for (int o = 0; o < r->out; o++) {
            double s = b ? b[o] : 0.0;
            for (int k = 0; k < r->in; k++)
                s += x[i * r->in + k] * w[(int64_t)o * r->in + k];
            y[i * r->out + o] = s;
        }
}

static void ref_layernorm(const refcase *r, double *y)
{
    const double *x = r->p[0], *g = r->p[1], *b = r->p[2];
    int c = r->c;
    for (int64_t i = 0; i < r->n; i++) {
        double m = 0.0, v = 0.0;
        for (int j = 0; j < c; j++)
            m += x[i * c + j];
        m /= c;
        for (int j = 0; j < c; j++)
            v += (x[i * c + j] - m) * (x[i * c + j] - m);
        v /= c;
        for (int j = 0; j < c; j++)
            y[i * c + j] = (x[i * c + j] - m) / sqrt(v + r->eps) * g[j] + b[j];
    }
}

static double gelu_d(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

static void ref_gelu(const refcase *r, double *y)
{
    for (int64_t i = 0; i < r->n; i++)
        y[i] = gelu_d(r->p[0][i]);
}

static void ref_conv(const refcase *r, double *y)
{
    const conv2d_dims *d = &r->d;
    const double *x = r->p[0], *w = r->p[1], *b = r->p[2];
    int Ho = (d->H + 2 * d->ph - d->kh) / d->sh + 1, Wo = (d->W + 2 * d->pw - d->kw) / d->sw + 1;
    for (int bi = 0; bi < d->B; bi++)
        for (int co = 0; co < d->Cout; co++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    double s = b ? b[co] : 0.0;
                    for (int ci = 0; ci < d->Cin; ci++)
                        for (int i = 0; i < d->kh; i++)
                            for (int j = 0; j < d->kw; j++) {
                                int ih = oh * d->sh - d->ph + i, iw = ow * d->sw - d->pw + j;
                                if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                                    continue;
                                s += x[(((int64_t)bi * d->Cin + ci) * d->H + ih) * d->W + iw] *
                                     w[(((int64_t)co * d->Cin + ci) * d->kh + i) * d->kw + j];
                            }
                    y[(((int64_t)bi * d->Cout + co) * Ho + oh) * Wo + ow] = s;
                }
}

/* Transposed convolution as a scatter: every input pixel adds w-weighted
 * copies into the output (the definition, independent of the gather form). */
static void ref_convt(const refcase *r, double *y)
{
    const conv2d_dims *d = &r->d;
    const double *x = r->p[0], *w = r->p[1], *b = r->p[2];
    int Ho = (d->H - 1) * d->sh - 2 * d->ph + d->kh, Wo = (d->W - 1) * d->sw - 2 * d->pw + d->kw;
    for (int bi = 0; bi < d->B; bi++)
        for (int co = 0; co < d->Cout; co++)
            for (int64_t k = 0; k < (int64_t)Ho * Wo; k++)
                y[((int64_t)bi * d->Cout + co) * Ho * Wo + k] = b ? b[co] : 0.0;
    for (int bi = 0; bi < d->B; bi++)
        for (int ci = 0; ci < d->Cin; ci++)
            for (int h = 0; h < d->H; h++)
                for (int wq = 0; wq < d->W; wq++) {
                    double xv = x[(((int64_t)bi * d->Cin + ci) * d->H + h) * d->W + wq];
                    for (int co = 0; co < d->Cout; co++)
                        for (int i = 0; i < d->kh; i++)
                            for (int j = 0; j < d->kw; j++) {
                                int oh = h * d->sh - d->ph + i, ow = wq * d->sw - d->pw + j;
                                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo)
                                    continue;
                                y[(((int64_t)bi * d->Cout + co) * Ho + oh) * Wo + ow] +=
                                    xv * w[(((int64_t)ci * d->Cout + co) * d->kh + i) * d->kw + j];
                            }
                }
}

static void ref_bn(const refcase *r, double *y, double *mean_out, double *var_out)
{
    const conv2d_dims *d = &r->d;
    const double *x = r->p[0], *g = r->p[1], *b = r->p[2];
    int64_t HW = (int64_t)d->H * d->W;
    for (int c = 0; c < d->Cin; c++) {
        double m = 0.0, v = 0.0, cnt = (double)d->B * HW;
        if (r->kind == K_BN_TRAIN) {
            for (int bi = 0; bi < d->B; bi++)
                for (int64_t k = 0; k < HW; k++)
                    m += x[((int64_t)bi * d->Cin + c) * HW + k];
            m /= cnt;
            for (int bi = 0; bi < d->B; bi++)
                for (int64_t k = 0; k < HW; k++) {
                    double e = x[((int64_t)bi * d->Cin + c) * HW + k] - m;
                    v += e * e;
                }
            v /= cnt;
        } else {
            m = r->rm[c];
            v = r->rv[c];
        }
        if (mean_out)
            mean_out[c] = m;
        if (var_out)
            var_out[c] = v;
        for (int bi = 0; bi < d->B; bi++)
            for (int64_t k = 0; k < HW; k++) {
                int64_t q = ((int64_t)bi * d->Cin + c) * HW + k;
                y[q] = (x[q] - m) / sqrt(v + r->eps) * g[c] + b[c];
            }
    }
}

static void ref_eval(const refcase *r, double *y)
{
    switch (r->kind) {
    case K_LINEAR: ref_linear(r, y); break;
    case K_LN: ref_layernorm(r, y); break;
    case K_GELU: ref_gelu(r, y); break;
    case K_CONV: ref_conv(r, y); break;
    case K_CONVT: ref_convt(r, y); break;
    default: ref_bn(r, y, NULL, NULL); break;
    }
}

/* Central finite differences of L = sum(dy * f) with respect to input k. */
static double *fd_grad(refcase *r, int k, const double *dy, int64_t ny)
{
    double *g = malloc((size_t)r->np[k] * sizeof(double)), *y = malloc((size_t)ny * sizeof(double));
    for (int64_t i = 0; i < r->np[k]; i++) {
        double save = r->p[k][i], h = 1e-6 * (1.0 + fabs(save)), lp = 0.0, lm = 0.0;
        r->p[k][i] = save + h;
        ref_eval(r, y);
        for (int64_t q = 0; q < ny; q++)
            lp += dy[q] * y[q];
        r->p[k][i] = save - h;
        ref_eval(r, y);
        for (int64_t q = 0; q < ny; q++)
            lm += dy[q] * y[q];
        r->p[k][i] = save;
        g[i] = (lp - lm) / (2.0 * h);
    }
    free(y);
    return g;
}

/* Check a float gradient (accumulated on prior) against finite differences. */
static void check_grad(const char *what, refcase *r, int k, const double *dy, int64_t ny, const float *got,
                       const float *prior, double tol)
{
    double *fd = fd_grad(r, k, dy, ny);
    cmp_acc(what, got, prior, fd, r->np[k], tol);
    free(fd);
}

/* ---------------------------------------------------------------- linear */

static void test_linear(int64_t n, int in, int out, int bias)
{
    char what[96];
    float *x = frand(n * in, 1.0), *w = frand((int64_t)out * in, 0.5), *b = bias ? frand(out, 1.0) : NULL;
    float *y = frand(n * out, 1.0);
    refcase r = {.kind = K_LINEAR, .n = n, .in = in, .out = out};
    r.p[0] = todouble(x, n * in), r.np[0] = n * in;
    r.p[1] = todouble(w, (int64_t)out * in), r.np[1] = (int64_t)out * in;
    r.p[2] = bias ? todouble(b, out) : NULL, r.np[2] = out;
    double *yr = malloc((size_t)(n * out) * sizeof(double));
    linear_forward(y, x, w, b, n, in, out);
    ref_linear(&r, yr);
    snprintf(what, sizeof what, "linear %lldx%d->%d bias %d: y", (long long)n, in, out, bias);
    cmp(what, y, yr, n * out, 1e-5);

    float *dyf = frand(n * out, 1.0);
    double *dy = todouble(dyf, n * out);
    float *p_dx = frand(n * in, 1.0), *p_dw = frand((int64_t)out * in, 1.0), *p_db = frand(out, 1.0);
    float *dx = fcopy(p_dx, n * in), *dw = fcopy(p_dw, (int64_t)out * in), *db = fcopy(p_db, out);
    linear_backward(dx, dw, bias ? db : NULL, dyf, x, w, n, in, out);
    snprintf(what, sizeof what, "linear %lldx%d->%d: dx", (long long)n, in, out);
    check_grad(what, &r, 0, dy, n * out, dx, p_dx, 1e-5);
    snprintf(what, sizeof what, "linear %lldx%d->%d: dw", (long long)n, in, out);
    check_grad(what, &r, 1, dy, n * out, dw, p_dw, 1e-5);
    if (bias) {
        snprintf(what, sizeof what, "linear %lldx%d->%d: db", (long long)n, in, out);
        check_grad(what, &r, 2, dy, n * out, db, p_db, 1e-5);
    }
    /* dx NULL: parameter gradients only */
    float *dw2 = fcopy(p_dw, (int64_t)out * in);
    linear_backward(NULL, dw2, NULL, dyf, x, w, n, in, out);
    CHECK(memcmp(dw2, dw, (size_t)out * in * sizeof(float)) == 0, "linear: dw with dx NULL differs");
    free(dw2);
    free(x), free(w), free(b), free(y), free(yr), free(dyf), free(dy), free(p_dx), free(p_dw), free(p_db);
    free(dx), free(dw), free(db), free(r.p[0]), free(r.p[1]), free(r.p[2]);
}

/* Larger and odd shapes (tails of the 6-row x 16-column tiles, partial
 * vectors, several token chunks of the dW pass) against the analytic
 * gradients in naive double loops: y = x W^T + b, dx = dy W, dW = dy^T x,
 * db = column sums of dy. mode: nn_linear_mode (1 own kernels, 2 OpenBLAS).
 * Also: the own kernels give bit-identical results for 1 and 3 threads. */
static void test_linear_big(int64_t n, int in, int out, int mode)
{
    char what[128];
    nn_linear_mode = mode;
    float *x = frand(n * in, 1.0), *w = frand((int64_t)out * in, 0.5), *b = frand(out, 1.0);
    float *dyf = frand(n * out, 1.0);
    float *y = frand(n * out, 1.0);
    float *p_dx = frand(n * in, 1.0), *p_dw = frand((int64_t)out * in, 1.0), *p_db = frand(out, 1.0);
    float *dx = fcopy(p_dx, n * in), *dw = fcopy(p_dw, (int64_t)out * in), *db = fcopy(p_db, out);
    double *yr = calloc((size_t)(n * out), sizeof(double)), *dxr = calloc((size_t)(n * in), sizeof(double));
    double *dwr = calloc((size_t)out * in, sizeof(double)), *dbr = calloc((size_t)out, sizeof(double));
    for (int64_t t = 0; t < n; t++)
        for (int o = 0; o < out; o++) {
            double s = b[o], g = dyf[t * out + o];
            for (int i = 0; i < in; i++) {
                s += (double)x[t * in + i] * w[(int64_t)o * in + i];
                dxr[t * in + i] += g * w[(int64_t)o * in + i];
                dwr[(int64_t)o * in + i] += g * x[t * in + i];
            }
            yr[t * out + o] = s;
            dbr[o] += g;
        }
    linear_forward(y, x, w, b, n, in, out);
    linear_backward(dx, dw, db, dyf, x, w, n, in, out);
    /* sums over n tokens: float rounding grows with sqrt(n) */
    double tw = 1e-6 * (1.0 + sqrt((double)n));
    snprintf(what, sizeof what, "linear mode %d %lldx%d->%d: ", mode, (long long)n, in, out);
    char *tail = what + strlen(what);
    strcpy(tail, "y");
    cmp(what, y, yr, n * out, 1e-5);
    strcpy(tail, "dx");
    cmp_acc(what, dx, p_dx, dxr, n * in, 1e-5);
    strcpy(tail, "dw");
    cmp_acc(what, dw, p_dw, dwr, (int64_t)out * in, tw);
    strcpy(tail, "db");
    cmp_acc(what, db, p_db, dbr, out, tw);
    /* dw alone, db alone, dx alone: the same numbers */
    float *dw2 = fcopy(p_dw, (int64_t)out * in), *db2 = fcopy(p_db, out), *dx2 = fcopy(p_dx, n * in);
    linear_backward(NULL, dw2, NULL, dyf, x, w, n, in, out);
    linear_backward(NULL, NULL, db2, dyf, x, w, n, in, out);
    linear_backward(dx2, NULL, NULL, dyf, x, w, n, in, out);
    strcpy(tail, "dw alone differs");
    CHECK(memcmp(dw2, dw, (size_t)out * in * sizeof(float)) == 0, "%s", what);
    strcpy(tail, "dx alone differs");
    CHECK(memcmp(dx2, dx, (size_t)(n * in) * sizeof(float)) == 0, "%s", what);
#ifdef NN_HAVE_AVX2 /* else mode 1 is OpenBLAS too */
    if (mode == 1) {
        /* db alone takes the column-sum path: equal up to float rounding */
        strcpy(tail, "db alone");
        cmp_acc(what, db2, p_db, dbr, out, tw);
        float *y3 = malloc((size_t)(n * out) * sizeof(float)), *dx3 = fcopy(p_dx, n * in);
        float *dw3 = fcopy(p_dw, (int64_t)out * in), *db3 = fcopy(p_db, out);
        omp_set_num_threads(3);
        linear_forward(y3, x, w, b, n, in, out);
        linear_backward(dx3, dw3, db3, dyf, x, w, n, in, out);
        omp_set_num_threads(1);
        float *y1 = malloc((size_t)(n * out) * sizeof(float)), *dx1 = fcopy(p_dx, n * in);
        float *dw1 = fcopy(p_dw, (int64_t)out * in), *db1 = fcopy(p_db, out);
        linear_forward(y1, x, w, b, n, in, out);
        linear_backward(dx1, dw1, db1, dyf, x, w, n, in, out);
        omp_set_num_threads(2);
        strcpy(tail, "depends on the thread count");
        CHECK(memcmp(y1, y3, (size_t)(n * out) * 4) == 0 && memcmp(dx1, dx3, (size_t)(n * in) * 4) == 0 &&
                  memcmp(dw1, dw3, (size_t)out * in * 4) == 0 && memcmp(db1, db3, (size_t)out * 4) == 0,
              "%s", what);
        free(y3), free(dx3), free(dw3), free(db3), free(y1), free(dx1), free(dw1), free(db1);
    }
#endif
    free(dw2), free(db2), free(dx2);

    /* fused forms against the same double references */
    float *res = frand(n * out, 2.0), *yres = frand(n * out, 1.0), *yin = fcopy(res, n * out);
    double *rref = malloc((size_t)(n * out) * sizeof(double)), *gref = malloc((size_t)(n * out) * sizeof(double));
    for (int64_t i = 0; i < n * out; i++) {
        rref[i] = yr[i] + res[i];
        gref[i] = gelu_d(yr[i]);
    }
    linear_forward_res(yres, res, x, w, b, n, in, out);
    linear_forward_res(yin, yin, x, w, b, n, in, out);
    strcpy(tail, "forward_res");
    cmp(what, yres, rref, n * out, 1e-5);
    strcpy(tail, "forward_res in place differs");
    CHECK(memcmp(yres, yin, (size_t)(n * out) * sizeof(float)) == 0, "%s", what);
    float *gy = frand(n * out, 1.0), *pre = frand(n * out, 1.0), *gy2 = frand(n * out, 1.0);
    linear_gelu_forward(gy, pre, x, w, b, n, in, out);
    linear_gelu_forward(gy2, NULL, x, w, b, n, in, out);
    strcpy(tail, "gelu_forward y");
    cmp(what, gy, gref, n * out, 1e-5);
    strcpy(tail, "gelu_forward pre");
    cmp(what, pre, yr, n * out, 1e-5);
    strcpy(tail, "gelu_forward without pre differs");
    CHECK(memcmp(gy, gy2, (size_t)(n * out) * sizeof(float)) == 0, "%s", what);
    float *dxs = frand(n * in, 1e6), *dws = fcopy(p_dw, (int64_t)out * in), *dbs = fcopy(p_db, out);
    linear_backward_set(dxs, dws, dbs, dyf, x, w, n, in, out);
    strcpy(tail, "backward_set dx");
    cmp(what, dxs, dxr, n * in, 1e-5);
    strcpy(tail, "backward_set dw, db differ");
    CHECK(memcmp(dws, dw, (size_t)out * in * sizeof(float)) == 0 && memcmp(dbs, db, (size_t)out * sizeof(float)) == 0,
          "%s", what);
    free(res), free(yres), free(yin), free(rref), free(gref), free(gy), free(pre), free(gy2), free(dxs), free(dws),
        free(dbs);
    free(x), free(w), free(b), free(dyf), free(y), free(p_dx), free(p_dw), free(p_db), free(dx), free(dw), free(db);
    free(yr), free(dxr), free(dwr), free(dbr);
    nn_linear_mode = 0;
}

/* nn_colsum_acc against a double loop at odd widths and several row chunks. */
static void test_colsum(int64_t n, int c)
{
    float *m = frand(n * c, 1.0), *acc = frand(c, 1.0), *prior = fcopy(acc, c);
    double *ref = calloc((size_t)c, sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            ref[j] += m[i * c + j];
    nn_colsum_acc(acc, m, n, c);
    char what[64];
    snprintf(what, sizeof what, "colsum %lldx%d", (long long)n, c);
    cmp_acc(what, acc, prior, ref, c, 1e-6 * (1.0 + sqrt((double)n)));
    free(m), free(acc), free(prior), free(ref);
}

/* ---------------------------------------------------------------- layernorm */

static void test_layernorm(int64_t n, int c, double xscale)
{
    char what[96];
    float *x = frand(n * c, xscale), *g = frand(c, 1.0), *b = frand(c, 1.0), *y = frand(n * c, 1.0);
    for (int64_t i = 0; i < n * c; i++)
        x[i] += 3.0f; /* a non-zero mean */
    float *mean = frand(n, 1.0), *rstd = frand(n, 1.0);
    refcase r = {.kind = K_LN, .n = n, .c = c, .eps = 1e-5};
    r.p[0] = todouble(x, n * c), r.np[0] = n * c;
    r.p[1] = todouble(g, c), r.np[1] = c;
    r.p[2] = todouble(b, c), r.np[2] = c;
    double *yr = malloc((size_t)(n * c) * sizeof(double));
    layernorm_forward(y, mean, rstd, x, g, b, n, c, 1e-5f);
    ref_layernorm(&r, yr);
    snprintf(what, sizeof what, "layernorm %lldx%d: y", (long long)n, c);
    cmp(what, y, yr, n * c, 2e-5);
    for (int64_t i = 0; i < n; i++) {
        double m = 0.0, v = 0.0;
        for (int j = 0; j < c; j++)
            m += r.p[0][i * c + j];
        m /= c;
        for (int j = 0; j < c; j++)
            v += (r.p[0][i * c + j] - m) * (r.p[0][i * c + j] - m);
        v /= c;
        CHECK_CLOSE(mean[i], m, 1e-6, 1e-6, "layernorm mean");
        CHECK_CLOSE(rstd[i], 1.0 / sqrt(v + 1e-5), 0, 1e-5, "layernorm rstd");
    }
    float *y2 = frand(n * c, 1.0);
    layernorm_forward(y2, NULL, NULL, x, g, b, n, c, 1e-5f);
    CHECK(memcmp(y, y2, (size_t)(n * c) * sizeof(float)) == 0, "layernorm: output differs without mean/rstd");

    float *dyf = frand(n * c, 1.0);
    double *dy = todouble(dyf, n * c);
    float *p_dx = frand(n * c, 1.0), *p_dg = frand(c, 1.0), *p_db = frand(c, 1.0);
    float *dx = fcopy(p_dx, n * c), *dg = fcopy(p_dg, c), *db = fcopy(p_db, c);
    layernorm_backward(dx, dg, db, dyf, x, mean, rstd, g, n, c);
    snprintf(what, sizeof what, "layernorm %lldx%d: dx", (long long)n, c);
    check_grad(what, &r, 0, dy, n * c, dx, p_dx, 1e-4);
    snprintf(what, sizeof what, "layernorm %lldx%d: dg", (long long)n, c);
    check_grad(what, &r, 1, dy, n * c, dg, p_dg, 2e-5);
    snprintf(what, sizeof what, "layernorm %lldx%d: db", (long long)n, c);
    check_grad(what, &r, 2, dy, n * c, db, p_db, 2e-5);
    /* no affine part (g, b NULL) = affine with g = 1, b = 0 */
    float *one = malloc((size_t)c * sizeof(float)), *zero = calloc((size_t)c, sizeof(float));
    for (int j = 0; j < c; j++)
        one[j] = 1.0f;
    float *ya = frand(n * c, 1.0), *yn = frand(n * c, 1.0), *dxa = fcopy(p_dx, n * c), *dxn = fcopy(p_dx, n * c);
    layernorm_forward(ya, NULL, NULL, x, one, zero, n, c, 1e-5f);
    layernorm_forward(yn, NULL, NULL, x, NULL, NULL, n, c, 1e-5f);
    layernorm_backward(dxa, NULL, NULL, dyf, x, mean, rstd, one, n, c);
    layernorm_backward(dxn, NULL, NULL, dyf, x, mean, rstd, NULL, n, c);
    CHECK(memcmp(ya, yn, (size_t)(n * c) * sizeof(float)) == 0, "layernorm without affine: y");
    CHECK(memcmp(dxa, dxn, (size_t)(n * c) * sizeof(float)) == 0, "layernorm without affine: dx");
    free(one), free(zero), free(ya), free(yn), free(dxa), free(dxn);
    free(x), free(g), free(b), free(y), free(y2), free(mean), free(rstd), free(yr), free(dyf), free(dy);
    free(p_dx), free(p_dg), free(p_db), free(dx), free(dg), free(db);
    free(r.p[0]), free(r.p[1]), free(r.p[2]);
}

/* ---------------------------------------------------------------- GELU */

static void test_gelu(void)
{
    /* Dense sweep of the approximations against double erf / exp. */
    int64_t n = 200001;
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    float *one = malloc((size_t)n * sizeof(float)), *dx = calloc((size_t)n, sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)(-12.0 + 24.0 * (double)i / (double)(n - 1));
        one[i] = 1.0f;
    }
    gelu_forward(y, x, n);
    gelu_backward(dx, one, x, n);
    double efw = 0.0, ebw = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        double want = gelu_d(v);
        double dwant = 0.5 * (1.0 + erf(v / sqrt(2.0))) + v * exp(-0.5 * v * v) / sqrt(2.0 * M_PI);
        double e1 = fabs(y[i] - want) / fmax(1.0, fabs(v)), e2 = fabs(dx[i] - dwant);
        if (!(e1 <= efw))
            efw = isnan(e1) ? INFINITY : e1;
        if (!(e2 <= ebw))
            ebw = isnan(e2) ? INFINITY : e2;
    }
    printf("gelu: max forward error / max(1,|x|) %.3g, max backward error %.3g\n", efw, ebw);
    CHECK(efw <= 1e-6, "gelu forward: max |err| / max(1, |x|) = %.3g over [-12, 12]", efw);
    CHECK(ebw <= 1e-6, "gelu backward: max |err| = %.3g over [-12, 12]", ebw);
    /* NaN propagates (as in PyTorch) */
    float nanx[2] = {NAN, 1.0f}, nany[2], nandx[2] = {0.0f, 0.0f}, ones2[2] = {1.0f, 1.0f};
    gelu_forward(nany, nanx, 2);
    gelu_backward(nandx, ones2, nanx, 2);
    CHECK(isnan(nany[0]) && isnan(nandx[0]) && !isnan(nany[1]) && !isnan(nandx[1]), "gelu: NaN not propagated");
    /* aliasing y == x is allowed */
    memcpy(dx, x, (size_t)n * sizeof(float));
    gelu_forward(dx, dx, n);
    CHECK(memcmp(dx, y, (size_t)n * sizeof(float)) == 0, "gelu in place differs");
    free(x), free(y), free(one), free(dx);

    /* finite differences of the double reference on random inputs, with accumulation */
    int64_t m = 37;
    float *xf = frand(m, 4.0), *dyf = frand(m, 1.0), *prior = frand(m, 1.0), *g = fcopy(prior, m);
    refcase r = {.kind = K_GELU, .n = m};
    r.p[0] = todouble(xf, m), r.np[0] = m;
    double *dy = todouble(dyf, m);
    gelu_backward(g, dyf, xf, m);
    check_grad("gelu: dx", &r, 0, dy, m, g, prior, 1e-5);
    /* gelu_backward_set: overwrites, equal to accumulating onto zeros, also in place (dx = dy) */
    float *z = calloc((size_t)m, sizeof(float)), *s = frand(m, 1.0), *d2 = fcopy(dyf, m);
    gelu_backward(z, dyf, xf, m);
    gelu_backward_set(s, dyf, xf, m);
    gelu_backward_set(d2, d2, xf, m);
    CHECK(memcmp(z, s, (size_t)m * sizeof(float)) == 0 && memcmp(z, d2, (size_t)m * sizeof(float)) == 0,
          "gelu_backward_set differs from gelu_backward onto zeros");
    free(z), free(s), free(d2);
    free(xf), free(dyf), free(prior), free(g), free(r.p[0]), free(dy);
}

/* ---------------------------------------------------------------- conv / convt */

static void test_conv(int transposed, conv2d_dims d, int bias, const char *label)
{
    char what[160];
    int Ho = transposed ? convt2d_out_h(&d) : conv2d_out_h(&d);
    int Wo = transposed ? convt2d_out_w(&d) : conv2d_out_w(&d);
    if (transposed) {
        CHECK(Ho == (d.H - 1) * d.sh - 2 * d.ph + d.kh && Wo == (d.W - 1) * d.sw - 2 * d.pw + d.kw, "%s: output size",
              label);
    } else {
        CHECK(Ho == (d.H + 2 * d.ph - d.kh) / d.sh + 1 && Wo == (d.W + 2 * d.pw - d.kw) / d.sw + 1, "%s: output size",
              label);
    }
    int64_t nx = (int64_t)d.B * d.Cin * d.H * d.W, ny = (int64_t)d.B * d.Cout * Ho * Wo;
    int64_t nw = (int64_t)d.Cout * d.Cin * d.kh * d.kw;
    size_t ws = transposed ? convt2d_workspace(&d) : conv2d_workspace(&d);
    float *work = frand((int64_t)ws, 1.0); /* garbage in the workspace must not matter */
    float *x = frand(nx, 1.0), *w = frand(nw, 0.5), *b = bias ? frand(d.Cout, 1.0) : NULL, *y = frand(ny, 9.0);
    refcase r = {.kind = transposed ? K_CONVT : K_CONV, .d = d};
    r.p[0] = todouble(x, nx), r.np[0] = nx;
    r.p[1] = todouble(w, nw), r.np[1] = nw;
    r.p[2] = bias ? todouble(b, d.Cout) : NULL, r.np[2] = d.Cout;
    double *yr = malloc((size_t)ny * sizeof(double));
    if (transposed)
        convt2d_forward(y, x, w, b, &d, work);
    else
        conv2d_forward(y, x, w, b, &d, work);
    ref_eval(&r, yr);
    snprintf(what, sizeof what, "%s: y", label);
    cmp(what, y, yr, ny, 1e-5);

    float *dyf = frand(ny, 1.0);
    double *dy = todouble(dyf, ny);
    float *p_dx = frand(nx, 1.0), *p_dw = frand(nw, 1.0), *p_db = frand(d.Cout, 1.0);
    float *dx = fcopy(p_dx, nx), *dw = fcopy(p_dw, nw), *db = fcopy(p_db, d.Cout);
    if (transposed)
        convt2d_backward(dx, dw, bias ? db : NULL, dyf, x, w, &d, work);
    else
        conv2d_backward(dx, dw, bias ? db : NULL, dyf, x, w, &d, work);
    snprintf(what, sizeof what, "%s: dx", label);
    check_grad(what, &r, 0, dy, ny, dx, p_dx, 1e-5);
    snprintf(what, sizeof what, "%s: dw", label);
    check_grad(what, &r, 1, dy, ny, dw, p_dw, 1e-5);
    if (bias) {
        snprintf(what, sizeof what, "%s: db", label);
        check_grad(what, &r, 2, dy, ny, db, p_db, 1e-5);
    }
    /* only some gradients requested */
    float *dw2 = fcopy(p_dw, nw), *dx2 = fcopy(p_dx, nx);
    if (transposed) {
        convt2d_backward(NULL, dw2, NULL, dyf, x, w, &d, work);
        convt2d_backward(dx2, NULL, NULL, dyf, x, w, &d, work);
    } else {
        conv2d_backward(NULL, dw2, NULL, dyf, x, w, &d, work);
        conv2d_backward(dx2, NULL, NULL, dyf, x, w, &d, work);
    }
    CHECK(memcmp(dw2, dw, (size_t)nw * sizeof(float)) == 0, "%s: dw alone differs", label);
    CHECK(memcmp(dx2, dx, (size_t)nx * sizeof(float)) == 0, "%s: dx alone differs", label);
    free(dw2), free(dx2);
    free(work), free(x), free(w), free(b), free(y), free(yr), free(dyf), free(dy);
    free(p_dx), free(p_dw), free(p_db), free(dx), free(dw), free(db);
    free(r.p[0]), free(r.p[1]), free(r.p[2]);
}

static conv2d_dims dims(int B, int Cin, int H, int W, int Cout, int kh, int kw, int sh, int sw, int ph, int pw)
{
    conv2d_dims d = {B, Cin, H, W, Cout, kh, kw, sh, sw, ph, pw};
    return d;
}

static void conv_suite(const char *tag)
{
    char l[128];
#define RUN(T, D, BIAS, NAME)                                                                                          \
    do {                                                                                                               \
        snprintf(l, sizeof l, "%s %s %s", (T) ? "convt" : "conv", NAME, tag);                                          \
        test_conv(T, D, BIAS, l);                                                                                      \
    } while (0)
    RUN(0, dims(2, 3, 6, 7, 2, 3, 2, 1, 1, 1, 0), 1, "3x2 pad 1,0");
    RUN(0, dims(1, 2, 7, 9, 3, 3, 4, 2, 3, 2, 1), 0, "3x4 stride 2,3 pad 2,1");
    RUN(0, dims(1, 4, 9, 8, 3, 7, 7, 1, 1, 3, 3), 1, "stem 7x7 pad 3");
    RUN(0, dims(2, 3, 7, 10, 4, 4, 4, 2, 2, 1, 1), 1, "down 4x4 s2 p1 odd H");
    RUN(0, dims(2, 3, 5, 6, 3, 3, 3, 1, 1, 1, 1), 1, "head 3x3 pad 1");
    RUN(0, dims(2, 3, 5, 6, 4, 1, 1, 1, 1, 0, 0), 1, "head 1x1");
    RUN(0, dims(1, 2, 5, 5, 2, 1, 1, 2, 2, 0, 0), 1, "1x1 stride 2");
    RUN(0, dims(1, 1, 4, 4, 1, 4, 4, 1, 1, 0, 0), 1, "kernel = image");
    RUN(1, dims(2, 4, 4, 5, 3, 4, 4, 2, 2, 1, 1), 1, "up 4x4 s2 p1");
    RUN(1, dims(1, 3, 3, 4, 2, 3, 2, 2, 3, 1, 0), 0, "3x2 stride 2,3 pad 1,0");
    RUN(1, dims(2, 2, 3, 3, 3, 3, 3, 1, 1, 1, 1), 1, "3x3 stride 1 pad 1");
    RUN(1, dims(1, 3, 4, 3, 2, 1, 1, 1, 1, 0, 0), 1, "1x1");
    RUN(1, dims(1, 2, 3, 2, 2, 2, 3, 3, 2, 0, 1), 1, "2x3 stride 3,2 (gaps)");
#undef RUN
}

/* ---------------------------------------------------------------- batchnorm */

static void test_batchnorm(int B, int C, int H, int W)
{
    char what[96];
    int64_t HW = (int64_t)H * W, n = (int64_t)B * C * HW;
    float *x = frand(n, 2.0), *g = frand(C, 1.0), *b = frand(C, 1.0), *y = frand(n, 1.0);
    for (int64_t i = 0; i < n; i++)
        x[i] += 1.5f;
    float *mean = frand(C, 1.0), *rstd = frand(C, 1.0), *rm = frand(C, 1.0), *rv = frand(C, 1.0);
    for (int c = 0; c < C; c++)
        rv[c] = 0.5f + fabsf(rv[c]);
    float *rm0 = fcopy(rm, C), *rv0 = fcopy(rv, C);
    refcase r = {.kind = K_BN_TRAIN, .d = dims(B, C, H, W, C, 1, 1, 1, 1, 0, 0), .eps = 1e-5};
    r.p[0] = todouble(x, n), r.np[0] = n;
    r.p[1] = todouble(g, C), r.np[1] = C;
    r.p[2] = todouble(b, C), r.np[2] = C;
    double *yr = malloc((size_t)n * sizeof(double)), *mr = malloc((size_t)C * sizeof(double));
    double *vr = malloc((size_t)C * sizeof(double));
    batchnorm_forward_train(y, mean, rstd, rm, rv, x, g, b, B, C, HW, 0.1f, 1e-5f);
    ref_bn(&r, yr, mr, vr);
    snprintf(what, sizeof what, "batchnorm train %dx%dx%dx%d: y", B, C, H, W);
    cmp(what, y, yr, n, 2e-5);
    double cnt = (double)B * HW;
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(mean[c], mr[c], 1e-6, 1e-6, "batchnorm saved mean");
        CHECK_CLOSE(rstd[c], 1.0 / sqrt(vr[c] + 1e-5), 0, 1e-6, "batchnorm saved rstd");
        /* PyTorch: running = 0.9 running + 0.1 batch, with the unbiased variance */
        CHECK_CLOSE(rm[c], 0.9 * rm0[c] + 0.1 * mr[c], 1e-6, 1e-6, "batchnorm running_mean");
        CHECK_CLOSE(rv[c], 0.9 * rv0[c] + 0.1 * vr[c] * cnt / (cnt - 1.0), 1e-6, 1e-6, "batchnorm running_var");
    }
    float *dyf = frand(n, 1.0);
    double *dy = todouble(dyf, n);
    float *p_dx = frand(n, 1.0), *p_dg = frand(C, 1.0), *p_db = frand(C, 1.0);
    float *dx = fcopy(p_dx, n), *dg = fcopy(p_dg, C), *db = fcopy(p_db, C);
    batchnorm_backward(dx, dg, db, dyf, x, mean, rstd, g, B, C, HW);
    snprintf(what, sizeof what, "batchnorm train %dx%dx%dx%d: dx", B, C, H, W);
    check_grad(what, &r, 0, dy, n, dx, p_dx, 1e-4);
    snprintf(what, sizeof what, "batchnorm train %dx%dx%dx%d: dg", B, C, H, W);
    check_grad(what, &r, 1, dy, n, dg, p_dg, 2e-5);
    snprintf(what, sizeof what, "batchnorm train %dx%dx%dx%d: db", B, C, H, W);
    check_grad(what, &r, 2, dy, n, db, p_db, 2e-5);

    /* eval mode: running statistics are constants */
    r.kind = K_BN_EVAL;
    r.rm = todouble(rm, C);
    r.rv = todouble(rv, C);
    batchnorm_forward_eval(y, x, g, b, rm, rv, B, C, HW, 1e-5f);
    ref_bn(&r, yr, NULL, NULL);
    snprintf(what, sizeof what, "batchnorm eval %dx%dx%dx%d: y", B, C, H, W);
    cmp(what, y, yr, n, 1e-5);
    free(x), free(g), free(b), free(y), free(mean), free(rstd), free(rm), free(rv), free(rm0), free(rv0);
    free(yr), free(mr), free(vr), free(dyf), free(dy), free(p_dx), free(p_dg), free(p_db), free(dx), free(dg);
    free(db), free(r.p[0]), free(r.p[1]), free(r.p[2]), free(r.rm), free(r.rv);
}

/* ---------------------------------------------------------------- layout, pad, crop, add */

static void test_shapes(int B, int C, int H, int W)
{
    int64_t n = (int64_t)B * C * H * W;
    float *x = frand(n, 1.0), *t = frand(n, 1.0), *back = frand(n, 1.0);
    nchw_to_tokens(t, x, B, C, H, W);
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    bad += t[(((int64_t)b * H + h) * W + w) * C + c] != x[(((int64_t)b * C + c) * H + h) * W + w];
    CHECK(bad == 0, "nchw_to_tokens: %d wrong (%dx%dx%dx%d)", bad, B, C, H, W);
    tokens_to_nchw(back, t, B, C, H, W);
    CHECK(memcmp(back, x, (size_t)n * sizeof(float)) == 0, "tokens_to_nchw does not invert nchw_to_tokens");
    /* backward of each is the other, accumulating */
    float *prior = frand(n, 1.0), *acc = fcopy(prior, n);
    nchw_to_tokens_backward(acc, t, B, C, H, W); /* dy in token layout -> dx NCHW */
    bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += acc[i] != prior[i] + x[i];
    CHECK(bad == 0, "nchw_to_tokens_backward: %d wrong", bad);
    memcpy(acc, prior, (size_t)n * sizeof(float));
    tokens_to_nchw_backward(acc, x, B, C, H, W); /* dy NCHW -> dx tokens */
    bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += acc[i] != prior[i] + t[i];
    CHECK(bad == 0, "tokens_to_nchw_backward: %d wrong", bad);

    /* pad to (H+3, W+2), crop back */
    int H2 = H + 3, W2 = W + 2;
    int64_t n2 = (int64_t)B * C * H2 * W2;
    float *p = frand(n2, 1.0), *pp = frand(n2, 1.0);
    pad2d_forward(p, x, B, C, H, W, H2, W2);
    bad = 0;
    for (int64_t bc = 0; bc < (int64_t)B * C; bc++)
        for (int h = 0; h < H2; h++)
            for (int w = 0; w < W2; w++) {
                float want = h < H && w < W ? x[(bc * H + h) * W + w] : 0.0f;
                bad += p[(bc * H2 + h) * W2 + w] != want;
            }
    CHECK(bad == 0, "pad2d_forward: %d wrong", bad);
    crop2d_forward(back, p, B, C, H2, W2, H, W);
    CHECK(memcmp(back, x, (size_t)n * sizeof(float)) == 0, "crop2d_forward does not invert pad2d_forward");
    /* pad backward = crop-accumulate; crop backward = pad-accumulate */
    memcpy(acc, prior, (size_t)n * sizeof(float));
    pad2d_backward(acc, pp, B, C, H, W, H2, W2);
    crop2d_forward(back, pp, B, C, H2, W2, H, W);
    bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += acc[i] != prior[i] + back[i];
    CHECK(bad == 0, "pad2d_backward: %d wrong", bad);
    float *prior2 = frand(n2, 1.0), *acc2 = fcopy(prior2, n2);
    crop2d_backward(acc2, x, B, C, H2, W2, H, W);
    bad = 0;
    for (int64_t i = 0; i < n2; i++)
        bad += acc2[i] != prior2[i] + p[i];
    CHECK(bad == 0, "crop2d_backward: %d wrong", bad);

    memcpy(acc, prior, (size_t)n * sizeof(float));
    add_inplace(acc, x, n);
    bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += acc[i] != prior[i] + x[i];
    CHECK(bad == 0, "add_inplace: %d wrong", bad);
    free(x), free(t), free(back), free(prior), free(acc), free(p), free(pp), free(prior2), free(acc2);
}

/* ---------------------------------------------------------------- thread independence */

static void test_threads(void)
{
    /* Everything outside GEMMs must be bit-identical for any thread count. */
    int64_t n = 3000; /* > NN_ROW_CHUNK (several reduction chunks), n * c > the parallel threshold */
    int c = 24, B = 2, C = 5, HW = 7001;
    float *x = frand(n * c, 1.0), *g = frand(c, 1.0), *bb = frand(c, 1.0), *dy = frand(n * c, 1.0);
    float *bx = frand((int64_t)B * C * HW, 1.0), *bdy = frand((int64_t)B * C * HW, 1.0);
    float *res[2][8];
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k == 0 ? 1 : 3);
        float *y = calloc((size_t)(n * c), 4), *m = calloc((size_t)n, 4), *rs = calloc((size_t)n, 4);
        float *dx = calloc((size_t)(n * c), 4), *dg = calloc((size_t)c, 4), *db = calloc((size_t)c, 4);
        layernorm_forward(y, m, rs, x, g, bb, n, c, 1e-5f);
        layernorm_backward(dx, dg, db, dy, x, m, rs, g, n, c);
        float *bdb = calloc((size_t)c, 4);
        linear_backward(NULL, NULL, bdb, dy, x, NULL, n, c, c);
        float *by = calloc((size_t)B * C * HW, 4), *bm = calloc((size_t)C, 4), *brs = calloc((size_t)C, 4);
        float *bdx = calloc((size_t)B * C * HW, 4), *bdg = calloc((size_t)C, 4);
        batchnorm_forward_train(by, bm, brs, NULL, NULL, bx, g, bb, B, C, HW, 0.1f, 1e-5f);
        batchnorm_backward(bdx, bdg, NULL, bdy, bx, bm, brs, g, B, C, HW);
        res[k][0] = y, res[k][1] = dx, res[k][2] = dg, res[k][3] = db, res[k][4] = bdb;
        res[k][5] = by, res[k][6] = bdx, res[k][7] = bdg;
        free(m), free(rs), free(bm), free(brs);
    }
    omp_set_num_threads(2);
    const char *names[8] = {"layernorm y", "layernorm dx", "layernorm dg", "layernorm db",
                            "linear db",   "batchnorm y",  "batchnorm dx", "batchnorm dg"};
    int64_t sizes[8] = {n * c, n * c, c, c, c, (int64_t)B * C * HW, (int64_t)B * C * HW, C};
    for (int i = 0; i < 8; i++) {
        CHECK(memcmp(res[0][i], res[1][i], (size_t)sizes[i] * 4) == 0, "%s depends on the thread count", names[i]);
        free(res[0][i]), free(res[1][i]);
    }
    free(x), free(g), free(bb), free(dy), free(bx), free(bdy);
}

int main(void)
{
    tf_rng_seed(&rng, 20261124);
    test_linear(7, 5, 3, 1);
    test_linear(9, 1, 4, 0);
    test_linear(3, 16, 64, 1);
    for (int mode = 1; mode <= 2; mode++) { /* own kernels, OpenBLAS; both through the finite differences too */
        nn_linear_mode = mode;
        test_linear(7, 5, 3, 1);
        test_linear(13, 17, 9, 1);
        test_linear(8, 24, 16, 0);
        nn_linear_mode = 0;
        test_linear_big(1, 3, 1, mode);
        test_linear_big(97, 16, 48, mode);
        test_linear_big(101, 23, 37, mode);
        test_linear_big(3001, 16, 64, mode); /* several dW chunks, parallel tiles */
        test_linear_big(611, 64, 16, mode);
        test_linear_big(250, 40, 8, mode);
        test_linear_big(37, 7, 130, mode);
    }
    test_colsum(1, 1);
    test_colsum(2500, 13);
    test_colsum(1030, 64);
    test_colsum(300, 100);
    test_layernorm(6, 7, 1.0);
    test_layernorm(5, 32, 0.01);
    test_layernorm(4, 1, 1.0);
    test_gelu();
    conv_suite("(default tiles)");
    size_t save = nn_conv_tile_floats;
    nn_conv_tile_floats = 50; /* forces one grid row per tile */
    conv_suite("(1-row tiles)");
    nn_conv_tile_floats = 200; /* a few rows per tile, last tile partial */
    conv_suite("(small tiles)");
    nn_conv_tile_floats = save;
    test_batchnorm(2, 3, 4, 5);
    test_batchnorm(1, 2, 1, 7);
    test_shapes(2, 37, 3, 13);
    test_shapes(1, 1, 1, 1);
    test_threads();
    return check_report("layers");
}
