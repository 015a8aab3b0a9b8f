/* libFuzzer target for the tensor stream reader (lib/stream/ts.c).
 * Reads the input through fmemopen twice: whole records (ts_read) and the
 * streaming API with small pieces, skipping some tensors. Any crash, leak,
 * undefined behaviour, hang or tf_die (fuzz_shim.c aborts) is a bug.
 * Build and run: make fuzz (tests/fuzz/fuzz.mk). */
#include "stream/ts.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void whole(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return;
    ts_reader *r = ts_reader_open_file(f, "fuzz");
    ts_reader_set_max_tensor_bytes(r, 1 << 20);
    ts_record rec;
    ts_record_init(&rec);
    int rc;
    while ((rc = ts_read(r, &rec)) == 1)
        for (int i = 0; i < rec.n_tensors; i++)
            if (rec.tensors[i].nbytes != (size_t)ts_numel(&rec.tensors[i]) * ts_dtype_size(rec.tensors[i].dtype))
                abort();
    if (rc < 0 && !ts_reader_error(r)[0])
        abort(); /* an error always has a message */
    ts_record_free(&rec);
    ts_reader_close(r);
    fclose(f);
}

static void pieces(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return;
    ts_reader *r = ts_reader_open_file(f, "fuzz");
    ts_reader_set_max_tensor_bytes(r, 1 << 20);
    ts_record rec;
    ts_record_init(&rec);
    unsigned char buf[97];
    for (;;) {
        int nt;
        if (ts_read_begin(r, &rec, &nt) <= 0)
            break;
        int ok = 1;
        for (int i = 0; ok && i < nt; i++) {
            ts_tensor t;
            if (ts_read_tensor_info(r, &t) < 0) {
                ok = 0;
                break;
            }
            if (i % 3 == 2)
                continue; /* left for the reader to skip */
            size_t total = 0;
            for (;;) {
                ssize_t n = ts_read_tensor_data(r, buf, 1 + (i + total) % sizeof buf);
                if (n < 0)
                    ok = 0;
                if (n <= 0)
                    break;
                total += (size_t)n;
            }
            if (ok && total != t.nbytes)
                abort();
        }
        if (!ok || ts_read_finish(r) < 0)
            break;
    }
    ts_record_free(&rec);
    ts_reader_close(r);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    whole(data, size);
    pieces(data, size);
    return 0;
}
