/* Reads records on a background thread while the trainer computes, so the
 * next batch is assembled during the current step. A bounded queue keeps
 * memory at a few batches. Errors of the reader are reported by the call
 * that would have returned the failed record. */
#ifndef TFSWA_TRAIN_PREFETCH_H
#define TFSWA_TRAIN_PREFETCH_H

#include "stream/ts.h"

typedef struct prefetch prefetch;

/* Starts reading r (which the prefetcher owns from now on, and closes)
 * after skipping the first `skip` records (resuming a run: those examples
 * were consumed before). capacity: records held ahead (>= 1). */
prefetch *prefetch_start(ts_reader *r, int capacity, int64_t skip);
/* Next record into rec (freed first). Returns 1, 0 at the end of the
 * stream, -1 on error (message in prefetch_error). */
int prefetch_next(prefetch *p, ts_record *rec);
const char *prefetch_error(const prefetch *p);
/* Records handed out so far (excluding the skipped ones). */
int64_t prefetch_count(const prefetch *p);
/* Stops the thread and frees everything (records not handed out are dropped). */
void prefetch_stop(prefetch *p);

#endif
