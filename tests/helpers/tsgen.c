/* tsgen: writes test tensor streams to stdout.
 *   tsgen --records N --bytes B   N records, each one f32 tensor "x" of B bytes
 *                                  (B a multiple of 4), written piecewise with the
 *                                  streaming API so memory stays small at any size
 *   tsgen --endless --bytes B     records until the pipe closes (then exit 0)
 *   tsgen --mixed                 a small multi-record stream with every dtype, odd
 *                                  shapes (rank 0, zero-size dimensions), raw and zlib
 * Values are deterministic: x[j] = (float)((j % 1000) - 500) / 256 + record. */
#include "stream/ts.h"
#include "util/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void fill(ts_tensor *t, unsigned seed)
{
    unsigned char *p = t->data;
    uint32_t s = seed * 2654435761u + 12345u;
    size_t es = ts_dtype_size(t->dtype), n = t->nbytes / es;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        double v = ((double)(s >> 8) / (double)(1u << 24) - 0.5) * 200.0;
        switch (t->dtype) {
        case TS_F32: {
            float x = (float)v;
            memcpy(p + 4 * i, &x, 4);
            break;
        }
        case TS_F64: memcpy(p + 8 * i, &v, 8); break;
        case TS_C64: {
            float z[2] = {(float)v, (float)(-v / 3)};
            memcpy(p + 8 * i, z, 8);
            break;
        }
        case TS_C128: {
            double z[2] = {v, v / 7};
            memcpy(p + 16 * i, z, 16);
            break;
        }
        case TS_I16: {
            int16_t x = (int16_t)(v * 300);
            memcpy(p + 2 * i, &x, 2);
            break;
        }
        case TS_I32: {
            int32_t x = (int32_t)(v * 1e7);
            memcpy(p + 4 * i, &x, 4);
            break;
        }
        case TS_I64: {
            int64_t x = (int64_t)(v * 1e15);
            memcpy(p + 8 * i, &x, 8);
            break;
        }
        default: p[i] = (unsigned char)(s >> 24); break;
        }
    }
}

static void mixed(ts_writer *w)
{
    static const int64_t shapes[][4] = {{0}, {7}, {3, 5}, {2, 0, 3}, {1, 1, 1, 1}, {4, 3}, {5}, {2, 3}};
    static const int ranks[] = {0, 1, 2, 3, 4, 2, 1, 2};
    for (int r = 0; r < 3; r++) {
        ts_record rec;
        ts_record_init(&rec);
        ts_attr_setf(&rec, "index", "%d", r);
        ts_attr_set(&rec, "track", r == 1 ? "Tab\there \"quoted\" \\ caf\xc3\xa9" : "plain");
        if (r == 2)
            ts_attr_set(&rec, "empty", "");
        for (int d = TS_F32; d <= TS_U8; d++) {
            int k = (d + r) % 8;
            char name[64];
            snprintf(name, sizeof name, "%s%s", r == 1 ? "est/" : "", ts_dtype_name((ts_dtype)d));
            ts_tensor *t = ts_tensor_add(&rec, name, (ts_dtype)d, ranks[k], shapes[k]);
            fill(t, (unsigned)(r * 10 + d));
            t->compress = (d + r) % 2 ? TS_ZLIB : TS_RAW;
        }
        ts_write_or_die(w, &rec);
        ts_record_free(&rec);
    }
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    static const struct option opts[] = {{"records", required_argument, 0, 'n'},
                                         {"bytes", required_argument, 0, 'b'},
                                         {"endless", no_argument, 0, 'e'},
                                         {"mixed", no_argument, 0, 'm'},
                                         {0, 0, 0, 0}};
    long records = 1;
    uint64_t bytes = 4096;
    int endless = 0, mix = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': records = tf_parse_long("--records", optarg, 0, 1000000000); break;
        case 'b': bytes = tf_parse_u64("--bytes", optarg); break;
        case 'e': endless = 1; break;
        case 'm': mix = 1; break;
        default: tf_getopt_error();
        }
    }
    if (bytes % 4)
        tf_usage_error("--bytes must be a multiple of 4");
    static ts_writer *w;
    w = ts_open_stdout_or_die();
    if (mix) {
        mixed(w);
        ts_writer_close_or_die(w);
        return 0;
    }
    const size_t CH = 1 << 16;
    static float *buf; /* static: reachable when a closed pipe ends the program */
    buf = tf_malloc(CH * sizeof *buf, "buffer");
    for (long r = 0; endless || r < records; r++) {
        static ts_record rec;
        ts_record_init(&rec);
        ts_attr_setf(&rec, "index", "%ld", r);
        ts_tensor t = {.name = "x", .dtype = TS_F32, .rank = 1, .shape = {(int64_t)(bytes / 4)}};
        if (ts_write_begin(w, &rec, 1) < 0 || ts_write_tensor_info(w, &t) < 0)
            goto fail;
        uint64_t left = bytes / 4, j = 0;
        while (left) {
            size_t n = left < CH ? (size_t)left : CH;
            for (size_t i = 0; i < n; i++, j++)
                buf[i] = (float)((int)(j % 1000) - 500) / 256.0f + (float)r;
            if (ts_write_tensor_data(w, buf, n * sizeof *buf) < 0)
                goto fail;
            left -= n;
        }
        if (ts_write_finish(w) < 0)
            goto fail;
        ts_record_free(&rec);
        continue;
    fail:
        ts_record_free(&rec);
        ts_writer_die(w);
    }
    free(buf);
    ts_writer_close_or_die(w);
    return 0;
}
