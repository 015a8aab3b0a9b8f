/* tsinfo: describe a tensor stream (records, attributes, tensors, statistics). */
#include "stream/json.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/opts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Describe the tensor streams in FILEs (or standard input): each record's\n"
           "attributes and tensors (name, dtype, shape, compression) with min, max,\n"
           "mean and rms of each tensor (of |z| for complex tensors). Each record is\n"
           "reported as soon as it is read; memory stays bounded for any record size.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 16);
    printf("\n"
           "Exit status: 0 when every stream is complete and intact, 1 on a damaged or\n"
           "truncated stream (the message names the file, record and tensor), 2 on bad usage.\n"
           "See tsinfo(1) and tensor-stream(5).\n");
}

typedef struct {
    double min, max, sum, sumsq;
    uint64_t n, nonfinite;
} stats;

static void stats_add(stats *s, double v)
{
    if (!isfinite(v)) {
        s->nonfinite++;
        return;
    }
    if (s->n == 0 || v < s->min)
        s->min = v;
    if (s->n == 0 || v > s->max)
        s->max = v;
    s->sum += v;
    s->sumsq += v * v;
    s->n++;
}

/* Adds n whole elements of dtype d from buf. Per-chunk partial sums keep
 * the rounding error small for long tensors. */
static void stats_chunk(stats *s, ts_dtype d, const unsigned char *buf, size_t n)
{
    stats c = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double v;
        switch (d) {
        case TS_F32: {
            float x;
            memcpy(&x, buf + 4 * i, 4);
            v = x;
            break;
        }
        case TS_F64: memcpy(&v, buf + 8 * i, 8); break;
        case TS_C64: {
            float z[2];
            memcpy(z, buf + 8 * i, 8);
            v = hypot(z[0], z[1]);
            break;
        }
        case TS_C128: {
            double z[2];
            memcpy(z, buf + 16 * i, 16);
            v = hypot(z[0], z[1]);
            break;
        }
        case TS_I16: {
            int16_t x;
            memcpy(&x, buf + 2 * i, 2);
            v = x;
            break;
        }
        case TS_I32: {
            int32_t x;
            memcpy(&x, buf + 4 * i, 4);
            v = x;
            break;
        }
        case TS_I64: {
            int64_t x;
            memcpy(&x, buf + 8 * i, 8);
            v = (double)x;
            break;
        }
        default: v = buf[i]; break;
        }
        stats_add(&c, v);
    }
    if (c.n) {
        if (s->n == 0 || c.min < s->min)
            s->min = c.min;
        if (s->n == 0 || c.max > s->max)
            s->max = c.max;
    }
    s->sum += c.sum;
    s->sumsq += c.sumsq;
    s->n += c.n;
    s->nonfinite += c.nonfinite;
}

/* An attribute value for a text line: control characters and backslashes escaped. */
static void print_value(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", stdout);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
}

static void print_shape(const ts_tensor *t, const char *sep)
{
    putchar('[');
    for (int i = 0; i < t->rank; i++)
        printf("%s%lld", i ? sep : "", (long long)t->shape[i]);
    putchar(']');
}

static void flush_or_die(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        tf_exit_on_epipe();
        tf_die("stdout: write error: %s", strerror(errno));
    }
}

enum { MODE_TEXT, MODE_BRIEF, MODE_JSON };

typedef struct {
    ts_tensor t;
    char *name;
    stats st;
} tinfo;

static void print_stat(double v) { printf("%.6g", v); }

static void report(int mode, const char *file, long index, const ts_record *rec, const tinfo *ti, int nt)
{
    uint64_t bytes = 0;
    for (int i = 0; i < nt; i++)
        bytes += ti[i].t.nbytes;
    if (mode == MODE_JSON) {
        fputs("{\"file\": ", stdout);
        json_write_string(stdout, file, strlen(file));
        printf(", \"record\": %ld, \"bytes\": %llu, \"attrs\": {", index, (unsigned long long)bytes);
        for (int i = 0; i < rec->n_attrs; i++) {
            fputs(i ? ", " : "", stdout);
            json_write_string(stdout, rec->attrs[i].key, strlen(rec->attrs[i].key));
            fputs(": ", stdout);
            json_write_string(stdout, rec->attrs[i].value, strlen(rec->attrs[i].value));
        }
        fputs("}, \"tensors\": [", stdout);
        for (int i = 0; i < nt; i++) {
            const ts_tensor *t = &ti[i].t;
            const stats *s = &ti[i].st;
            fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
            json_write_string(stdout, ti[i].name, strlen(ti[i].name));
            printf(", \"dtype\": \"%s\", \"shape\": ", ts_dtype_name(t->dtype));
            print_shape(t, ", ");
            printf(", \"compression\": \"%s\", \"bytes\": %zu", t->compress == TS_ZLIB ? "zlib" : "raw", t->nbytes);
            printf(", \"count\": %llu, \"nonfinite\": %llu, \"min\": ", (unsigned long long)s->n,
                   (unsigned long long)s->nonfinite);
            json_write_number(stdout, s->n ? s->min : NAN);
            fputs(", \"max\": ", stdout);
            json_write_number(stdout, s->n ? s->max : NAN);
            fputs(", \"mean\": ", stdout);
            json_write_number(stdout, s->n ? s->sum / (double)s->n : NAN);
            fputs(", \"rms\": ", stdout);
            json_write_number(stdout, s->n ? sqrt(s->sumsq / (double)s->n) : NAN);
            putchar('}');
        }
        fputs("]}\n", stdout);
        return;
    }
    if (mode == MODE_BRIEF) {
        printf("%s%srecord %ld:", file ? file : "", file ? ": " : "", index);
        for (int i = 0; i < nt; i++) {
            printf(" %s %s", ti[i].name, ts_dtype_name(ti[i].t.dtype));
            print_shape(&ti[i].t, ",");
            if (ti[i].t.compress == TS_ZLIB)
                fputs(" zlib", stdout);
            fputs(i + 1 < nt ? "," : "", stdout);
        }
        fputs(rec->n_attrs ? ";" : "", stdout);
        for (int i = 0; i < rec->n_attrs; i++) {
            printf(" %s=", rec->attrs[i].key);
            print_value(rec->attrs[i].value);
        }
        putchar('\n');
        return;
    }
    printf("%s%srecord %ld: %d attribute%s, %d tensor%s, %llu bytes\n", file ? file : "", file ? ": " : "", index,
           rec->n_attrs, rec->n_attrs == 1 ? "" : "s", nt, nt == 1 ? "" : "s", (unsigned long long)bytes);
    for (int i = 0; i < rec->n_attrs; i++) {
        printf("  @%s = ", rec->attrs[i].key);
        print_value(rec->attrs[i].value);
        putchar('\n');
    }
    for (int i = 0; i < nt; i++) {
        const ts_tensor *t = &ti[i].t;
        const stats *s = &ti[i].st;
        printf("  %s  %s ", ti[i].name, ts_dtype_name(t->dtype));
        print_shape(t, ", ");
        printf("%s", t->compress == TS_ZLIB ? " zlib" : "");
        if (s->n) {
            int cplx = t->dtype == TS_C64 || t->dtype == TS_C128;
            printf("  %smin ", cplx ? "|z| " : "");
            print_stat(s->min);
            fputs(" max ", stdout);
            print_stat(s->max);
            fputs(" mean ", stdout);
            print_stat(s->sum / (double)s->n);
            fputs(" rms ", stdout);
            print_stat(sqrt(s->sumsq / (double)s->n));
        } else if (!s->nonfinite) {
            fputs("  (empty)", stdout);
        }
        if (s->nonfinite)
            printf("  %llu non-finite", (unsigned long long)s->nonfinite);
        putchar('\n');
    }
}

static void mode_brief(const tf_opt *o, const char *arg) { *(int *)o->var = MODE_BRIEF; }
static void mode_json(const tf_opt *o, const char *arg) { *(int *)o->var = MODE_JSON; }

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    int mode = MODE_TEXT;
    tf_opt opts[] = {
        {"brief", 'b', TF_OPT_CALL, &mode, NULL, 0, 0, mode_brief,
         "one line per record: attributes and tensor shapes, no statistics"},
        {"json", 'j', TF_OPT_CALL, &mode, NULL, 0, 0, mode_json,
         "one JSON object per record (JSON Lines), for scripts"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    int nfiles = argc - first;
    /* static: still reachable (not reported as leaks) when an error exits */
    static ts_reader *r;
    static unsigned char *buf;
    static ts_record rec;
    static tinfo *ti;
    r = ts_open_inputs_or_die(nfiles, argv + first);
    const size_t CHUNK = 1 << 20;
    buf = tf_malloc(CHUNK, "data buffer");
    ts_record_init(&rec);
    int nti = 0;
    long total = 0;
    for (;;) {
        int nt;
        if (ts_read_begin_or_die(r, &rec, &nt) == 0)
            break;
        for (int i = 0; i < nti; i++)
            free(ti[i].name);
        nti = 0;
        ti = tf_realloc(ti, (size_t)(nt ? nt : 1) * sizeof *ti, "tensor list");
        for (int i = 0; i < nt; i++) {
            if (ts_read_tensor_info(r, &ti[i].t) < 0)
                tf_die("%s", ts_reader_error(r));
            ti[i].name = tf_strdup(ti[i].t.name);
            nti = i + 1;
            memset(&ti[i].st, 0, sizeof ti[i].st);
            size_t es = ts_dtype_size(ti[i].t.dtype), have = 0;
            for (;;) {
                ssize_t n = ts_read_tensor_data(r, buf + have, CHUNK - have);
                if (n < 0)
                    tf_die("%s", ts_reader_error(r));
                if (n == 0)
                    break;
                have += (size_t)n;
                size_t whole = have / es * es;
                if (mode != MODE_BRIEF)
                    stats_chunk(&ti[i].st, ti[i].t.dtype, buf, whole / es);
                memmove(buf, buf + whole, have - whole);
                have -= whole;
            }
        }
        if (ts_read_finish(r) < 0)
            tf_die("%s", ts_reader_error(r));
        const char *file = nfiles > 1 || mode == MODE_JSON ? ts_reader_name(r) : NULL;
        report(mode, file, ts_reader_record(r), &rec, ti, nt);
        flush_or_die();
        total++;
    }
    if (mode == MODE_TEXT) {
        printf("%ld record%s\n", total, total == 1 ? "" : "s");
        flush_or_die();
    }
    for (int i = 0; i < nti; i++)
        free(ti[i].name);
    free(ti);
    free(buf);
    ts_record_free(&rec);
    ts_reader_close(r);
    return 0;
}
