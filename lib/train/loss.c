#include "train/loss.h"
#include "dsp/stft.h"
#include "util/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double l1_loss(const float *est, const float *ref, size_t n, float *grad, double scale)
{
    if (n == 0)
        return 0;
    double s = 0;
    const float g = (float)(scale / (double)n);
    for (size_t i = 0; i < n; i++) {
        float d = est[i] - ref[i];
        s += fabsf(d);
        if (grad)
            grad[i] += d > 0 ? g : d < 0 ? -g : 0.0f;
    }
    return s / (double)n;
}

double l2_loss(const float *est, const float *ref, size_t n, float *grad, double scale)
{
    if (n == 0)
        return 0;
    double s = 0;
    const float g = (float)(2 * scale / (double)n);
    for (size_t i = 0; i < n; i++) {
        float d = est[i] - ref[i];
        s += (double)d * d;
        if (grad)
            grad[i] += g * d;
    }
    return s / (double)n;
}

double sdr_loss(const float *est, const float *ref, size_t n, double eps, float *grad, double scale)
{
    double se = 0, sr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)est[i] - ref[i];
        se += d * d;
        sr += (double)ref[i] * ref[i];
    }
    if (grad) {
        const float g = (float)(scale * 20.0 / M_LN10 / (se + eps));
        for (size_t i = 0; i < n; i++)
            grad[i] += g * (est[i] - ref[i]);
    }
    return 10.0 * log10((se + eps) / (sr + eps));
}

double energy(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return s;
}

mrstft_config mrstft_default(void)
{
    mrstft_config c;
    memset(&c, 0, sizeof c);
    c.n_res = 3;
    c.n_fft[0] = 2048, c.hop[0] = 512;
    c.n_fft[1] = 1024, c.hop[1] = 256;
    c.n_fft[2] = 512, c.hop[2] = 128;
    c.w_mag = 1.0;
    c.w_logmag = 1.0;
    c.eps = 1e-8;
    return c;
}

struct mrstft {
    mrstft_config cfg;
    const stft_plan *plan[MRSTFT_MAX_RES];
    stft_scratch *scratch[MRSTFT_MAX_RES];
    float *se, *sr; /* spectrograms of est and ref */
    size_t cap;
};

mrstft *mrstft_new(const mrstft_config *cfg, char *err, size_t errlen)
{
    if (cfg->n_res < 1 || cfg->n_res > MRSTFT_MAX_RES) {
        snprintf(err, errlen, "multi-resolution STFT loss: %d resolutions (1..%d)", cfg->n_res, MRSTFT_MAX_RES);
        return NULL;
    }
    mrstft *m = tf_calloc(1, sizeof *m, "mrstft");
    m->cfg = *cfg;
    for (int r = 0; r < cfg->n_res; r++) {
        m->plan[r] = stft_plan_get(cfg->n_fft[r], cfg->hop[r], err, errlen);
        if (!m->plan[r]) {
            mrstft_free(m);
            return NULL;
        }
        m->scratch[r] = stft_scratch_new(m->plan[r]);
    }
    return m;
}

void mrstft_free(mrstft *m)
{
    if (!m)
        return;
    for (int r = 0; r < m->cfg.n_res; r++)
        if (m->scratch[r])
            stft_scratch_free(m->scratch[r]);
    free(m->se);
    free(m->sr);
    free(m);
}

double mrstft_loss(mrstft *m, const float *est, const float *ref, int64_t len, float *grad, double scale)
{
    const mrstft_config *c = &m->cfg;
    double total = 0;
    for (int r = 0; r < c->n_res; r++) {
        const stft_plan *p = m->plan[r];
        int F = stft_plan_bins(p);
        int64_t T = stft_frames(len, c->hop[r]);
        size_t n = (size_t)F * (size_t)T;
        if (2 * n > m->cap) {
            m->cap = 2 * n;
            free(m->se);
            free(m->sr);
            m->se = tf_malloc(m->cap * sizeof(float), "loss spectrogram");
            m->sr = tf_malloc(m->cap * sizeof(float), "loss spectrogram");
        }
        stft_forward(p, m->scratch[r], est, len, m->se);
        stft_forward(p, m->scratch[r], ref, len, m->sr);
        double smag = 0, slog = 0;
        const double wr = scale / c->n_res / (double)n;
        for (size_t i = 0; i < n; i++) {
            double er = m->se[2 * i], ei = m->se[2 * i + 1];
            double rr = m->sr[2 * i], ri = m->sr[2 * i + 1];
            double pe = er * er + ei * ei, pr = rr * rr + ri * ri;
            int clamped = pe < c->eps;
            double me = sqrt(clamped ? c->eps : pe), mr = sqrt(pr < c->eps ? c->eps : pr);
            double dmag = me - mr, dlog = log(me) - log(mr);
            smag += fabs(dmag);
            slog += fabs(dlog);
            if (grad) {
                /* d/d|S|: w_mag sign(dmag) + w_logmag sign(dlog) / |S|; then d|S|/d(re, im) = (re, im) / |S|
                 * (zero where the clamp is active, as torch.clamp's gradient). */
                double gm = c->w_mag * ((dmag > 0) - (dmag < 0)) + c->w_logmag * ((dlog > 0) - (dlog < 0)) / me;
                double f = clamped ? 0.0 : wr * gm / me;
                m->se[2 * i] = (float)(f * er);
                m->se[2 * i + 1] = (float)(f * ei);
            }
        }
        total += (c->w_mag * smag + c->w_logmag * slog) / (double)n;
        if (grad)
            stft_forward_adjoint(p, m->scratch[r], m->se, len, grad);
    }
    return total / c->n_res;
}

struct stem_loss_ctx {
    stem_loss_config cfg;
    const stft_plan *plan;
    stft_scratch *scratch;
    mrstft *mr;
    float *we, *wr, *gw; /* est / ref waveform, waveform gradient */
    int64_t cap;
};

stem_loss_ctx *stem_loss_new(const stem_loss_config *cfg, char *err, size_t errlen)
{
    stem_loss_ctx *c = tf_calloc(1, sizeof *c, "loss");
    c->cfg = *cfg;
    c->plan = stft_plan_get(cfg->n_fft, cfg->hop, err, errlen);
    if (!c->plan) {
        free(c);
        return NULL;
    }
    c->scratch = stft_scratch_new(c->plan);
    if (cfg->mrstft_weight != 0) {
        c->mr = mrstft_new(&cfg->mr, err, errlen);
        if (!c->mr) {
            stem_loss_free(c);
            return NULL;
        }
    }
    return c;
}

void stem_loss_free(stem_loss_ctx *c)
{
    if (!c)
        return;
    if (c->scratch)
        stft_scratch_free(c->scratch);
    mrstft_free(c->mr);
    free(c->we);
    free(c->wr);
    free(c->gw);
    free(c);
}

double stem_loss(stem_loss_ctx *c, const float *est, const float *ref, const float *ref_wave, int channels,
                 int64_t frames, int64_t len, double mix_energy, float *grad_spec, double scale, double *l1_out,
                 double *mr_out)
{
    const stem_loss_config *cfg = &c->cfg;
    int F = stft_plan_bins(c->plan);
    size_t per_ch = 2 * (size_t)F * (size_t)frames;
    double l1 = 0, l2 = 0, mr = 0, sdr = 0;
    if (cfg->l1_weight != 0)
        l1 = l1_loss(est, ref, per_ch * (size_t)channels, grad_spec, scale * cfg->l1_weight);
    if (cfg->l2_weight != 0)
        l2 = l2_loss(est, ref, per_ch * (size_t)channels, grad_spec, scale * cfg->l2_weight);
    if (cfg->sdr_weight != 0) {
        double floor = (cfg->sdr_floor > 0 ? cfg->sdr_floor : 1e-3) * mix_energy;
        sdr = sdr_loss(est, ref, per_ch * (size_t)channels, floor > 1e-30 ? floor : 1e-30, grad_spec,
                       scale * cfg->sdr_weight);
    }
    if (cfg->mrstft_weight != 0) {
        if (len > c->cap) {
            c->cap = len;
            free(c->we);
            free(c->wr);
            free(c->gw);
            c->we = tf_malloc((size_t)len * sizeof(float), "loss waveform");
            c->wr = tf_malloc((size_t)len * sizeof(float), "loss waveform");
            c->gw = tf_malloc((size_t)len * sizeof(float), "loss waveform");
        }
        for (int ch = 0; ch < channels; ch++) {
            if (stft_inverse(c->plan, c->scratch, est + ch * per_ch, frames, c->we, len) != 0)
                tf_die("loss: cannot invert a %lld-frame spectrogram to %lld samples", (long long)frames,
                       (long long)len);
            const float *rw = ref_wave ? ref_wave + (size_t)ch * (size_t)len : c->wr;
            if (!ref_wave && stft_inverse(c->plan, c->scratch, ref + ch * per_ch, frames, c->wr, len) != 0)
                tf_die("loss: cannot invert the reference spectrogram");
            if (grad_spec)
                memset(c->gw, 0, (size_t)len * sizeof(float));
            mr += mrstft_loss(c->mr, c->we, rw, len, grad_spec ? c->gw : NULL, scale * cfg->mrstft_weight / channels);
            if (grad_spec)
                stft_inverse_adjoint(c->plan, c->scratch, c->gw, len, grad_spec + ch * per_ch, frames);
        }
        mr /= channels;
    }
    if (l1_out)
        *l1_out = l1;
    if (mr_out)
        *mr_out = mr;
    return cfg->l1_weight * l1 + cfg->l2_weight * l2 + cfg->sdr_weight * sdr + cfg->mrstft_weight * mr;
}
