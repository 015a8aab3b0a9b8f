/* Per-frequency spectrogram statistics for the model's input scaling (the
 * seed's SpectrogramNormalizer). The features of a complex spectrogram
 * (channels a, bins, frames) are 2a real channels, in the order
 * (re ch0, im ch0, re ch1, im ch1, ...) = (re L, im L, re R, im R) for
 * stereo. For each feature channel and bin the mean and the population
 * standard deviation (divide by the count) over all frames of all records
 * are computed in double: each record's block in two passes, blocks merged
 * with Chan et al.'s pairwise update, so the result does not depend on
 * the record count or the signal level.
 *
 * File: formats/spec-stats.md (a one-record tensor stream). Note that the
 * imaginary parts of the DC and Nyquist bins are always 0: their std is 0,
 * and consumers must guard divisions (e.g. divide by max(std, 1e-8)). */
#ifndef TFSWA_DSP_SPECNORM_H
#define TFSWA_DSP_SPECNORM_H

#include <stddef.h>
#include <stdint.h>

#define SPECNORM_FORMAT "tfswa-spec-stats"
#define SPECNORM_VERSION 1

typedef struct {
    int channels; /* feature channels (2 per audio channel); 0 until the first add */
    int64_t bins;
    int64_t frames; /* frames accumulated (per feature channel and bin) */
    int64_t records;
    double *mean, *m2; /* channels * bins: running mean and sum of squared deviations */
} specnorm_acc;

void specnorm_acc_init(specnorm_acc *a);
void specnorm_acc_free(specnorm_acc *a);
/* Adds a complex64 (audio_channels, bins, frames) spectrogram. The first
 * call fixes the shape; a later one with other channels or bins returns -1
 * with a reason in err. */
int specnorm_acc_add(specnorm_acc *a, const float *spec, int64_t audio_channels, int64_t bins, int64_t frames,
                     char *err, size_t errlen);

typedef struct {
    int channels; /* feature channels */
    int64_t bins;
    int64_t frames, records;
    int n_fft, hop;    /* of the spectrograms (0 when unknown) */
    float *mean, *std; /* channels * bins, row-major (channel, bin) */
} specnorm_stats;

/* Statistics from an accumulator (mean; std = sqrt(m2 / frames)); n_fft
 * and hop are recorded. Returns -1 (err) when nothing was accumulated. */
int specnorm_finish(const specnorm_acc *a, int n_fft, int hop, specnorm_stats *s, char *err, size_t errlen);
/* Writes the statistics file atomically, from the accumulator (values in
 * double precision). tensor: the name of the tensor they describe. */
int specnorm_save(const char *path, const specnorm_acc *a, const char *tensor, int n_fft, int hop, char *err,
                  size_t errlen);
/* Loads a statistics file (mean and std as f32 or f64 tensors). Returns 0,
 * or -1 with "PATH: what" in err. */
int specnorm_load(const char *path, specnorm_stats *s, char *err, size_t errlen);
void specnorm_free(specnorm_stats *s);

#endif
