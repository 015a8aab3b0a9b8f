/* The few lib/util functions the stream code uses, for the fuzz targets
 * (no OpenMP or OpenBLAS to link): a tf_die reached from a reader is a bug,
 * so it aborts. */
#include "util/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *tf_progname = "fuzz";

static _Noreturn void fuzz_abort(const char *fmt, va_list ap)
{
    fprintf(stderr, "fuzz: unexpected exit: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    abort();
}

_Noreturn void tf_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fuzz_abort(fmt, ap);
}

_Noreturn void tf_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fuzz_abort(fmt, ap);
}

void tf_exit_on_epipe(void) {}
void tf_refuse_tty(FILE *f, const char *what) { (void)f, (void)what; }

void *tf_malloc(size_t n, const char *what)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    (void)what;
    return p;
}

void *tf_calloc(size_t n, size_t size, const char *what)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    (void)what;
    return p;
}

void *tf_realloc(void *p, size_t n, const char *what)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    (void)what;
    return q;
}

char *tf_strdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}
