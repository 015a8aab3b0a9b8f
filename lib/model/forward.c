/* TFSWA-UNet inference forward pass (formats/checkpoint.md, "Forward pass"). */
#include "model/forward.h"
#include "model/net.h"
#include "nn/layers.h"
#include "nn/tlayer.h"
#include "util/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float *w, *b; /* folded conv weight/bias, or the model's own when not folding */
    const tfswa_convbn *cb;
} conv_unit;

struct tfswa_runner {
    const tfswa_model *m;
    int F, tmax, fold;
    float *arena;
    size_t floats;
    float *feat;       /* (4, F, tmax) */
    float *buf[2];     /* ping-pong, largest activation */
    float *skip[3];    /* NCHW skip tensors */
    float *conv_work;
    float *tl_scratch;
    float *masks;      /* (4 S, F, tmax) */
    float *folded;     /* folded conv weights */
    conv_unit stem, down[3], up[3], head;
    tfswa_net_exec *net; /* a band model: everything else unused */
};

/* Folds BN (eval) into a conv: scale_o = g_o / sqrt(var_o + eps),
 * w'[o] = w[o] scale_o, b'_o = (b_o - mean_o) scale_o + beta_o. For a
 * transposed conv the output channel is the weight's second index. */
static void fold(conv_unit *u, const tfswa_convbn *cb, float **pool, int cout, int cin, int k, int transposed)
{
    u->cb = cb;
    size_t nw = (size_t)cout * cin * k * k;
    u->w = *pool;
    u->b = *pool + nw;
    *pool += nw + (size_t)cout;
    for (int o = 0; o < cout; o++) {
        double sc = cb->bn_g[o] / sqrt((double)cb->bn_var[o] + TFSWA_BN_EPS);
        u->b[o] = (float)((cb->b[o] - (double)cb->bn_mean[o]) * sc + cb->bn_b[o]);
        if (!transposed)
            for (size_t j = 0; j < (size_t)cin * k * k; j++)
                u->w[(size_t)o * cin * k * k + j] = (float)(cb->w[(size_t)o * cin * k * k + j] * sc);
        else
            for (int i = 0; i < cin; i++)
                for (int j = 0; j < k * k; j++) {
                    size_t idx = ((size_t)i * cout + o) * k * k + j;
                    u->w[idx] = (float)(cb->w[idx] * sc);
                }
    }
}

tfswa_runner *tfswa_runner_new(const tfswa_model *m, int tmax, int fold_bn)
{
    const tfswa_config *c = &m->cfg;
    if (tmax < TFSWA_MIN_FRAMES)
        tmax = TFSWA_MIN_FRAMES;
    tfswa_runner *r = tf_calloc(1, sizeof *r, "model runner");
    r->m = m;
    r->F = tfswa_bins(c);
    r->tmax = tmax;
    r->fold = fold_bn;
    if (c->arch == TFSWA_ARCH_BAND) {
        r->net = tfswa_net_exec_new(m, 1, tmax, 0);
        return r;
    }
    int f[TFSWA_LEVELS], t[TFSWA_LEVELS];
    tfswa_level_sizes(r->F, tmax, f, t);
    size_t act = 0, skip[3], convw = 0, tls = 0;
    for (int i = 0; i < TFSWA_LEVELS; i++) {
        act = tfswa_max_size(act, (size_t)c->dims[i] * f[i] * t[i]);
        for (int j = 0; j < 4; j++) {
            tlayer_config tc = tfswa_tlayer_config(c, i, j);
            if (c->depths[i] > 0)
                tls = tfswa_max_size(tls, tlayer_scratch_size(&tc, 1, f[i], t[i]));
        }
    }
    /* the head's output passes through a ping-pong buffer when frames are cropped */
    act = tfswa_max_size(act, (size_t)4 * c->n_stems * r->F * tmax);
    for (int i = 0; i < 3; i++)
        skip[i] = (size_t)c->dims[i] * f[i] * t[i];
    conv2d_dims d = tfswa_conv_dims(1, TFSWA_IN_CH, f[0], t[0], c->dims[0], 7, 1, 3);
    convw = tfswa_max_size(convw, conv2d_workspace(&d));
    for (int i = 0; i < 3; i++) {
        d = tfswa_conv_dims(1, c->dims[i], f[i], t[i], c->dims[i + 1], 4, 2, 1);
        convw = tfswa_max_size(convw, conv2d_workspace(&d));
        d = tfswa_conv_dims(1, c->dims[i + 1], f[i + 1], t[i + 1], c->dims[i], 4, 2, 1);
        convw = tfswa_max_size(convw, convt2d_workspace(&d));
    }
    d = tfswa_conv_dims(1, c->dims[0], f[0], t[0], c->dims[0], 3, 1, 1);
    convw = tfswa_max_size(convw, conv2d_workspace(&d));
    d = tfswa_conv_dims(1, c->dims[0], f[0], t[0], 4 * c->n_stems, 1, 1, 0);
    convw = tfswa_max_size(convw, conv2d_workspace(&d));
    size_t nfeat = (size_t)TFSWA_IN_CH * r->F * tmax, nmask = (size_t)4 * c->n_stems * r->F * tmax;
    size_t nfold = 0;
    if (fold_bn) {
        nfold += (size_t)c->dims[0] * TFSWA_IN_CH * 49 + (size_t)c->dims[0];
        for (int i = 0; i < 3; i++)
            nfold += 2 * ((size_t)c->dims[i] * c->dims[i + 1] * 16) + c->dims[i] + c->dims[i + 1];
        nfold += (size_t)c->dims[0] * c->dims[0] * 9 + (size_t)c->dims[0];
    }
    /* 16-float alignment of each piece */
#define AL(x) (((x) + 15) & ~(size_t)15)
    r->floats = AL(nfeat) + 2 * AL(act) + AL(skip[0]) + AL(skip[1]) + AL(skip[2]) + AL(convw) + AL(tls) + AL(nmask) +
                AL(nfold);
    r->arena = tf_malloc(r->floats * sizeof(float), "model activations");
    float *p = r->arena;
    r->feat = p, p += AL(nfeat);
    r->buf[0] = p, p += AL(act);
    r->buf[1] = p, p += AL(act);
    for (int i = 0; i < 3; i++)
        r->skip[i] = p, p += AL(skip[i]);
    r->conv_work = p, p += AL(convw);
    r->tl_scratch = p, p += AL(tls);
    r->masks = p, p += AL(nmask);
    r->folded = p;
#undef AL
    const tfswa_weights *W = &m->w;
    if (fold_bn) {
        float *pool = r->folded;
        fold(&r->stem, &W->stem, &pool, c->dims[0], TFSWA_IN_CH, 7, 0);
        for (int i = 0; i < 3; i++) {
            fold(&r->down[i], &W->down[i], &pool, c->dims[i + 1], c->dims[i], 4, 0);
            fold(&r->up[i], &W->up[i], &pool, c->dims[i], c->dims[i + 1], 4, 1);
        }
        fold(&r->head, &W->head, &pool, c->dims[0], c->dims[0], 3, 0);
    } else {
        conv_unit *u[8] = {&r->stem, &r->down[0], &r->down[1], &r->down[2], &r->up[0], &r->up[1], &r->up[2], &r->head};
        const tfswa_convbn *cb[8] = {&W->stem, &W->down[0], &W->down[1], &W->down[2],
                                     &W->up[0], &W->up[1], &W->up[2], &W->head};
        for (int i = 0; i < 8; i++) {
            u[i]->w = cb[i]->w;
            u[i]->b = cb[i]->b;
            u[i]->cb = cb[i];
        }
    }
    return r;
}

void tfswa_runner_free(tfswa_runner *r)
{
    if (!r)
        return;
    free(r->arena);
    tfswa_net_exec_free(r->net);
    free(r);
}

size_t tfswa_runner_bytes(const tfswa_runner *r)
{
    return r->net ? tfswa_net_exec_bytes(r->net) : r->floats * sizeof(float);
}
int    tfswa_runner_tmax(const tfswa_runner *r) { return r->tmax; }
const tfswa_model *tfswa_runner_model(const tfswa_runner *r) { return r->m; }

/* y = GELU(BN(conv(x))) with the unit's conv; tmp is a free buffer of y's
 * size (unfolded BN needs it: BN output must not alias its input). Returns
 * the buffer holding the result (y or tmp). */
static float *conv_bn_gelu(tfswa_runner *r, const conv_unit *u, float *y, float *tmp, const float *x,
                           const conv2d_dims *d, int transposed)
{
    int Ho = transposed ? convt2d_out_h(d) : conv2d_out_h(d);
    int Wo = transposed ? convt2d_out_w(d) : conv2d_out_w(d);
    int64_t n = (int64_t)Ho * Wo;
    if (transposed)
        convt2d_forward(y, x, u->w, u->b, d, r->conv_work);
    else
        conv2d_forward(y, x, u->w, u->b, d, r->conv_work);
    float *out = y;
    if (!r->fold) {
        batchnorm_forward_eval(tmp, y, u->cb->bn_g, u->cb->bn_b, u->cb->bn_mean, u->cb->bn_var, 1, d->Cout, n,
                               TFSWA_BN_EPS);
        out = tmp;
    }
    gelu_forward(out, out, (int64_t)d->Cout * n);
    return out;
}

/* Runs the TFSWA blocks of a stage on NCHW x (in *cur); the result is NCHW
 * in dst. other: a free buffer of the same size. */
static void run_blocks(tfswa_runner *r, const tlayer_params *layers, int n_layers, int stage, float *x, float *other,
                       float *dst, int Fi, int Ti)
{
    const tfswa_config *c = &r->m->cfg;
    int C = c->dims[stage];
    if (n_layers == 0) {
        if (dst != x)
            memcpy(dst, x, sizeof(float) * (size_t)C * Fi * Ti);
        return;
    }
    nchw_to_tokens(other, x, 1, C, Fi, Ti);
    float *a = other, *b = x;
    for (int l = 0; l < n_layers; l++) {
        tlayer_config tc = tfswa_tlayer_config(c, stage, l % 4);
        tlayer_forward(b, a, &layers[l], &tc, 1, Fi, Ti, NULL, r->tl_scratch);
        float *s = a;
        a = b;
        b = s;
    }
    if (a == dst) { /* result already in dst: move it through the other buffer */
        memcpy(b, a, sizeof(float) * (size_t)C * Fi * Ti);
        a = b;
    }
    tokens_to_nchw(dst, a, 1, C, Fi, Ti);
}

const float *tfswa_forward(tfswa_runner *r, const float *X, int64_t Ttot, int64_t t0, int T)
{
    const tfswa_model *m = r->m;
    const tfswa_config *c = &m->cfg;
    const tfswa_weights *W = &m->w;
    const int F = r->F;
    if (T < 1 || T > r->tmax || t0 < 0 || t0 + T > Ttot)
        tf_die("tfswa_forward: frames [%lld, %lld) outside [0, %lld) or longer than %d", (long long)t0,
               (long long)t0 + T, (long long)Ttot, r->tmax);
    if (r->net)
        return tfswa_net_forward(r->net, &X, Ttot, t0, T);
    const int Tr = T < TFSWA_MIN_FRAMES ? TFSWA_MIN_FRAMES : T; /* frames run */
    /* features; silent frames (x = 0) past T */
    tfswa_features(r->feat, X, Ttot, t0, T, Tr, W->norm_mean, W->norm_std, F);
    int f[TFSWA_LEVELS], t[TFSWA_LEVELS];
    tfswa_level_sizes(F, Tr, f, t);
    float *P = r->buf[0], *Q = r->buf[1];
    /* stem */
    conv2d_dims d = tfswa_conv_dims(1, TFSWA_IN_CH, F, Tr, c->dims[0], 7, 1, 3);
    float *cur = conv_bn_gelu(r, &r->stem, P, Q, r->feat, &d, 0);
    float *free_ = cur == P ? Q : P;
    /* encoder */
    for (int i = 0; i < 3; i++) {
        run_blocks(r, W->enc[i], W->n_enc[i], i, cur, free_, r->skip[i], f[i], t[i]);
        d = tfswa_conv_dims(1, c->dims[i], f[i], t[i], c->dims[i + 1], 4, 2, 1);
        cur = conv_bn_gelu(r, &r->down[i], P, Q, r->skip[i], &d, 0);
        free_ = cur == P ? Q : P;
    }
    /* bottom: result into free_, then swap */
    run_blocks(r, W->mid, W->n_mid, 3, cur, free_, free_, f[3], t[3]);
    {
        float *s = cur;
        cur = free_;
        free_ = s;
    }
    /* decoder */
    for (int i = 2; i >= 0; i--) {
        d = tfswa_conv_dims(1, c->dims[i + 1], f[i + 1], t[i + 1], c->dims[i], 4, 2, 1);
        int Ho = convt2d_out_h(&d), Wo = convt2d_out_w(&d); /* 2 f[i+1] <= f[i] */
        float *y = conv_bn_gelu(r, &r->up[i], free_, cur, cur, &d, 1);
        /* y is free_ (folded) or cur (unfolded: BN wrote over the consumed input) */
        float *o = y == P ? Q : P;
        pad2d_forward(o, y, 1, c->dims[i], Ho, Wo, f[i], t[i]);
        add_inplace(o, r->skip[i], (int64_t)c->dims[i] * f[i] * t[i]);
        float *other = o == P ? Q : P;
        run_blocks(r, W->dec[i], W->n_dec[i], i, o, other, other, f[i], t[i]);
        cur = other;
        free_ = o;
    }
    /* head */
    d = tfswa_conv_dims(1, c->dims[0], F, Tr, c->dims[0], 3, 1, 1);
    cur = conv_bn_gelu(r, &r->head, free_, cur, cur, &d, 0);
    d = tfswa_conv_dims(1, c->dims[0], F, Tr, 4 * c->n_stems, 1, 1, 0);
    int S4 = 4 * c->n_stems;
    if (Tr == T) {
        conv2d_forward(r->masks, cur, W->out_w, W->out_b, &d, r->conv_work);
    } else {
        float *o = cur == P ? Q : P;
        conv2d_forward(o, cur, W->out_w, W->out_b, &d, r->conv_work);
        crop2d_forward(r->masks, o, 1, S4, F, Tr, F, T);
    }
    return r->masks;
}

