/* BSSEval v4 exactly as museval computes it for MUSDB (museval.metrics.bss_eval
 * with compute_permutation=False, framewise_filters=False,
 * bsseval_sources_version=False): image-based bss_eval with time-invariant
 * distortion filters of filt_len taps computed once on the whole signals,
 * then SDR, ISR, SIR, SAR per window.
 *
 * Sources are planar float32 (channels, samples) like the stream's
 * waveforms; all arithmetic is double. Correlations go through a
 * double-precision FFT (blockwise, lags 0 .. filt_len-1 only), the filters
 * through LAPACK dgesv (OpenBLAS) on G + eps I as numpy.linalg.solve does,
 * with museval's fallback to least squares (dgelsd) when G is singular. */
#ifndef TFSWA_METRICS_BSSEVAL_H
#define TFSWA_METRICS_BSSEVAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t win;  /* window in samples (museval: 1 s = 44100); <= 0: whole signal */
    int64_t hop;  /* hop in samples */
    int filt_len; /* distortion filter taps (512) */
    int threads;  /* 0: OpenMP default */
} bss_params;

void bss_params_default(bss_params *p, int rate); /* 1 s windows, 1 s hop, 512 taps */

typedef struct {
    int nsrc, nwin;
    /* [src * nwin + w]; NaN where museval gives NaN (a window in which any
     * reference or any estimate is silent), +-inf where museval divides by
     * zero or takes log10(0). */
    double *sdr, *isr, *sir, *sar;
    int used_lstsq; /* the solve fell back to least squares (singular G) */
} bss_result;

/* ref[j], est[j]: nchan * nsampl floats, planar, for source j. Estimates
 * must already have the references' length (see bss_pad_or_truncate).
 * Returns 0, or -1 with a message in err (bad sizes, a source that is
 * silent over the whole signal, out of memory). */
int bsseval_v4(const float *const *ref, const float *const *est, int nsrc, int nchan, int64_t nsampl,
               const bss_params *p, bss_result *out, char *err, size_t errlen);
void bss_result_free(bss_result *r);

/* museval's window count: floor((n - win + hop) / hop) if win < n, else 1. */
int bss_nwin(int64_t nsampl, int64_t win, int64_t hop);

/* museval.pad_or_truncate: returns a newly allocated copy of est
 * (nchan x est_len, planar) with ref_len samples: zero-padded at the end or
 * truncated. */
float *bss_pad_or_truncate(const float *est, int nchan, int64_t est_len, int64_t ref_len);

/* Median of the finite values (NaN and +-inf skipped, as museval's JSON
 * turns inf into NaN and its aggregation skips NaN); NaN if none. Sorts a copy. */
double bss_median(const double *x, int n);

/* Whole-signal scores (all channels together, double accumulation):
 * SI-SDR = 10 log10(|a s|^2 / |a s - e|^2), a = <e,s>/<s,s> (no mean removal);
 * the MDX challenge's global SDR = 10 log10((sum s^2 + 1e-7) / (sum (s-e)^2 + 1e-7)). */
double metric_si_sdr(const float *ref, const float *est, size_t n);
double metric_global_sdr(const float *ref, const float *est, size_t n);

#endif
