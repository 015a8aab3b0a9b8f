/* Tensor stream reader and writer. Format: formats/tensor-stream.md.
 *
 * The reader never trusts a length: every count, size and dimension is
 * checked against the limits in ts.h before anything is allocated, and every
 * error message names where it happened: "FILE: stream header: ...",
 * "FILE: record N: ...", "FILE: record N: tensor 'x': ..." or
 * "FILE: end marker after N records: ..." (N counts records in that file). */
#include "stream/ts.h"
#include "util/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tfswa's stream code assumes a little-endian host"
#endif

static const unsigned char MAGIC[8] = {'T', 'F', 'S', 'W', 'A', '-', 'T', 'S'};
static const unsigned char TAG_REC[4] = {'R', 'E', 'C', 'D'};
static const unsigned char TAG_END[4] = {'E', 'N', 'D', '!'};
#define IOBUF (1 << 20)
#define ZCHUNK (1 << 16)

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

/* zlib's crc32 takes a 32-bit length: feed it in pieces. */
static uLong crc_update(uLong crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        crc = crc32(crc, b, (uInt)k);
        b += k;
        n -= k;
    }
    return crc;
}

uint64_t ts_max_tensor_bytes(void)
{
    const char *e = getenv("TFSWA_MAX_TENSOR_BYTES");
    if (e) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(e, &end, 10);
        if (!errno && end != e && !*end && v > 0 && e[0] != '-')
            return v;
    }
    return TS_DEFAULT_MAX_TENSOR_BYTES;
}

/* =========================== reader =========================== */

enum { R_BETWEEN, R_IN_RECORD, R_DONE };
enum { C_HEADER, C_BETWEEN, C_RECORD, C_TENSOR, C_END };

struct ts_reader {
    char **paths;
    int n_paths, cur; /* next path index to open */
    FILE *f;
    int own_f;
    char *name;          /* current file name for messages */
    int header_ok;       /* header of the current stream read */
    long rec;            /* index in the current file of the record being / last read */
    long file_records;   /* records completed in the current file */
    long stream_records; /* records completed in the current stream (checked by the end marker) */
    long total;
    uint64_t max_tensor_bytes;
    int state, ctx;
    char err[1024];
    char *iobuf;
    FILE *buffered; /* the FILE that uses iobuf */
    /* record state */
    uLong crc;
    int tensors_left;
    int in_tensor; /* a tensor's header was read and its data not yet all consumed */
    char tname[TS_MAX_NAME + 1];
    char **seen; /* names seen in this record (duplicate check) */
    int n_seen, cap_seen;
    int tcompress;
    uint64_t stored_left, raw_left;
    z_stream zs;
    int zs_init;
    unsigned char *zin;
};

static void set_err(ts_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(ts_reader *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *nm = r->name ? r->name : "stdin";
    switch (r->ctx) {
    case C_HEADER: snprintf(r->err, sizeof r->err, "%s: stream header: %s", nm, msg); break;
    case C_END:
        snprintf(r->err, sizeof r->err, "%s: end marker after %ld record%s: %s", nm, r->file_records,
                 r->file_records == 1 ? "" : "s", msg);
        break;
    case C_TENSOR: snprintf(r->err, sizeof r->err, "%s: record %ld: tensor '%s': %s", nm, r->rec, r->tname, msg); break;
    default: snprintf(r->err, sizeof r->err, "%s: record %ld: %s", nm, r->rec, msg); break;
    }
    r->state = R_DONE;
}

const char *ts_reader_error(const ts_reader *r) { return r->err; }
const char *ts_reader_name(const ts_reader *r) { return r->name ? r->name : "stdin"; }
long ts_reader_record(const ts_reader *r) { return r->rec; }
long ts_reader_total(const ts_reader *r) { return r->total; }
void ts_reader_set_max_tensor_bytes(ts_reader *r, uint64_t max) { r->max_tensor_bytes = max; }

static ts_reader *reader_new(void)
{
    ts_reader *r = tf_calloc(1, sizeof *r, "reader");
    r->max_tensor_bytes = ts_max_tensor_bytes();
    r->rec = -1;
    r->state = R_BETWEEN;
    r->ctx = C_HEADER;
    return r;
}

ts_reader *ts_reader_open(int n, char *const *paths)
{
    ts_reader *r = reader_new();
    static char *const dash[] = {"-"};
    if (n == 0) {
        paths = dash;
        n = 1;
    }
    r->paths = tf_calloc((size_t)n, sizeof *r->paths, "paths");
    for (int i = 0; i < n; i++)
        r->paths[i] = tf_strdup(paths[i]);
    r->n_paths = n;
    return r;
}

ts_reader *ts_reader_open_file(FILE *f, const char *name)
{
    ts_reader *r = reader_new();
    r->f = f;
    r->own_f = 0;
    r->name = tf_strdup(name);
    return r;
}

static void clear_seen(ts_reader *r)
{
    for (int i = 0; i < r->n_seen; i++)
        free(r->seen[i]);
    r->n_seen = 0;
}

static void end_zlib(ts_reader *r)
{
    if (r->zs_init)
        inflateEnd(&r->zs);
    r->zs_init = 0;
}

/* Detaches our buffer from a FILE we do not close (stdin): glibc flushes
 * and switches it to unbuffered, so the FILE never points to freed memory. */
static void unbuffer(ts_reader *r)
{
    if (r->buffered) {
        setvbuf(r->buffered, NULL, _IONBF, 0);
        r->buffered = NULL;
    }
}

static void close_current(ts_reader *r)
{
    if (r->f && r->own_f) {
        fclose(r->f);
        r->buffered = NULL;
    } else if (r->f) {
        unbuffer(r);
    }
    r->f = NULL;
}

void ts_reader_close(ts_reader *r)
{
    if (!r)
        return;
    close_current(r);
    end_zlib(r);
    clear_seen(r);
    free(r->seen);
    for (int i = 0; i < r->n_paths; i++)
        free(r->paths[i]);
    free(r->paths);
    free(r->name);
    free(r->iobuf);
    free(r->zin);
    free(r);
}

/* Reads up to n bytes (adding them to the CRC when crc != 0). Returns n, or
 * the short count at end of input (0 .. n-1) with no error set, or -1. */
static long read_some(ts_reader *r, void *buf, size_t n, int crc)
{
    size_t got = n ? fread(buf, 1, n, r->f) : 0;
    if (got < n && ferror(r->f)) {
        set_err(r, "read error: %s", strerror(errno));
        return -1;
    }
    if (crc && got)
        r->crc = crc_update(r->crc, buf, got);
    return (long)got;
}

static int read_exact(ts_reader *r, void *buf, size_t n, const char *what)
{
    long got = read_some(r, buf, n, 1);
    if (got < 0)
        return -1;
    if ((size_t)got < n) {
        set_err(r, "truncated: input ends inside %s", what);
        return -1;
    }
    return 0;
}

/* Opens the next input file. Returns 1 if one was opened, 0 if none left, -1 on error. */
static int open_next(ts_reader *r)
{
    close_current(r);
    if (r->cur >= r->n_paths)
        return 0;
    const char *p = r->paths[r->cur++];
    free(r->name);
    r->header_ok = 0;
    r->rec = -1;
    r->file_records = 0;
    r->stream_records = 0;
    r->ctx = C_HEADER;
    if (strcmp(p, "-") == 0) {
        r->f = stdin;
        r->own_f = 0;
        r->name = tf_strdup("stdin");
    } else {
        r->name = tf_strdup(p);
        r->f = fopen(p, "rb");
        r->own_f = 1;
        if (!r->f) {
            snprintf(r->err, sizeof r->err, "%s: %s", p, strerror(errno));
            r->state = R_DONE;
            return -1;
        }
    }
    if (!r->iobuf)
        r->iobuf = tf_malloc(IOBUF, "input buffer");
    if (fileno(r->f) >= 0 && setvbuf(r->f, r->iobuf, _IOFBF, IOBUF) == 0)
        r->buffered = r->f;
    return 1;
}

/* Reads a stream header; npre bytes of it were already read into pre.
 * Returns 1 ok, 0 clean end of input before any byte, -1 error. */
static int read_header(ts_reader *r, const unsigned char *pre, size_t npre)
{
    unsigned char h[16];
    r->ctx = C_HEADER;
    if (npre)
        memcpy(h, pre, npre);
    long got = read_some(r, h + npre, sizeof h - npre, 0);
    if (got < 0)
        return -1;
    size_t have = npre + (size_t)got;
    if (have == 0)
        return 0;
    if (have < 8 ? memcmp(h, MAGIC, have) != 0 : memcmp(h, MAGIC, 8) != 0) {
        set_err(r, "not a tensor stream (bad magic; expected \"TFSWA-TS\")");
        return -1;
    }
    if (have < sizeof h) {
        set_err(r, "truncated: %zu of 16 header bytes", have);
        return -1;
    }
    uint32_t version = (uint32_t)get_le(h + 8, 4), flags = (uint32_t)get_le(h + 12, 4);
    if (version != TS_VERSION) {
        set_err(r, "unsupported version %u (this build reads version %d)", version, TS_VERSION);
        return -1;
    }
    if (flags != 0) {
        set_err(r, "unknown header flags 0x%x", flags);
        return -1;
    }
    r->header_ok = 1;
    r->stream_records = 0;
    r->ctx = C_BETWEEN;
    return 1;
}

/* The tag "END!" was read (and is in r->crc). */
static int read_end_marker(ts_reader *r)
{
    unsigned char b[12];
    r->ctx = C_END;
    if (read_exact(r, b, 8, "the end marker") < 0)
        return -1;
    long got = read_some(r, b + 8, 4, 0);
    if (got < 0)
        return -1;
    if (got != 4) {
        set_err(r, "truncated: input ends inside the end marker");
        return -1;
    }
    uint64_t count = get_le(b, 8);
    if ((uint32_t)r->crc != (uint32_t)get_le(b + 8, 4)) {
        set_err(r, "CRC mismatch (stream corrupted)");
        return -1;
    }
    if (count != (uint64_t)r->stream_records) {
        set_err(r, "counts %llu records but the stream holds %ld (stream corrupted)", (unsigned long long)count,
                r->stream_records);
        return -1;
    }
    r->ctx = C_BETWEEN;
    return 0;
}

static int internal_error(ts_reader *r, const char *what)
{
    if (r->state != R_DONE)
        set_err(r, "internal error: %s", what);
    return -1;
}

/* The tag "END!" was read: checks the end marker, then starts the next
 * concatenated stream of the file or closes the file at its end. Returns 0
 * or -1. */
static int end_of_stream(ts_reader *r)
{
    if (read_end_marker(r) < 0)
        return -1;
    unsigned char peek;
    long p = read_some(r, &peek, 1, 0);
    if (p < 0)
        return -1;
    r->header_ok = 0;
    if (p == 1)
        return read_header(r, &peek, 1) < 0 ? -1 : 0;
    close_current(r);
    return 0;
}

/* Reads on to the next record's tag "RECD" (opening the next input, reading
 * stream headers and end markers on the way). Returns 1 at a record (state
 * R_IN_RECORD), 0 at the end of all input, -1 on error. */
static int next_record(ts_reader *r)
{
    for (;;) {
        if (!r->f) {
            int o = open_next(r);
            if (o <= 0) {
                if (o == 0)
                    r->state = R_DONE;
                return o;
            }
        }
        if (!r->header_ok) {
            int h = read_header(r, NULL, 0);
            if (h < 0)
                return -1;
            if (h == 0) {
                set_err(r, "empty input (no stream header)");
                return -1;
            }
        }
        unsigned char tag[4];
        r->crc = crc32(0L, Z_NULL, 0);
        r->rec = r->file_records;
        r->ctx = C_RECORD;
        long got = read_some(r, tag, 4, 1);
        if (got < 0)
            return -1;
        if (got < 4) {
            set_err(r, "truncated: input ends %s (no end marker: the writer stopped early or the pipe broke)",
                    got ? "inside a record tag" : "before this record");
            return -1;
        }
        if (memcmp(tag, TAG_END, 4) == 0) {
            if (end_of_stream(r) < 0)
                return -1;
            continue;
        }
        r->state = R_IN_RECORD;
        r->in_tensor = 0;
        if (memcmp(tag, TAG_REC, 4) != 0) {
            set_err(r, "bad record tag %02x %02x %02x %02x (expected \"RECD\" or \"END!\"; stream corrupted)", tag[0],
                    tag[1], tag[2], tag[3]);
            return -1;
        }
        return 1;
    }
}

/* Reads the record's na attributes into rec. Returns 0 or -1. */
static int read_attrs(ts_reader *r, ts_record *rec, uint32_t na)
{
    unsigned char b[4];
    char key[TS_MAX_NAME + 1];
    for (uint32_t i = 0; i < na; i++) {
        if (read_exact(r, b, 2, "an attribute key length") < 0)
            return -1;
        uint32_t kl = (uint32_t)get_le(b, 2);
        if (kl == 0 || kl > TS_MAX_NAME) {
            set_err(r, "attribute %u: key length %u outside [1, %d]", i, kl, TS_MAX_NAME);
            return -1;
        }
        if (read_exact(r, key, kl, "an attribute key") < 0)
            return -1;
        key[kl] = 0;
        const char *why = ts_check_name(key, kl);
        if (why) {
            set_err(r, "attribute %u: invalid key: %s", i, why);
            return -1;
        }
        if (ts_attr_get(rec, key)) {
            set_err(r, "attribute '%s' appears twice", key);
            return -1;
        }
        if (read_exact(r, b, 4, "an attribute value length") < 0)
            return -1;
        uint32_t vl = (uint32_t)get_le(b, 4);
        if (vl > TS_MAX_VALUE) {
            set_err(r, "attribute '%s': value length %u (limit %d)", key, vl, TS_MAX_VALUE);
            return -1;
        }
        char *val = tf_malloc(vl + 1, "attribute value");
        if (read_exact(r, val, vl, "an attribute value") < 0) {
            free(val);
            return -1;
        }
        val[vl] = 0;
        if (memchr(val, 0, vl)) {
            set_err(r, "attribute '%s': value contains a NUL byte", key);
            free(val);
            return -1;
        }
        ts_attr_set(rec, key, val);
        free(val);
    }
    return 0;
}

int ts_read_begin(ts_reader *r, ts_record *rec, int *n_tensors)
{
    ts_record_free(rec);
    *n_tensors = 0;
    if (r->state == R_DONE)
        return r->err[0] ? -1 : 0;
    if (r->state == R_IN_RECORD)
        return internal_error(r, "previous record not finished");
    int found = next_record(r);
    if (found <= 0)
        return found;
    unsigned char b[8];
    if (read_exact(r, b, 8, "the record header") < 0)
        return -1;
    uint32_t na = (uint32_t)get_le(b, 4), nt = (uint32_t)get_le(b + 4, 4);
    if (na > TS_MAX_ATTRS) {
        set_err(r, "%u attributes (limit %d)", na, TS_MAX_ATTRS);
        return -1;
    }
    if (nt > TS_MAX_TENSORS) {
        set_err(r, "%u tensors (limit %d)", nt, TS_MAX_TENSORS);
        return -1;
    }
    if (read_attrs(r, rec, na) < 0) {
        ts_record_free(rec);
        return -1;
    }
    clear_seen(r);
    r->tensors_left = (int)nt;
    *n_tensors = (int)nt;
    return 1;
}

static int drain_tensor(ts_reader *r);

/* Reads the next tensor's name into r->tname and checks it (valid, not yet
 * in the record). Returns 0 or -1. */
static int read_tensor_name(ts_reader *r)
{
    unsigned char b[2];
    if (read_exact(r, b, 2, "a tensor name length") < 0)
        return -1;
    uint32_t nl = (uint32_t)get_le(b, 2);
    if (nl == 0 || nl > TS_MAX_NAME) {
        set_err(r, "tensor %d: name length %u outside [1, %d]", r->n_seen, nl, TS_MAX_NAME);
        return -1;
    }
    if (read_exact(r, r->tname, nl, "a tensor name") < 0)
        return -1;
    r->tname[nl] = 0;
    const char *why = ts_check_name(r->tname, nl);
    if (why) {
        set_err(r, "tensor %d: invalid name: %s", r->n_seen, why);
        return -1;
    }
    r->ctx = C_TENSOR;
    for (int i = 0; i < r->n_seen; i++)
        if (strcmp(r->seen[i], r->tname) == 0) {
            set_err(r, "appears twice in the record");
            return -1;
        }
    if (r->n_seen == r->cap_seen) {
        r->cap_seen = r->cap_seen ? 2 * r->cap_seen : 16;
        r->seen = tf_realloc(r->seen, (size_t)r->cap_seen * sizeof *r->seen, "names");
    }
    r->seen[r->n_seen++] = tf_strdup(r->tname);
    return 0;
}

/* Reads the tensor's dtype, compression and rank and checks them. Returns
 * 0 or -1. */
static int read_tensor_kind(ts_reader *r, int *dtype, int *comp, int *rank)
{
    unsigned char b[4];
    if (read_exact(r, b, 4, "a tensor header") < 0)
        return -1;
    *dtype = b[0], *comp = b[1], *rank = b[2];
    if (ts_dtype_size((ts_dtype)*dtype) == 0) {
        set_err(r, "unknown dtype code %d", *dtype);
        return -1;
    }
    if (*comp != TS_RAW && *comp != TS_ZLIB) {
        set_err(r, "unknown compression code %d", *comp);
        return -1;
    }
    if (*rank > TS_MAX_RANK) {
        set_err(r, "rank %d (limit %d)", *rank, TS_MAX_RANK);
        return -1;
    }
    if (b[3] != 0) {
        set_err(r, "reserved header byte is %d, not 0", b[3]);
        return -1;
    }
    return 0;
}

/* Reads the tensor's shape into t->shape and its stored payload size into
 * *stored; *nbytes gets the data's size, checked against the reader's
 * tensor size limit. Returns 0 or -1. */
static int read_tensor_shape(ts_reader *r, ts_dtype dtype, int rank, ts_tensor *t, uint64_t *nbytes, uint64_t *stored)
{
    unsigned char b[8 * TS_MAX_RANK + 8];
    if (read_exact(r, b, 8 * (size_t)rank + 8, "a tensor shape") < 0)
        return -1;
    uint64_t nb = ts_dtype_size(dtype);
    int zero = 0;
    for (int i = 0; i < rank; i++) {
        uint64_t d = get_le(b + 8 * i, 8);
        if (d > TS_MAX_DIM) {
            set_err(r, "dimension %d is %llu (limit 2^40)", i, (unsigned long long)d);
            return -1;
        }
        t->shape[i] = (int64_t)d;
        if (d == 0)
            zero = 1;
        else if (!zero) {
            if (nb > r->max_tensor_bytes / d) {
                set_err(r, "shape exceeds the tensor size limit of %llu bytes (TFSWA_MAX_TENSOR_BYTES)",
                        (unsigned long long)r->max_tensor_bytes);
                return -1;
            }
            nb *= d;
        }
    }
    if (zero)
        nb = 0;
    if (nb > r->max_tensor_bytes) {
        set_err(r, "%llu bytes exceed the tensor size limit of %llu bytes (TFSWA_MAX_TENSOR_BYTES)",
                (unsigned long long)nb, (unsigned long long)r->max_tensor_bytes);
        return -1;
    }
    *nbytes = nb;
    *stored = get_le(b + 8 * rank, 8);
    return 0;
}

/* Checks the stored payload size against the data's size nbytes. Returns
 * 0 or -1. */
static int check_stored(ts_reader *r, int comp, uint64_t stored, uint64_t nbytes)
{
    if (comp == TS_RAW && stored != nbytes) {
        set_err(r, "payload size %llu does not match its shape and dtype (%llu bytes)", (unsigned long long)stored,
                (unsigned long long)nbytes);
        return -1;
    }
    if (comp == TS_ZLIB &&
        (stored > compressBound((uLong)nbytes) || (nbytes > 0 && stored < 8) || (nbytes == 0 && stored != 0))) {
        set_err(r, "compressed payload size %llu is impossible for %llu bytes of data", (unsigned long long)stored,
                (unsigned long long)nbytes);
        return -1;
    }
    return 0;
}

/* Sets the reader up for the tensor's payload; for zlib starts the
 * inflater. Returns 0 or -1. */
static int start_payload(ts_reader *r, int comp, uint64_t stored, uint64_t nbytes)
{
    r->tcompress = comp;
    r->stored_left = stored;
    r->raw_left = nbytes;
    r->tensors_left--;
    if (comp == TS_ZLIB && nbytes > 0) {
        memset(&r->zs, 0, sizeof r->zs);
        if (inflateInit(&r->zs) != Z_OK) {
            set_err(r, "zlib initialisation failed");
            return -1;
        }
        r->zs_init = 1;
        if (!r->zin)
            r->zin = tf_malloc(ZCHUNK, "zlib buffer");
    }
    r->in_tensor = 1;
    return 0;
}

int ts_read_tensor_info(ts_reader *r, ts_tensor *t)
{
    memset(t, 0, sizeof *t);
    if (r->state != R_IN_RECORD)
        return r->state == R_DONE ? -1 : internal_error(r, "tensor asked for outside a record");
    if (r->in_tensor && drain_tensor(r) < 0)
        return -1;
    r->ctx = C_RECORD;
    if (r->tensors_left == 0)
        return internal_error(r, "more tensors asked for than the record holds");
    int dtype, comp, rank;
    uint64_t nbytes, stored;
    if (read_tensor_name(r) < 0 || read_tensor_kind(r, &dtype, &comp, &rank) < 0 ||
        read_tensor_shape(r, (ts_dtype)dtype, rank, t, &nbytes, &stored) < 0 ||
        check_stored(r, comp, stored, nbytes) < 0)
        return -1;
    t->dtype = (ts_dtype)dtype;
    t->rank = rank;
    t->nbytes = (size_t)nbytes;
    t->compress = comp;
    t->name = r->tname; /* the reader's copy: valid until the next ts_read_tensor_info */
    return start_payload(r, comp, stored, nbytes) < 0 ? -1 : 1;
}

/* Feeds zlib the next piece of the stored payload. */
static int zrefill(ts_reader *r)
{
    size_t n = r->stored_left < ZCHUNK ? (size_t)r->stored_left : ZCHUNK;
    if (read_exact(r, r->zin, n, "a compressed tensor payload") < 0)
        return -1;
    r->stored_left -= n;
    r->zs.next_in = r->zin;
    r->zs.avail_in = (uInt)n;
    return 0;
}

/* All data was produced: the zlib stream must end exactly at the end of
 * the stored payload, with no further output. */
static int zfinish(ts_reader *r)
{
    for (;;) {
        if (r->zs.avail_in == 0 && r->stored_left > 0 && zrefill(r) < 0)
            return -1;
        unsigned char extra;
        r->zs.next_out = &extra;
        r->zs.avail_out = 1;
        int z = inflate(&r->zs, Z_NO_FLUSH);
        if (r->zs.avail_out == 0) {
            set_err(r, "compressed payload holds more data than its shape and dtype");
            return -1;
        }
        if (z == Z_STREAM_END) {
            if (r->zs.avail_in > 0 || r->stored_left > 0) {
                set_err(r, "%llu stray bytes after the compressed data",
                        (unsigned long long)(r->zs.avail_in + r->stored_left));
                return -1;
            }
            end_zlib(r);
            return 0;
        }
        if (z == Z_BUF_ERROR && r->zs.avail_in == 0 && r->stored_left == 0) {
            set_err(r, "compressed payload ends without its zlib trailer");
            return -1;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            set_err(r, "corrupt compressed payload (zlib: %s)", r->zs.msg ? r->zs.msg : "error");
            return -1;
        }
        if (z == Z_BUF_ERROR && r->zs.avail_in > 0) {
            set_err(r, "corrupt compressed payload (zlib made no progress)");
            return -1;
        }
    }
}

ssize_t ts_read_tensor_data(ts_reader *r, void *buf, size_t max)
{
    if (r->state == R_DONE)
        return -1;
    if (r->state != R_IN_RECORD || !r->in_tensor || r->raw_left == 0 || max == 0)
        return 0;
    if (max > r->raw_left)
        max = (size_t)r->raw_left;
    if (max > ((size_t)1 << 30))
        max = (size_t)1 << 30;
    if (r->tcompress == TS_RAW) {
        if (read_exact(r, buf, max, "a tensor payload") < 0)
            return -1;
        r->raw_left -= max;
        r->stored_left -= max;
        return (ssize_t)max;
    }
    r->zs.next_out = buf;
    r->zs.avail_out = (uInt)max;
    while (r->zs.avail_out > 0) {
        if (r->zs.avail_in == 0) {
            if (r->stored_left == 0) {
                set_err(r, "compressed payload ends before its data (%llu bytes missing)",
                        (unsigned long long)(r->raw_left - (max - r->zs.avail_out)));
                return -1;
            }
            if (zrefill(r) < 0)
                return -1;
        }
        int z = inflate(&r->zs, Z_NO_FLUSH);
        if (z == Z_STREAM_END) {
            if (r->zs.avail_out > 0) {
                set_err(r, "compressed payload holds less data than its shape and dtype");
                return -1;
            }
            break;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            set_err(r, "corrupt compressed payload (zlib: %s)", r->zs.msg ? r->zs.msg : "error");
            return -1;
        }
        if (z == Z_BUF_ERROR && r->zs.avail_in > 0) {
            set_err(r, "corrupt compressed payload (zlib made no progress)");
            return -1;
        }
    }
    r->raw_left -= max;
    if (r->raw_left == 0 && zfinish(r) < 0)
        return -1;
    return (ssize_t)max;
}

static int drain_tensor(ts_reader *r)
{
    char tmp[1 << 14];
    for (;;) {
        ssize_t n = ts_read_tensor_data(r, tmp, sizeof tmp);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
    }
    r->in_tensor = 0;
    return 0;
}

int ts_read_finish(ts_reader *r)
{
    if (r->state != R_IN_RECORD)
        return r->state == R_DONE ? -1 : internal_error(r, "finish outside a record");
    if (r->in_tensor && drain_tensor(r) < 0)
        return -1;
    while (r->tensors_left > 0) {
        ts_tensor t;
        if (ts_read_tensor_info(r, &t) < 0 || drain_tensor(r) < 0)
            return -1;
    }
    r->ctx = C_RECORD;
    unsigned char b[4];
    uint32_t want = (uint32_t)r->crc;
    long got = read_some(r, b, 4, 0);
    if (got < 0)
        return -1;
    if (got != 4) {
        set_err(r, "truncated: input ends inside the record CRC");
        return -1;
    }
    if ((uint32_t)get_le(b, 4) != want) {
        set_err(r, "CRC mismatch (record corrupted)");
        return -1;
    }
    r->state = R_BETWEEN;
    r->ctx = C_BETWEEN;
    r->file_records++;
    r->stream_records++;
    r->total++;
    clear_seen(r);
    return 0;
}

int ts_read(ts_reader *r, ts_record *rec)
{
    int nt;
    int b = ts_read_begin(r, rec, &nt);
    if (b <= 0)
        return b;
    for (int i = 0; i < nt; i++) {
        ts_tensor info;
        if (ts_read_tensor_info(r, &info) < 0)
            goto fail;
        void *data = malloc(info.nbytes ? info.nbytes : 1);
        if (!data) {
            set_err(r, "out of memory for %zu bytes", info.nbytes);
            goto fail;
        }
        size_t off = 0;
        while (off < info.nbytes) {
            ssize_t n = ts_read_tensor_data(r, (char *)data + off, info.nbytes - off);
            if (n <= 0) {
                free(data);
                if (n == 0)
                    internal_error(r, "short tensor data");
                goto fail;
            }
            off += (size_t)n;
        }
        r->in_tensor = 0;
        ts_tensor *t = ts_tensor_adopt(rec, r->tname, info.dtype, info.rank, info.shape, data);
        t->compress = info.compress;
    }
    if (ts_read_finish(r) < 0)
        goto fail;
    return 1;
fail:
    ts_record_free(rec);
    return -1;
}

int ts_read_or_die(ts_reader *r, ts_record *rec)
{
    int rc = ts_read(r, rec);
    if (rc < 0)
        tf_die("%s", r->err);
    return rc;
}

int ts_read_begin_or_die(ts_reader *r, ts_record *rec, int *n_tensors)
{
    int rc = ts_read_begin(r, rec, n_tensors);
    if (rc < 0)
        tf_die("%s", r->err);
    return rc;
}

/* =========================== writer =========================== */

struct ts_writer {
    FILE *f;
    char *name;
    int header_done;
    long records;
    int level, compress_mode;
    char err[768];
    int err_errno;
    uLong crc;
    int in_record, tensors_left;
    uint64_t data_left;
    char **seen; /* tensor names of the record being written */
    int n_seen, cap_seen;
    char *iobuf;
};

ts_writer *ts_writer_open(FILE *f, const char *name)
{
    ts_writer *w = tf_calloc(1, sizeof *w, "writer");
    w->f = f;
    w->name = tf_strdup(name);
    w->level = 6;
    w->compress_mode = -1;
    /* A large buffer for files and pipes (not for memory streams, which
     * glibc cannot re-buffer). */
    if (fileno(f) >= 0) {
        w->iobuf = tf_malloc(IOBUF, "output buffer");
        if (setvbuf(f, w->iobuf, _IOFBF, IOBUF) != 0) {
            free(w->iobuf);
            w->iobuf = NULL;
        }
    }
    return w;
}

const char *ts_writer_error(const ts_writer *w) { return w->err; }
void ts_writer_set_level(ts_writer *w, int level) { w->level = level < 0 ? 6 : level > 9 ? 9 : level; }
void ts_writer_set_compress(ts_writer *w, int mode) { w->compress_mode = mode; }
long ts_writer_records(const ts_writer *w) { return w->records; }

static int wset_err(ts_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int wset_err(ts_writer *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(w->err, sizeof w->err, "%s: record %ld: %s", w->name, w->records, msg);
    return -1;
}

static int wbytes(ts_writer *w, const void *p, size_t n, int crc)
{
    if (n && fwrite(p, 1, n, w->f) != n) {
        w->err_errno = errno;
        return wset_err(w, "write error: %s", strerror(errno));
    }
    if (crc && n)
        w->crc = crc_update(w->crc, p, n);
    return 0;
}

static int write_header(ts_writer *w)
{
    if (w->header_done)
        return 0;
    unsigned char h[16];
    memcpy(h, MAGIC, 8);
    put_le(h + 8, TS_VERSION, 4);
    put_le(h + 12, 0, 4);
    if (wbytes(w, h, 16, 0) < 0)
        return -1;
    w->header_done = 1;
    return 0;
}

static void wclear_seen(ts_writer *w)
{
    for (int i = 0; i < w->n_seen; i++)
        free(w->seen[i]);
    w->n_seen = 0;
}

int ts_write_begin(ts_writer *w, const ts_record *rec, int n_tensors)
{
    if (w->in_record)
        return wset_err(w, "internal error: previous record not finished");
    if (n_tensors < 0 || n_tensors > TS_MAX_TENSORS)
        return wset_err(w, "%d tensors (limit %d)", n_tensors, TS_MAX_TENSORS);
    if (rec->n_attrs < 0 || rec->n_attrs > TS_MAX_ATTRS)
        return wset_err(w, "%d attributes (limit %d)", rec->n_attrs, TS_MAX_ATTRS);
    for (int i = 0; i < rec->n_attrs; i++) {
        const char *k = rec->attrs[i].key, *why = ts_check_name(k, strlen(k));
        if (why)
            return wset_err(w, "attribute key '%.255s': %s", k, why);
        if (strlen(rec->attrs[i].value) > TS_MAX_VALUE)
            return wset_err(w, "attribute '%s': value longer than %d bytes", k, TS_MAX_VALUE);
        for (int j = 0; j < i; j++)
            if (strcmp(rec->attrs[j].key, k) == 0)
                return wset_err(w, "attribute '%s' appears twice", k);
    }
    if (write_header(w) < 0)
        return -1;
    w->crc = crc32(0L, Z_NULL, 0);
    unsigned char b[12];
    memcpy(b, TAG_REC, 4);
    put_le(b + 4, (uint64_t)rec->n_attrs, 4);
    put_le(b + 8, (uint64_t)n_tensors, 4);
    if (wbytes(w, b, 12, 1) < 0)
        return -1;
    for (int i = 0; i < rec->n_attrs; i++) {
        size_t kl = strlen(rec->attrs[i].key), vl = strlen(rec->attrs[i].value);
        put_le(b, kl, 2);
        if (wbytes(w, b, 2, 1) < 0 || wbytes(w, rec->attrs[i].key, kl, 1) < 0)
            return -1;
        put_le(b, vl, 4);
        if (wbytes(w, b, 4, 1) < 0 || wbytes(w, rec->attrs[i].value, vl, 1) < 0)
            return -1;
    }
    w->in_record = 1;
    w->tensors_left = n_tensors;
    w->data_left = 0;
    wclear_seen(w);
    return 0;
}

/* Checks a tensor's name, dtype and shape; returns its data size in *nbytes. */
static int check_tensor(ts_writer *w, const ts_tensor *t, uint64_t *nbytes)
{
    const char *why = t->name ? ts_check_name(t->name, strlen(t->name)) : "no name";
    if (why)
        return wset_err(w, "tensor name '%.255s': %s", t->name ? t->name : "", why);
    if (ts_dtype_size(t->dtype) == 0)
        return wset_err(w, "tensor '%s': unknown dtype %d", t->name, (int)t->dtype);
    if (t->rank < 0 || t->rank > TS_MAX_RANK)
        return wset_err(w, "tensor '%s': rank %d outside [0, %d]", t->name, t->rank, TS_MAX_RANK);
    uint64_t n = ts_dtype_size(t->dtype);
    int zero = 0;
    for (int i = 0; i < t->rank; i++) {
        if (t->shape[i] < 0 || (uint64_t)t->shape[i] > TS_MAX_DIM)
            return wset_err(w, "tensor '%s': dimension %d is %lld", t->name, i, (long long)t->shape[i]);
        if (t->shape[i] == 0)
            zero = 1;
        else if (!zero) {
            if (n > UINT64_MAX / (uint64_t)t->shape[i])
                return wset_err(w, "tensor '%s': too large", t->name);
            n *= (uint64_t)t->shape[i];
        }
    }
    *nbytes = zero ? 0 : n;
    return 0;
}

static int write_tensor_header(ts_writer *w, const ts_tensor *t, int comp, uint64_t stored)
{
    if (!w->in_record || w->tensors_left <= 0 || w->data_left)
        return wset_err(w,
                        "tensor '%s': internal error: more tensors than announced, or the previous one "
                        "incomplete",
                        t->name);
    for (int i = 0; i < w->n_seen; i++)
        if (strcmp(w->seen[i], t->name) == 0)
            return wset_err(w, "tensor '%s': appears twice in the record", t->name);
    if (w->n_seen == w->cap_seen) {
        w->cap_seen = w->cap_seen ? 2 * w->cap_seen : 16;
        w->seen = tf_realloc(w->seen, (size_t)w->cap_seen * sizeof *w->seen, "names");
    }
    w->seen[w->n_seen++] = tf_strdup(t->name);
    unsigned char b[8 * TS_MAX_RANK + 16];
    size_t nl = strlen(t->name);
    put_le(b, nl, 2);
    if (wbytes(w, b, 2, 1) < 0 || wbytes(w, t->name, nl, 1) < 0)
        return -1;
    b[0] = (unsigned char)t->dtype;
    b[1] = (unsigned char)comp;
    b[2] = (unsigned char)t->rank;
    b[3] = 0;
    for (int i = 0; i < t->rank; i++)
        put_le(b + 4 + 8 * i, (uint64_t)t->shape[i], 8);
    put_le(b + 4 + 8 * t->rank, stored, 8);
    if (wbytes(w, b, 12 + 8 * (size_t)t->rank, 1) < 0)
        return -1;
    w->tensors_left--;
    return 0;
}

int ts_write_tensor_info(ts_writer *w, const ts_tensor *t)
{
    uint64_t n;
    if (check_tensor(w, t, &n) < 0 || write_tensor_header(w, t, TS_RAW, n) < 0)
        return -1;
    w->data_left = n;
    return 0;
}

int ts_write_tensor_data(ts_writer *w, const void *buf, size_t n)
{
    if (!w->in_record || n > w->data_left)
        return wset_err(w, "internal error: more tensor data than its shape holds");
    if (wbytes(w, buf, n, 1) < 0)
        return -1;
    w->data_left -= n;
    return 0;
}

int ts_write_finish(ts_writer *w)
{
    if (!w->in_record || w->tensors_left != 0 || w->data_left != 0)
        return wset_err(w, "internal error: record finished before all its tensors and data were written");
    unsigned char b[4];
    put_le(b, (uint32_t)w->crc, 4);
    if (wbytes(w, b, 4, 0) < 0)
        return -1;
    w->in_record = 0;
    w->records++;
    wclear_seen(w);
    return 0;
}

int ts_write(ts_writer *w, const ts_record *rec)
{
    for (int i = 0; i < rec->n_tensors; i++) {
        const ts_tensor *t = &rec->tensors[i];
        uint64_t n;
        if (check_tensor(w, t, &n) < 0)
            return -1;
        if (t->nbytes != n || (n && !t->data))
            return wset_err(w, "tensor '%s': internal error: %zu data bytes for a shape of %llu", t->name, t->nbytes,
                            (unsigned long long)n);
    }
    if (ts_write_begin(w, rec, rec->n_tensors) < 0)
        return -1;
    for (int i = 0; i < rec->n_tensors; i++) {
        const ts_tensor *t = &rec->tensors[i];
        int comp = w->compress_mode >= 0 ? w->compress_mode : t->compress;
        if (comp == TS_ZLIB && t->nbytes > 0) {
            uLongf zl = compressBound((uLong)t->nbytes);
            unsigned char *z = malloc(zl);
            if (!z)
                return wset_err(w, "tensor '%s': out of memory compressing", t->name);
            if (compress2(z, &zl, t->data, (uLong)t->nbytes, w->level) != Z_OK) {
                free(z);
                return wset_err(w, "tensor '%s': zlib compression failed", t->name);
            }
            int rc = write_tensor_header(w, t, TS_ZLIB, zl) < 0 || wbytes(w, z, zl, 1) < 0;
            free(z);
            if (rc)
                return -1;
        } else {
            if (ts_write_tensor_info(w, t) < 0 || ts_write_tensor_data(w, t->data, t->nbytes) < 0)
                return -1;
        }
    }
    return ts_write_finish(w);
}

static int write_end(ts_writer *w)
{
    if (w->in_record)
        return wset_err(w, "internal error: closing inside a record");
    if (write_header(w) < 0)
        return -1;
    unsigned char b[16];
    memcpy(b, TAG_END, 4);
    put_le(b + 4, (uint64_t)w->records, 8);
    put_le(b + 12, crc32(0L, b, 12), 4);
    if (wbytes(w, b, 16, 0) < 0)
        return -1;
    if (fflush(w->f) != 0) {
        w->err_errno = errno;
        return wset_err(w, "write error: %s", strerror(errno));
    }
    return 0;
}

void ts_writer_free(ts_writer *w)
{
    if (!w)
        return;
    /* Detach our buffer: glibc flushes and makes the FILE unbuffered, so it
     * never points to freed memory (stdout is used again at exit). */
    if (w->iobuf) {
        fflush(w->f);
        setvbuf(w->f, NULL, _IONBF, 0);
    }
    free(w->iobuf);
    wclear_seen(w);
    free(w->seen);
    free(w->name);
    free(w);
}

int ts_writer_close(ts_writer *w)
{
    int rc = write_end(w);
    if (rc == 0) {
        ts_writer_free(w);
        return 0;
    }
    return -1;
}

_Noreturn void ts_writer_die(ts_writer *w)
{
    if (w->err_errno == EPIPE) {
        errno = EPIPE;
        tf_exit_on_epipe();
    }
    tf_die("%s", w->err);
}

void ts_write_or_die(ts_writer *w, const ts_record *rec)
{
    if (ts_write(w, rec) < 0)
        ts_writer_die(w);
}

void ts_writer_close_or_die(ts_writer *w)
{
    if (ts_writer_close(w) < 0)
        ts_writer_die(w);
}

ts_reader *ts_open_inputs_or_die(int n, char *const *paths)
{
    int uses_stdin = n == 0;
    for (int i = 0; i < n; i++)
        if (strcmp(paths[i], "-") == 0)
            uses_stdin = 1;
    if (uses_stdin && isatty(0))
        tf_usage_error("no input: standard input is a terminal; pipe a tensor stream in or name files");
    return ts_reader_open(n, paths);
}

ts_writer *ts_open_stdout_or_die(void)
{
    tf_refuse_tty(stdout, "tensor stream");
    return ts_writer_open(stdout, "stdout");
}
