#include "train/prefetch.h"
#include "util/cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct prefetch {
    ts_reader *r;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    ts_record *queue;
    int cap, head, count;
    int done, failed, stop, exited, in_read, detached;
    int64_t skip, handed;
    char err[1024];
};

static void free_all(prefetch *p)
{
    for (int i = 0; i < p->count; i++)
        ts_record_free(&p->queue[(p->head + i) % p->cap]);
    free(p->queue);
    ts_reader_close(p->r);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->can_put);
    pthread_cond_destroy(&p->can_get);
    free(p);
}

static void *reader_main(void *arg)
{
    prefetch *p = arg;
    ts_record rec;
    ts_record_init(&rec);
    for (;;) {
        int rc = ts_read(p->r, &rec);
        pthread_mutex_lock(&p->mu);
        p->in_read = 0;
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        if (rc <= 0) {
            if (rc < 0) {
                p->failed = 1;
                snprintf(p->err, sizeof p->err, "%s", ts_reader_error(p->r));
            }
            p->done = 1;
            pthread_cond_broadcast(&p->can_get);
            pthread_mutex_unlock(&p->mu);
            break;
        }
        if (p->skip > 0) {
            p->skip--;
            p->in_read = 1;
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        while (p->count == p->cap && !p->stop)
            pthread_cond_wait(&p->can_put, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        int slot = (p->head + p->count) % p->cap;
        ts_record_move(&p->queue[slot], &rec);
        p->count++;
        p->in_read = 1;
        pthread_cond_signal(&p->can_get);
        pthread_mutex_unlock(&p->mu);
    }
    ts_record_free(&rec);
    pthread_mutex_lock(&p->mu);
    p->exited = 1;
    int detached = p->detached;
    pthread_mutex_unlock(&p->mu);
    if (detached)
        free_all(p); /* the consumer has gone: this thread cleans up */
    return NULL;
}

prefetch *prefetch_start(ts_reader *r, int capacity, int64_t skip)
{
    prefetch *p = tf_calloc(1, sizeof *p, "prefetch");
    p->r = r;
    p->cap = capacity < 1 ? 1 : capacity;
    p->skip = skip;
    p->queue = tf_calloc((size_t)p->cap, sizeof *p->queue, "prefetch queue");
    p->in_read = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->can_put, NULL);
    pthread_cond_init(&p->can_get, NULL);
    if (pthread_create(&p->thread, NULL, reader_main, p) != 0)
        tf_die("cannot start the reader thread");
    return p;
}

int prefetch_next(prefetch *p, ts_record *rec)
{
    ts_record_free(rec);
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->done)
        pthread_cond_wait(&p->can_get, &p->mu);
    int rc;
    if (p->count > 0) {
        ts_record_move(rec, &p->queue[p->head]);
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->handed++;
        pthread_cond_signal(&p->can_put);
        rc = 1;
    } else {
        rc = p->failed ? -1 : 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

const char *prefetch_error(const prefetch *p) { return p->err; }
int64_t prefetch_count(const prefetch *p) { return p->handed; }

void prefetch_stop(prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->can_put);
    /* A thread waiting for queue space, or finished, ends now; one blocked
     * reading cannot be interrupted: it is detached and frees everything
     * itself when its read returns (an endless producer keeps it until exit). */
    int joinable = !p->in_read || p->done;
    if (!joinable)
        p->detached = 1;
    pthread_mutex_unlock(&p->mu);
    if (joinable) {
        pthread_join(p->thread, NULL);
        free_all(p);
    } else {
        pthread_detach(p->thread);
    }
}
