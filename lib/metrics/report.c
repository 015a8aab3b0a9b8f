#include "metrics/report.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/progress.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void add_row(eval_report *r, const char *stem, const double *v)
{
    if (r->nrows == r->caprows) {
        r->caprows = r->caprows ? 2 * r->caprows : 16;
        r->rows = tf_realloc(r->rows, sizeof(*r->rows) * (size_t)r->caprows, "rows");
    }
    r->rows[r->nrows].stem = tf_strdup(stem);
    memcpy(r->rows[r->nrows].v, v, sizeof(double) * EVAL_NVALUE);
    r->nrows++;
}

void eval_report_free(eval_report *r)
{
    for (int i = 0; i < r->nrows; i++)
        free(r->rows[i].stem);
    free(r->rows);
    r->rows = NULL;
    r->nrows = r->caprows = 0;
}

/* ---------------- formats ---------------- */

static void fmt_db(char *b, size_t n, double v)
{
    if (isnan(v))
        snprintf(b, n, "%8s", "nan");
    else if (isinf(v))
        snprintf(b, n, "%8s", v > 0 ? "inf" : "-inf");
    else
        snprintf(b, n, "%8.3f", v);
}

static void print_header(FILE *f)
{
    fprintf(f, "  %-15s %8s %8s %8s %8s %8s %8s\n", "stem", "SDR", "SIR", "ISR", "SAR", "SI-SDR", "gSDR");
}

static void print_line(FILE *f, const char *stem, const double *v)
{
    char b[EVAL_NVALUE][32];
    for (int i = 0; i < EVAL_NVALUE; i++)
        fmt_db(b[i], sizeof b[i], v[i]);
    fprintf(f, "  %-15s %s %s %s %s %s %s\n", stem, b[0], b[1], b[2], b[3], b[4], b[5]);
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
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void eval_report_csv_header(eval_report *r) { fputs("track,target,SDR,SIR,ISR,SAR,SI-SDR,gSDR\n", r->csv); }

static void csv_row(FILE *f, const char *track, const char *stem, const double *v)
{
    csv_field(f, track);
    fputc(',', f);
    csv_field(f, stem);
    /* nan, inf, -inf as pandas.read_csv and numpy read them (never "-nan") */
    for (int m = 0; m < EVAL_NVALUE; m++) {
        if (isfinite(v[m]))
            fprintf(f, ",%.5f", v[m]);
        else
            fputs(isnan(v[m]) ? ",nan" : v[m] > 0 ? ",inf" : ",-inf", f);
    }
    fputc('\n', f);
}

static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s == '/' || *s == '\\')
            *s = '_';
}

/* museval's JSON of track t: json_dir[/<split>]/<track>.json, with / and \
 * in the names made _. */
static void write_json(const char *json_dir, const char *track, const char *split, const mus_track *t)
{
    char err[512];
    char *name = tf_strdup(track), *sp = split ? tf_strdup(split) : NULL;
    sanitize(name);
    if (sp)
        sanitize(sp);
    size_t len = strlen(json_dir) + strlen(name) + (sp ? strlen(sp) : 0) + 16;
    char *dir = tf_malloc(len, "path"), *path = tf_malloc(len, "path");
    snprintf(dir, len, "%s%s%s", json_dir, sp ? "/" : "", sp ? sp : "");
    if (tf_mkdirs(dir))
        tf_die("%s: %s", dir, strerror(errno));
    snprintf(path, len, "%s/%s.json", dir, name);
    if (museval_write_json(path, t, err, sizeof err))
        tf_die("%s", err);
    free(dir);
    free(path);
    free(name);
    free(sp);
}

/* ---------------- per track ---------------- */

/* The table rows, CSV rows and notes of a scored track. */
static void report_targets(eval_report *r, const char *track, const mus_track *t, const char *where)
{
    for (int i = 0; i < t->n; i++) {
        const mus_target *g = &t->t[i];
        double v[EVAL_NVALUE] = {g->median[MUS_SDR], g->median[MUS_SIR], g->median[MUS_ISR],
                                 g->median[MUS_SAR], g->si_sdr,          g->global_sdr};
        if (r->table)
            print_line(r->table, g->name, v);
        add_row(r, g->name, v);
        if (r->csv)
            csv_row(r->csv, track, g->name, v);
        if (g->alone && !r->quiet)
            tf_warn("%s: track '%s': only '%s' has a reference and an estimate: scored alone "
                    "(museval's eval_mus_track needs two targets)",
                    where, track, g->name);
    }
    if (t->used_lstsq && !r->quiet)
        tf_warn("%s: track '%s': singular correlation matrix: least-squares filters (as museval)", where, track);
}

int eval_report_track(eval_report *r, const char *track, const char *split, const mus_stem *stems, int n, int nchan,
                      int64_t nsampl, int rate, const char *where)
{
    bss_params p;
    bss_params_default(&p, rate);
    p.win = (int64_t)(r->win_s * rate);
    p.hop = (int64_t)(r->hop_s * rate);
    if (p.win < 1 || p.hop < 1)
        tf_die("%s: window or hop shorter than one sample at %d Hz", where, rate);
    p.threads = tf_threads();
    mus_track t;
    char err[512];
    double t0 = tf_now();
    if (museval_eval_track(stems, n, nchan, nsampl, rate, &p, &t, err, sizeof err)) {
        tf_warn("%s: track '%s': %s; not scored", where, track, err);
        return -1;
    }
    r->ntracks++;
    if (r->table) {
        fprintf(r->table, "%s%s%s  (%d ch, %.1f s, %d windows)\n", track, split ? "  split " : "", split ? split : "",
                nchan, (double)nsampl / rate, t.n ? t.t[0].nwin : 0);
        print_header(r->table);
    }
    report_targets(r, track, &t, where);
    fflush(r->table ? r->table : r->csv);
    if (r->json_dir)
        write_json(r->json_dir, track, split, &t);
    if (!r->quiet)
        tf_warn("%s: scored in %.1f s", track, tf_now() - t0);
    mus_track_free(&t);
    return 0;
}

/* ---------------- summary ---------------- */

static int cmp_row(const void *a, const void *b)
{
    const struct eval_row *x = a, *y = b;
    int rx = museval_target_rank(x->stem), ry = museval_target_rank(y->stem);
    return rx != ry ? rx - ry : strcmp(x->stem, y->stem);
}

/* Aggregates of one stem's rows: the median over tracks of each value (v),
 * and the mean over tracks of the finite global SDRs (NaN when none). */
static double group_values(const struct eval_row *rows, int n, double *v)
{
    double *tmp = tf_malloc(sizeof(double) * (size_t)n, "summary");
    for (int m = 0; m < EVAL_NVALUE; m++) {
        for (int k = 0; k < n; k++)
            tmp[k] = rows[k].v[m];
        v[m] = bss_median(tmp, n);
    }
    free(tmp);
    double mean = 0;
    int nm = 0;
    for (int k = 0; k < n; k++)
        if (isfinite(rows[k].v[5]))
            mean += rows[k].v[5], nm++;
    return nm ? mean / nm : NAN;
}

/* After the per-track tables: the median over tracks of the track medians
 * of every metric, then the two aggregates published tables use, side by
 * side: museval's (SiSEC 2018, MUSDB18 papers: the median over tracks of
 * each track's median SDR over its 1 s windows) and the Music Demixing
 * Challenge's (the mean over songs of each song's global SDR). */
void eval_report_summary(eval_report *r)
{
    FILE *f = r->table;
    if (r->ntracks == 0 || !f)
        return;
    qsort(r->rows, (size_t)r->nrows, sizeof(*r->rows), cmp_row);
    fprintf(f, "\nsummary: %d track%s, median over tracks of the track medians (gSDR: median too)\n", r->ntracks,
            r->ntracks == 1 ? "" : "s");
    print_header(f);
    int ngroups = 0;
    double *museval = tf_malloc(sizeof(double) * (size_t)(r->nrows + 1), "summary");
    double *mdx = tf_malloc(sizeof(double) * (size_t)(r->nrows + 1), "summary");
    int *first = tf_malloc(sizeof(int) * (size_t)(r->nrows + 1), "summary");
    int *count = tf_malloc(sizeof(int) * (size_t)(r->nrows + 1), "summary");
    for (int i = 0; i < r->nrows;) {
        int j = i;
        while (j < r->nrows && !strcmp(r->rows[j].stem, r->rows[i].stem))
            j++;
        double v[EVAL_NVALUE];
        mdx[ngroups] = group_values(r->rows + i, j - i, v);
        print_line(f, r->rows[i].stem, v);
        museval[ngroups] = v[0];
        first[ngroups] = i;
        count[ngroups++] = j - i;
        i = j;
    }
    fprintf(f, "\nSDR as published tables aggregate it, in dB:\n");
    fprintf(f, "  %-15s %12s %12s %7s\n", "stem", "museval", "MDX", "tracks");
    for (int g = 0; g < ngroups; g++) {
        char a[32], b[32];
        fmt_db(a, sizeof a, museval[g]);
        fmt_db(b, sizeof b, mdx[g]);
        fprintf(f, "  %-15s %12s %12s %7d\n", r->rows[first[g]].stem, a, b, count[g]);
    }
    fputs("  museval: median over tracks of each track's median SDR over its windows (SiSEC 2018, MUSDB18 tables)\n"
          "  MDX:     mean over tracks of each track's global SDR (Music Demixing Challenge 2021, 2023)\n",
          f);
    free(museval);
    free(mdx);
    free(first);
    free(count);
}
