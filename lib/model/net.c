/* The band-split TFSWA network: op list, layout, FLOPs, forward, backward (net.h). */
#include "model/net.h"
#include "nn/layers.h"
#include "util/cli.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KIND_NAME[4] = {"tsa", "fsa", "wmsa", "swmsa"};

#define SH(...) ((const int64_t[]){__VA_ARGS__})

static int add_op(tfswa_net *n, tfswa_op_kind kind)
{
    n->ops = tf_realloc(n->ops, (size_t)(n->n_ops + 1) * sizeof *n->ops, "model ops");
    tfswa_op *op = &n->ops[n->n_ops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->t0 = n->layout.n;
    return n->n_ops++;
}

static void tensor(tfswa_net *n, int op, int trainable, int init, int fan_in, int rank, const int64_t *shape,
                   const char *fmt, int k, const char *suffix)
{
    char name[96];
    if (k >= 0)
        snprintf(name, sizeof name, fmt, k, suffix);
    else
        snprintf(name, sizeof name, "%s", fmt);
    tfswa_layout_add(&n->layout, name, rank, shape, trainable, init, fan_in);
    n->ops[op].nt++;
}

void tfswa_net_build(tfswa_net *n, const tfswa_config *c)
{
    memset(n, 0, sizeof *n);
    n->cfg = *c;
    n->F = tfswa_bins(c);
    n->D = c->dims[0];
    n->S = c->n_stems;
    n->Hm = c->mask_hidden;
    n->C = tfswa_band_features(c);
    int w[TFSWA_MAX_BANDS];
    n->K = tfswa_band_widths(c, w);
    for (int k = 0; k < n->K; k++) {
        n->edge[k + 1] = n->edge[k] + w[k];
        if (w[k] > n->wmax)
            n->wmax = w[k];
    }
    const int64_t D = n->D, Hm = n->Hm, F = n->F;
    int op = add_op(n, TFSWA_OP_FEATURES);
    tensor(n, op, 0, TFSWA_INIT_ZEROS, 0, 2, SH(TFSWA_IN_CH, F), "norm.mean", -1, NULL);
    tensor(n, op, 0, TFSWA_INIT_ONES, 0, 2, SH(TFSWA_IN_CH, F), "norm.std", -1, NULL);
    op = add_op(n, TFSWA_OP_EMBED);
    for (int k = 0; k < n->K; k++) {
        int64_t in = (int64_t)n->C * w[k];
        tensor(n, op, 1, TFSWA_INIT_ONES, 0, 1, SH(in), "band.%d.%s", k, "norm.weight");
        tensor(n, op, 1, TFSWA_INIT_ZEROS, 0, 1, SH(in), "band.%d.%s", k, "norm.bias");
        tensor(n, op, 1, TFSWA_INIT_KAIMING, (int)in, 2, SH(D, in), "band.%d.%s", k, "fc.weight");
        tensor(n, op, 1, TFSWA_INIT_FANIN_BIAS, (int)in, 1, SH(D), "band.%d.%s", k, "fc.bias");
    }
    for (int b = 0; b < c->depths[0]; b++)
        for (int j = 0; j < 4; j++) {
            op = add_op(n, TFSWA_OP_TLAYER);
            tlayer_config tc = tfswa_tlayer_config(c, 0, j);
            n->ops[op].tc = tc;
            tfswa_ttensor tt[13];
            int nt = tfswa_tlayer_tensors(&tc, tt);
            for (int i = 0; i < nt; i++) {
                char name[96];
                snprintf(name, sizeof name, "blocks.%d.%s.%s", b, KIND_NAME[j], tt[i].name);
                tensor(n, op, 1, tt[i].init, tt[i].fan_in, tt[i].rank, tt[i].shape, name, -1, NULL);
            }
        }
    op = add_op(n, TFSWA_OP_NORM);
    tensor(n, op, 1, TFSWA_INIT_ONES, 0, 1, SH(D), "norm_out.weight", -1, NULL);
    tensor(n, op, 1, TFSWA_INIT_ZEROS, 0, 1, SH(D), "norm_out.bias", -1, NULL);
    op = add_op(n, TFSWA_OP_MASK);
    for (int k = 0; k < n->K; k++) {
        int64_t out = 4 * (int64_t)n->S * w[k];
        tensor(n, op, 1, TFSWA_INIT_KAIMING, (int)D, 2, SH(Hm, D), "mask.%d.%s", k, "fc1.weight");
        tensor(n, op, 1, TFSWA_INIT_FANIN_BIAS, (int)D, 1, SH(Hm), "mask.%d.%s", k, "fc1.bias");
        /* starts near M = 1/S for every stem, as the U-Net's head.out */
        tensor(n, op, 1, TFSWA_INIT_KAIMING_SMALL, (int)Hm, 2, SH(out, Hm), "mask.%d.%s", k, "fc2.weight");
        tensor(n, op, 1, TFSWA_INIT_MASK_BIAS, n->S, 1, SH(out), "mask.%d.%s", k, "fc2.bias");
    }
    tfswa_layout_finish(&n->layout);
}

void tfswa_net_free(tfswa_net *n)
{
    free(n->ops);
    tfswa_layout_free(&n->layout);
    memset(n, 0, sizeof *n);
}

static double op_flops(const tfswa_net *n, const tfswa_op *op, int T, double *attn)
{
    double t = T;
    switch (op->kind) {
    case TFSWA_OP_FEATURES: return 0;
    case TFSWA_OP_EMBED: return 2.0 * n->C * n->F * n->D * t;
    case TFSWA_OP_TLAYER: return tfswa_tlayer_flops(&op->tc, n->K, T, attn);
    case TFSWA_OP_NORM: return 0;
    case TFSWA_OP_MASK: return (2.0 * n->D * n->Hm * n->K + 2.0 * n->Hm * 4 * n->S * n->F) * t;
    }
    return 0;
}

double tfswa_net_flops(const tfswa_config *c, int T, double parts[6])
{
    tfswa_net n;
    tfswa_net_build(&n, c);
    double pm[6] = {0}, total = 0;
    static const int SLOT[] = {[TFSWA_OP_FEATURES] = 0, [TFSWA_OP_EMBED] = 0, [TFSWA_OP_TLAYER] = 2,
                               [TFSWA_OP_NORM] = 2, [TFSWA_OP_MASK] = 4};
    for (int i = 0; i < n.n_ops; i++) {
        double f = op_flops(&n, &n.ops[i], T, &pm[5]);
        pm[SLOT[n.ops[i].kind]] += f;
        total += f;
    }
    if (parts)
        memcpy(parts, pm, sizeof pm);
    tfswa_net_free(&n);
    return total;
}

/* ---- execution ---- */

/* One thread's buffers for the per-band loops of EMBED and MASK (inference:
 * the gathered band and its LayerNorm, the hidden layer; both: the band's
 * mask rows; training: the backward pass's per-band gradients). */
typedef struct {
    float *x, *y, *h; /* inference */
    float *out;       /* (T, 4 S wmax) */
    float *dh, *dband; /* training */
} band_scratch;

struct tfswa_net_exec {
    const tfswa_model *m;
    tfswa_net net;
    int B, T, train;
    float **y;                    /* output of each op (FEATURES: features, MASK: the masks) */
    float **act;                  /* TLAYER: saved activations (train) */
    float *emb_x, *emb_y;         /* EMBED: gathered inputs and their LayerNorm (train) */
    float *emb_mean, *emb_rstd;   /* (B K T) (train) */
    float *n_mean, *n_rstd;       /* NORM (train) */
    float *m_pre, *m_h;           /* MASK: fc1 output and its GELU (train) */
    int nthr;                     /* threads of the per-band loops */
    band_scratch *ts;             /* one per thread */
    float *tl_scratch;
    float *dA, *dB;               /* backward: token gradients */
    tfswa_allocs mem;
};

static float *get(tfswa_net_exec *e, size_t floats) { return tfswa_allocs_get(&e->mem, floats, "model activations"); }

tfswa_net_exec *tfswa_net_exec_new(const tfswa_model *m, int B, int T, int train)
{
    if (B < 1 || T < 1)
        tf_die("band model: batch %d of %d frames", B, T);
    tfswa_net_exec *e = tf_calloc(1, sizeof *e, "model activations");
    e->m = m;
    e->B = B;
    e->T = T;
    e->train = train;
    tfswa_net *n = &e->net;
    tfswa_net_build(n, &m->cfg);
    const size_t BT = (size_t)B * T, F = (size_t)n->F, K = (size_t)n->K, D = (size_t)n->D, Hm = (size_t)n->Hm;
    const size_t tok = BT * K * D, S4 = 4 * (size_t)n->S;
    e->y = tf_calloc((size_t)n->n_ops, sizeof *e->y, "model activations");
    e->act = tf_calloc((size_t)n->n_ops, sizeof *e->act, "model activations");
    size_t scratch = 0;
    float *pp[2] = {NULL, NULL};
    int ping = 0;
    for (int i = 0; i < n->n_ops; i++) {
        tfswa_op *op = &n->ops[i];
        switch (op->kind) {
        case TFSWA_OP_FEATURES: e->y[i] = get(e, BT * n->C * F); break;
        case TFSWA_OP_MASK: e->y[i] = get(e, BT * S4 * F); break;
        case TFSWA_OP_TLAYER:
            scratch = tfswa_max_size(scratch, tlayer_scratch_size(&op->tc, B, n->K, T));
            if (train)
                e->act[i] = get(e, tlayer_act_size(&op->tc, B, n->K, T));
            /* fall through */
        case TFSWA_OP_EMBED:
        case TFSWA_OP_NORM:
            if (train) {
                e->y[i] = get(e, tok);
            } else { /* inference: token outputs alternate between two buffers */
                if (!pp[ping])
                    pp[ping] = get(e, tok);
                e->y[i] = pp[ping];
                ping ^= 1;
            }
            break;
        }
    }
    e->tl_scratch = get(e, scratch);
    if (train) {
        e->emb_x = get(e, BT * n->C * F);
        e->emb_y = get(e, BT * n->C * F);
        e->m_h = get(e, BT * K * Hm);
        e->m_pre = get(e, BT * K * Hm);
        e->emb_mean = get(e, BT * K);
        e->emb_rstd = get(e, BT * K);
        e->n_mean = get(e, BT * K);
        e->n_rstd = get(e, BT * K);
        e->dA = get(e, tok);
        e->dB = get(e, tok);
    }
    e->nthr = omp_get_max_threads();
    if (e->nthr > n->K)
        e->nthr = n->K;
    e->ts = tf_calloc((size_t)e->nthr, sizeof *e->ts, "model activations");
    const size_t band = (size_t)T * n->C * n->wmax;
    for (int i = 0; i < e->nthr; i++) {
        band_scratch *s = &e->ts[i];
        s->out = get(e, (size_t)T * S4 * n->wmax);
        if (train) {
            s->dh = get(e, (size_t)T * Hm);
            s->dband = get(e, band);
        } else {
            s->x = get(e, band);
            s->y = get(e, band);
            s->h = get(e, (size_t)T * Hm);
        }
    }
    return e;
}

void tfswa_net_exec_free(tfswa_net_exec *e)
{
    if (!e)
        return;
    tfswa_allocs_free(&e->mem);
    free(e->y);
    free(e->act);
    free(e->ts);
    tfswa_net_free(&e->net);
    free(e);
}

size_t tfswa_net_exec_bytes(const tfswa_net_exec *e) { return e->mem.bytes; }

/* The FEATURES op: (x - mean) / std per bin and channel, and with
 * TFSWA_FEAT_LOGMAG the log magnitude of each audio channel's normalised
 * bin, log(sqrt(re^2 + im^2 + TFSWA_LOGMAG_EPS)), as channels 4 and 5. */
static void band_features(float *y, const float *X, int64_t Ttot, int64_t t0, int T, const float *mean,
                          const float *std, int F, int C)
{
    tfswa_features(y, X, Ttot, t0, T, T, mean, std, F);
    if (C == TFSWA_IN_CH)
        return;
#pragma omp parallel for schedule(static)
    for (int cf = 0; cf < 2 * F; cf++) {
        const int c = cf / F, f = cf % F;
        const float *re = y + ((size_t)(2 * c) * F + f) * T, *im = y + ((size_t)(2 * c + 1) * F + f) * T;
        float *o = y + ((size_t)(TFSWA_IN_CH + c) * F + f) * T;
        for (int t = 0; t < T; t++)
            o[t] = 0.5f * logf(re[t] * re[t] + im[t] * im[t] + TFSWA_LOGMAG_EPS);
    }
}

/* tensor i of op in the array base (weights or gradients) */
static float *P(const tfswa_net *n, float *base, const tfswa_op *op, int i)
{
    return base + n->layout.t[op->t0 + i].offset;
}

static tlayer_params tparams(const tfswa_net *n, float *base, const tfswa_op *op)
{
    tlayer_params p;
    memset(&p, 0, sizeof p);
    tfswa_ttensor tt[13];
    int nt = tfswa_tlayer_tensors(&op->tc, tt);
    for (int i = 0; i < nt; i++)
        *(float **)((char *)&p + tt[i].field) = P(n, base, op, i);
    return p;
}

/* The per-band loops run on e->nthr threads, one band (and example) per
 * iteration, widest bands first; each output row, and each band's weight
 * gradients (summed over the examples in order inside one iteration), is
 * computed by one thread, so results do not depend on the thread count.
 * Inside, OpenBLAS runs on the calling thread. */
static void bands_begin(const tfswa_net_exec *e)
{
    if (e->nthr > 1)
        tf_blas_threads(1);
}

static void bands_end(const tfswa_net_exec *e)
{
    if (e->nthr > 1)
        tf_blas_threads(tf_threads());
}

/* where example b, band k's gathered rows are: training keeps all of them,
 * inference one band per thread */
static float *band_rows(const tfswa_net_exec *e, float *all, float *mine, int b, int k, int T)
{
    if (!e->train)
        return mine;
    return all + ((size_t)b * e->net.F + e->net.edge[k]) * e->net.C * T;
}

static void embed_forward(tfswa_net_exec *e, const tfswa_op *op, const float *feat, float *tok, int T)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    const int F = n->F, K = n->K, D = n->D, B = e->B;
    bands_begin(e);
#pragma omp parallel for schedule(dynamic, 1) num_threads(e->nthr)
    for (int it = 0; it < B * K; it++) {
        const int k = K - 1 - it / B, b = it % B;
        band_scratch *s = &e->ts[omp_get_thread_num()];
        const int b0 = n->edge[k], w = n->edge[k + 1] - b0, C = n->C, W4 = C * w;
        float *x = band_rows(e, e->emb_x, s->x, b, k, T), *y = band_rows(e, e->emb_y, s->y, b, k, T);
        const float *f = feat + (size_t)b * C * F * T;
        for (int j = 0; j < w; j++)
            for (int ch = 0; ch < C; ch++) {
                const float *src = f + ((size_t)ch * F + b0 + j) * T;
                for (int t = 0; t < T; t++)
                    x[(size_t)t * W4 + C * j + ch] = src[t];
            }
        size_t row = ((size_t)b * K + k) * T;
        layernorm_forward(y, e->train ? e->emb_mean + row : NULL, e->train ? e->emb_rstd + row : NULL, x,
                          P(n, W, op, 4 * k), P(n, W, op, 4 * k + 1), T, W4, TFSWA_LN_EPS);
        linear_forward(tok + row * D, y, P(n, W, op, 4 * k + 2), P(n, W, op, 4 * k + 3), T, W4, D);
    }
    bands_end(e);
}

static void embed_backward(tfswa_net_exec *e, const tfswa_op *op, const float *dtok, float *grad)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    const int K = n->K, D = n->D, T = e->T;
    bands_begin(e);
#pragma omp parallel for schedule(dynamic, 1) num_threads(e->nthr)
    for (int it = 0; it < K; it++) {
        const int k = K - 1 - it;
        band_scratch *s = &e->ts[omp_get_thread_num()];
        const int W4 = n->C * (n->edge[k + 1] - n->edge[k]);
        for (int b = 0; b < e->B; b++) {
            const float *x = band_rows(e, e->emb_x, NULL, b, k, T), *y = band_rows(e, e->emb_y, NULL, b, k, T);
            size_t row = ((size_t)b * K + k) * T;
            linear_backward_set(s->dband, P(n, grad, op, 4 * k + 2), P(n, grad, op, 4 * k + 3), dtok + row * D, y,
                                P(n, W, op, 4 * k + 2), T, W4, D);
            layernorm_backward(NULL, P(n, grad, op, 4 * k), P(n, grad, op, 4 * k + 1), s->dband, x,
                               e->emb_mean + row, e->emb_rstd + row, P(n, W, op, 4 * k), T, W4);
        }
    }
    bands_end(e);
}

static void mask_forward(tfswa_net_exec *e, const tfswa_op *op, const float *tok, float *masks, int T)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    const int F = n->F, K = n->K, D = n->D, Hm = n->Hm, S4 = 4 * n->S, B = e->B;
    bands_begin(e);
#pragma omp parallel for schedule(dynamic, 1) num_threads(e->nthr)
    for (int it = 0; it < B * K; it++) {
        const int k = K - 1 - it / B, b = it % B;
        band_scratch *s = &e->ts[omp_get_thread_num()];
        const int b0 = n->edge[k], w = n->edge[k + 1] - b0, O = S4 * w;
        size_t row = ((size_t)b * K + k) * T;
        float *pre = e->train ? e->m_pre + row * Hm : NULL, *h = e->train ? e->m_h + row * Hm : s->h;
        linear_gelu_forward(h, pre, tok + row * D, P(n, W, op, 4 * k), P(n, W, op, 4 * k + 1), T, D, Hm);
        linear_forward(s->out, h, P(n, W, op, 4 * k + 2), P(n, W, op, 4 * k + 3), T, Hm, O);
        float *mb = masks + (size_t)b * S4 * F * T;
        for (int j = 0; j < w; j++)
            for (int ch = 0; ch < S4; ch++) {
                float *dst = mb + ((size_t)ch * F + b0 + j) * T;
                for (int t = 0; t < T; t++)
                    dst[t] = s->out[(size_t)t * O + S4 * j + ch];
            }
    }
    bands_end(e);
}

/* dtok (zeroed by the caller) += d/d tokens */
static void mask_backward(tfswa_net_exec *e, const tfswa_op *op, const float *tok, const float *dmasks, float *dtok,
                          float *grad)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    const int F = n->F, K = n->K, D = n->D, Hm = n->Hm, S4 = 4 * n->S, T = e->T;
    bands_begin(e);
#pragma omp parallel for schedule(dynamic, 1) num_threads(e->nthr)
    for (int it = 0; it < K; it++) {
        const int k = K - 1 - it;
        band_scratch *s = &e->ts[omp_get_thread_num()];
        const int b0 = n->edge[k], w = n->edge[k + 1] - b0, O = S4 * w;
        for (int b = 0; b < e->B; b++) {
            size_t row = ((size_t)b * K + k) * T;
            const float *db = dmasks + (size_t)b * S4 * F * T;
            for (int j = 0; j < w; j++)
                for (int ch = 0; ch < S4; ch++) {
                    const float *src = db + ((size_t)ch * F + b0 + j) * T;
                    for (int t = 0; t < T; t++)
                        s->out[(size_t)t * O + S4 * j + ch] = src[t];
                }
            linear_backward_set(s->dh, P(n, grad, op, 4 * k + 2), P(n, grad, op, 4 * k + 3), s->out,
                                e->m_h + row * Hm, P(n, W, op, 4 * k + 2), T, Hm, O);
            gelu_backward_set(s->dh, s->dh, e->m_pre + row * Hm, (int64_t)T * Hm);
            linear_backward(dtok + row * D, P(n, grad, op, 4 * k), P(n, grad, op, 4 * k + 1), s->dh,
                            tok + row * D, P(n, W, op, 4 * k), T, D, Hm);
        }
    }
    bands_end(e);
}

const float *tfswa_net_forward(tfswa_net_exec *e, const float *const *X, int64_t Ttot, int64_t t0, int T)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    if (T < 1 || T > e->T || (e->train && T != e->T) || t0 < 0 || t0 + T > Ttot)
        tf_die("band model: frames [%lld, %lld) of %lld with a state for %d", (long long)t0, (long long)t0 + T,
               (long long)Ttot, e->T);
    const int64_t N = (int64_t)e->B * n->K * T;
    for (int i = 0; i < n->n_ops; i++) {
        const tfswa_op *op = &n->ops[i];
        const float *x = i ? e->y[i - 1] : NULL;
        float *y = e->y[i];
        switch (op->kind) {
        case TFSWA_OP_FEATURES:
            for (int b = 0; b < e->B; b++)
                band_features(y + (size_t)b * n->C * n->F * T, X[b], Ttot, t0, T, P(n, W, op, 0),
                              P(n, W, op, 1), n->F, n->C);
            break;
        case TFSWA_OP_EMBED: embed_forward(e, op, x, y, T); break;
        case TFSWA_OP_TLAYER: {
            tlayer_params p = tparams(n, W, op);
            tlayer_forward(y, x, &p, &op->tc, e->B, n->K, T, e->act[i], e->tl_scratch);
            break;
        }
        case TFSWA_OP_NORM:
            layernorm_forward(y, e->n_mean, e->n_rstd, x, P(n, W, op, 0), P(n, W, op, 1), N, n->D, TFSWA_LN_EPS);
            break;
        case TFSWA_OP_MASK: mask_forward(e, op, x, y, T); break;
        }
    }
    return e->y[n->n_ops - 1];
}

void tfswa_net_backward(tfswa_net_exec *e, const float *dmasks, float *grad)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    if (!e->train)
        tf_die("band model: backward pass without training state");
    const int B = e->B, T = e->T;
    const int64_t N = (int64_t)B * n->K * T;
    const size_t tok = (size_t)N * n->D * sizeof(float);
    float *dy = e->dA, *dx = e->dB; /* gradients of the current op's output and input */
    for (int i = n->n_ops - 1; i >= 0; i--) {
        const tfswa_op *op = &n->ops[i];
        const float *x = i ? e->y[i - 1] : NULL;
        int swap = 1;
        switch (op->kind) {
        case TFSWA_OP_FEATURES: swap = 0; break; /* the input needs no gradient */
        case TFSWA_OP_EMBED: embed_backward(e, op, dy, grad); swap = 0; break;
        case TFSWA_OP_TLAYER: {
            tlayer_params p = tparams(n, W, op), g = tparams(n, grad, op);
            memset(dx, 0, tok);
            tlayer_backward(dx, &g, dy, x, &p, &op->tc, B, n->K, T, e->act[i], e->tl_scratch);
            break;
        }
        case TFSWA_OP_NORM:
            memset(dx, 0, tok);
            layernorm_backward(dx, P(n, grad, op, 0), P(n, grad, op, 1), dy, x, e->n_mean, e->n_rstd,
                               P(n, W, op, 0), N, n->D);
            break;
        case TFSWA_OP_MASK:
            memset(dx, 0, tok);
            mask_backward(e, op, x, dmasks, dx, grad);
            break;
        }
        if (swap) {
            float *s = dy;
            dy = dx;
            dx = s;
        }
    }
}
