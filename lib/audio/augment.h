/* Waveform augmentation for training data (musdb-slice): per-stem gain,
 * channel swap, time stretch and pitch shift (librubberband), mixup.
 * The parameters are drawn by the caller from util/rng.h so a seed fixes
 * every byte; these functions only transform. Audio is planar stereo
 * (2, frames) as everywhere in tfswa. */
#ifndef TFSWA_AUDIO_AUGMENT_H
#define TFSWA_AUDIO_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

/* Options, with musdb-slice's defaults in the comments. A probability of 0
 * turns an augmentation off (the default for all). */
typedef struct {
    double gain_prob, gain_lo, gain_hi;          /* per stem; 0.7, 1.3 */
    double swap_prob;                            /* per stem: left <-> right */
    double remix_prob;                           /* per record: each stem from its own random track */
    double stretch_prob, stretch_lo, stretch_hi; /* per record: tempo factor; 0.9, 1.1 */
    double pitch_prob, pitch_max;                /* per record: uniform in [-max, max] semitones; 2 */
    double mixup_prob, mixup_alpha;              /* per record: lambda ~ Beta(alpha, alpha); 0.4 */
} augment_cfg;

void augment_cfg_default(augment_cfg *c);
int augment_any(const augment_cfg *c); /* any probability > 0 */

/* x *= g over n samples. */
void augment_gain(float *x, int64_t n, float g);
/* Swaps the two channels of planar stereo x (2, frames). */
void augment_swap(float *x, int64_t frames);

/* Source frames needed so that time stretching by tempo (> 1: faster,
 * the librosa/torchaudio "rate" convention) yields out_frames frames:
 * ceil(out_frames * tempo). */
int64_t augment_stretch_source_frames(int64_t out_frames, double tempo);

/* Time stretch by tempo and pitch shift by semitones, together, with
 * librubberband (offline mode, one stretcher for all channels so every
 * channel gets the same time map: the stems of a record stay aligned and
 * their sum stays the mixture). in[c] holds in_frames frames for each of
 * nch channels; out[c] receives exactly out_frames frames: the first
 * out_frames of the stretched signal (zero-padded should rubberband give
 * fewer). The output starts aligned with the input (rubberband's offline
 * mode compensates its own latency). Returns 0, or -1 with err. */
int augment_stretch_pitch(const float *const *in, int nch, int64_t in_frames, double tempo, double semitones,
                          float *const *out, int64_t out_frames, char *err, size_t errlen);

/* dst = lambda * a + (1 - lambda) * b over n samples. */
void augment_mix(float *dst, const float *a, const float *b, int64_t n, float lambda);

#endif
