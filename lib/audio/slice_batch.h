/* musdb-slice's record loop: the records of a slicer written to a tensor
 * stream, in order, as many as asked, this shard's only (--shard K/N:
 * records K, K+N, K+2N, ... of the whole stream), random ones made several
 * at a time in parallel (the bytes do not depend on the number of threads:
 * a random record depends on its index alone). */
#ifndef TFSWA_AUDIO_SLICE_BATCH_H
#define TFSWA_AUDIO_SLICE_BATCH_H

#include "audio/slice.h"
#include "stream/ts.h"

typedef struct {
    long long count;       /* records of the whole stream (all shards); -1: all (sequential) or endless (random) */
    long shard_k, shard_n; /* this shard's number (from 0) and the number of shards (1: no sharding) */
    int threads;           /* random mode: records made at a time (tf_threads()); the bytes do not depend on it */
    int progress;          /* progress on stderr (sequential mode only) */
} slice_out;

/* Sets the C library's heap to keep the large record buffers that are made
 * and freed over and over, rather than map fresh zeroed pages each time. */
void slice_tune_malloc(void);

/* Writes the records of s to w as o says and closes w. Ends the program
 * with the message on a read or write error (tf_die). Returns the number
 * written. */
long long slice_write(slicer *s, ts_writer *w, const slice_out *o);

#endif
