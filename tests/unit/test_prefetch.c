/* The background record reader: order, skipping, end of stream, errors, and
 * stopping early, through a stream written to a temporary file. */
#include "check.h"
#include "stream/ts.h"
#include "train/prefetch.h"

#include <stdlib.h>
#include <string.h>

static void write_stream(const char *path, int n, int truncate)
{
    FILE *f = fopen(path, "wb");
    ts_writer *w = ts_writer_open(f, path);
    ts_record rec;
    ts_record_init(&rec);
    for (int i = 0; i < n; i++) {
        int64_t shape[2] = {2, 100 + i};
        ts_tensor *t = ts_tensor_add(&rec, "mixture", TS_F32, 2, shape);
        ((float *)t->data)[0] = (float)i;
        ts_attr_setf(&rec, "index", "%d", i);
        ts_write(w, &rec);
        ts_record_free(&rec);
    }
    if (!truncate)
        ts_writer_close(w);
    else
        ts_writer_free(w);
    fclose(f);
}

static int run(const char *path, int cap, int64_t skip, int stop_after, int *last, int64_t *count)
{
    char *paths[1] = {(char *)path};
    prefetch *p = prefetch_start(ts_reader_open(1, paths), cap, skip);
    ts_record rec;
    ts_record_init(&rec);
    int rc, n = 0;
    *last = -1;
    while ((rc = prefetch_next(p, &rec)) > 0) {
        int64_t idx;
        ts_attr_get_i64(&rec, "index", &idx);
        CHECK(idx == skip + n, "order: got %lld, want %lld", (long long)idx, (long long)(skip + n));
        CHECK(((float *)ts_tensor_get(&rec, "mixture")->data)[0] == (float)idx, "payload");
        *last = (int)idx;
        n++;
        if (n == stop_after)
            break;
    }
    if (rc < 0)
        CHECK(strstr(prefetch_error(p), "end marker") != NULL, "error names the problem: %s", prefetch_error(p));
    *count = prefetch_count(p);
    ts_record_free(&rec);
    prefetch_stop(p);
    return rc < 0 ? -1 : n;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char good[4096], bad[4096];
    snprintf(good, sizeof good, "%s/prefetch-good.ts", tmp ? tmp : "/tmp");
    snprintf(bad, sizeof bad, "%s/prefetch-bad.ts", tmp ? tmp : "/tmp");
    write_stream(good, 25, 0);
    write_stream(bad, 5, 1);
    int last;
    int64_t count;
    CHECK(run(good, 3, 0, 0, &last, &count) == 25 && last == 24 && count == 25, "all records (last %d)", last);
    CHECK(run(good, 1, 10, 0, &last, &count) == 15 && last == 24 && count == 15, "skip 10");
    CHECK(run(good, 4, 30, 0, &last, &count) == 0 && last == -1, "skip past the end");
    CHECK(run(good, 2, 0, 7, &last, &count) == 7 && last == 6 && count == 7, "stop early");
    CHECK(run(bad, 2, 0, 0, &last, &count) == -1 && last == 4, "truncated stream: records then the error");
    return check_report("test_prefetch");
}
