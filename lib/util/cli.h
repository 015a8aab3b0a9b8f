/* Command-line plumbing shared by every tool: program name, error messages
 * of the form "tool: where: what", exit statuses (0 ok, 1 runtime error,
 * 2 usage), number parsing, binary-to-terminal refusal, threads. */
#ifndef TFSWA_UTIL_CLI_H
#define TFSWA_UTIL_CLI_H

#include <stdio.h>
#include <stdint.h>

enum { TF_EXIT_OK = 0, TF_EXIT_ERROR = 1, TF_EXIT_USAGE = 2 };

extern const char *tf_progname;

/* Call first in main(): sets tf_progname from argv[0], ignores SIGPIPE (a
 * closed downstream pipe then shows up as EPIPE and tf_exit_on_epipe ends
 * the program quietly with status 0). */
void tf_init(int argc, char **argv);

/* "prog: <formatted>\n" on stderr, removes pending temporary files
 * (see atomic.h), exits with status 1. */
_Noreturn void tf_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same with an explicit exit status. */
_Noreturn void tf_die_status(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "prog: <formatted>\nTry 'prog --help' for more information.\n", exit 2. */
_Noreturn void tf_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After getopt_long has printed its own message (unknown option, missing
 * value): the "Try --help" line, exit 2. */
_Noreturn void tf_getopt_error(void);
void tf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* If errno is EPIPE (downstream closed), exit 0 quietly. Call after a
 * failed write/fflush before reporting the error. */
void tf_exit_on_epipe(void);

/* Exit 2 with a clear message when f is a terminal: tools never write
 * binary streams to a terminal. */
void tf_refuse_tty(FILE *f, const char *what);

/* Strict number parsing for option values: whole string must parse and lie
 * in [min, max]; otherwise a usage error naming the option. */
long tf_parse_long(const char *opt, const char *s, long min, long max);
double tf_parse_double(const char *opt, const char *s, double min, double max);
uint64_t tf_parse_u64(const char *opt, const char *s);

/* Split "a,b,c" into at most max newly allocated strings; returns count.
 * Empty items are a usage error naming opt. Free with tf_free_list. */
int tf_split_list(const char *opt, const char *s, char **out, int max);
void tf_free_list(char **items, int n);

/* One knob for all parallelism: OpenBLAS threads and our own (OpenMP).
 * n <= 0 means the number of online CPUs. */
void tf_set_threads(int n);
int tf_threads(void);
/* OpenBLAS alone, for regions whose own threads each call BLAS: set it to 1
 * there (tf_blas_threads(1)) and back to tf_threads() after. */
void tf_blas_threads(int n);
/* For the heavy tools (model, metrics, Wiener filter): all online CPUs
 * unless TFSWA_THREADS is set (tf_init's default is one thread, or
 * TFSWA_THREADS). Call right after tf_init, before options (-j wins). */
void tf_threads_default_all(void);

/* For library functions that report errors to their caller: formats the
 * message into err (errlen bytes) and returns -1. */
int tf_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Checked allocation: dies with a message naming what on failure. */
void *tf_malloc(size_t n, const char *what);
void *tf_calloc(size_t n, size_t size, const char *what);
void *tf_realloc(void *p, size_t n, const char *what);
char *tf_strdup(const char *s);
char *tf_strndup(const char *s, size_t n);             /* at most n bytes of s; dies on out of memory */
char *tf_path_join(const char *dir, const char *name); /* "dir/name", newly allocated */

#endif
