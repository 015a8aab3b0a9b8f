#include "util/cli.h"
#include "util/atomic.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <omp.h>

const char *tf_progname = "tfswa";

static int g_threads = 1;

void openblas_set_num_threads(int);

void tf_init(int argc, char **argv)
{
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        tf_progname = slash ? slash + 1 : argv[0];
        argv[0] = (char *)tf_progname; /* getopt's own messages say "sdr: ...", not "build/bin/sdr: ..." */
    }
    signal(SIGPIPE, SIG_IGN);
    const char *env = getenv("TFSWA_THREADS");
    tf_set_threads(env ? atoi(env) : 1);
}

static void vmsg(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", tf_progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

_Noreturn void tf_die_status(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    tf_atomic_abort_all();
    exit(status);
}

_Noreturn void tf_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    tf_atomic_abort_all();
    exit(TF_EXIT_ERROR);
}

_Noreturn void tf_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", tf_progname);
    tf_atomic_abort_all();
    exit(TF_EXIT_USAGE);
}

_Noreturn void tf_getopt_error(void)
{
    fprintf(stderr, "Try '%s --help' for more information.\n", tf_progname);
    tf_atomic_abort_all();
    exit(TF_EXIT_USAGE);
}

void tf_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
}

void tf_exit_on_epipe(void)
{
    if (errno == EPIPE) {
        /* _exit: nothing more can be written, and exit() would run leak
         * checkers and atexit handlers over a program stopped mid-work. */
        tf_atomic_abort_all();
        _exit(TF_EXIT_OK);
    }
}

void tf_refuse_tty(FILE *f, const char *what)
{
    if (isatty(fileno(f)))
        tf_die_status(TF_EXIT_USAGE,
                      "refusing to write a binary %s to a terminal; "
                      "redirect it to a file or pipe it into another tool",
                      what);
}

long tf_parse_long(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        tf_usage_error("%s: '%s' is not an integer", opt, s);
    if (v < min || v > max)
        tf_usage_error("%s: %ld is out of range [%ld, %ld]", opt, v, min, max);
    return v;
}

double tf_parse_double(const char *opt, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        tf_usage_error("%s: '%s' is not a number", opt, s);
    if (v < min || v > max)
        tf_usage_error("%s: %g is out of range [%g, %g]", opt, v, min, max);
    return v;
}

uint64_t tf_parse_u64(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    if (*s == '-')
        tf_usage_error("%s: '%s' must not be negative", opt, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        tf_usage_error("%s: '%s' is not a non-negative integer", opt, s);
    return (uint64_t)v;
}

int tf_split_list(const char *opt, const char *s, char **out, int max)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0)
            tf_usage_error("%s: empty item in '%s'", opt, s);
        if (n == max)
            tf_usage_error("%s: more than %d items in '%s'", opt, max, s);
        out[n] = tf_malloc(len + 1, "list item");
        memcpy(out[n], p, len);
        out[n][len] = 0;
        n++;
        if (!c)
            break;
        p = c + 1;
    }
    return n;
}

void tf_free_list(char **items, int n)
{
    for (int i = 0; i < n; i++)
        free(items[i]);
}

void tf_set_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    g_threads = n;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int tf_threads(void) { return g_threads; }

void tf_blas_threads(int n) { openblas_set_num_threads(n > 0 ? n : 1); }

void tf_threads_default_all(void)
{
    if (!getenv("TFSWA_THREADS"))
        tf_set_threads(0);
}

void *tf_malloc(size_t n, const char *what)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        tf_die("out of memory allocating %zu bytes for %s", n, what);
    return p;
}

void *tf_calloc(size_t n, size_t size, const char *what)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        tf_die("out of memory allocating %zu x %zu bytes for %s", n, size, what);
    return p;
}

void *tf_realloc(void *p, size_t n, const char *what)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        tf_die("out of memory allocating %zu bytes for %s", n, what);
    return q;
}

char *tf_strdup(const char *s) { return tf_strndup(s, strlen(s)); }

char *tf_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = tf_malloc(len + 1, "string");
    memcpy(d, s, len);
    d[len] = 0;
    return d;
}

char *tf_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = tf_malloc(n, "path");
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}
