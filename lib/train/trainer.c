/* The training loop (lib/train/trainer.h). */
#include "train/trainer.h"

#include "dsp/stft.h"
#include "metrics/bsseval.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "model/grad.h"
#include "model/mask.h"
#include "nn/precision.h"
#include "stream/ts.h"
#include "train/dist.h"
#include "train/loss.h"
#include "train/optim.h"
#include "train/prefetch.h"
#include "train/tblog.h"
#include "util/cli.h"
#include "util/atomic.h"
#include "util/progress.h"

#include <errno.h>
#include <omp.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/resource.h>
#include <pthread.h>
#include <unistd.h>

static volatile sig_atomic_t g_signal;
static int g_sigpipe[2] = {-1, -1}; /* several ranks: wakes the saver thread */
static void on_signal(int s)
{
    g_signal = s;
    dist_stopping(); /* several ranks: a failing collective now waits for rank 0's save (one store: signal-safe) */
    if (g_sigpipe[1] >= 0) {
        int e = errno;
        unsigned char b = (unsigned char)s;
        if (write(g_sigpipe[1], &b, 1) < 0) { /* nothing to do in a handler */
        }
        errno = e;
    }
}

void train_options_default(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 4;
    o->epoch_size = 1000;
    o->max_epochs = 100;
    o->warmup = -1;
    o->lr = 1e-3;
    o->weight_decay = 1e-2;
    o->clip = 5.0;
    /* the squared error alone: with L1 and the MR-STFT loss (the seed's
     * recipe) the band model learned to silence the vocals (tfswa-net(1)) */
    o->l1_weight = 0.0;
    o->l2_weight = 1.0;
    o->mrstft_weight = 0.0;
    o->save_every = 100;
    o->log_every = 10;
    o->valid_every = 1;
    o->recompute = 0;
}

typedef struct {
    FILE *f;
    char path[4096];
} csv_log;

typedef struct {
    const train_options *o;
    tfswa_model m;
    const char *src; /* name of the training input, for messages */
    int F, S, T;     /* T: frames of every example (from the first) */
    int64_t len;     /* samples of every example */
    float *m1, *v1, *grad;
    float *ema, *swap; /* --ema: the average of the weights, and room to swap it with them */
    int64_t step, examples, total, warmup;
    double best_valid; /* the best validation score so far, lower is better: the loss, or minus the mean SDR */
    int64_t best_step;
    csv_log csv, vcsv; /* LOG_DIR/train.csv, valid.csv (f NULL without --log-dir) */
    tblog tb;
    int have_tb;
    stem_loss_ctx **loss; /* scratch, one per thread of the loss regions (which
                             run at most n_loss threads: num_threads) */
    int n_loss;
    double t_start, cpu_start; /* this sitting's start: wall clock, process CPU seconds */
} trainer;

/* Several ranks: held while the training state changes (update, best
 * model), so that a signal's save (saver_main) sees a completed step;
 * g_done (under it): the run's own final save is made, the saver has
 * nothing to do. */
static pthread_mutex_t g_state_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_done;

/* The team size of a region that uses the loss scratches: the usual one, but
 * never more threads than scratches, so that omp_get_thread_num() indexes
 * them and no two threads share one (the results do not depend on it). */
static int loss_threads(const trainer *t)
{
    int n = omp_get_max_threads();
    return n < t->n_loss ? n : t->n_loss;
}

/* ---- examples ---- */
static const float *tensor_or_die(const trainer *t, const ts_record *r, int64_t idx, const char *name, int F, int T)
{
    ts_tensor *x = ts_tensor_get(r, name);
    if (!x)
        tf_die("%s: record %lld: no tensor '%s' (training examples need 'mixture' and every stem of the model, "
               "as spectrograms from stft)",
               t->src, (long long)idx, name);
    if (x->dtype != TS_C64 || x->rank != 3 || x->shape[0] != 2 || x->shape[1] != F || (T > 0 && x->shape[2] != T))
        tf_die("%s: record %lld: tensor '%s' is %s of rank %d; needs c64 (2, %d, %s) (stft with n_fft %d, hop %d; "
               "examples of equal length: musdb-slice --segment)",
               t->src, (long long)idx, name, ts_dtype_name(x->dtype), x->rank, F,
               T > 0 ? "the first example's frames" : "frames", t->m.cfg.n_fft, t->m.cfg.hop);
    if (T <= 0 && x->shape[2] < TFSWA_MIN_FRAMES)
        tf_die("%s: record %lld: tensor '%s' has %lld frames; training needs at least %d", t->src, (long long)idx, name,
               (long long)x->shape[2], TFSWA_MIN_FRAMES);
    return x->data;
}

static int64_t example_length(const trainer *t, const ts_record *r, int T)
{
    int64_t len;
    if (ts_attr_get_i64(r, "length", &len) == 0 && stft_length_fits(len, T, t->m.cfg.hop))
        return len;
    return (int64_t)(T - 1) * t->m.cfg.hop;
}

/* ---- the weights' moving average (--ema) ---- */

/* The model's parameters <-> the average (validation and saving use the average). */
static void ema_swap(trainer *t)
{
    const size_t bytes = t->m.layout.n_params * sizeof(float);
    memcpy(t->swap, t->m.data, bytes);
    memcpy(t->m.data, t->ema, bytes);
    memcpy(t->ema, t->swap, bytes);
}

/* after update `step` (1, 2, ...): ema += (1 - d) (w - ema), with the decay
 * ramped up as TensorFlow's ExponentialMovingAverage(num_updates) does, so
 * that the average forgets the initial weights quickly */
static void ema_update(trainer *t, int64_t step)
{
    const double d0 = (1.0 + (double)step) / (10.0 + (double)step);
    const float a = (float)(1.0 - (t->o->ema < d0 ? t->o->ema : d0));
    const size_t np = t->m.layout.n_params;
    const float *w = t->m.data;
    float *e = t->ema;
#pragma omp parallel for schedule(static) if (np > 65536)
    for (size_t i = 0; i < np; i++)
        e[i] += a * (w[i] - e[i]);
}

/* ---- checkpoints ---- */
/* with_optim: the working checkpoint (optimiser state, and with --ema the
 * average as the model's weights and the raw weights as train/weights);
 * otherwise the model as it is (FILE.best: run_validation has swapped the
 * average in already). */
static void save(trainer *t, const char *path, int with_optim)
{
    if (dist_rank() != 0) /* one writer: rank 0 (every rank holds the same state) */
        return;
    ts_record ex;
    ts_record_init(&ex);
    size_t np = t->m.layout.n_params;
    const int swap = with_optim && t->ema;
    if (with_optim) {
        int64_t shp[1] = {(int64_t)np};
        memcpy(ts_tensor_add(&ex, "optim/m", TS_F32, 1, shp)->data, t->m1, np * sizeof(float));
        memcpy(ts_tensor_add(&ex, "optim/v", TS_F32, 1, shp)->data, t->v1, np * sizeof(float));
        if (t->ema) {
            memcpy(ts_tensor_add(&ex, "train/weights", TS_F32, 1, shp)->data, t->m.data, np * sizeof(float));
            ts_attr_setf(&ex, "train_ema", "%.17g", t->o->ema);
        }
    }
    if (swap)
        ema_swap(t);
    ts_attr_setf(&ex, "train_step", "%lld", (long long)t->step);
    ts_attr_setf(&ex, "train_examples", "%lld", (long long)t->examples);
    ts_attr_setf(&ex, "train_total_steps", "%lld", (long long)t->total);
    ts_attr_setf(&ex, "train_warmup", "%lld", (long long)t->warmup);
    ts_attr_setf(&ex, "train_lr", "%.17g", t->o->lr);
    ts_attr_setf(&ex, "train_batch", "%d", t->o->batch);
    if (isfinite(t->best_valid)) {
        if (t->o->best_by_sdr)
            ts_attr_setf(&ex, "train_best_valid_sdr", "%.17g", -t->best_valid);
        else
            ts_attr_setf(&ex, "train_best_valid_loss", "%.17g", t->best_valid);
        ts_attr_setf(&ex, "train_best_step", "%lld", (long long)t->best_step);
    }
    char err[1024];
    if (tfswa_ckpt_save(path, &t->m, &ex, err, sizeof err) < 0)
        tf_die("%s", err);
    if (swap)
        ema_swap(t);
    ts_record_free(&ex);
}

static int64_t attr_i64(const ts_record *r, const char *key, int64_t def)
{
    int64_t v;
    return ts_attr_get_i64(r, key, &v) == 0 ? v : def;
}

/* ---- validation ---- */
typedef struct {
    ts_record *recs;
    int n;
    int tmax;
} valid_set;

static void valid_load(trainer *t, valid_set *vs, const char *path)
{
    char *paths[1] = {(char *)path};
    ts_reader *r = ts_open_inputs_or_die(1, paths);
    memset(vs, 0, sizeof *vs);
    ts_record rec;
    ts_record_init(&rec);
    const char *save_src = t->src;
    t->src = path;
    while (ts_read_or_die(r, &rec) == 1) {
        tensor_or_die(t, &rec, vs->n, "mixture", t->F, 0);
        int T = (int)ts_tensor_get(&rec, "mixture")->shape[2];
        for (int s = 0; s < t->S; s++)
            tensor_or_die(t, &rec, vs->n, t->m.cfg.stems[s], t->F, T);
        vs->recs = realloc(vs->recs, sizeof *vs->recs * (size_t)(vs->n + 1));
        if (!vs->recs)
            tf_die("out of memory (validation set)");
        ts_record_init(&vs->recs[vs->n]);
        ts_record_move(&vs->recs[vs->n], &rec);
        if (T > vs->tmax)
            vs->tmax = T;
        vs->n++;
    }
    ts_record_free(&rec);
    ts_reader_close(r);
    t->src = save_src;
    if (vs->n == 0)
        tf_die("%s: no records (the validation stream needs examples with 'mixture' and the stems)", path);
}

static void valid_free(valid_set *vs)
{
    for (int i = 0; i < vs->n; i++)
        ts_record_free(&vs->recs[i]);
    free(vs->recs);
}

/* The validation loss (returned) and global SDR per stem (sdr) of the model,
 * or with mixture_only of the baseline that takes the mixture as every
 * stem's estimate: means over records (the loss also over stems). With
 * several ranks each takes every N-th record and the partial sums are added
 * (dist.h), so every rank returns the same numbers. */
static double validate(trainer *t, const valid_set *vs, double *sdr, int mixture_only)
{
    const tfswa_config *c = &t->m.cfg;
    tfswa_runner *run = mixture_only ? NULL : tfswa_runner_new(&t->m, vs->tmax, 1);
    char err[256];
    const stft_plan *plan = stft_plan_get(c->n_fft, c->hop, err, sizeof err);
    if (!plan)
        tf_die("validation: %s", err);
    double total = 0;
    for (int s = 0; s < t->S; s++)
        sdr[s] = 0;
    double *vl = tf_malloc((size_t)t->S * 2 * sizeof(double), "validation"), *vs_sdr = vl + t->S;
    for (int i = dist_rank(); i < vs->n; i += dist_size()) {
        const ts_record *r = &vs->recs[i];
        ts_tensor *mx = ts_tensor_get(r, "mixture");
        int T = (int)mx->shape[2];
        int64_t len = example_length(t, r, T);
        const float *masks = run ? tfswa_forward(run, mx->data, T, 0, T) : NULL;
        /* the stems in parallel, summed in order after */
#pragma omp parallel for schedule(dynamic, 1) num_threads(loss_threads(t))
        for (int s = 0; s < t->S; s++) {
            stem_loss_ctx *lc = t->loss[omp_get_thread_num()];
            stft_scratch *scr = stft_scratch_new(plan);
            float *est = tf_malloc((size_t)4 * t->F * T * sizeof(float), "validation"),
                  *we = tf_malloc(sizeof(float) * 2 * len, "validation"),
                  *wr = tf_malloc(sizeof(float) * 2 * len, "validation");
            const float *ref = ts_tensor_get(r, c->stems[s])->data;
            if (masks)
                tfswa_estimate(est, masks, c, s, mx->data, t->F, T, 0, T);
            else
                memcpy(est, mx->data, (size_t)4 * t->F * T * sizeof(float));
            vl[s] =
                stem_loss(lc, est, ref, NULL, 2, T, len, energy(mx->data, (size_t)4 * t->F * T), NULL, 0, NULL, NULL);
            for (int ch = 0; ch < 2; ch++) {
                stft_inverse(plan, scr, est + (size_t)ch * t->F * T * 2, T, we + ch * len, len);
                stft_inverse(plan, scr, ref + (size_t)ch * t->F * T * 2, T, wr + ch * len, len);
            }
            vs_sdr[s] = metric_global_sdr(wr, we, (size_t)2 * len);
            free(est);
            free(we);
            free(wr);
            stft_scratch_free(scr);
        }
        for (int s = 0; s < t->S; s++) {
            total += vl[s] / t->S;
            sdr[s] += vs_sdr[s] / vs->n;
        }
    }
    free(vl);
    if (run)
        tfswa_runner_free(run);
    if (dist_size() > 1) {
        double *sum = tf_malloc((size_t)(t->S + 1) * sizeof(double), "validation");
        sum[0] = total;
        memcpy(sum + 1, sdr, (size_t)t->S * sizeof(double));
        dist_sum(sum, (size_t)t->S + 1);
        total = sum[0];
        memcpy(sdr, sum + 1, (size_t)t->S * sizeof(double));
        free(sum);
    }
    return total / vs->n;
}

/* The losses of a batch and their gradients with respect to the masks.
 * The (example, stem) pairs run in parallel, each with its own loss scratch
 * and its own gradient buffer in dest (B S (4 F T) floats); the gradients
 * then reach dmasks in a fixed order (with a residual mask a stem's gradient
 * also reaches the other stems' masks), so the result does not depend on the
 * thread count. sl[s] gets stem s's loss averaged over the batch; returns the
 * total (the mean over examples and stems). B examples here, of a global
 * batch of Bg over all ranks (dist.h): losses and gradients are scaled by
 * 1 / Bg, so that the ranks' sums are the global batch's means. */
static double batch_losses(trainer *t, const float *masks, const float *const *X, const ts_record *recs, int B, int Bg,
                           float *dmasks, float *dest, double *sl)
{
    const tfswa_config *c = &t->m.cfg;
    const int S = t->S, n = B * S;
    const size_t per = (size_t)4 * S * t->F * t->T, spec = (size_t)4 * t->F * t->T;
    const double scale = 1.0 / ((double)Bg * S);
    double *l = tf_malloc((size_t)n * sizeof(double), "losses");
#pragma omp parallel num_threads(loss_threads(t))
    {
        stem_loss_ctx *lc = t->loss[omp_get_thread_num()];
        float *est = tf_malloc(spec * sizeof(float), "estimates");
#pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < n; k++) {
            int b = k / S, s = k % S;
            const float *ref = ts_tensor_get(&recs[b], c->stems[s])->data;
            float *g = dest + (size_t)k * spec;
            tfswa_estimate(est, masks + b * per, c, s, X[b], t->F, t->T, 0, t->T);
            memset(g, 0, spec * sizeof(float));
            l[k] = stem_loss(lc, est, ref, NULL, 2, t->T, t->len, energy(X[b], spec), g, scale, NULL, NULL);
        }
        free(est);
    }
    memset(dmasks, 0, (size_t)B * per * sizeof(float));
    double loss = 0;
    for (int s = 0; s < S; s++)
        sl[s] = 0;
    for (int k = 0; k < n; k++) {
        int b = k / S, s = k % S;
        tfswa_estimate_backward(dmasks + b * per, dest + (size_t)k * spec, c, s, X[b], t->F, t->T);
        sl[s] += l[k] / Bg;
        loss += l[k] * scale;
    }
    free(l);
    return loss;
}

/* ---- where the time goes (reported at the end of a run) ---- */
enum { PH_DATA, PH_FORWARD, PH_LOSS, PH_BACKWARD, PH_COMM, PH_UPDATE, PH_N };

static void phase_lap(double *acc, double *since)
{
    double now = tf_now();
    *acc += now - *since;
    *since = now;
}

static void phase_report(const double *ph, int64_t steps)
{
    if (steps <= 0)
        return;
    static const char *name[PH_N] = {"waiting for examples", "forward", "losses", "backward", "allreduce", "update"};
    double total = 0;
    for (int i = 0; i < PH_N; i++)
        total += ph[i];
    fprintf(stderr, "%s: %.3f s per step:", tf_progname, total / steps);
    for (int i = 0; i < PH_N; i++)
        if (i != PH_COMM || dist_size() > 1) /* the gradients' sum over ranks */
            fprintf(stderr, "%s %s %.3f s", i ? "," : "", name[i], ph[i] / steps);
    fprintf(stderr, "\n");
}

/* ---- logs ---- */
static void open_csv(csv_log *l, const char *dir, const char *name, const char *header)
{
    snprintf(l->path, sizeof l->path, "%s/%s", dir, name);
    struct stat st;
    int fresh = stat(l->path, &st) != 0 || st.st_size == 0;
    l->f = fopen(l->path, "a");
    if (!l->f)
        tf_die("%s: %s", l->path, strerror(errno));
    if (fresh)
        fprintf(l->f, "%s\n", header);
}

/* Ends a line of the log: a failed write (a full disk) is fatal, as for the
 * TensorBoard file, so that a log is never silently cut short. */
static void flush_csv(csv_log *l)
{
    if (fflush(l->f) != 0 || ferror(l->f))
        tf_die("%s: %s", l->path, strerror(errno ? errno : EIO));
}

/* Closes the log; returns 0, or -1 after saying why. */
static int close_csv(csv_log *l)
{
    if (!l->f)
        return 0;
    int bad = ferror(l->f);
    errno = 0;
    if (fclose(l->f) != 0 || bad) {
        tf_warn("%s: %s", l->path, strerror(errno ? errno : EIO));
        return -1;
    }
    l->f = NULL;
    return 0;
}

static void tb(trainer *t, const char *tag, double v)
{
    if (t->have_tb && tblog_scalar(&t->tb, tag, t->step, v) < 0)
        tf_die("%s: %s", t->tb.path, strerror(errno));
}

/* Validation scores to TensorBoard (PREFIX/loss, PREFIX/sdr/STEM) and stderr. */
static void valid_report(trainer *t, const train_options *o, const char *prefix, const char *what, double vl,
                         const double *sdr, const char *tail)
{
    const tfswa_config *c = &t->m.cfg;
    char tag[96];
    snprintf(tag, sizeof tag, "%s/loss", prefix);
    tb(t, tag, vl);
    for (int s = 0; s < t->S; s++) {
        snprintf(tag, sizeof tag, "%s/sdr/%s", prefix, c->stems[s]);
        tb(t, tag, sdr[s]);
    }
    if (!o->quiet) {
        fprintf(stderr, "%s: %s: validation loss %.5f, SDR", tf_progname, what, vl);
        for (int s = 0; s < t->S; s++)
            fprintf(stderr, " %s %.2f dB", c->stems[s], sdr[s]);
        fprintf(stderr, "%s\n", tail);
    }
}

/* Validates, logs (CSV, TensorBoard, stderr) and keeps the best model. */
/* CPU seconds of this process so far, all threads (user + system). */
static double cpu_now(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static void run_validation(trainer *t, const train_options *o, const valid_set *vsp, double *vsdr, int64_t epoch,
                           const char *best_path)
{
    /* with --ema the average is swapped in meanwhile: a signal's save (saver_main) waits for it to be out */
    const int hold = t->ema != NULL;
    if (hold) {
        pthread_mutex_lock(&g_state_mu);
        ema_swap(t);
    }
    double vl = validate(t, vsp, vsdr, 0);
    if (t->vcsv.f) {
        fprintf(t->vcsv.f, "%lld,%lld,%lld,%.9g", (long long)t->step, (long long)epoch, (long long)t->examples, vl);
        for (int s = 0; s < t->S; s++)
            fprintf(t->vcsv.f, ",%.4f", vsdr[s]);
        fprintf(t->vcsv.f, ",%.3f,%.3f\n", tf_now() - t->t_start, cpu_now() - t->cpu_start);
        flush_csv(&t->vcsv);
    }
    char what[64];
    snprintf(what, sizeof what, "epoch %lld step %lld", (long long)epoch, (long long)t->step);
    double score = vl;
    if (o->best_by_sdr) {
        score = 0;
        for (int s = 0; s < t->S; s++)
            score -= vsdr[s] / t->S;
    }
    valid_report(t, o, "valid", what, vl, vsdr, score < t->best_valid ? " (best)" : "");
    if (score < t->best_valid) {
        if (!hold)
            pthread_mutex_lock(&g_state_mu);
        t->best_valid = score;
        t->best_step = t->step;
        save(t, best_path, 0);
        if (!hold)
            pthread_mutex_unlock(&g_state_mu);
    }
    if (hold) {
        ema_swap(t);
        pthread_mutex_unlock(&g_state_mu);
    }
}

/* The baseline a model must beat: the mixture as every stem's estimate, on
 * the validation set, once per run: on stderr, in LOG_DIR/valid-mixture.csv
 * (the columns of valid.csv without step, epoch and examples) and in the
 * TensorBoard file (valid_mixture/loss, valid_mixture/sdr/STEM). */
static void validation_baseline(trainer *t, const train_options *o, const valid_set *vsp)
{
    const tfswa_config *c = &t->m.cfg;
    double *sdr = tf_calloc((size_t)t->S, sizeof(double), "validation");
    double vl = validate(t, vsp, sdr, 1);
    if (o->log_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/valid-mixture.csv", o->log_dir);
        tf_atomic a;
        FILE *f = tf_atomic_open(&a, path);
        if (!f)
            tf_die("%s: %s", path, strerror(errno));
        fprintf(f, "loss");
        for (int s = 0; s < t->S; s++)
            fprintf(f, ",sdr/%s", c->stems[s]);
        fprintf(f, "\n%.9g", vl);
        for (int s = 0; s < t->S; s++)
            fprintf(f, ",%.4f", sdr[s]);
        fprintf(f, "\n");
        if (tf_atomic_commit(&a) < 0)
            tf_die("%s: %s", path, strerror(errno));
    }
    valid_report(t, o, "valid_mixture", "baseline, the mixture as every estimate", vl, sdr, "");
    free(sdr);
}

/* Several ranks: SIGINT/SIGTERM saves at once. mpirun, signalled, sends its
 * ranks SIGTERM and SIGKILL soon after (odls_base_sigkill_timeout, 1 s by
 * default), too soon to finish a step; and a rank that ends makes the
 * others' collectives fail. So rank 0 saves the state of the last completed
 * step from this thread (the main thread holds state_mu while it changes
 * that state) and exits 128 + signal. The other ranks hold nothing to save:
 * they go on until rank 0 ends, which ends the job (their collectives then
 * wait for the SIGKILL instead of aborting: dist_stopping), or, signalled
 * alone, stop with rank 0 at the next step, which saves. (BatchNorm running statistics may
 * hold part of the interrupted step's update: the forward pass updates them.) */
static void *saver_main(void *arg)
{
    trainer *t = arg;
    unsigned char b = 0;
    while (read(g_sigpipe[0], &b, 1) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&g_state_mu);
    if (g_done) { /* the run saved and is ending */
        pthread_mutex_unlock(&g_state_mu);
        return NULL;
    }
    dist_stopping();
    save(t, t->o->model, 1);
    fprintf(stderr, "%s: %s: saved %s at step %lld (%lld examples)\n", tf_progname,
            b == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)", t->o->model, (long long)t->step,
            (long long)t->examples);
    _exit(128 + b);
}

/* Several ranks (dist.h): the same state on every rank, rank 0's. Every
 * rank read the checkpoint, but a node's copy may be stale (a rank 0 on
 * another node rewrote it) or absent from its file system view. */
static void share_state(trainer *t)
{
    if (dist_size() <= 1)
        return;
    dist_bcast_f32(t->m.data, t->m.layout.n_total);
    dist_bcast_f32(t->m1, t->m.layout.n_params);
    dist_bcast_f32(t->v1, t->m.layout.n_params);
    if (t->ema)
        dist_bcast_f32(t->ema, t->m.layout.n_params);
    double v[4] = {(double)t->step, (double)t->examples, t->best_valid, (double)t->best_step};
    dist_bcast_f64(v, 4);
    t->step = (int64_t)v[0];
    t->examples = (int64_t)v[1];
    t->best_valid = v[2];
    t->best_step = (int64_t)v[3];
}

/* ---- the run's phases ---- */

/* Several ranks (dist.h): messages name the rank, --batch-size must divide
 * over the ranks, and only rank 0 shows progress and writes logs. */
static void setup_ranks(train_options *o, int nr, int rank)
{
    static char progname[256];
    if (nr <= 1)
        return;
    snprintf(progname, sizeof progname, "%s (rank %d/%d)", tf_progname, rank, nr);
    tf_progname = progname;
    if (o->batch % nr != 0)
        tf_die_status(TF_EXIT_USAGE,
                      "--batch-size %d is not a multiple of the %d ranks (it is the global batch; "
                      "every rank takes batch/ranks examples a step)",
                      o->batch, nr);
    if (rank > 0) {
        o->quiet = 1;
        o->log_dir = NULL;
    }
}

/* --resume: the optimiser state, step, examples, best score and (with
 * --ema) the raw weights of the run saved in the checkpoint's extra record. */
static void resume_state(trainer *t, const ts_record *extra)
{
    const train_options *o = t->o;
    const size_t np = t->m.layout.n_params;
    ts_tensor *m1 = ts_tensor_get(extra, "optim/m"), *v1 = ts_tensor_get(extra, "optim/v");
    if (!m1 || !v1 || ts_attr_get(extra, "train_step") == NULL)
        tf_die("%s: --resume: the checkpoint holds no training state (optim/m, optim/v, train_step); "
               "train without --resume to start from its weights",
               o->model);
    if (m1->dtype != TS_F32 || v1->dtype != TS_F32 || (size_t)ts_numel(m1) != np || (size_t)ts_numel(v1) != np)
        tf_die("%s: tensor 'optim/m' or 'optim/v' is not f32 (%zu)", o->model, np);
    memcpy(t->m1, m1->data, np * sizeof(float));
    memcpy(t->v1, v1->data, np * sizeof(float));
    t->step = attr_i64(extra, "train_step", 0);
    t->examples = attr_i64(extra, "train_examples", 0);
    double bv;
    const char *mine = o->best_by_sdr ? "train_best_valid_sdr" : "train_best_valid_loss",
               *other = o->best_by_sdr ? "train_best_valid_loss" : "train_best_valid_sdr";
    if (ts_attr_get_f64(extra, mine, &bv) == 0) {
        t->best_valid = o->best_by_sdr ? -bv : bv;
        t->best_step = attr_i64(extra, "train_best_step", 0);
    } else if (ts_attr_get(extra, other)) {
        tf_warn("--resume: the run chose its best model by validation %s; from now on by %s (%s.best is "
                "replaced at the next validation)",
                o->best_by_sdr ? "loss" : "SDR", o->best_by_sdr ? "SDR" : "loss", o->model);
    }
    /* with --ema the model's weights are the average and train/weights the raw weights */
    ts_tensor *raw = ts_tensor_get(extra, "train/weights");
    if (raw && (raw->dtype != TS_F32 || (size_t)ts_numel(raw) != np))
        tf_die("%s: tensor 'train/weights' is not f32 (%zu)", o->model, np);
    if (raw) {
        if (o->ema > 0) {
            t->ema = tf_malloc(np * sizeof(float), "weight average");
            memcpy(t->ema, t->m.data, np * sizeof(float));
        } else {
            tf_warn("--resume: %s holds a weight average (--ema); going on without it, from the raw weights", o->model);
        }
        memcpy(t->m.data, raw->data, np * sizeof(float));
    }
    if (attr_i64(extra, "train_batch", o->batch) != o->batch)
        tf_warn("--resume: batch size %d differs from the run's %lld", o->batch,
                (long long)attr_i64(extra, "train_batch", 0));
}

/* The model, the optimiser's state (resumed or zero), the weights' average,
 * every rank the same (rank 0's), the schedule and the loss scratches. */
static void load_state(trainer *t)
{
    const train_options *o = t->o;
    char err[1024];
    ts_record extra;
    ts_record_init(&extra);
    if (tfswa_ckpt_load(o->model, &t->m, &extra, err, sizeof err) < 0)
        tf_die("%s", err);
    const tfswa_config *c = &t->m.cfg;
    t->F = tfswa_bins(c);
    t->S = c->n_stems;
    const size_t np = t->m.layout.n_params;
    t->m1 = tf_calloc(np, sizeof(float), "optimiser state");
    t->v1 = tf_calloc(np, sizeof(float), "optimiser state");
    t->grad = tf_calloc(t->m.layout.n_total, sizeof(float), "gradients");
    if (o->resume)
        resume_state(t, &extra);
    ts_record_free(&extra);
    if (o->ema > 0 && !t->ema) { /* the average starts at the weights */
        t->ema = tf_malloc(np * sizeof(float), "weight average");
        memcpy(t->ema, t->m.data, np * sizeof(float));
    }
    if (t->ema)
        t->swap = tf_malloc(np * sizeof(float), "weight average");
    share_state(t); /* rank 0's, the average included (every rank has one with --ema) */
    t->total = o->steps > 0 ? o->steps : (o->max_epochs * o->epoch_size + o->batch - 1) / o->batch;
    t->warmup = o->warmup >= 0 ? o->warmup : (t->total / 20 < 1000 ? t->total / 20 : 1000);
    stem_loss_config lc = {.n_fft = c->n_fft,
                           .hop = c->hop,
                           .l1_weight = o->l1_weight,
                           .l2_weight = o->l2_weight,
                           .mrstft_weight = o->mrstft_weight,
                           .sdr_weight = o->sdr_weight,
                           .mr = mrstft_default()};
    t->n_loss = omp_get_max_threads();
    t->loss = tf_calloc((size_t)t->n_loss, sizeof *t->loss, "losses");
    for (int i = 0; i < t->n_loss; i++)
        if (!(t->loss[i] = stem_loss_new(&lc, err, sizeof err)))
            tf_die("loss: %s", err);
}

/* LOG_DIR/train.csv, valid.csv (with a validation set) and the TensorBoard file. */
static void open_logs(trainer *t, const char *dir, int with_valid)
{
    if (tf_mkdirs(dir) < 0)
        tf_die("%s: %s", dir, strerror(errno));
    char hdr[2048] = "step,epoch,examples,lr,grad_norm,loss", vh[2048] = "step,epoch,examples,loss";
    for (int s = 0; s < t->S; s++) {
        size_t l = strlen(hdr), lv = strlen(vh);
        snprintf(hdr + l, sizeof hdr - l, ",loss/%s", t->m.cfg.stems[s]);
        snprintf(vh + lv, sizeof vh - lv, ",sdr/%s", t->m.cfg.stems[s]);
    }
    strcat(hdr, ",time,cpu");
    strcat(vh, ",time,cpu");
    open_csv(&t->csv, dir, "train.csv", hdr);
    if (with_valid)
        open_csv(&t->vcsv, dir, "valid.csv", vh);
    if (tblog_open(&t->tb, dir) < 0)
        tf_die("%s: TensorBoard event file: %s", dir, strerror(errno));
    t->have_tb = 1;
}

/* SIGINT/SIGTERM set g_signal (the loop saves and stops); with several
 * ranks rank 0 also starts the saver thread (saver_main). */
static void catch_signals(trainer *t, int nr, int rank)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (nr > 1 && rank == 0) {
        pthread_t saver;
        if (pipe(g_sigpipe) != 0 || pthread_create(&saver, NULL, saver_main, t) != 0)
            tf_die("signal handling: %s", strerror(errno));
        pthread_detach(saver);
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The buffers of the steps. B examples a step on this rank (of the global
 * batch Bg), Bm of them per forward and backward pass. */
typedef struct {
    int B, Bg, Bm;
    ts_record *recs; /* the step's examples (B) */
    const float **X; /* their mixtures (B) */
    tfswa_tnet *net; /* the network's training state, made at the first batch (its frames) */
    float *dmasks;   /* gradients of a pass's losses w.r.t. its masks (Bm, S, 4 F T) */
    float *dest;     /* the gradient of each (example, stem) pair's loss (Bm S, 4 F T) */
    double *red;     /* several passes or ranks: gradients, buffers, loss, stem losses (n_red), summed in double */
    size_t n_red;
    double *sl, *sl_mb; /* per-stem losses of the step (S) and of a pass (S) */
} step_bufs;

static void step_bufs_init(step_bufs *sb, const trainer *t, int nr)
{
    const train_options *o = t->o;
    memset(sb, 0, sizeof *sb);
    sb->B = o->batch / nr;
    sb->Bg = o->batch;
    /* examples per forward and backward pass: without BatchNorm (band) one,
     * so that the gradient is a sum over examples in double precision and
     * does not depend on how the batch is dealt to ranks; with BatchNorm
     * (its statistics are the pass's) the rank's batch */
    sb->Bm = o->micro_batch > 0 ? o->micro_batch : t->m.cfg.arch == TFSWA_ARCH_BAND ? 1 : sb->B;
    if (sb->B % sb->Bm != 0)
        tf_die_status(TF_EXIT_USAGE, "--micro-batch %d does not divide the %d examples a step%s", sb->Bm, sb->B,
                      nr > 1 ? " of each rank" : "");
    sb->recs = tf_calloc((size_t)sb->B, sizeof *sb->recs, "batch");
    for (int b = 0; b < sb->B; b++)
        ts_record_init(&sb->recs[b]);
    sb->X = tf_calloc((size_t)sb->B, sizeof *sb->X, "batch");
    sb->sl = tf_calloc((size_t)t->S, sizeof(double), "losses");
    sb->sl_mb = tf_calloc((size_t)t->S, sizeof(double), "losses");
    /* the reduced buffer of a step (several ranks): gradients, the buffers
     * (BN running statistics: their mean over ranks), the loss, per-stem losses */
    sb->n_red = t->m.layout.n_total + 1 + (size_t)t->S;
    if (nr > 1 || sb->Bm < sb->B)
        sb->red = tf_malloc(sb->n_red * sizeof(double), "allreduce");
}

static void step_bufs_free(step_bufs *sb)
{
    for (int b = 0; b < sb->B; b++)
        ts_record_free(&sb->recs[b]);
    free(sb->recs);
    free(sb->X);
    tfswa_tnet_free(sb->net);
    free(sb->dmasks);
    free(sb->dest);
    free(sb->red);
    free(sb->sl);
    free(sb->sl_mb);
}

/* Why the loop stops before a step (several ranks: one rank's reason stops all). */
enum { STOP_TIME, STOP_SIGNAL, STOP_END, STOP_N };

/* Reads this rank's B examples of the next step into sb (unless a time
 * limit or signal stops the run first) and sets stop[]. Returns how many
 * it got. */
static int read_batch(trainer *t, prefetch *pf, step_bufs *sb, long long stop[STOP_N])
{
    const train_options *o = t->o;
    stop[STOP_TIME] = o->time_limit > 0 && tf_now() - t->t_start >= o->time_limit * 60;
    stop[STOP_SIGNAL] = g_signal;
    stop[STOP_END] = 0;
    int got = 0;
    for (; !stop[STOP_TIME] && !stop[STOP_SIGNAL] && got < sb->B; got++) {
        int rc = prefetch_next(pf, &sb->recs[got]);
        if (rc < 0)
            tf_die("%s", prefetch_error(pf));
        if (rc == 0)
            break;
        int64_t idx = t->examples + got;
        sb->X[got] = tensor_or_die(t, &sb->recs[got], idx, "mixture", t->F, t->T);
        if (!t->T) {
            t->T = (int)ts_tensor_get(&sb->recs[got], "mixture")->shape[2];
            t->len = example_length(t, &sb->recs[got], t->T);
        }
        for (int s = 0; s < t->S; s++)
            tensor_or_die(t, &sb->recs[got], idx, t->m.cfg.stems[s], t->F, t->T);
    }
    if (!stop[STOP_TIME] && !stop[STOP_SIGNAL] && got < sb->B) {
        stop[STOP_END] = 1;
        if (got > 0)
            tf_warn("%s: %d example(s) at the end of the stream do not fill a batch of %d: not used", t->src, got,
                    sb->B);
    }
    dist_max(stop, STOP_N);
    return got;
}

/* At the first batch, when the examples' frames are known: the network's
 * training state and the gradient buffers (several ranks: all examples of
 * the same length). */
static void make_net(trainer *t, step_bufs *sb, int nr)
{
    if (nr > 1) {
        long long T2[2] = {t->T, -(long long)t->T};
        dist_max(T2, 2);
        if (T2[0] != -T2[1])
            tf_die("%s: examples of %d frames; the ranks' examples range from %lld to %lld frames (give every "
                   "rank the same --segment)",
                   t->src, t->T, -T2[1], T2[0]);
    }
    sb->net = tfswa_tnet_new(&t->m, sb->Bm, t->T, t->o->recompute);
    size_t nm = (size_t)sb->Bm * 4 * t->S * t->F * t->T;
    sb->dmasks = tf_malloc(nm * sizeof(float), "gradients");
    sb->dest = tf_malloc(nm * sizeof(float), "estimates");
}

/* The step's loss (returned), per-stem losses (sb->sl) and gradients
 * (t->grad): forward, losses, backward per micro-batch of Bm examples; with
 * several micro-batches or ranks the gradients are summed in double
 * precision, in example order within the rank, then over ranks (and the
 * buffers, BN's running statistics, averaged over ranks). */
static double step_gradients(trainer *t, step_bufs *sb, int nr, double *ph, double *tp)
{
    const size_t np = t->m.layout.n_params, nt = t->m.layout.n_total;
    const int Bm = sb->Bm;
    double *red = sb->red, loss = 0;
    for (int s = 0; s < t->S; s++)
        sb->sl[s] = 0;
    for (int mb = 0; mb < sb->B / Bm; mb++) {
        const float *masks = tfswa_tnet_forward(sb->net, sb->X + mb * Bm, 1);
        phase_lap(ph + PH_FORWARD, tp);
        double l =
            batch_losses(t, masks, sb->X + mb * Bm, sb->recs + mb * Bm, Bm, sb->Bg, sb->dmasks, sb->dest, sb->sl_mb);
        phase_lap(ph + PH_LOSS, tp);
        if (!isfinite(l))
            tf_die("step %lld: the loss is %g (diverged: lower --lr or raise --clip)", (long long)t->step + 1, l);
        loss += l;
        for (int s = 0; s < t->S; s++)
            sb->sl[s] += sb->sl_mb[s];
        memset(t->grad, 0, nt * sizeof(float));
        tfswa_tnet_backward(sb->net, sb->dmasks, t->grad);
        if (red && mb == 0)
            for (size_t i = 0; i < np; i++)
                red[i] = t->grad[i];
        else if (red)
            for (size_t i = 0; i < np; i++)
                red[i] += t->grad[i];
        phase_lap(ph + PH_BACKWARD, tp);
    }
    if (red) { /* the sums over ranks, in double precision, the same bytes on every rank */
        for (size_t i = np; i < nt; i++)
            red[i] = t->m.data[i];
        red[nt] = loss;
        for (int s = 0; s < t->S; s++)
            red[nt + 1 + s] = sb->sl[s];
        dist_sum(red, sb->n_red);
        for (size_t i = 0; i < np; i++)
            t->grad[i] = (float)red[i];
        for (size_t i = np; i < nt; i++)
            t->m.data[i] = (float)(red[i] / nr);
        loss = red[nt];
        for (int s = 0; s < t->S; s++)
            sb->sl[s] = red[nt + 1 + s];
    }
    phase_lap(ph + PH_COMM, tp);
    return loss;
}

/* The optimiser's step on t->grad (clipped), the average's update, the
 * counters; under the state mutex (a signal's save sees whole steps).
 * Returns the learning rate used; *gn gets the gradients' norm. */
static double update(trainer *t, const adamw_config *ac, int Bg, double *gn)
{
    const size_t np = t->m.layout.n_params;
    pthread_mutex_lock(&g_state_mu);
    *gn = grad_clip_global_norm(t->grad, np, t->o->clip);
    double lr = lr_cosine_warmup(t->step, t->total, t->warmup, t->o->lr, t->o->min_lr);
    adamw_step(t->m.data, t->grad, t->m1, t->v1, np, t->step + 1, (float)lr, ac, NULL);
    if (t->ema)
        ema_update(t, t->step + 1);
    t->step++;
    t->examples += Bg;
    pthread_mutex_unlock(&g_state_mu);
    return lr;
}

/* Means of the losses and gradient norms since the last log line. */
typedef struct {
    double loss, gn;
    double *stem; /* S */
    int n;
} log_acc;

/* Every --log-every steps (and at the last): a line of train.csv and the
 * TensorBoard scalars, from the means since the last one. */
static void log_step(trainer *t, log_acc *a, double lr, double now)
{
    const train_options *o = t->o;
    if (o->log_every <= 0 || (t->step % o->log_every != 0 && t->step != t->total))
        return;
    double ml = a->loss / a->n, mg = a->gn / a->n;
    if (t->csv.f) {
        fprintf(t->csv.f, "%lld,%.6f,%lld,%.9g,%.9g,%.9g", (long long)t->step, (double)t->examples / o->epoch_size,
                (long long)t->examples, lr, mg, ml);
        for (int s = 0; s < t->S; s++)
            fprintf(t->csv.f, ",%.9g", a->stem[s] / a->n);
        fprintf(t->csv.f, ",%.3f,%.3f\n", now - t->t_start, cpu_now() - t->cpu_start);
        flush_csv(&t->csv);
    }
    tb(t, "loss/train", ml);
    char tag[64];
    for (int s = 0; s < t->S; s++) {
        snprintf(tag, sizeof tag, "loss/%s", t->m.cfg.stems[s]);
        tb(t, tag, a->stem[s] / a->n);
    }
    tb(t, "lr", lr);
    tb(t, "grad_norm", mg);
    a->loss = a->gn = 0;
    for (int s = 0; s < t->S; s++)
        a->stem[s] = 0;
    a->n = 0;
}

/* Closes the logs (a log that could not be completed makes the run fail:
 * returns 1, or status as it was) and frees the trainer. */
static int trainer_close(trainer *t, int status)
{
    if ((close_csv(&t->csv) | close_csv(&t->vcsv)) < 0 && status == 0)
        status = 1;
    if (t->have_tb) {
        char tb_path[4096];
        snprintf(tb_path, sizeof tb_path, "%s", t->tb.path);
        if (tblog_close(&t->tb) < 0) {
            tf_warn("%s: %s", tb_path, strerror(errno));
            if (status == 0)
                status = 1;
        }
    }
    for (int i = 0; i < t->n_loss; i++)
        stem_loss_free(t->loss[i]);
    free(t->loss);
    free(t->m1);
    free(t->v1);
    free(t->grad);
    free(t->ema);
    free(t->swap);
    tfswa_model_free(&t->m);
    return status;
}

/* What one sitting (one train_run) carries besides the trainer's state. */
typedef struct {
    int nr;               /* ranks */
    valid_set vs;         /* the validation set (empty without --valid) */
    double *vsdr;         /* its SDR per stem (S) */
    char best_path[4096]; /* FILE.best */
    step_bufs sb;
    prefetch *pf; /* the training stream, read ahead */
    log_acc acc;
    tf_progress prog;
    double ph[PH_N];      /* seconds in each phase of the steps */
    double t_last, speed; /* progress: time of the last step, examples per second (smoothed) */
    int64_t ex_last;      /* examples at the last step */
} sitting;

/* The bookkeeping after a step: the log's sums, progress, the CSV and
 * TensorBoard lines. Returns the epoch the step ended in. */
static int64_t after_step(trainer *t, sitting *r, double loss, double gn, double lr)
{
    r->acc.loss += loss;
    r->acc.gn += gn;
    for (int s = 0; s < t->S; s++)
        r->acc.stem[s] += r->sb.sl[s];
    r->acc.n++;
    double now = tf_now();
    if (now - r->t_last > 0) {
        double sp = (double)(t->examples - r->ex_last) / (now - r->t_last);
        r->speed = r->speed == 0 ? sp : 0.8 * r->speed + 0.2 * sp;
    }
    r->t_last = now;
    r->ex_last = t->examples;
    int64_t epoch = t->examples / t->o->epoch_size;
    char extra_txt[256];
    snprintf(extra_txt, sizeof extra_txt, "epoch %lld loss %.4f %.2f ex/s", (long long)epoch, loss, r->speed);
    tf_progress_update(&r->prog, (double)t->step, extra_txt);
    log_step(t, &r->acc, lr, now);
    return epoch;
}

/* The steps until the steps, epochs, time limit or stream end them
 * (returns why) or a signal does (*sig). Checkpoints every --save-every
 * steps (*saved_step: the last one saved). */
static const char *train_loop(trainer *t, sitting *r, int *sig, int64_t *saved_step)
{
    const train_options *o = t->o;
    step_bufs *sb = &r->sb;
    adamw_config ac = adamw_defaults(o->lr);
    ac.weight_decay = o->weight_decay;
    while (t->step < t->total) {
        double tp = tf_now();
        long long stop[STOP_N];
        int got = read_batch(t, r->pf, sb, stop);
        if (stop[STOP_SIGNAL]) {
            *sig = (int)stop[STOP_SIGNAL];
            return NULL;
        }
        if (stop[STOP_END])
            return r->nr > 1 && got == sb->B ? "end of another rank's training stream" : "end of the training stream";
        if (stop[STOP_TIME])
            return "time limit reached";
        if (!sb->net)
            make_net(t, sb, r->nr);
        phase_lap(r->ph + PH_DATA, &tp);
        double loss = step_gradients(t, sb, r->nr, r->ph, &tp), gn;
        double lr = update(t, &ac, sb->Bg, &gn);
        phase_lap(r->ph + PH_UPDATE, &tp);
        for (int b = 0; b < sb->B; b++)
            ts_record_free(&sb->recs[b]);
        int64_t epoch = after_step(t, r, loss, gn, lr);
        /* validation at the end of every valid_every epochs */
        int64_t prev_epoch = (t->examples - sb->Bg) / o->epoch_size;
        if (o->valid && epoch > prev_epoch && o->valid_every > 0 && epoch % o->valid_every == 0)
            run_validation(t, o, &r->vs, r->vsdr, epoch, r->best_path);
        if (g_signal && r->nr == 1) { /* several ranks: at the top, all together */
            *sig = g_signal;
            return NULL;
        }
        if (o->max_epochs > 0 && o->steps <= 0 && epoch >= o->max_epochs)
            return "epochs done";
        if (o->save_every > 0 && t->step % o->save_every == 0 && t->step < t->total) {
            save(t, o->model, 1);
            *saved_step = t->step;
        }
    }
    return "steps done";
}

/* The sitting's start: the validation set, logs, signals, the stream
 * (skipping what the run consumed before), the step buffers; the baseline
 * and, for a new run, the untrained model's validation. */
static void sitting_start(trainer *t, sitting *r, int rank)
{
    const train_options *o = t->o;
    const int nr = r->nr;
    r->vsdr = tf_calloc((size_t)t->S, sizeof(double), "validation");
    if (o->valid)
        valid_load(t, &r->vs, o->valid);
    snprintf(r->best_path, sizeof r->best_path, "%s.best", o->model);
    if (o->log_dir)
        open_logs(t, o->log_dir, o->valid != NULL);
    catch_signals(t, nr, rank);
    /* the examples each rank's stream gave before (musdb-slice --shard K/N:
     * the N streams are the one-process stream dealt round-robin, so after E
     * examples at a global batch divisible by N each rank consumed E / N of
     * its own, whatever N was then) */
    if (nr > 1 && t->examples % nr != 0)
        tf_warn("--resume: %lld examples consumed is not a multiple of the %d ranks: skipping %lld of this rank's "
                "stream",
                (long long)t->examples, nr, (long long)(t->examples / nr));
    ts_reader *rd = ts_open_inputs_or_die(o->n_inputs, o->inputs);
    step_bufs_init(&r->sb, t, nr);
    r->pf = prefetch_start(rd, 2 * r->sb.B, t->examples / nr);
    r->acc.stem = tf_calloc((size_t)t->S, sizeof(double), "losses");
    /* the sitting's clocks (the logs' time and cpu columns, --time-limit) include its validations */
    t->t_start = tf_now();
    t->cpu_start = cpu_now();
    if (o->valid)
        validation_baseline(t, o, &r->vs);
    /* a new run is validated before its first step: the curves start at the untrained model */
    if (o->valid && t->step == 0 && o->valid_every > 0)
        run_validation(t, o, &r->vs, r->vsdr, 0, r->best_path);
    tf_progress_init(&r->prog, "train", (double)t->total, "steps", !o->quiet);
    r->t_last = tf_now();
    r->ex_last = t->examples;
}

static void sitting_free(sitting *r, int with_valid)
{
    prefetch_stop(r->pf);
    step_bufs_free(&r->sb);
    free(r->acc.stem);
    free(r->vsdr);
    if (with_valid)
        valid_free(&r->vs);
}

/* The run: the state (checkpoint, resume), the sitting's start, the steps,
 * then the final save and the report. */
int train_run(const train_options *o_given)
{
    /* several ranks under mpirun (dist.h): rank 0 alone writes checkpoints,
     * logs and progress; every rank's messages name it */
    const int nr = dist_init(), rank = dist_rank();
    train_options oc = *o_given;
    const train_options *o = &oc;
    setup_ranks(&oc, nr, rank);
    trainer T_, *t = &T_;
    memset(t, 0, sizeof *t);
    t->o = o;
    t->best_valid = INFINITY;
    t->src = o->n_inputs > 0 ? o->inputs[0] : "standard input";
    load_state(t);
    if (o->amp) { /* the linear layers' products in bf16 (nn/precision.h) */
        nn_set_matmul_precision(NN_BF16);
        if (!nn_bf16_hardware())
            tf_warn("--amp: %s", nn_bf16_path());
    }
    sitting r;
    memset(&r, 0, sizeof r);
    r.nr = nr;
    sitting_start(t, &r, rank);
    const int64_t step0 = t->step;
    int64_t saved_step = t->step;
    int sig = 0, status = 0;
    const char *why = train_loop(t, &r, &sig, &saved_step);
    if (sig) {
        why = sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)";
        status = 128 + sig;
    }
    pthread_mutex_lock(&g_state_mu); /* several ranks: no signal's save from now on */
    g_done = 1;
    if (t->step != saved_step || t->step == 0 || o->resume)
        save(t, o->model, 1);
    pthread_mutex_unlock(&g_state_mu);
    tf_progress_done(&r.prog, (double)t->step, why);
    if (!o->quiet) {
        phase_report(r.ph, t->step - step0);
        fprintf(stderr, "%s: %s after %lld steps (%lld examples); saved %s\n", tf_progname, why, (long long)t->step,
                (long long)t->examples, o->model);
    }
    sitting_free(&r, o->valid != NULL);
    status = trainer_close(t, status);
    dist_finalize();
    return status;
}
