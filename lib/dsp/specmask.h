/* Spectrogram masking augmentation (SpecAugment's frequency and time
 * masking, as torchaudio's FrequencyMasking / TimeMasking): zero a few bands
 * of frequency bins and spans of frames in every channel.
 *
 * Drawing, per record, from a tf_rng (reproducible from a seed): with
 * probability prob the record is masked at all; then each of freq_masks
 * bands gets a width uniform in [0, freq_width] (integers) and a start
 * uniform in [0, bins - width]; likewise time_masks spans with time_width
 * over the frames. Masks may overlap. Widths larger than the axis are
 * clamped to it. */
#ifndef TFSWA_DSP_SPECMASK_H
#define TFSWA_DSP_SPECMASK_H

#include <stdint.h>

#include "util/rng.h"

#define SPECMASK_MAX 64 /* masks of each kind */

typedef struct {
    int freq_masks, freq_width; /* count, widest band in bins */
    int time_masks, time_width; /* count, widest span in frames */
    double prob;                /* probability that a record is masked */
} specmask_opts;

typedef struct {
    int n_freq, n_time;
    int64_t f0[SPECMASK_MAX], f1[SPECMASK_MAX]; /* bins [f0, f1) */
    int64_t t0[SPECMASK_MAX], t1[SPECMASK_MAX]; /* frames [t0, t1) */
} specmask;

/* Draws the masks of one record for a (bins, frames) spectrogram. Always
 * consumes the same random numbers for the same opts, bins and frames. */
void specmask_draw(tf_rng *r, const specmask_opts *o, int64_t bins, int64_t frames, specmask *m);
/* Zeroes the masked cells of a complex64 (channels, bins, frames) tensor
 * (interleaved re, im). Bands and spans beyond its size are clipped. */
void specmask_apply(const specmask *m, float *spec, int64_t channels, int64_t bins, int64_t frames);
/* Number of (bin, frame) cells the masks cover in a (bins, frames) grid. */
int64_t specmask_cells(const specmask *m, int64_t bins, int64_t frames);

#endif
