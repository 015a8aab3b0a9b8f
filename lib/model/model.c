/* TFSWA-UNet configuration, tensor layout, initialisation and FLOP count. */
#include "model/model.h"
#include "model/net.h"
#include "util/cli.h"
#include "util/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const DEFAULT_STEMS[] = {"vocals", "drums", "bass", "other"};

int tfswa_preset(tfswa_config *c, const char *name)
{
    memset(c, 0, sizeof *c);
    if (strcmp(name, "seed") == 0) {
        static const int d[4] = {2, 2, 6, 2}, ch[4] = {32, 64, 128, 256};
        memcpy(c->depths, d, sizeof d);
        memcpy(c->dims, ch, sizeof ch);
        for (int i = 0; i < 4; i++)
            c->heads[i] = 8;
    } else if (strcmp(name, "tiny") == 0) {
        static const int d[4] = {1, 1, 1, 1}, ch[4] = {16, 32, 64, 128};
        memcpy(c->depths, d, sizeof d);
        memcpy(c->dims, ch, sizeof ch);
        for (int i = 0; i < 4; i++)
            c->heads[i] = 2;
    } else if (strcmp(name, "band") == 0) {
        /* 38 bands x D 40, 2 TFSWA blocks, 5 heads of 8, MLP 2x, mask MLP 96:
         * 1.7 GFLOP per second of audio in 6 s chunks (formats/checkpoint.md,
         * "Band models") */
        c->arch = TFSWA_ARCH_BAND;
        for (int i = 0; i < 4; i++) {
            c->depths[i] = 2;
            c->dims[i] = 40;
            c->heads[i] = 5;
        }
        c->mask_hidden = 96;
    } else {
        return -1;
    }
    snprintf(c->preset, sizeof c->preset, "%s", name);
    c->window = 8;
    c->mlp_ratio = c->arch == TFSWA_ARCH_BAND ? 2 : 4;
    c->n_fft = 2048;
    c->hop = 512;
    c->rate = 44100;
    c->n_stems = 4;
    for (int i = 0; i < 4; i++)
        snprintf(c->stems[i], TFSWA_STEM_NAME, "%s", DEFAULT_STEMS[i]);
    c->seed = 0;
    return 0;
}

int tfswa_config_check(const tfswa_config *c, char *err, size_t len)
{
    for (int i = 0; i < TFSWA_LEVELS; i++) {
        if (c->depths[i] < 0 || c->depths[i] > TFSWA_MAX_DEPTH)
            return tf_fail(err, len, "depths: %d outside [0, %d]", c->depths[i], TFSWA_MAX_DEPTH);
        if (c->dims[i] < 1 || c->dims[i] > TFSWA_MAX_DIM)
            return tf_fail(err, len, "dims: %d outside [1, %d]", c->dims[i], TFSWA_MAX_DIM);
        if (c->heads[i] < 1 || c->dims[i] % c->heads[i] != 0)
            return tf_fail(err, len, "heads: %d does not divide the stage's %d channels", c->heads[i], c->dims[i]);
    }
    if (c->arch != TFSWA_ARCH_UNET && c->arch != TFSWA_ARCH_BAND)
        return tf_fail(err, len, "arch: unknown architecture %d", c->arch);
    if (c->arch == TFSWA_ARCH_BAND) {
        for (int i = 1; i < TFSWA_LEVELS; i++)
            if (c->depths[i] != c->depths[0] || c->dims[i] != c->dims[0] || c->heads[i] != c->heads[0])
                return tf_fail(err, len, "a band model has one depth, one dims and one heads value");
        if (c->mask_hidden < 1 || c->mask_hidden > TFSWA_MAX_DIM)
            return tf_fail(err, len, "mask_hidden: %d outside [1, %d]", c->mask_hidden, TFSWA_MAX_DIM);
        if (c->features != TFSWA_FEAT_COMPLEX && c->features != TFSWA_FEAT_LOGMAG)
            return tf_fail(err, len, "features: unknown input features %d", c->features);
        if (c->n_bands < 0 || c->n_bands > TFSWA_MAX_BANDS)
            return tf_fail(err, len, "bands: %d bands (1 to %d)", c->n_bands, TFSWA_MAX_BANDS);
        if (c->n_bands > 0 && c->n_fft >= 16) {
            long sum = 0;
            for (int k = 0; k < c->n_bands; k++) {
                if (c->bands[k] < 1 || c->bands[k] > 65536)
                    return tf_fail(err, len, "bands: width %d of band %d is not in [1, 65536]", c->bands[k], k);
                sum += c->bands[k];
            }
            if (sum != tfswa_bins(c))
                return tf_fail(err, len, "bands: the widths sum to %ld bins; n_fft %d has %d", sum, c->n_fft,
                               tfswa_bins(c));
        }
    } else if (c->mask_hidden || c->n_bands || c->features) {
        return tf_fail(err, len, "bands, mask_hidden and features belong to band models");
    }
    if (c->window < 2 || c->window > 64 || c->window % 2)
        return tf_fail(err, len, "window: %d is not an even number in [2, 64]", c->window);
    if (c->mlp_ratio < 1 || c->mlp_ratio > 16)
        return tf_fail(err, len, "mlp_ratio: %d outside [1, 16]", c->mlp_ratio);
    if (c->n_fft < 16 || c->n_fft > 65536 || c->n_fft % 2)
        return tf_fail(err, len, "n_fft: %d is not an even number in [16, 65536]", c->n_fft);
    if (c->hop < 1 || c->hop > c->n_fft)
        return tf_fail(err, len, "hop: %d outside [1, n_fft]", c->hop);
    if (c->rate < 1 || c->rate > 1000000)
        return tf_fail(err, len, "rate: %d outside [1, 1000000]", c->rate);
    if (c->n_stems < 1 || c->n_stems > TFSWA_MAX_STEMS)
        return tf_fail(err, len, "%d stems (1 to %d)", c->n_stems, TFSWA_MAX_STEMS);
    if (c->residual && c->n_stems < 2)
        return tf_fail(err, len, "a residual mask needs at least 2 stems (the last is the rest of the mixture)");
    for (int s = 0; s < c->n_stems; s++) {
        const char *n = c->stems[s];
        size_t l = strlen(n);
        if (l == 0 || l >= TFSWA_STEM_NAME)
            return tf_fail(err, len, "stem name '%s': 1 to %d characters", n, TFSWA_STEM_NAME - 1);
        for (size_t k = 0; k < l; k++)
            if (!((n[k] >= 'a' && n[k] <= 'z') || (n[k] >= 'A' && n[k] <= 'Z') || (n[k] >= '0' && n[k] <= '9') ||
                  n[k] == '_' || n[k] == '-' || n[k] == '.' || n[k] == '+') ||
                (n[0] == '.'))
                return tf_fail(err, len, "stem name '%s': use letters, digits, '_', '-', '.', '+'", n);
        for (int r = 0; r < s; r++)
            if (strcmp(c->stems[r], n) == 0)
                return tf_fail(err, len, "stem '%s' named twice", n);
    }
    return 0;
}

int tfswa_parse_ints(const char *s, int *out, int n)
{
    int k = 0;
    const char *p = s;
    while (1) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < -1000000 || v > 1000000 || k >= n)
            return -1;
        out[k++] = (int)v;
        if (*end == 0)
            break;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
    if (k == 1)
        for (int i = 1; i < n; i++)
            out[i] = out[0];
    else if (k != n)
        return -1;
    return 0;
}

int tfswa_band_widths(const tfswa_config *c, int widths[TFSWA_MAX_BANDS])
{
    if (c->n_bands > 0) {
        memcpy(widths, c->bands, sizeof(int) * (size_t)c->n_bands);
        return c->n_bands;
    }
    int F = tfswa_bins(c), k = 0, sum = 0;
    while (sum < F) {
        int w = 2 << (k / 6);
        if (sum + w > F || k == TFSWA_MAX_BANDS) { /* the rest joins the last band */
            widths[k - 1] += F - sum;
            break;
        }
        widths[k++] = w;
        sum += w;
    }
    return k;
}

int tfswa_parse_bands(const char *s, tfswa_config *c)
{
    int k = 1;
    for (const char *q = s; (q = strchr(q, ',')); q++)
        k++;
    if (k > TFSWA_MAX_BANDS || tfswa_parse_ints(s, c->bands, k) < 0)
        return -1;
    c->n_bands = k;
    return 0;
}

void tfswa_format_ints(char *buf, size_t len, const int *v, int n)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", i ? "," : "", v[i]);
}

int tfswa_tlayer_tensors(const tlayer_config *tc, tfswa_ttensor out[13])
{
    const int64_t C = tc->C, H = tc->hidden, nb = (2 * (int64_t)tc->window - 1) * (2 * tc->window - 1);
    const int c = tc->C, h = tc->hidden;
#define TT(nm, r, s0, s1, in, fi, fld)                                                                                 \
    out[n++] = (tfswa_ttensor) { nm, r, {s0, s1}, TFSWA_INIT_##in, fi, offsetof(tlayer_params, fld) }
    int n = 0;
    TT("norm1.weight", 1, C, 0, ONES, 0, ln1_g);
    TT("norm1.bias", 1, C, 0, ZEROS, 0, ln1_b);
    TT("attn.qkv.weight", 2, 3 * C, C, KAIMING, c, qkv_w);
    TT("attn.qkv.bias", 1, 3 * C, 0, FANIN_BIAS, c, qkv_b);
    TT("attn.proj.weight", 2, C, C, KAIMING, c, proj_w);
    TT("attn.proj.bias", 1, C, 0, FANIN_BIAS, c, proj_b);
    if (tc->kind == TL_WINDOW || tc->kind == TL_SHIFTED)
        TT("attn.relative_position_bias_table", 2, nb, tc->heads, TRUNC_NORMAL, 0, rel_bias);
    TT("norm2.weight", 1, C, 0, ONES, 0, ln2_g);
    TT("norm2.bias", 1, C, 0, ZEROS, 0, ln2_b);
    TT("mlp.fc1.weight", 2, H, C, KAIMING, c, fc1_w);
    TT("mlp.fc1.bias", 1, H, 0, FANIN_BIAS, c, fc1_b);
    TT("mlp.fc2.weight", 2, C, H, KAIMING, h, fc2_w);
    TT("mlp.fc2.bias", 1, C, 0, FANIN_BIAS, h, fc2_b);
#undef TT
    return n;
}

void tfswa_layout_add(tfswa_layout *L, const char *name, int rank, const int64_t *shape, int trainable, int init,
                      int fan_in)
{
    L->t = tf_realloc(L->t, (size_t)(L->n + 1) * sizeof *L->t, "model layout");
    tfswa_tensor *t = &L->t[L->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rank = rank;
    t->numel = 1;
    for (int i = 0; i < rank; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->trainable = trainable;
    t->init = init;
    t->fan_in = fan_in;
}

void tfswa_layout_build(tfswa_layout *L, const tfswa_config *c)
{
    tfswa_net n;
    tfswa_net_build(&n, c);
    *L = n.layout;
    memset(&n.layout, 0, sizeof n.layout);
    tfswa_net_free(&n);
}

void tfswa_layout_finish(tfswa_layout *L)
{
    size_t off = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (int i = 0; i < L->n; i++)
            if (L->t[i].trainable == pass) {
                L->t[i].offset = off;
                off += L->t[i].numel;
            }
    L->n_total = off;
    for (int i = 0; i < L->n; i++)
        if (L->t[i].trainable)
            L->n_params += L->t[i].numel;
}

void tfswa_layout_free(tfswa_layout *L)
{
    free(L->t);
    memset(L, 0, sizeof *L);
}

int tfswa_layout_find(const tfswa_layout *L, const char *name)
{
    for (int i = 0; i < L->n; i++)
        if (strcmp(L->t[i].name, name) == 0)
            return i;
    return -1;
}

void tfswa_bind(tfswa_weights *W, const tfswa_layout *L, float *base)
{
    memset(W, 0, sizeof *W);
    W->norm_mean = base + L->t[tfswa_layout_find(L, "norm.mean")].offset;
    W->norm_std = base + L->t[tfswa_layout_find(L, "norm.std")].offset;
}

const char *tfswa_features_name(int features) { return features == TFSWA_FEAT_LOGMAG ? "logmag" : "complex"; }

int tfswa_parse_features(const char *name)
{
    if (strcmp(name, "complex") == 0)
        return TFSWA_FEAT_COMPLEX;
    if (strcmp(name, "logmag") == 0)
        return TFSWA_FEAT_LOGMAG;
    return -1;
}

tlayer_config tfswa_tlayer_config(const tfswa_config *c, int stage, int j)
{
    tlayer_config t;
    t.kind = (tlayer_kind)j;
    t.C = c->dims[stage];
    t.heads = c->heads[stage];
    t.hidden = c->mlp_ratio * c->dims[stage];
    t.window = c->window;
    return t;
}

void tfswa_model_alloc(tfswa_model *m, const tfswa_config *c)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    tfswa_layout_build(&m->layout, c);
    m->data = tf_calloc(m->layout.n_total ? m->layout.n_total : 1, sizeof(float), "model weights");
    tfswa_bind(&m->w, &m->layout, m->data);
}

void tfswa_model_init_weights(tfswa_model *m)
{
    tf_rng rng;
    tf_rng_seed(&rng, m->cfg.seed);
    for (int i = 0; i < m->layout.n; i++) {
        const tfswa_tensor *t = &m->layout.t[i];
        float *p = m->data + t->offset;
        double bound = t->fan_in > 0 ? 1.0 / sqrt((double)t->fan_in) : 0;
        for (size_t k = 0; k < t->numel; k++) {
            switch (t->init) {
            case TFSWA_INIT_ZEROS: p[k] = 0; break;
            case TFSWA_INIT_ONES: p[k] = 1; break;
            case TFSWA_INIT_KAIMING:
            case TFSWA_INIT_FANIN_BIAS: p[k] = (float)tf_rng_range(&rng, -bound, bound); break;
            case TFSWA_INIT_KAIMING_SMALL: p[k] = (float)tf_rng_range(&rng, -0.1 * bound, 0.1 * bound); break;
            case TFSWA_INIT_MASK_BIAS: p[k] = k % 2 == 0 ? 1.0f / (float)t->fan_in : 0.0f; break;
            case TFSWA_INIT_TRUNC_NORMAL: {
                double v;
                do
                    v = 0.02 * tf_rng_normal(&rng);
                while (fabs(v) > 0.04);
                p[k] = (float)v;
                break;
            }
            }
        }
    }
}

void tfswa_model_free(tfswa_model *m)
{
    tfswa_layout_free(&m->layout);
    free(m->data);
    memset(m, 0, sizeof *m);
}

void tfswa_level_sizes(int F, int T, int f[TFSWA_LEVELS], int t[TFSWA_LEVELS])
{
    f[0] = F;
    t[0] = T;
    for (int i = 1; i < TFSWA_LEVELS; i++) {
        f[i] = f[i - 1] / 2;
        t[i] = t[i - 1] / 2;
    }
}

static double ceil_to(int x, int m) { return (double)((x + m - 1) / m * m); }

double tfswa_tlayer_flops(const tlayer_config *tc, int F, int T, double *attn)
{
    double C = tc->C, H = tc->hidden, n = (double)F * T, win = tc->window;
    double Fp = ceil_to(F, tc->window), Tp = ceil_to(T, tc->window);
    double lin = 2 * n * (4 * C * C + 2 * C * H);
    double a = tc->kind == TL_TIME ? 4 * n * T * C : tc->kind == TL_FREQ ? 4 * n * F * C : 4 * Fp * Tp * win * win * C;
    *attn += a;
    return lin + a;
}

double tfswa_flops(const tfswa_config *c, int T, double per_module[6]) { return tfswa_net_flops(c, T, per_module); }

void tfswa_features(float *dst, const float *X, int64_t Ttot, int64_t t0, int T, int Tr, const float *mean,
                    const float *std, int F)
{
#pragma omp parallel for schedule(static)
    for (int cf = 0; cf < TFSWA_IN_CH * F; cf++) {
        int ch = cf / F, f = cf % F, audio = ch / 2, part = ch % 2;
        float mu = mean[cf], sd = std[cf];
        const float *src = X + 2 * (((int64_t)audio * F + f) * Ttot + t0) + part;
        float *o = dst + (size_t)cf * Tr;
        for (int t = 0; t < Tr; t++)
            o[t] = ((t < T ? src[2 * (int64_t)t] : 0.0f) - mu) / sd;
    }
}
