/* The TFSWA transformer layer: pre-norm MHSA + MLP over (B, F, T, C) tokens,
 * attention along time, frequency, windows or shifted windows.
 *
 * Tokens are gathered ("packed") per (sequence, head) into (n, heads, L, D)
 * for the tiled attention of lib/nn/attention.c:
 *   TL_TIME     sequence (b, f), position t           (n = B F, L = T)
 *   TL_FREQ     sequence (b, t), position f           (n = B T, L = F)
 *   TL_WINDOW   sequence (b, wf, wt), position (a, c) in the window, token
 *               (wf w + a, wt w + c) of the grid padded to (Fp, Tp)
 *   TL_SHIFTED  the same on the grid rolled by -w/2 in F and T (torch.roll):
 *               shifted (fs, ts) holds padded token ((fs + s) % Fp, (ts + s) % Tp)
 * Window kinds: a position holding a padded token is group -1 (never a key;
 * its query output is discarded); SW-MSA groups are Swin's regions of the
 * shifted padded grid, region(x) = 0 for x < P - w, 1 for x < P - s, else 2,
 * group = 3 region(fs) + region(ts). The output is scattered back through
 * the same map (the roll back).
 *
 * Saved activations act (tlayer_act_size floats):
 *   [0, N C)            o: attention output before proj, tokens (N, C), N = B F T
 *   [N C, N C + Np H)   lse: per-row log-sum-exp, packed (n, heads, L), Np = n L
 * Everything else (LayerNorm statistics, q k v, the MLP hidden layer) is
 * recomputed from x in the backward pass: one extra pass of the layer's
 * GEMMs, no extra attention.
 */
#include "nn/tlayer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/attention.h"
#include "nn/layers.h"
#include "util/cli.h"

#define LN_EPS 1e-5f

typedef struct {
    int B, F, T, C, H, D, w, sh;
    int n, L, Fp, Tp, nWf, nWt;
    int64_t N, Np;
} geom;

static int is_window(tlayer_kind k) { return k == TL_WINDOW || k == TL_SHIFTED; }

static geom geom_of(const tlayer_config *c, int B, int F, int T)
{
    geom g;
    memset(&g, 0, sizeof g);
    g.B = B;
    g.F = F;
    g.T = T;
    g.C = c->C;
    g.H = c->heads;
    g.D = c->C / c->heads;
    g.N = (int64_t)B * F * T;
    switch (c->kind) {
    case TL_TIME:
        g.n = B * F;
        g.L = T;
        break;
    case TL_FREQ:
        g.n = B * T;
        g.L = F;
        break;
    default:
        g.w = c->window;
        g.sh = c->kind == TL_SHIFTED ? c->window / 2 : 0;
        g.Fp = (F + g.w - 1) / g.w * g.w;
        g.Tp = (T + g.w - 1) / g.w * g.w;
        g.nWf = g.Fp / g.w;
        g.nWt = g.Tp / g.w;
        g.n = B * g.nWf * g.nWt;
        g.L = g.w * g.w;
        break;
    }
    g.Np = (int64_t)g.n * g.L;
    return g;
}

static int region(int x, int P, int w, int s) { return x < P - w ? 0 : x < P - s ? 1 : 2; }

/* Token index of position i of packed sequence s, or -1 for padding; *grp gets its group. */
static inline int64_t tok_of(const geom *g, tlayer_kind kind, int s, int i, int *grp)
{
    if (kind == TL_TIME) {
        *grp = 0;
        return (int64_t)s * g->T + i;
    }
    if (kind == TL_FREQ) {
        int b = s / g->T, t = s % g->T;
        *grp = 0;
        return ((int64_t)b * g->F + i) * g->T + t;
    }
    int wt = s % g->nWt, r = s / g->nWt, wf = r % g->nWf, b = r / g->nWf;
    int fs = wf * g->w + i / g->w, ts = wt * g->w + i % g->w;
    int f = fs, t = ts;
    if (g->sh) {
        f = (fs + g->sh) % g->Fp;
        t = (ts + g->sh) % g->Tp;
    }
    if (f >= g->F || t >= g->T) {
        *grp = -1;
        return -1;
    }
    *grp = g->sh ? region(fs, g->Fp, g->w, g->sh) * 3 + region(ts, g->Tp, g->w, g->sh) : 0;
    return ((int64_t)b * g->F + f) * g->T + t;
}

/* Copies between token rows and packed sequences, in the order that reads
 * the token side sequentially: position-major for TL_FREQ (a sequence's
 * tokens lie T tokens apart, consecutive sequences' next to each other;
 * the packed side's runs of PB positions stay in cache meanwhile),
 * sequence-major for the others. One cache miss per token otherwise. */
#define PB 16

/* One (sequence s, position i), every head, for nd packed arrays: array a
 * holds the token channels off + a C .. off + a C + C - 1. */
static inline void pack_one(float *const *dst, int nd, const float *src, int stride, int off, const geom *g,
                            tlayer_kind kind, int s0, int s, int i)
{
    const int H = g->H, D = g->D, L = g->L, C = g->C;
    int grp;
    int64_t t = tok_of(g, kind, s, i, &grp);
    for (int a = 0; a < nd; a++)
        for (int h = 0; h < H; h++) {
            float *d = dst[a] + (((size_t)(s - s0) * H + h) * L + i) * D;
            if (t < 0) {
                for (int e = 0; e < D; e++) d[e] = 0;
            } else {
                const float *x = src + t * stride + off + a * C + h * D;
                for (int e = 0; e < D; e++) d[e] = x[e];
            }
        }
}

static inline void unpack_one(float *dst, int stride, int off, const float *const *src, int nd, const geom *g,
                              tlayer_kind kind, int s0, int s, int i)
{
    const int H = g->H, D = g->D, L = g->L, C = g->C;
    int grp;
    int64_t t = tok_of(g, kind, s, i, &grp);
    if (t < 0) return;
    for (int a = 0; a < nd; a++)
        for (int h = 0; h < H; h++) {
            float *d = dst + t * stride + off + a * C + h * D;
            const float *x = src[a] + (((size_t)(s - s0) * H + h) * L + i) * D;
            for (int e = 0; e < D; e++) d[e] = x[e];
        }
}

/* dst[a] (s1 - s0, H, L, D) <- sequences s0 .. s1-1 of src tokens (N, stride),
 * channels off + a C .. off + a C + C - 1, a < nd; zero at padding. */
static void pack(float *const *dst, int nd, const float *src, int stride, int off, const geom *g, tlayer_kind kind,
                 int s0, int s1)
{
    const int L = g->L;
    if (kind == TL_FREQ) {
#pragma omp parallel for schedule(static)
        for (int i0 = 0; i0 < L; i0 += PB)
            for (int i = i0; i < L && i < i0 + PB; i++)
                for (int s = s0; s < s1; s++) pack_one(dst, nd, src, stride, off, g, kind, s0, s, i);
    } else {
#pragma omp parallel for schedule(static)
        for (int s = s0; s < s1; s++)
            for (int i = 0; i < L; i++) pack_one(dst, nd, src, stride, off, g, kind, s0, s, i);
    }
}

/* dst tokens (N, stride) channels off + a C .. <- sequences s0 .. s1-1 packed
 * in src[a], a < nd, skipping padding. */
static void unpack(float *dst, int stride, int off, const float *const *src, int nd, const geom *g, tlayer_kind kind,
                   int s0, int s1)
{
    const int L = g->L;
    if (kind == TL_FREQ) {
#pragma omp parallel for schedule(static)
        for (int i0 = 0; i0 < L; i0 += PB)
            for (int i = i0; i < L && i < i0 + PB; i++)
                for (int s = s0; s < s1; s++) unpack_one(dst, stride, off, src, nd, g, kind, s0, s, i);
    } else {
#pragma omp parallel for schedule(static)
        for (int s = s0; s < s1; s++)
            for (int i = 0; i < L; i++) unpack_one(dst, stride, off, src, nd, g, kind, s0, s, i);
    }
}

static int *make_groups(const geom *g, tlayer_kind kind)
{
    if (!is_window(kind)) return NULL;
    int *grp = tf_malloc(sizeof(int) * (size_t)g->Np, "attention groups");
    for (int s = 0; s < g->n; s++)
        for (int i = 0; i < g->L; i++) tok_of(g, kind, s, i, &grp[(size_t)s * g->L + i]);
    return grp;
}

int tlayer_rel_index(int i, int j, int w)
{
    int df = i / w - j / w, dt = i % w - j % w;
    return (df + w - 1) * (2 * w - 1) + (dt + w - 1);
}

/* (H, L, L) bias from the ((2w-1)^2, H) table. */
static float *make_bias(const float *table, const geom *g)
{
    const int L = g->L, H = g->H;
    float *b = tf_malloc(sizeof(float) * (size_t)H * L * L, "relative position bias");
    for (int h = 0; h < H; h++)
        for (int i = 0; i < L; i++)
            for (int j = 0; j < L; j++) b[((size_t)h * L + i) * L + j] = table[(size_t)tlayer_rel_index(i, j, g->w) * H + h];
    return b;
}

size_t tlayer_num_params(const tlayer_config *c)
{
    size_t C = (size_t)c->C, Hd = (size_t)c->hidden;
    size_t n = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + Hd * C + Hd + C * Hd + C;
    if (is_window(c->kind)) n += (size_t)(2 * c->window - 1) * (2 * c->window - 1) * c->heads;
    return n;
}

void tlayer_bind(tlayer_params *p, float *base, const tlayer_config *c)
{
    size_t C = (size_t)c->C, Hd = (size_t)c->hidden;
    float *x = base;
    p->ln1_g = x; x += C;
    p->ln1_b = x; x += C;
    p->qkv_w = x; x += 3 * C * C;
    p->qkv_b = x; x += 3 * C;
    p->proj_w = x; x += C * C;
    p->proj_b = x; x += C;
    if (is_window(c->kind)) {
        p->rel_bias = x;
        x += (size_t)(2 * c->window - 1) * (2 * c->window - 1) * c->heads;
    } else {
        p->rel_bias = NULL;
    }
    p->ln2_g = x; x += C;
    p->ln2_b = x; x += C;
    p->fc1_w = x; x += Hd * C;
    p->fc1_b = x; x += Hd;
    p->fc2_w = x; x += C * Hd;
    p->fc2_b = x;
}

size_t tlayer_act_size(const tlayer_config *c, int B, int F, int T)
{
    geom g = geom_of(c, B, F, T);
    return (size_t)g.N * g.C + (size_t)g.Np * g.H;
}

/* Work is done in fixed-size pieces (independent of the thread count, so
 * results are too): attention over chunks of sequences of about ATT_TOKENS
 * tokens (packed q, k, v, o and gradients exist only for one chunk), the
 * MLP over chunks of MLP_TOKENS tokens. */
#define ATT_TOKENS 65536
#define MLP_TOKENS 8192
static int att_tokens = ATT_TOKENS, mlp_tokens = MLP_TOKENS;

void tlayer_set_chunks(int att, int mlp)
{
    att_tokens = att > 0 ? att : ATT_TOKENS;
    mlp_tokens = mlp > 0 ? mlp : MLP_TOKENS;
}

static int seq_chunk(const geom *g)
{
    if (g->L <= 0) return 1;
    int c = att_tokens / g->L;
    return c < 1 ? 1 : c > g->n ? g->n : c;
}

static int64_t mlp_chunk(const geom *g) { return g->N < mlp_tokens ? g->N : mlp_tokens; }

/* Scratch layout (Nc = MLP chunk, Sc = sequence chunk x L tokens).
 * Forward: XN (N C) | MS (2 N) | QKV (3 N C) | OT (N C) | LSE (Np H) | union of
 *   { PQ PK PV PO (4 Sc C) } and { X2 (Nc C) | HB (Nc hidden) | T2 (Nc C) }.
 * Backward: DY1 (N C) | DOT (N C) | MS (2 N) | union of
 *   { Y1 X2 DX2 (3 Nc C) | HB G DG (3 Nc hidden) | MS2 (2 Nc) } and
 *   { XN (N C) | QKV (3 N C) | DXN (N C) | PQ PK PV PO PDO PDQ PDK PDV (8 Sc C) }. */
static size_t fwd_scratch(const geom *g, int hidden)
{
    size_t N = (size_t)g->N, C = (size_t)g->C, Nc = (size_t)mlp_chunk(g), Sc = (size_t)seq_chunk(g) * g->L;
    size_t a = 4 * Sc * C, b = Nc * (2 * C + (size_t)hidden);
    return N * C + 2 * N + 3 * N * C + N * C + (size_t)g->Np * g->H + (a > b ? a : b);
}

static size_t bwd_scratch(const geom *g, int hidden)
{
    size_t N = (size_t)g->N, C = (size_t)g->C, Nc = (size_t)mlp_chunk(g), Sc = (size_t)seq_chunk(g) * g->L;
    size_t a = 3 * Nc * C + 3 * Nc * (size_t)hidden + 2 * Nc;
    size_t b = 5 * N * C + 8 * Sc * C;
    return 2 * N * C + 2 * N + (a > b ? a : b);
}

size_t tlayer_scratch_size(const tlayer_config *c, int B, int F, int T)
{
    geom g = geom_of(c, B, F, T);
    size_t a = fwd_scratch(&g, c->hidden), b = bwd_scratch(&g, c->hidden);
    return a > b ? a : b;
}

static void add_to(float *y, const float *x, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

static void check_config(const tlayer_config *c)
{
    if (c->C <= 0 || c->heads <= 0 || c->C % c->heads || c->hidden <= 0)
        tf_die("tlayer: bad configuration C=%d heads=%d hidden=%d", c->C, c->heads, c->hidden);
    if (is_window(c->kind) && c->window < 1) tf_die("tlayer: bad window %d", c->window);
}

typedef struct {
    int *grp;
    float *bias;
    float scale;
} attn_ctx;

static attn_ctx ctx_make(const tlayer_params *p, const geom *g, tlayer_kind kind)
{
    attn_ctx a;
    a.grp = make_groups(g, kind);
    a.bias = is_window(kind) ? make_bias(p->rel_bias, g) : NULL;
    a.scale = (float)(1.0 / sqrt((double)g->D));
    return a;
}

static attn_problem ctx_problem(const attn_ctx *a, const geom *g, int s0, int s1)
{
    attn_problem ap = {s1 - s0, g->H, g->L, g->D, a->scale, a->bias, a->grp ? a->grp + (size_t)s0 * g->L : NULL};
    return ap;
}

void tlayer_forward(float *y, const float *x, const tlayer_params *p, const tlayer_config *c, int B, int F, int T,
                    float *act, float *scratch)
{
    check_config(c);
    geom g = geom_of(c, B, F, T);
    if (g.N == 0) return;
    const int64_t N = g.N;
    const int C = g.C, Hd = c->hidden, L = g.L, H = g.H;
    const size_t Sc = (size_t)seq_chunk(&g) * L;
    float *XN = scratch, *MS = XN + N * C, *QKV = MS + 2 * N, *OT = QKV + 3 * N * C, *LSE = OT + N * C;
    float *U = LSE + g.Np * H;
    if (act) {
        OT = act;
        LSE = act + N * C;
    }
    layernorm_forward(XN, MS, MS + N, x, p->ln1_g, p->ln1_b, N, C, LN_EPS);
    linear_forward(QKV, XN, p->qkv_w, p->qkv_b, N, C, 3 * C);
    float *PQ = U, *PK = PQ + Sc * C, *PV = PK + Sc * C, *PO = PV + Sc * C;
    attn_ctx ax = ctx_make(p, &g, c->kind);
    for (int s0 = 0; s0 < g.n; s0 += seq_chunk(&g)) {
        int s1 = s0 + seq_chunk(&g) < g.n ? s0 + seq_chunk(&g) : g.n;
        float *const pqkv[3] = {PQ, PK, PV};
        pack(pqkv, 3, QKV, 3 * C, 0, &g, c->kind, s0, s1);
        attn_problem ap = ctx_problem(&ax, &g, s0, s1);
        attn_forward(PO, LSE + (size_t)s0 * H * L, PQ, PK, PV, &ap);
        const float *const po[1] = {PO};
        unpack(OT, C, 0, po, 1, &g, c->kind, s0, s1);
    }
    free(ax.grp);
    free(ax.bias);
    linear_forward(y, OT, p->proj_w, p->proj_b, N, C, C);
    add_to(y, x, N * C);
    /* MLP, in chunks of tokens */
    const int64_t Nc = mlp_chunk(&g);
    float *X2 = U, *HB = X2 + Nc * C, *T2 = HB + Nc * Hd;
    for (int64_t t0 = 0; t0 < N; t0 += Nc) {
        int64_t n = N - t0 < Nc ? N - t0 : Nc;
        float *yc = y + t0 * C;
        layernorm_forward(X2, NULL, NULL, yc, p->ln2_g, p->ln2_b, n, C, LN_EPS);
        linear_forward(HB, X2, p->fc1_w, p->fc1_b, n, C, Hd);
        gelu_forward(HB, HB, n * Hd);
        linear_forward(T2, HB, p->fc2_w, p->fc2_b, n, Hd, C);
        add_to(yc, T2, n * C);
    }
}

void tlayer_backward(float *dx, tlayer_params *gr, const float *dy, const float *x, const tlayer_params *p,
                     const tlayer_config *c, int B, int F, int T, const float *act, float *scratch)
{
    check_config(c);
    geom g = geom_of(c, B, F, T);
    if (g.N == 0) return;
    const int64_t N = g.N;
    const int C = g.C, Hd = c->hidden, L = g.L, H = g.H;
    const size_t Sc = (size_t)seq_chunk(&g) * L;
    const float *OT = act, *LSE = act + N * C;
    float *DY1 = scratch, *DOT = DY1 + N * C, *MS = DOT + N * C, *U = MS + 2 * N;

    /* MLP half, in chunks of tokens: recompute y1 = x + proj(o), LN2, fc1, GELU. */
    const int64_t Nc = mlp_chunk(&g);
    float *Y1 = U, *X2 = Y1 + Nc * C, *DX2 = X2 + Nc * C, *HB = DX2 + Nc * C, *G = HB + Nc * Hd, *DG = G + Nc * Hd;
    float *M2 = DG + Nc * Hd;
    for (int64_t t0 = 0; t0 < N; t0 += Nc) {
        int64_t n = N - t0 < Nc ? N - t0 : Nc;
        const float *OTc = OT + t0 * C, *dyc = dy + t0 * C;
        float *DY1c = DY1 + t0 * C, *DOTc = DOT + t0 * C;
        linear_forward(Y1, OTc, p->proj_w, p->proj_b, n, C, C);
        add_to(Y1, x + t0 * C, n * C);
        layernorm_forward(X2, M2, M2 + n, Y1, p->ln2_g, p->ln2_b, n, C, LN_EPS);
        linear_forward(HB, X2, p->fc1_w, p->fc1_b, n, C, Hd);
        gelu_forward(G, HB, n * Hd);
        memset(DG, 0, sizeof(float) * (size_t)n * Hd);
        linear_backward(DG, gr->fc2_w, gr->fc2_b, dyc, G, p->fc2_w, n, Hd, C);
        memset(G, 0, sizeof(float) * (size_t)n * Hd);
        gelu_backward(G, DG, HB, n * Hd);
        memset(DX2, 0, sizeof(float) * (size_t)n * C);
        linear_backward(DX2, gr->fc1_w, gr->fc1_b, G, X2, p->fc1_w, n, C, Hd);
        memcpy(DY1c, dyc, sizeof(float) * (size_t)n * C);
        layernorm_backward(DY1c, gr->ln2_g, gr->ln2_b, DX2, Y1, M2, M2 + n, p->ln2_g, n, C);
        memset(DOTc, 0, sizeof(float) * (size_t)n * C);
        linear_backward(DOTc, gr->proj_w, gr->proj_b, DY1c, OTc, p->proj_w, n, C, C);
    }

    /* Attention half: recompute LN1, q k v; FlashAttention-2 backward per chunk of sequences. */
    float *XN = U, *QKV = XN + N * C, *DXN = QKV + 3 * N * C, *PQ = DXN + N * C, *PK = PQ + Sc * C;
    float *PV = PK + Sc * C, *PO = PV + Sc * C, *PDO = PO + Sc * C, *PDQ = PDO + Sc * C, *PDK = PDQ + Sc * C;
    float *PDV = PDK + Sc * C;
    layernorm_forward(XN, MS, MS + N, x, p->ln1_g, p->ln1_b, N, C, LN_EPS);
    linear_forward(QKV, XN, p->qkv_w, p->qkv_b, N, C, 3 * C);
    attn_ctx ax = ctx_make(p, &g, c->kind);
    float *dbias = ax.bias ? tf_calloc((size_t)H * L * L, sizeof(float), "bias gradient") : NULL;
    /* dQKV overwrites QKV: a chunk's q k v are packed before any of its
     * gradients are written, and no token belongs to two chunks. */
    float *DQKV = QKV;
    for (int s0 = 0; s0 < g.n; s0 += seq_chunk(&g)) {
        int s1 = s0 + seq_chunk(&g) < g.n ? s0 + seq_chunk(&g) : g.n;
        float *const pqkv[3] = {PQ, PK, PV}, *const po[1] = {PO}, *const pdo[1] = {PDO};
        pack(pqkv, 3, QKV, 3 * C, 0, &g, c->kind, s0, s1);
        pack(po, 1, OT, C, 0, &g, c->kind, s0, s1);
        pack(pdo, 1, DOT, C, 0, &g, c->kind, s0, s1);
        attn_problem ap = ctx_problem(&ax, &g, s0, s1);
        attn_backward(PDQ, PDK, PDV, dbias, PQ, PK, PV, PO, PDO, LSE + (size_t)s0 * H * L, &ap);
        const float *const pdqkv[3] = {PDQ, PDK, PDV};
        unpack(DQKV, 3 * C, 0, pdqkv, 3, &g, c->kind, s0, s1);
    }
    if (dbias && gr->rel_bias) {
        for (int h = 0; h < H; h++)
            for (int i = 0; i < L; i++)
                for (int j = 0; j < L; j++)
                    gr->rel_bias[(size_t)tlayer_rel_index(i, j, g.w) * H + h] += dbias[((size_t)h * L + i) * L + j];
    }
    free(ax.grp);
    free(ax.bias);
    free(dbias);
    memset(DXN, 0, sizeof(float) * (size_t)N * C);
    linear_backward(DXN, gr->qkv_w, gr->qkv_b, DQKV, XN, p->qkv_w, N, C, 3 * C);
    layernorm_backward(dx, gr->ln1_g, gr->ln1_b, DXN, x, MS, MS + N, p->ln1_g, N, C);
    if (dx) add_to(dx, DY1, N * C);
}
