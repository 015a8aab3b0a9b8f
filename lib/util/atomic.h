/* Atomic output files: write to a temporary name in the same directory,
 * then fsync and rename over the final name. A program that dies through
 * tf_die (or calls tf_atomic_abort_all) leaves no half-written file. */
#ifndef TFSWA_UTIL_ATOMIC_H
#define TFSWA_UTIL_ATOMIC_H

#include <stdio.h>

typedef struct tf_atomic {
    char *path; /* final name */
    char *tmp;  /* temporary name while open */
    FILE *f;
    struct tf_atomic *next; /* registry of open files, for tf_atomic_abort_all */
} tf_atomic;

/* Opens a temporary file beside path for writing ("wb"). Returns NULL and
 * sets errno on failure. The struct must stay alive until commit/abort. */
FILE *tf_atomic_open(tf_atomic *a, const char *path);
/* Flushes, fsyncs, closes and renames to the final name (then fsyncs the
 * directory). Returns 0, or -1 with errno set (the temporary is removed). */
int tf_atomic_commit(tf_atomic *a);
/* Closes and removes the temporary file. */
void tf_atomic_abort(tf_atomic *a);
/* Aborts every open atomic file (called by tf_die). */
void tf_atomic_abort_all(void);

/* mkdir -p; returns 0 or -1 with errno set. */
int tf_mkdirs(const char *path);

#endif
