/* BSSEval v4 (museval's bss_eval for MUSDB). See bsseval.h and man/sdr.1.
 *
 * Notation: a "signal" is one channel of one source; nsig = nsrc * nchan,
 * signal a = source a / nchan, channel a % nchan (museval's (j, c) order).
 * L = filt_len. For signals x, y, R_xy[t] = sum_n x[n] y[n + t], t = 0..L-1
 * (linear, zero outside the signal).
 *   G[(a,t1),(b,t2)] = <x_a delayed by t1, x_b delayed by t2>
 *                    = R_ab[t1 - t2] if t1 >= t2, else R_ba[t2 - t1]
 *   D[(a,t),(e)]     = <x_a delayed by t, estimate signal e> = R_{a,e}[t]
 * Filters: C = (G + eps I)^-1 D over all sources (interference) and
 * Cj = (G_jj + eps I)^-1 D_j over source j alone (spatial distortion), as
 * museval's _compute_projection_filters. museval computes each R through one
 * FFT of the whole zero-padded track; we accumulate conj(X_b) Y_b over
 * blocks b of 4096-point FFTs (overlap of L-1 samples), which gives the same
 * linear correlations to double rounding with far less work and memory.
 *
 * Windows: for each window museval projects the window's references alone
 * (zero outside it, so nothing leaks in from before the window) and keeps
 * the L-1 samples of filter tail after it: every signal is win + L - 1
 * samples long. Convolutions are blockwise FFT (overlap-add). */
#include "metrics/bsseval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/fft64.h"
#include "util/cli.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* LAPACK through OpenBLAS (Fortran symbols). */
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b, const int *ldb, int *info);
void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb,
             double *s, const double *rcond, int *rank, double *work, const int *lwork, int *iwork, int *info);

#define BSS_EPS 2.220446049250313e-16 /* numpy.finfo(float).eps */
#define BLOCK_FFT 4096

void bss_params_default(bss_params *p, int rate)
{
    p->win = rate;
    p->hop = rate;
    p->filt_len = 512;
    p->threads = 0;
}

int bss_nwin(int64_t nsampl, int64_t win, int64_t hop)
{
    if (win <= 0 || hop <= 0 || win >= nsampl)
        return 1;
    return (int)((nsampl - win + hop) / hop);
}

float *bss_pad_or_truncate(const float *est, int nchan, int64_t est_len, int64_t ref_len)
{
    float *o = tf_calloc((size_t)nchan * (size_t)(ref_len > 0 ? ref_len : 1), sizeof(float), "estimate");
    int64_t m = est_len < ref_len ? est_len : ref_len;
    for (int c = 0; c < nchan; c++)
        memcpy(o + (size_t)c * (size_t)ref_len, est + (size_t)c * (size_t)est_len, sizeof(float) * (size_t)m);
    return o;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bss_median(const double *x, int n)
{
    double *v = tf_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1), "median");
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]))
            v[m++] = x[i];
    double r = NAN;
    if (m > 0) {
        qsort(v, (size_t)m, sizeof(double), cmp_double);
        r = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
    }
    free(v);
    return r;
}

double metric_si_sdr(const float *ref, const float *est, size_t n)
{
    double ss = 0, se = 0;
    for (size_t i = 0; i < n; i++) {
        ss += (double)ref[i] * ref[i];
        se += (double)ref[i] * est[i];
    }
    if (ss == 0)
        return NAN;
    double a = se / ss, num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double t = a * ref[i], d = t - est[i];
        num += t * t;
        den += d * d;
    }
    if (den == 0)
        return INFINITY;
    if (num == 0)
        return -INFINITY;
    return 10.0 * log10(num / den);
}

double metric_global_sdr(const float *ref, const float *est, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)ref[i] - est[i];
        num += (double)ref[i] * ref[i];
        den += d * d;
    }
    return 10.0 * log10((num + 1e-7) / (den + 1e-7));
}

void bss_result_free(bss_result *r)
{
    free(r->sdr);
    free(r->isr);
    free(r->sir);
    free(r->sar);
    memset(r, 0, sizeof *r);
}

static double safe_db(double num, double den)
{
    if (den == 0)
        return INFINITY;
    return 10.0 * log10(num / den);
}

/* museval's _any_source_silent on samples [s0, s0 + len): some source whose
 * channel sum is exactly 0 at every sample. */
static int any_silent(const float *const *x, int nsrc, int nchan, int64_t nsampl, int64_t s0, int64_t len)
{
    for (int j = 0; j < nsrc; j++) {
        int silent = 1;
        for (int64_t n = s0; n < s0 + len && silent; n++) {
            double s = 0;
            for (int c = 0; c < nchan; c++)
                s += x[j][(size_t)c * (size_t)nsampl + (size_t)n];
            if (s != 0)
                silent = 0;
        }
        if (silent)
            return 1;
    }
    return 0;
}

/* Copies x[s0 .. s0+len) (zero beyond end) into buf[0..len), zero to M. */
static void load_block(const float *x, int64_t nsampl, int64_t s0, int64_t len, int64_t end, double *buf, int M)
{
    int64_t i = 0;
    for (; i < len && s0 + i < end && s0 + i < nsampl; i++)
        buf[i] = x[s0 + i];
    for (; i < M; i++)
        buf[i] = 0;
}

/* Fills G (n x n, column major, n = nsig * L) from the lags R. */
static void build_G(double *G, const double *R, int nsig, int L)
{
    const size_t n = (size_t)nsig * (size_t)L;
    for (int a = 0; a < nsig; a++)
        for (int b = 0; b < nsig; b++) {
            const double *rab = R + ((size_t)a * (size_t)nsig + (size_t)b) * (size_t)L;
            const double *rba = R + ((size_t)b * (size_t)nsig + (size_t)a) * (size_t)L;
            for (int t2 = 0; t2 < L; t2++) {
                double *col = G + ((size_t)b * (size_t)L + (size_t)t2) * n + (size_t)a * (size_t)L;
                for (int t1 = 0; t1 < L; t1++)
                    col[t1] = t1 >= t2 ? rab[t1 - t2] : rba[t2 - t1];
            }
        }
}

/* Solves A X = B (A n x n, B n x nrhs, column major) as museval does: LU
 * on A + eps I (dgesv, numpy.linalg.solve); if that is exactly singular,
 * least squares on A itself (dgelsd, rcond = eps * n as numpy's lstsq with
 * rcond=None). refill(A, ctx) rewrites A for the fallback, since dgesv
 * destroys it. Returns 0, 1 when least squares was used, -1 on failure. */
static int museval_solve(double *A, int n, double *B, int nrhs, void (*refill)(double *, const void *), const void *ctx)
{
    for (int i = 0; i < n; i++)
        A[(size_t)i * (size_t)n + (size_t)i] += BSS_EPS;
    double *B0 = tf_malloc(sizeof(double) * (size_t)n * (size_t)nrhs, "bss_eval matrix");
    memcpy(B0, B, sizeof(double) * (size_t)n * (size_t)nrhs);
    int *ipiv = tf_malloc(sizeof(int) * (size_t)n, "bss_eval pivots");
    int info = 0, ret = 0;
    dgesv_(&n, &nrhs, A, &n, ipiv, B, &n, &info);
    if (info > 0) {
        refill(A, ctx);
        memcpy(B, B0, sizeof(double) * (size_t)n * (size_t)nrhs);
        double *s = tf_malloc(sizeof(double) * (size_t)n, "lstsq");
        double rcond = BSS_EPS * n, wq = 0;
        int rank = 0, lwork = -1, iwq = 0;
        dgelsd_(&n, &n, &nrhs, A, &n, B, &n, s, &rcond, &rank, &wq, &lwork, &iwq, &info);
        lwork = (int)wq + 1;
        double *work = tf_malloc(sizeof(double) * (size_t)lwork, "lstsq");
        int *iwork = tf_malloc(sizeof(int) * (size_t)(iwq > 1 ? iwq : 1), "lstsq");
        dgelsd_(&n, &n, &nrhs, A, &n, B, &n, s, &rcond, &rank, work, &lwork, iwork, &info);
        free(s);
        free(work);
        free(iwork);
        ret = info == 0 ? 1 : -1;
    } else if (info < 0) {
        ret = -1;
    }
    free(B0);
    free(ipiv);
    return ret;
}

typedef struct {
    const double *R;
    int nsig, L, nchan, j;
} refill_ctx;

static void refill_full(double *A, const void *p)
{
    const refill_ctx *c = p;
    build_G(A, c->R, c->nsig, c->L);
}

/* G_jj: the correlations of source j's channels alone. */
static void refill_own(double *A, const void *p)
{
    const refill_ctx *c = p;
    int nl = c->nchan * c->L;
    double *full = tf_malloc(sizeof(double) * (size_t)nl * (size_t)nl, "bss_eval");
    /* the sub-block of G for signals j*nchan .. j*nchan + nchan - 1 */
    double *Rj = tf_malloc(sizeof(double) * (size_t)c->nchan * (size_t)c->nchan * (size_t)c->L, "bss_eval");
    for (int a = 0; a < c->nchan; a++)
        for (int b = 0; b < c->nchan; b++)
            memcpy(Rj + ((size_t)a * (size_t)c->nchan + (size_t)b) * (size_t)c->L,
                   c->R +
                       ((size_t)(c->j * c->nchan + a) * (size_t)c->nsig + (size_t)(c->j * c->nchan + b)) * (size_t)c->L,
                   sizeof(double) * (size_t)c->L);
    build_G(full, Rj, c->nchan, c->L);
    memcpy(A, full, sizeof(double) * (size_t)nl * (size_t)nl);
    free(full);
    free(Rj);
}

/* Sizes and signals shared by the phases of one bsseval_v4 call. */
typedef struct {
    const float *const *ref, *const *est; /* [source] (nchan, nsampl) */
    const float **sig_ref, **sig_est;     /* [signal] one channel of ref / est */
    int nsrc, nchan, nsig, L;
    int64_t nsampl;
    int M, nb; /* block FFT size, its complex bins */
    int64_t B; /* new samples per block: M - L + 1 */
    fft64_plan plan;
} bss_job;

/* The argument checks of bsseval_v4: sizes, and no source silent over the
 * whole track (museval refuses such a track). */
static int check_args(const float *const *ref, const float *const *est, int nsrc, int nchan, int64_t nsampl, int L,
                      char *err, size_t errlen)
{
    if (nsrc < 1 || nchan < 1 || nsampl < 1 || L < 1 || L > 65536) {
        snprintf(err, errlen, "bss_eval: bad sizes (%d sources, %d channels, %lld samples, %d taps)", nsrc, nchan,
                 (long long)nsampl, L);
        return -1;
    }
    for (int j = 0; j < nsrc; j++) {
        if (any_silent(ref + j, 1, nchan, nsampl, 0, nsampl)) {
            snprintf(err, errlen, "reference %d is silent over the whole track (museval refuses it)", j);
            return -1;
        }
        if (any_silent(est + j, 1, nchan, nsampl, 0, nsampl)) {
            snprintf(err, errlen, "estimate %d is silent over the whole track (museval refuses it)", j);
            return -1;
        }
    }
    return 0;
}

/* Adds block b's cross spectra conj(X_a) Y_q to A (one spectrum per pair, see
 * correlations). buf, X, Yr, Ye: the calling thread's scratch. */
static void correlate_block(const bss_job *J, int64_t b, double *A, double *buf, double *X, double *Yr, double *Ye)
{
    const int nsig = J->nsig, nb = J->nb, L = J->L, M = J->M;
    const int64_t s0 = b * J->B, B = J->B, nsampl = J->nsampl;
    for (int a = 0; a < nsig; a++) {
        load_block(J->sig_ref[a], nsampl, s0, B, nsampl, buf, M);
        fft64_forward(&J->plan, buf, X + (size_t)a * (size_t)(2 * nb));
        load_block(J->sig_ref[a], nsampl, s0, B + L - 1, nsampl, buf, M);
        fft64_forward(&J->plan, buf, Yr + (size_t)a * (size_t)(2 * nb));
        load_block(J->sig_est[a], nsampl, s0, B + L - 1, nsampl, buf, M);
        fft64_forward(&J->plan, buf, Ye + (size_t)a * (size_t)(2 * nb));
    }
    for (int a = 0; a < nsig; a++) {
        const double *xa = X + (size_t)a * (size_t)(2 * nb);
        for (int q = 0; q < 2 * nsig; q++) {
            const double *y = q < nsig ? Yr + (size_t)q * (size_t)(2 * nb) : Ye + (size_t)(q - nsig) * (size_t)(2 * nb);
            int pair = q < nsig ? a * nsig + q : nsig * nsig + a * nsig + (q - nsig);
            double *d = A + (size_t)pair * (size_t)(2 * nb);
#pragma omp simd
            for (int k = 0; k < nb; k++) {
                double xr = xa[2 * k], xi = xa[2 * k + 1], yr = y[2 * k], yi = y[2 * k + 1];
                d[2 * k] += xr * yr + xi * yi; /* conj(x) y */
                d[2 * k + 1] += xr * yi - xi * yr;
            }
        }
    }
}

/* Lags 0..L-1 of every pair, npairs = 2 nsig^2 of them: R_ab (references a,
 * b) first, then R_ae (reference a, estimate e); each L doubles. Blockwise,
 * one accumulator set per thread (nt threads), summed in thread order. */
static double *correlations(const bss_job *J, int nt)
{
    const int nsig = J->nsig, nb = J->nb, M = J->M, L = J->L;
    const int npairs = 2 * nsig * nsig;
    const int64_t nblk = (J->nsampl + J->B - 1) / J->B;
    size_t accn = (size_t)npairs * (size_t)nb * 2;
    double *acc = tf_calloc(accn * (size_t)nt, sizeof(double), "bss_eval correlations");
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        double *buf = tf_malloc(sizeof(double) * (size_t)M, "bss_eval");
        double *X = tf_malloc(sizeof(double) * (size_t)(nb * 2) * (size_t)nsig, "bss_eval");
        double *Yr = tf_malloc(sizeof(double) * (size_t)(nb * 2) * (size_t)nsig, "bss_eval");
        double *Ye = tf_malloc(sizeof(double) * (size_t)(nb * 2) * (size_t)nsig, "bss_eval");
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nblk; b++)
            correlate_block(J, b, acc + accn * (size_t)tid, buf, X, Yr, Ye);
        free(buf);
        free(X);
        free(Yr);
        free(Ye);
    }
    for (int t = 1; t < nt; t++)
        for (size_t i = 0; i < accn; i++)
            acc[i] += acc[accn * (size_t)t + i];
    double *R = tf_malloc(sizeof(double) * (size_t)npairs * (size_t)L, "bss_eval correlations");
    double *tbuf = tf_malloc(sizeof(double) * (size_t)M, "bss_eval");
    double *work = tf_malloc(sizeof(double) * (size_t)(M + 2), "bss_eval");
    for (int q = 0; q < npairs; q++) {
        fft64_inverse(&J->plan, acc + (size_t)q * (size_t)(2 * nb), tbuf, work);
        memcpy(R + (size_t)q * (size_t)L, tbuf, sizeof(double) * (size_t)L);
    }
    free(tbuf);
    free(work);
    free(acc);
    return R;
}

/* The projection filters from the lags R (see the top of the file):
 * *Cm (n x nsig, n = nsig L, column e: the taps from every reference signal
 * to estimate signal e) and *Cj (per source j, nchan L x nchan: the taps
 * from source j's channels alone). Returns 0, or -1 when a solve failed
 * (nothing allocated then); *used_lstsq is set when one fell back to least
 * squares. */
static int solve_filters(const bss_job *J, const double *R, double **Cm_out, double **Cj_out, int *used_lstsq)
{
    const int nsig = J->nsig, nsrc = J->nsrc, nchan = J->nchan, L = J->L;
    const int n = nsig * L, nl = nchan * L;
#define RE(a, e) (R + ((size_t)nsig * (size_t)nsig + (size_t)(a) * (size_t)nsig + (size_t)(e)) * (size_t)L)
    double *G = tf_malloc(sizeof(double) * (size_t)n * (size_t)n, "bss_eval G (try fewer stems)");
    build_G(G, R, nsig, L);
    double *Gjj = tf_malloc(sizeof(double) * (size_t)nl * (size_t)nl * (size_t)nsrc, "bss_eval");
    for (int j = 0; j < nsrc; j++)
        for (int c = 0; c < nl; c++)
            memcpy(Gjj + ((size_t)j * (size_t)nl + (size_t)c) * (size_t)nl,
                   G + ((size_t)j * (size_t)nl + (size_t)c) * (size_t)n + (size_t)j * (size_t)nl,
                   sizeof(double) * (size_t)nl);
    double *Cm = tf_malloc(sizeof(double) * (size_t)n * (size_t)nsig, "bss_eval"); /* D, then C */
    for (int e = 0; e < nsig; e++)
        for (int a = 0; a < nsig; a++)
            memcpy(Cm + (size_t)e * (size_t)n + (size_t)a * (size_t)L, RE(a, e), sizeof(double) * (size_t)L);
    double *Cj = tf_malloc(sizeof(double) * (size_t)nl * (size_t)nchan * (size_t)nsrc, "bss_eval");
    for (int j = 0; j < nsrc; j++)
        for (int c = 0; c < nchan; c++)
            for (int cj = 0; cj < nchan; cj++)
                memcpy(Cj + ((size_t)j * (size_t)nchan + (size_t)c) * (size_t)nl + (size_t)cj * (size_t)L,
                       RE(j * nchan + cj, j * nchan + c), sizeof(double) * (size_t)L);
#undef RE
    refill_ctx rctx = {R, nsig, L, nchan, 0};
    int rc = museval_solve(G, n, Cm, nsig, refill_full, &rctx), bad = rc < 0;
    *used_lstsq = rc == 1;
    free(G);
    for (int j = 0; j < nsrc && !bad; j++) {
        rctx.j = j;
        rc = museval_solve(Gjj + (size_t)j * (size_t)nl * (size_t)nl, nl, Cj + (size_t)j * (size_t)nl * (size_t)nchan,
                           nchan, refill_own, &rctx);
        if (rc < 0)
            bad = 1;
        if (rc == 1)
            *used_lstsq = 1;
    }
    free(Gjj);
    if (bad) {
        free(Cm);
        free(Cj);
        return -1;
    }
    *Cm_out = Cm;
    *Cj_out = Cj;
    return 0;
}

/* The filter spectra, each 2 nb doubles: FC[(j, a, c)] = rfft(the C taps
 * from signal a to output channel c of estimate j); FJ[(j, cj, c)] likewise
 * for Cj. */
static void filter_spectra(const bss_job *J, const double *Cm, const double *Cj, double **FC_out, double **FJ_out)
{
    const int nsig = J->nsig, nsrc = J->nsrc, nchan = J->nchan, L = J->L;
    const int n = nsig * L, nl = nchan * L;
    const size_t sp = (size_t)(2 * J->nb);
    double *FC = tf_malloc(sizeof(double) * sp * (size_t)nsrc * (size_t)nsig * (size_t)nchan, "bss_eval");
    double *FJ = tf_malloc(sizeof(double) * sp * (size_t)nsrc * (size_t)nchan * (size_t)nchan, "bss_eval");
    double *buf = tf_calloc((size_t)J->M, sizeof(double), "bss_eval");
    for (int j = 0; j < nsrc; j++)
        for (int c = 0; c < nchan; c++) {
            for (int a = 0; a < nsig; a++) {
                memcpy(buf, Cm + (size_t)(j * nchan + c) * (size_t)n + (size_t)a * (size_t)L,
                       sizeof(double) * (size_t)L);
                fft64_forward(&J->plan, buf,
                              FC + (((size_t)j * (size_t)nsig + (size_t)a) * (size_t)nchan + (size_t)c) * sp);
            }
            for (int cj = 0; cj < nchan; cj++) {
                memcpy(buf, Cj + ((size_t)j * (size_t)nchan + (size_t)c) * (size_t)nl + (size_t)cj * (size_t)L,
                       sizeof(double) * (size_t)L);
                fft64_forward(&J->plan, buf,
                              FJ + (((size_t)j * (size_t)nchan + (size_t)cj) * (size_t)nchan + (size_t)c) * sp);
            }
        }
    free(buf);
    *FC_out = FC;
    *FJ_out = FJ;
}

/* One window's thread scratch. */
typedef struct {
    double *buf, *work; /* M, M + 2 */
    double *X, *Y;      /* nsig spectra, one spectrum */
    double *Pall, *Pj;  /* nsig signals of olen: the projections on all sources, on the own source */
} win_scratch;

/* Y = sum over k < nf of f_k x_k (complex, nb bins; filter k at f + k fstep,
 * its input at x + k xstep), then out[0..cnt) += its inverse FFT. */
static void filter_add(const bss_job *J, const double *f, size_t fstep, const double *x, size_t xstep, int nf,
                       double *Y, double *buf, double *work, double *out, int64_t cnt)
{
    const int nb = J->nb;
    memset(Y, 0, sizeof(double) * (size_t)(2 * nb));
    for (int k = 0; k < nf; k++, f += fstep, x += xstep) {
#pragma omp simd
        for (int q = 0; q < nb; q++) {
            Y[2 * q] += f[2 * q] * x[2 * q] - f[2 * q + 1] * x[2 * q + 1];
            Y[2 * q + 1] += f[2 * q] * x[2 * q + 1] + f[2 * q + 1] * x[2 * q];
        }
    }
    fft64_inverse(&J->plan, Y, buf, work);
    for (int64_t i = 0; i < cnt; i++)
        out[i] += buf[i];
}

/* The window's references [s0, s0 + len) (zero outside) through the
 * filters, overlap-add by blocks: s->Pall and s->Pj (olen per signal) get
 * the projections on all sources and on each signal's own source. */
static void project_window(const bss_job *J, const double *FC, const double *FJ, int64_t s0, int64_t len, int64_t olen,
                           win_scratch *s)
{
    const int nsig = J->nsig, nsrc = J->nsrc, nchan = J->nchan, L = J->L;
    const size_t sp = (size_t)(2 * J->nb);
    memset(s->Pall, 0, sizeof(double) * (size_t)olen * (size_t)nsig);
    memset(s->Pj, 0, sizeof(double) * (size_t)olen * (size_t)nsig);
    for (int64_t k0 = 0; k0 < len; k0 += J->B) {
        int64_t bl = len - k0 < J->B ? len - k0 : J->B;
        for (int a = 0; a < nsig; a++) {
            load_block(J->sig_ref[a], J->nsampl, s0 + k0, bl, s0 + len, s->buf, J->M);
            fft64_forward(&J->plan, s->buf, s->X + (size_t)a * sp);
        }
        int64_t cnt = bl + L - 1;
        for (int j = 0; j < nsrc; j++)
            for (int c = 0; c < nchan; c++) {
                size_t o = (size_t)(j * nchan + c) * (size_t)olen + (size_t)k0;
                /* all sources */
                filter_add(J, FC + ((size_t)j * (size_t)nsig * (size_t)nchan + (size_t)c) * sp, (size_t)nchan * sp,
                           s->X, sp, nsig, s->Y, s->buf, s->work, s->Pall + o, cnt);
                /* own source only */
                filter_add(J, FJ + ((size_t)j * (size_t)nchan * (size_t)nchan + (size_t)c) * sp, (size_t)nchan * sp,
                           s->X + (size_t)(j * nchan) * sp, sp, nchan, s->Y, s->buf, s->work, s->Pj + o, cnt);
            }
    }
}

/* museval's energy ratios for window w ([s0, s0 + len)) from its
 * projections, into out->{sdr,isr,sir,sar}[j * nwin + w]. */
static void window_scores(const bss_job *J, const win_scratch *s, int64_t s0, int64_t len, int64_t olen, int w,
                          bss_result *out)
{
    const int nchan = J->nchan;
    const int64_t ol = len + J->L - 1;
    for (int j = 0; j < J->nsrc; j++) {
        double es = 0, ed = 0, esp = 0, epj = 0, ein = 0, epa = 0, ear = 0;
        for (int c = 0; c < nchan; c++) {
            int a = j * nchan + c;
            const double *pa = s->Pall + (size_t)a * (size_t)olen, *pj = s->Pj + (size_t)a * (size_t)olen;
            for (int64_t i = 0; i < ol; i++) {
                double sv = i < len ? J->sig_ref[a][s0 + i] : 0.0;
                double e = i < len ? J->sig_est[a][s0 + i] : 0.0;
                double e_spat = pj[i] - sv, e_int = pa[i] - sv - e_spat, e_art = e - sv - e_spat - e_int;
                double d = e_spat + e_int + e_art, sf = sv + e_spat, sa = sv + e_spat + e_int;
                es += sv * sv;
                ed += d * d;
                esp += e_spat * e_spat;
                epj += sf * sf;
                ein += e_int * e_int;
                epa += sa * sa;
                ear += e_art * e_art;
            }
        }
        size_t i = (size_t)j * (size_t)out->nwin + (size_t)w;
        out->sdr[i] = safe_db(es, ed);
        out->isr[i] = safe_db(es, esp);
        out->sir[i] = safe_db(epj, ein);
        out->sar[i] = safe_db(epa, ear);
    }
}

/* Scores every window of p into out (allocated here), over ntw threads; a
 * window in which any reference or estimate is silent scores NaN. */
static void score_windows(const bss_job *J, const double *FC, const double *FJ, const bss_params *p, int ntw,
                          bss_result *out)
{
    const int nsig = J->nsig, nsrc = J->nsrc, M = J->M;
    const int64_t nsampl = J->nsampl;
    const int nwin = bss_nwin(nsampl, p->win, p->hop);
    const int64_t win = (p->win <= 0 || p->win >= nsampl) ? nsampl : p->win;
    const int64_t hop = p->hop > 0 ? p->hop : nsampl;
    out->nsrc = nsrc;
    out->nwin = nwin;
    size_t nres = (size_t)nsrc * (size_t)nwin;
    out->sdr = tf_malloc(sizeof(double) * nres, "bss_eval");
    out->isr = tf_malloc(sizeof(double) * nres, "bss_eval");
    out->sir = tf_malloc(sizeof(double) * nres, "bss_eval");
    out->sar = tf_malloc(sizeof(double) * nres, "bss_eval");
    const int64_t olen = win + J->L - 1;
    const size_t sp = (size_t)(2 * J->nb);
    if (ntw > nwin)
        ntw = nwin;
#pragma omp parallel num_threads(ntw)
    {
        win_scratch s = {
            .buf = tf_malloc(sizeof(double) * (size_t)M, "bss_eval"),
            .work = tf_malloc(sizeof(double) * (size_t)(M + 2), "bss_eval"),
            .X = tf_malloc(sizeof(double) * sp * (size_t)nsig, "bss_eval"),
            .Y = tf_malloc(sizeof(double) * sp, "bss_eval"),
            .Pall = tf_malloc(sizeof(double) * (size_t)olen * (size_t)nsig, "bss_eval"),
            .Pj = tf_malloc(sizeof(double) * (size_t)olen * (size_t)nsig, "bss_eval"),
        };
#pragma omp for schedule(dynamic, 1)
        for (int w = 0; w < nwin; w++) {
            int64_t s0 = (int64_t)w * hop, len = win;
            if (s0 + len > nsampl)
                len = nsampl - s0;
            if (any_silent(J->ref, nsrc, J->nchan, nsampl, s0, len) ||
                any_silent(J->est, nsrc, J->nchan, nsampl, s0, len)) {
                for (int j = 0; j < nsrc; j++) {
                    size_t i = (size_t)j * (size_t)nwin + (size_t)w;
                    out->sdr[i] = out->isr[i] = out->sir[i] = out->sar[i] = NAN;
                }
                continue;
            }
            project_window(J, FC, FJ, s0, len, olen, &s);
            window_scores(J, &s, s0, len, olen, w, out);
        }
        free(s.buf);
        free(s.work);
        free(s.X);
        free(s.Y);
        free(s.Pall);
        free(s.Pj);
    }
}

int bsseval_v4(const float *const *ref, const float *const *est, int nsrc, int nchan, int64_t nsampl,
               const bss_params *p, bss_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const int L = p->filt_len;
    if (check_args(ref, est, nsrc, nchan, nsampl, L, err, errlen) < 0)
        return -1;
    const int nsig = nsrc * nchan;
    const float *sig_ref[nsig], *sig_est[nsig];
    for (int a = 0; a < nsig; a++) {
        sig_ref[a] = ref[a / nchan] + (size_t)(a % nchan) * (size_t)nsampl;
        sig_est[a] = est[a / nchan] + (size_t)(a % nchan) * (size_t)nsampl;
    }
    bss_job J = {.ref = ref,
                 .est = est,
                 .sig_ref = sig_ref,
                 .sig_est = sig_est,
                 .nsrc = nsrc,
                 .nchan = nchan,
                 .nsig = nsig,
                 .L = L,
                 .nsampl = nsampl};
    J.M = fft64_size(BLOCK_FFT > 2 * L ? BLOCK_FFT : 2 * L);
    J.nb = J.M / 2 + 1;
    J.B = J.M - L + 1;
    if (fft64_init(&J.plan, J.M) != 0) {
        snprintf(err, errlen, "bss_eval: FFT size %d", J.M);
        return -1;
    }
    /* threads: p->threads, at most one per block; with threads = 0
     * OpenMP's default, and for the windows that default uncapped */
    int nt = p->threads > 0 ? p->threads : 1;
#ifdef _OPENMP
    if (p->threads <= 0)
        nt = omp_get_max_threads();
#endif
    int ntw = nt;
    const int64_t nblk = (nsampl + J.B - 1) / J.B;
    if (nt > nblk)
        nt = (int)nblk;
    if (nt < 1)
        nt = 1;
    if (p->threads > 0)
        ntw = nt;

    double *R = correlations(&J, nt);
    double *Cm, *Cj;
    int rc = solve_filters(&J, R, &Cm, &Cj, &out->used_lstsq);
    free(R);
    if (rc < 0) {
        fft64_free(&J.plan);
        snprintf(err, errlen, "bss_eval: the linear solve failed");
        return -1;
    }
    double *FC, *FJ;
    filter_spectra(&J, Cm, Cj, &FC, &FJ);
    free(Cm);
    free(Cj);
    score_windows(&J, FC, FJ, p, ntw, out);
    free(FC);
    free(FJ);
    fft64_free(&J.plan);
    return 0;
}
