/* The tensor stream: the one format every tfswa tool reads and writes.
 * Specification: formats/tensor-stream.md and man/tensor-stream.5.
 *
 * A stream is a header, records, and an explicit end marker. A record is
 * one example (a training segment or a whole track): key=value attributes
 * and named tensors. Every record carries a CRC-32; every length is checked
 * against limits before anything is allocated; tensors may be zlib
 * compressed. Reading and writing never seek.
 *
 * Error reporting: reader/writer functions return a negative value on error
 * and keep a message "FILE: record N: tensor 'NAME': what" available from
 * ts_reader_error / ts_writer_error. The *_or_die helpers print it as
 * "tool: message" and exit 1 (a closed downstream pipe exits 0 quietly). */
#ifndef TFSWA_STREAM_TS_H
#define TFSWA_STREAM_TS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define TS_VERSION 1
#define TS_MAX_RANK 8
#define TS_MAX_NAME 255     /* bytes in a tensor name or attribute key */
#define TS_MAX_VALUE 65535  /* bytes in an attribute value */
#define TS_MAX_TENSORS 4096 /* tensors per record */
#define TS_MAX_ATTRS 4096   /* attributes per record */
#define TS_MAX_DIM (1ull << 40)
#define TS_DEFAULT_MAX_TENSOR_BYTES (8ull << 30) /* env TFSWA_MAX_TENSOR_BYTES overrides */

typedef enum {
    TS_F32 = 1,  /* float32 */
    TS_F64 = 2,  /* float64 */
    TS_C64 = 3,  /* complex64: interleaved float32 (re, im) */
    TS_C128 = 4, /* complex128: interleaved float64 (re, im) */
    TS_I16 = 5,
    TS_I32 = 6,
    TS_I64 = 7,
    TS_U8 = 8,
} ts_dtype;

enum { TS_RAW = 0, TS_ZLIB = 1 }; /* tensor payload compression */

typedef struct {
    char *name;
    ts_dtype dtype;
    int rank;
    int64_t shape[TS_MAX_RANK];
    void *data; /* nbytes, C order; little-endian on disk and in memory (hosts are little-endian) */
    size_t nbytes;
    int compress; /* TS_RAW or TS_ZLIB: how it was read, and how it will be written */
} ts_tensor;

typedef struct {
    char *key;
    char *value;
} ts_attr;

typedef struct {
    ts_attr *attrs;
    int n_attrs, cap_attrs;
    ts_tensor *tensors;
    int n_tensors, cap_tensors;
} ts_record;

/* ---- dtypes ---- */
size_t ts_dtype_size(ts_dtype d);      /* 0 for an unknown dtype */
const char *ts_dtype_name(ts_dtype d); /* "f32", "c64", ...; "?" if unknown */
int ts_dtype_from_name(const char *s); /* -1 if unknown */
int64_t ts_numel(const ts_tensor *t);

/* ---- records ---- */
void ts_record_init(ts_record *r);
void ts_record_free(ts_record *r);                        /* frees everything; r is empty and reusable after */
void ts_record_move(ts_record *dst, ts_record *src);      /* dst freed, takes src's contents; src emptied */
int ts_record_copy(ts_record *dst, const ts_record *src); /* deep copy into an empty dst */

const char *ts_attr_get(const ts_record *r, const char *key); /* NULL when absent */
void ts_attr_set(ts_record *r, const char *key, const char *value);
void ts_attr_setf(ts_record *r, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ts_attr_remove(ts_record *r, const char *key);
/* Parses an integer / real attribute. Returns 0, -1 when absent, -2 when malformed. */
int ts_attr_get_i64(const ts_record *r, const char *key, int64_t *out);
int ts_attr_get_f64(const ts_record *r, const char *key, double *out);

ts_tensor *ts_tensor_get(const ts_record *r, const char *name); /* NULL when absent */
/* Adds a tensor with zeroed data (replacing one of the same name in place).
 * Dies on invalid name/shape or out of memory. */
ts_tensor *ts_tensor_add(ts_record *r, const char *name, ts_dtype dtype, int rank, const int64_t *shape);
/* The same, taking ownership of data (malloc'ed, nbytes matching shape). */
ts_tensor *ts_tensor_adopt(ts_record *r, const char *name, ts_dtype dtype, int rank, const int64_t *shape, void *data);
void ts_tensor_remove(ts_record *r, const char *name);
/* Renames in place; an existing tensor with the new name is removed first. */
void ts_tensor_rename(ts_record *r, const char *old_name, const char *new_name);

/* Name and key rules (also enforced by the reader): 1..255 bytes of
 * [A-Za-z0-9_.+-] separated by single '/', no empty, "." or ".." part.
 * Values: up to 65535 bytes, no NUL. Returns NULL if valid, else a reason. */
const char *ts_check_name(const char *name, size_t len);

/* ---- reading ---- */
typedef struct ts_reader ts_reader;

/* Reads the concatenation of the named files in order ("-" is stdin); with
 * n == 0, stdin. Files are opened lazily; a missing file is reported by the
 * read that reaches it. */
ts_reader *ts_reader_open(int n, char *const *paths);
/* Reads from an already open FILE, named in messages by name. Not closed by us. */
ts_reader *ts_reader_open_file(FILE *f, const char *name);
void ts_reader_close(ts_reader *r);
const char *ts_reader_error(const ts_reader *r);
const char *ts_reader_name(const ts_reader *r); /* current file name */
long ts_reader_record(const ts_reader *r);      /* index in current file of the record last begun */
long ts_reader_total(const ts_reader *r);       /* records read completely, all files */
void ts_reader_set_max_tensor_bytes(ts_reader *r, uint64_t max);
/* The tensor size limit: TFSWA_MAX_TENSOR_BYTES if it is a positive decimal
 * number of bytes, otherwise TS_DEFAULT_MAX_TENSOR_BYTES. Readers start with it. */
uint64_t ts_max_tensor_bytes(void);

/* Reads the next record into rec (which is freed first). Returns 1 for a
 * record, 0 at the clean end of all inputs, -1 on error. */
int ts_read(ts_reader *r, ts_record *rec);
/* Same, but on error prints "tool: message" and exits 1. */
int ts_read_or_die(ts_reader *r, ts_record *rec);

/* Streaming access for records too large to hold in memory:
 * ts_read_begin (attributes into rec, tensor count into *n_tensors), then
 * per tensor ts_read_tensor_info (name, dtype, shape, compress; data NULL)
 * and ts_read_tensor_data until it returns 0, then ts_read_finish, which
 * verifies the CRC. Same return conventions as ts_read. */
/* ts_read_tensor_info sets t->name to the reader's own copy of the name
 * (valid until the next ts_read_tensor_info; never free it) and t->data to
 * NULL. ts_read_tensor_data returns the number of bytes stored into buf (1..max,
 * at most 1 GiB per call), 0 once the tensor's data are complete (or max is
 * 0), -1 on error. A tensor's unread data are skipped (and checked) by the
 * next ts_read_tensor_info or ts_read_finish. */
int ts_read_begin(ts_reader *r, ts_record *rec, int *n_tensors);
int ts_read_begin_or_die(ts_reader *r, ts_record *rec, int *n_tensors); /* on error: message, exit 1 */
int ts_read_tensor_info(ts_reader *r, ts_tensor *t);
ssize_t ts_read_tensor_data(ts_reader *r, void *buf, size_t max);
int ts_read_finish(ts_reader *r);

/* ---- writing ---- */
typedef struct ts_writer ts_writer;

/* Writes to f (named in messages by name). The stream header is written
 * with the first record or at close. A FILE with a descriptor (a file, a
 * pipe, stdout) gets a 1 MiB buffer while the writer lives and is left
 * flushed and unbuffered by ts_writer_close / ts_writer_free. */
ts_writer *ts_writer_open(FILE *f, const char *name);
/* Writes the end marker and flushes (does not fclose f); frees w. Returns 0 or -1. */
int ts_writer_close(ts_writer *w);
void ts_writer_free(ts_writer *w); /* frees without writing the end marker */
const char *ts_writer_error(const ts_writer *w);
long ts_writer_records(const ts_writer *w);             /* records written completely so far */
void ts_writer_set_level(ts_writer *w, int zlib_level); /* for TS_ZLIB tensors, default 6 */
/* Forces compression of every tensor written (1), forbids it (0), or keeps each tensor's own (-1, default). */
void ts_writer_set_compress(ts_writer *w, int mode);

int ts_write(ts_writer *w, const ts_record *rec);
void ts_write_or_die(ts_writer *w, const ts_record *rec);
void ts_writer_close_or_die(ts_writer *w);
/* After a failed write: exits 0 quietly if the downstream pipe was closed,
 * else prints "tool: message" and exits 1. */
_Noreturn void ts_writer_die(ts_writer *w);

/* Streaming writing of raw (uncompressed) tensors: ts_write_begin with
 * the attributes of rec (its tensors are ignored) and the tensor count, then
 * per tensor ts_write_tensor_info and ts_write_tensor_data (exactly nbytes
 * in total, in any number of pieces), then ts_write_finish. */
int ts_write_begin(ts_writer *w, const ts_record *rec, int n_tensors);
int ts_write_tensor_info(ts_writer *w, const ts_tensor *t);
int ts_write_tensor_data(ts_writer *w, const void *buf, size_t n);
int ts_write_finish(ts_writer *w);

/* ---- tool conveniences ---- */
/* Opens the inputs named on the command line (stdin when none), dying with
 * a usage error when stdin is a terminal and no file is named. */
ts_reader *ts_open_inputs_or_die(int n, char *const *paths);
/* A writer on stdout, refusing a terminal. */
ts_writer *ts_open_stdout_or_die(void);

#endif
