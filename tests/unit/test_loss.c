/* Training losses against an independent double-precision reference: a
 * direct-DFT STFT / ISTFT written here, the loss definitions of
 * lib/train/loss.h evaluated in double, and central finite differences of
 * that reference for the gradients. */
#include "check.h"
#include "dsp/stft.h"
#include "train/loss.h"
#include "util/rng.h"

#include <stdlib.h>
#include <string.h>

/* ---- reference transforms (double, direct DFT, torch conventions) ---- */
static double hann(int n, int N) { return 0.5 - 0.5 * cos(2 * M_PI * n / N); }

static long reflect(long j, long L)
{
    if (j < 0)
        j = -j;
    if (j >= L)
        j = 2 * (L - 1) - j;
    return j;
}

/* spec: F x T complex (re, im interleaved), bin-major */
static void ref_stft(const double *x, long L, int N, int h, double *spec)
{
    int F = N / 2 + 1;
    long T = 1 + L / h;
    for (long t = 0; t < T; t++)
        for (int k = 0; k < F; k++) {
            double re = 0, im = 0;
            for (int n = 0; n < N; n++) {
                double v = x[reflect(t * h + n - N / 2, L)] * hann(n, N);
                re += v * cos(2 * M_PI * k * n / N);
                im -= v * sin(2 * M_PI * k * n / N);
            }
            spec[2 * (k * T + t)] = re;
            spec[2 * (k * T + t) + 1] = im;
        }
}

static void ref_istft(const double *spec, long T, int N, int h, double *y, long L)
{
    int F = N / 2 + 1;
    long P = (T - 1) * h + N;
    double *s = calloc((size_t)P, sizeof(double)), *e = calloc((size_t)P, sizeof(double));
    for (long t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double v = 0;
            for (int k = 0; k < F; k++) {
                double re = spec[2 * (k * T + t)], im = spec[2 * (k * T + t) + 1];
                double c = (k == 0 || k == N / 2) ? 1 : 2;
                if (k == 0 || k == N / 2)
                    im = 0;
                v += c * (re * cos(2 * M_PI * k * n / N) - im * sin(2 * M_PI * k * n / N));
            }
            v /= N;
            s[t * h + n] += hann(n, N) * v;
            e[t * h + n] += hann(n, N) * hann(n, N);
        }
    for (long j = 0; j < L; j++)
        y[j] = s[j + N / 2] / e[j + N / 2];
    free(s);
    free(e);
}

static double ref_mrstft(const mrstft_config *c, const double *est, const double *ref, long L)
{
    double total = 0;
    for (int r = 0; r < c->n_res; r++) {
        int N = c->n_fft[r], h = c->hop[r], F = N / 2 + 1;
        long T = 1 + L / h;
        double *se = malloc(sizeof(double) * 2 * (size_t)(F * T)), *sr = malloc(sizeof(double) * 2 * (size_t)(F * T));
        ref_stft(est, L, N, h, se);
        ref_stft(ref, L, N, h, sr);
        double m = 0, lg = 0;
        for (long i = 0; i < F * T; i++) {
            double pe = se[2 * i] * se[2 * i] + se[2 * i + 1] * se[2 * i + 1];
            double pr = sr[2 * i] * sr[2 * i] + sr[2 * i + 1] * sr[2 * i + 1];
            double me = sqrt(pe < c->eps ? c->eps : pe), mr = sqrt(pr < c->eps ? c->eps : pr);
            m += fabs(me - mr);
            lg += fabs(log(me) - log(mr));
        }
        total += (c->w_mag * m + c->w_logmag * lg) / (double)(F * T);
        free(se);
        free(sr);
    }
    return total / c->n_res;
}

/* total stem loss in double from spectrograms */
static double ref_stem_loss(const stem_loss_config *c, const double *est, const double *ref, int C, long T, long L)
{
    int F = c->n_fft / 2 + 1;
    size_t per = 2 * (size_t)F * (size_t)T;
    double l1 = 0;
    for (size_t i = 0; i < per * (size_t)C; i++)
        l1 += fabs(est[i] - ref[i]);
    l1 /= (double)(per * (size_t)C);
    double mr = 0;
    double *we = malloc(sizeof(double) * (size_t)L), *wr = malloc(sizeof(double) * (size_t)L);
    for (int ch = 0; ch < C; ch++) {
        ref_istft(est + ch * per, T, c->n_fft, c->hop, we, L);
        ref_istft(ref + ch * per, T, c->n_fft, c->hop, wr, L);
        mr += ref_mrstft(&c->mr, we, wr, L);
    }
    free(we);
    free(wr);
    return c->l1_weight * l1 + c->mrstft_weight * mr / C;
}

int main(void)
{
    tf_rng rng;
    tf_rng_seed(&rng, 11);

    /* L1 */
    float a[5] = {1, -2, 3, 0.5f, 0}, b[5] = {0, -2, 4, 0.25f, 1}, g[5] = {0};
    double l = l1_loss(a, b, 5, g, 2.0);
    CHECK_CLOSE(l, (1 + 0 + 1 + 0.25 + 1) / 5.0, 0, 1e-7, "l1 value");
    CHECK(g[0] == 0.4f && g[1] == 0 && g[2] == -0.4f && g[3] == 0.4f && g[4] == -0.4f, "l1 gradient %g %g %g %g %g",
          g[0], g[1], g[2], g[3], g[4]);

    /* SDR loss: value against its definition in double (a hand-checkable
     * case: error energy 3.0625 + eps over reference energy 21.0625 + eps),
     * the gradient against central differences, and the same through
     * stem_loss (sdr_weight 2, floor 1e-3 of a mixture energy of 50) */
    {
        const double eps = 0.5;
        float gs[5] = {0};
        double v = sdr_loss(a, b, 5, eps, gs, 1.5);
        CHECK_CLOSE(v, 10 * log10((3.0625 + eps) / (21.0625 + eps)), 0, 1e-9, "sdr loss value");
        for (int i = 0; i < 5; i++) {
            double h = 1e-4, se[2] = {0, 0};
            for (int side = 0; side < 2; side++)
                for (int j = 0; j < 5; j++) {
                    double d = a[j] - (double)b[j] + (i == j ? (side ? h : -h) : 0);
                    se[side] += d * d;
                }
            double fd = 1.5 * 10 * (log10(se[1] + eps) - log10(se[0] + eps)) / (2 * h);
            CHECK_CLOSE(gs[i], fd, 1e-6, 1e-4, "sdr loss gradient");
        }
        stem_loss_config sc = {.n_fft = 8, .hop = 2, .sdr_weight = 2, .mr = mrstft_default()};
        char err[256];
        stem_loss_ctx *ctx = stem_loss_new(&sc, err, sizeof err);
        CHECK(ctx != NULL, "stem_loss_new: %s", err);
        float e2[20], r2[20], g3[20] = {0}, g4[20] = {0};
        for (int i = 0; i < 20; i++)
            e2[i] = (float)tf_rng_normal(&rng), r2[i] = (float)tf_rng_normal(&rng);
        double tot = stem_loss(ctx, e2, r2, NULL, 1, 2, 4, 50.0, g3, 0.5, NULL, NULL);
        double want = 2 * sdr_loss(e2, r2, 20, 1e-3 * 50.0, g4, 1.0);
        CHECK_CLOSE(tot, want, 0, 1e-12, "stem loss with the SDR term");
        for (int i = 0; i < 20; i++)
            CHECK_CLOSE(g3[i], g4[i], 0, 1e-6, "stem loss SDR gradient");
        CHECK_CLOSE(energy(e2, 3), (double)e2[0] * e2[0] + (double)e2[1] * e2[1] + (double)e2[2] * e2[2], 0, 1e-12,
                    "energy");
        stem_loss_free(ctx);
    }

    /* L2: value, and the gradient against central differences in double */
    float g2[5] = {0};
    double l2v = l2_loss(a, b, 5, g2, 2.0);
    CHECK_CLOSE(l2v, (1 + 0 + 1 + 0.0625 + 1) / 5.0, 0, 1e-7, "l2 value");
    for (int i = 0; i < 5; i++) {
        double h = 1e-3, s0 = 0, s1 = 0;
        for (int j = 0; j < 5; j++) {
            double d0 = a[j] - (double)b[j] - (i == j ? h : 0), d1 = a[j] - (double)b[j] + (i == j ? h : 0);
            s0 += d0 * d0, s1 += d1 * d1;
        }
        CHECK_CLOSE(g2[i], 2.0 * (s1 - s0) / 5.0 / (2 * h), 1e-6, 1e-5, "l2 gradient");
    }

    /* Multi-resolution STFT loss on waveforms, value and gradient. */
    mrstft_config mc;
    memset(&mc, 0, sizeof mc);
    mc.n_res = 3;
    mc.n_fft[0] = 32, mc.hop[0] = 8;
    mc.n_fft[1] = 16, mc.hop[1] = 4;
    mc.n_fft[2] = 8, mc.hop[2] = 2;
    mc.w_mag = 0.7;
    mc.w_logmag = 1.3;
    mc.eps = 1e-8;
    enum { L = 45 };
    float xe[L], xr[L], gx[L] = {0};
    double de[L], dr[L];
    for (int i = 0; i < L; i++) {
        xe[i] = (float)tf_rng_normal(&rng);
        xr[i] = (float)tf_rng_normal(&rng);
        de[i] = xe[i];
        dr[i] = xr[i];
    }
    char err[256];
    mrstft *m = mrstft_new(&mc, err, sizeof err);
    CHECK(m != NULL, "mrstft_new: %s", err);
    double lm = mrstft_loss(m, xe, xr, L, gx, 1.5);
    CHECK_CLOSE(lm, ref_mrstft(&mc, de, dr, L), 0, 1e-5, "mrstft value");
    for (int i = 0; i < L; i++) {
        double hstep = 1e-6, keep = de[i];
        de[i] = keep + hstep;
        double up = ref_mrstft(&mc, de, dr, L);
        de[i] = keep - hstep;
        double dn = ref_mrstft(&mc, de, dr, L);
        de[i] = keep;
        CHECK_CLOSE(gx[i], 1.5 * (up - dn) / (2 * hstep), 1e-5, 2e-3, "mrstft gradient");
    }
    mrstft_free(m);

    /* Whole stem loss from spectrograms: L1 + MR-STFT through istft. */
    stem_loss_config sc;
    memset(&sc, 0, sizeof sc);
    sc.n_fft = 16;
    sc.hop = 4;
    sc.l1_weight = 0.6;
    sc.mrstft_weight = 0.9;
    sc.mr = mc;
    enum { C = 2, LEN = 41 };
    const int F = 9;
    const long T = 1 + LEN / 4;
    size_t nsp = 2 * (size_t)F * (size_t)T * C;
    float *fe = malloc(nsp * sizeof(float)), *fr = malloc(nsp * sizeof(float)), *gs = calloc(nsp, sizeof(float));
    double *ee = malloc(nsp * sizeof(double)), *rr = malloc(nsp * sizeof(double));
    for (size_t i = 0; i < nsp; i++) {
        fe[i] = (float)tf_rng_normal(&rng);
        fr[i] = (float)tf_rng_normal(&rng);
        ee[i] = fe[i];
        rr[i] = fr[i];
    }
    stem_loss_ctx *ctx = stem_loss_new(&sc, err, sizeof err);
    CHECK(ctx != NULL, "stem_loss_new: %s", err);
    double l1p, mrp;
    double tot = stem_loss(ctx, fe, fr, NULL, C, T, LEN, 0, gs, 1.0, &l1p, &mrp);
    CHECK_CLOSE(tot, ref_stem_loss(&sc, ee, rr, C, T, LEN), 0, 1e-5, "stem loss value");
    CHECK_CLOSE(tot, sc.l1_weight * l1p + sc.mrstft_weight * mrp, 0, 1e-12, "parts add up");
    int checked = 0;
    for (size_t i = 0; i < nsp; i += 7) {
        double hstep = 1e-6, keep = ee[i];
        ee[i] = keep + hstep;
        double up = ref_stem_loss(&sc, ee, rr, C, T, LEN);
        ee[i] = keep - hstep;
        double dn = ref_stem_loss(&sc, ee, rr, C, T, LEN);
        ee[i] = keep;
        CHECK_CLOSE(gs[i], (up - dn) / (2 * hstep), 1e-5, 2e-3, "stem loss gradient");
        checked++;
    }
    CHECK(checked > 20, "gradient entries checked: %d", checked);
    stem_loss_free(ctx);
    free(fe);
    free(fr);
    free(gs);
    free(ee);
    free(rr);
    stft_plan_cache_clear();
    return check_report("test_loss");
}
