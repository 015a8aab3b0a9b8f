#include "audio/evalpairs.h"
#include "audio/audio.h"
#include "audio/musdb.h"
#include "util/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Room for n pairs, each with a reference and an estimate buffer to own. */
static void pairs_alloc(eval_pairs *p, int n)
{
    p->stems = tf_calloc((size_t)n + 1, sizeof(*p->stems), "stems");
    p->owned = tf_calloc((size_t)n * 2 + 1, sizeof(float *), "stems");
    p->nowned = 2 * n;
    p->nchan = -1;
    p->nsampl = -1;
}

void eval_pairs_free(eval_pairs *p)
{
    for (int i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    for (int i = 0; i < p->nnames; i++)
        free(p->names[i]);
    free(p->owned);
    free(p->names);
    free(p->stems);
    free(p->track);
    free(p->split);
    free(p->where);
    memset(p, 0, sizeof *p);
}

/* ---------------- stream records ---------------- */

static void check_wave(const char *where, const ts_tensor *t)
{
    if (t->dtype != TS_F32 || t->rank != 2)
        tf_die("%s: tensor '%s': expected f32 (channels, samples), got %s rank %d", where, t->name,
               ts_dtype_name(t->dtype), t->rank);
}

/* Adds the pair of estimate e and reference t, after checking that their
 * shapes agree with the pairs before. */
static void record_pair(eval_pairs *p, const ts_tensor *t, const ts_tensor *e, const char *where)
{
    const char *stem = t->name;
    check_wave(where, t);
    check_wave(where, e);
    if (p->nchan < 0) {
        p->nchan = (int)t->shape[0];
        p->nsampl = t->shape[1];
    }
    if (t->shape[0] != p->nchan || t->shape[1] != p->nsampl)
        tf_die("%s: tensor '%s': shape (%lld, %lld) differs from the other references (%d, %lld)", where, stem,
               (long long)t->shape[0], (long long)t->shape[1], p->nchan, (long long)p->nsampl);
    if (e->shape[0] != p->nchan)
        tf_die("%s: tensor '%s': %lld channels, reference has %d", where, e->name, (long long)e->shape[0], p->nchan);
    if (p->nchan < 1 || p->nsampl < 1)
        tf_die("%s: tensor '%s': empty", where, stem);
    const float *ev = e->data;
    if (e->shape[1] != p->nsampl) {
        p->owned[p->n] = bss_pad_or_truncate(e->data, p->nchan, e->shape[1], p->nsampl);
        ev = p->owned[p->n];
    }
    p->stems[p->n].name = stem;
    p->stems[p->n].ref = t->data;
    p->stems[p->n].est = ev;
    p->n++;
}

/* Notes every reference stem (a musdb target) that has no estimate. */
static void note_unestimated(const ts_record *rec, const char *where)
{
    for (int i = 0; i < rec->n_tensors; i++) {
        const ts_tensor *t = &rec->tensors[i];
        if (!strncmp(t->name, "est/", 4) || strchr(t->name, '/') || !strcmp(t->name, "mixture"))
            continue;
        char en[300];
        snprintf(en, sizeof en, "est/%s", t->name);
        if (museval_target_rank(t->name) < 6 && !ts_tensor_get(rec, en))
            tf_warn("%s: tensor '%s': no estimate '%s'; skipped", where, t->name, en);
    }
}

int eval_pairs_from_record(eval_pairs *p, const ts_record *rec, long index, const char *where, int quiet)
{
    memset(p, 0, sizeof *p);
    const char *track = ts_attr_get(rec, "track"), *split = ts_attr_get(rec, "split");
    char trackbuf[64];
    if (!track) {
        snprintf(trackbuf, sizeof trackbuf, "record %ld", index);
        track = trackbuf;
    }
    int64_t rate = 44100;
    int ar = ts_attr_get_i64(rec, "rate", &rate);
    if (ar == -2 || rate < 1 || rate > 10000000)
        tf_die("%s: attribute 'rate': not a valid sample rate", where);
    p->track = tf_strdup(track);
    p->split = split ? tf_strdup(split) : NULL;
    p->where = tf_strdup(where);
    p->rate = (int)rate;
    pairs_alloc(p, rec->n_tensors);
    for (int i = 0; i < rec->n_tensors; i++) {
        const ts_tensor *e = &rec->tensors[i];
        if (strncmp(e->name, "est/", 4))
            continue;
        const ts_tensor *t = ts_tensor_get(rec, e->name + 4);
        if (t)
            record_pair(p, t, e, where);
        else if (!quiet)
            tf_warn("%s: tensor '%s': no reference '%s'; skipped", where, e->name, e->name + 4);
    }
    if (!quiet)
        note_unestimated(rec, where);
    if (p->n == 0 && !quiet)
        tf_warn("%s: no stem with both a reference and an estimate", where);
    return p->n;
}

/* ---------------- WAV trees ---------------- */

static char *pjoin(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = tf_malloc(n, "path");
    if (!*b)
        snprintf(s, n, "%s", a);
    else if (!*a)
        snprintf(s, n, "%s", b);
    else
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_suffix(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len > n && !strcmp(s + len - n, suffix);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
    char **v;
    int n, cap;
} strlist;
static void sl_add(strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = tf_realloc(l->v, sizeof(char *) * (size_t)l->cap, "list");
    }
    l->v[l->n++] = s;
}

/* Adds the tracks under root/rel to out (see eval_tree_tracks), folders
 * in name order, at most 8 levels deep. */
static void find_tracks(const char *root, const char *rel, strlist *out, int depth)
{
    char *dir = pjoin(root, rel);
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0)
            tf_die("%s: %s", dir, strerror(errno));
        free(dir);
        return;
    }
    strlist subs = {0};
    int has_wav = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = pjoin(dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0) {
            size_t l = strlen(de->d_name);
            if (S_ISREG(st.st_mode) && has_suffix(de->d_name, l, ".wav"))
                has_wav = 1;
            else if (S_ISREG(st.st_mode) && has_suffix(de->d_name, l, ".stem.mp4")) {
                char *name = tf_strndup(de->d_name, l - 9);
                sl_add(out, pjoin(rel, name));
                free(name);
            } else if (S_ISDIR(st.st_mode) && depth < 8)
                sl_add(&subs, pjoin(rel, de->d_name));
        }
        free(p);
    }
    closedir(d);
    free(dir);
    if (has_wav)
        sl_add(out, tf_strdup(rel));
    if (subs.n)
        qsort(subs.v, (size_t)subs.n, sizeof(char *), cmp_str);
    for (int i = 0; i < subs.n; i++) {
        find_tracks(root, subs.v[i], out, depth + 1);
        free(subs.v[i]);
    }
    free(subs.v);
}

char **eval_tree_tracks(const char *root, const char *split, int *ntracks)
{
    strlist tracks = {0};
    find_tracks(root, split ? split : "", &tracks, 0);
    if (tracks.n == 0)
        tf_die("%s: no track directory with WAV files (or .stem.mp4 file) found", root);
    *ntracks = tracks.n;
    return tracks.v;
}

void eval_tree_tracks_free(char **tracks, int ntracks)
{
    for (int i = 0; i < ntracks; i++)
        free(tracks[i]);
    free(tracks);
}

/* Stem names of the estimate WAVs in edir, sorted; ends the program when
 * there is none. */
static void list_estimates(const char *edir, const char *rel, strlist *names)
{
    DIR *d = opendir(edir);
    if (!d)
        tf_die("%s: missing estimates for track '%s': %s", edir, *rel ? rel : ".", strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, l, ".wav"))
            continue;
        char *p = pjoin(edir, de->d_name);
        if (is_file(p))
            sl_add(names, tf_strndup(de->d_name, l - 4));
        free(p);
    }
    closedir(d);
    if (names->n)
        qsort(names->v, (size_t)names->n, sizeof(char *), cmp_str);
    if (names->n == 0)
        tf_die("%s: no estimate WAV for track '%s'", edir, *rel ? rel : ".");
}

/* A waveform as read from a file (stream of a multi-stream file). */
typedef struct {
    float *x;
    int nchan, rate;
    int64_t n;
} wave;

static wave read_stream(const char *path, int stream)
{
    audio_buf b;
    char err[1024];
    if (audio_read_stream(path, stream, 0, -1, &b, err, sizeof err))
        tf_die("%s", err);
    return (wave){b.data, b.channels, b.rate, b.frames};
}

/* Adds x to sum (the first wave read becomes the sum); returns 0, or -1
 * when x's length, rate or channels differ from the sum's. */
static int add_wave(wave *sum, wave x)
{
    if (!sum->x) {
        *sum = x;
        return 0;
    }
    if (x.nchan != sum->nchan || x.n != sum->n || x.rate != sum->rate)
        return -1;
    for (size_t q = 0; q < (size_t)x.nchan * (size_t)x.n; q++)
        sum->x[q] += x.x[q];
    free(x.x);
    return 0;
}

/* The reference of a MUSDB18 .stem.mp4: the mixture's stream, or the sum
 * of the streams of the base stems of target stem (musdb_target_mask),
 * in musdb's order; x NULL when stem is no target. */
static wave read_mp4_reference(const char *mp4, const char *stem)
{
    wave ref = {0};
    if (!strcmp(stem, "mixture"))
        return read_stream(mp4, 0);
    unsigned mask = musdb_target_mask(stem);
    int first = -1;
    for (int s = 0; s < MUSDB_NSTEMS; s++) {
        if (!(mask & (1u << s)))
            continue;
        if (first < 0)
            first = musdb_stem_streams[s];
        if (add_wave(&ref, read_stream(mp4, musdb_stem_streams[s])))
            tf_die("%s: stream %d (%s): length, rate or channels differ from stream %d", mp4, musdb_stem_streams[s],
                   musdb_stem_names[s], first);
    }
    return ref;
}

/* The reference of a derived target (accompaniment, linear_mixture) of a
 * track folder without a file for it: the sum of the base stems' WAVs, in
 * musdb's order; x NULL when stem is not derived. */
static wave read_derived_reference(const char *rdir, const char *stem)
{
    wave ref = {0};
    unsigned mask = musdb_target_mask(stem);
    if (!(mask & (mask - 1)))
        return ref; /* no target, or a base stem (needs its file) */
    const char *first = NULL;
    for (int s = 0; s < MUSDB_NSTEMS; s++) {
        if (!(mask & (1u << s)))
            continue;
        if (!first)
            first = musdb_stem_names[s];
        char *fn = tf_malloc(strlen(musdb_stem_names[s]) + 5, "path");
        sprintf(fn, "%s.wav", musdb_stem_names[s]);
        char *sp = pjoin(rdir, fn);
        free(fn);
        if (!is_file(sp))
            tf_die("%s: needed to derive '%s': not found", sp, stem);
        if (add_wave(&ref, read_stream(sp, 0)))
            tf_die("%s: length, rate or channels differ from %s.wav", sp, first);
        free(sp);
    }
    return ref;
}

/* Where a tree track's references are: its folder, or its .stem.mp4 (a
 * folder of the same name wins). */
typedef struct {
    char *rdir, *edir, *mp4;
    int is_mp4;
} tree_track;

/* Reads the reference of stem (file rp in the folder, or from the .stem.mp4);
 * x NULL after a note when there is none. rp becomes the reference's
 * name for messages. */
static wave read_reference(const tree_track *tt, const char *stem, char **rp, const char *ep, int quiet)
{
    wave ref;
    if (tt->is_mp4) {
        free(*rp);
        *rp = tf_malloc(strlen(tt->mp4) + strlen(stem) + 4, "path");
        sprintf(*rp, "%s:%s", tt->mp4, stem);
        ref = read_mp4_reference(tt->mp4, stem);
    } else if (is_file(*rp)) {
        ref = read_stream(*rp, 0);
    } else {
        ref = read_derived_reference(tt->rdir, stem);
    }
    if (!ref.x && !quiet)
        tf_warn("%s: no reference '%s' for estimate %s; skipped", tt->is_mp4 ? tt->mp4 : tt->rdir, stem, ep);
    return ref;
}

/* Adds the pair of stem: its reference and estimate ep, checked against the
 * track's other references; nothing when it has no reference. */
static void tree_pair(eval_pairs *p, const tree_track *tt, const char *stem, int quiet)
{
    char *fn = tf_malloc(strlen(stem) + 5, "path");
    sprintf(fn, "%s.wav", stem);
    char *rp = pjoin(tt->rdir, fn), *ep = pjoin(tt->edir, fn);
    free(fn);
    wave ref = read_reference(tt, stem, &rp, ep, quiet);
    if (!ref.x) {
        free(rp);
        free(ep);
        return;
    }
    if (p->nchan < 0)
        p->nchan = ref.nchan, p->nsampl = ref.n, p->rate = ref.rate;
    if (ref.nchan != p->nchan || ref.n != p->nsampl || ref.rate != p->rate)
        tf_die("%s: %d ch, %lld samples, %d Hz: differs from the track's other references", rp, ref.nchan,
               (long long)ref.n, ref.rate);
    wave est = read_stream(ep, 0);
    if (est.nchan != p->nchan)
        tf_die("%s: %d channels, reference has %d", ep, est.nchan, p->nchan);
    if (est.rate != p->rate)
        tf_die("%s: %d Hz, reference has %d Hz", ep, est.rate, p->rate);
    if (est.n != p->nsampl) {
        float *t = bss_pad_or_truncate(est.x, est.nchan, est.n, p->nsampl);
        free(est.x);
        est.x = t;
    }
    p->owned[2 * p->n] = ref.x;
    p->owned[2 * p->n + 1] = est.x;
    p->stems[p->n].name = stem;
    p->stems[p->n].ref = ref.x;
    p->stems[p->n].est = est.x;
    p->n++;
    free(rp);
    free(ep);
}

/* The track's name and split: the last component of rel (of root, without
 * trailing slashes, when rel is empty), and the first when rel has two. */
static void tree_names(eval_pairs *p, const char *root, const char *rel)
{
    const char *last = strrchr(rel, '/');
    if (last)
        p->track = tf_strdup(last + 1);
    else if (*rel)
        p->track = tf_strdup(rel);
    else {
        char *r = tf_strdup(root);
        size_t rl = strlen(r);
        while (rl > 1 && r[rl - 1] == '/')
            r[--rl] = 0;
        p->track = tf_strdup(strrchr(r, '/') ? strrchr(r, '/') + 1 : r);
        free(r);
    }
    if (strchr(rel, '/'))
        p->split = tf_strndup(rel, (size_t)(strchr(rel, '/') - rel));
}

int eval_pairs_from_tree(eval_pairs *p, const char *root, const char *estdir, const char *rel, int quiet)
{
    memset(p, 0, sizeof *p);
    tree_track tt = {pjoin(root, rel), pjoin(estdir, rel), NULL, 0};
    tt.mp4 = tf_malloc(strlen(tt.rdir) + 10, "path");
    sprintf(tt.mp4, "%s.stem.mp4", tt.rdir);
    struct stat mst;
    tt.is_mp4 = stat(tt.rdir, &mst) != 0 && is_file(tt.mp4);
    strlist names = {0};
    list_estimates(tt.edir, rel, &names);
    p->names = names.v;
    p->nnames = names.n;
    pairs_alloc(p, names.n);
    for (int i = 0; i < names.n; i++)
        tree_pair(p, &tt, names.v[i], quiet);
    tree_names(p, root, rel);
    p->where = tt.rdir;
    free(tt.edir);
    free(tt.mp4);
    return p->n;
}
