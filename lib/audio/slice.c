#include "audio/slice.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Extra source frames read past a stretched segment's end so rubberband's
 * look-ahead sees real audio there rather than an abrupt end. */
#define STRETCH_MARGIN 8192

/* How one example (before mixup) is made. */
typedef struct {
    int track[MUSDB_NSTEMS];
    int64_t off[MUSDB_NSTEMS]; /* source offset per source */
    int64_t out;               /* frames in the record */
    int64_t src;               /* source frames that make them */
    int64_t length;            /* real (non-padding) frames among out */
    double tempo, semitones;
    float gain[MUSDB_NSTEMS];
    int swap[MUSDB_NSTEMS];
    int remix;
} plan;

void slicer_init(slicer *s, const slice_cfg *c)
{
    memset(s, 0, sizeof *s);
    s->c = *c;
    tf_rng_seed(&s->base, c->seed);
    s->n_good = c->db->n;
}

int64_t slicer_track_segments(const slicer *s, int t)
{
    int64_t n = s->c.db->t[t].frames, L = s->c.segment, h = s->c.hop;
    if (L <= 0 || n <= L)
        return 1;
    return 1 + (n - L + h - 1) / h;
}

static int good_track(slicer *s, tf_rng *r)
{
    uint64_t k = tf_rng_below(r, (uint64_t)s->n_good);
    for (int i = 0; i < s->c.db->n; i++)
        if (!s->c.db->t[i].bad && k-- == 0)
            return i;
    return 0; /* not reached */
}

static int64_t random_offset(tf_rng *r, int64_t frames, int64_t need)
{
    return frames > need ? (int64_t)tf_rng_below(r, (uint64_t)(frames - need + 1)) : 0;
}

/* Draws the augmentation of one example; track/offset of every source are
 * set by the caller before (they depend on src, which depends on tempo). */
static void draw_aug(const slicer *s, tf_rng *aug, plan *p)
{
    const augment_cfg *a = &s->c.aug;
    p->tempo = tf_rng_bernoulli(aug, a->stretch_prob) ? tf_rng_range(aug, a->stretch_lo, a->stretch_hi) : 1.0;
    p->semitones = tf_rng_bernoulli(aug, a->pitch_prob) ? tf_rng_range(aug, -a->pitch_max, a->pitch_max) : 0.0;
    p->remix = tf_rng_bernoulli(aug, a->remix_prob);
    for (int k = 0; k < MUSDB_NSTEMS; k++) {
        p->gain[k] = tf_rng_bernoulli(aug, a->gain_prob) ? (float)tf_rng_range(aug, a->gain_lo, a->gain_hi) : 1.0f;
        p->swap[k] = tf_rng_bernoulli(aug, a->swap_prob);
    }
}

static int plan_changes(const plan *p, int nsrc)
{
    if (p->tempo != 1.0 || p->semitones != 0.0 || p->remix)
        return 1;
    for (int k = 0; k < nsrc; k++)
        if (p->gain[k] != 1.0f || p->swap[k])
            return 1;
    return 0;
}

static int64_t stretch_src(const plan *p, int64_t out)
{
    return p->tempo != 1.0 ? augment_stretch_source_frames(out, p->tempo) : out;
}

/* Real frames of out when the source has n frames from off on. */
static int64_t real_frames(const plan *p, int64_t n, int64_t off, int64_t out)
{
    int64_t left = n - off;
    if (left <= 0)
        return 0;
    int64_t r = p->tempo != 1.0 ? (int64_t)floor((double)left / p->tempo) : left;
    return r < out ? r : out;
}

/* Remixing: every source from its own random track and offset. */
static void draw_remix(slicer *s, const tf_rng *rec, plan *p)
{
    for (int k = 0; k < MUSDB_NSTEMS; k++) {
        tf_rng r = tf_rng_fork(rec, 10 + (uint64_t)k);
        p->track[k] = good_track(s, &r);
        p->off[k] = random_offset(&r, s->c.db->t[p->track[k]].frames, p->src);
    }
}

/* A random example: record stream rec -> pick (track, offset) and aug. */
static void plan_random(slicer *s, const tf_rng *rec, int64_t out, plan *p)
{
    memset(p, 0, sizeof *p);
    tf_rng pick = tf_rng_fork(rec, 1), aug = tf_rng_fork(rec, 2);
    draw_aug(s, &aug, p);
    int t = good_track(s, &pick);
    int64_t n = s->c.db->t[t].frames;
    p->out = out > 0 ? out : (p->tempo != 1.0 ? (int64_t)floor((double)n / p->tempo) : n);
    p->src = stretch_src(p, p->out);
    int64_t off = random_offset(&pick, n, p->src);
    for (int k = 0; k < MUSDB_NSTEMS; k++) {
        p->track[k] = t;
        p->off[k] = off;
    }
    if (p->remix)
        draw_remix(s, rec, p);
    p->length = real_frames(p, s->c.db->t[p->track[0]].frames, p->off[0], p->out);
}

/* Reads the sources of p (those in need) and applies stretch/pitch, gain
 * and swap. buf[k] gets (2, p->out) for every k in need. */
static int make_example(slicer *s, const plan *p, unsigned need, float **buf, char *err, size_t errlen)
{
    const musdb_db *db = s->c.db;
    int nsrc = db->t[p->track[0]].nsrc;
    int stretch = p->tempo != 1.0 || p->semitones != 0.0;
    int64_t rd = stretch ? p->src + STRETCH_MARGIN : p->out;
    float *tmp[MUSDB_NSTEMS] = {0};
    int rc = -1;
    for (int k = 0; k < nsrc; k++) {
        if (!(need & (1u << k)))
            continue;
        musdb_track *t = &db->t[p->track[k]];
        float *dst = stretch ? (tmp[k] = malloc((size_t)rd * 2 * sizeof(float) + 1)) : buf[k];
        if (!dst) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        if (audio_src_read(&t->src[k], p->off[k], rd, dst, err, errlen) != 0) {
#pragma omp critical(slice_bad)
            if (s->c.skip_bad && (t->bad || s->n_good > 1)) {
                if (!t->bad) {
                    t->bad = 1;
                    s->n_good--;
                    if (s->c.warn) {
                        char msg[1200];
                        snprintf(msg, sizeof msg, "%s (track '%s' skipped from now on)", err, t->name);
                        s->c.warn(msg);
                    }
                }
                rc = 1; /* retry with another draw */
            }
            goto done;
        }
    }
    if (stretch) {
        const float *in[2 * MUSDB_NSTEMS];
        float *out[2 * MUSDB_NSTEMS];
        int nch = 0;
        for (int k = 0; k < nsrc; k++)
            if (need & (1u << k))
                for (int c = 0; c < 2; c++) {
                    in[nch] = tmp[k] + (size_t)c * (size_t)rd;
                    out[nch] = buf[k] + (size_t)c * (size_t)p->out;
                    nch++;
                }
        if (augment_stretch_pitch(in, nch, rd, p->tempo, p->semitones, out, p->out, err, errlen) != 0)
            goto done;
    }
    for (int k = 0; k < nsrc; k++) {
        if (!(need & (1u << k)))
            continue;
        if (p->gain[k] != 1.0f)
            augment_gain(buf[k], 2 * p->out, p->gain[k]);
        if (p->swap[k])
            augment_swap(buf[k], p->out);
    }
    rc = 0;
done:
    for (int k = 0; k < MUSDB_NSTEMS; k++)
        free(tmp[k]);
    return rc;
}

static void add_wave(ts_record *rec, const char *name, float *data, int64_t frames)
{
    int64_t shape[2] = {2, frames};
    ts_tensor_adopt(rec, name, TS_F32, 2, shape, data);
}

static void set_aug_attrs(ts_record *rec, const slicer *s, const plan *p, int nsrc, const char *prefix)
{
    char key[64], v[4096];
    if (p->tempo != 1.0) {
        snprintf(key, sizeof key, "%stempo", prefix);
        ts_attr_setf(rec, key, "%.9g", p->tempo);
    }
    if (p->semitones != 0.0) {
        snprintf(key, sizeof key, "%spitch", prefix);
        ts_attr_setf(rec, key, "%.9g", p->semitones);
    }
    int any = 0;
    size_t o = 0;
    for (int k = 0; k < nsrc; k++) {
        any |= p->gain[k] != 1.0f;
        o += (size_t)snprintf(v + o, sizeof v - o, "%s%.9g", k ? "," : "", (double)p->gain[k]);
    }
    if (any) {
        snprintf(key, sizeof key, "%sgain", prefix);
        ts_attr_set(rec, key, v);
    }
    any = 0, o = 0;
    for (int k = 0; k < nsrc; k++) {
        any |= p->swap[k];
        o += (size_t)snprintf(v + o, sizeof v - o, "%s%d", k ? "," : "", p->swap[k]);
    }
    if (any) {
        snprintf(key, sizeof key, "%sswap", prefix);
        ts_attr_set(rec, key, v);
    }
    if (p->remix) {
        o = 0;
        for (int k = 0; k < nsrc && o < sizeof v; k++)
            o += (size_t)snprintf(v + o, sizeof v - o, "%s%s=%s@%lld", k ? ";" : "", musdb_stem_names[k],
                                  s->c.db->t[p->track[k]].name, (long long)p->off[k]);
        snprintf(key, sizeof key, "%sremix", prefix);
        ts_attr_set(rec, key, v);
    }
}

/* Mixup: whether the example drawn from rec gets one (from rec's fork 3,
 * which also gives *lambda), and then the example q mixed into it (fork 4),
 * of out frames. */
static int draw_mixup(slicer *s, const tf_rng *rec, int64_t out, plan *q, float *lambda)
{
    tf_rng aug = tf_rng_fork(rec, 3);
    int mixup = tf_rng_bernoulli(&aug, s->c.aug.mixup_prob);
    if (mixup) {
        *lambda = (float)tf_rng_beta(&aug, s->c.aug.mixup_alpha, s->c.aug.mixup_alpha);
        tf_rng r2 = tf_rng_fork(rec, 4);
        plan_random(s, &r2, out, q);
    }
    return mixup;
}

/* Sequential mode: moves s->track, s->seg past bad tracks and finished
 * ones. Returns 0 when no track is left. */
static int seek_segment(slicer *s)
{
    const musdb_db *db = s->c.db;
    while (s->track < db->n && (db->t[s->track].bad || s->seg >= slicer_track_segments(s, s->track))) {
        s->track++;
        s->seg = 0;
    }
    return s->track < db->n;
}

/* Sequential mode: the example at s->track, s->seg (augmentation from
 * rec's fork 2). */
static void plan_sequential(slicer *s, const tf_rng *rec, plan *p)
{
    const musdb_track *t = &s->c.db->t[s->track];
    memset(p, 0, sizeof *p);
    tf_rng aug = tf_rng_fork(rec, 2);
    draw_aug(s, &aug, p);
    int64_t off = s->c.segment > 0 ? s->seg * s->c.hop : 0;
    if (s->c.segment > 0) {
        int64_t real = t->frames - off < s->c.segment ? t->frames - off : s->c.segment;
        p->out = s->c.pad ? s->c.segment : real;
    } else {
        p->out = p->tempo != 1.0 ? (int64_t)floor((double)t->frames / p->tempo) : t->frames;
    }
    p->src = stretch_src(p, p->out);
    for (int k = 0; k < MUSDB_NSTEMS; k++) {
        p->track[k] = s->track;
        p->off[k] = off;
    }
    p->length = real_frames(p, t->frames, off, p->out);
    if (p->remix)
        draw_remix(s, rec, p);
}

/* How one record is made. */
typedef struct {
    plan p, q; /* the example and, with mixup, the one mixed into it */
    int mixup;
    float lambda;  /* mixup weight of p */
    int64_t segno; /* the record's segment attribute */
    int nsrc;
    int from_file; /* the mixture is read from its file, not summed from the sources */
    unsigned need; /* the sources to read (bit k: source k) */
} record_plan;

/* Draws the plan of record index (rr: its generator; attempt: how many
 * draws failed on a bad track before). Returns 0 when sequential mode has
 * no segment left. */
static int plan_record(slicer *s, uint64_t index, const tf_rng *rr, int attempt, record_plan *rp)
{
    const musdb_db *db = s->c.db;
    rp->mixup = 0;
    rp->lambda = 1.0f;
    if (s->c.random) {
        tf_rng r = attempt ? tf_rng_fork(rr, 1000 + (uint64_t)attempt) : *rr;
        plan_random(s, &r, s->c.segment, &rp->p);
        rp->segno = (int64_t)index;
        rp->mixup = draw_mixup(s, &r, rp->p.out, &rp->q, &rp->lambda);
    } else {
        if (!seek_segment(s))
            return 0;
        plan_sequential(s, rr, &rp->p);
        rp->segno = s->seg;
        rp->mixup = draw_mixup(s, rr, rp->p.out, &rp->q, &rp->lambda);
    }
    rp->nsrc = db->t[rp->p.track[0]].nsrc;
    int changed = plan_changes(&rp->p, rp->nsrc) || rp->mixup;
    rp->from_file =
        !db->plain && !changed && (s->c.mixture == SLICE_MIX_FILE || (s->c.mixture == SLICE_MIX_AUTO && !s->c.random));
    rp->need = 0;
    if (db->plain || !rp->from_file)
        rp->need = (1u << rp->nsrc) - 1;
    else
        for (int i = 0; i < s->c.stems.n; i++)
            rp->need |= s->c.stems.mask[i];
    return 1;
}

static void free_sources(float **a)
{
    for (int k = 0; k < MUSDB_NSTEMS; k++) {
        free(a[k]);
        a[k] = NULL;
    }
}

/* The sources rp needs, (2, p.out) each, into a[k] (with mixup already
 * mixed). Returns 0; 1 when a bad track was dropped (draw again); -1 on
 * error. a is all NULL unless 0 is returned. */
static int make_sources(slicer *s, const record_plan *rp, float **a, char *err, size_t errlen)
{
    float *b[MUSDB_NSTEMS] = {0};
    const plan *p = &rp->p;
    size_t bytes = (size_t)p->out * 2 * sizeof(float) + 1;
    int rc = -1;
    for (int k = 0; k < rp->nsrc; k++)
        if (rp->need & (1u << k)) {
            a[k] = malloc(bytes);
            if (rp->mixup)
                b[k] = malloc(bytes);
            if (!a[k] || (rp->mixup && !b[k])) {
                snprintf(err, errlen, "out of memory for a record of %lld frames", (long long)p->out);
                goto done;
            }
        }
    rc = make_example(s, p, rp->need, a, err, errlen);
    if (rc == 0 && rp->mixup)
        rc = make_example(s, &rp->q, rp->need, b, err, errlen);
    if (rc == 0 && rp->mixup)
        for (int k = 0; k < rp->nsrc; k++)
            if (rp->need & (1u << k))
                augment_mix(a[k], a[k], b[k], 2 * p->out, rp->lambda);
done:
    free_sources(b);
    if (rc != 0)
        free_sources(a);
    return rc;
}

/* Adds the mixture: read from its file (rp->from_file) or the sum of the
 * sources. Returns 0 or -1. */
static int add_mixture(const slicer *s, const record_plan *rp, float *const *a, ts_record *rec, char *err,
                       size_t errlen)
{
    const plan *p = &rp->p;
    int64_t n = 2 * p->out;
    float *mix = malloc((size_t)p->out * 2 * sizeof(float) + 1);
    if (!mix) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (rp->from_file) {
        if (audio_src_read(&s->c.db->t[p->track[0]].mix, p->off[0], p->out, mix, err, errlen) != 0) {
            free(mix);
            return -1;
        }
    } else {
        memcpy(mix, a[0], (size_t)n * sizeof(float));
        for (int k = 1; k < rp->nsrc; k++)
            for (int64_t i = 0; i < n; i++)
                mix[i] += a[k][i];
    }
    add_wave(rec, "mixture", mix, p->out);
    return 0;
}

/* Adds the output stems, each the sum of its sources; a stem that is the
 * only user of a single source takes that buffer over (a[k] = NULL then).
 * Returns 0 or -1. */
static int add_stems(const slicer *s, const record_plan *rp, float **a, ts_record *rec, char *err, size_t errlen)
{
    const int nsrc = rp->nsrc;
    const int64_t out = rp->p.out, n = 2 * out;
    int uses[MUSDB_NSTEMS] = {0};
    for (int i = 0; i < s->c.stems.n; i++)
        for (int k = 0; k < nsrc; k++)
            uses[k] += (s->c.stems.mask[i] >> k) & 1;
    for (int i = 0; i < s->c.stems.n; i++) {
        unsigned m = s->c.stems.mask[i];
        int single = m && !(m & (m - 1)) ? __builtin_ctz(m) : -1;
        if (single >= 0 && uses[single] == 1 && a[single]) { /* hand the buffer over, no copy */
            add_wave(rec, s->c.stems.name[i], a[single], out);
            a[single] = NULL;
            continue;
        }
        float *y = malloc((size_t)out * 2 * sizeof(float) + 1);
        if (!y) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        int first = 1;
        for (int k = 0; k < nsrc; k++) {
            if (!(m & (1u << k)))
                continue;
            if (first)
                memcpy(y, a[k], (size_t)n * sizeof(float));
            else
                for (int64_t j = 0; j < n; j++)
                    y[j] += a[k][j];
            first = 0;
        }
        if (first)
            memset(y, 0, (size_t)n * sizeof(float));
        add_wave(rec, s->c.stems.name[i], y, out);
    }
    return 0;
}

/* The record's attributes: where it comes from and its augmentation. */
static void set_record_attrs(ts_record *rec, const slicer *s, const record_plan *rp)
{
    const musdb_db *db = s->c.db;
    const plan *p = &rp->p;
    const musdb_track *t0 = &db->t[p->track[0]];
    ts_attr_set(rec, "track", t0->name);
    ts_attr_set(rec, "split", musdb_split_name(t0->split));
    ts_attr_setf(rec, "rate", "%d", AUDIO_RATE);
    ts_attr_setf(rec, "offset", "%lld", (long long)p->off[0]);
    ts_attr_setf(rec, "length", "%lld", (long long)p->length);
    ts_attr_setf(rec, "segment", "%lld", (long long)rp->segno);
    ts_attr_setf(rec, "seed", "%llu", (unsigned long long)s->c.seed);
    ts_attr_set(rec, "mixture", rp->from_file || db->plain ? "file" : "sum");
    if (db->plain)
        ts_attr_set(rec, "path", t0->src[0].path);
    if (p->tempo != 1.0)
        ts_attr_setf(rec, "source_length", "%lld", (long long)p->src);
    set_aug_attrs(rec, s, p, rp->nsrc, "aug_");
    if (rp->mixup) {
        ts_attr_setf(rec, "aug_mixup", "%.9g", (double)rp->lambda);
        ts_attr_set(rec, "aug_mixup_track", db->t[rp->q.track[0]].name);
        ts_attr_setf(rec, "aug_mixup_offset", "%lld", (long long)rp->q.off[0]);
        set_aug_attrs(rec, s, &rp->q, rp->nsrc, "aug_mixup_");
    }
}

/* Record number index: in random mode a function of index alone (so
 * records can be made in any order, on any thread); in sequential mode
 * the one at s->track, s->seg. Returns 1, 0 at the end (sequential), -1. */
static int make_record(slicer *s, uint64_t index, ts_record *rec, char *err, size_t errlen)
{
    ts_record_free(rec);
    record_plan rp;
    float *a[MUSDB_NSTEMS] = {0};
    tf_rng rr = tf_rng_fork(&s->base, index);
    for (int attempt = 0;; attempt++) {
        if (!plan_record(s, index, &rr, attempt, &rp))
            return 0;
        int rc = make_sources(s, &rp, a, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        if (!s->c.random) { /* a bad track was dropped: go on with the next */
            s->track++;
            s->seg = 0;
        }
    }
    if (add_mixture(s, &rp, a, rec, err, errlen) != 0 ||
        (!s->c.db->plain && add_stems(s, &rp, a, rec, err, errlen) != 0)) {
        free_sources(a);
        ts_record_free(rec);
        return -1;
    }
    free_sources(a);
    set_record_attrs(rec, s, &rp);
    return 1;
}

int slicer_next(slicer *s, ts_record *rec, char *err, size_t errlen)
{
    int rc = make_record(s, s->index, rec, err, errlen);
    if (rc == 1) {
        s->index++;
        if (!s->c.random)
            s->seg++;
    }
    return rc;
}

int slicer_skip(slicer *s)
{
    if (!s->c.random) {
        if (!seek_segment(s))
            return 0;
        s->seg++;
    }
    s->index++;
    return 1;
}

int slicer_random_at(slicer *s, uint64_t index, ts_record *rec, char *err, size_t errlen)
{
    if (!s->c.random) {
        snprintf(err, errlen, "slicer_random_at: not in random mode");
        return -1;
    }
    return make_record(s, index, rec, err, errlen);
}
