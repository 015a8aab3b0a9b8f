/* Separation of a spectrogram of any length in overlapping chunks, blended
 * without seams; memory bounded by the chunk, not the track.
 *
 * Plan: with T frames, chunk length L and overlap O (0 <= O < L): if T <= L
 * one chunk [0, T). Otherwise n = ceil((T - O) / (L - O)) chunks of exactly L
 * frames at starts s_k = round(k (T - L) / (n - 1)), k = 0..n-1, so that
 * neighbours overlap by at least O frames and the last chunk ends at T.
 * Blending: chunk k has weight w_k(j), j in [0, L): 1, times a linear ramp
 * (j + 0.5) / R over its first R = min(O, L / 2) frames when k > 0 and
 * (L - j - 0.5) / R over its last R frames when k < n - 1. The estimate of
 * frame t is sum_k w_k(t - s_k) E_k(t) / sum_k w_k(t - s_k), where E_k is the
 * chunk's own estimate M_k * X. Where one chunk alone has weight (w = 1,
 * others 0) the result is that chunk's estimate exactly. */
#ifndef TFSWA_MODEL_SEPARATE_H
#define TFSWA_MODEL_SEPARATE_H

#include <stdint.h>

#include "model/forward.h"

/* Returns the number of chunks; fills starts (may be NULL) and *len. */
int tfswa_chunk_plan(int64_t T, int L, int O, int64_t *starts, int *len);
/* Blend weight of frame j of chunk k of n (chunk length len, ramp R). */
float tfswa_chunk_weight(int k, int n, int len, int R, int j);
static inline int tfswa_chunk_ramp(int L, int O) { return O < L / 2 ? O : L / 2; }

typedef void (*tfswa_progress_fn)(void *ctx, int done, int total);

/* Separates X (2, F, T) c64 into est[s] (2, F, T) c64 for each stem s of
 * the runner's model, in chunks of L frames overlapping by O (the runner's
 * tmax must be >= min(L, T)). progress (may be NULL) is called after each chunk. */
void tfswa_separate(tfswa_runner *r, const float *X, int64_t T, float *const *est, int L, int O,
                    tfswa_progress_fn progress, void *ctx);

#endif

#ifndef TFSWA_MODEL_SEPARATE_RECORD
#define TFSWA_MODEL_SEPARATE_RECORD
#include "stream/ts.h"

typedef struct {
    double chunk_sec, overlap_sec; /* chunk length and overlap in seconds */
    int fold_bn;                   /* fold BN into convolutions (default 1) */
    int quiet;                     /* no progress on stderr */
} tfswa_sep_opts;

/* Per-stream state: the model and a runner grown to the longest chunk seen. */
typedef struct {
    const tfswa_model *m;
    tfswa_sep_opts o;
    tfswa_runner *r;
} tfswa_separator;

void tfswa_separator_init(tfswa_separator *s, const tfswa_model *m, const tfswa_sep_opts *o);
void tfswa_separator_free(tfswa_separator *s);
/* Adds est/<stem> (c64 (2, F, T)) to rec from its `mixture`, replacing
 * earlier estimates of the same names. where: "FILE: record N" for errors.
 * Returns 0, or -1 with a message in err (bad mixture, mismatched n_fft,
 * hop or rate attributes). */
int tfswa_separate_record(tfswa_separator *s, ts_record *rec, const char *where, char *err, size_t len);
#endif
