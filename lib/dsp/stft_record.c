/* Records through the STFT: stft_record.h. */
#include "dsp/stft_record.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/stft.h"
#include "util/cli.h"

struct stft_engine {
    const stft_plan *plan; /* the scratches belong to this plan */
    stft_scratch **scr;
    int n;
};

stft_engine *stft_engine_new(void)
{
    stft_engine *e = calloc(1, sizeof *e);
    return e;
}

static void drop_scratch(stft_engine *e)
{
    for (int i = 0; i < e->n; i++)
        stft_scratch_free(e->scr[i]);
    free(e->scr);
    e->scr = NULL;
    e->n = 0;
    e->plan = NULL;
}

void stft_engine_free(stft_engine *e)
{
    if (!e)
        return;
    drop_scratch(e);
    free(e);
}

/* Scratch for every thread of the coming parallel region. */
static int engine_prepare(stft_engine *e, const stft_plan *p, char *err, size_t errlen)
{
    int nt = omp_get_max_threads();
    if (e->plan != p || e->n < nt) {
        drop_scratch(e);
        e->scr = calloc((size_t)nt, sizeof *e->scr);
        if (!e->scr)
            goto oom;
        e->n = nt;
        e->plan = p;
        for (int i = 0; i < nt; i++)
            if (!(e->scr[i] = stft_scratch_new(p)))
                goto oom;
    }
    return 0;
oom:
    drop_scratch(e);
    snprintf(err, errlen, "out of memory for STFT work buffers");
    return -1;
}

int stft_is_waveform(const ts_tensor *t) { return t->dtype == TS_F32 && t->rank == 2; }

int stft_is_spectrogram(const ts_tensor *t, int n_fft)
{
    return t->dtype == TS_C64 && t->rank == 3 && t->shape[1] == n_fft / 2 + 1;
}

static int in_list(const char *name, char **list, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static int has_c64_rank3(const ts_record *rec)
{
    for (int i = 0; i < rec->n_tensors; i++)
        if (rec->tensors[i].dtype == TS_C64 && rec->tensors[i].rank == 3)
            return 1;
    return 0;
}

typedef struct {
    int tensor; /* index into the job's tensor list */
    int64_t ch;
    int64_t r0, r1; /* frames (forward) or samples (inverse) */
} task;

/* Pieces per channel so that every thread has work even for one mono
 * tensor: about 4 tasks per thread, none under 64 frames. */
static int64_t pieces(int64_t channels_total, int64_t frames)
{
    int nt = omp_get_max_threads();
    if (nt <= 1 || channels_total <= 0)
        return 1;
    int64_t want = (4 * (int64_t)nt + channels_total - 1) / channels_total;
    int64_t most = frames / 64;
    if (want > most)
        want = most;
    return want < 1 ? 1 : want;
}

#define MAX_ELEMS (1ll << 40)

/* The tensors one call converts and the work on them. */
typedef struct {
    int n;        /* tensors converted */
    int *idx;     /* their indices in the record */
    int64_t *len; /* inverse: their lengths in samples */
    float **out;  /* their new data, NULL once adopted */
    task *tasks;
    int64_t ntask;
} conversion;

static void conversion_free(conversion *c)
{
    if (c->out)
        for (int j = 0; j < c->n; j++)
            free(c->out[j]);
    free(c->idx);
    free(c->len);
    free(c->out);
    free(c->tasks);
}

/* Appends the tasks of tensor j: each of its channels split into np ranges
 * of [0, units) (frames or samples). */
static void add_tasks(conversion *c, int j, int64_t channels, int64_t units, int64_t np)
{
    for (int64_t ch = 0; ch < channels; ch++)
        for (int64_t q = 0; q < np; q++)
            c->tasks[c->ntask++] = (task){j, ch, units * q / np, units * (q + 1) / np};
}

/* Replaces tensor i of rec (same name) by data, which rec takes over. */
static void replace_tensor(ts_record *rec, int i, ts_dtype dtype, int rank, const int64_t *shape, float *data)
{
    char *name = tf_strdup(rec->tensors[i].name);
    ts_tensor_adopt(rec, name, dtype, rank, shape, data);
    free(name);
}

/* The waveforms to convert (all, or those in o->only) into c->idx, c->n.
 * Returns 0, or -1 when a listed tensor is no waveform or a spectrogram would
 * be too large. */
static int select_waveforms(const ts_record *rec, const stft_fwd_opts *o, int F, int h, conversion *c, char *err,
                            size_t errlen)
{
    c->idx = malloc(sizeof(int) * (size_t)(rec->n_tensors + 1));
    if (!c->idx) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < rec->n_tensors; i++) {
        const ts_tensor *t = &rec->tensors[i];
        if (o->only && !in_list(t->name, o->only, o->n_only))
            continue;
        if (!stft_is_waveform(t)) {
            if (o->only) {
                snprintf(err, errlen, "tensor '%s': %s %dD is not a waveform (f32 (channels, samples))", t->name,
                         ts_dtype_name(t->dtype), t->rank);
                return -1;
            }
            continue;
        }
        if (ts_numel(t) > 0 && (t->shape[0] * F > MAX_ELEMS / stft_frames(t->shape[1], h))) {
            snprintf(err, errlen, "tensor '%s': spectrogram of (%lld, %d, %lld) is too large", t->name,
                     (long long)t->shape[0], F, (long long)stft_frames(t->shape[1], h));
            return -1;
        }
        c->idx[c->n++] = i;
    }
    return 0;
}

/* Checks n_fft and hop against the spectrograms already in the record and
 * reads the attribute length into *length (set from the first converted
 * tensor when absent). Returns 0 or -1. */
static int forward_attrs(ts_record *rec, const stft_fwd_opts *o, const conversion *c, int64_t *length, char *err,
                         size_t errlen)
{
    int64_t a, b;
    int rn = ts_attr_get_i64(rec, "n_fft", &a), rh = ts_attr_get_i64(rec, "hop", &b);
    if (has_c64_rank3(rec) && ((rn == 0 && a != o->n_fft) || (rh == 0 && b != o->hop))) {
        snprintf(err, errlen,
                 "attributes n_fft=%s hop=%s of the spectrograms already in the record differ from n_fft=%d hop=%d",
                 ts_attr_get(rec, "n_fft") ? ts_attr_get(rec, "n_fft") : "?",
                 ts_attr_get(rec, "hop") ? ts_attr_get(rec, "hop") : "?", o->n_fft, o->hop);
        return -1;
    }
    int rl = ts_attr_get_i64(rec, "length", length);
    if (rl == -2 || (rl == 0 && *length < 0)) {
        snprintf(err, errlen, "attribute length='%s' is not a sample count", ts_attr_get(rec, "length"));
        return -1;
    }
    if (rl == -1) {
        *length = rec->tensors[c->idx[0]].shape[1];
        ts_attr_setf(rec, "length", "%lld", (long long)*length);
    }
    return 0;
}

/* The spectrogram buffers and tasks of the forward pass. Returns 0 or -1
 * (out of memory). */
static int forward_tasks(const ts_record *rec, int F, int h, conversion *c)
{
    c->out = calloc((size_t)c->n, sizeof *c->out);
    int64_t nch = 0, maxT = 0;
    for (int j = 0; j < c->n; j++) {
        nch += rec->tensors[c->idx[j]].shape[0];
        int64_t T = stft_frames(rec->tensors[c->idx[j]].shape[1], h);
        maxT = T > maxT ? T : maxT;
    }
    int64_t np = pieces(nch, maxT);
    c->tasks = malloc(sizeof(task) * (size_t)(nch * np + 1));
    if (!c->out || !c->tasks)
        return -1;
    for (int j = 0; j < c->n; j++) {
        const ts_tensor *t = &rec->tensors[c->idx[j]];
        int64_t T = stft_frames(t->shape[1], h);
        c->out[j] = malloc(sizeof(float) * 2 * (size_t)(t->shape[0] * F * T) + 1);
        if (!c->out[j])
            return -1;
        add_tasks(c, j, t->shape[0], T, np);
    }
    return 0;
}

/* Masks the spectrograms (when o and rng ask for it) and puts them in the
 * place of their waveforms, with length/NAME for a tensor whose length is
 * not length. */
static void forward_replace(ts_record *rec, const stft_fwd_opts *o, tf_rng *rng, int F, int h, int64_t length,
                            conversion *c, int64_t *masked_cells)
{
    int masking = rng && (o->mask.freq_masks > 0 || o->mask.time_masks > 0);
    specmask m;
    for (int j = 0; j < c->n; j++) {
        ts_tensor *t = &rec->tensors[c->idx[j]];
        int64_t C = t->shape[0], L = t->shape[1], T = stft_frames(L, h);
        if (masking) {
            if (j == 0 || o->mask_each)
                specmask_draw(rng, &o->mask, F, T, &m);
            specmask_apply(&m, c->out[j], C, F, T);
            if (masked_cells)
                *masked_cells += specmask_cells(&m, F, T);
        }
        char key[TS_MAX_NAME + 16];
        snprintf(key, sizeof key, "length/%s", t->name);
        if (L != length && strlen(t->name) + 7 <= TS_MAX_NAME)
            ts_attr_setf(rec, key, "%lld", (long long)L);
        else
            ts_attr_remove(rec, key);
        int64_t shape[3] = {C, F, T};
        replace_tensor(rec, c->idx[j], TS_C64, 3, shape, c->out[j]);
        c->out[j] = NULL;
    }
}

int stft_record_forward(stft_engine *e, ts_record *rec, const stft_fwd_opts *o, tf_rng *rng, int64_t *masked_cells,
                        char *err, size_t errlen)
{
    if (masked_cells)
        *masked_cells = 0;
    const stft_plan *p = stft_plan_get(o->n_fft, o->hop, err, errlen);
    if (!p)
        return -1;
    const int F = stft_plan_bins(p), h = o->hop;
    conversion c = {0};
    int64_t length;
    if (select_waveforms(rec, o, F, h, &c, err, errlen) < 0)
        goto fail;
    if (c.n == 0) {
        conversion_free(&c);
        return 0;
    }
    if (forward_attrs(rec, o, &c, &length, err, errlen) < 0)
        goto fail;
    if (forward_tasks(rec, F, h, &c) < 0) {
        snprintf(err, errlen, "out of memory for the spectrograms");
        goto fail;
    }
    if (engine_prepare(e, p, err, errlen) < 0)
        goto fail;

#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < c.ntask; k++) {
        const task *tk = &c.tasks[k];
        const ts_tensor *t = &rec->tensors[c.idx[tk->tensor]];
        int64_t L = t->shape[1], T = stft_frames(L, h);
        stft_forward_frames(p, e->scr[omp_get_thread_num()], (const float *)t->data + tk->ch * L, L,
                            c.out[tk->tensor] + 2 * tk->ch * F * T, tk->r0, tk->r1);
    }

    forward_replace(rec, o, rng, F, h, length, &c, masked_cells);
    ts_attr_setf(rec, "n_fft", "%d", o->n_fft);
    ts_attr_setf(rec, "hop", "%d", o->hop);
    ts_attr_set(rec, "window", "hann");
    ts_attr_set(rec, "center", "reflect");
    int n = c.n;
    conversion_free(&c);
    return n;
fail:
    conversion_free(&c);
    return -1;
}

/* The STFT parameters of the record's spectrograms. Returns 1 with *n_fft
 * and *hop, 0 when the record has none (no n_fft and hop, no spectrogram to
 * convert), or -1. */
static int inverse_params(const ts_record *rec, char **only, int n_only, int64_t *n_fft, int64_t *hop, char *err,
                          size_t errlen)
{
    int rn = ts_attr_get_i64(rec, "n_fft", n_fft), rh = ts_attr_get_i64(rec, "hop", hop);
    const char *first = NULL;
    for (int i = 0; i < rec->n_tensors && !first; i++)
        if (rec->tensors[i].dtype == TS_C64 && rec->tensors[i].rank == 3 &&
            (!only || in_list(rec->tensors[i].name, only, n_only)))
            first = rec->tensors[i].name;
    if (rn == -1 && rh == -1) {
        if (first) {
            snprintf(err, errlen,
                     "tensor '%s': a complex (channels, bins, frames) tensor, but the record has no "
                     "n_fft and hop attributes",
                     first);
            return -1;
        }
        return 0;
    }
    if (rn != 0 || rh != 0 || *n_fft < 2 || *n_fft > STFT_MAX_NFFT || *hop < 1 || *hop > *n_fft) {
        snprintf(err, errlen, "attributes n_fft='%s' hop='%s' are not valid STFT parameters",
                 ts_attr_get(rec, "n_fft") ? ts_attr_get(rec, "n_fft") : "(missing)",
                 ts_attr_get(rec, "hop") ? ts_attr_get(rec, "hop") : "(missing)");
        return -1;
    }
    const char *win = ts_attr_get(rec, "window"), *center = ts_attr_get(rec, "center");
    if (win && strcmp(win, "hann") != 0) {
        snprintf(err, errlen, "attribute window='%s': only hann spectrograms can be inverted", win);
        return -1;
    }
    if (center && strcmp(center, "reflect") != 0) {
        snprintf(err, errlen, "attribute center='%s': only centred (reflect) spectrograms can be inverted", center);
        return -1;
    }
    return 1;
}

/* The length in samples of spectrogram t (T frames of hop) into *L: from
 * length/NAME; for est/STEM also length/STEM and length/mixture (an
 * estimate has the frames of the mixture it came from); then the record's
 * length (rl, length: ts_attr_get_i64's answer for it); else hop * (T - 1).
 * Returns 0, or -1 when the attribute is not a count or does not fit T. */
static int spectrogram_length(const ts_record *rec, const ts_tensor *t, int rl, int64_t length, int hop, int64_t *L,
                              char *err, size_t errlen)
{
    int64_t T = t->shape[2];
    char keys[3][TS_MAX_NAME + 16];
    const char *src = NULL;
    int nk = 0, r = -1;
    *L = 0;
    snprintf(keys[nk++], sizeof keys[0], "length/%s", t->name);
    if (strncmp(t->name, "est/", 4) == 0) {
        snprintf(keys[nk++], sizeof keys[0], "length/%s", t->name + 4);
        snprintf(keys[nk++], sizeof keys[0], "length/mixture");
    }
    for (int q = 0; q < nk && r == -1; q++)
        if ((r = ts_attr_get_i64(rec, keys[q], L)) != -1)
            src = keys[q];
    if (r == -1) {
        src = "length";
        r = rl;
        *L = length;
    }
    if (r == -1) {
        src = "none: hop * (frames - 1)";
        *L = T >= 1 ? hop * (T - 1) : 0;
    } else if (r == -2) {
        snprintf(err, errlen, "attribute %s='%s' is not a sample count", src, ts_attr_get(rec, src));
        return -1;
    }
    if (T < 1 || !stft_length_fits(*L, T, hop)) {
        snprintf(err, errlen,
                 "tensor '%s': length %lld (attribute %s) does not fit %lld frames of hop %d "
                 "(lengths %lld to %lld do)",
                 t->name, (long long)*L, src, (long long)T, hop, (long long)((int64_t)hop * (T - 1)),
                 (long long)((int64_t)hop * T - 1));
        return -1;
    }
    return 0;
}

/* The spectrograms to convert (all, or those in only) into c->idx, c->len
 * and c->n; *channels gets their channels in all. Returns 0 or -1 (a listed
 * tensor or a c64 rank-3 one that is no spectrogram for n_fft, a bad
 * length, parameters without a stable inverse). */
static int select_spectrograms(const ts_record *rec, char **only, int n_only, const stft_plan *p, conversion *c,
                               int64_t *channels, char *err, size_t errlen)
{
    const int n_fft = stft_plan_nfft(p), h = stft_plan_hop(p), F = stft_plan_bins(p);
    int64_t length;
    int rl = ts_attr_get_i64(rec, "length", &length);
    *channels = 0;
    for (int i = 0; i < rec->n_tensors; i++) {
        const ts_tensor *t = &rec->tensors[i];
        int listed = only && in_list(t->name, only, n_only);
        if (only && !listed)
            continue;
        if (!stft_is_spectrogram(t, n_fft)) {
            if (listed || (t->dtype == TS_C64 && t->rank == 3)) {
                if (t->dtype == TS_C64 && t->rank == 3)
                    snprintf(err, errlen, "tensor '%s': %lld bins, but n_fft=%lld has %d", t->name,
                             (long long)t->shape[1], (long long)n_fft, F);
                else
                    snprintf(err, errlen, "tensor '%s': %s %dD is not a spectrogram (c64 (channels, bins, frames))",
                             t->name, ts_dtype_name(t->dtype), t->rank);
                return -1;
            }
            continue;
        }
        int64_t L;
        if (spectrogram_length(rec, t, rl, length, h, &L, err, errlen) < 0)
            return -1;
        double me;
        if (!stft_plan_invertible(p, &me)) {
            snprintf(err, errlen,
                     "tensor '%s': n_fft=%lld hop=%d cannot be inverted: the window-sum-square falls to %.3g "
                     "(below %g); use hop <= n_fft/2",
                     t->name, (long long)n_fft, h, me, STFT_MIN_ENVELOPE);
            return -1;
        }
        c->len[c->n] = L;
        c->idx[c->n++] = i;
        *channels += t->shape[0];
    }
    return 0;
}

/* The waveform buffers and tasks of the inverse pass (channels in all).
 * Returns 0 or -1 (out of memory). */
static int inverse_tasks(const ts_record *rec, int64_t channels, conversion *c)
{
    int64_t maxT = 0;
    for (int j = 0; j < c->n; j++)
        maxT = rec->tensors[c->idx[j]].shape[2] > maxT ? rec->tensors[c->idx[j]].shape[2] : maxT;
    int64_t np = pieces(channels, maxT);
    c->tasks = malloc(sizeof(task) * (size_t)(channels * np + 1));
    if (!c->tasks)
        return -1;
    for (int j = 0; j < c->n; j++) {
        const ts_tensor *t = &rec->tensors[c->idx[j]];
        c->out[j] = malloc(sizeof(float) * (size_t)(t->shape[0] * c->len[j]) + 1);
        if (!c->out[j])
            return -1;
        add_tasks(c, j, t->shape[0], c->len[j], np);
    }
    return 0;
}

int stft_record_inverse(stft_engine *e, ts_record *rec, char **only, int n_only, char *err, size_t errlen)
{
    int64_t n_fft, hop;
    int r = inverse_params(rec, only, n_only, &n_fft, &hop, err, errlen);
    if (r <= 0)
        return r;
    const stft_plan *p = stft_plan_get((int)n_fft, (int)hop, err, errlen);
    if (!p)
        return -1;
    const int F = stft_plan_bins(p), h = (int)hop;
    conversion c = {0};
    c.idx = malloc(sizeof(int) * (size_t)(rec->n_tensors + 1));
    c.len = malloc(sizeof(int64_t) * (size_t)(rec->n_tensors + 1));
    c.out = calloc((size_t)rec->n_tensors + 1, sizeof *c.out);
    if (!c.idx || !c.len || !c.out)
        goto oom;
    int64_t channels;
    if (select_spectrograms(rec, only, n_only, p, &c, &channels, err, errlen) < 0)
        goto fail;
    if (c.n == 0) {
        conversion_free(&c);
        return 0;
    }
    if (inverse_tasks(rec, channels, &c) < 0)
        goto oom;
    if (engine_prepare(e, p, err, errlen) < 0)
        goto fail;
    int bad = -1;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < c.ntask; k++) {
        const task *tk = &c.tasks[k];
        int j = tk->tensor;
        const ts_tensor *t = &rec->tensors[c.idx[j]];
        int64_t T = t->shape[2];
        if (stft_inverse_samples(p, e->scr[omp_get_thread_num()], (const float *)t->data + 2 * tk->ch * F * T, T,
                                 c.out[j] + tk->ch * c.len[j], c.len[j], tk->r0, tk->r1) < 0) {
#pragma omp critical
            bad = j;
        }
    }
    if (bad >= 0) {
        snprintf(err, errlen, "tensor '%s': some samples are covered by no window (n_fft=%lld hop=%d)",
                 rec->tensors[c.idx[bad]].name, (long long)n_fft, h);
        goto fail;
    }
    for (int j = 0; j < c.n; j++) {
        ts_tensor *t = &rec->tensors[c.idx[j]];
        int64_t shape[2] = {t->shape[0], c.len[j]};
        char key[TS_MAX_NAME + 16];
        snprintf(key, sizeof key, "length/%s", t->name);
        ts_attr_remove(rec, key);
        replace_tensor(rec, c.idx[j], TS_F32, 2, shape, c.out[j]);
        c.out[j] = NULL;
    }
    if (!has_c64_rank3(rec)) {
        ts_attr_remove(rec, "n_fft");
        ts_attr_remove(rec, "hop");
        ts_attr_remove(rec, "window");
        ts_attr_remove(rec, "center");
    }
    int n = c.n;
    conversion_free(&c);
    return n;
oom:
    snprintf(err, errlen, "out of memory for the waveforms");
fail:
    conversion_free(&c);
    return -1;
}
