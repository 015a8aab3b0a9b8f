/* Tensor stream: round trips of every dtype and odd shape (raw and zlib,
 * whole-record and streaming API with random piece sizes), concatenated
 * streams and files, and every kind of damage, each with the message that
 * names where it happened. */
#include "check.h"
#include "stream/ts.h"
#include "util/rng.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static uint64_t g_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    g_state ^= g_state << 13;
    g_state ^= g_state >> 7;
    g_state ^= g_state << 17;
    return g_state;
}

static void fill_random(ts_tensor *t, int compressible)
{
    unsigned char *p = t->data;
    for (size_t i = 0; i < t->nbytes; i++)
        p[i] = compressible ? (unsigned char)((i / 7) % 5) : (unsigned char)rnd();
}

/* A record with every dtype in odd shapes. */
static void make_record(ts_record *rec, int seed)
{
    static const int64_t shapes[][3] = {{0, 0, 0}, {1, 0, 0}, {3, 0, 0}, {0, 5, 0},
                                        {2, 3, 5}, {7, 1, 0}, {1, 1, 1}, {129, 0, 0}};
    static const int ranks[] = {0, 1, 1, 2, 3, 2, 3, 1};
    ts_record_init(rec);
    uint64_t saved = g_state;
    g_state = 0x9e3779b97f4a7c15ull * (uint64_t)(seed + 1);
    ts_attr_setf(rec, "index", "%d", seed);
    ts_attr_set(rec, "track", "A \"quoted\" name\twith tab, caf\xc3\xa9 and \xff");
    ts_attr_set(rec, "empty", "");
    for (int d = TS_F32; d <= TS_U8; d++) {
        int k = (d + seed) % 8;
        char name[64];
        snprintf(name, sizeof name, "g%d/%s", seed % 2, ts_dtype_name((ts_dtype)d));
        ts_tensor *t = ts_tensor_add(rec, name, (ts_dtype)d, ranks[k], shapes[k]);
        fill_random(t, d % 2);
        t->compress = (d + seed) % 2 ? TS_ZLIB : TS_RAW;
    }
    g_state = saved;
}

static int records_equal(const ts_record *a, const ts_record *b, int check_comp)
{
    if (a->n_attrs != b->n_attrs || a->n_tensors != b->n_tensors)
        return 0;
    for (int i = 0; i < a->n_attrs; i++) {
        const char *v = ts_attr_get(b, a->attrs[i].key);
        if (!v || strcmp(v, a->attrs[i].value))
            return 0;
    }
    for (int i = 0; i < a->n_tensors; i++) {
        const ts_tensor *x = &a->tensors[i], *y = &b->tensors[i];
        if (strcmp(x->name, y->name) || x->dtype != y->dtype || x->rank != y->rank || x->nbytes != y->nbytes)
            return 0;
        if (check_comp && x->compress != y->compress && x->nbytes)
            return 0;
        for (int k = 0; k < x->rank; k++)
            if (x->shape[k] != y->shape[k])
                return 0;
        if (x->nbytes && memcmp(x->data, y->data, x->nbytes))
            return 0;
    }
    return 1;
}

typedef struct {
    char *buf;
    size_t len;
} mem;

static mem write_records(int n, int first_seed, int compress_mode)
{
    mem m = {0, 0};
    FILE *f = open_memstream(&m.buf, &m.len);
    ts_writer *w = ts_writer_open(f, "mem");
    ts_writer_set_compress(w, compress_mode);
    for (int i = 0; i < n; i++) {
        ts_record rec;
        make_record(&rec, first_seed + i);
        CHECK(ts_write(w, &rec) == 0, "write: %s", ts_writer_error(w));
        ts_record_free(&rec);
    }
    CHECK(ts_writer_close(w) == 0, "close");
    fclose(f);
    return m;
}

/* Reads all records of buf; returns count, or -1 with the error in err. */
static int read_all(const char *buf, size_t len, char *err, size_t errlen, int check_seed0)
{
    FILE *f = fmemopen((void *)buf, len, "rb");
    ts_reader *r = ts_reader_open_file(f, "mem");
    ts_record rec;
    ts_record_init(&rec);
    int n = 0, rc;
    while ((rc = ts_read(r, &rec)) == 1) {
        if (check_seed0 >= 0) {
            ts_record want;
            make_record(&want, check_seed0 + n);
            CHECK(records_equal(&want, &rec, 0), "record %d differs", n);
            ts_record_free(&want);
        }
        n++;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s", ts_reader_error(r));
        n = -1;
    }
    CHECK(ts_read(r, &rec) == (rc < 0 ? -1 : 0), "reader stays finished");
    ts_record_free(&rec);
    ts_reader_close(r);
    fclose(f);
    return n;
}

static void expect_error(const char *buf, size_t len, const char *want, const char *what)
{
    char err[1024] = "";
    int n = read_all(buf, len, err, sizeof err, -1);
    CHECK(n < 0 && strstr(err, want), "%s: expected an error containing \"%s\", got %d records, \"%s\"", what, want, n,
          err);
}

static void test_roundtrip(void)
{
    for (int mode = -1; mode <= 1; mode++) {
        mem m = write_records(4, 0, mode);
        char err[1024] = "";
        CHECK(read_all(m.buf, m.len, err, sizeof err, 0) == 4, "mode %d: %s", mode, err);
        free(m.buf);
    }
    /* compression flags survive */
    mem m = write_records(1, 3, -1);
    FILE *f = fmemopen(m.buf, m.len, "rb");
    ts_reader *r = ts_reader_open_file(f, "mem");
    ts_record rec, want;
    ts_record_init(&rec);
    CHECK(ts_read(r, &rec) == 1, "read");
    make_record(&want, 3);
    CHECK(records_equal(&want, &rec, 1), "compression flags kept");
    CHECK(ts_read(r, &rec) == 0, "clean end");
    CHECK(ts_reader_total(r) == 1, "total");
    ts_record_free(&rec);
    ts_record_free(&want);
    ts_reader_close(r);
    fclose(f);
    free(m.buf);
}

/* Streaming reads in random piece sizes, over large compressible and
 * incompressible zlib tensors (exercises every zlib buffer boundary). */
static void test_streaming_pieces(void)
{
    ts_record rec;
    ts_record_init(&rec);
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        int64_t shape[1] = {(int64_t)(rnd() % 300000)};
        ts_tensor *t = ts_tensor_add(&rec, name, TS_U8, 1, shape);
        fill_random(t, i % 3 == 0);
        t->compress = i % 2 ? TS_ZLIB : TS_RAW;
    }
    mem m = {0, 0};
    FILE *f = open_memstream(&m.buf, &m.len);
    ts_writer *w = ts_writer_open(f, "mem");
    CHECK(ts_write(w, &rec) == 0, "write");
    CHECK(ts_write(w, &rec) == 0, "write");
    CHECK(ts_writer_close(w) == 0, "close");
    fclose(f);
    for (int pass = 0; pass < 2; pass++) {
        f = fmemopen(m.buf, m.len, "rb");
        ts_reader *r = ts_reader_open_file(f, "mem");
        ts_record hdr;
        ts_record_init(&hdr);
        int nt;
        CHECK(ts_read_begin(r, &hdr, &nt) == 1 && nt == 12, "begin");
        for (int i = 0; i < nt; i++) {
            ts_tensor info;
            CHECK(ts_read_tensor_info(r, &info) == 1, "info %d: %s", i, ts_reader_error(r));
            CHECK(strcmp(info.name, rec.tensors[i].name) == 0, "name %s", info.name);
            if (pass == 1 && i % 4 == 3)
                continue; /* skipped: ts_read_tensor_info / finish drain it */
            unsigned char *got = malloc(info.nbytes + 1);
            size_t off = 0;
            for (;;) {
                size_t want = 1 + rnd() % (i % 2 ? 70000 : 5);
                ssize_t n = ts_read_tensor_data(r, got + off, want);
                CHECK(n >= 0, "data: %s", ts_reader_error(r));
                if (n <= 0)
                    break;
                CHECK((size_t)n <= want, "piece size");
                off += (size_t)n;
            }
            CHECK(off == info.nbytes && !memcmp(got, rec.tensors[i].data, off), "tensor %d data (%zu of %zu)", i, off,
                  info.nbytes);
            free(got);
        }
        CHECK(ts_read_finish(r) == 0, "finish: %s", ts_reader_error(r));
        /* the second record: skip it all */
        CHECK(ts_read_begin(r, &hdr, &nt) == 1, "begin 2");
        CHECK(ts_read_finish(r) == 0, "finish 2: %s", ts_reader_error(r));
        CHECK(ts_read_begin(r, &hdr, &nt) == 0, "end");
        ts_record_free(&hdr);
        ts_reader_close(r);
        fclose(f);
    }
    free(m.buf);
    ts_record_free(&rec);
}

/* Streaming writes produce the same bytes as whole-record writes. */
static void test_streaming_write(void)
{
    ts_record rec;
    make_record(&rec, 0);
    mem a = {0, 0}, b = {0, 0};
    FILE *fa = open_memstream(&a.buf, &a.len), *fb = open_memstream(&b.buf, &b.len);
    ts_writer *wa = ts_writer_open(fa, "a"), *wb = ts_writer_open(fb, "b");
    ts_writer_set_compress(wa, 0);
    CHECK(ts_write(wa, &rec) == 0, "write");
    CHECK(ts_write_begin(wb, &rec, rec.n_tensors) == 0, "begin");
    for (int i = 0; i < rec.n_tensors; i++) {
        const ts_tensor *t = &rec.tensors[i];
        CHECK(ts_write_tensor_info(wb, t) == 0, "info");
        for (size_t off = 0; off < t->nbytes; off += 3)
            CHECK(ts_write_tensor_data(wb, (char *)t->data + off, t->nbytes - off < 3 ? t->nbytes - off : 3) == 0,
                  "data");
    }
    CHECK(ts_write_finish(wb) == 0, "finish");
    CHECK(ts_writer_records(wb) == 1, "count");
    /* misuse is an error, not a corrupt stream */
    ts_tensor bad = {.name = "x", .dtype = TS_F32, .rank = 1, .shape = {2}};
    CHECK(ts_write_begin(wb, &rec, 2) == 0, "begin");
    CHECK(ts_write_tensor_info(wb, &bad) == 0, "info");
    CHECK(ts_write_tensor_data(wb, "12345678", 9) < 0, "too much data refused");
    CHECK(ts_write_tensor_data(wb, "12345678", 8) == 0, "data");
    CHECK(ts_write_tensor_info(wb, &bad) < 0 && strstr(ts_writer_error(wb), "twice"), "duplicate refused: %s",
          ts_writer_error(wb));
    bad.name = "../x";
    CHECK(ts_write_tensor_info(wb, &bad) < 0 && strstr(ts_writer_error(wb), "'..'"), "bad name refused: %s",
          ts_writer_error(wb));
    bad.name = "y";
    bad.shape[0] = -1;
    CHECK(ts_write_tensor_info(wb, &bad) < 0, "negative dimension refused");
    bad.shape[0] = 1;
    bad.dtype = (ts_dtype)9;
    CHECK(ts_write_tensor_info(wb, &bad) < 0, "bad dtype refused");
    CHECK(ts_write_finish(wb) < 0, "early finish refused");
    ts_writer_free(wb);
    CHECK(ts_writer_close(wa) == 0, "close");
    fclose(fa);
    fclose(fb);
    CHECK(a.len > 16 && b.len >= a.len - 16 && memcmp(a.buf, b.buf, a.len - 16) == 0, "same bytes");
    free(a.buf);
    free(b.buf);
    ts_record_free(&rec);
}

/* Builds a stream by hand (the layout of formats/tensor-stream.md). */
typedef struct {
    unsigned char b[4096];
    size_t n, rec_start;
} raw;

static void put(raw *r, const void *p, size_t n)
{
    memcpy(r->b + r->n, p, n);
    r->n += n;
}
static void put_u(raw *r, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        r->b[r->n++] = (unsigned char)v;
}
static void header(raw *r)
{
    put(r, "TFSWA-TS", 8);
    put_u(r, 1, 4);
    put_u(r, 0, 4);
}
static void rec_begin(raw *r, uint32_t na, uint32_t nt)
{
    r->rec_start = r->n;
    put(r, "RECD", 4);
    put_u(r, na, 4);
    put_u(r, nt, 4);
}
static void rec_end(raw *r) { put_u(r, crc32(0, r->b + r->rec_start, (uInt)(r->n - r->rec_start)), 4); }
static void attr(raw *r, const char *k, const char *v)
{
    put_u(r, strlen(k), 2);
    put(r, k, strlen(k));
    put_u(r, strlen(v), 4);
    put(r, v, strlen(v));
}
static void tensor_hdr(raw *r, const char *name, int dtype, int comp, int rank, const uint64_t *dims, uint64_t stored)
{
    put_u(r, strlen(name), 2);
    put(r, name, strlen(name));
    put_u(r, (uint64_t)dtype, 1);
    put_u(r, (uint64_t)comp, 1);
    put_u(r, (uint64_t)rank, 1);
    put_u(r, 0, 1);
    for (int i = 0; i < rank; i++)
        put_u(r, dims[i], 8);
    put_u(r, stored, 8);
}
static void end_marker(raw *r, uint64_t count)
{
    size_t s = r->n;
    put(r, "END!", 4);
    put_u(r, count, 8);
    put_u(r, crc32(0, r->b + s, 12), 4);
}

static void test_handmade(void)
{
    /* A valid hand-made stream (the layout is as documented). */
    raw r = {.n = 0};
    header(&r);
    rec_begin(&r, 1, 1);
    attr(&r, "k", "v");
    uint64_t d2[] = {2};
    tensor_hdr(&r, "x", TS_I16, 0, 1, d2, 4);
    put_u(&r, 0x1234, 2);
    put_u(&r, 0xfedc, 2);
    rec_end(&r);
    end_marker(&r, 1);
    FILE *f = fmemopen(r.b, r.n, "rb");
    ts_reader *rd = ts_reader_open_file(f, "hand");
    ts_record rec;
    ts_record_init(&rec);
    CHECK(ts_read(rd, &rec) == 1, "hand-made: %s", ts_reader_error(rd));
    ts_tensor *t = ts_tensor_get(&rec, "x");
    CHECK(t && t->dtype == TS_I16 && t->rank == 1 && t->shape[0] == 2 && ((int16_t *)t->data)[0] == 0x1234 &&
              ((int16_t *)t->data)[1] == (int16_t)0xfedc,
          "hand-made tensor");
    CHECK(ts_attr_get(&rec, "k") && !strcmp(ts_attr_get(&rec, "k"), "v"), "hand-made attribute");
    CHECK(ts_read(rd, &rec) == 0, "hand-made end");
    ts_record_free(&rec);
    ts_reader_close(rd);
    fclose(f);

    /* Each damage gives its message. */
    struct {
        const char *want;
        int kind;
    } cases[] = {
        {"record 0: tensor 'x': payload size 5 does not match", 1},
        {"record 0: tensor 'x': unknown dtype code 9", 2},
        {"record 0: tensor 'x': rank 9 (limit 8)", 3},
        {"record 0: tensor 'x': dimension 0 is 1099511627777 (limit 2^40)", 4},
        {"record 0: tensor 'x': shape exceeds the tensor size limit", 5},
        {"record 0: tensor 'x': appears twice in the record", 6},
        {"record 0: attribute 'k' appears twice", 7},
        {"record 0: tensor 1: invalid name: '.' or '..' path component", 8},
        {"record 0: 4097 tensors (limit 4096)", 9},
        {"end marker after 1 record: counts 2 records", 10},
        {"record 0: CRC mismatch", 11},
        {"record 0: tensor 'x': unknown compression code 2", 12},
        {"record 0: tensor 'x': compressed payload holds more data", 13},
        {"record 0: tensor 'x': compressed payload holds less data", 14},
        {"record 0: tensor 'x': 3 stray bytes after the compressed data", 15},
        {"record 0: tensor 'x': reserved header byte", 16},
        {"stream header: unsupported version 2", 17},
        {"record 1: bad record tag", 18},
        {"record 0: attribute 'k': value contains a NUL byte", 19},
        {"record 0: attribute 0: invalid key: character outside", 20},
        {"record 1: truncated: input ends before this record", 21},
        {"end marker after 1 record: CRC mismatch", 22},
        {"record 0: tensor 'x': compressed payload size 4 is impossible", 23},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int k = cases[c].kind;
        raw s = {.n = 0};
        header(&s);
        if (k == 17)
            s.b[8] = 2;
        rec_begin(&s, k == 7 || k == 19 || k == 20 ? 2 : 0, k == 6 || k == 8 ? 2 : k == 9 ? 4097 : 1);
        if (k == 7 || k == 19 || k == 20) {
            attr(&s, k == 20 ? "a b" : k == 19 ? "j" : "k", "v");
            attr(&s, "k", "v");
            if (k == 19)
                s.b[s.n - 1] = 0;
        }
        uint64_t dims[9] = {2, 2, 2, 2, 2, 2, 2, 2, 2};
        if (k == 4)
            dims[0] = (1ull << 40) + 1;
        if (k == 5)
            dims[0] = 1ull << 40;
        unsigned char z[256];
        uLongf zl = sizeof z;
        unsigned char data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        if (k >= 13 && k <= 15) {
            compress2(z, &zl, data, k == 13 ? 12 : k == 14 ? 4 : 8, 6);
            tensor_hdr(&s, "x", TS_F32, 1, 1, dims, zl + (k == 15 ? 3 : 0));
            put(&s, z, zl);
            if (k == 15)
                put(&s, "abc", 3);
        } else if (k == 23) {
            tensor_hdr(&s, "x", TS_F32, 1, 1, dims, 4);
            put(&s, "abcd", 4);
        } else {
            tensor_hdr(&s, "x", k == 2 ? 9 : TS_F32, k == 12 ? 2 : 0, k == 3 ? 9 : 1, dims, k == 1 ? 5 : 8);
            if (k == 16)
                s.b[s.n - 8 - 8 - 1] = 1;
            put(&s, data, 8);
        }
        if (k == 6 || k == 8) {
            tensor_hdr(&s, k == 8 ? "a/../b" : "x", TS_F32, 0, 1, dims, 8);
            put(&s, data, 8);
        }
        rec_end(&s);
        if (k == 11)
            s.b[s.n - 6] ^= 1;
        if (k == 18)
            put(&s, "RECX", 4);
        if (k != 21)
            end_marker(&s, k == 10 ? 2 : 1);
        if (k == 22)
            s.b[s.n - 1] ^= 0x80;
        char what[32];
        snprintf(what, sizeof what, "case %d", k);
        expect_error((char *)s.b, s.n, cases[c].want, what);
    }

    /* Empty input, a foreign file, trailing garbage. */
    expect_error("", 0, "stream header: empty input", "empty");
    expect_error("RIFF....WAVEfmt ", 16, "stream header: not a tensor stream", "wav");
    raw g = {.n = 0};
    header(&g);
    end_marker(&g, 0);
    put(&g, "x", 1);
    expect_error((char *)g.b, g.n, "stream header: not a tensor stream", "trailing garbage");
}

/* Concatenated streams in one input, and several files. */
static void test_concat(void)
{
    mem a = write_records(2, 0, -1), b = write_records(3, 2, -1);
    char *both = malloc(a.len + b.len);
    memcpy(both, a.buf, a.len);
    memcpy(both + a.len, b.buf, b.len);
    char err[1024] = "";
    CHECK(read_all(both, a.len + b.len, err, sizeof err, 0) == 5, "concatenated: %s", err);
    /* a record of the second stream is named by its index in the file */
    both[a.len + b.len - 16 - 10] ^= 0x40;
    expect_error(both, a.len + b.len, "mem: record 4:", "damage in the second stream");
    free(both);

    char pa[] = "/tmp/tfswa-ts-XXXXXX", pb[] = "/tmp/tfswa-ts-XXXXXX";
    if (getenv("TMPDIR")) {
        /* keep it simple: mkstemp in /tmp is fine for a unit test */
    }
    int fa = mkstemp(pa), fb = mkstemp(pb);
    CHECK(fa >= 0 && fb >= 0, "mkstemp");
    CHECK(write(fa, a.buf, a.len) == (ssize_t)a.len && write(fb, b.buf, b.len) == (ssize_t)b.len, "write");
    close(fa);
    close(fb);
    char *paths[] = {pa, pb, "/nonexistent/x.ts"};
    ts_reader *r = ts_reader_open(3, paths);
    ts_record rec;
    ts_record_init(&rec);
    int n = 0;
    while (ts_read(r, &rec) == 1) {
        ts_record want;
        make_record(&want, n);
        CHECK(records_equal(&want, &rec, 0), "file record %d", n);
        ts_record_free(&want);
        CHECK(ts_reader_record(r) == (n < 2 ? n : n - 2), "index in file %ld", ts_reader_record(r));
        n++;
    }
    CHECK(n == 5, "5 records from two files (%d)", n);
    CHECK(strstr(ts_reader_error(r), "/nonexistent/x.ts: No such file"), "missing file named: %s", ts_reader_error(r));
    ts_record_free(&rec);
    ts_reader_close(r);
    unlink(pa);
    unlink(pb);
    free(a.buf);
    free(b.buf);
}

/* Truncation at every byte and a flip of every byte of a small stream:
 * always an error, never a crash, and never a silent success. */
static void test_damage_everywhere(void)
{
    /* TEST_STREAM_QUICK=1 (set by the valgrind test) samples every 16th byte */
    size_t step = getenv("TEST_STREAM_QUICK") ? 16 : 1;
    int nflips = getenv("TEST_STREAM_QUICK") ? 200 : 3000;
    mem m = write_records(3, 0, -1);
    char *copy = malloc(m.len);
    int errors = 0, tries = 0;
    for (size_t cut = 0; cut < m.len; cut += step) {
        tries++;
        char err[1024] = "";
        if (read_all(m.buf, cut, err, sizeof err, -1) < 0)
            errors++;
        else
            CHECK(0, "truncated at %zu read without error", cut);
    }
    CHECK(errors == tries, "every truncation detected");
    for (size_t i = 0; i < m.len; i += step) {
        memcpy(copy, m.buf, m.len);
        copy[i] ^= (char)(1 << (i % 8));
        char err[1024] = "";
        int n = read_all(copy, m.len, err, sizeof err, -1);
        CHECK(n < 0 && (strstr(err, "record ") || strstr(err, "stream header") || strstr(err, "end marker")),
              "flip at %zu: %d records, \"%s\"", i, n, err);
    }
    /* random flips of 1 to 3 bits anywhere, in a stream of larger zlib and raw tensors */
    mem big = write_records(2, 5, -1);
    copy = realloc(copy, big.len);
    for (int k = 0; k < nflips; k++) {
        memcpy(copy, big.buf, big.len);
        int nflip = 1 + (int)(rnd() % 3);
        for (int j = 0; j < nflip; j++)
            copy[rnd() % big.len] ^= (char)(1 << (rnd() % 8));
        if (!memcmp(copy, big.buf, big.len))
            continue;
        char err[1024] = "";
        int n = read_all(copy, big.len, err, sizeof err, -1);
        CHECK(n < 0 && (strstr(err, "record ") || strstr(err, "stream header") || strstr(err, "end marker")),
              "random flips #%d: %d records, \"%s\"", k, n, err);
    }
    free(big.buf);
    free(copy);
    free(m.buf);
}

static void test_record_api(void)
{
    ts_record r;
    ts_record_init(&r);
    ts_attr_set(&r, "a", "1");
    ts_attr_setf(&r, "long", "%0600d%0600d", 1, 2);
    CHECK(strlen(ts_attr_get(&r, "long")) == 1200, "ts_attr_setf is not truncated");
    int64_t v;
    double x;
    CHECK(ts_attr_get_i64(&r, "a", &v) == 0 && v == 1, "i64");
    CHECK(ts_attr_get_i64(&r, "missing", &v) == -1, "absent");
    ts_attr_set(&r, "a", "1.5x");
    CHECK(ts_attr_get_f64(&r, "a", &x) == -2, "malformed");
    ts_attr_set(&r, "a", "1e-310");
    CHECK(ts_attr_get_f64(&r, "a", &x) == 0 && x > 0, "subnormal is a number");
    ts_attr_remove(&r, "a");
    CHECK(!ts_attr_get(&r, "a") && r.n_attrs == 1, "removed");
    int64_t sh[2] = {2, 3};
    ts_tensor_add(&r, "x", TS_F32, 2, sh);
    ts_tensor_add(&r, "y", TS_F64, 0, sh);
    ts_tensor_rename(&r, "x", "y");
    CHECK(r.n_tensors == 1 && ts_tensor_get(&r, "y")->dtype == TS_F32, "rename replaces");
    ts_record c;
    ts_record_copy(&c, &r);
    CHECK(records_equal(&r, &c, 1), "copy");
    ts_record_free(&c);
    CHECK(ts_check_name("a/b.c+d-e_f", 11) == NULL, "valid name");
    CHECK(ts_check_name("a//b", 4) && ts_check_name("/a", 2) && ts_check_name("a/", 2) && ts_check_name("..", 2) &&
              ts_check_name("a b", 3) && ts_check_name("", 0),
          "invalid names");
    CHECK(ts_dtype_from_name("c64") == TS_C64 && ts_dtype_from_name("x") == -1 && ts_dtype_size(TS_C128) == 16,
          "dtypes");
    ts_record_free(&r);
}

int main(void)
{
    test_record_api();
    test_roundtrip();
    test_streaming_pieces();
    test_streaming_write();
    test_handmade();
    test_concat();
    test_damage_everywhere();
    return check_report("test_stream");
}
