#include "audio/slice_batch.h"
#include "util/cli.h"
#include "util/progress.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>

void slice_tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

/* This shard's number of records, for the progress (0: unknown, endless). */
static double progress_total(const slicer *s, const slice_out *o)
{
    double total = 0;
    if (!s->c.random)
        for (int i = 0; i < s->c.db->n; i++)
            total += (double)slicer_track_segments(s, i);
    if (o->count >= 0 && (s->c.random || o->count < total))
        total = (double)o->count;
    return floor((total + (double)(o->shard_n - 1 - o->shard_k)) / (double)o->shard_n);
}

/* This shard's records among the first count of the stream; -1 when count is. */
static long long shard_count(const slice_out *o)
{
    if (o->count < 0)
        return -1;
    return o->count > o->shard_k ? (o->count - o->shard_k + o->shard_n - 1) / o->shard_n : 0;
}

/* Random records `made`, `made`+1, ... of this shard up to mine (-1:
 * endless), made a batch at a time in parallel and written in order;
 * returns the number made in all. */
static long long write_parallel(slicer *s, ts_writer *w, const slice_out *o, long long mine, long long made)
{
    int nt = o->threads, nb = 2 * nt;
    ts_record *batch = tf_calloc((size_t)nb, sizeof *batch, "records");
    char(*errs)[2048] = tf_calloc((size_t)nb, sizeof *errs, "messages");
    int *rcs = tf_calloc((size_t)nb, sizeof *rcs, "statuses");
    for (int j = 0; j < nb; j++)
        ts_record_init(&batch[j]);
    while (mine < 0 || made < mine) {
        int m = mine < 0 || mine - made > nb ? nb : (int)(mine - made);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (int j = 0; j < m; j++)
            rcs[j] = slicer_random_at(s, (uint64_t)o->shard_k + (uint64_t)(made + j) * (uint64_t)o->shard_n, &batch[j],
                                      errs[j], sizeof errs[j]);
        for (int j = 0; j < m; j++) {
            if (rcs[j] != 1)
                tf_die("%s", errs[j]);
            ts_write_or_die(w, &batch[j]);
            ts_record_free(&batch[j]);
        }
        made += m;
    }
    free(batch);
    free(errs);
    free(rcs);
    return made;
}

/* The records of this shard one at a time, from the `made`-th up to mine
 * (-1: to the end of a sequential pass, or endless); returns the number
 * made in all. */
static long long write_serial(slicer *s, ts_writer *w, const slice_out *o, long long mine, long long made,
                              tf_progress *prog)
{
    char err[2048];
    ts_record rec;
    ts_record_init(&rec);
    while (mine < 0 || made < mine) {
        int rc;
        if (s->c.random) {
            rc = slicer_random_at(s, (uint64_t)o->shard_k + (uint64_t)made * (uint64_t)o->shard_n, &rec, err,
                                  sizeof err);
        } else {
            /* the records of the other shards are passed over unread */
            rc = 1;
            while (rc == 1 && s->index % (uint64_t)o->shard_n != (uint64_t)o->shard_k)
                rc = slicer_skip(s);
            if (rc == 1)
                rc = slicer_next(s, &rec, err, sizeof err);
        }
        if (rc < 0)
            tf_die("%s", err);
        if (rc == 0)
            break;
        ts_write_or_die(w, &rec);
        made++;
        tf_progress_update(prog, (double)made, ts_attr_get(&rec, "track"));
    }
    ts_record_free(&rec);
    return made;
}

long long slice_write(slicer *s, ts_writer *w, const slice_out *o)
{
    long long mine = shard_count(o), made = 0;
    tf_progress prog;
    tf_progress_init(&prog, "musdb-slice", progress_total(s, o), "records", o->progress && !s->c.random);
    if (s->c.random && o->threads > 1)
        made = write_parallel(s, w, o, mine, made);
    made = write_serial(s, w, o, mine, made, &prog);
    ts_writer_close_or_die(w);
    tf_progress_done(&prog, (double)made, NULL);
    return made;
}
