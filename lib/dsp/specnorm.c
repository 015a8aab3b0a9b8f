/* Per-frequency spectrogram statistics: specnorm.h, formats/spec-stats.md. */
#include "dsp/specnorm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/ts.h"
#include "util/atomic.h"

void specnorm_acc_init(specnorm_acc *a) { memset(a, 0, sizeof *a); }

void specnorm_acc_free(specnorm_acc *a)
{
    free(a->mean);
    free(a->m2);
    memset(a, 0, sizeof *a);
}

int specnorm_acc_add(specnorm_acc *a, const float *spec, int64_t audio_channels, int64_t bins, int64_t frames,
                     char *err, size_t errlen)
{
    if (audio_channels < 1 || audio_channels > 64 || bins < 1) {
        snprintf(err, errlen, "shape (%lld, %lld, %lld) is not a spectrogram", (long long)audio_channels,
                 (long long)bins, (long long)frames);
        return -1;
    }
    if (a->channels == 0) {
        a->channels = (int)(2 * audio_channels);
        a->bins = bins;
        a->mean = calloc((size_t)(a->channels * bins), sizeof(double));
        a->m2 = calloc((size_t)(a->channels * bins), sizeof(double));
        if (!a->mean || !a->m2) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    } else if (a->channels != 2 * audio_channels || a->bins != bins) {
        snprintf(err, errlen, "shape (%lld, %lld, frames) differs from the first spectrogram's (%d, %lld, frames)",
                 (long long)audio_channels, (long long)bins, a->channels / 2, (long long)a->bins);
        return -1;
    }
    a->records++;
    if (frames <= 0)
        return 0;
    double na = (double)a->frames, nb = (double)frames, n = na + nb;
    for (int64_t c = 0; c < audio_channels; c++)
        for (int64_t k = 0; k < bins; k++) {
            const float *row = spec + 2 * ((c * bins + k) * frames);
            for (int part = 0; part < 2; part++) {
                double s = 0;
                for (int64_t t = 0; t < frames; t++)
                    s += row[2 * t + part];
                double mb = s / nb, m2b = 0;
                for (int64_t t = 0; t < frames; t++) {
                    double d = row[2 * t + part] - mb;
                    m2b += d * d;
                }
                int64_t i = (2 * c + part) * bins + k;
                double delta = mb - a->mean[i];
                a->mean[i] += delta * (nb / n);
                a->m2[i] += m2b + delta * delta * (na * nb / n);
            }
        }
    a->frames += frames;
    return 0;
}

int specnorm_finish(const specnorm_acc *a, int n_fft, int hop, specnorm_stats *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (a->channels == 0 || a->frames == 0) {
        snprintf(err, errlen, "no frames were accumulated");
        return -1;
    }
    size_t n = (size_t)(a->channels * a->bins);
    s->mean = malloc(sizeof(float) * n);
    s->std = malloc(sizeof(float) * n);
    if (!s->mean || !s->std) {
        specnorm_free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->channels = a->channels;
    s->bins = a->bins;
    s->frames = a->frames;
    s->records = a->records;
    s->n_fft = n_fft;
    s->hop = hop;
    for (size_t i = 0; i < n; i++) {
        s->mean[i] = (float)a->mean[i];
        s->std[i] = (float)sqrt(a->m2[i] / (double)a->frames);
    }
    return 0;
}

void specnorm_free(specnorm_stats *s)
{
    free(s->mean);
    free(s->std);
    memset(s, 0, sizeof *s);
}

int specnorm_save(const char *path, const specnorm_acc *a, const char *tensor, int n_fft, int hop, char *err,
                  size_t errlen)
{
    if (a->channels == 0 || a->frames == 0) {
        snprintf(err, errlen, "%s: no frames were accumulated", path);
        return -1;
    }
    ts_record rec;
    ts_record_init(&rec);
    ts_attr_set(&rec, "format", SPECNORM_FORMAT);
    ts_attr_setf(&rec, "version", "%d", SPECNORM_VERSION);
    ts_attr_set(&rec, "tensor", tensor);
    char names[64 * 16] = "";
    for (int c = 0; c < a->channels / 2; c++) {
        char one[32];
        const char *lr = a->channels == 4 ? (c ? "R" : "L") : NULL;
        if (lr)
            snprintf(one, sizeof one, "%sre_%s,im_%s", c ? "," : "", lr, lr);
        else
            snprintf(one, sizeof one, "%sre_%d,im_%d", c ? "," : "", c, c);
        strcat(names, one);
    }
    ts_attr_set(&rec, "channels", names);
    ts_attr_setf(&rec, "n_fft", "%d", n_fft);
    ts_attr_setf(&rec, "hop", "%d", hop);
    ts_attr_set(&rec, "window", "hann");
    ts_attr_setf(&rec, "frames", "%lld", (long long)a->frames);
    ts_attr_setf(&rec, "records", "%lld", (long long)a->records);
    ts_attr_set(&rec, "std", "population");
    int64_t shape[2] = {a->channels, a->bins};
    ts_tensor *m = ts_tensor_add(&rec, "mean", TS_F64, 2, shape);
    ts_tensor *sd = ts_tensor_add(&rec, "std", TS_F64, 2, shape);
    size_t n = (size_t)(a->channels * a->bins);
    for (size_t i = 0; i < n; i++) {
        ((double *)m->data)[i] = a->mean[i];
        ((double *)sd->data)[i] = sqrt(a->m2[i] / (double)a->frames);
    }
    tf_atomic at;
    FILE *f = tf_atomic_open(&at, path);
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        ts_record_free(&rec);
        return -1;
    }
    ts_writer *w = ts_writer_open(f, path);
    int rc = ts_write(w, &rec);
    if (rc < 0)
        snprintf(err, errlen, "%s", ts_writer_error(w));
    if (rc >= 0 && ts_writer_close(w) < 0) {
        snprintf(err, errlen, "%s", "cannot finish the stream");
        rc = -1;
    } else if (rc < 0)
        ts_writer_free(w);
    ts_record_free(&rec);
    if (rc < 0) {
        tf_atomic_abort(&at);
        return -1;
    }
    if (tf_atomic_commit(&at) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int get_matrix(const ts_record *rec, const char *name, int64_t *ch, int64_t *bins, float **out, const char *path,
                      char *err, size_t errlen)
{
    ts_tensor *t = ts_tensor_get(rec, name);
    if (!t || t->rank != 2 || (t->dtype != TS_F32 && t->dtype != TS_F64)) {
        snprintf(err, errlen, "%s: tensor '%s' %s", path, name,
                 t ? "is not an f32/f64 (channels, bins) matrix" : "is missing");
        return -1;
    }
    if (*ch >= 0 && (t->shape[0] != *ch || t->shape[1] != *bins)) {
        snprintf(err, errlen, "%s: tensor '%s': shape differs from 'mean'", path, name);
        return -1;
    }
    *ch = t->shape[0];
    *bins = t->shape[1];
    int64_t n = ts_numel(t);
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!v) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        v[i] = t->dtype == TS_F32 ? ((const float *)t->data)[i] : (float)((const double *)t->data)[i];
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || (name[0] == 's' && v[i] < 0)) {
            snprintf(err, errlen, "%s: tensor '%s': element %lld is %g", path, name, (long long)i, v[i]);
            free(v);
            return -1;
        }
    *out = v;
    return 0;
}

int specnorm_load(const char *path, specnorm_stats *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    char *paths[1] = {(char *)path};
    ts_reader *r = ts_reader_open(1, paths);
    if (!r) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    ts_record rec;
    ts_record_init(&rec);
    int rc = ts_read(r, &rec);
    if (rc <= 0) {
        if (rc < 0)
            snprintf(err, errlen, "%s", ts_reader_error(r));
        else
            snprintf(err, errlen, "%s: empty stream: no statistics record", path);
        ts_reader_close(r);
        ts_record_free(&rec);
        return -1;
    }
    ts_reader_close(r);
    const char *fmt = ts_attr_get(&rec, "format");
    int64_t v = 0, ch = -1, bins = -1;
    if (!fmt || strcmp(fmt, SPECNORM_FORMAT) != 0) {
        snprintf(err, errlen, "%s: not a spectrogram statistics file (attribute format is %s%s%s)", path,
                 fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "");
        goto fail;
    }
    if (ts_attr_get_i64(&rec, "version", &v) != 0 || v != SPECNORM_VERSION) {
        snprintf(err, errlen, "%s: statistics version %lld, this program reads %d", path, (long long)v,
                 SPECNORM_VERSION);
        goto fail;
    }
    if (get_matrix(&rec, "mean", &ch, &bins, &s->mean, path, err, errlen) < 0 ||
        get_matrix(&rec, "std", &ch, &bins, &s->std, path, err, errlen) < 0)
        goto fail;
    s->channels = (int)ch;
    s->bins = bins;
    int64_t x;
    if (ts_attr_get_i64(&rec, "frames", &x) == 0)
        s->frames = x;
    if (ts_attr_get_i64(&rec, "records", &x) == 0)
        s->records = x;
    if (ts_attr_get_i64(&rec, "n_fft", &x) == 0 && x > 0 && x < (1 << 24))
        s->n_fft = (int)x;
    if (ts_attr_get_i64(&rec, "hop", &x) == 0 && x > 0 && x < (1 << 24))
        s->hop = (int)x;
    ts_record_free(&rec);
    return 0;
fail:
    ts_record_free(&rec);
    specnorm_free(s);
    return -1;
}
