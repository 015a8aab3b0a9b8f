/* Chunked separation with seamless blending (see separate.h). */
#include "model/separate.h"
#include "util/cli.h"
#include "util/progress.h"

#include <stdarg.h>
#include <stdio.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

int tfswa_chunk_plan(int64_t T, int L, int O, int64_t *starts, int *len)
{
    if (L < 1 || O < 0 || O >= L)
        tf_die("chunk plan: bad chunk %d / overlap %d", L, O);
    if (T <= L) {
        if (starts)
            starts[0] = 0;
        *len = (int)T;
        return 1;
    }
    int64_t n = (T - O + (L - O) - 1) / (L - O);
    if (n < 2)
        n = 2;
    if (starts)
        for (int64_t k = 0; k < n; k++)
            starts[k] = (int64_t)floor((double)k * (double)(T - L) / (double)(n - 1) + 0.5);
    *len = L;
    return (int)n;
}

float tfswa_chunk_weight(int k, int n, int len, int R, int j)
{
    float w = 1.0f;
    if (R > 0 && k > 0 && j < R)
        w = ((float)j + 0.5f) / (float)R;
    if (R > 0 && k < n - 1 && j >= len - R) {
        float d = ((float)(len - j) - 0.5f) / (float)R;
        if (d < w)
            w = d;
    }
    return w;
}

void tfswa_separate(tfswa_runner *r, const float *X, int64_t T, float *const *est, int L, int O,
                    tfswa_progress_fn progress, void *ctx)
{
    const tfswa_config *c = &tfswa_runner_model(r)->cfg;
    const int F = tfswa_bins(c), S = c->n_stems;
    int len, n = tfswa_chunk_plan(T, L, O, NULL, &len);
    int64_t *starts = tf_malloc(sizeof(int64_t) * (size_t)n, "chunk plan");
    tfswa_chunk_plan(T, L, O, starts, &len);
    if (len > tfswa_runner_tmax(r))
        tf_die("separate: chunk of %d frames longer than the runner's %d", len, tfswa_runner_tmax(r));
    int R = tfswa_chunk_ramp(L, O);
    float *den = tf_calloc((size_t)T, sizeof(float), "blend weights");
    float *w = tf_malloc(sizeof(float) * (size_t)len, "blend weights");
    for (int s = 0; s < S; s++)
        memset(est[s], 0, sizeof(float) * 4 * (size_t)F * (size_t)T);
    for (int k = 0; k < n; k++) {
        const int64_t t0 = starts[k];
        const float *M = tfswa_forward(r, X, T, t0, len);
        for (int j = 0; j < len; j++) {
            w[j] = tfswa_chunk_weight(k, n, len, R, j);
            den[t0 + j] += w[j];
        }
        for (int s = 0; s < S - c->residual; s++) { /* a residual last stem is made below */
            float *e = est[s];
#pragma omp parallel for schedule(static)
            for (int cf = 0; cf < 2 * F; cf++) {
                int ch = cf / F, f = cf % F;
                const float *mr = M + ((size_t)(4 * s + 2 * ch) * F + f) * len;
                const float *mi = M + ((size_t)(4 * s + 2 * ch + 1) * F + f) * len;
                const float *x = X + 2 * ((int64_t)cf * T + t0);
                float *o = e + 2 * ((int64_t)cf * T + t0);
                for (int j = 0; j < len; j++) {
                    float xr = x[2 * j], xi = x[2 * j + 1];
                    float er = mr[j] * xr - mi[j] * xi, ei = mr[j] * xi + mi[j] * xr;
                    o[2 * j] += w[j] * er;
                    o[2 * j + 1] += w[j] * ei;
                }
            }
        }
        if (progress)
            progress(ctx, k + 1, n);
    }
    for (int s = 0; s < S - c->residual; s++) {
        float *e = est[s];
#pragma omp parallel for schedule(static)
        for (int cf = 0; cf < 2 * F; cf++)
            for (int64_t t = 0; t < T; t++) {
                e[2 * ((int64_t)cf * T + t)] /= den[t];
                e[2 * ((int64_t)cf * T + t) + 1] /= den[t];
            }
    }
    if (c->residual) { /* the blend is linear with weights summing to 1: blending X - sum M_s X is X - sum est_s */
        float *e = est[S - 1];
        const size_t n2 = (size_t)4 * F * (size_t)T;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n2; i++) {
            float v = X[i];
            for (int s = 0; s < S - 1; s++)
                v -= est[s][i];
            e[i] = v;
        }
    }
    free(w);
    free(den);
    free(starts);
}

void tfswa_separator_init(tfswa_separator *s, const tfswa_model *m, const tfswa_sep_opts *o)
{
    s->m = m;
    s->o = *o;
    s->r = NULL;
}

void tfswa_separator_free(tfswa_separator *s)
{
    tfswa_runner_free(s->r);
    s->r = NULL;
}

static void on_progress(void *ctx, int done, int total)
{
    tf_progress *p = ctx;
    if (done == total)
        tf_progress_done(p, done, NULL);
    else
        tf_progress_update(p, done, NULL);
}

static int check_attr(const ts_record *rec, const char *key, int want, const char *where, char *err, size_t len)
{
    int64_t v;
    int rc = ts_attr_get_i64(rec, key, &v);
    if (rc == -2)
        return tf_fail(err, len, "%s: attribute '%s' is malformed: '%s'", where, key, ts_attr_get(rec, key));
    if (rc == 0 && v != want)
        return tf_fail(err, len, "%s: the spectrogram has %s=%lld but the model was made for %s=%d", where, key,
                       (long long)v, key, want);
    return 0;
}

int tfswa_separate_record(tfswa_separator *s, ts_record *rec, const char *where, char *err, size_t len)
{
    const tfswa_config *c = &s->m->cfg;
    const int F = tfswa_bins(c);
    ts_tensor *mx = ts_tensor_get(rec, "mixture");
    if (!mx)
        return tf_fail(err, len, "%s: no tensor 'mixture'", where);
    if (mx->dtype != TS_C64 || mx->rank != 3 || mx->shape[0] != 2 || mx->shape[1] != F) {
        char shp[96] = "(";
        size_t o = 1;
        for (int i = 0; i < mx->rank && o < sizeof shp; i++)
            o += (size_t)snprintf(shp + o, sizeof shp - o, "%s%lld", i ? ", " : "", (long long)mx->shape[i]);
        if (o < sizeof shp)
            snprintf(shp + o, sizeof shp - o, ")");
        return tf_fail(err, len,
                       "%s: tensor 'mixture': %s %s, but the model needs a stereo spectrogram c64 (2, %d, frames) "
                       "(run stft --n-fft %d --hop %d first)",
                       where, ts_dtype_name(mx->dtype), shp, F, c->n_fft, c->hop);
    }
    if (check_attr(rec, "n_fft", c->n_fft, where, err, len) < 0 ||
        check_attr(rec, "hop", c->hop, where, err, len) < 0 || check_attr(rec, "rate", c->rate, where, err, len) < 0)
        return -1;
    const int64_t T = mx->shape[2];
    if (T > INT32_MAX)
        return tf_fail(err, len, "%s: tensor 'mixture': %lld frames is too long", where, (long long)T);
    const double fps = (double)c->rate / c->hop;
    int L = (int)floor(s->o.chunk_sec * fps + 0.5), O = (int)floor(s->o.overlap_sec * fps + 0.5);
    if (L < TFSWA_MIN_FRAMES)
        L = TFSWA_MIN_FRAMES;
    if (O >= L)
        O = L - 1;
    /* est tensors first: adding tensors may move the record's array */
    char name[64];
    int64_t shape[3] = {2, F, T};
    for (int k = 0; k < c->n_stems; k++) {
        snprintf(name, sizeof name, "est/%s", c->stems[k]);
        ts_tensor_add(rec, name, TS_C64, 3, shape);
    }
    if (T == 0)
        return 0;
    float *est[TFSWA_MAX_STEMS];
    for (int k = 0; k < c->n_stems; k++) {
        snprintf(name, sizeof name, "est/%s", c->stems[k]);
        est[k] = ts_tensor_get(rec, name)->data;
    }
    mx = ts_tensor_get(rec, "mixture");
    int need = T < L ? (int)T : L;
    if (!s->r || tfswa_runner_tmax(s->r) < need) {
        tfswa_runner_free(s->r);
        s->r = tfswa_runner_new(s->m, need, s->o.fold_bn);
    }
    tf_progress p;
    const char *track = ts_attr_get(rec, "track");
    char label[128];
    snprintf(label, sizeof label, "%s", track ? track : where);
    int len_, n = tfswa_chunk_plan(T, L, O, NULL, &len_);
    tf_progress_init(&p, label, n, "chunks", !s->o.quiet);
    tfswa_separate(s->r, mx->data, T, est, L, O, on_progress, &p);
    return 0;
}
