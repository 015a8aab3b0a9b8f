/* Records of musdb-slice: sequential segments (or whole tracks) and random
 * segments, with augmentation, as tensor-stream records.
 *
 * A record holds `mixture` and the requested stems, f32 (2, frames) at
 * 44.1 kHz, and the attributes track, split, rate, offset, length,
 * segment, seed, mixture (file|sum), plus aug_* for every augmentation
 * applied (so a record says how it was made).
 *
 * Randomness: record i draws from tf_rng_fork(seed, i) only, split further
 * into a stream for choosing track and offset and one for augmentation, so
 * the same seed gives the same bytes, and turning an augmentation on does
 * not change which segments are picked. */
#ifndef TFSWA_AUDIO_SLICE_H
#define TFSWA_AUDIO_SLICE_H

#include "audio/augment.h"
#include "audio/musdb.h"
#include "stream/ts.h"
#include "util/rng.h"

enum { SLICE_MIX_AUTO = 0, SLICE_MIX_FILE, SLICE_MIX_SUM };

typedef struct {
    musdb_db *db;
    musdb_stems stems; /* outputs besides the mixture (ignored for plain files) */
    int64_t segment;   /* frames per record; 0: whole tracks */
    int64_t hop;       /* sequential mode: frames between segment starts (segment - overlap) */
    int pad;           /* sequential mode: zero-pad the last segment to `segment` frames */
    int random;        /* random track and offset per record */
    int mixture;       /* SLICE_MIX_*: auto = file when sequential, sum when random */
    augment_cfg aug;
    uint64_t seed;
    int skip_bad; /* a track whose read fails is dropped with a warning */
    void (*warn)(const char *msg);
} slice_cfg;

typedef struct {
    slice_cfg c;
    tf_rng base;
    uint64_t index; /* records made so far */
    int track;      /* sequential: current track */
    int64_t seg;    /* sequential: segment index within it */
    int n_good;     /* tracks not marked bad */
} slicer;

void slicer_init(slicer *s, const slice_cfg *c);
/* Number of records sequential mode makes for track t (1 for whole tracks). */
int64_t slicer_track_segments(const slicer *s, int t);
/* Makes the next record into rec (freed first). Returns 1, 0 when a
 * sequential pass is over, -1 with err on a read error. */
int slicer_next(slicer *s, ts_record *rec, char *err, size_t errlen);
/* Passes over the record slicer_next would make next, without reading any
 * audio (musdb-slice --shard). Returns 1, 0 when a sequential pass is over. */
int slicer_skip(slicer *s);
/* Random mode: record number index (the same record slicer_next makes as
 * its index-th), independent of every other; safe to call from several
 * threads at once on one slicer (tracks dropped by skip_bad aside, where
 * the choice among the remaining tracks depends on timing). */
int slicer_random_at(slicer *s, uint64_t index, ts_record *rec, char *err, size_t errlen);

#endif
