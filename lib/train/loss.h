/* Training losses, with their gradients.
 *
 * L1 on complex spectrograms: mean over every real component (re and im of
 * every channel, bin and frame) of |est - ref|, as
 * F.l1_loss(torch.view_as_real(est), torch.view_as_real(ref)).
 *
 * Multi-resolution STFT loss on waveforms: for each resolution r (FFT size
 * N_r, hop N_r / 4, periodic Hann, torch.stft conventions; by default
 * 2048, 1024 and 512), with magnitudes |X| = sqrt(max(re^2 + im^2, eps)),
 * eps = 1e-8 (auraloss's clamp):
 *   mag_r    = mean |  |S(est)| -     |S(ref)|  |        (linear magnitude L1)
 *   logmag_r = mean | log|S(est)| - log|S(ref)| |        (log magnitude L1)
 * and the loss is the mean over resolutions of w_mag mag_r + w_logmag logmag_r
 * (means over channels, bins and frames). The estimate's waveform comes from
 * the estimated spectrogram through istft, so the gradient flows back
 * through the inverse transform's adjoint to the spectrogram. */
#ifndef TFSWA_TRAIN_LOSS_H
#define TFSWA_TRAIN_LOSS_H

#include <stddef.h>
#include <stdint.h>

/* mean |est - ref| over n floats; grad (may be NULL) += scale * d/d est. */
double l1_loss(const float *est, const float *ref, size_t n, float *grad, double scale);
/* mean (est - ref)^2 over n floats (F.mse_loss of view_as_real: by Parseval the
 * waveform's squared error, which SDR measures, up to the STFT's frame
 * weighting); grad (may be NULL) += scale * d/d est. */
double l2_loss(const float *est, const float *ref, size_t n, float *grad, double scale);
/* The negative signal-to-distortion ratio in dB over n floats, with an energy
 * floor eps > 0 in both terms: 10 log10((sum (est - ref)^2 + eps) / (sum ref^2
 * + eps)), minimised as Demucs' and Conv-TasNet's SDR losses are, so every
 * example and stem weighs the same whatever its level (the squared error is
 * dominated by the loudest); grad (may be NULL) += scale * d/d est. */
double sdr_loss(const float *est, const float *ref, size_t n, double eps, float *grad, double scale);

#define MRSTFT_MAX_RES 8
typedef struct {
    int n_res;
    int n_fft[MRSTFT_MAX_RES], hop[MRSTFT_MAX_RES];
    double w_mag, w_logmag;
    double eps;
} mrstft_config;

/* 2048/512, 1024/256, 512/128; w_mag = w_logmag = 1; eps 1e-8. */
mrstft_config mrstft_default(void);

/* Per-thread state (plans are shared and cached; scratch is per object). */
typedef struct mrstft mrstft;
mrstft *mrstft_new(const mrstft_config *cfg, char *err, size_t errlen);
void mrstft_free(mrstft *m);

/* The loss of one channel: est and ref are len samples. grad (may be NULL)
 * += scale * d loss / d est. */
double mrstft_loss(mrstft *m, const float *est, const float *ref, int64_t len, float *grad, double scale);

/* The training loss of one stem, from spectrograms (channels, F, T) c64 in
 * the stft layout (lib/dsp/stft.h) with the model's n_fft / hop:
 *   l1_weight * l1_loss(est, ref) + l2_weight * l2_loss(est, ref) + sdr_weight * sdr_loss(est, ref,
 *   sdr_floor * mix_energy) + mrstft_weight * mean over channels of mrstft_loss(istft(est), ref_wave)
 * mix_energy: the sum of squares of the mixture's spectrogram (the SDR loss's
 * floor is sdr_floor times it; unused when sdr_weight is 0).
 * ref_wave: (channels, len) reference waveform, or NULL to use istft(ref).
 * grad_spec (may be NULL) += scale * d total / d est (same layout as est).
 * Returns the total; *l1_out and *mr_out (may be NULL) get the unweighted parts. */
typedef struct {
    int n_fft, hop;
    double l1_weight, l2_weight, mrstft_weight, sdr_weight;
    double sdr_floor; /* default (0) 1e-3: 30 dB below the mixture */
    mrstft_config mr;
} stem_loss_config;

typedef struct stem_loss_ctx stem_loss_ctx;
stem_loss_ctx *stem_loss_new(const stem_loss_config *cfg, char *err, size_t errlen);
void stem_loss_free(stem_loss_ctx *c);
double stem_loss(stem_loss_ctx *c, const float *est, const float *ref, const float *ref_wave, int channels,
                 int64_t frames, int64_t len, double mix_energy, float *grad_spec, double scale, double *l1_out,
                 double *mr_out);
/* sum of squares of n floats (a spectrogram's energy, for mix_energy) */
double energy(const float *x, size_t n);

#endif
