/* STFT, inverse STFT and their adjoints on kiss_fftr. Definitions,
 * layout and conventions: stft.h. */
#include "dsp/stft.h"

#include <kiss_fftr.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STFT_BLOCK 16

/* torch.istft's NOLA threshold: where the envelope is below it the
 * overlap-add sum is returned undivided (librosa's rule) instead of
 * amplifying rounding errors by up to 1e11. */
#define STFT_TINY_ENVELOPE 1e-11

struct stft_plan {
    int n, hop, bins;
    float *win;  /* w[n] */
    float *winn; /* w[n] / N: the inverse's scaling folded into the window */
};

struct stft_scratch {
    const stft_plan *p;
    kiss_fftr_cfg fwd, inv;
    float *frame;      /* N */
    kiss_fft_cpx *blk; /* STFT_BLOCK frames of N/2 + 1 bins: the (bins, frames) layout is
                           written and read a block of frames at a time, so each bin's
                           row is touched in runs of STFT_BLOCK values, not one */
    float *buf;        /* the inverse adjoint's scaled gradient, grows */
    double *acc;       /* overlap-add sums (double: hop 1 adds n_fft frames), grows */
    float *env;        /* window-sum-square, grows */
    int64_t buf_cap, acc_cap, env_cap;
    int64_t env_frames; /* env holds the envelope of this many frames (-1: none) */
};

stft_plan *stft_plan_new(int n_fft, int hop, char *err, size_t errlen)
{
    if (n_fft < 2 || n_fft > STFT_MAX_NFFT || n_fft % 2) {
        snprintf(err, errlen, "n_fft %d: must be even and in [2, %d]", n_fft, STFT_MAX_NFFT);
        return NULL;
    }
    if (hop < 1 || hop > n_fft) {
        snprintf(err, errlen, "hop %d: must be in [1, n_fft = %d]", hop, n_fft);
        return NULL;
    }
    stft_plan *p = calloc(1, sizeof *p);
    if (!p || !(p->win = malloc(sizeof(float) * (size_t)n_fft)) || !(p->winn = malloc(sizeof(float) * (size_t)n_fft))) {
        stft_plan_free(p);
        snprintf(err, errlen, "out of memory for an STFT plan of %d", n_fft);
        return NULL;
    }
    p->n = n_fft;
    p->hop = hop;
    p->bins = n_fft / 2 + 1;
    for (int i = 0; i < n_fft; i++) {
        double w = 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)n_fft);
        p->win[i] = (float)w;
        p->winn[i] = (float)(w / n_fft);
    }
    return p;
}

void stft_plan_free(stft_plan *p)
{
    if (!p)
        return;
    free(p->win);
    free(p->winn);
    free(p);
}

int stft_plan_nfft(const stft_plan *p) { return p->n; }
int stft_plan_hop(const stft_plan *p) { return p->hop; }
int stft_plan_bins(const stft_plan *p) { return p->bins; }
const float *stft_plan_window(const stft_plan *p) { return p->win; }

/* ---- plan cache ---- */
typedef struct cache_entry {
    stft_plan *plan;
    struct cache_entry *next;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache_head;

const stft_plan *stft_plan_get(int n_fft, int hop, char *err, size_t errlen)
{
    pthread_mutex_lock(&cache_lock);
    for (cache_entry *e = cache_head; e; e = e->next)
        if (e->plan->n == n_fft && e->plan->hop == hop) {
            pthread_mutex_unlock(&cache_lock);
            return e->plan;
        }
    stft_plan *p = stft_plan_new(n_fft, hop, err, errlen);
    cache_entry *e = p ? malloc(sizeof *e) : NULL;
    if (p && !e) {
        stft_plan_free(p);
        p = NULL;
        snprintf(err, errlen, "out of memory");
    }
    if (e) {
        e->plan = p;
        e->next = cache_head;
        cache_head = e;
    }
    pthread_mutex_unlock(&cache_lock);
    return p;
}

void stft_plan_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    while (cache_head) {
        cache_entry *e = cache_head;
        cache_head = e->next;
        stft_plan_free(e->plan);
        free(e);
    }
    pthread_mutex_unlock(&cache_lock);
}

/* ---- scratch ---- */
stft_scratch *stft_scratch_new(const stft_plan *p)
{
    stft_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->p = p;
    s->env_frames = -1;
    s->fwd = kiss_fftr_alloc(p->n, 0, NULL, NULL);
    s->inv = kiss_fftr_alloc(p->n, 1, NULL, NULL);
    s->frame = malloc(sizeof(float) * (size_t)p->n);
    s->blk = malloc(sizeof(kiss_fft_cpx) * (size_t)p->bins * STFT_BLOCK);
    if (!s->fwd || !s->inv || !s->frame || !s->blk) {
        stft_scratch_free(s);
        return NULL;
    }
    return s;
}

void stft_scratch_free(stft_scratch *s)
{
    if (!s)
        return;
    kiss_fftr_free(s->fwd);
    kiss_fftr_free(s->inv);
    free(s->frame);
    free(s->blk);
    free(s->buf);
    free(s->acc);
    free(s->env);
    free(s);
}

static void *grow_bytes(void **buf, int64_t *cap, int64_t n, size_t size)
{
    if (n > *cap) {
        void *nb = realloc(*buf, size * (size_t)(n > 0 ? n : 1));
        if (!nb) {
            fprintf(stderr, "stft: out of memory for %lld samples\n", (long long)n);
            abort();
        }
        *buf = nb;
        *cap = n;
    }
    return *buf;
}

static float *grow(float **buf, int64_t *cap, int64_t n)
{
    void *b = *buf;
    float *r = grow_bytes(&b, cap, n, sizeof(float));
    *buf = r;
    return r;
}

static double *grow_d(double **buf, int64_t *cap, int64_t n)
{
    void *b = *buf;
    double *r = grow_bytes(&b, cap, n, sizeof(double));
    *buf = r;
    return r;
}

/* Padded length of T frames. */
static int64_t padded_len(const stft_plan *p, int64_t frames) { return (frames - 1) * p->hop + p->n; }

/* Source index in [0, len) of padded position i, or -1 for a zero. */
static inline int64_t pad_src(int64_t i, int64_t half, int64_t len)
{
    int64_t j = i - half;
    if (j < 0)
        j = -j;
    else if (j >= len)
        j = 2 * (len - 1) - j;
    return j >= 0 && j < len ? j : -1;
}

/* The envelope of `frames` frames into s->env[0, padded_len). */
static const float *envelope(const stft_plan *p, stft_scratch *s, int64_t frames)
{
    if (s->env_frames == frames)
        return s->env;
    int64_t P = padded_len(p, frames);
    float *e = grow(&s->env, &s->env_cap, P);
    memset(e, 0, sizeof(float) * (size_t)P);
    for (int64_t t = 0; t < frames; t++) {
        float *d = e + t * p->hop;
        for (int n = 0; n < p->n; n++)
            d[n] += p->win[n] * p->win[n];
    }
    s->env_frames = frames;
    return e;
}

double stft_min_envelope(const stft_plan *p, stft_scratch *s, int64_t len)
{
    int64_t T = stft_frames(len, p->hop), P = padded_len(p, T), half = p->n / 2;
    const float *e = envelope(p, s, T);
    double m = INFINITY;
    for (int64_t j = 0; j < len; j++) {
        double v = half + j < P ? e[half + j] : 0.0;
        if (v < m)
            m = v;
    }
    return m;
}

int stft_plan_invertible(const stft_plan *p, double *min_env)
{
    /* The steady-state envelope away from both ends: sum over all integer m
     * of w^2(n + m hop), n in [0, hop). */
    double m = INFINITY;
    for (int n = 0; n < p->hop; n++) {
        double v = 0;
        for (int k = n; k < p->n; k += p->hop)
            v += (double)p->win[k] * p->win[k];
        if (v < m)
            m = v;
    }
    if (min_env)
        *min_env = m;
    return m >= STFT_MIN_ENVELOPE;
}

/* ---- transforms ---- */
/* blk[b][k] (nb frames from t0) <-> spec[k][t0 + b], scaled by c[k] (NULL: 1) */
static void scatter_block(const kiss_fft_cpx *blk, int F, int nb, float *spec, int64_t T, int64_t t0)
{
    for (int k = 0; k < F; k++) {
        float *d = spec + 2 * ((int64_t)k * T + t0);
        for (int b = 0; b < nb; b++) {
            d[2 * b] = blk[b * F + k].r;
            d[2 * b + 1] = blk[b * F + k].i;
        }
    }
}

static void scatter_add_block(const kiss_fft_cpx *blk, int F, int nb, float *spec, int64_t T, int64_t t0)
{
    for (int k = 0; k < F; k++) {
        float *d = spec + 2 * ((int64_t)k * T + t0);
        for (int b = 0; b < nb; b++) {
            d[2 * b] += blk[b * F + k].r;
            d[2 * b + 1] += blk[b * F + k].i;
        }
    }
}

static void gather_block(kiss_fft_cpx *blk, int F, int nb, const float *spec, int64_t T, int64_t t0)
{
    for (int k = 0; k < F; k++) {
        const float *d = spec + 2 * ((int64_t)k * T + t0);
        for (int b = 0; b < nb; b++) {
            blk[b * F + k].r = d[2 * b];
            blk[b * F + k].i = d[2 * b + 1];
        }
    }
    for (int b = 0; b < nb; b++) {
        blk[b * F].i = 0.0f;
        blk[b * F + F - 1].i = 0.0f;
    }
}

void stft_forward_frames(const stft_plan *p, stft_scratch *s, const float *x, int64_t len, float *spec, int64_t f0,
                         int64_t f1)
{
    const int N = p->n, F = p->bins, h = p->hop;
    const int64_t T = stft_frames(len, h), half = N / 2;
    if (f0 < 0)
        f0 = 0;
    if (f1 > T)
        f1 = T;
    for (int64_t t0 = f0; t0 < f1; t0 += STFT_BLOCK) {
        int nb = f1 - t0 < STFT_BLOCK ? (int)(f1 - t0) : STFT_BLOCK;
        for (int b = 0; b < nb; b++) {
            int64_t start = (t0 + b) * h - half; /* first sample of the frame in x */
            if (start >= 0 && start + N <= len) {
                const float *src = x + start;
                for (int n = 0; n < N; n++)
                    s->frame[n] = p->win[n] * src[n];
            } else { /* an edge frame: padding from its definition */
                for (int n = 0; n < N; n++) {
                    int64_t j = pad_src((t0 + b) * h + n, half, len);
                    s->frame[n] = j >= 0 ? p->win[n] * x[j] : 0.0f;
                }
            }
            kiss_fftr(s->fwd, s->frame, s->blk + b * F);
        }
        scatter_block(s->blk, F, nb, spec, T, t0);
    }
}

void stft_forward(const stft_plan *p, stft_scratch *s, const float *x, int64_t len, float *spec)
{
    stft_forward_frames(p, s, x, len, spec, 0, stft_frames(len, p->hop));
}

/* Checks len against frames and the envelope; returns the envelope or NULL. */
static const float *inverse_check(const stft_plan *p, stft_scratch *s, int64_t frames, int64_t len)
{
    if (!stft_length_fits(len, frames, p->hop))
        return NULL;
    int64_t P = padded_len(p, frames), half = p->n / 2;
    if (half + len > P)
        return NULL;
    const float *e = envelope(p, s, frames);
    for (int64_t j = 0; j < len; j++)
        if (!(e[half + j] > 0.0f))
            return NULL;
    return e;
}

int stft_inverse_samples(const stft_plan *p, stft_scratch *s, const float *spec, int64_t frames, float *y, int64_t len,
                         int64_t j0, int64_t j1)
{
    const int N = p->n, F = p->bins, h = p->hop;
    const int64_t T = frames, half = N / 2;
    if (!stft_length_fits(len, frames, h) || half + len > padded_len(p, T))
        return -1;
    if (j0 < 0)
        j0 = 0;
    if (j1 > len)
        j1 = len;
    if (j1 <= j0)
        return 0;
    /* padded positions [a, b) and the frames that touch them */
    int64_t a = j0 + half, b = j1 + half;
    int64_t tmin = a - N < 0 ? 0 : (a - N) / h + 1, tmax = (b - 1) / h;
    if (tmax > T - 1)
        tmax = T - 1;
    int64_t base = tmin * h, P = (tmax - tmin) * h + N;
    double *acc = grow_d(&s->acc, &s->acc_cap, P);
    memset(acc, 0, sizeof(double) * (size_t)P);
    for (int64_t t0 = tmin; t0 <= tmax; t0 += STFT_BLOCK) {
        int nb = tmax + 1 - t0 < STFT_BLOCK ? (int)(tmax + 1 - t0) : STFT_BLOCK;
        gather_block(s->blk, F, nb, spec, T, t0);
        for (int k = 0; k < nb; k++) {
            kiss_fftri(s->inv, s->blk + k * F, s->frame);
            double *d = acc + ((t0 + k) * h - base);
            for (int n = 0; n < N; n++)
                d[n] += (double)p->winn[n] * s->frame[n];
        }
    }
    for (int64_t j = j0; j < j1; j++) {
        /* the envelope at padded position i: its (at most N/hop) frames */
        int64_t i = j + half, ta = i - N < 0 ? 0 : (i - N) / h + 1, tb = i / h < T - 1 ? i / h : T - 1;
        double v = 0;
        for (int64_t t = ta; t <= tb; t++) {
            double w = p->win[i - t * h];
            v += w * w;
        }
        if (!(v > 0.0))
            return -1;
        double u = acc[i - base];
        y[j] = (float)(v > STFT_TINY_ENVELOPE ? u / v : u);
    }
    return 0;
}

int stft_inverse(const stft_plan *p, stft_scratch *s, const float *spec, int64_t frames, float *y, int64_t len)
{
    /* check every sample first so that y stays untouched on failure */
    if (!inverse_check(p, s, frames, len))
        return -1;
    return stft_inverse_samples(p, s, spec, frames, y, len, 0, len);
}

void stft_forward_adjoint(const stft_plan *p, stft_scratch *s, const float *gspec, int64_t len, float *gx)
{
    const int N = p->n, F = p->bins, h = p->hop;
    const int64_t T = stft_frames(len, h), P = padded_len(p, T), half = N / 2;
    double *acc = grow_d(&s->acc, &s->acc_cap, P);
    memset(acc, 0, sizeof(double) * (size_t)P);
    for (int64_t t0 = 0; t0 < T; t0 += STFT_BLOCK) {
        int nb = T - t0 < STFT_BLOCK ? (int)(T - t0) : STFT_BLOCK;
        gather_block(s->blk, F, nb, gspec, T, t0);
        for (int b = 0; b < nb; b++) {
            kiss_fft_cpx *c = s->blk + b * F;
            for (int k = 1; k < F - 1; k++) {
                c[k].r *= 0.5f;
                c[k].i *= 0.5f;
            }
            kiss_fftri(s->inv, c, s->frame);
            double *d = acc + (t0 + b) * h;
            for (int n = 0; n < N; n++)
                d[n] += (double)p->win[n] * s->frame[n];
        }
    }
    for (int64_t i = 0; i < P; i++) {
        int64_t j = pad_src(i, half, len);
        if (j >= 0)
            gx[j] += (float)acc[i];
    }
}

int stft_inverse_adjoint(const stft_plan *p, stft_scratch *s, const float *gy, int64_t len, float *gspec,
                         int64_t frames)
{
    const int N = p->n, F = p->bins, h = p->hop;
    const float *e = inverse_check(p, s, frames, len);
    if (!e)
        return -1;
    const int64_t T = frames, P = padded_len(p, T), half = N / 2;
    float *u = grow(&s->buf, &s->buf_cap, P);
    memset(u, 0, sizeof(float) * (size_t)P);
    for (int64_t j = 0; j < len; j++) {
        double v = e[half + j];
        u[half + j] = (float)(v > STFT_TINY_ENVELOPE ? gy[j] / v : gy[j]);
    }
    for (int64_t t0 = 0; t0 < T; t0 += STFT_BLOCK) {
        int nb = T - t0 < STFT_BLOCK ? (int)(T - t0) : STFT_BLOCK;
        for (int b = 0; b < nb; b++) {
            const float *src = u + (t0 + b) * h;
            for (int n = 0; n < N; n++)
                s->frame[n] = p->winn[n] * src[n];
            kiss_fft_cpx *c = s->blk + b * F;
            kiss_fftr(s->fwd, s->frame, c);
            for (int k = 1; k < F - 1; k++) {
                c[k].r *= 2.0f;
                c[k].i *= 2.0f;
            }
            c[0].i = 0.0f;
            c[F - 1].i = 0.0f;
        }
        scatter_add_block(s->blk, F, nb, gspec, T, t0);
    }
    return 0;
}
