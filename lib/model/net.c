/* The networks described once: op lists, layout, FLOPs, forward, backward (net.h). */
#include "model/net.h"
#include "nn/carve.h"
#include "nn/layers.h"
#include "util/cli.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const KIND_NAME[4] = {"tsa", "fsa", "wmsa", "swmsa"};

#define TFSWA_BN_MOMENTUM 0.1f /* PyTorch BatchNorm2d default */

/* --info's modules */
enum { U_STEM, U_ENC1, U_ENC2, U_ENC3, U_BOTTOM, U_DEC3, U_DEC2, U_DEC1, U_HEAD, U_NORM, U_MODULES };
static const char *const UNET_MODULES[U_MODULES] = {"stem",      "encoder 1", "encoder 2", "encoder 3", "bottom",
                                                    "decoder 3", "decoder 2", "decoder 1", "head",      "input norm"};
enum { B_EMBED, B_BLOCKS, B_NORM, B_MASK, B_INNORM, B_MODULES };
static const char *const BAND_MODULES[B_MODULES] = {"band embed", "blocks", "final norm", "mask head", "input norm"};

#define SH(...) ((const int64_t[]){__VA_ARGS__})

static int add_op(tfswa_net *n, tfswa_op_kind kind, int module, int part)
{
    n->ops = tf_realloc(n->ops, (size_t)(n->n_ops + 1) * sizeof *n->ops, "model ops");
    tfswa_op *op = &n->ops[n->n_ops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->module = module;
    op->part = part;
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

/* the norm.mean, norm.std buffers of the FEATURES op */
static void features_tensors(tfswa_net *n, int op)
{
    n->ops[op].t0 = n->layout.n;
    tensor(n, op, 0, TFSWA_INIT_ZEROS, 0, 2, SH(TFSWA_IN_CH, n->F), "norm.mean", -1, NULL);
    tensor(n, op, 0, TFSWA_INIT_ONES, 0, 2, SH(TFSWA_IN_CH, n->F), "norm.std", -1, NULL);
}

/* depth TFSWA blocks of 4 TLAYER ops at stage s (U-Net) or the band grid */
static void blocks(tfswa_net *n, int depth, int stage, const char *prefix, int module, int part)
{
    for (int b = 0; b < depth; b++)
        for (int j = 0; j < 4; j++) {
            int op = add_op(n, TFSWA_OP_TLAYER, module, part);
            tlayer_config tc = tfswa_tlayer_config(&n->cfg, stage, j);
            n->ops[op].tc = tc;
            n->ops[op].j = j;
            tfswa_ttensor tt[13];
            int nt = tfswa_tlayer_tensors(&tc, tt);
            for (int i = 0; i < nt; i++) {
                char name[96];
                snprintf(name, sizeof name, "%s%sblocks.%d.%s.%s", prefix, *prefix ? "." : "", b, KIND_NAME[j],
                         tt[i].name);
                tensor(n, op, 1, tt[i].init, tt[i].fan_in, tt[i].rank, tt[i].shape, name, -1, NULL);
            }
        }
}

/* a U-Net stage: TOKENS, its blocks, NCHW (nothing at depth 0) */
static void stage(tfswa_net *n, int s, const char *prefix, int module, int part)
{
    int d = n->cfg.depths[s];
    if (d == 0)
        return;
    add_op(n, TFSWA_OP_TOKENS, module, part);
    blocks(n, d, s, prefix, module, part);
    add_op(n, TFSWA_OP_NCHW, module, part);
}

static void convbn(tfswa_net *n, const char *prefix, int cout, int cin, int k, int s, int p, int transposed, int module,
                   int part)
{
    int op = add_op(n, TFSWA_OP_CONVBN, module, part);
    tfswa_op *o = &n->ops[op];
    o->C = cout, o->k = k, o->stride = s, o->pad = p, o->transposed = transposed;
    /* PyTorch's fan_in: weight.size(1) * kh * kw, for Conv2d (Cout, Cin, k, k)
     * and ConvTranspose2d (Cin, Cout, k, k) alike. */
    int fan_in = (transposed ? cout : cin) * k * k;
    char name[96];
#define T_(tr, init, fi, rank, shape, suffix)                                                                          \
    (snprintf(name, sizeof name, "%s.%s", prefix, suffix), tensor(n, op, tr, init, fi, rank, shape, name, -1, NULL))
    if (transposed)
        T_(1, TFSWA_INIT_KAIMING, fan_in, 4, SH(cin, cout, k, k), "conv.weight");
    else
        T_(1, TFSWA_INIT_KAIMING, fan_in, 4, SH(cout, cin, k, k), "conv.weight");
    T_(1, TFSWA_INIT_FANIN_BIAS, fan_in, 1, SH(cout), "conv.bias");
    T_(1, TFSWA_INIT_ONES, 0, 1, SH(cout), "bn.weight");
    T_(1, TFSWA_INIT_ZEROS, 0, 1, SH(cout), "bn.bias");
    T_(0, TFSWA_INIT_ZEROS, 0, 1, SH(cout), "bn.running_mean");
    T_(0, TFSWA_INIT_ONES, 0, 1, SH(cout), "bn.running_var");
#undef T_
}

static void build_unet(tfswa_net *n)
{
    const tfswa_config *c = &n->cfg;
    const int *C = c->dims;
    char pre[64];
    int feat = add_op(n, TFSWA_OP_FEATURES, U_NORM, 0);
    convbn(n, "stem", C[0], TFSWA_IN_CH, 7, 1, 3, 0, U_STEM, 0);
    int skip[3];
    for (int i = 0; i < 3; i++) {
        snprintf(pre, sizeof pre, "enc.%d", i);
        stage(n, i, pre, U_ENC1 + i, 1);
        skip[i] = n->n_ops - 1;
        snprintf(pre, sizeof pre, "enc.%d.down", i);
        convbn(n, pre, C[i + 1], C[i], 4, 2, 1, 0, U_ENC1 + i, 1);
    }
    stage(n, 3, "mid", U_BOTTOM, 2);
    for (int i = 2; i >= 0; i--) {
        snprintf(pre, sizeof pre, "dec.%d.up", i);
        convbn(n, pre, C[i], C[i + 1], 4, 2, 1, 1, U_DEC1 - i, 3);
        int op = add_op(n, TFSWA_OP_SKIPADD, U_DEC1 - i, 3);
        n->ops[op].ref = skip[i];
        snprintf(pre, sizeof pre, "dec.%d", i);
        stage(n, i, pre, U_DEC1 - i, 3);
    }
    convbn(n, "head", C[0], C[0], 3, 1, 1, 0, U_HEAD, 4);
    int op = add_op(n, TFSWA_OP_CONV, U_HEAD, 4);
    const int64_t O = 4 * (int64_t)c->n_stems;
    n->ops[op].C = (int)O, n->ops[op].k = 1, n->ops[op].stride = 1;
    /* The mask head starts near M = 1/S for every stem (estimates that sum
     * to the mixture): small weights, biases 1/S + 0i (formats/checkpoint.md). */
    tensor(n, op, 1, TFSWA_INIT_KAIMING_SMALL, C[0], 4, SH(O, C[0], 1, 1), "head.out.weight", -1, NULL);
    tensor(n, op, 1, TFSWA_INIT_MASK_BIAS, c->n_stems, 1, SH(O), "head.out.bias", -1, NULL);
    features_tensors(n, feat);
}

static void build_band(tfswa_net *n)
{
    const tfswa_config *c = &n->cfg;
    int w[TFSWA_MAX_BANDS];
    n->K = tfswa_band_widths(c, w);
    for (int k = 0; k < n->K; k++) {
        n->edge[k + 1] = n->edge[k] + w[k];
        if (w[k] > n->wmax)
            n->wmax = w[k];
    }
    const int64_t D = n->D, Hm = n->Hm;
    int op = add_op(n, TFSWA_OP_FEATURES, B_INNORM, 0);
    features_tensors(n, op);
    op = add_op(n, TFSWA_OP_EMBED, B_EMBED, 0);
    for (int k = 0; k < n->K; k++) {
        int64_t in = (int64_t)n->C * w[k];
        tensor(n, op, 1, TFSWA_INIT_ONES, 0, 1, SH(in), "band.%d.%s", k, "norm.weight");
        tensor(n, op, 1, TFSWA_INIT_ZEROS, 0, 1, SH(in), "band.%d.%s", k, "norm.bias");
        tensor(n, op, 1, TFSWA_INIT_KAIMING, (int)in, 2, SH(D, in), "band.%d.%s", k, "fc.weight");
        tensor(n, op, 1, TFSWA_INIT_FANIN_BIAS, (int)in, 1, SH(D), "band.%d.%s", k, "fc.bias");
    }
    blocks(n, c->depths[0], 0, "", B_BLOCKS, 2);
    op = add_op(n, TFSWA_OP_NORM, B_NORM, 2);
    tensor(n, op, 1, TFSWA_INIT_ONES, 0, 1, SH(D), "norm_out.weight", -1, NULL);
    tensor(n, op, 1, TFSWA_INIT_ZEROS, 0, 1, SH(D), "norm_out.bias", -1, NULL);
    op = add_op(n, TFSWA_OP_MASK, B_MASK, 4);
    for (int k = 0; k < n->K; k++) {
        int64_t out = 4 * (int64_t)n->S * w[k];
        tensor(n, op, 1, TFSWA_INIT_KAIMING, (int)D, 2, SH(Hm, D), "mask.%d.%s", k, "fc1.weight");
        tensor(n, op, 1, TFSWA_INIT_FANIN_BIAS, (int)D, 1, SH(Hm), "mask.%d.%s", k, "fc1.bias");
        /* starts near M = 1/S for every stem, as the U-Net's head.out */
        tensor(n, op, 1, TFSWA_INIT_KAIMING_SMALL, (int)Hm, 2, SH(out, Hm), "mask.%d.%s", k, "fc2.weight");
        tensor(n, op, 1, TFSWA_INIT_MASK_BIAS, n->S, 1, SH(out), "mask.%d.%s", k, "fc2.bias");
    }
}

void tfswa_net_build(tfswa_net *n, const tfswa_config *c)
{
    memset(n, 0, sizeof *n);
    n->cfg = *c;
    n->unet = c->arch != TFSWA_ARCH_BAND;
    n->F = tfswa_bins(c);
    n->D = c->dims[0];
    n->S = c->n_stems;
    n->Hm = c->mask_hidden;
    if (n->unet) {
        n->C = TFSWA_IN_CH;
        n->modules = UNET_MODULES;
        n->n_modules = U_MODULES;
        build_unet(n);
    } else {
        n->C = tfswa_band_features(c);
        n->modules = BAND_MODULES;
        n->n_modules = B_MODULES;
        build_band(n);
    }
    tfswa_layout_finish(&n->layout);
}

void tfswa_net_free(tfswa_net *n)
{
    free(n->ops);
    tfswa_layout_free(&n->layout);
    memset(n, 0, sizeof *n);
}

void tfswa_net_shapes(const tfswa_net *n, int T, int (*sh)[3])
{
    for (int i = 0; i < n->n_ops; i++) {
        const tfswa_op *op = &n->ops[i];
        const int *in = i ? sh[i - 1] : NULL;
        int *o = sh[i];
        switch (op->kind) {
        case TFSWA_OP_FEATURES: o[0] = n->C, o[1] = n->F, o[2] = T; break;
        case TFSWA_OP_EMBED:
        case TFSWA_OP_NORM: o[0] = n->D, o[1] = n->K, o[2] = T; break;
        case TFSWA_OP_MASK: o[0] = 4 * n->S, o[1] = n->F, o[2] = T; break;
        case TFSWA_OP_TLAYER:
        case TFSWA_OP_TOKENS:
        case TFSWA_OP_NCHW: memcpy(o, in, 3 * sizeof *o); break;
        case TFSWA_OP_SKIPADD: memcpy(o, sh[op->ref], 3 * sizeof *o); break;
        case TFSWA_OP_CONVBN:
        case TFSWA_OP_CONV: {
            conv2d_dims d = tfswa_conv_dims(1, in[0], in[1], in[2], op->C, op->k, op->stride, op->pad);
            o[0] = op->C;
            o[1] = op->transposed ? convt2d_out_h(&d) : conv2d_out_h(&d);
            o[2] = op->transposed ? convt2d_out_w(&d) : conv2d_out_w(&d);
            break;
        }
        }
    }
}

static double op_flops(const tfswa_net *n, const tfswa_op *op, const int *in, const int *out, double *attn)
{
    double t = out[2];
    switch (op->kind) {
    case TFSWA_OP_EMBED: return 2.0 * n->C * n->F * n->D * t;
    case TFSWA_OP_TLAYER: return tfswa_tlayer_flops(&op->tc, out[1], out[2], attn);
    case TFSWA_OP_MASK: return (2.0 * n->D * n->Hm * n->K + 2.0 * n->Hm * 4 * n->S * n->F) * t;
    case TFSWA_OP_CONVBN:
    case TFSWA_OP_CONV: { /* a transposed conv: every weight once per input position */
        const int *grid = op->transposed ? in : out;
        return 2.0 * in[0] * op->C * op->k * op->k * grid[1] * grid[2];
    }
    default: return 0;
    }
}

double tfswa_net_flops(const tfswa_config *c, int T, double parts[6])
{
    tfswa_net n;
    tfswa_net_build(&n, c);
    int(*sh)[3] = tf_calloc((size_t)n.n_ops, sizeof *sh, "model shapes");
    tfswa_net_shapes(&n, T, sh);
    double pm[6] = {0}, total = 0;
    for (int i = 0; i < n.n_ops; i++) {
        double f = op_flops(&n, &n.ops[i], i ? sh[i - 1] : NULL, sh[i], &pm[5]);
        pm[n.ops[i].part] += f;
        total += f;
    }
    if (parts)
        memcpy(parts, pm, sizeof pm);
    free(sh);
    tfswa_net_free(&n);
    return total;
}

int tfswa_net_module(const tfswa_config *c, int i, const char **name, size_t *params, size_t *buffers)
{
    tfswa_net n;
    tfswa_net_build(&n, c);
    int nm = n.n_modules;
    *params = *buffers = 0;
    if (i >= 0 && i < nm) {
        *name = n.modules[i];
        for (int o = 0; o < n.n_ops; o++)
            if (n.ops[o].module == i)
                for (int t = n.ops[o].t0; t < n.ops[o].t0 + n.ops[o].nt; t++)
                    *(n.layout.t[t].trainable ? params : buffers) += n.layout.t[t].numel;
    }
    tfswa_net_free(&n);
    return nm;
}

/* ---- execution ---- */

/* One thread's buffers for the per-band loops of EMBED and MASK (inference:
 * the gathered band and its LayerNorm, the hidden layer; both: the band's
 * mask rows; training: the backward pass's per-band gradients). */
typedef struct {
    float *x, *y; /* inference: a band's gathered inputs and their LayerNorm (T, C wmax) */
    float *h;     /* inference: the mask MLP's hidden layer (T, mask_hidden) */
    float *out;   /* a band's mask rows (T, 4 S wmax) */
    float *dh;    /* training: gradient at the hidden layer (T, mask_hidden) */
    float *dband; /* training: gradient at the embedding's LayerNorm output (T, C wmax) */
} band_scratch;

struct tfswa_net_exec {
    const tfswa_model *m;
    tfswa_net net;
    int B, T, train, recompute, fold;
    int (*sh)[3]; /* output shapes (one example) of the last forward */
    int Tr;       /* frames of the last forward (U-Net: >= TFSWA_MIN_FRAMES) */
    /* per op (arrays of n_ops pointers) */
    float **y;            /* output of each op (B, shape), buffers shared by lifetime */
    float **act;          /* TLAYER: saved activations (train, not recompute; tlayer.h) */
    float **d;            /* backward: gradient of each op's output, buffers shared by lifetime */
    char *dset;           /* backward: d[i] written yet */
    float **z;            /* CONVBN (train): conv output (B, C, H, W) */
    float **mean, **rstd; /* CONVBN (train): batch statistics (C) */
    float **cw, **cb;     /* CONVBN (inference): conv weights and biases (folded, or the model's) */
    /* shared by the ops, one call at a time */
    float *conv_work;       /* the largest conv2d/convt2d_workspace */
    float *conv_out;        /* inference without folding: a conv output before its BatchNorm */
    float *bn_y, *d_bn_y;   /* CONVBN backward: the BatchNorm output (recomputed, then the
                                   * conv output's gradient) and the gradient at it (B, C, H, W) */
    float *tl_scratch;      /* the largest tlayer_scratch_size */
    float *rx[4], *ract[4]; /* recompute: a block's layer outputs (B, H, W, C) and acts */
    float *masks;           /* U-Net inference: the masks cropped to T (B, 4 S, F, T) */
    /* band */
    float *emb_x, *emb_y;       /* EMBED (train): gathered inputs and their LayerNorm (B, F, T, C) */
    float *emb_mean, *emb_rstd; /* EMBED (train): LayerNorm statistics (B, K, T) */
    float *n_mean, *n_rstd;     /* NORM (train): LayerNorm statistics (B, K, T) */
    float *m_pre, *m_h;         /* MASK (train): fc1 output and its GELU (B, K, T, mask_hidden) */
    int nthr;                   /* threads of the per-band loops */
    band_scratch *ts;           /* one per thread */
    void *arena;                /* every buffer above (exec_layout) */
    size_t arena_bytes;
};

/* tensor i of op in the array base (weights or gradients) */
static float *P(const tfswa_net *n, float *base, const tfswa_op *op, int i)
{
    return base + n->layout.t[op->t0 + i].offset;
}

static size_t numel(const int *s) { return (size_t)s[0] * s[1] * s[2]; }

/* whether op i's backward reads its input's values */
static int needs_input(const tfswa_net_exec *e, int i)
{
    const tfswa_op *op = &e->net.ops[i];
    switch (op->kind) {
    case TFSWA_OP_TLAYER: return !(e->recompute && op->j > 0); /* recomputed from the block's input */
    case TFSWA_OP_CONVBN:
    case TFSWA_OP_CONV:
    case TFSWA_OP_NORM:
    case TFSWA_OP_MASK: return 1;
    default: return 0; /* FEATURES, EMBED (keeps its gathered input), TOKENS, NCHW, SKIPADD */
    }
}

/* whether op i's backward passes a gradient to its input (the features need none) */
static int passes_grad(const tfswa_net *n, int i)
{
    return i > 0 && n->ops[i].kind != TFSWA_OP_EMBED && n->ops[i - 1].kind != TFSWA_OP_FEATURES;
}

/* Buffers for values with lifetimes [lo[i], hi[i]] (inclusive; items with
 * size 0 are skipped): each gets a buffer no live item shares, reusing the
 * buffers of finished items (greedy by start; the smallest free buffer that
 * fits, else the largest free one, grown), carved from c. */
static void plan(carve *c, int n, const int *lo, const int *hi, const size_t *size, float **out)
{
    int *slot = tf_malloc((size_t)(n ? n : 1) * sizeof *slot, "model plan");
    int *busy = tf_malloc((size_t)(n ? n : 1) * sizeof *busy, "model plan"); /* per slot: last hi */
    size_t *cap = tf_calloc((size_t)(n ? n : 1), sizeof *cap, "model plan");
    char *done = tf_calloc((size_t)(n ? n : 1), 1, "model plan");
    int ns = 0;
    for (int it = 0; it < n; it++) {
        int i = -1;
        for (int k = 0; k < n; k++)
            if (!done[k] && size[k] && (i < 0 || lo[k] < lo[i]))
                i = k;
        if (i < 0)
            break;
        done[i] = 1;
        int best = -1;
        for (int s = 0; s < ns; s++) {
            if (busy[s] >= lo[i])
                continue;
            if (best < 0) {
                best = s;
                continue;
            }
            int fits = cap[s] >= size[i], bfits = cap[best] >= size[i];
            if ((fits && (!bfits || cap[s] < cap[best])) || (!fits && !bfits && cap[s] > cap[best]))
                best = s;
        }
        if (best < 0)
            best = ns++;
        slot[i] = best;
        busy[best] = hi[i];
        cap[best] = tfswa_max_size(cap[best], size[i]);
    }
    float **buf = tf_calloc((size_t)(ns ? ns : 1), sizeof *buf, "model plan");
    for (int s = 0; s < ns; s++)
        buf[s] = carve_floats(c, cap[s]);
    for (int i = 0; i < n; i++)
        if (size[i])
            out[i] = buf[slot[i]];
    free(buf);
    free(done);
    free(cap);
    free(busy);
    free(slot);
}

/* Folds BN (eval) into a conv: scale_o = g_o / sqrt(var_o + eps),
 * w'[o] = w[o] scale_o, b'_o = (b_o - mean_o) scale_o + beta_o. For a
 * transposed conv the output channel is the weight's second index. */
static void fold(float *fw, float *fb, const float *const *t, int cout, int cin, int k, int transposed)
{
    const float *w = t[0], *b = t[1], *g = t[2], *beta = t[3], *mu = t[4], *var = t[5];
    for (int o = 0; o < cout; o++) {
        double sc = g[o] / sqrt((double)var[o] + TFSWA_BN_EPS);
        fb[o] = (float)((b[o] - (double)mu[o]) * sc + beta[o]);
        if (!transposed)
            for (size_t j = 0; j < (size_t)cin * k * k; j++)
                fw[(size_t)o * cin * k * k + j] = (float)(w[(size_t)o * cin * k * k + j] * sc);
        else
            for (int i = 0; i < cin; i++)
                for (int j = 0; j < k * k; j++) {
                    size_t idx = ((size_t)i * cout + o) * k * k + j;
                    fw[idx] = (float)(w[idx] * sc);
                }
    }
}

static conv2d_dims op_dims(const tfswa_net_exec *e, int i)
{
    const tfswa_op *op = &e->net.ops[i];
    const int *in = e->sh[i - 1];
    return tfswa_conv_dims(e->B, in[0], in[1], in[2], op->C, op->k, op->stride, op->pad);
}

/* op outputs: alive from their op to their last reader, or to the end when
 * the backward pass reads them (and the masks) */
static void layout_outputs(tfswa_net_exec *e, carve *c, int *lo, int *hi, size_t *size)
{
    const tfswa_net *n = &e->net;
    const int no = n->n_ops, last = no - 1;
    for (int i = 0; i < no; i++) {
        lo[i] = hi[i] = i;
        size[i] = (size_t)e->B * numel(e->sh[i]);
        if (i == last || (e->train && i < last && needs_input(e, i + 1)))
            hi[i] = no;
        else if (i < last)
            hi[i] = i + 1;
    }
    for (int i = 0; i < no; i++)
        if (n->ops[i].kind == TFSWA_OP_SKIPADD && hi[n->ops[i].ref] < i)
            hi[n->ops[i].ref] = i;
    plan(c, no, lo, hi, size, e->y);
}

/* gradients of op outputs: alive (backwards) from the last reader's
 * backward pass to their op's; the masks' is the caller's */
static void layout_grads(tfswa_net_exec *e, carve *c, int *lo, int *hi, size_t *size)
{
    const tfswa_net *n = &e->net;
    const int no = n->n_ops, last = no - 1;
    for (int i = 0; i < no; i++) {
        size[i] = 0;
        lo[i] = hi[i] = no - 1 - i;
    }
    for (int i = 1; i < no; i++)
        if (passes_grad(n, i)) {
            size[i - 1] = (size_t)e->B * numel(e->sh[i - 1]);
            if (lo[i - 1] > no - 1 - i)
                lo[i - 1] = no - 1 - i;
            if (n->ops[i].kind == TFSWA_OP_SKIPADD) {
                int r = n->ops[i].ref;
                size[r] = (size_t)e->B * numel(e->sh[r]);
                if (lo[r] > no - 1 - i)
                    lo[r] = no - 1 - i;
            }
        }
    size[last] = 0;
    plan(c, no, lo, hi, size, e->d);
}

/* the largest of each kind of buffer the ops share (floats) */
typedef struct {
    size_t conv_work, tl_scratch, unit, tokens, act[4];
} shared_sizes;

/* Each op's own buffers (tlayer acts, CONVBN statistics and conv weights);
 * the sizes of the shared ones in *sz. */
static void layout_op_buffers(tfswa_net_exec *e, carve *c, shared_sizes *sz)
{
    const tfswa_net *n = &e->net;
    const int B = e->B;
    memset(sz, 0, sizeof *sz);
    for (int i = 0; i < n->n_ops; i++) {
        const tfswa_op *op = &n->ops[i];
        const int *s = e->sh[i];
        if (op->kind == TFSWA_OP_TLAYER) {
            sz->tl_scratch = tfswa_max_size(sz->tl_scratch, tlayer_scratch_size(&op->tc, B, s[1], s[2]));
            sz->tokens = tfswa_max_size(sz->tokens, (size_t)B * numel(s));
            size_t a = tlayer_act_size(&op->tc, B, s[1], s[2]);
            sz->act[op->j] = tfswa_max_size(sz->act[op->j], a);
            if (e->train && !e->recompute)
                e->act[i] = carve_floats(c, a);
        } else if (op->kind == TFSWA_OP_CONVBN || op->kind == TFSWA_OP_CONV) {
            conv2d_dims d = op_dims(e, i);
            sz->conv_work =
                tfswa_max_size(sz->conv_work, op->transposed ? convt2d_workspace(&d) : conv2d_workspace(&d));
            if (op->kind == TFSWA_OP_CONV)
                continue;
            sz->unit = tfswa_max_size(sz->unit, (size_t)B * numel(s));
            if (e->train) {
                e->z[i] = carve_floats(c, (size_t)B * numel(s));
                e->mean[i] = carve_floats(c, (size_t)op->C);
                e->rstd[i] = carve_floats(c, (size_t)op->C);
            } else if (e->fold) {
                e->cw[i] = carve_floats(c, (size_t)op->C * e->sh[i - 1][0] * op->k * op->k);
                e->cb[i] = carve_floats(c, (size_t)op->C);
            } else {
                e->cw[i] = P(n, e->m->data, op, 0);
                e->cb[i] = P(n, e->m->data, op, 1);
            }
        }
    }
}

static void layout_shared(tfswa_net_exec *e, carve *c, const shared_sizes *sz)
{
    if (sz->conv_work)
        e->conv_work = carve_floats(c, sz->conv_work);
    if (sz->tl_scratch)
        e->tl_scratch = carve_floats(c, sz->tl_scratch);
    if (sz->unit && !e->train && !e->fold)
        e->conv_out = carve_floats(c, sz->unit);
    if (sz->unit && e->train) {
        e->bn_y = carve_floats(c, sz->unit);
        e->d_bn_y = carve_floats(c, sz->unit);
    }
    if (e->recompute && sz->tokens)
        for (int j = 0; j < 4; j++) {
            e->rx[j] = carve_floats(c, sz->tokens);
            e->ract[j] = carve_floats(c, sz->act[j]);
        }
    if (e->net.unet && !e->train)
        e->masks = carve_floats(c, (size_t)e->B * e->T * 4 * e->net.S * e->net.F);
}

/* band models: EMBED/NORM/MASK's saved values (train) and each thread's band_scratch */
static void layout_band(tfswa_net_exec *e, carve *c)
{
    const tfswa_net *n = &e->net;
    const size_t BT = (size_t)e->B * e->T, T = (size_t)e->T, K = (size_t)n->K, Hm = (size_t)n->Hm;
    if (e->train) {
        e->emb_x = carve_floats(c, BT * n->C * n->F);
        e->emb_y = carve_floats(c, BT * n->C * n->F);
        e->m_h = carve_floats(c, BT * K * Hm);
        e->m_pre = carve_floats(c, BT * K * Hm);
        e->emb_mean = carve_floats(c, BT * K);
        e->emb_rstd = carve_floats(c, BT * K);
        e->n_mean = carve_floats(c, BT * K);
        e->n_rstd = carve_floats(c, BT * K);
    }
    const size_t band = T * n->C * n->wmax;
    for (int i = 0; i < e->nthr; i++) {
        band_scratch *s = &e->ts[i];
        s->out = carve_floats(c, T * 4 * n->S * n->wmax);
        if (e->train) {
            s->dh = carve_floats(c, T * Hm);
            s->dband = carve_floats(c, band);
        } else {
            s->x = carve_floats(c, band);
            s->y = carve_floats(c, band);
            s->h = carve_floats(c, T * Hm);
        }
    }
}

/* Every buffer of the exec, in one arena: run on a counting carve for the
 * size, then on the arena for the pointers. */
static void exec_layout(tfswa_net_exec *e, carve *c)
{
    const int no = e->net.n_ops;
    int *lo = tf_malloc((size_t)no * sizeof *lo, "model plan"), *hi = tf_malloc((size_t)no * sizeof *hi, "model plan");
    size_t *size = tf_calloc((size_t)no, sizeof *size, "model plan");
    layout_outputs(e, c, lo, hi, size);
    shared_sizes sz;
    layout_op_buffers(e, c, &sz);
    layout_shared(e, c, &sz);
    if (e->train)
        layout_grads(e, c, lo, hi, size);
    free(lo);
    free(hi);
    free(size);
    if (!e->net.unet)
        layout_band(e, c);
}

/* inference with fold_bn: each CONVBN's BatchNorm folded into its conv */
static void fold_weights(tfswa_net_exec *e)
{
    const tfswa_net *n = &e->net;
    for (int i = 0; i < n->n_ops; i++) {
        const tfswa_op *op = &n->ops[i];
        if (op->kind != TFSWA_OP_CONVBN)
            continue;
        const float *t[6];
        for (int q = 0; q < 6; q++)
            t[q] = P(n, e->m->data, op, q);
        fold(e->cw[i], e->cb[i], t, op->C, e->sh[i - 1][0], op->k, op->transposed);
    }
}

tfswa_net_exec *tfswa_net_exec_new(const tfswa_model *m, int B, int T, int train, int recompute, int fold_bn)
{
    if (B < 1 || T < 1)
        tf_die("model: batch %d of %d frames", B, T);
    tfswa_net_exec *e = tf_calloc(1, sizeof *e, "model activations");
    e->m = m;
    e->B = B;
    e->train = train;
    e->recompute = train && recompute;
    e->fold = !train && fold_bn;
    tfswa_net *n = &e->net;
    tfswa_net_build(n, &m->cfg);
    if (n->unet && T < TFSWA_MIN_FRAMES)
        T = TFSWA_MIN_FRAMES;
    e->T = e->Tr = T;
    const int no = n->n_ops;
    e->sh = tf_calloc((size_t)no, sizeof *e->sh, "model activations");
    tfswa_net_shapes(n, T, e->sh);
#define ARR(p) (p) = tf_calloc((size_t)no, sizeof *(p), "model activations")
    ARR(e->y), ARR(e->act), ARR(e->d), ARR(e->dset), ARR(e->z), ARR(e->mean), ARR(e->rstd), ARR(e->cw), ARR(e->cb);
#undef ARR
    if (!n->unet) {
        e->nthr = omp_get_max_threads();
        if (e->nthr > n->K)
            e->nthr = n->K;
        e->ts = tf_calloc((size_t)e->nthr, sizeof *e->ts, "model activations");
    }
    carve c = carve_begin(NULL);
    exec_layout(e, &c);
    e->arena_bytes = carve_bytes(&c);
    e->arena = tf_malloc(e->arena_bytes, "model activations");
    c = carve_begin(e->arena);
    exec_layout(e, &c);
    if (e->fold)
        fold_weights(e);
    return e;
}

void tfswa_net_exec_free(tfswa_net_exec *e)
{
    if (!e)
        return;
    free(e->arena);
    free(e->sh);
    free(e->y);
    free(e->act);
    free(e->d);
    free(e->dset);
    free(e->z);
    free(e->mean);
    free(e->rstd);
    free(e->cw);
    free(e->cb);
    free(e->ts);
    tfswa_net_free(&e->net);
    free(e);
}

size_t tfswa_net_exec_bytes(const tfswa_net_exec *e) { return e->arena_bytes; }

/* The FEATURES op of a band model: (x - mean) / std per bin and channel, and
 * with TFSWA_FEAT_LOGMAG the log magnitude of each audio channel's
 * normalised bin, log(sqrt(re^2 + im^2 + TFSWA_LOGMAG_EPS)), as channels 4
 * and 5. */
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
                          P(n, W, op, 4 * k), P(n, W, op, 4 * k + 1), T, W4, NN_LAYERNORM_EPS);
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
            layernorm_backward(NULL, P(n, grad, op, 4 * k), P(n, grad, op, 4 * k + 1), s->dband, x, e->emb_mean + row,
                               e->emb_rstd + row, P(n, W, op, 4 * k), T, W4);
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
            linear_backward_set(s->dh, P(n, grad, op, 4 * k + 2), P(n, grad, op, 4 * k + 3), s->out, e->m_h + row * Hm,
                                P(n, W, op, 4 * k + 2), T, Hm, O);
            gelu_backward_set(s->dh, s->dh, e->m_pre + row * Hm, (int64_t)T * Hm);
            linear_backward(dtok + row * D, P(n, grad, op, 4 * k), P(n, grad, op, 4 * k + 1), s->dh, tok + row * D,
                            P(n, W, op, 4 * k), T, D, Hm);
        }
    }
    bands_end(e);
}

/* CONVBN forward: y = GELU(BN(conv(x))); training: BatchNorm on the batch's
 * statistics (z keeps the conv output), inference: on the running ones,
 * folded into the conv or not. */
static void convbn_forward(tfswa_net_exec *e, int i, const float *x, float *y, int update)
{
    const tfswa_op *op = &e->net.ops[i];
    float *W = e->m->data;
    conv2d_dims d = op_dims(e, i);
    const int64_t hw = (int64_t)e->sh[i][1] * e->sh[i][2], n = (int64_t)e->B * op->C * hw;
    float *cw = e->train ? P(&e->net, W, op, 0) : e->cw[i], *cb = e->train ? P(&e->net, W, op, 1) : e->cb[i];
    float *z = e->train ? e->z[i] : e->fold ? y : e->conv_out;
    if (op->transposed)
        convt2d_forward(z, x, cw, cb, &d, e->conv_work);
    else
        conv2d_forward(z, x, cw, cb, &d, e->conv_work);
    float *g = P(&e->net, W, op, 2), *b = P(&e->net, W, op, 3), *rm = P(&e->net, W, op, 4), *rv = P(&e->net, W, op, 5);
    if (e->train)
        batchnorm_forward_train(y, e->mean[i], e->rstd[i], update ? rm : NULL, update ? rv : NULL, z, g, b, e->B, op->C,
                                hw, TFSWA_BN_MOMENTUM, TFSWA_BN_EPS);
    else if (!e->fold)
        batchnorm_forward_eval(y, z, g, b, rm, rv, e->B, op->C, hw, TFSWA_BN_EPS);
    gelu_forward(y, y, n);
}

/* CONVBN backward from dy; dx (may be NULL) += the input's gradient */
static void convbn_backward(tfswa_net_exec *e, int i, const float *x, const float *dy, float *dx, float *grad)
{
    const tfswa_op *op = &e->net.ops[i];
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    conv2d_dims d = op_dims(e, i);
    const int B = e->B, Co = op->C;
    const int64_t hw = (int64_t)e->sh[i][1] * e->sh[i][2];
    const size_t sz = (size_t)B * Co * hw;
    const float *mean = e->mean[i], *rstd = e->rstd[i], *z = e->z[i], *bg = P(n, W, op, 2), *bb = P(n, W, op, 3);
    float *u = e->bn_y, *du = e->d_bn_y;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * Co; bc++) {
        int c = bc % Co;
        float mu = mean[c], rs = rstd[c], ga = bg[c], be = bb[c];
        const float *zi = z + (size_t)bc * hw;
        float *o = u + (size_t)bc * hw;
        for (int64_t k = 0; k < hw; k++)
            o[k] = (zi[k] - mu) * rs * ga + be;
    }
    gelu_backward_set(du, dy, u, (int64_t)sz);
    float *dz = u;
    memset(dz, 0, sz * sizeof(float));
    batchnorm_backward(dz, P(n, grad, op, 2), P(n, grad, op, 3), du, z, mean, rstd, bg, B, Co, hw);
    if (op->transposed)
        convt2d_backward(dx, P(n, grad, op, 0), P(n, grad, op, 1), dz, x, P(n, W, op, 0), &d, e->conv_work);
    else
        conv2d_backward(dx, P(n, grad, op, 0), P(n, grad, op, 1), dz, x, P(n, W, op, 0), &d, e->conv_work);
}

const float *tfswa_net_forward(tfswa_net_exec *e, const float *const *X, int64_t Ttot, int64_t t0, int T, int update)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    if (T < 1 || T > e->T || (e->train && T != e->T) || t0 < 0 || t0 + T > Ttot)
        tf_die("model: frames [%lld, %lld) of %lld with a state for %d", (long long)t0, (long long)t0 + T,
               (long long)Ttot, e->T);
    /* a U-Net runs at least TFSWA_MIN_FRAMES frames: silent ones past T */
    const int Tr = n->unet && T < TFSWA_MIN_FRAMES ? TFSWA_MIN_FRAMES : T;
    if (Tr != e->Tr) {
        tfswa_net_shapes(n, Tr, e->sh);
        e->Tr = Tr;
    }
    const int B = e->B;
    for (int i = 0; i < n->n_ops; i++) {
        const tfswa_op *op = &n->ops[i];
        const float *x = i ? e->y[i - 1] : NULL;
        const int *s = e->sh[i];
        float *y = e->y[i];
        switch (op->kind) {
        case TFSWA_OP_FEATURES:
            for (int b = 0; b < B; b++) {
                float *yb = y + (size_t)b * numel(s);
                if (n->unet)
                    tfswa_features(yb, X[b], Ttot, t0, T, Tr, P(n, W, op, 0), P(n, W, op, 1), n->F);
                else
                    band_features(yb, X[b], Ttot, t0, T, P(n, W, op, 0), P(n, W, op, 1), n->F, n->C);
            }
            break;
        case TFSWA_OP_EMBED: embed_forward(e, op, x, y, T); break;
        case TFSWA_OP_TLAYER: {
            tlayer_params p = tparams(n, W, op);
            tlayer_forward(y, x, &p, &op->tc, B, s[1], s[2], e->act[i], e->tl_scratch);
            break;
        }
        case TFSWA_OP_NORM:
            layernorm_forward(y, e->n_mean, e->n_rstd, x, P(n, W, op, 0), P(n, W, op, 1), (int64_t)B * s[1] * s[2],
                              n->D, NN_LAYERNORM_EPS);
            break;
        case TFSWA_OP_MASK: mask_forward(e, op, x, y, T); break;
        case TFSWA_OP_CONVBN: convbn_forward(e, i, x, y, update); break;
        case TFSWA_OP_TOKENS: nchw_to_tokens(y, x, B, s[0], s[1], s[2]); break;
        case TFSWA_OP_NCHW: tokens_to_nchw(y, x, B, s[0], s[1], s[2]); break;
        case TFSWA_OP_SKIPADD: {
            const int *in = e->sh[i - 1];
            pad2d_forward(y, x, B, in[0], in[1], in[2], s[1], s[2]);
            add_inplace(y, e->y[op->ref], (int64_t)B * numel(s));
            break;
        }
        case TFSWA_OP_CONV: {
            conv2d_dims d = op_dims(e, i);
            conv2d_forward(y, x, P(n, W, op, 0), P(n, W, op, 1), &d, e->conv_work);
            break;
        }
        }
    }
    const float *out = e->y[n->n_ops - 1];
    if (Tr != T) { /* inference only: T >= TFSWA_MIN_FRAMES in training */
        crop2d_forward(e->masks, out, B, 4 * n->S, n->F, Tr, n->F, T);
        out = e->masks;
    }
    return out;
}

/* the gradient buffer of op i's output, zeroed before its first use */
static float *dbuf(tfswa_net_exec *e, int i)
{
    if (!e->dset[i]) {
        memset(e->d[i], 0, (size_t)e->B * numel(e->sh[i]) * sizeof(float));
        e->dset[i] = 1;
    }
    return e->d[i];
}

void tfswa_net_backward(tfswa_net_exec *e, const float *dmasks, float *grad)
{
    const tfswa_net *n = &e->net;
    float *W = e->m->data;
    if (!e->train)
        tf_die("model: backward pass without training state");
    const int B = e->B, last = n->n_ops - 1;
    memset(e->dset, 0, (size_t)n->n_ops);
    for (int i = last; i >= 0; i--) {
        const tfswa_op *op = &n->ops[i];
        const float *x = i ? e->y[i - 1] : NULL, *dy = i == last ? dmasks : e->d[i];
        const int *s = e->sh[i], *in = i ? e->sh[i - 1] : NULL;
        float *dx = passes_grad(n, i) ? dbuf(e, i - 1) : NULL;
        switch (op->kind) {
        case TFSWA_OP_FEATURES: break; /* the input needs no gradient */
        case TFSWA_OP_EMBED: embed_backward(e, op, dy, grad); break;
        case TFSWA_OP_TLAYER: {
            const float *act = e->act[i];
            if (e->recompute) {
                if (op->j == 3) /* entering the block from its end: run its layers again */
                    for (int j = 0; j < 4; j++) {
                        const tfswa_op *o = &n->ops[i - 3 + j];
                        tlayer_params p = tparams(n, W, o);
                        tlayer_forward(e->rx[j], j ? e->rx[j - 1] : e->y[i - 4], &p, &o->tc, B, s[1], s[2], e->ract[j],
                                       e->tl_scratch);
                    }
                act = e->ract[op->j];
                if (op->j)
                    x = e->rx[op->j - 1];
            }
            tlayer_params p = tparams(n, W, op), g = tparams(n, grad, op);
            tlayer_backward(dx, &g, dy, x, &p, &op->tc, B, s[1], s[2], act, e->tl_scratch);
            break;
        }
        case TFSWA_OP_NORM:
            layernorm_backward(dx, P(n, grad, op, 0), P(n, grad, op, 1), dy, x, e->n_mean, e->n_rstd, P(n, W, op, 0),
                               (int64_t)B * s[1] * s[2], n->D);
            break;
        case TFSWA_OP_MASK: mask_backward(e, op, x, dy, dx, grad); break;
        case TFSWA_OP_CONVBN: convbn_backward(e, i, x, dy, dx, grad); break;
        case TFSWA_OP_TOKENS: nchw_to_tokens_backward(dx, dy, B, s[0], s[1], s[2]); break;
        case TFSWA_OP_NCHW: tokens_to_nchw_backward(dx, dy, B, s[0], s[1], s[2]); break;
        case TFSWA_OP_SKIPADD: {
            /* the added output's gradient: a copy on first use, as a sum after */
            const int r = op->ref;
            const size_t nr = (size_t)B * numel(e->sh[r]);
            if (!e->dset[r]) {
                memcpy(e->d[r], dy, nr * sizeof(float));
                e->dset[r] = 1;
            } else {
                add_inplace(e->d[r], dy, (int64_t)nr);
            }
            pad2d_backward(dx, dy, B, in[0], in[1], in[2], s[1], s[2]);
            break;
        }
        case TFSWA_OP_CONV: {
            conv2d_dims d = op_dims(e, i);
            conv2d_backward(dx, P(n, grad, op, 0), P(n, grad, op, 1), dy, x, P(n, W, op, 0), &d, e->conv_work);
            break;
        }
        }
    }
}
