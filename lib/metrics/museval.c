/* museval's track-level logic: grouping of targets and the JSON file. */
#include "metrics/museval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic.h"
#include "util/cli.h"

const char *const mus_metric_names[MUS_NMETRIC] = {"SDR", "SIR", "ISR", "SAR"};

static const char *const musdb_order[] = {"vocals", "drums", "bass", "other", "accompaniment", "linear_mixture"};

int museval_target_rank(const char *name)
{
    for (int i = 0; i < 6; i++)
        if (!strcmp(name, musdb_order[i]))
            return i;
    return 6;
}

static int cmp_stem(const void *a, const void *b)
{
    const mus_stem *x = a, *y = b;
    int rx = museval_target_rank(x->name), ry = museval_target_rank(y->name);
    if (rx != ry)
        return rx - ry;
    return strcmp(x->name, y->name);
}

void mus_track_free(mus_track *t)
{
    for (int i = 0; i < t->n; i++) {
        free(t->t[i].name);
        for (int m = 0; m < MUS_NMETRIC; m++)
            free(t->t[i].v[m]);
    }
    free(t->t);
    memset(t, 0, sizeof *t);
}

/* Evaluates group g (k stems) and appends the targets whose index is not
 * skip (-1: none) to out. */
static int eval_group(const mus_stem *g, int k, int skip, int nchan, int64_t nsampl, const bss_params *p,
                      mus_track *out, char *err, size_t errlen)
{
    const float **ref = tf_malloc(sizeof(*ref) * (size_t)k, "stems");
    const float **est = tf_malloc(sizeof(*est) * (size_t)k, "stems");
    for (int i = 0; i < k; i++) {
        ref[i] = g[i].ref;
        est[i] = g[i].est;
    }
    bss_result r;
    int rc = bsseval_v4(ref, est, k, nchan, nsampl, p, &r, err, errlen);
    free(ref);
    free(est);
    if (rc)
        return -1;
    if (r.used_lstsq)
        out->used_lstsq = 1;
    size_t ns = (size_t)nchan * (size_t)nsampl;
    for (int i = 0; i < k; i++) {
        if (i == skip)
            continue;
        mus_target *t = &out->t[out->n++];
        memset(t, 0, sizeof *t);
        t->name = tf_strdup(g[i].name);
        t->nwin = r.nwin;
        const double *src[MUS_NMETRIC] = {r.sdr, r.sir, r.isr, r.sar};
        for (int m = 0; m < MUS_NMETRIC; m++) {
            t->v[m] = tf_malloc(sizeof(double) * (size_t)r.nwin, "scores");
            memcpy(t->v[m], src[m] + (size_t)i * (size_t)r.nwin, sizeof(double) * (size_t)r.nwin);
            t->median[m] = bss_median(t->v[m], r.nwin);
        }
        t->si_sdr = metric_si_sdr(g[i].ref, g[i].est, ns);
        t->global_sdr = metric_global_sdr(g[i].ref, g[i].est, ns);
        t->alone = k == 1;
    }
    bss_result_free(&r);
    return 0;
}

int museval_eval_track(const mus_stem *stems, int n, int nchan, int64_t nsampl, int rate, const bss_params *p,
                       mus_track *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->win_s = (double)p->win / rate;
    out->hop_s = (double)p->hop / rate;
    if (n < 1) {
        snprintf(err, errlen, "no stem to evaluate");
        return -1;
    }
    mus_stem *s = tf_malloc(sizeof(*s) * (size_t)n, "stems");
    memcpy(s, stems, sizeof(*s) * (size_t)n);
    qsort(s, (size_t)n, sizeof(*s), cmp_stem);
    out->t = tf_calloc((size_t)n, sizeof(mus_target), "scores");
    int voc = -1, acc = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(s[i].name, "vocals"))
            voc = i;
        if (!strcmp(s[i].name, "accompaniment"))
            acc = i;
    }
    int rc = 0;
    if (voc >= 0 && acc >= 0) {
        /* main group without accompaniment (vocals scores dropped), if >= 2 */
        mus_stem *g = tf_malloc(sizeof(*g) * (size_t)n, "stems");
        int k = 0, vpos = -1;
        for (int i = 0; i < n; i++) {
            if (i == acc)
                continue;
            if (i == voc)
                vpos = k;
            g[k++] = s[i];
        }
        if (k >= 2)
            rc = eval_group(g, k, vpos, nchan, nsampl, p, out, err, errlen);
        if (!rc) {
            mus_stem pair[2] = {s[voc], s[acc]};
            rc = eval_group(pair, 2, -1, nchan, nsampl, p, out, err, errlen);
        }
        free(g);
    } else {
        rc = eval_group(s, n, -1, nchan, nsampl, p, out, err, errlen);
    }
    free(s);
    if (rc)
        mus_track_free(out);
    return rc;
}

static void put_num(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("NaN", f);
        return;
    }
    char b[64];
    snprintf(b, sizeof b, "%.5f", v);
    fputs(b, f);
}

/* Python's repr of a float: the shortest %.Ng that reads back exactly,
 * with ".0" for integral values. */
/* A double as Python's repr writes it: the shortest digits that round-trip,
 * positional for 1e-4 <= |v| < 1e16 (1000.0, 0.25), scientific otherwise. */
static void put_pyfloat(FILE *f, double v)
{
    char b[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*e", prec - 1, v);
        if (strtod(b, NULL) == v)
            break;
    }
    int exp10 = atoi(strchr(b, 'e') + 1);
    if (isfinite(v) && v != 0 && exp10 >= -4 && exp10 < 16) {
        int dec = prec - 1 - exp10;
        snprintf(b, sizeof b, "%.*f", dec > 0 ? dec : 0, v);
    } else {
        snprintf(b, sizeof b, "%.*g", prec, v);
    }
    fputs(b, f);
    if (!strpbrk(b, ".eEn"))
        fputs(".0", f);
}

int museval_write_json(const char *path, const mus_track *t, char *err, size_t errlen)
{
    tf_atomic a;
    FILE *f = tf_atomic_open(&a, path);
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fputs("{\n  \"targets\": [", f);
    for (int i = 0; i < t->n; i++) {
        const mus_target *g = &t->t[i];
        fprintf(f, "%s\n    {\n      \"name\": \"", i ? "," : "");
        for (const char *c = g->name; *c; c++) {
            if (*c == '"' || *c == '\\')
                fputc('\\', f);
            if ((unsigned char)*c < 0x20)
                fprintf(f, "\\u%04x", (unsigned char)*c);
            else
                fputc(*c, f);
        }
        fputs("\",\n      \"frames\": [", f);
        for (int w = 0; w < g->nwin; w++) {
            fprintf(f, "%s\n        {\n          \"time\": ", w ? "," : "");
            put_pyfloat(f, w * t->hop_s);
            fputs(",\n          \"duration\": ", f);
            put_pyfloat(f, t->win_s);
            fputs(",\n          \"metrics\": {\n", f);
            static const int order[4] = {MUS_SDR, MUS_SIR, MUS_SAR, MUS_ISR}; /* museval's key order */
            for (int q = 0; q < 4; q++) {
                fprintf(f, "            \"%s\": ", mus_metric_names[order[q]]);
                put_num(f, g->v[order[q]][w]);
                fputs(q < 3 ? ",\n" : "\n", f);
            }
            fputs("          }\n        }", f);
        }
        fputs(g->nwin ? "\n      ]\n    }" : "]\n    }", f);
    }
    fputs(t->n ? "\n  ]\n}\n" : "]\n}\n", f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: write error", path);
        tf_atomic_abort(&a);
        return -1;
    }
    if (tf_atomic_commit(&a)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
