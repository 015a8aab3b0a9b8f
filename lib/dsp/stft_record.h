/* Whole records of the tensor stream through the STFT (the work of the
 * stft and istft tools, kept out of tools/ so it can be tested and reused).
 *
 * Record conventions (DESIGN.md, man/stft.1):
 *   waveform     f32 (channels, samples)
 *   spectrogram  c64 (channels, n_fft/2 + 1, 1 + samples / hop)
 *   attributes   n_fft, hop, window=hann, center=reflect (added by the
 *                forward pass); length = the samples of the waveforms (set
 *                from the first converted tensor when absent); for a tensor
 *                whose length differs from `length`, length/<name> = its own.
 * The inverse takes a tensor's length from length/<name> (for est/<stem>
 * also length/<stem>, then length/mixture: an estimate has the frames of
 * the mixture it came from), else `length`, else hop * (frames - 1)
 * (torch.istft's default), and checks it against the frame count.
 *
 * Work is spread over OpenMP threads (tf_threads) by (tensor, channel,
 * range of frames or samples), so one mono tensor keeps every thread busy;
 * the output bits do not depend on the thread count. Each thread keeps its
 * own stft_scratch; plans come from stft_plan_get. */
#ifndef TFSWA_DSP_STFT_RECORD_H
#define TFSWA_DSP_STFT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/specmask.h"
#include "stream/ts.h"
#include "util/rng.h"

typedef struct stft_engine stft_engine;

stft_engine *stft_engine_new(void);
void stft_engine_free(stft_engine *e);

typedef struct {
    int n_fft, hop;
    char **only; /* convert only these tensor names (NULL: every waveform) */
    int n_only;
    specmask_opts mask; /* masking augmentation; freq_masks = time_masks = 0: none */
    int mask_each;      /* 0: one draw per record, shared by all converted tensors
                           (keeps mixture = sum of targets); 1: a draw per tensor */
} stft_fwd_opts;

/* Converts the waveforms of rec in place. rng: the record's own generator
 * for the masks (may be NULL when masking is off). Returns the number of
 * tensors converted, or -1 with "tensor 'NAME': what" (or "attribute ...")
 * in err. masked_cells (may be NULL) receives the (bin, frame) cells masked
 * per channel, summed over tensors. */
int stft_record_forward(stft_engine *e, ts_record *rec, const stft_fwd_opts *o, tf_rng *rng, int64_t *masked_cells,
                        char *err, size_t errlen);

/* 1 when t is a spectrogram for n_fft (c64, rank 3, bins = n_fft/2 + 1). */
int stft_is_spectrogram(const ts_tensor *t, int n_fft);
/* 1 when t is a waveform (f32, rank 2). */
int stft_is_waveform(const ts_tensor *t);

/* Converts the spectrograms of rec (all, or those in only[]) back to
 * waveforms. Returns the number converted (0 when the record has no
 * n_fft/hop attributes and no c64 rank-3 tensor), or -1 with a message in
 * err: missing or malformed attributes, a window other than hann, a
 * length that does not fit the frames, or parameters whose window-sum-
 * square falls below STFT_MIN_ENVELOPE (no stable inverse). */
int stft_record_inverse(stft_engine *e, ts_record *rec, char **only, int n_only, char *err, size_t errlen);

#endif
