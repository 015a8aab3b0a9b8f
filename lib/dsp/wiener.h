/* Multichannel Wiener filtering of source estimates: the expectation-
 * maximisation of norbert (sigsep), as Open-Unmix runs it after its masks
 * (openunmix.filtering.wiener / expectation_maximization, the torch
 * version that `umx` uses).
 *
 * Model: each source j is a zero-mean complex Gaussian with, per bin f and
 * frame t, covariance v_j(f,t) R_j(f): a power spectral density v_j times a
 * (channels x channels) spatial covariance matrix R_j. Starting from the
 * estimates y_j (the masked spectrograms a separator gives), each iteration
 *
 *     v_j(f,t) = mean over channels of |y_j(c,f,t)|^2
 *     R_j(f)   = sum_t y_j(f,t) y_j(f,t)^H / (eps + sum_t v_j(f,t))
 *     C_x(f,t) = sqrt(eps) I + sum_k v_k(f,t) R_k(f)
 *     y_j(f,t) = v_j(f,t) R_j(f) C_x(f,t)^-1 x(f,t)
 *
 * (x the mixture, y_j(f,t) and x(f,t) channel vectors). Before the first
 * iteration x and every y_j are divided by max(1, max|x| / scale) and the
 * results multiplied back (Open-Unmix's scale_factor, 10), which only
 * changes where eps matters. Open-Unmix runs the whole filter on windows of
 * wiener_win_len = 300 frames independently (R_j and the scale from the
 * window only); `block` does the same (0: the whole record).
 * Everything is per frequency bin, so bins run in parallel (OpenMP) with
 * per-thread scratch of nstems x channels x block complex doubles; the
 * result does not depend on the thread count. Computed in double precision.
 * Channels: 1 or 2 (Open-Unmix's torch version supports no more). */
#ifndef TFSWA_DSP_WIENER_H
#define TFSWA_DSP_WIENER_H

#include <stddef.h>
#include <stdint.h>

#define WIENER_MAX_STEMS 64
#define WIENER_MAX_CHANNELS 2

typedef struct {
    int iterations; /* EM iterations; 0 leaves the estimates unchanged (Open-Unmix's default niter: 1) */
    int64_t block;  /* frames per independent window (Open-Unmix: 300); 0 = all frames */
    double eps;     /* Open-Unmix's 1e-10; norbert's numpy default is float32's epsilon, 2^-23 */
    double scale;   /* Open-Unmix's scale_factor, 10 */
} wiener_params;

void wiener_params_default(wiener_params *p);

/* Refines est[0..nstems) in place over frames [t0, t1) as one window.
 * mix and every est[j]: complex spectrograms (channels, bins, frames) as
 * interleaved (re, im) float32, `frames` frames in all. Inputs must be finite
 * (callers check: wiener_check_finite). Returns 0, or -1 with a message in
 * err (bad channel count or stem count, out of memory). */
int wiener_window(const float *mix, float *const *est, int nstems, int channels, int64_t bins, int64_t frames,
                  int64_t t0, int64_t t1, const wiener_params *p, char *err, size_t errlen);

/* The whole record, window after window (p->block frames each). */
int wiener_filter(const float *mix, float *const *est, int nstems, int channels, int64_t bins, int64_t frames,
                  const wiener_params *p, char *err, size_t errlen);

/* Index of the first non-finite float among n floats, or -1. */
int64_t wiener_first_nonfinite(const float *x, int64_t n);

#endif
