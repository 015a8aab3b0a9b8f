/* Spectrogram masking augmentation: specmask.h. */
#include "dsp/specmask.h"

#include <string.h>

static void draw_axis(tf_rng *r, int count, int width, int64_t size, int64_t *a, int64_t *b)
{
    for (int i = 0; i < count; i++) {
        int64_t w = (int64_t)tf_rng_below(r, (uint64_t)width + 1);
        if (w > size)
            w = size;
        int64_t s = (int64_t)tf_rng_below(r, (uint64_t)(size - w + 1));
        a[i] = s;
        b[i] = s + w;
    }
}

void specmask_draw(tf_rng *r, const specmask_opts *o, int64_t bins, int64_t frames, specmask *m)
{
    memset(m, 0, sizeof *m);
    int nf = o->freq_masks < SPECMASK_MAX ? o->freq_masks : SPECMASK_MAX;
    int nt = o->time_masks < SPECMASK_MAX ? o->time_masks : SPECMASK_MAX;
    if (nf + nt == 0 || !tf_rng_bernoulli(r, o->prob))
        return;
    m->n_freq = nf;
    m->n_time = nt;
    draw_axis(r, nf, o->freq_width, bins, m->f0, m->f1);
    draw_axis(r, nt, o->time_width, frames, m->t0, m->t1);
}

static int64_t clip(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

void specmask_apply(const specmask *m, float *spec, int64_t channels, int64_t bins, int64_t frames)
{
    for (int64_t c = 0; c < channels; c++) {
        float *ch = spec + 2 * c * bins * frames;
        for (int i = 0; i < m->n_freq; i++) {
            int64_t f0 = clip(m->f0[i], bins), f1 = clip(m->f1[i], bins);
            if (f1 > f0)
                memset(ch + 2 * f0 * frames, 0, sizeof(float) * 2 * (size_t)((f1 - f0) * frames));
        }
        for (int i = 0; i < m->n_time; i++) {
            int64_t t0 = clip(m->t0[i], frames), t1 = clip(m->t1[i], frames);
            if (t1 > t0)
                for (int64_t k = 0; k < bins; k++)
                    memset(ch + 2 * (k * frames + t0), 0, sizeof(float) * 2 * (size_t)(t1 - t0));
        }
    }
}

int64_t specmask_cells(const specmask *m, int64_t bins, int64_t frames)
{
    /* count by marking: rows masked and columns masked */
    int64_t rows = 0, cols = 0;
    for (int64_t k = 0; k < bins; k++) {
        int hit = 0;
        for (int i = 0; i < m->n_freq && !hit; i++)
            hit = k >= m->f0[i] && k < m->f1[i];
        rows += hit;
    }
    for (int64_t t = 0; t < frames; t++) {
        int hit = 0;
        for (int i = 0; i < m->n_time && !hit; i++)
            hit = t >= m->t0[i] && t < m->t1[i];
        cols += hit;
    }
    return rows * frames + cols * bins - rows * cols;
}
