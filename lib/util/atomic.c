#include "util/atomic.h"
#include "util/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static tf_atomic *g_open;

static void unlink_registry(tf_atomic *a)
{
    for (tf_atomic **p = &g_open; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    a->next = NULL;
}

FILE *tf_atomic_open(tf_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path);
    a->path = tf_strdup(path);
    a->tmp = tf_malloc(n + 16, "temporary file name");
    snprintf(a->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        errno = e;
        return NULL;
    }
    fchmod(fd, 0644);
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        errno = e;
        return NULL;
    }
    a->next = g_open;
    g_open = a;
    return a->f;
}

static void fsync_dir(const char *path)
{
    char *copy = tf_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int tf_atomic_commit(tf_atomic *a)
{
    int rc = 0, e = 0;
    if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0) {
        rc = -1;
        e = errno;
    }
    if (fclose(a->f) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    a->f = NULL;
    unlink_registry(a);
    if (rc == 0 && rename(a->tmp, a->path) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0)
        unlink(a->tmp);
    else
        fsync_dir(a->path);
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    errno = e;
    return rc;
}

void tf_atomic_abort(tf_atomic *a)
{
    if (!a->tmp)
        return;
    if (a->f)
        fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
    unlink_registry(a);
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
}

void tf_atomic_abort_all(void)
{
    while (g_open)
        tf_atomic_abort(g_open);
}

int tf_mkdirs(const char *path)
{
    char *p = tf_strdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    int e = errno;
    free(p);
    errno = e;
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) != 0)
            return -1;
        if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return rc;
}
