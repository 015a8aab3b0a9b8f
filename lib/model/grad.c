/* TFSWA-UNet training forward (BN on batch statistics) and backward pass. */
#include "model/grad.h"
#include "model/net.h"
#include "nn/layers.h"
#include "nn/tlayer.h"
#include "util/cli.h"

#include <stdlib.h>
#include <string.h>

#define BN_MOMENTUM 0.1f

/* conv (+ BN train + GELU): input x (not owned), z = conv(x), a = GELU(BN(z)) */
typedef struct {
    conv2d_dims d;
    int transposed, Ho, Wo;
    const float *x;
    float *z, *a, *mean, *rstd;
} unit_t;

/* the transformer layers of one stage (4 per block) */
typedef struct {
    int stage, nl, C, F, T;
    tlayer_config tc[4];
    float **xt;  /* nl + 1 token buffers: inputs of each layer; xt[nl] a temporary */
    float **act; /* nl saved activations (recompute: shared buffers, filled in the backward) */
    float *out;  /* NCHW output (B, C, F, T), owned */
} stage_t;

struct tfswa_tnet {
    tfswa_model *m;
    int B, T, F, recompute;
    int f[TFSWA_LEVELS], t[TFSWA_LEVELS];
    const float *const *X;
    float *feat;  /* (B, 4, F, T) */
    unit_t stem, down[3], up[3], head;
    stage_t enc[3], mid, dec[3];
    float *masks; /* (B, 4S, F, T) */
    float *conv_work, *tl_scratch;
    float *gA, *gB, *dskip[3], *ut1, *ut2, *dtA, *dtB, *ftmp;
    float *rx[4], *ract[4]; /* recompute: a block's inner layer inputs + a dummy output, and acts */
    tfswa_allocs mem;
    tfswa_net_exec *net; /* a band model: everything else unused */
};

static float *get(tfswa_tnet *n, size_t floats) { return tfswa_allocs_get(&n->mem, floats, "training activations"); }

static void unit_init(tfswa_tnet *n, unit_t *u, conv2d_dims d, int transposed, size_t *work)
{
    u->d = d;
    u->transposed = transposed;
    u->Ho = transposed ? convt2d_out_h(&d) : conv2d_out_h(&d);
    u->Wo = transposed ? convt2d_out_w(&d) : conv2d_out_w(&d);
    size_t sz = (size_t)d.B * d.Cout * u->Ho * u->Wo;
    u->z = get(n, sz);
    u->a = get(n, sz);
    u->mean = get(n, (size_t)d.Cout);
    u->rstd = get(n, (size_t)d.Cout);
    *work = tfswa_max_size(*work, transposed ? convt2d_workspace(&d) : conv2d_workspace(&d));
}

static size_t unit_size(const unit_t *u) { return (size_t)u->d.B * u->d.Cout * u->Ho * u->Wo; }

static void stage_init(tfswa_tnet *n, stage_t *s, int stage, int nl, size_t *scratch, size_t *tok)
{
    const tfswa_config *c = &n->m->cfg;
    s->stage = stage;
    s->nl = nl;
    s->C = c->dims[stage];
    s->F = n->f[stage];
    s->T = n->t[stage];
    size_t N = (size_t)n->B * s->F * s->T, sz = N * s->C;
    *tok = tfswa_max_size(*tok, sz);
    s->out = get(n, sz);
    s->xt = tf_calloc((size_t)nl + 1, sizeof *s->xt, "training activations");
    s->act = tf_calloc((size_t)nl + 1, sizeof *s->act, "training activations");
    for (int j = 0; j < 4; j++) {
        s->tc[j] = tfswa_tlayer_config(c, stage, j);
        if (nl > 0)
            *scratch = tfswa_max_size(*scratch, tlayer_scratch_size(&s->tc[j], n->B, s->F, s->T));
    }
    for (int l = 0; l < nl; l++) {
        if (!n->recompute || l % 4 == 0)
            s->xt[l] = get(n, sz);
        if (!n->recompute)
            s->act[l] = get(n, tlayer_act_size(&s->tc[l % 4], n->B, s->F, s->T));
    }
}

tfswa_tnet *tfswa_tnet_new(tfswa_model *m, int B, int T, int recompute)
{
    const tfswa_config *c = &m->cfg;
    if (B < 1 || T < TFSWA_MIN_FRAMES)
        tf_die("training: batch %d of %d frames: needs a batch >= 1 of >= %d frames", B, T, TFSWA_MIN_FRAMES);
    tfswa_tnet *n = tf_calloc(1, sizeof *n, "training state");
    n->m = m;
    n->B = B;
    n->T = T;
    n->F = tfswa_bins(c);
    n->recompute = recompute;
    if (c->arch == TFSWA_ARCH_BAND) { /* recompute: no effect, its activations are small */
        n->net = tfswa_net_exec_new(m, B, T, 1);
        return n;
    }
    tfswa_level_sizes(n->F, T, n->f, n->t);
    const int F = n->F, *f = n->f, *t = n->t, *C = c->dims;
    size_t work = 0, scratch = 0, tok = 0;
    n->feat = get(n, (size_t)B * TFSWA_IN_CH * F * T);
    unit_init(n, &n->stem, tfswa_conv_dims(B, TFSWA_IN_CH, F, T, C[0], 7, 1, 3), 0, &work);
    for (int i = 0; i < 3; i++) {
        stage_init(n, &n->enc[i], i, m->w.n_enc[i], &scratch, &tok);
        unit_init(n, &n->down[i], tfswa_conv_dims(B, C[i], f[i], t[i], C[i + 1], 4, 2, 1), 0, &work);
    }
    stage_init(n, &n->mid, 3, m->w.n_mid, &scratch, &tok);
    for (int i = 2; i >= 0; i--) {
        unit_init(n, &n->up[i], tfswa_conv_dims(B, C[i + 1], f[i + 1], t[i + 1], C[i], 4, 2, 1), 1, &work);
        stage_init(n, &n->dec[i], i, m->w.n_dec[i], &scratch, &tok);
    }
    unit_init(n, &n->head, tfswa_conv_dims(B, C[0], F, T, C[0], 3, 1, 1), 0, &work);
    conv2d_dims d1 = tfswa_conv_dims(B, C[0], F, T, 4 * c->n_stems, 1, 1, 0);
    work = tfswa_max_size(work, conv2d_workspace(&d1));
    n->masks = get(n, (size_t)B * 4 * c->n_stems * F * T);
    n->conv_work = get(n, work);
    n->tl_scratch = get(n, scratch);
    n->gA = get(n, tok);
    n->gB = get(n, tok);
    for (int i = 0; i < 3; i++)
        n->dskip[i] = get(n, (size_t)B * C[i] * f[i] * t[i]);
    n->ut1 = get(n, tok);
    n->ut2 = get(n, tok);
    n->dtA = get(n, tok);
    n->dtB = get(n, tok);
    n->ftmp = get(n, tok);
    if (recompute) {
        size_t act = 0;
        for (int i = 0; i < TFSWA_LEVELS; i++)
            for (int j = 0; j < 4; j++) {
                tlayer_config tc = tfswa_tlayer_config(c, i, j);
                act = tfswa_max_size(act, tlayer_act_size(&tc, B, f[i], t[i]));
            }
        for (int j = 0; j < 4; j++) {
            n->rx[j] = get(n, tok);
            n->ract[j] = get(n, act);
        }
    }
    /* stages: shared pointers */
    stage_t *st[7] = {&n->enc[0], &n->enc[1], &n->enc[2], &n->mid, &n->dec[0], &n->dec[1], &n->dec[2]};
    for (int k = 0; k < 7; k++) {
        stage_t *s = st[k];
        s->xt[s->nl] = n->dtA; /* the last output: a temporary */
        if (recompute)
            for (int l = 0; l < s->nl; l++) {
                if (l % 4)
                    s->xt[l] = n->rx[l % 4 - 1];
                s->act[l] = NULL;
            }
    }
    return n;
}

void tfswa_tnet_free(tfswa_tnet *n)
{
    if (!n)
        return;
    tfswa_allocs_free(&n->mem);
    tfswa_net_exec_free(n->net);
    stage_t *st[7] = {&n->enc[0], &n->enc[1], &n->enc[2], &n->mid, &n->dec[0], &n->dec[1], &n->dec[2]};
    for (int k = 0; k < 7; k++) {
        free(st[k]->xt);
        free(st[k]->act);
    }
    free(n);
}

size_t tfswa_tnet_bytes(const tfswa_tnet *n) { return n->net ? tfswa_net_exec_bytes(n->net) : n->mem.bytes; }

/* ---- units ---- */
static void unit_forward(tfswa_tnet *n, unit_t *u, const tfswa_convbn *w, const float *x, int update)
{
    u->x = x;
    if (u->transposed)
        convt2d_forward(u->z, x, w->w, w->b, &u->d, n->conv_work);
    else
        conv2d_forward(u->z, x, w->w, w->b, &u->d, n->conv_work);
    int64_t hw = (int64_t)u->Ho * u->Wo;
    batchnorm_forward_train(u->a, u->mean, u->rstd, update ? w->bn_mean : NULL, update ? w->bn_var : NULL, u->z,
                            w->bn_g, w->bn_b, u->d.B, u->d.Cout, hw, BN_MOMENTUM, TFSWA_BN_EPS);
    gelu_forward(u->a, u->a, (int64_t)u->d.B * u->d.Cout * hw);
}

/* da: gradient of the unit's output; dx (may be NULL) += gradient of its input. */
static void unit_backward(tfswa_tnet *n, unit_t *u, const tfswa_convbn *w, tfswa_convbn *g, const float *da, float *dx)
{
    const int B = u->d.B, Co = u->d.Cout;
    const int64_t hw = (int64_t)u->Ho * u->Wo;
    const size_t sz = unit_size(u);
    float *y = n->ut1, *dy = n->ut2;
#pragma omp parallel for schedule(static)
    for (int bc = 0; bc < B * Co; bc++) {
        int c = bc % Co;
        float mu = u->mean[c], rs = u->rstd[c], ga = w->bn_g[c], be = w->bn_b[c];
        const float *z = u->z + (size_t)bc * hw;
        float *o = y + (size_t)bc * hw;
        for (int64_t i = 0; i < hw; i++)
            o[i] = (z[i] - mu) * rs * ga + be;
    }
    gelu_backward_set(dy, da, y, (int64_t)sz);
    float *dz = y;
    memset(dz, 0, sz * sizeof(float));
    batchnorm_backward(dz, g->bn_g, g->bn_b, dy, u->z, u->mean, u->rstd, w->bn_g, B, Co, hw);
    if (u->transposed)
        convt2d_backward(dx, g->w, g->b, dz, u->x, w->w, &u->d, n->conv_work);
    else
        conv2d_backward(dx, g->w, g->b, dz, u->x, w->w, &u->d, n->conv_work);
}

/* ---- transformer stages ---- */
static void stage_forward(tfswa_tnet *n, stage_t *s, const tlayer_params *p, const float *in)
{
    const int B = n->B;
    size_t sz = (size_t)B * s->C * s->F * s->T;
    if (s->nl == 0) {
        memcpy(s->out, in, sz * sizeof(float));
        return;
    }
    nchw_to_tokens(s->xt[0], in, B, s->C, s->F, s->T);
    for (int l = 0; l < s->nl; l++)
        tlayer_forward(s->xt[l + 1], s->xt[l], &p[l], &s->tc[l % 4], B, s->F, s->T, s->act[l], n->tl_scratch);
    tokens_to_nchw(s->out, s->xt[s->nl], B, s->C, s->F, s->T);
}

/* din += d/d input, from dout (NCHW). */
static void stage_backward(tfswa_tnet *n, stage_t *s, const tlayer_params *p, tlayer_params *g, const float *dout,
                           float *din)
{
    const int B = n->B;
    size_t sz = (size_t)B * s->C * s->F * s->T;
    if (s->nl == 0) {
        add_inplace(din, dout, (int64_t)sz);
        return;
    }
    float *da = n->dtA, *db = n->dtB;
    memset(da, 0, sz * sizeof(float));
    tokens_to_nchw_backward(da, dout, B, s->C, s->F, s->T);
    for (int l = s->nl - 1; l >= 0; l--) {
        const float *act = s->act[l];
        if (n->recompute) {
            int b0 = l - l % 4;
            if (l % 4 == 3) /* entering block b0/4 from its end: run its layers again */
                for (int j = 0; j < 4; j++) {
                    float *y = j < 3 ? s->xt[b0 + j + 1] : n->rx[3];
                    tlayer_forward(y, s->xt[b0 + j], &p[b0 + j], &s->tc[j], B, s->F, s->T, n->ract[j], n->tl_scratch);
                }
            act = n->ract[l % 4];
        }
        memset(db, 0, sz * sizeof(float));
        tlayer_backward(db, &g[l], da, s->xt[l], &p[l], &s->tc[l % 4], B, s->F, s->T, act, n->tl_scratch);
        float *tmp = da;
        da = db;
        db = tmp;
    }
    nchw_to_tokens_backward(din, da, B, s->C, s->F, s->T);
}

/* ---- the model ---- */
const float *tfswa_tnet_forward(tfswa_tnet *n, const float *const *X, int update)
{
    tfswa_model *m = n->m;
    const tfswa_config *c = &m->cfg;
    tfswa_weights *W = &m->w;
    const int B = n->B, F = n->F, T = n->T;
    if (n->net) {
        (void)update; /* no BatchNorm */
        return tfswa_net_forward(n->net, X, n->T, 0, n->T);
    }
    n->X = X;
    for (int b = 0; b < B; b++)
        tfswa_features(n->feat + (size_t)b * TFSWA_IN_CH * F * T, X[b], T, 0, T, T, W->norm_mean, W->norm_std, F);
    unit_forward(n, &n->stem, &W->stem, n->feat, update);
    const float *cur = n->stem.a;
    for (int i = 0; i < 3; i++) {
        stage_forward(n, &n->enc[i], W->enc[i], cur);
        unit_forward(n, &n->down[i], &W->down[i], n->enc[i].out, update);
        cur = n->down[i].a;
    }
    stage_forward(n, &n->mid, W->mid, cur);
    cur = n->mid.out;
    for (int i = 2; i >= 0; i--) {
        unit_t *u = &n->up[i];
        unit_forward(n, u, &W->up[i], cur, update);
        float *in = n->ftmp;
        pad2d_forward(in, u->a, B, c->dims[i], u->Ho, u->Wo, n->f[i], n->t[i]);
        add_inplace(in, n->enc[i].out, (int64_t)B * c->dims[i] * n->f[i] * n->t[i]);
        stage_forward(n, &n->dec[i], W->dec[i], in);
        cur = n->dec[i].out;
    }
    unit_forward(n, &n->head, &W->head, cur, update);
    conv2d_dims d1 = tfswa_conv_dims(B, c->dims[0], F, T, 4 * c->n_stems, 1, 1, 0);
    conv2d_forward(n->masks, n->head.a, W->out_w, W->out_b, &d1, n->conv_work);
    return n->masks;
}

void tfswa_tnet_backward(tfswa_tnet *n, const float *dmasks, float *grad)
{
    if (n->net) {
        tfswa_net_backward(n->net, dmasks, grad);
        return;
    }
    tfswa_model *m = n->m;
    const tfswa_config *c = &m->cfg;
    tfswa_weights *W = &m->w, G;
    tfswa_bind(&G, c, grad);
    const int B = n->B, F = n->F, T = n->T, *C = c->dims;
    float *cur = n->gA, *oth = n->gB;
#define ZERO(p, k) memset((p), 0, (size_t)(k) * sizeof(float))
#define SWAP() do { float *s_ = cur; cur = oth; oth = s_; } while (0)
    size_t s0 = (size_t)B * C[0] * F * T;
    ZERO(cur, s0);
    conv2d_dims d1 = tfswa_conv_dims(B, C[0], F, T, 4 * c->n_stems, 1, 1, 0);
    conv2d_backward(cur, G.out_w, G.out_b, dmasks, n->head.a, W->out_w, &d1, n->conv_work);
    ZERO(oth, s0);
    unit_backward(n, &n->head, &W->head, &G.head, cur, oth);
    SWAP(); /* cur: d dec[0].out */
    for (int i = 0; i < 3; i++) {
        size_t si = (size_t)B * C[i] * n->f[i] * n->t[i];
        ZERO(oth, si);
        stage_backward(n, &n->dec[i], W->dec[i], G.dec[i], cur, oth);
        SWAP(); /* cur: d (pad(up) + skip) */
        memcpy(n->dskip[i], cur, si * sizeof(float));
        unit_t *u = &n->up[i];
        ZERO(oth, unit_size(u));
        pad2d_backward(oth, cur, B, C[i], u->Ho, u->Wo, n->f[i], n->t[i]);
        SWAP(); /* cur: d up[i].a */
        ZERO(oth, (size_t)B * C[i + 1] * n->f[i + 1] * n->t[i + 1]);
        unit_backward(n, u, &W->up[i], &G.up[i], cur, oth);
        SWAP(); /* cur: d (mid or dec[i + 1]).out */
    }
    ZERO(oth, (size_t)B * C[3] * n->f[3] * n->t[3]);
    stage_backward(n, &n->mid, W->mid, G.mid, cur, oth);
    SWAP(); /* cur: d down[2].a */
    for (int i = 2; i >= 0; i--) {
        unit_backward(n, &n->down[i], &W->down[i], &G.down[i], cur, n->dskip[i]);
        ZERO(oth, (size_t)B * C[i] * n->f[i] * n->t[i]);
        stage_backward(n, &n->enc[i], W->enc[i], G.enc[i], n->dskip[i], oth);
        SWAP(); /* cur: d (down[i - 1] or stem).a */
    }
    unit_backward(n, &n->stem, &W->stem, &G.stem, cur, NULL);
#undef ZERO
#undef SWAP
    tfswa_weights_free(&G);
}

