/* Short-time Fourier transform, its inverse, and the adjoints of both, on
 * KissFFT (kiss_fftr, float). The numbers are those of PyTorch:
 *
 *   torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft, periodic=True),
 *              center=True, pad_mode="reflect", normalized=False,
 *              onesided=True, return_complex=True)
 *   torch.istft(X, n_fft, hop, window=<same>, center=True, length=len)
 *
 * Definitions (N = n_fft, even; h = hop; L = signal length; F = N/2 + 1
 * bins; T = 1 + floor(L / h) frames; w[n] = 0.5 - 0.5 cos(2 pi n / N), the
 * periodic Hann window):
 *
 *   padding   xp[i] = x[r(i - N/2)] for i in [0, (T-1) h + N), where r(j)
 *             reflects without repeating the edge sample: r(j) = -j for
 *             j < 0, r(j) = 2(L-1) - j for j >= L, j otherwise. When the
 *             reflected index still lies outside [0, L) (only possible when
 *             L <= N/2, a case torch refuses) xp[i] = 0. For L > N/2 this is
 *             exactly torch's reflect padding.
 *   forward   X[k, t] = sum_{n=0}^{N-1} w[n] xp[t h + n] exp(-2 pi i k n / N),
 *             k in [0, F), t in [0, T). Unnormalised.
 *   inverse   y_t[n] = irfft(X[., t])[n] = (1/N) (Re X[0,t] + Re X[N/2,t] (-1)^n
 *                      + 2 Re sum_{k=1}^{N/2-1} X[k,t] exp(2 pi i k n / N))
 *             (the imaginary parts of the DC and Nyquist bins are ignored, as
 *             by every C2R transform), then overlap-add
 *             s[i] = sum_t w[i - t h] y_t[i - t h], the window-sum-square
 *             envelope e[i] = sum_t w[i - t h]^2, and
 *             y[j] = s[j + N/2] / e[j + N/2] for j in [0, L).
 *             Where 0 < e <= 1e-11 (torch's NOLA threshold; only at the very
 *             last samples, with hop near N/2 and large N) y[j] = s[j + N/2]
 *             undivided, as librosa does, instead of torch's refusal.
 *             The inverse needs e > 0 on [N/2, N/2 + L).
 *             inverse(forward(x)) = x for every L >= 0 (the padding,
 *             whatever it holds, never reaches the output).
 *
 * Conditioning: the interior envelope (stft_plan_invertible) is >= 0.375 for
 * every hop <= N/2, and the round trip is within 1e-6 of the peak wherever
 * e >= 0.25 (tests/unit/test_stft.c). With hop > N/4, though, the last
 * (L mod hop) samples may be covered only by the falling tail of the last
 * window (offsets >= N - hop in it), where e = w[offset]^2 drops towards
 * w[N-2]^2 (9e-11 for N = 2048): float rounding in the spectrogram is
 * amplified by 1/sqrt(e) there. This is a property of the convention
 * (torch.istft loses 4e-3 of full scale at 2048/1024, L = 5119, too), not of
 * this code; hop <= N/4 (the default 2048/512) never has it.
 *
 * Layout: a spectrogram of one channel is F * T complex64 values,
 * interleaved (re, im), bin-major: element (k, t) is at
 * spec[2 * (k * T + t)] (re) and spec[2 * (k * T + t) + 1] (im). A stream
 * tensor (channels, bins, frames) is C such blocks one after the other.
 *
 * Adjoints, for gradients. Both transforms are real-linear maps between
 * real vector spaces: R^L and C^{F x T} seen as R^{2 F T} with the inner
 * product <X, Y> = sum_{k,t} (Re X Re Y + Im X Im Y). The adjoint A^T of a
 * map A is defined by <A x, Y> = <x, A^T Y> for all x, Y; the gradient of a
 * loss l(A x) with respect to x is A^T (dl/dRe X + i dl/dIm X).
 *
 *   forward adjoint   (A^T G)[j] = sum over (t, n) with r(t h + n - N/2) = j of
 *                       w[n] (Re G[0,t] + Re G[N/2,t] (-1)^n
 *                             + Re sum_{k=1}^{N/2-1} G[k,t] exp(2 pi i k n / N))
 *                     (each bin counted once: no factor 2, and no 1/N).
 *   inverse adjoint   (B^T g)[k, t] = c_k / N * sum_n exp(-2 pi i k n / N)
 *                       w[n] u[t h + n],  u[i] = g[i - N/2] / e[i] for
 *                       i - N/2 in [0, L) (undivided where e <= 1e-11, as
 *                       the inverse), else 0;  c_0 = c_{N/2} = 1,
 *                       c_k = 2 otherwise; Im of bins 0 and N/2 is 0.
 *
 * Both adjoints are checked against the identity <A x, Y> = <x, A^T Y> and
 * against torch.autograd's gradients (tests/unit/test_stft.c).
 *
 * Both adjoint functions ADD their result into the output buffer (so the
 * gradients of several losses accumulate without temporaries); clear it
 * first for a plain product.
 *
 * Threads: a plan is immutable after stft_plan_new and may be shared by any
 * number of threads; each thread uses its own stft_scratch (KissFFT's
 * configurations hold work buffers, so they live in the scratch). A scratch
 * grows to the longest signal it has seen and never allocates per frame. */
#ifndef TFSWA_DSP_STFT_H
#define TFSWA_DSP_STFT_H

#include <stddef.h>
#include <stdint.h>

#define STFT_MAX_NFFT (1 << 20)
/* The smallest interior window-sum-square envelope with which the istft tool
 * accepts parameters (the window's peak is 1): below it rounding errors grow
 * by more than 1000x everywhere in the signal. */
#define STFT_MIN_ENVELOPE 1e-3

typedef struct stft_plan stft_plan;
typedef struct stft_scratch stft_scratch;

/* A plan for n_fft (even, 2..STFT_MAX_NFFT) and hop (1..n_fft) with the
 * periodic Hann window. Returns NULL with a reason in err when the
 * parameters are invalid. */
stft_plan *stft_plan_new(int n_fft, int hop, char *err, size_t errlen);
void stft_plan_free(stft_plan *p);
int stft_plan_nfft(const stft_plan *p);
int stft_plan_hop(const stft_plan *p);
int stft_plan_bins(const stft_plan *p);            /* n_fft / 2 + 1 */
const float *stft_plan_window(const stft_plan *p); /* n_fft values */

/* A process-wide cache of plans keyed by (n_fft, hop): returns the same
 * plan for the same parameters (thread-safe; plans live until
 * stft_plan_cache_clear). NULL + err for invalid parameters. */
const stft_plan *stft_plan_get(int n_fft, int hop, char *err, size_t errlen);
void stft_plan_cache_clear(void);

static inline int64_t stft_frames(int64_t len, int hop) { return 1 + len / hop; }

/* The smallest lengths L whose spectrogram has `frames` frames are
 * [hop (frames - 1), hop frames - 1]: returns 1 when len fits. */
static inline int stft_length_fits(int64_t len, int64_t frames, int hop)
{
    return len >= 0 && frames >= 1 && stft_frames(len, hop) == frames;
}

stft_scratch *stft_scratch_new(const stft_plan *p);
void stft_scratch_free(stft_scratch *s);

/* min over j in [0, len) of the envelope e[j + N/2] (see above; 0 where no
 * frame covers a sample). Rounding errors of the inverse at a sample grow
 * like 1 / sqrt(e) there. */
double stft_min_envelope(const stft_plan *p, stft_scratch *s, int64_t len);
/* The parameter-level test: 1 when the interior envelope (away from both
 * ends, sum over all integers m of w[n + m hop]^2) stays >= STFT_MIN_ENVELOPE,
 * else 0; its minimum goes to *min_env (may be NULL). Hann: 1 for every
 * hop <= n_fft / 2. */
int stft_plan_invertible(const stft_plan *p, double *min_env);

/* x: len samples (len >= 0). spec: F * stft_frames(len, hop) complex
 * values in the layout above (overwritten). */
void stft_forward(const stft_plan *p, stft_scratch *s, const float *x, int64_t len, float *spec);

/* Frames [f0, f1) only (clipped to [0, frames)), into the same places of
 * the full spec: several threads may fill disjoint frame ranges of one
 * spectrogram, each with its own scratch; the bits do not depend on the
 * split. */
void stft_forward_frames(const stft_plan *p, stft_scratch *s, const float *x, int64_t len, float *spec, int64_t f0,
                         int64_t f1);

/* spec: F * frames complex values; y: len samples, where
 * stft_length_fits(len, frames, hop). Returns 0, or -1 (y untouched) when
 * len does not fit frames or no window covers some output sample (e = 0). */
int stft_inverse(const stft_plan *p, stft_scratch *s, const float *spec, int64_t frames, float *y, int64_t len);

/* Output samples [j0, j1) only (clipped to [0, len)) into y[j0..j1), from
 * the frames that reach them: threads may fill disjoint ranges of one
 * output, and the bits do not depend on the split (each sample sums its
 * frames in the same order). Returns -1 as stft_inverse (y[j0..j1) may
 * then be partly written). */
int stft_inverse_samples(const stft_plan *p, stft_scratch *s, const float *spec, int64_t frames, float *y, int64_t len,
                         int64_t j0, int64_t j1);

/* gx[0..len) += A^T gspec, gspec: F * stft_frames(len, hop) complex values. */
void stft_forward_adjoint(const stft_plan *p, stft_scratch *s, const float *gspec, int64_t len, float *gx);

/* gspec (F * frames complex) += B^T gy, gy: len samples. Same conditions
 * and return value as stft_inverse. */
int stft_inverse_adjoint(const stft_plan *p, stft_scratch *s, const float *gy, int64_t len, float *gspec,
                         int64_t frames);

#endif
