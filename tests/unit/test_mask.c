/* Masks to estimates (lib/model/mask.c): against a naive complex product in
 * double for both mask kinds, the adjoint identity <dest, J dm> = <J^T dest, dm>
 * for every stem, and whole-track separation with a residual model: the
 * estimates sum to the mixture and the other stems equal an unbounded
 * model's with the same weights. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/forward.h"
#include "model/mask.h"
#include "model/model.h"
#include "model/separate.h"
#include "util/rng.h"

static void naive(double *est, const float *m, const tfswa_config *c, int s, const float *X, int F, int Ttot, int t0,
                  int T)
{
    int S = c->n_stems;
    for (int ch = 0; ch < 2; ch++)
        for (int f = 0; f < F; f++)
            for (int t = 0; t < T; t++) {
                const float *x = X + 2 * (((size_t)ch * F + f) * Ttot + t0 + t);
                double complex xv = x[0] + I * (double)x[1], M = 0;
#define MASK(k)                                                                                                        \
    (m[((size_t)(4 * (k) + 2 * ch) * F + f) * T + t] + I * (double)m[((size_t)(4 * (k) + 2 * ch + 1) * F + f) * T + t])
                if (c->residual && s == S - 1) {
                    M = 1;
                    for (int k = 0; k < S - 1; k++)
                        M -= MASK(k);
                } else
                    M = MASK(s);
#undef MASK
                double complex e = M * xv;
                est[2 * (((size_t)ch * F + f) * T + t)] = creal(e);
                est[2 * (((size_t)ch * F + f) * T + t) + 1] = cimag(e);
            }
}

static void test_kind(int residual, int S)
{
    tfswa_config c;
    tfswa_preset(&c, "tiny");
    c.n_stems = S;
    c.residual = residual;
    const int F = 7, Ttot = 13, t0 = 3, T = 9;
    tf_rng rng;
    tf_rng_seed(&rng, 11 + (uint64_t)residual * 7 + (uint64_t)S);
    size_t nm = (size_t)4 * S * F * T, ne = (size_t)4 * F * T, nx = (size_t)4 * F * Ttot;
    float *m = malloc(sizeof(float) * nm), *X = malloc(sizeof(float) * nx), *e = malloc(sizeof(float) * ne);
    float *de = malloc(sizeof(float) * ne), *jt = malloc(sizeof(float) * nm);
    double *ref = malloc(sizeof(double) * ne);
    for (size_t i = 0; i < nm; i++)
        m[i] = (float)tf_rng_normal(&rng);
    for (size_t i = 0; i < nx; i++)
        X[i] = (float)tf_rng_normal(&rng);
    for (size_t i = 0; i < ne; i++)
        de[i] = (float)tf_rng_normal(&rng);
    double *sum = calloc(ne, sizeof(double));
    for (int s = 0; s < S; s++) {
        tfswa_estimate(e, m, &c, s, X, F, Ttot, t0, T);
        naive(ref, m, &c, s, X, F, Ttot, t0, T);
        double worst = 0;
        for (size_t i = 0; i < ne; i++) {
            worst = fmax(worst, fabs(e[i] - ref[i]));
            sum[i] += e[i];
        }
        CHECK(worst < 1e-5, "%s S=%d stem %d: estimate differs from the naive product by %g",
              residual ? "residual" : "unbounded", S, s, worst);
        /* adjoint, on the frames [0, T) of a mixture of exactly T frames */
        tfswa_estimate(e, m, &c, s, X, F, T, 0, T);
        memset(jt, 0, sizeof(float) * nm);
        tfswa_estimate_backward(jt, de, &c, s, X, F, T);
        /* the map is affine for the residual stem: remove the constant (M = 0) part */
        float *e0 = calloc(ne, sizeof(float)), *z = calloc(nm, sizeof(float));
        tfswa_estimate(e0, z, &c, s, X, F, T, 0, T);
        double lhs = 0, rhs = 0, mag = 0;
        for (size_t i = 0; i < ne; i++) {
            lhs += (double)de[i] * (e[i] - e0[i]);
            mag += fabs((double)de[i] * e[i]);
        }
        for (size_t i = 0; i < nm; i++)
            rhs += (double)jt[i] * m[i];
        CHECK(fabs(lhs - rhs) <= 1e-5 * mag, "%s S=%d stem %d: adjoint %.9g vs %.9g",
              residual ? "residual" : "unbounded", S, s, lhs, rhs);
        /* which stems' masks receive gradient */
        for (int k = 0; k < S; k++) {
            double g = 0;
            for (size_t i = (size_t)4 * k * F * T; i < (size_t)4 * (k + 1) * F * T; i++)
                g += fabs(jt[i]);
            int want = residual && s == S - 1 ? k < S - 1 : k == s;
            CHECK((g > 0) == want, "%s S=%d stem %d: gradient on stem %d's masks %g",
                  residual ? "residual" : "unbounded", S, s, k, g);
        }
        free(e0);
        free(z);
    }
    if (residual) { /* the estimates sum to the mixture */
        double worst = 0;
        for (int ch = 0; ch < 2; ch++)
            for (int f = 0; f < F; f++)
                for (int t = 0; t < T; t++)
                    for (int r = 0; r < 2; r++) {
                        size_t i = 2 * (((size_t)ch * F + f) * T + t) + r;
                        worst = fmax(worst, fabs(sum[i] - X[2 * (((size_t)ch * F + f) * Ttot + t0 + t) + r]));
                    }
        CHECK(worst < 1e-4, "residual S=%d: estimates sum to the mixture within %g", S, worst);
    }
    free(m);
    free(X);
    free(e);
    free(de);
    free(jt);
    free(ref);
    free(sum);
}

/* Whole-model separation in chunks: residual vs unbounded with the same weights. */
static void test_separate(void)
{
    tfswa_config c;
    tfswa_preset(&c, "tiny");
    c.n_fft = 64, c.hop = 16;
    c.n_stems = 2;
    c.seed = 3;
    tfswa_model mu, mr;
    tfswa_model_alloc(&mu, &c);
    tfswa_model_init_weights(&mu);
    c.residual = 1;
    tfswa_model_alloc(&mr, &c);
    memcpy(mr.data, mu.data, sizeof(float) * mu.layout.n_total);
    const int F = tfswa_bins(&c), T = 70, L = 24, O = 8;
    tf_rng rng;
    tf_rng_seed(&rng, 5);
    size_t n = (size_t)4 * F * T;
    float *X = malloc(sizeof(float) * n), *eu[2], *er[2];
    for (size_t i = 0; i < n; i++)
        X[i] = (float)tf_rng_normal(&rng);
    for (int s = 0; s < 2; s++)
        eu[s] = malloc(sizeof(float) * n), er[s] = malloc(sizeof(float) * n);
    tfswa_runner *ru = tfswa_runner_new(&mu, L, 1), *rr = tfswa_runner_new(&mr, L, 1);
    tfswa_separate(ru, X, T, eu, L, O, NULL, NULL);
    tfswa_separate(rr, X, T, er, L, O, NULL, NULL);
    double d0 = 0, dsum = 0, dmix = 0;
    for (size_t i = 0; i < n; i++) {
        d0 = fmax(d0, fabs(er[0][i] - eu[0][i]));
        dsum = fmax(dsum, fabs(er[0][i] + er[1][i] - X[i]));
        dmix = fmax(dmix, fabs(eu[0][i] + eu[1][i] - X[i]));
    }
    CHECK(d0 == 0, "residual model: first stem differs from the unbounded model's by %g", d0);
    CHECK(dsum < 1e-5, "residual model: estimates sum to the mixture within %g", dsum);
    CHECK(dmix > 1e-3, "unbounded model: estimates do not sum to the mixture (%g), so the check above can fail", dmix);
    tfswa_runner_free(ru);
    tfswa_runner_free(rr);
    for (int s = 0; s < 2; s++)
        free(eu[s]), free(er[s]);
    free(X);
    tfswa_model_free(&mu);
    tfswa_model_free(&mr);
}

int main(void)
{
    test_kind(0, 1);
    test_kind(0, 3);
    test_kind(1, 2);
    test_kind(1, 4);
    test_separate();
    return check_report("mask");
}
