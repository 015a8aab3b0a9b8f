/* npy2ts: pack a tree of .npy files and attrs.json (as ts2npy writes it)
 * into a tensor stream. */
#include "stream/json.h"
#include "stream/npy.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/opts.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... DIR\n"
           "Pack DIR, a folder of record folders as ts2npy(1) writes them, into a tensor\n"
           "stream on standard output. Every folder of DIR named by digits only (000000,\n"
           "000001, ...) is one record, in numeric order; in it, every FILE.npy (in\n"
           "subfolders too) is a tensor named by its path without .npy, and attrs.json\n"
           "(optional) a flat JSON object whose values become the record's attributes.\n"
           "Tensors are written in name order. Names starting with '.' are ignored.\n"
           "\n"
           ".npy files: format 1.0, 2.0 or 3.0, little-endian, C or Fortran order (read\n"
           "into C order, as numpy does), dtype float32, float64, complex64, complex128,\n"
           "int16, int32, int64 or uint8.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 20);
    printf("\n"
           "Exit status: 0 on success, 1 on a bad file (the message names it), 2 on bad\n"
           "usage. See npy2ts(1), ts2npy(1), tensor-stream(5).\n");
}

typedef struct {
    char *name; /* tensor name */
    char *path; /* file */
    npy_info h;
} item;

typedef struct {
    item *v;
    int n, cap;
} items;

static int is_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static uint64_t g_max;

/* Collects the .npy files under dir (rel: the name prefix, "" at the top). */
static void scan(const char *dir, const char *rel, items *out, int top)
{
    DIR *d = opendir(dir);
    if (!d)
        tf_die("%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = tf_path_join(dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            tf_die("%s: %s", path, strerror(errno));
        char *name = *rel ? tf_path_join(rel, e->d_name) : tf_strdup(e->d_name);
        size_t nl = strlen(name);
        if (S_ISDIR(st.st_mode)) {
            scan(path, name, out, 0);
            free(path);
            free(name);
            continue;
        }
        if (top && strcmp(e->d_name, "attrs.json") == 0) {
            free(path);
            free(name);
            continue;
        }
        if (!S_ISREG(st.st_mode) || nl < 5 || strcmp(name + nl - 4, ".npy") != 0)
            tf_die("%s: not a .npy file%s", path, top ? " or attrs.json" : "");
        name[nl - 4] = 0;
        const char *why = ts_check_name(name, nl - 4);
        if (why)
            tf_die("%s: '%s' cannot be a tensor name: %s", path, name, why);
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 16;
            out->v = tf_realloc(out->v, (size_t)out->cap * sizeof *out->v, "file list");
        }
        if (out->n == TS_MAX_TENSORS)
            tf_die("%s: more than %d tensors in one record", dir, TS_MAX_TENSORS);
        item *it = &out->v[out->n++];
        it->name = name;
        it->path = path;
        char err[512];
        FILE *f = fopen(path, "rb");
        if (!f)
            tf_die("%s: %s", path, strerror(errno));
        if (npy_read_header(f, &it->h, g_max, err, sizeof err) < 0)
            tf_die("%s: %s", path, err);
        fclose(f);
        uint64_t have = (uint64_t)st.st_size - (uint64_t)it->h.data_offset;
        if ((uint64_t)st.st_size < (uint64_t)it->h.data_offset || have != it->h.nbytes)
            tf_die("%s: holds %lld data bytes but its header describes %llu", path,
                   (long long)st.st_size - it->h.data_offset, (unsigned long long)it->h.nbytes);
    }
    closedir(d);
}

static int by_name(const void *a, const void *b) { return strcmp(((const item *)a)->name, ((const item *)b)->name); }

static void read_attrs(const char *dir, ts_record *rec)
{
    char *path = tf_path_join(dir, "attrs.json");
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno != ENOENT)
            tf_die("%s: %s", path, strerror(errno));
        free(path);
        return;
    }
    size_t cap = 4096, n = 0;
    char *text = tf_malloc(cap, "attrs.json");
    for (;;) {
        if (n == cap) {
            if (cap >= ((size_t)64 << 20))
                tf_die("%s: larger than 64 MiB", path);
            cap *= 2;
            text = tf_realloc(text, cap, "attrs.json");
        }
        size_t got = fread(text + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        tf_die("%s: read error: %s", path, strerror(errno));
    fclose(f);
    json_pair *pairs;
    char err[512];
    int np = json_parse_flat_object(text, n, &pairs, err, sizeof err);
    if (np < 0)
        tf_die("%s: %s", path, err);
    if (np > TS_MAX_ATTRS)
        tf_die("%s: %d attributes (limit %d)", path, np, TS_MAX_ATTRS);
    for (int i = 0; i < np; i++) {
        const char *why = ts_check_name(pairs[i].key, strlen(pairs[i].key));
        if (why)
            tf_die("%s: key \"%s\": %s", path, pairs[i].key, why);
        if (strlen(pairs[i].value) > TS_MAX_VALUE)
            tf_die("%s: \"%s\": value longer than %d bytes", path, pairs[i].key, TS_MAX_VALUE);
        ts_attr_set(rec, pairs[i].key, pairs[i].value);
    }
    json_pairs_free(pairs, np);
    free(text);
    free(path);
}

static FILE *open_data(const item *it)
{
    FILE *f = fopen(it->path, "rb");
    if (!f)
        tf_die("%s: %s", it->path, strerror(errno));
    if (fseek(f, it->h.data_offset, SEEK_SET) != 0)
        tf_die("%s: %s", it->path, strerror(errno));
    return f;
}

static void read_fully(const item *it, FILE *f, void *buf, size_t n)
{
    if (fread(buf, 1, n, f) != n)
        tf_die("%s: %s", it->path, ferror(f) ? strerror(errno) : "file shrank while being read");
}

/* Reads the data of it into dst (h.nbytes bytes) in C order: Fortran-order
 * data are read a chunk at a time through buf and transposed. */
static void read_tensor(const item *it, void *dst, unsigned char *buf, size_t chunk)
{
    FILE *f = open_data(it);
    if (!it->h.fortran) {
        read_fully(it, f, dst, it->h.nbytes);
    } else {
        npy_fortran t;
        npy_fortran_init(&t, ts_dtype_size(it->h.dtype), it->h.rank, it->h.shape);
        for (uint64_t left = it->h.nbytes; left;) {
            size_t n = left < chunk ? (size_t)left : chunk;
            read_fully(it, f, buf, n);
            npy_fortran_put(&t, dst, buf, n);
            left -= n;
        }
    }
    fclose(f);
}

/* The record folders of top (digits only), in numeric order; *n gets their count. */
static char **list_records(const char *top, int *n)
{
    DIR *d = opendir(top);
    if (!d)
        tf_die("%s: %s", top, strerror(errno));
    static char **recs; /* static: reachable (not a leak) when a later error exits */
    int nrec = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (!is_digits(de->d_name) || strlen(de->d_name) > 18)
            tf_die("%s/%s: not a record folder (expected digits only, such as 000000)", top, de->d_name);
        if (nrec == cap) {
            cap = cap ? 2 * cap : 64;
            recs = tf_realloc(recs, (size_t)cap * sizeof *recs, "record list");
        }
        recs[nrec++] = tf_strdup(de->d_name);
    }
    closedir(d);
    /* numeric order; two names of the same number are ambiguous */
    for (int i = 1; i < nrec; i++)
        for (int j = i; j > 0; j--) {
            long long a = atoll(recs[j - 1]), b = atoll(recs[j]);
            if (a == b)
                tf_die("%s: '%s' and '%s' are the same record number", top, recs[j - 1], recs[j]);
            if (a < b)
                break;
            char *t = recs[j];
            recs[j] = recs[j - 1];
            recs[j - 1] = t;
        }
    *n = nrec;
    return recs;
}

/* Writes the record rec with the tensors its, each read whole and compressed. */
static void write_record_zlib(ts_writer *w, ts_record *rec, const items *its, unsigned char *buf, size_t chunk)
{
    for (int i = 0; i < its->n; i++) {
        const item *it = &its->v[i];
        ts_tensor *t = ts_tensor_add(rec, it->name, it->h.dtype, it->h.rank, it->h.shape);
        read_tensor(it, t->data, buf, chunk);
        t->compress = TS_ZLIB;
    }
    if (ts_write(w, rec) < 0)
        ts_writer_die(w);
}

/* Writes the record rec with the tensors its, copied chunk by chunk (a
 * Fortran-order tensor is transposed whole, in memory). */
static void write_record_stream(ts_writer *w, ts_record *rec, const items *its, unsigned char *buf, size_t chunk)
{
    if (ts_write_begin(w, rec, its->n) < 0)
        ts_writer_die(w);
    for (int i = 0; i < its->n; i++) {
        const item *it = &its->v[i];
        ts_tensor t = {.name = it->name, .dtype = it->h.dtype, .rank = it->h.rank};
        memcpy(t.shape, it->h.shape, sizeof t.shape);
        if (ts_write_tensor_info(w, &t) < 0)
            ts_writer_die(w);
        if (it->h.fortran) {
            static void *whole; /* static: reachable when an error exits */
            whole = tf_malloc((size_t)it->h.nbytes, it->path);
            read_tensor(it, whole, buf, chunk);
            if (ts_write_tensor_data(w, whole, (size_t)it->h.nbytes) < 0)
                ts_writer_die(w);
            free(whole);
            whole = NULL;
            continue;
        }
        FILE *f = open_data(it);
        for (uint64_t left = it->h.nbytes; left;) {
            size_t n = left < chunk ? (size_t)left : chunk;
            read_fully(it, f, buf, n);
            if (ts_write_tensor_data(w, buf, n) < 0)
                ts_writer_die(w);
            left -= n;
        }
        fclose(f);
    }
    if (ts_write_finish(w) < 0)
        ts_writer_die(w);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    int zlib = 0, level = 6;
    tf_opt opts[] = {
        {"zlib", 'z', TF_OPT_FLAG, &zlib, NULL, 0, 0, NULL,
         "compress every tensor with zlib (the record is then held\n"
         "in memory; without it, tensors are copied piece by piece)"},
        {"level", 'l', TF_OPT_INT, &level, "N", 1, 9, NULL, "zlib level 1..9 (default 6)"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    if (first >= argc)
        tf_usage_error("missing DIR (a folder as ts2npy writes it)");
    if (argc - first > 1)
        tf_usage_error("one DIR only ('%s' is extra)", argv[first + 1]);
    const char *top = argv[first];
    g_max = ts_max_tensor_bytes();
    int nrec;
    char **recs = list_records(top, &nrec);

    static ts_writer *w;
    w = ts_open_stdout_or_die();
    ts_writer_set_level(w, level);
    const size_t CHUNK = 1 << 20;
    static unsigned char *buf;
    buf = tf_malloc(CHUNK, "data buffer");
    for (int ri = 0; ri < nrec; ri++) {
        static char *dir;
        dir = tf_path_join(top, recs[ri]);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            tf_die("%s: not a folder", dir);
        static items its;
        memset(&its, 0, sizeof its);
        scan(dir, "", &its, 1);
        if (its.n > 1)
            qsort(its.v, (size_t)its.n, sizeof *its.v, by_name);
        static ts_record rec;
        ts_record_init(&rec);
        read_attrs(dir, &rec);
        if (zlib)
            write_record_zlib(w, &rec, &its, buf, CHUNK);
        else
            write_record_stream(w, &rec, &its, buf, CHUNK);
        ts_record_free(&rec);
        for (int i = 0; i < its.n; i++) {
            free(its.v[i].name);
            free(its.v[i].path);
        }
        free(its.v);
        free(dir);
        free(recs[ri]);
    }
    free(recs);
    free(buf);
    ts_writer_close_or_die(w);
    return 0;
}
