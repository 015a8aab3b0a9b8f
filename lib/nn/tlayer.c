/* The TFSWA transformer layer: pre-norm MHSA + MLP over (B, F, T, C) tokens,
 * attention along time, frequency, windows or shifted windows.
 *
 * Tokens are gathered ("packed") per (sequence, head) directly into the
 * layout of attn_forward_t / attn_backward_t (lib/nn/attention.c): q and
 * dout (n, heads, L, D), k and v transposed (n, heads, D, Lk), in one pass;
 * the residual adds and the MLP's GELU are fused into the GEMMs
 * (linear_forward_res, linear_gelu_forward, linear_backward_set):
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
#include "nn/carve.h"
#include "nn/layers.h"
#include "nn/layers_impl.h"
#include "util/cli.h"

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

/* Copies between token rows and the packed sequences of one chunk of
 * sequences s0 .. s1-1 (ns = s1 - s0) in the layout of attention.h's
 * attn_forward_t / attn_backward_t, in one pass over the tokens:
 *   rows  (ns, H, L, D)   q, o, dout, dq: position i of (s, h) at ((s H + h) L + i) D
 *   keys  (ns, H, D, Lk)  k, v, dk, dv transposed: row (s H + h) D + d = s C + c
 *                         for channel c = h D + d, position i at column i;
 *                         Lk = attn_key_stride(L), zero for i >= L
 *   delta (ns, H, L)      rowsum(dout * o) per head, made while packing dout
 * Work goes in blocks of PB = 8 positions of one sequence: the key side is
 * an 8 x 8 transpose per 8 channels (whole vectors stored), the row side
 * runs of D floats. Padding tokens (window kinds) and positions past L pack
 * as zeros and unpack nowhere. Order: position-major for TL_FREQ (a
 * sequence's tokens lie T tokens apart, consecutive sequences' next to each
 * other), sequence-major for the others, so the token side is read
 * sequentially. */
#define PB 8

/* Static helpers pass 8-float vectors by value; without AVX GCC warns that
 * such an ABI differs from AVX builds, which cannot matter for functions
 * that are not exported. */
#if defined(__GNUC__) && !defined(__AVX__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline v8 ld8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void st8(float *p, v8 v) { memcpy(p, &v, sizeof v); }

/* r[k] <- column k of the 8 x 8 matrix whose rows are r[0..7]. */
static inline void transpose8(v8 r[8])
{
    const v8i lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
    const v8i a = {0, 1, 8, 9, 4, 5, 12, 13}, b = {2, 3, 10, 11, 6, 7, 14, 15};
    const v8i c0 = {0, 1, 2, 3, 8, 9, 10, 11}, c1 = {4, 5, 6, 7, 12, 13, 14, 15};
    v8 t0 = __builtin_shuffle(r[0], r[1], lo), t1 = __builtin_shuffle(r[0], r[1], hi);
    v8 t2 = __builtin_shuffle(r[2], r[3], lo), t3 = __builtin_shuffle(r[2], r[3], hi);
    v8 t4 = __builtin_shuffle(r[4], r[5], lo), t5 = __builtin_shuffle(r[4], r[5], hi);
    v8 t6 = __builtin_shuffle(r[6], r[7], lo), t7 = __builtin_shuffle(r[6], r[7], hi);
    v8 u0 = __builtin_shuffle(t0, t2, a), u1 = __builtin_shuffle(t0, t2, b);
    v8 u2 = __builtin_shuffle(t1, t3, a), u3 = __builtin_shuffle(t1, t3, b);
    v8 u4 = __builtin_shuffle(t4, t6, a), u5 = __builtin_shuffle(t4, t6, b);
    v8 u6 = __builtin_shuffle(t5, t7, a), u7 = __builtin_shuffle(t5, t7, b);
    r[0] = __builtin_shuffle(u0, u4, c0);
    r[1] = __builtin_shuffle(u1, u5, c0);
    r[2] = __builtin_shuffle(u2, u6, c0);
    r[3] = __builtin_shuffle(u3, u7, c0);
    r[4] = __builtin_shuffle(u0, u4, c1);
    r[5] = __builtin_shuffle(u1, u5, c1);
    r[6] = __builtin_shuffle(u2, u6, c1);
    r[7] = __builtin_shuffle(u3, u7, c1);
}

typedef struct {
    float *q, *k, *v;    /* pack: q rows, k v keys, from (N, 3C) qkv; unpack: dq, dk, dv into (N, 3C) dqkv */
    float *dout, *delta; /* pack (backward): dout rows and delta from (N, C) dot and ot */
    const float *qkv, *dot, *ot;
    float *dqkv;
    int Lk;
} pk_args;

/* n floats, n small: fixed-size copies for the head dimensions in use (no library call). */
static inline void cpyf(float *dst, const float *src, int n)
{
    switch (n) {
    case 4: memcpy(dst, src, 16); break;
    case 8: memcpy(dst, src, 32); break;
    case 16: memcpy(dst, src, 64); break;
    case 32: memcpy(dst, src, 128); break;
    default:
        for (int i = 0; i < n; i++)
            dst[i] = src[i];
    }
}

/* dst = gy (n floats), returns sum gy * o in order: unrolled for the head dimensions in use. */
static inline __attribute__((always_inline)) float dot_copy_n(float *dst, const float *gy, const float *o, const int n)
{
    float s = 0;
    for (int d = 0; d < n; d++) {
        dst[d] = gy[d];
        s += gy[d] * o[d];
    }
    return s;
}
static inline float dot_copy(float *dst, const float *gy, const float *o, int n)
{
    switch (n) {
    case 4: return dot_copy_n(dst, gy, o, 4);
    case 8: return dot_copy_n(dst, gy, o, 8);
    case 16: return dot_copy_n(dst, gy, o, 16);
    default: return dot_copy_n(dst, gy, o, n);
    }
}

static inline size_t row_at(const geom *g, int sl, int h, int i) { return (((size_t)sl * g->H + h) * g->L + i) * g->D; }

/* t[x] = token index of position i0 + x of sequence s (as tok_of), or -1 for
 * padding and positions >= L: the divisions once per block, not per token. */
static inline void tok_block(const geom *g, tlayer_kind kind, int s, int i0, int64_t t[PB])
{
    const int L = g->L;
    if (kind == TL_TIME) {
        for (int x = 0; x < PB; x++)
            t[x] = i0 + x < L ? (int64_t)s * g->T + i0 + x : -1;
        return;
    }
    if (kind == TL_FREQ) {
        const int64_t base = (int64_t)(s / g->T) * g->F * g->T + s % g->T;
        for (int x = 0; x < PB; x++)
            t[x] = i0 + x < L ? base + (int64_t)(i0 + x) * g->T : -1;
        return;
    }
    const int w = g->w, wt = s % g->nWt, r = s / g->nWt, wf = r % g->nWf, b = r / g->nWf;
    int a = i0 / w, c = i0 % w;
    for (int x = 0; x < PB; x++) {
        t[x] = -1;
        if (i0 + x < L) {
            int f = wf * w + a + g->sh, tt = wt * w + c + g->sh;
            if (f >= g->Fp)
                f -= g->Fp;
            if (tt >= g->Tp)
                tt -= g->Tp;
            if (f < g->F && tt < g->T)
                t[x] = ((int64_t)b * g->F + f) * g->T + tt;
        }
        if (++c == w) {
            c = 0;
            a++;
        }
    }
}

/* keys (ns C rows of Lk) <-> token channels off .. off + C - 1 of rows tok[0..7] (NULL: zero / skipped). */
static inline void keys_pack(float *kt, int Lk, int C, int sl, int i0, const float *const tok[PB], int off)
{
    float *base = kt + (size_t)sl * C * Lk + i0;
    int c = 0;
    if (i0 + PB <= Lk) {
        const v8 z = {0};
        for (; c + 8 <= C; c += 8) {
            v8 r[8];
            for (int x = 0; x < 8; x++)
                r[x] = tok[x] ? ld8(tok[x] + off + c) : z;
            transpose8(r);
            for (int x = 0; x < 8; x++)
                st8(base + (size_t)(c + x) * Lk, r[x]);
        }
    }
    for (; c < C; c++)
        for (int x = 0; x < PB && i0 + x < Lk; x++)
            base[(size_t)c * Lk + x] = tok[x] ? tok[x][off + c] : 0.0f;
}

static inline void keys_unpack(const float *kt, int Lk, int C, int sl, int i0, float *const tok[PB], int off)
{
    const float *base = kt + (size_t)sl * C * Lk + i0;
    int c = 0;
    if (i0 + PB <= Lk) {
        for (; c + 8 <= C; c += 8) {
            v8 r[8];
            for (int x = 0; x < 8; x++)
                r[x] = ld8(base + (size_t)(c + x) * Lk);
            transpose8(r);
            for (int x = 0; x < 8; x++)
                if (tok[x])
                    st8(tok[x] + off + c, r[x]);
        }
    }
    for (; c < C; c++)
        for (int x = 0; x < PB; x++)
            if (tok[x])
                tok[x][off + c] = base[(size_t)c * Lk + x];
}

/* One block: positions i0 .. i0 + PB - 1 of sequence s. dir 0 packs
 * (q k v, and dout + delta when a->dout), dir 1 unpacks dq dk dv. */
static void pk_block(const pk_args *a, int dir, const geom *g, tlayer_kind kind, int s0, int s, int i0)
{
    const int H = g->H, D = g->D, C = g->C, L = g->L, sl = s - s0;
    int64_t t[PB];
    tok_block(g, kind, s, i0, t);
    if (dir) {
        float *tok[PB];
        for (int x = 0; x < PB; x++)
            tok[x] = t[x] < 0 ? NULL : a->dqkv + t[x] * 3 * C;
        for (int x = 0; x < PB; x++)
            if (tok[x])
                for (int h = 0; h < H; h++)
                    cpyf(tok[x] + h * D, a->q + row_at(g, sl, h, i0 + x), D);
        keys_unpack(a->k, a->Lk, C, sl, i0, tok, C);
        keys_unpack(a->v, a->Lk, C, sl, i0, tok, 2 * C);
        return;
    }
    const float *tok[PB];
    for (int x = 0; x < PB; x++)
        tok[x] = t[x] < 0 ? NULL : a->qkv + t[x] * 3 * C;
    for (int x = 0; x < PB && i0 + x < L; x++)
        for (int h = 0; h < H; h++) {
            float *dst = a->q + row_at(g, sl, h, i0 + x);
            if (tok[x])
                cpyf(dst, tok[x] + h * D, D);
            else
                memset(dst, 0, sizeof(float) * D);
        }
    keys_pack(a->k, a->Lk, C, sl, i0, tok, C);
    keys_pack(a->v, a->Lk, C, sl, i0, tok, 2 * C);
    if (a->dout)
        for (int x = 0; x < PB && i0 + x < L; x++)
            for (int h = 0; h < H; h++) {
                float *dr = a->dout + row_at(g, sl, h, i0 + x), s = 0;
                if (t[x] >= 0) {
                    s = dot_copy(dr, a->dot + t[x] * C + h * D, a->ot + t[x] * C + h * D, D);
                } else {
                    memset(dr, 0, sizeof(float) * D);
                }
                a->delta[((size_t)sl * H + h) * L + i0 + x] = s;
            }
}

static void pk_run(const pk_args *a, int dir, const geom *g, tlayer_kind kind, int s0, int s1)
{
    const int Lk = a->Lk;
    const int nb = (Lk + PB - 1) / PB; /* blocks cover the key padding too */
    if (kind == TL_FREQ) {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < nb; b++)
            for (int s = s0; s < s1; s++)
                pk_block(a, dir, g, kind, s0, s, b * PB);
    } else {
#pragma omp parallel for schedule(static)
        for (int s = s0; s < s1; s++)
            for (int b = 0; b < nb; b++)
                pk_block(a, dir, g, kind, s0, s, b * PB);
    }
}

/* dst tokens (N, C) <- rows src (ns, H, L, D) of sequences s0 .. s1-1, skipping padding. */
static void unpack_rows(float *dst, const float *src, const geom *g, tlayer_kind kind, int s0, int s1)
{
    const int L = g->L, H = g->H, D = g->D, C = g->C, nb = (L + PB - 1) / PB;
#define UNPACK_BLOCK(s, b)                                                                                             \
    do {                                                                                                               \
        int64_t t_[PB];                                                                                                \
        tok_block(g, kind, s, (b)*PB, t_);                                                                             \
        for (int x = 0; x < PB; x++)                                                                                   \
            if (t_[x] >= 0)                                                                                            \
                for (int h = 0; h < H; h++)                                                                            \
                    cpyf(dst + t_[x] * C + h * D, src + row_at(g, (s)-s0, h, (b)*PB + x), D);                          \
    } while (0)
    if (kind == TL_FREQ) {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < nb; b++)
            for (int s = s0; s < s1; s++)
                UNPACK_BLOCK(s, b);
    } else {
#pragma omp parallel for schedule(static)
        for (int s = s0; s < s1; s++)
            for (int b = 0; b < nb; b++)
                UNPACK_BLOCK(s, b);
    }
#undef UNPACK_BLOCK
}

static int *make_groups(const geom *g, tlayer_kind kind)
{
    if (!is_window(kind))
        return NULL;
    int *grp = tf_malloc(sizeof(int) * (size_t)g->Np, "attention groups");
    for (int s = 0; s < g->n; s++)
        for (int i = 0; i < g->L; i++)
            tok_of(g, kind, s, i, &grp[(size_t)s * g->L + i]);
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
            for (int j = 0; j < L; j++)
                b[((size_t)h * L + i) * L + j] = table[(size_t)tlayer_rel_index(i, j, g->w) * H + h];
    return b;
}

size_t tlayer_num_params(const tlayer_config *c)
{
    size_t C = (size_t)c->C, Hd = (size_t)c->hidden;
    size_t n = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + Hd * C + Hd + C * Hd + C;
    if (is_window(c->kind))
        n += (size_t)(2 * c->window - 1) * (2 * c->window - 1) * c->heads;
    return n;
}

void tlayer_bind(tlayer_params *p, float *base, const tlayer_config *c)
{
    size_t C = (size_t)c->C, Hd = (size_t)c->hidden;
    float *x = base;
    p->ln1_g = x;
    x += C;
    p->ln1_b = x;
    x += C;
    p->qkv_w = x;
    x += 3 * C * C;
    p->qkv_b = x;
    x += 3 * C;
    p->proj_w = x;
    x += C * C;
    p->proj_b = x;
    x += C;
    if (is_window(c->kind)) {
        p->rel_bias = x;
        x += (size_t)(2 * c->window - 1) * (2 * c->window - 1) * c->heads;
    } else {
        p->rel_bias = NULL;
    }
    p->ln2_g = x;
    x += C;
    p->ln2_b = x;
    x += C;
    p->fc1_w = x;
    x += Hd * C;
    p->fc1_b = x;
    x += Hd;
    p->fc2_w = x;
    x += C * Hd;
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
 * MLP over chunks of MLP_TOKENS tokens. 16384 attention tokens keep a
 * chunk's packed arrays (about 0.5 MB each at C = 32) in the caches between
 * the gather, the kernels and the scatter, and still give every thread
 * several (sequence, head) tasks per chunk (15 x heads for L = 1025). */
#define ATT_TOKENS 16384
#define MLP_TOKENS 8192

void tlayer_set_chunks(int att, int mlp)
{
    nn_tlayer_att_tokens = att > 0 ? att : ATT_TOKENS;
    nn_tlayer_mlp_tokens = mlp > 0 ? mlp : MLP_TOKENS;
}

static int seq_chunk(const geom *g)
{
    if (g->L <= 0)
        return 1;
    int c = (nn_tlayer_att_tokens ? nn_tlayer_att_tokens : ATT_TOKENS) / g->L;
    return c < 1 ? 1 : c > g->n ? g->n : c;
}

static int64_t mlp_chunk(const geom *g)
{
    int64_t m = nn_tlayer_mlp_tokens ? nn_tlayer_mlp_tokens : MLP_TOKENS;
    return g->N < m ? g->N : m;
}

/* The scratch of a call: one layout per pass, carved from one definition
 * (lib/nn/carve.h) for both tlayer_scratch_size and the pointers. Attention
 * runs over chunks of whole sequences (Sc = sequences per chunk x L tokens;
 * their keys padded to Sk = sequences per chunk x attn_key_stride(L)), the
 * MLP over chunks of Nc tokens; the two chunks' buffers share memory. */
typedef struct {
    float *x_norm;   /* (N, C) LayerNorm 1 of x */
    float *qkv;      /* (N, 3C) q | k | v of each token */
    float *attn_out; /* (N, C) attention output before proj (inference; training writes it to act) */
    /* one attention chunk */
    float *q_rows, *o_rows; /* (Sc, C) packed as rows (ns, H, L, D) */
    float *k_cols, *v_cols; /* (Sk, C) packed as keys (ns, H, D, Lk) */
    /* one MLP chunk */
    float *x2_norm; /* (Nc, C) LayerNorm 2 of the chunk */
    float *hidden;  /* (Nc, hidden) GELU(fc1) */
} fwd_scratch;

typedef struct {
    float *d_y1;                /* (N, C) gradient at y1 = x + proj(o), the residual between the halves */
    float *d_attn_out;          /* (N, C) gradient at o */
    float *ln1_mean, *ln1_rstd; /* (N) LayerNorm 1 statistics */
    /* one MLP chunk (recomputed from x and o) */
    float *y1;                  /* (Nc, C) x + proj(o) */
    float *x2_norm;             /* (Nc, C) LayerNorm 2 of y1 */
    float *d_x2_norm;           /* (Nc, C) gradient at x2_norm */
    float *fc1_out;             /* (Nc, hidden) fc1 output before GELU */
    float *hidden;              /* (Nc, hidden) GELU(fc1_out), then the gradient at fc1_out */
    float *d_hidden;            /* (Nc, hidden) gradient at the GELU output */
    float *ln2_mean, *ln2_rstd; /* (Nc) LayerNorm 2 statistics */
    /* the attention half (recomputed from x) */
    float *x_norm;                              /* (N, C) LayerNorm 1 of x */
    float *qkv;                                 /* (N, 3C) q | k | v, then overwritten by their gradients */
    float *d_x_norm;                            /* (N, C) gradient at x_norm */
    float *q_rows, *dout_rows, *dq_rows;        /* (Sc, C) packed as rows (ns, H, L, D) */
    float *k_cols, *v_cols, *dk_cols, *dv_cols; /* (Sk, C) packed as keys (ns, H, D, Lk) */
    float *delta_rows;                          /* (Sc, H) rowsum(dout o) per (sequence, head, position) */
} bwd_scratch;

static void fwd_layout(fwd_scratch *s, carve *c, const geom *g, int hidden)
{
    const size_t N = (size_t)g->N, C = (size_t)g->C, Nc = (size_t)mlp_chunk(g);
    const size_t Sc = (size_t)seq_chunk(g) * g->L, Sk = (size_t)seq_chunk(g) * attn_key_stride(g->L);
    s->x_norm = carve_floats(c, N * C);
    s->qkv = carve_floats(c, 3 * N * C);
    s->attn_out = carve_floats(c, N * C);
    carve_union u = carve_union_begin(c);
    s->q_rows = carve_floats(c, Sc * C);
    s->o_rows = carve_floats(c, Sc * C);
    s->k_cols = carve_floats(c, Sk * C);
    s->v_cols = carve_floats(c, Sk * C);
    carve_union_next(c, &u);
    s->x2_norm = carve_floats(c, Nc * C);
    s->hidden = carve_floats(c, Nc * (size_t)hidden);
    carve_union_end(c, &u);
}

static void bwd_layout(bwd_scratch *s, carve *c, const geom *g, int hidden)
{
    const size_t N = (size_t)g->N, C = (size_t)g->C, H = (size_t)g->H, Nc = (size_t)mlp_chunk(g);
    const size_t Sc = (size_t)seq_chunk(g) * g->L, Sk = (size_t)seq_chunk(g) * attn_key_stride(g->L);
    s->d_y1 = carve_floats(c, N * C);
    s->d_attn_out = carve_floats(c, N * C);
    s->ln1_mean = carve_floats(c, N);
    s->ln1_rstd = carve_floats(c, N);
    carve_union u = carve_union_begin(c);
    s->y1 = carve_floats(c, Nc * C);
    s->x2_norm = carve_floats(c, Nc * C);
    s->d_x2_norm = carve_floats(c, Nc * C);
    s->fc1_out = carve_floats(c, Nc * (size_t)hidden);
    s->hidden = carve_floats(c, Nc * (size_t)hidden);
    s->d_hidden = carve_floats(c, Nc * (size_t)hidden);
    s->ln2_mean = carve_floats(c, Nc);
    s->ln2_rstd = carve_floats(c, Nc);
    carve_union_next(c, &u);
    s->x_norm = carve_floats(c, N * C);
    s->qkv = carve_floats(c, 3 * N * C);
    s->d_x_norm = carve_floats(c, N * C);
    s->q_rows = carve_floats(c, Sc * C);
    s->dout_rows = carve_floats(c, Sc * C);
    s->dq_rows = carve_floats(c, Sc * C);
    s->k_cols = carve_floats(c, Sk * C);
    s->v_cols = carve_floats(c, Sk * C);
    s->dk_cols = carve_floats(c, Sk * C);
    s->dv_cols = carve_floats(c, Sk * C);
    s->delta_rows = carve_floats(c, Sc * H);
    carve_union_end(c, &u);
}

size_t tlayer_scratch_size(const tlayer_config *c, int B, int F, int T)
{
    geom g = geom_of(c, B, F, T);
    fwd_scratch f;
    bwd_scratch b;
    carve cf = carve_begin(NULL), cb = carve_begin(NULL);
    fwd_layout(&f, &cf, &g, c->hidden);
    bwd_layout(&b, &cb, &g, c->hidden);
    size_t nf = carve_floats_total(&cf), nb = carve_floats_total(&cb);
    return nf > nb ? nf : nb;
}

static void add_to(float *y, const float *x, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}

static void check_config(const tlayer_config *c)
{
    if (c->C <= 0 || c->heads <= 0 || c->C % c->heads || c->hidden <= 0)
        tf_die("tlayer: bad configuration C=%d heads=%d hidden=%d", c->C, c->heads, c->hidden);
    if (is_window(c->kind) && c->window < 1)
        tf_die("tlayer: bad window %d", c->window);
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

/* y = x + proj(attention(LN1 x)): o (N, C) into attn_out and, when lse is
 * not NULL (training), the per-row log-sum-exp; one chunk of sequences at a
 * time through the packed arrays of s. */
static void attention_forward(float *y, float *attn_out, float *lse, const float *x, const tlayer_params *p,
                              const tlayer_config *c, const geom *g, const fwd_scratch *s)
{
    const int64_t N = g->N;
    const int C = g->C, L = g->L, H = g->H;
    layernorm_forward(s->x_norm, NULL, NULL, x, p->ln1_g, p->ln1_b, N, C, NN_LAYERNORM_EPS);
    linear_forward(s->qkv, s->x_norm, p->qkv_w, p->qkv_b, N, C, 3 * C);
    attn_ctx ax = ctx_make(p, g, c->kind);
    for (int s0 = 0; s0 < g->n; s0 += seq_chunk(g)) {
        int s1 = s0 + seq_chunk(g) < g->n ? s0 + seq_chunk(g) : g->n;
        pk_args pa = {.q = s->q_rows, .k = s->k_cols, .v = s->v_cols, .qkv = s->qkv, .Lk = attn_key_stride(L)};
        pk_run(&pa, 0, g, c->kind, s0, s1);
        attn_problem ap = ctx_problem(&ax, g, s0, s1);
        attn_forward_t(s->o_rows, lse ? lse + (size_t)s0 * H * L : NULL, s->q_rows, s->k_cols, s->v_cols, &ap);
        unpack_rows(attn_out, s->o_rows, g, c->kind, s0, s1);
    }
    free(ax.grp);
    free(ax.bias);
    linear_forward_res(y, x, attn_out, p->proj_w, p->proj_b, N, C, C);
}

/* y += fc2(GELU(fc1(LN2 y))), in chunks of tokens. */
static void mlp_forward(float *y, const tlayer_params *p, int hidden, const geom *g, const fwd_scratch *s)
{
    const int64_t N = g->N, Nc = mlp_chunk(g);
    const int C = g->C;
    for (int64_t t0 = 0; t0 < N; t0 += Nc) {
        int64_t n = N - t0 < Nc ? N - t0 : Nc;
        float *yc = y + t0 * C;
        layernorm_forward(s->x2_norm, NULL, NULL, yc, p->ln2_g, p->ln2_b, n, C, NN_LAYERNORM_EPS);
        linear_gelu_forward(s->hidden, NULL, s->x2_norm, p->fc1_w, p->fc1_b, n, C, hidden);
        linear_forward_res(yc, yc, s->hidden, p->fc2_w, p->fc2_b, n, hidden, C);
    }
}

void tlayer_forward(float *y, const float *x, const tlayer_params *p, const tlayer_config *c, int B, int F, int T,
                    float *act, float *scratch)
{
    check_config(c);
    geom g = geom_of(c, B, F, T);
    if (g.N == 0)
        return;
    fwd_scratch s;
    carve cs = carve_begin(scratch);
    fwd_layout(&s, &cs, &g, c->hidden);
    /* training saves o and the log-sum-exp in act (tlayer.h); inference needs neither after the call */
    float *attn_out = act ? act : s.attn_out, *lse = act ? act + g.N * g.C : NULL;
    attention_forward(y, attn_out, lse, x, p, c, &g, &s);
    mlp_forward(y, p, c->hidden, &g, &s);
}

/* The MLP half backward, in chunks of tokens: recomputes y1 = x + proj(o),
 * LN2, fc1 and GELU, and from dy gets the MLP's and proj's gradients, d_y1
 * (the gradient at y1) and d_attn_out (at o). */
static void mlp_backward(tlayer_params *gr, const float *dy, const float *x, const float *attn_out,
                         const tlayer_params *p, int hidden, const geom *g, const bwd_scratch *s)
{
    const int64_t N = g->N, Nc = mlp_chunk(g);
    const int C = g->C;
    for (int64_t t0 = 0; t0 < N; t0 += Nc) {
        int64_t n = N - t0 < Nc ? N - t0 : Nc;
        const float *oc = attn_out + t0 * C, *dyc = dy + t0 * C;
        float *d_y1 = s->d_y1 + t0 * C, *d_attn_out = s->d_attn_out + t0 * C;
        linear_forward_res(s->y1, x + t0 * C, oc, p->proj_w, p->proj_b, n, C, C);
        layernorm_forward(s->x2_norm, s->ln2_mean, s->ln2_rstd, s->y1, p->ln2_g, p->ln2_b, n, C, NN_LAYERNORM_EPS);
        linear_gelu_forward(s->hidden, s->fc1_out, s->x2_norm, p->fc1_w, p->fc1_b, n, C, hidden);
        linear_backward_set(s->d_hidden, gr->fc2_w, gr->fc2_b, dyc, s->hidden, p->fc2_w, n, hidden, C);
        gelu_backward_set(s->hidden, s->d_hidden, s->fc1_out, n * hidden);
        linear_backward_set(s->d_x2_norm, gr->fc1_w, gr->fc1_b, s->hidden, s->x2_norm, p->fc1_w, n, C, hidden);
        memcpy(d_y1, dyc, sizeof(float) * (size_t)n * C);
        layernorm_backward(d_y1, gr->ln2_g, gr->ln2_b, s->d_x2_norm, s->y1, s->ln2_mean, s->ln2_rstd, p->ln2_g, n, C);
        linear_backward_set(d_attn_out, gr->proj_w, gr->proj_b, d_y1, oc, p->proj_w, n, C, C);
    }
}

/* gr->rel_bias += the (H, L, L) bias gradient gathered into the table. */
static void rel_bias_backward(float *table_grad, const float *dbias, const geom *g)
{
    const int H = g->H, L = g->L;
    for (int h = 0; h < H; h++)
        for (int i = 0; i < L; i++)
            for (int j = 0; j < L; j++)
                table_grad[(size_t)tlayer_rel_index(i, j, g->w) * H + h] += dbias[((size_t)h * L + i) * L + j];
}

/* The attention half backward: recomputes LN1 and q k v, then the
 * FlashAttention-2 backward per chunk of sequences from d_attn_out; dx
 * (may be NULL) += the gradient through LN1. */
static void attention_backward(float *dx, tlayer_params *gr, const float *x, const float *attn_out, const float *lse,
                               const tlayer_params *p, const tlayer_config *c, const geom *g, const bwd_scratch *s)
{
    const int64_t N = g->N;
    const int C = g->C, L = g->L, H = g->H;
    layernorm_forward(s->x_norm, s->ln1_mean, s->ln1_rstd, x, p->ln1_g, p->ln1_b, N, C, NN_LAYERNORM_EPS);
    linear_forward(s->qkv, s->x_norm, p->qkv_w, p->qkv_b, N, C, 3 * C);
    attn_ctx ax = ctx_make(p, g, c->kind);
    float *dbias = ax.bias ? tf_calloc((size_t)H * L * L, sizeof(float), "bias gradient") : NULL;
    /* dqkv overwrites qkv: a chunk's q k v are packed before any of its
     * gradients are written, and no token belongs to two chunks. */
    float *dqkv = s->qkv;
    for (int s0 = 0; s0 < g->n; s0 += seq_chunk(g)) {
        int s1 = s0 + seq_chunk(g) < g->n ? s0 + seq_chunk(g) : g->n;
        pk_args pa = {.q = s->q_rows,
                      .k = s->k_cols,
                      .v = s->v_cols,
                      .dout = s->dout_rows,
                      .delta = s->delta_rows,
                      .qkv = s->qkv,
                      .dot = s->d_attn_out,
                      .ot = attn_out,
                      .Lk = attn_key_stride(L)};
        pk_run(&pa, 0, g, c->kind, s0, s1);
        attn_problem ap = ctx_problem(&ax, g, s0, s1);
        attn_backward_t(s->dq_rows, s->dk_cols, s->dv_cols, dbias, s->q_rows, s->k_cols, s->v_cols, s->dout_rows,
                        s->delta_rows, lse + (size_t)s0 * H * L, &ap);
        pk_args pu = {.q = s->dq_rows, .k = s->dk_cols, .v = s->dv_cols, .dqkv = dqkv, .Lk = attn_key_stride(L)};
        pk_run(&pu, 1, g, c->kind, s0, s1);
    }
    if (dbias && gr->rel_bias)
        rel_bias_backward(gr->rel_bias, dbias, g);
    free(ax.grp);
    free(ax.bias);
    free(dbias);
    linear_backward_set(s->d_x_norm, gr->qkv_w, gr->qkv_b, dqkv, s->x_norm, p->qkv_w, N, C, 3 * C);
    layernorm_backward(dx, gr->ln1_g, gr->ln1_b, s->d_x_norm, x, s->ln1_mean, s->ln1_rstd, p->ln1_g, N, C);
}

void tlayer_backward(float *dx, tlayer_params *gr, const float *dy, const float *x, const tlayer_params *p,
                     const tlayer_config *c, int B, int F, int T, const float *act, float *scratch)
{
    check_config(c);
    geom g = geom_of(c, B, F, T);
    if (g.N == 0)
        return;
    bwd_scratch s;
    carve cs = carve_begin(scratch);
    bwd_layout(&s, &cs, &g, c->hidden);
    const float *attn_out = act, *lse = act + g.N * g.C; /* tlayer.h's act */
    mlp_backward(gr, dy, x, attn_out, p, c->hidden, &g, &s);
    attention_backward(dx, gr, x, attn_out, lse, p, c, &g, &s);
    if (dx)
        add_to(dx, s.d_y1, g.N * g.C);
}
