/* sdr: BSSEval v4 scores as museval computes them for MUSDB, plus SI-SDR
 * and the MDX challenge's global SDR. Reads a tensor stream (reference
 * stems and est/<stem> estimates) or, with --references/--estimates, WAV
 * files in MUSDB layout. See man/sdr.1. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio.h"
#include "metrics/bsseval.h"
#include "metrics/museval.h"
#include "stream/ts.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/progress.h"

static const char *usage_text =
    "Usage: sdr [OPTION]... [FILE]...\n"
    "       sdr --references ROOT --estimates DIR [OPTION]...\n"
    "Score source separation estimates with BSSEval v4 exactly as museval does for\n"
    "MUSDB (SDR, SIR, ISR, SAR over 1 s windows, median per track), plus SI-SDR and\n"
    "the MDX challenge's global SDR. Reads a tensor stream (stdin or FILEs) whose\n"
    "records hold reference stems and est/<stem> estimates, or WAV files.\n"
    "\n"
    "      --json DIR         write museval's JSON per track: DIR[/<split>]/<track>.json\n"
    "      --csv FILE         write one CSV row per track and stem (per-track medians,\n"
    "                         SI-SDR, gSDR); - writes it to stdout instead of the tables\n"
    "  -r, --references ROOT  reference WAVs: a MUSDB18-HQ root or any tree of\n"
    "                         [<split>/]<track>/<stem>.wav, or a MUSDB18 root of\n"
    "                         <split>/<track>.stem.mp4 (streams mixture, drums,\n"
    "                         bass, other, vocals, decoded with FFmpeg); accompaniment\n"
    "                         and linear_mixture are derived when not present as files\n"
    "  -e, --estimates DIR    estimate WAVs in the same layout under DIR\n"
    "      --split NAME       with --references: only tracks under ROOT/NAME\n"
    "      --window SEC       window length in seconds (default 1, as museval)\n"
    "      --hop SEC          hop in seconds (default 1, as museval)\n"
    "  -j, --threads N        threads (default: $TFSWA_THREADS or all CPUs; 0 = all CPUs)\n"
    "  -q, --quiet            no progress or notes on stderr\n"
    "  -h, --help             show this help and exit\n"
    "\n"
    "Tables go to stdout: per track, then the median over tracks of the track\n"
    "medians, then SDR as published tables aggregate it, side by side: museval's\n"
    "median over tracks of the track medians (SiSEC 2018, MUSDB18 tables) and the\n"
    "MDX challenge's mean over tracks of the global SDR. The CSV (header track,\n"
    "target,SDR,SIR,ISR,SAR,SI-SDR,gSDR; nan where undefined) loads with\n"
    "pandas.read_csv as it is. Exit status: 0 ok, 1 error, 2 usage.\n";

typedef struct {
    const char *json_dir;
    int table; /* print tables on stdout (not when the CSV goes there) */
    FILE *csv;
    double win_s, hop_s;
    int quiet;
    /* accumulated per-track results for the summary */
    int ntracks;
    int nrows, caprows;
    struct row { char *stem; double v[6]; } *rows;
} ctx;

static void add_row(ctx *c, const char *stem, const double *v)
{
    if (c->nrows == c->caprows) {
        c->caprows = c->caprows ? 2 * c->caprows : 16;
        c->rows = tf_realloc(c->rows, sizeof(*c->rows) * (size_t)c->caprows, "rows");
    }
    c->rows[c->nrows].stem = tf_strdup(stem);
    memcpy(c->rows[c->nrows].v, v, sizeof(double) * 6);
    c->nrows++;
}

static void fmt_db(char *b, size_t n, double v)
{
    if (isnan(v)) snprintf(b, n, "%8s", "nan");
    else if (isinf(v)) snprintf(b, n, "%8s", v > 0 ? "inf" : "-inf");
    else snprintf(b, n, "%8.3f", v);
}

static void print_header(void)
{
    printf("  %-15s %8s %8s %8s %8s %8s %8s\n", "stem", "SDR", "SIR", "ISR", "SAR", "SI-SDR", "gSDR");
}

static void print_line(const char *stem, const double *v)
{
    char b[6][32];
    for (int i = 0; i < 6; i++) fmt_db(b[i], sizeof b[i], v[i]);
    printf("  %-15s %s %s %s %s %s %s\n", stem, b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s == '/' || *s == '\\') *s = '_';
}

/* Scores one track and reports it. Returns 0, or -1 (message printed as a note). */
static int score_track(ctx *c, const char *track, const char *split, const mus_stem *stems, int n, int nchan,
                       int64_t nsampl, int rate, const char *where)
{
    bss_params p;
    bss_params_default(&p, rate);
    p.win = (int64_t)(c->win_s * rate);
    p.hop = (int64_t)(c->hop_s * rate);
    if (p.win < 1 || p.hop < 1) tf_die("%s: window or hop shorter than one sample at %d Hz", where, rate);
    p.threads = tf_threads();
    mus_track t;
    char err[512];
    double t0 = tf_now();
    if (museval_eval_track(stems, n, nchan, nsampl, rate, &p, &t, err, sizeof err)) {
        tf_warn("%s: track '%s': %s; not scored", where, track, err);
        return -1;
    }
    c->ntracks++;
    if (c->table) {
        printf("%s%s%s  (%d ch, %.1f s, %d windows)\n", track, split ? "  split " : "", split ? split : "", nchan,
               (double)nsampl / rate, t.n ? t.t[0].nwin : 0);
        print_header();
    }
    for (int i = 0; i < t.n; i++) {
        mus_target *g = &t.t[i];
        double v[6] = {g->median[MUS_SDR], g->median[MUS_SIR], g->median[MUS_ISR], g->median[MUS_SAR], g->si_sdr,
                       g->global_sdr};
        if (c->table) print_line(g->name, v);
        add_row(c, g->name, v);
        if (c->csv) {
            csv_field(c->csv, track);
            fputc(',', c->csv);
            csv_field(c->csv, g->name);
            /* nan, inf, -inf as pandas.read_csv and numpy read them (never "-nan") */
            for (int m = 0; m < 6; m++) {
                if (isfinite(v[m])) fprintf(c->csv, ",%.5f", v[m]);
                else fputs(isnan(v[m]) ? ",nan" : v[m] > 0 ? ",inf" : ",-inf", c->csv);
            }
            fputc('\n', c->csv);
        }
        if (g->alone && !c->quiet)
            tf_warn("%s: track '%s': only '%s' has a reference and an estimate: scored alone "
                    "(museval's eval_mus_track needs two targets)", where, track, g->name);
    }
    if (t.used_lstsq && !c->quiet)
        tf_warn("%s: track '%s': singular correlation matrix: least-squares filters (as museval)", where, track);
    fflush(stdout);
    if (c->json_dir) {
        char *name = tf_strdup(track), *sp = split ? tf_strdup(split) : NULL;
        sanitize(name);
        if (sp) sanitize(sp);
        size_t len = strlen(c->json_dir) + strlen(name) + (sp ? strlen(sp) : 0) + 16;
        char *dir = tf_malloc(len, "path"), *path = tf_malloc(len, "path");
        snprintf(dir, len, "%s%s%s", c->json_dir, sp ? "/" : "", sp ? sp : "");
        if (tf_mkdirs(dir)) tf_die("%s: %s", dir, strerror(errno));
        snprintf(path, len, "%s/%s.json", dir, name);
        if (museval_write_json(path, &t, err, sizeof err)) tf_die("%s", err);
        free(dir);
        free(path);
        free(name);
        free(sp);
    }
    if (!c->quiet) tf_warn("%s: scored in %.1f s", track, tf_now() - t0);
    mus_track_free(&t);
    return 0;
}

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int rx = museval_target_rank(x->stem), ry = museval_target_rank(y->stem);
    return rx != ry ? rx - ry : strcmp(x->stem, y->stem);
}

/* After the per-track tables: the median over tracks of the track medians
 * of every metric, then the two aggregates published tables use, side by
 * side: museval's (SiSEC 2018, MUSDB18 papers: the median over tracks of
 * each track's median SDR over its 1 s windows) and the Music Demixing
 * Challenge's (the mean over songs of each song's global SDR). */
static void summary(ctx *c)
{
    if (c->ntracks == 0 || !c->table) return;
    qsort(c->rows, (size_t)c->nrows, sizeof(*c->rows), cmp_row);
    printf("\nsummary: %d track%s, median over tracks of the track medians (gSDR: median too)\n", c->ntracks,
           c->ntracks == 1 ? "" : "s");
    print_header();
    int ngroups = 0;
    double *museval = tf_malloc(sizeof(double) * (size_t)(c->nrows + 1), "summary");
    double *mdx = tf_malloc(sizeof(double) * (size_t)(c->nrows + 1), "summary");
    int *first = tf_malloc(sizeof(int) * (size_t)(c->nrows + 1), "summary"), *count = tf_malloc(sizeof(int) * (size_t)(c->nrows + 1), "summary");
    for (int i = 0; i < c->nrows;) {
        int j = i;
        while (j < c->nrows && !strcmp(c->rows[j].stem, c->rows[i].stem)) j++;
        double v[6], *tmp = tf_malloc(sizeof(double) * (size_t)(j - i), "summary");
        double mean = 0;
        int nm = 0;
        for (int m = 0; m < 6; m++) {
            for (int k = i; k < j; k++) tmp[k - i] = c->rows[k].v[m];
            v[m] = bss_median(tmp, j - i);
        }
        for (int k = i; k < j; k++)
            if (isfinite(c->rows[k].v[5])) mean += c->rows[k].v[5], nm++;
        print_line(c->rows[i].stem, v);
        museval[ngroups] = v[0];
        mdx[ngroups] = nm ? mean / nm : NAN;
        first[ngroups] = i;
        count[ngroups++] = j - i;
        free(tmp);
        i = j;
    }
    printf("\nSDR as published tables aggregate it, in dB:\n");
    printf("  %-15s %12s %12s %7s\n", "stem", "museval", "MDX", "tracks");
    for (int g = 0; g < ngroups; g++) {
        char a[32], b[32];
        fmt_db(a, sizeof a, museval[g]);
        fmt_db(b, sizeof b, mdx[g]);
        printf("  %-15s %12s %12s %7d\n", c->rows[first[g]].stem, a, b, count[g]);
    }
    printf("  museval: median over tracks of each track's median SDR over its windows (SiSEC 2018, MUSDB18 tables)\n"
           "  MDX:     mean over tracks of each track's global SDR (Music Demixing Challenge 2021, 2023)\n");
    free(museval);
    free(mdx);
    free(first);
    free(count);
}

/* ---------------- stream mode ---------------- */

static void run_stream(ctx *c, int nfiles, char **files)
{
    ts_reader *r = ts_open_inputs_or_die(nfiles, files);
    ts_record rec;
    ts_record_init(&rec);
    while (ts_read_or_die(r, &rec)) {
        char where[600];
        snprintf(where, sizeof where, "%s: record %ld", ts_reader_name(r), ts_reader_record(r));
        const char *track = ts_attr_get(&rec, "track");
        char trackbuf[64];
        if (!track) {
            snprintf(trackbuf, sizeof trackbuf, "record %ld", ts_reader_total(r) - 1);
            track = trackbuf;
        }
        int64_t rate = 44100;
        int ar = ts_attr_get_i64(&rec, "rate", &rate);
        if (ar == -2 || rate < 1 || rate > 10000000) tf_die("%s: attribute 'rate': not a valid sample rate", where);
        mus_stem *stems = tf_calloc((size_t)rec.n_tensors + 1, sizeof(*stems), "stems");
        float **owned = tf_calloc((size_t)rec.n_tensors + 1, sizeof(float *), "stems");
        int n = 0, nchan = -1;
        int64_t nsampl = -1;
        for (int i = 0; i < rec.n_tensors; i++) {
            const ts_tensor *e = &rec.tensors[i];
            if (strncmp(e->name, "est/", 4)) continue;
            const char *stem = e->name + 4;
            const ts_tensor *t = ts_tensor_get(&rec, stem);
            if (!t) {
                if (!c->quiet) tf_warn("%s: tensor '%s': no reference '%s'; skipped", where, e->name, stem);
                continue;
            }
            if (t->dtype != TS_F32 || t->rank != 2)
                tf_die("%s: tensor '%s': expected f32 (channels, samples), got %s rank %d", where, stem,
                       ts_dtype_name(t->dtype), t->rank);
            if (e->dtype != TS_F32 || e->rank != 2)
                tf_die("%s: tensor '%s': expected f32 (channels, samples), got %s rank %d", where, e->name,
                       ts_dtype_name(e->dtype), e->rank);
            if (nchan < 0) {
                nchan = (int)t->shape[0];
                nsampl = t->shape[1];
            }
            if (t->shape[0] != nchan || t->shape[1] != nsampl)
                tf_die("%s: tensor '%s': shape (%lld, %lld) differs from the other references (%d, %lld)", where,
                       stem, (long long)t->shape[0], (long long)t->shape[1], nchan, (long long)nsampl);
            if (e->shape[0] != nchan)
                tf_die("%s: tensor '%s': %lld channels, reference has %d", where, e->name, (long long)e->shape[0],
                       nchan);
            if (nchan < 1 || nsampl < 1) tf_die("%s: tensor '%s': empty", where, stem);
            const float *ev = e->data;
            if (e->shape[1] != nsampl) {
                owned[n] = bss_pad_or_truncate(e->data, nchan, e->shape[1], nsampl);
                ev = owned[n];
            }
            stems[n].name = stem;
            stems[n].ref = t->data;
            stems[n].est = ev;
            n++;
        }
        for (int i = 0; i < rec.n_tensors; i++) {
            const ts_tensor *t = &rec.tensors[i];
            if (!strncmp(t->name, "est/", 4) || strchr(t->name, '/') || !strcmp(t->name, "mixture")) continue;
            char en[300];
            snprintf(en, sizeof en, "est/%s", t->name);
            if (museval_target_rank(t->name) < 6 && !ts_tensor_get(&rec, en) && !c->quiet)
                tf_warn("%s: tensor '%s': no estimate '%s'; skipped", where, t->name, en);
        }
        if (n == 0) {
            if (!c->quiet) tf_warn("%s: no stem with both a reference and an estimate", where);
        } else {
            score_track(c, track, ts_attr_get(&rec, "split"), stems, n, nchan, nsampl, (int)rate, where);
        }
        for (int i = 0; i < n; i++) free(owned[i]);
        free(owned);
        free(stems);
    }
    ts_record_free(&rec);
    ts_reader_close(r);
}

/* ---------------- WAV mode ---------------- */

static char *pjoin(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = tf_malloc(n, "path");
    if (!*b) snprintf(s, n, "%s", a);
    else if (!*a) snprintf(s, n, "%s", b);
    else snprintf(s, n, "%s/%s", a, b);
    return s;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct { char **v; int n, cap; } strlist;
static void sl_add(strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = tf_realloc(l->v, sizeof(char *) * (size_t)l->cap, "list");
    }
    l->v[l->n++] = s;
}

/* Tracks (relative to root): directories that hold at least one .wav, and
 * NAME.stem.mp4 files (MUSDB18; listed as NAME); sorted. */
static void find_tracks(const char *root, const char *rel, strlist *out, int depth)
{
    char *dir = pjoin(root, rel);
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0) tf_die("%s: %s", dir, strerror(errno));
        free(dir);
        return;
    }
    strlist subs = {0};
    int has_wav = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *p = pjoin(dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0) {
            size_t l = strlen(de->d_name);
            if (S_ISREG(st.st_mode) && l > 4 && !strcmp(de->d_name + l - 4, ".wav")) has_wav = 1;
            else if (S_ISREG(st.st_mode) && l > 9 && !strcmp(de->d_name + l - 9, ".stem.mp4")) {
                char *name = tf_strndup(de->d_name, l - 9);
                sl_add(out, pjoin(rel, name));
                free(name);
            }
            else if (S_ISDIR(st.st_mode) && depth < 8) sl_add(&subs, pjoin(rel, de->d_name));
        }
        free(p);
    }
    closedir(d);
    free(dir);
    if (has_wav) sl_add(out, tf_strdup(rel));
    if (subs.n) qsort(subs.v, (size_t)subs.n, sizeof(char *), cmp_str);
    for (int i = 0; i < subs.n; i++) {
        find_tracks(root, subs.v[i], out, depth + 1);
        free(subs.v[i]);
    }
    free(subs.v);
}

static float *read_stream(const char *path, int stream, int *nchan, int64_t *n, int *rate)
{
    audio_buf b;
    char err[1024];
    if (audio_read_stream(path, stream, 0, -1, &b, err, sizeof err)) tf_die("%s", err);
    *nchan = b.channels;
    *n = b.frames;
    *rate = b.rate;
    return b.data;
}

static float *read_wav(const char *path, int *nchan, int64_t *n, int *rate)
{
    return read_stream(path, 0, nchan, n, rate);
}

/* A reference of a MUSDB18 .stem.mp4: its stream for stem (mixture 0,
 * drums 1, bass 2, other 3, vocals 4), or the sum of streams for the
 * derived targets as musdb makes them; NULL when stem is none of these. */
static float *read_stem_mp4(const char *mp4, const char *stem, int *nchan, int64_t *n, int *rate)
{
    static const char *const names[5] = {"mixture", "drums", "bass", "other", "vocals"};
    /* the streams to sum, in the order of the WAV path (musdb's): vocals, drums, bass, other */
    int list[4], k = 0;
    for (int i = 0; i < 5; i++)
        if (!strcmp(stem, names[i])) list[k++] = i;
    if (!strcmp(stem, "accompaniment")) list[0] = 1, list[1] = 2, list[2] = 3, k = 3;
    if (!strcmp(stem, "linear_mixture")) list[0] = 4, list[1] = 1, list[2] = 2, list[3] = 3, k = 4;
    if (k == 0) return NULL;
    float *ref = read_stream(mp4, list[0], nchan, n, rate);
    for (int i = 1; i < k; i++) {
        int kc, kr;
        int64_t kn;
        float *x = read_stream(mp4, list[i], &kc, &kn, &kr);
        if (kc != *nchan || kn != *n || kr != *rate)
            tf_die("%s: stream %d (%s): length, rate or channels differ from stream %d", mp4, list[i],
                   names[list[i]], list[0]);
        for (size_t q = 0; q < (size_t)kc * (size_t)kn; q++) ref[q] += x[q];
        free(x);
    }
    return ref;
}

static void run_files(ctx *c, const char *root, const char *estdir, const char *split)
{
    strlist tracks = {0};
    char *root_copy = tf_strdup(root);
    size_t rl = strlen(root_copy);
    while (rl > 1 && root_copy[rl - 1] == '/') root_copy[--rl] = 0;
    const char *root_name = strrchr(root_copy, '/') ? strrchr(root_copy, '/') + 1 : root_copy;
    char *base = split ? tf_strdup(split) : tf_strdup("");
    find_tracks(root, base, &tracks, 0);
    if (tracks.n == 0) tf_die("%s: no track directory with WAV files (or .stem.mp4 file) found", root);
    tf_progress prog;
    tf_progress_init(&prog, "sdr", tracks.n, "tracks", !c->quiet);
    for (int ti = 0; ti < tracks.n; ti++) {
        const char *rel = tracks.v[ti];
        char *rdir = pjoin(root, rel), *edir = pjoin(estdir, rel);
        char *mp4 = tf_malloc(strlen(rdir) + 10, "path");
        sprintf(mp4, "%s.stem.mp4", rdir);
        struct stat mst;
        int is_mp4 = stat(rdir, &mst) != 0 && is_file(mp4); /* a .stem.mp4 track (a folder wins) */
        /* estimates present decide which stems are scored */
        DIR *d = opendir(edir);
        if (!d) tf_die("%s: missing estimates for track '%s': %s", edir, *rel ? rel : ".", strerror(errno));
        strlist names = {0};
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t l = strlen(de->d_name);
            if (de->d_name[0] == '.' || l <= 4 || strcmp(de->d_name + l - 4, ".wav")) continue;
            char *p = pjoin(edir, de->d_name);
            if (is_file(p)) sl_add(&names, tf_strndup(de->d_name, l - 4));
            free(p);
        }
        closedir(d);
        if (names.n) qsort(names.v, (size_t)names.n, sizeof(char *), cmp_str);
        if (names.n == 0) tf_die("%s: no estimate WAV for track '%s'", edir, *rel ? rel : ".");
        mus_stem *stems = tf_calloc((size_t)names.n, sizeof(*stems), "stems");
        float **bufs = tf_calloc((size_t)names.n * 2, sizeof(float *), "stems");
        int n = 0, nchan = -1, rate = 0;
        int64_t nsampl = -1;
        for (int i = 0; i < names.n; i++) {
            const char *stem = names.v[i];
            char *fn = tf_malloc(strlen(stem) + 5, "path");
            sprintf(fn, "%s.wav", stem);
            char *rp = pjoin(rdir, fn), *ep = pjoin(edir, fn);
            free(fn);
            float *ref = NULL;
            int rc = 0, rr = 0;
            int64_t rn = 0;
            if (is_mp4) {
                free(rp);
                rp = tf_malloc(strlen(mp4) + strlen(stem) + 4, "path");
                sprintf(rp, "%s:%s", mp4, stem);
                ref = read_stem_mp4(mp4, stem, &rc, &rn, &rr);
                if (!ref) {
                    if (!c->quiet) tf_warn("%s: no reference '%s' for estimate %s; skipped", mp4, stem, ep);
                    free(rp);
                    free(ep);
                    continue;
                }
            } else if (is_file(rp)) {
                ref = read_wav(rp, &rc, &rn, &rr);
            } else {
                /* derived targets, as musdb: accompaniment = all sources but
                 * vocals, linear_mixture = all sources */
                static const char *const src[4] = {"vocals", "drums", "bass", "other"};
                int from = !strcmp(stem, "accompaniment") ? 1 : !strcmp(stem, "linear_mixture") ? 0 : -1;
                if (from < 0) {
                    if (!c->quiet) tf_warn("%s: no reference '%s' for estimate %s; skipped", rdir, stem, ep);
                    free(rp);
                    free(ep);
                    continue;
                }
                for (int k = from; k < 4; k++) {
                    char *sp = tf_malloc(strlen(rdir) + 20, "path");
                    sprintf(sp, "%s/%s.wav", rdir, src[k]);
                    if (!is_file(sp)) tf_die("%s: needed to derive '%s': not found", sp, stem);
                    int kc, kr;
                    int64_t kn;
                    float *x = read_wav(sp, &kc, &kn, &kr);
                    if (!ref) {
                        ref = x, rc = kc, rn = kn, rr = kr;
                    } else {
                        if (kc != rc || kn != rn || kr != rr) tf_die("%s: length, rate or channels differ from %s.wav", sp, src[from]);
                        for (size_t q = 0; q < (size_t)kc * (size_t)kn; q++) ref[q] += x[q];
                        free(x);
                    }
                    free(sp);
                }
            }
            if (nchan < 0) nchan = rc, nsampl = rn, rate = rr;
            if (rc != nchan || rn != nsampl || rr != rate)
                tf_die("%s: %d ch, %lld samples, %d Hz: differs from the track's other references", rp, rc,
                       (long long)rn, rr);
            int ec, er;
            int64_t en;
            float *est = read_wav(ep, &ec, &en, &er);
            if (ec != nchan) tf_die("%s: %d channels, reference has %d", ep, ec, nchan);
            if (er != rate) tf_die("%s: %d Hz, reference has %d Hz", ep, er, rate);
            if (en != nsampl) {
                float *t = bss_pad_or_truncate(est, ec, en, nsampl);
                free(est);
                est = t;
            }
            bufs[2 * n] = ref;
            bufs[2 * n + 1] = est;
            stems[n].name = stem;
            stems[n].ref = ref;
            stems[n].est = est;
            n++;
            free(rp);
            free(ep);
        }
        if (n > 0) {
            /* track name and split: the last path component, and the first when deeper */
            const char *tname = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : *rel ? rel : root_name;
            char *sp = NULL;
            if (strchr(rel, '/')) sp = tf_strndup(rel, (size_t)(strchr(rel, '/') - rel));
            score_track(c, tname, sp, stems, n, nchan, nsampl, rate, rdir);
            free(sp);
        }
        for (int i = 0; i < 2 * n; i++) free(bufs[i]);
        free(bufs);
        free(stems);
        for (int i = 0; i < names.n; i++) free(names.v[i]);
        free(names.v);
        free(rdir);
        free(edir);
        free(mp4);
        tf_progress_update(&prog, ti + 1, NULL);
    }
    tf_progress_done(&prog, tracks.n, NULL);
    for (int i = 0; i < tracks.n; i++) free(tracks.v[i]);
    free(tracks.v);
    free(base);
    free(root_copy);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    tf_threads_default_all();
    static const struct option opts[] = {
        {"json", required_argument, 0, 'J'},       {"csv", required_argument, 0, 'C'},
        {"references", required_argument, 0, 'r'}, {"estimates", required_argument, 0, 'e'},
        {"split", required_argument, 0, 'S'},      {"window", required_argument, 0, 'W'},
        {"hop", required_argument, 0, 'H'},        {"threads", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    ctx c = {0};
    c.table = 1;
    c.win_s = 1.0;
    c.hop_s = 1.0;
    const char *refs = NULL, *ests = NULL, *split = NULL, *csv = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "r:e:j:qh", opts, NULL)) != -1) {
        switch (o) {
        case 'J': c.json_dir = optarg; break;
        case 'C': csv = optarg; break;
        case 'r': refs = optarg; break;
        case 'e': ests = optarg; break;
        case 'S': split = optarg; break;
        case 'W': c.win_s = tf_parse_double("--window", optarg, 1e-3, 1e6); break;
        case 'H': c.hop_s = tf_parse_double("--hop", optarg, 1e-3, 1e6); break;
        case 'j': tf_set_threads((int)tf_parse_long("--threads", optarg, 0, 4096)); break;
        case 'q': c.quiet = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: tf_getopt_error();
        }
    }
    if (!!refs != !!ests) tf_usage_error("--references and --estimates go together");
    if (refs && optind < argc) tf_usage_error("stream files given together with --references");
    if (split && !refs) tf_usage_error("--split needs --references");
    tf_atomic csv_atomic;
    if (csv) {
        c.csv = strcmp(csv, "-") ? tf_atomic_open(&csv_atomic, csv) : stdout;
        if (c.csv == stdout) c.table = 0;
        if (!c.csv) tf_die("%s: %s", csv, strerror(errno));
        fputs("track,target,SDR,SIR,ISR,SAR,SI-SDR,gSDR\n", c.csv);
    }
    if (refs) run_files(&c, refs, ests, split);
    else run_stream(&c, argc - optind, argv + optind);
    summary(&c);
    if (csv && c.csv != stdout && tf_atomic_commit(&csv_atomic)) tf_die("%s: %s", csv, strerror(errno));
    for (int i = 0; i < c.nrows; i++) free(c.rows[i].stem);
    free(c.rows);
    if (fflush(stdout) || ferror(stdout)) {
        tf_exit_on_epipe();
        tf_die("stdout: write error");
    }
    return c.ntracks == 0 && !c.quiet ? (fprintf(stderr, "sdr: no track scored\n"), 1) : (c.ntracks == 0 ? 1 : 0);
}
