/* Tiled attention with an online softmax (FlashAttention-2 forward and
 * backward), vectorised along keys with GCC vector extensions: 16 lanes
 * with AVX-512, 8 with AVX/AVX2, else 4 (SSE2, NEON; any target compiles).
 *
 * The kernels read K and V transposed, (D, Lk) per (sequence, head) with Lk
 * = L rounded up to the vector width (attn_forward_t / attn_backward_t take
 * them so, written directly by the caller's gather; attn_forward /
 * attn_backward transpose first), so that one vector holds one channel
 * of VL consecutive keys: scores, probabilities and their gradients are then
 * computed VL keys at a time whatever the head dimension (4..64), and the
 * only horizontal reductions happen once per block of BR query rows and
 * key block. Scores are kept in base 2 (log2 e folded into the broadcast q
 * and the bias; lse is converted back), so the softmax's exponentials are
 * 2^x with an exact range reduction and a degree-5 polynomial (relative
 * error < 2.5e-7; the softmax's cost for small heads), masked only on the
 * key vectors that hold masked keys.
 * Forward: for each block of BR rows, key blocks of at most BK keys (the
 * sequence split evenly): scores and row maxima (pass 1), then p = exp(s - m),
 * the rescaled running sums and P V (one fused pass per row for D <= 8;
 * p in place, then P V two channels at a time, for larger heads).
 * Backward: one pass per block of rows over all keys: p = exp(s - lse),
 * dP = dO V^T, dS = p (dP - rowsum(dO o)), dV += P^T dO, dK += dS^T q scale,
 * dQ += dS K scale (and dbias += dS); rowsum(dO o) (delta) comes from the
 * caller, dK and dV accumulate in aligned per-thread rows copied out once.
 */
#include "nn/attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

#include "nn/carve.h"
#include "util/cli.h"

/* -std=c11 turns floating-point contraction off; the kernels want fused
 * multiply-adds (one rounding instead of two, twice the throughput). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#if defined(__AVX512F__)
#define VL 16
#elif defined(__AVX__)
#define VL 8
#else
#define VL 4 /* SSE2, NEON, or scalar code from the compiler */
#endif
#define BR 4      /* query rows per block */
#define BK 1024   /* most keys per block in the forward pass (multiple of VL); blocks split Lp evenly */
#define NCHUNK 16 /* fixed chunks of sequences for the deterministic bias-gradient reduction */

typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));

/* A broadcast (not (vf){0} + x, which costs an addition: -0 + 0 is +0). */
#if VL == 16 && defined(__AVX512F__)
static inline vf vsplat(float x) { return (vf)_mm512_set1_ps(x); }
#elif VL == 8 && defined(__AVX__)
static inline vf vsplat(float x) { return (vf)_mm256_set1_ps(x); }
#else
static inline vf vsplat(float x)
{
    vf v = {0};
    for (int i = 0; i < VL; i++)
        v[i] = x;
    return v;
}
#endif
static inline vf vsel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
#if VL == 16 && defined(__AVX512F__)
static inline vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
#elif VL == 8 && defined(__AVX__)
static inline vf vmax(vf a, vf b) { return (vf)_mm256_max_ps((__m256)a, (__m256)b); }
#else
static inline vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
#endif
#if VL == 8 && defined(__AVX__)
static inline float hsum(vf a)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128((__m256)a), _mm256_extractf128_ps((__m256)a, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}
#else
static inline float hsum(vf a)
{
    float s = 0;
    for (int i = 0; i < VL; i++)
        s += a[i];
    return s;
}
#endif
static inline float hmax(vf a)
{
    float s = a[0];
    for (int i = 1; i < VL; i++)
        s = a[i] > s ? a[i] : s;
    return s;
}

typedef uint32_t vu __attribute__((vector_size(VL * 4)));

/* exp(x) for x in [-87, 88] (callers clamp): Cody-Waite reduction x = n ln2 + f,
 * |f| <= ln2 / 2, a degree-5 minimax polynomial for e^f (relative error 9e-8,
 * 1.6e-7 with float rounding; constant term exactly 1 so exp(0) = 1)
 * evaluated by Estrin's scheme (short dependency chain: the kernels are
 * latency bound), and 2^n added into the exponent bits: n << 23 is the
 * rounding constant's bits shifted, as 1.5 * 2^23 has no bits below 2^22. */
static inline vf vexp_core(vf xc)
{
    vf t = xc * 1.44269504088896341f + 12582912.0f; /* round to nearest via 1.5 * 2^23 */
    vf nf = t - 12582912.0f;
    vf f = xc - nf * 0.693359375f;
    f = f - nf * -2.12194440e-4f;
    vf f2 = f * f;
    vf p01 = f * 9.999997020e-01f + 1.0f;
    vf p23 = f * 1.666763574e-01f + 4.999915063e-01f;
    vf p45 = f * 8.290302940e-03f + 4.189792275e-02f;
    vf p = (p45 * f2 + p23) * f2 + p01;
    return (vf)((vu)p + ((vu)t << 23));
}

/* exp(x), 0 below -87 (and for -inf), x clamped to 88 above. */
static inline vf vexp(vf x)
{
    vi keep = x >= -87.0f;
    vf xc = vmax(vsel(x < 88.0f, x, vsplat(88.0f)), vsplat(-87.0f));
    return (vf)((vi)vexp_core(xc) & keep);
}

/* The kernels work in base 2: scores are scaled by log2(e) (folded into the
 * broadcast q and the bias), so a softmax weight is 2^x with x = s - m <= 0,
 * whose reduction x = n + f, |f| <= 1/2, is exact (no Cody-Waite steps):
 * 2^f by a degree-5 polynomial (relative error 9e-8, 2.0e-7 with float
 * rounding; constant term exactly 1), Estrin's scheme, 2^n added into the
 * exponent bits. Three fewer multiply-adds per vector than vexp. x is
 * clamped to -125 (2^-125 ~ 2.4e-38 instead of 0 below: negligible beside
 * the row maximum's 1); vexp2_m gives exact zeros where s is -inf. */
#define LOG2E 1.4426950408889634
#define LN2 0.6931471805599453
static inline vf vexp2_s(vf x)
{
    vf xc = vmax(x, vsplat(-125.0f));
    vf t = xc + 12582912.0f; /* round to nearest via 1.5 * 2^23 */
    vf f = xc - (t - 12582912.0f);
    vf f2 = f * f;
    vf p01 = f * 6.931470037e-01f + 1.0f;
    vf p23 = f * 5.550726131e-02f + 2.402224094e-01f;
    vf p45 = f * 1.326711732e-03f + 9.671593085e-03f;
    vf p = (p45 * f2 + p23) * f2 + p01;
    return (vf)((vu)p + ((vu)t << 23));
}
static inline vf vexp2_m(vf x, vf s) { return (vf)((vi)vexp2_s(x) & (s > -INFINITY)); }

void attn_exp(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL) {
        vf a;
        memcpy(&a, x + i, sizeof a);
        a = vexp(a);
        memcpy(y + i, &a, sizeof a);
    }
    if (i < n) {
        vf a = vsplat(0);
        for (size_t j = i; j < n; j++)
            a[j - i] = x[j];
        a = vexp(a);
        for (size_t j = i; j < n; j++)
            y[j] = a[j - i];
    }
}

/* Unaligned vector loads and stores (the packed arrays belong to callers). */
static inline vf ld(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void st(float *p, vf v) { memcpy(p, &v, sizeof v); }

static size_t rup(size_t a, size_t b) { return (a + b - 1) / b * b; }

int attn_key_stride(int L) { return (int)rup((size_t)(L > 0 ? L : 0), VL); }

void attn_exp2(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        st(y + i, vexp2_s(ld(x + i)));
    if (i < n) {
        vf a = vsplat(0);
        for (size_t j = i; j < n; j++)
            a[j - i] = x[j];
        a = vexp2_s(a);
        for (size_t j = i; j < n; j++)
            y[j] = a[j - i];
    }
}

/* ---- per-thread workspace (one allocation: ws_layout) ---- */
typedef struct {
    int L, D, Lk, Lr;
    float *rowv;      /* (Lr): Di */
    float *rowl;      /* (Lr): lse */
    int *kg, *qg;     /* (Lk), (Lr) */
    const int *kg_of; /* the group row kg/qg were made from (forward cache) */
    int kg_valid;
    float *S;         /* (BR, BK) */
    float *acc;       /* (BR, D, VL) vector accumulators */
    vf *qb, *q2, *ob; /* (BR, D) broadcast q (scaled; q2 also by log2 e) and dout of one block of rows */
    float *dkT, *dvT; /* (D, Lk) aligned gradient accumulators of the backward */
    float *dS;        /* (BR, Lk) score gradients of one block of rows (backward) */
    float *bp;        /* (Lr, Lk) padded bias of one head */
    float *dB;        /* (Lr, Lk) bias gradient of one head */
    int uniform;      /* all tokens of the sequence in one group */
    void *mem;        /* the arrays above */
} ws_t;

/* The workspace's arrays, each 64-byte aligned (lib/nn/carve.h). */
static void ws_layout(ws_t *w, carve *c, int want_bias, int want_db)
{
    const size_t D = (size_t)w->D, Lk = (size_t)w->Lk, Lr = (size_t)w->Lr;
    w->rowv = carve_floats(c, Lr);
    w->rowl = carve_floats(c, Lr);
    w->kg = carve_take(c, Lk * sizeof(int));
    w->qg = carve_take(c, Lr * sizeof(int));
    w->S = carve_floats(c, (size_t)BR * BK);
    w->acc = carve_floats(c, BR * D * VL);
    w->qb = carve_take(c, BR * D * sizeof(vf));
    w->ob = carve_take(c, BR * D * sizeof(vf));
    w->q2 = carve_take(c, BR * D * sizeof(vf));
    w->dS = carve_floats(c, BR * Lk);
    w->dkT = carve_floats(c, D * Lk);
    w->dvT = carve_floats(c, D * Lk);
    w->bp = want_bias ? carve_floats(c, Lr * Lk) : NULL;
    w->dB = want_db ? carve_floats(c, Lr * Lk) : NULL;
}

static void ws_init(ws_t *w, int L, int D, int want_bias, int want_db)
{
    w->L = L;
    w->D = D;
    w->Lk = attn_key_stride(L);
    w->Lr = (int)rup((size_t)L, BR);
    w->kg_of = NULL;
    w->kg_valid = 0;
    carve c = carve_begin(NULL);
    ws_layout(w, &c, want_bias, want_db);
    w->mem = tf_malloc(carve_bytes(&c), "attention workspace");
    c = carve_begin(w->mem);
    ws_layout(w, &c, want_bias, want_db);
}

static void ws_free(ws_t *w) { free(w->mem); }

/* Groups of one sequence: keys -1 where masked, queries -2 where empty
 * (never equal a key's). The forward reuses them while the row is the same. */
static void set_groups(ws_t *w, const int *grp, int cache)
{
    if (cache && w->kg_valid && w->kg_of == grp)
        return;
    const int L = w->L, Lk = w->Lk, Lr = w->Lr;
    for (int j = 0; j < Lk; j++)
        w->kg[j] = j < L ? (grp ? (grp[j] < 0 ? -1 : grp[j]) : 0) : -1;
    for (int i = 0; i < Lr; i++)
        w->qg[i] = i < L ? (grp ? (grp[i] < 0 ? -2 : grp[i]) : 0) : -2;
    w->uniform = 1;
    if (grp)
        for (int i = 0; i < L; i++)
            w->uniform &= grp[i] >= 0 && grp[i] == grp[0];
    w->kg_of = grp;
    w->kg_valid = cache;
}

static void prep_bias(ws_t *w, const float *bias)
{
    int L = w->L, Lk = w->Lk;
    for (int i = 0; i < w->Lr; i++)
        for (int j = 0; j < Lk; j++)
            w->bp[(size_t)i * Lk + j] = (i < L && j < L) ? bias[(size_t)i * L + j] : 0;
}

#define KINLINE static inline __attribute__((always_inline))

/* Scores of rows i0 .. i0+BR-1 (broadcast in qb) against the key vector at column j. */
KINLINE void scores(vf s[BR], const vf *qb, const float *kT, int Lk, int j, const int D)
{
#pragma GCC unroll 4
    for (int r = 0; r < BR; r++)
        s[r] = vsplat(0);
#pragma GCC unroll 16
    for (int d = 0; d < D; d++) {
        vf kv = ld(kT + (size_t)d * Lk + j);
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++)
            s[r] += qb[r * D + d] * kv;
    }
}

/* qb[r D + d] = x[(i0 + r) D + d] * scale broadcast, zero for rows >= L. */
KINLINE void broadcast_rows(vf *qb, const float *x, int i0, int L, float scale, const int D)
{
    const float *xr = x + (size_t)i0 * D;
    if (i0 + BR <= L) {
#pragma GCC unroll 16
        for (int e = 0; e < BR * D; e++)
            qb[e] = vsplat(xr[e] * scale);
        return;
    }
    for (int r = 0; r < BR; r++)
        for (int d = 0; d < D; d++)
            qb[r * D + d] = vsplat(i0 + r < L ? xr[r * D + d] * scale : 0.0f);
}

/* Bias, groups and the keys past L. Sequences whose tokens are all in one
 * group (no groups, or a window without padding or shift regions) only need
 * the mask on the last, partial key vector: masked is then j + VL > L. */
KINLINE void mask_bias(vf s[BR], const ws_t *w, int i0, int j, const float *bp, int masked)
{
    if (bp) {
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++)
            s[r] = ld(bp + (size_t)(i0 + r) * w->Lk + j) * (float)LOG2E + s[r];
    }
    if (masked) {
        vi kg = *(const vi *)(w->kg + j);
        const vf ninf = vsplat(-INFINITY);
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++)
            s[r] = vsel(kg == w->qg[i0 + r], s[r], ninf);
    }
}

/* The forward keeps, per block of BR query rows, the online softmax's
 * running row maxima m (base 2), sums lsum and unnormalised outputs acc
 * (BR, D), updated once per key block. */

/* Pass 1 over keys [j0, j0 + nk): the block's scores, biased and masked,
 * into S (BR, BK), and their row maxima mx. */
KINLINE void block_scores(vf mx[BR], float *S, const vf *qb, const float *kT, const ws_t *w, int i0, int j0, int nk,
                          const float *bp, int all_masked, const int D)
{
    for (int r = 0; r < BR; r++)
        mx[r] = vsplat(-INFINITY);
    for (int jj = 0; jj < nk; jj += VL) {
        vf s[BR];
        scores(s, qb, kT, w->Lk, j0 + jj, D);
        mask_bias(s, w, i0, j0 + jj, bp, all_masked || j0 + jj + VL > w->L);
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++) {
            *(vf *)(S + r * BK + jj) = s[r];
            mx[r] = vmax(mx[r], s[r]);
        }
    }
}

/* A row's new running maximum *m from the key block's maxima mx: *msub is
 * what the block's scores subtract (0 while the row has no key), the
 * result alpha the factor of the row's old sums. */
KINLINE float new_max(float *m, vf mx, float *msub)
{
    float mn = hmax(mx);
    if (*m > mn)
        mn = *m;
    *msub = mn == -INFINITY ? 0.0f : mn;
    float alpha = *m == -INFINITY ? 0.0f : *m == *msub ? 1.0f : exp2f(*m - *msub);
    *m = mn;
    return alpha;
}

/* Small heads (D <= 8): p = exp(s - m), the running sums and P V in one
 * pass per row; key vectors [0, nfull) need no mask. */
KINLINE void softmax_pv_fused(float *m, float *lsum, float *acc, const float *S, const vf mx[BR], const float *vT_,
                              int Lk, int j0, int nk, int nfull, const int D)
{
    for (int r = 0; r < BR; r++) {
        float msub, alpha = new_max(&m[r], mx[r], &msub);
        vf ls = vsplat(0), av[8];
#pragma GCC unroll 8
        for (int d = 0; d < 8; d++)
            av[d] = vsplat(0);
        const float *vT = vT_ + j0;
        const vf mv = vsplat(msub);
        int jj = 0;
#pragma GCC unroll 2
        for (; jj < nfull; jj += VL) {
            vf p = vexp2_s(*(const vf *)(S + r * BK + jj) - mv);
            ls += p;
#pragma GCC unroll 8
            for (int d = 0; d < D; d++)
                av[d] += p * ld(vT + (size_t)d * Lk + jj);
        }
        for (; jj < nk; jj += VL) {
            vf sv = *(const vf *)(S + r * BK + jj);
            vf p = vexp2_m(sv - mv, sv);
            ls += p;
#pragma GCC unroll 8
            for (int d = 0; d < D; d++)
                av[d] += p * ld(vT + (size_t)d * Lk + jj);
        }
        lsum[r] = lsum[r] * alpha + hsum(ls);
#pragma GCC unroll 8
        for (int d = 0; d < D; d++)
            acc[r * D + d] = acc[r * D + d] * alpha + hsum(av[d]);
    }
}

/* Larger heads, pass 2: p = exp(s - m) in place in S, the rescaled running
 * sums, and each row's alpha for pass 3. */
KINLINE void softmax_in_place(float alpha[BR], float *m, float *lsum, float *S, const vf mx[BR], int nk, int nfull)
{
    for (int r = 0; r < BR; r++) {
        float msub;
        alpha[r] = new_max(&m[r], mx[r], &msub);
        vf ls = vsplat(0);
        for (int jj = 0; jj < nk; jj += VL) {
            vf sv = *(const vf *)(S + r * BK + jj);
            vf p = jj >= nfull ? vexp2_m(sv - msub, sv) : vexp2_s(sv - msub);
            *(vf *)(S + r * BK + jj) = p;
            ls += p;
        }
        lsum[r] = lsum[r] * alpha[r] + hsum(ls);
    }
}

/* Larger heads, pass 3: acc = alpha acc + P V, two channels at a time. */
KINLINE void accumulate_pv(float *acc, const float alpha[BR], const float *S, const float *vT_, int Lk, int j0, int nk,
                           const int D)
{
    int d = 0;
    for (; d + 2 <= D; d += 2) {
        vf a0[BR], a1[BR];
        for (int r = 0; r < BR; r++)
            a0[r] = a1[r] = vsplat(0);
        const float *v0 = vT_ + (size_t)d * Lk + j0, *v1 = v0 + Lk;
        for (int jj = 0; jj < nk; jj += VL) {
            vf x0 = ld(v0 + jj), x1 = ld(v1 + jj);
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++) {
                vf p = *(const vf *)(S + r * BK + jj);
                a0[r] += p * x0;
                a1[r] += p * x1;
            }
        }
        for (int r = 0; r < BR; r++) {
            acc[r * D + d] = acc[r * D + d] * alpha[r] + hsum(a0[r]);
            acc[r * D + d + 1] = acc[r * D + d + 1] * alpha[r] + hsum(a1[r]);
        }
    }
    for (; d < D; d++) {
        vf a0[BR];
        for (int r = 0; r < BR; r++)
            a0[r] = vsplat(0);
        const float *v0 = vT_ + (size_t)d * Lk + j0;
        for (int jj = 0; jj < nk; jj += VL) {
            vf x0 = ld(v0 + jj);
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++)
                a0[r] += *(const vf *)(S + r * BK + jj) * x0;
        }
        for (int r = 0; r < BR; r++)
            acc[r * D + d] = acc[r * D + d] * alpha[r] + hsum(a0[r]);
    }
}

/* The block's rows < L: o = acc / lsum and lse = m ln 2 + log lsum (m is in
 * base 2; lse may be NULL); a row that attended nothing gets o = 0, lse = +inf. */
KINLINE void store_rows(float *o, float *lse, const float *acc, const float *m, const float *lsum, int i0, int L,
                        const int D)
{
    for (int r = 0; r < BR && i0 + r < L; r++) {
        float l = lsum[r];
        float *orow = o + (size_t)(i0 + r) * D;
        if (l > 0) {
            float inv = 1.0f / l;
            for (int d = 0; d < D; d++)
                orow[d] = acc[r * D + d] * inv;
            if (lse)
                lse[i0 + r] = (float)((double)m[r] * LN2 + log((double)l));
        } else {
            for (int d = 0; d < D; d++)
                orow[d] = 0;
            if (lse)
                lse[i0 + r] = INFINITY;
        }
    }
}

/* Forward of one (sequence, head): each block of BR rows over the key
 * blocks (at most BK keys each, the keys split evenly). */
KINLINE void fwd_body(float *o, float *lse, const float *q, const float *kT, const float *vT_, ws_t *w, const float *bp,
                      float scale, float *acc, const int D)
{
    const int L = w->L, Lk = w->Lk, Lr = w->Lr;
    const int nblk = (Lk + BK - 1) / BK, bk = (int)rup((size_t)((Lk + nblk - 1) / nblk), VL);
    float *S = w->S;
    for (int i0 = 0; i0 < Lr; i0 += BR) {
        float m[BR], lsum[BR];
        for (int r = 0; r < BR; r++) {
            m[r] = -INFINITY;
            lsum[r] = 0;
        }
        for (int x = 0; x < BR * D; x++)
            acc[x] = 0;
        int empty = 1;
        for (int r = 0; r < BR; r++)
            empty &= w->qg[i0 + r] < -1;
        if (!empty) {
            const int all_masked = !w->uniform;
            broadcast_rows(w->qb, q, i0, L, (float)(scale * LOG2E), D);
            for (int j0 = 0; j0 < Lk; j0 += bk) {
                int nk = Lk - j0 < bk ? Lk - j0 : bk;
                vf mx[BR];
                block_scores(mx, S, w->qb, kT, w, i0, j0, nk, bp, all_masked, D);
                /* vectors [0, nfull) of the block need no mask */
                const int nfull = all_masked || L <= j0 ? 0 : L - j0 >= nk ? nk : (L - j0) / VL * VL;
                if (D <= 8) {
                    softmax_pv_fused(m, lsum, acc, S, mx, vT_, Lk, j0, nk, nfull, D);
                } else {
                    float alpha[BR];
                    softmax_in_place(alpha, m, lsum, S, mx, nk, nfull);
                    accumulate_pv(acc, alpha, S, vT_, Lk, j0, nk, D);
                }
            }
        }
        store_rows(o, lse, acc, m, lsum, i0, L, D);
    }
}

/* Backward of a block of BR rows over all keys: p = exp(s - lse),
 * dP = dO V^T, dS = p (dP - delta) into w->dS (BR, Lk); dV += P^T dO and
 * dK += dS^T q scale into w->dvT, w->dkT, and dbias into w->dB. lr: the
 * rows' lse in base 2; dr: their delta. */
KINLINE void bwd_keys(ws_t *w, const float *kT, const float *vT, int i0, const float lr[BR], const float dr[BR],
                      const float *bp, const int D)
{
    const int L = w->L, Lk = w->Lk, all_masked = !w->uniform;
    const vf *qb = w->qb, *q2 = w->q2, *ob = w->ob;
    float *dkT = w->dkT, *dvT = w->dvT, *dS = w->dS;
    for (int j = 0; j < Lk; j += VL) {
        vf s[BR], t[BR];
        scores(s, q2, kT, Lk, j, D);
        const int mv = all_masked || j + VL > L;
        mask_bias(s, w, i0, j, bp, mv);
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++) {
            s[r] = mv ? vexp2_m(s[r] - lr[r], s[r]) : vexp2_s(s[r] - lr[r]); /* p */
            t[r] = vsplat(0);
        }
#pragma GCC unroll 16
        for (int d = 0; d < D; d++) {
            vf vv = ld(vT + (size_t)d * Lk + j);
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++)
                t[r] += ob[r * D + d] * vv;
        }
        vf ds[BR];
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++) {
            ds[r] = s[r] * (t[r] - dr[r]);
            *(vf *)(dS + (size_t)r * Lk + j) = ds[r];
        }
#pragma GCC unroll 16
        for (int d = 0; d < D; d++) {
            vf *dvp = (vf *)(dvT + (size_t)d * Lk + j), *dkp = (vf *)(dkT + (size_t)d * Lk + j);
            vf a = *dvp, b = *dkp;
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++) {
                a += s[r] * ob[r * D + d];
                b += ds[r] * qb[r * D + d];
            }
            *dvp = a;
            *dkp = b;
        }
        if (w->dB) {
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++)
                *(vf *)(w->dB + (size_t)(i0 + r) * Lk + j) += ds[r];
        }
    }
}

/* dQ = dS K scale for the block's rows < L, from its dS rows (in L1), two
 * channels at a time. */
KINLINE void bwd_dq(float *dq, const ws_t *w, const float *kT, int i0, float scale, const int D)
{
    const int L = w->L, Lk = w->Lk;
    const float *dS = w->dS;
    int d = 0;
    for (; d + 2 <= D; d += 2) {
        vf a0[BR], a1[BR];
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++)
            a0[r] = a1[r] = vsplat(0);
        const float *k0 = kT + (size_t)d * Lk, *k1 = k0 + Lk;
        for (int j = 0; j < Lk; j += VL) {
            vf x0 = ld(k0 + j), x1 = ld(k1 + j);
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++) {
                vf g = *(const vf *)(dS + (size_t)r * Lk + j);
                a0[r] += g * x0;
                a1[r] += g * x1;
            }
        }
        for (int r = 0; r < BR && i0 + r < L; r++) {
            dq[(size_t)(i0 + r) * D + d] = hsum(a0[r]) * scale;
            dq[(size_t)(i0 + r) * D + d + 1] = hsum(a1[r]) * scale;
        }
    }
    for (; d < D; d++) {
        vf a0[BR];
        for (int r = 0; r < BR; r++)
            a0[r] = vsplat(0);
        const float *k0 = kT + (size_t)d * Lk;
        for (int j = 0; j < Lk; j += VL) {
            vf x0 = ld(k0 + j);
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++)
                a0[r] += *(const vf *)(dS + (size_t)r * Lk + j) * x0;
        }
        for (int r = 0; r < BR && i0 + r < L; r++)
            dq[(size_t)(i0 + r) * D + d] = hsum(a0[r]) * scale;
    }
}

/* Backward of one (sequence, head); accumulates the bias gradient into w->dB. */
KINLINE void bwd_body(float *dq, float *dkT_out, float *dvT_out, const float *q, const float *kT, const float *vT,
                      const float *dout, const float *delta, const float *lse, ws_t *w, const float *bp, float scale,
                      const int D)
{
    const int L = w->L, Lk = w->Lk, Lr = w->Lr;
    float *Di = w->rowv, *ls = w->rowl;
    for (int i = 0; i < Lr; i++) {
        Di[i] = i < L ? delta[i] : 0.0f;
        ls[i] = i < L ? lse[i] : INFINITY;
        if (!(ls[i] < INFINITY)) {
            w->qg[i] = -2; /* attended nothing: no gradient */
            if (i < L)
                w->uniform = 0;
        }
    }
    memset(w->dkT, 0, sizeof(float) * (size_t)D * Lk);
    memset(w->dvT, 0, sizeof(float) * (size_t)D * Lk);
    for (int i0 = 0; i0 < Lr; i0 += BR) {
        int empty = 1;
        for (int r = 0; r < BR; r++)
            empty &= w->qg[i0 + r] < -1;
        if (empty) {
            for (int r = 0; r < BR && i0 + r < L; r++)
                for (int d = 0; d < D; d++)
                    dq[(size_t)(i0 + r) * D + d] = 0;
            continue;
        }
        float lr[BR], dr[BR];
        for (int r = 0; r < BR; r++) {
            lr[r] = w->qg[i0 + r] < -1 ? 0.0f : (float)((double)ls[i0 + r] * LOG2E); /* base 2 */
            dr[r] = Di[i0 + r];
        }
        broadcast_rows(w->qb, q, i0, L, scale, D);                  /* for dK */
        broadcast_rows(w->q2, q, i0, L, (float)(scale * LOG2E), D); /* for the scores, base 2 */
        broadcast_rows(w->ob, dout, i0, L, 1.0f, D);
        bwd_keys(w, kT, vT, i0, lr, dr, bp, D);
        bwd_dq(dq, w, kT, i0, scale, D);
    }
    memcpy(dkT_out, w->dkT, sizeof(float) * (size_t)D * Lk);
    memcpy(dvT_out, w->dvT, sizeof(float) * (size_t)D * Lk);
}

/* Head dimensions the presets use get kernels with D a compile-time constant
 * (loops unrolled, accumulators in registers); others the generic one. */
#define SPECIALISE(DD)                                                                                                 \
    static void fwd_##DD(float *o, float *lse, const float *q, const float *kT, const float *vT, ws_t *w,              \
                         const float *bp, float scale)                                                                 \
    {                                                                                                                  \
        float acc[BR * DD];                                                                                            \
        fwd_body(o, lse, q, kT, vT, w, bp, scale, acc, DD);                                                            \
    }                                                                                                                  \
    static void bwd_##DD(float *dq, float *dkT, float *dvT, const float *q, const float *kT, const float *vT,          \
                         const float *dout, const float *delta, const float *lse, ws_t *w, const float *bp,            \
                         float scale)                                                                                  \
    {                                                                                                                  \
        bwd_body(dq, dkT, dvT, q, kT, vT, dout, delta, lse, w, bp, scale, DD);                                         \
    }
SPECIALISE(4)
SPECIALISE(8)
SPECIALISE(16)
SPECIALISE(32)
SPECIALISE(64)

static void fwd_one(float *o, float *lse, const float *q, const float *kT, const float *vT, ws_t *w, const float *bp,
                    float scale)
{
    switch (w->D) {
    case 4: fwd_4(o, lse, q, kT, vT, w, bp, scale); break;
    case 8: fwd_8(o, lse, q, kT, vT, w, bp, scale); break;
    case 16: fwd_16(o, lse, q, kT, vT, w, bp, scale); break;
    case 32: fwd_32(o, lse, q, kT, vT, w, bp, scale); break;
    case 64: fwd_64(o, lse, q, kT, vT, w, bp, scale); break;
    default: fwd_body(o, lse, q, kT, vT, w, bp, scale, w->acc, w->D); break;
    }
}

static void bwd_one(float *dq, float *dkT, float *dvT, const float *q, const float *kT, const float *vT,
                    const float *dout, const float *delta, const float *lse, ws_t *w, const float *bp, float scale)
{
    switch (w->D) {
    case 4: bwd_4(dq, dkT, dvT, q, kT, vT, dout, delta, lse, w, bp, scale); break;
    case 8: bwd_8(dq, dkT, dvT, q, kT, vT, dout, delta, lse, w, bp, scale); break;
    case 16: bwd_16(dq, dkT, dvT, q, kT, vT, dout, delta, lse, w, bp, scale); break;
    case 32: bwd_32(dq, dkT, dvT, q, kT, vT, dout, delta, lse, w, bp, scale); break;
    case 64: bwd_64(dq, dkT, dvT, q, kT, vT, dout, delta, lse, w, bp, scale); break;
    default: bwd_body(dq, dkT, dvT, q, kT, vT, dout, delta, lse, w, bp, scale, w->D); break;
    }
}

void attn_forward_t(float *o, float *lse, const float *q, const float *kt, const float *vt, const attn_problem *p)
{
    const int n = p->n, H = p->heads, L = p->L, D = p->D, Lk = attn_key_stride(L);
    const long tasks = (long)n * H;
    /* the bias is read in place when its rows are already whole vectors and
     * whole blocks of rows (L a multiple of VL and BR: windows of 8 x 8) */
    const int copy_bias = p->bias != NULL && !(L == Lk && L % BR == 0);
#pragma omp parallel
    {
        ws_t w;
        ws_init(&w, L, D, copy_bias, 0);
        int last_h = -1;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < tasks; t++) {
            /* Sequence-major (the arrays are read in order) unless the bias
             * needs a padded copy per head: then head-major, reusing it. */
            int h = copy_bias ? (int)(t / n) : (int)(t % H), s = copy_bias ? (int)(t % n) : (int)(t / H);
            size_t sh = (size_t)s * H + h, off = sh * L;
            set_groups(&w, p->group ? p->group + (size_t)s * L : NULL, 1);
            const float *bp = NULL;
            if (copy_bias) {
                if (h != last_h) {
                    prep_bias(&w, p->bias + (size_t)h * L * L);
                    last_h = h;
                }
                bp = w.bp;
            } else if (p->bias) {
                bp = p->bias + (size_t)h * L * L;
            }
            fwd_one(o + off * D, lse ? lse + off : NULL, q + off * D, kt + sh * D * Lk, vt + sh * D * Lk, &w, bp,
                    p->scale);
        }
        ws_free(&w);
    }
}

void attn_backward_t(float *dq, float *dkt, float *dvt, float *dbias, const float *q, const float *kt, const float *vt,
                     const float *dout, const float *delta, const float *lse, const attn_problem *p)
{
    const int n = p->n, H = p->heads, L = p->L, D = p->D, Lk = attn_key_stride(L);
    const int want_db = dbias != NULL && p->bias != NULL;
    /* Without a bias gradient every (sequence, head) is a task; with one,
     * tasks are (chunk, head) over a fixed number of chunks, each summing
     * its sequences in order into its own partial, reduced in order after. */
    const int nch = want_db ? (n < NCHUNK ? n : NCHUNK) : n;
    float *part = want_db ? tf_calloc((size_t)nch * H * L * L, sizeof(float), "attention bias gradient") : NULL;
    const long tasks = (long)nch * H;
#pragma omp parallel
    {
        ws_t w;
        ws_init(&w, L, D, p->bias != NULL, want_db);
        int last_h = -1;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < tasks; t++) {
            /* head-major (the bias copy and its gradient are per head) or,
             * without a bias, sequence-major (the arrays are read in order) */
            int h = p->bias ? (int)(t / nch) : (int)(t % H), c = p->bias ? (int)(t % nch) : (int)(t / H);
            int s0 = want_db ? (int)((long)c * n / nch) : c, s1 = want_db ? (int)((long)(c + 1) * n / nch) : c + 1;
            if (p->bias && h != last_h) {
                prep_bias(&w, p->bias + (size_t)h * L * L);
                last_h = h;
            }
            if (w.dB)
                memset(w.dB, 0, sizeof(float) * (size_t)w.Lr * w.Lk);
            for (int s = s0; s < s1; s++) {
                size_t sh = (size_t)s * H + h, off = sh * L;
                set_groups(&w, p->group ? p->group + (size_t)s * L : NULL, 0);
                bwd_one(dq + off * D, dkt + sh * D * Lk, dvt + sh * D * Lk, q + off * D, kt + sh * D * Lk,
                        vt + sh * D * Lk, dout + off * D, delta + off, lse + off, &w, p->bias ? w.bp : NULL, p->scale);
            }
            if (w.dB) {
                float *dst = part + ((size_t)c * H + h) * L * L;
                for (int i = 0; i < L; i++)
                    for (int j = 0; j < L; j++)
                        dst[(size_t)i * L + j] = w.dB[(size_t)i * w.Lk + j];
            }
        }
        ws_free(&w);
    }
    if (want_db) {
        size_t hl = (size_t)H * L * L;
        for (int c = 0; c < nch; c++)
            for (size_t x = 0; x < hl; x++)
                dbias[x] += part[(size_t)c * hl + x];
        free(part);
    }
}

/* ---- the (n, heads, L, D) interface: the same kernels after a transpose ---- */

/* (n, H, L, D) -> (n, H, D, Lk), zero-padded; and back (the first L columns). */
static float *to_keys_t(const float *k, const attn_problem *p)
{
    const int L = p->L, D = p->D, Lk = attn_key_stride(L);
    const long nh = (long)p->n * p->heads;
    float *kt = tf_malloc(sizeof(float) * ((size_t)nh * D * Lk + 1), "attention keys");
#pragma omp parallel for schedule(static)
    for (long sh = 0; sh < nh; sh++)
        for (int d = 0; d < D; d++) {
            float *row = kt + ((size_t)sh * D + d) * Lk;
            const float *src = k + (size_t)sh * L * D + d;
            for (int j = 0; j < L; j++)
                row[j] = src[(size_t)j * D];
            for (int j = L; j < Lk; j++)
                row[j] = 0;
        }
    return kt;
}

static void from_keys_t(float *k, const float *kt, const attn_problem *p)
{
    const int L = p->L, D = p->D, Lk = attn_key_stride(L);
    const long nh = (long)p->n * p->heads;
#pragma omp parallel for schedule(static)
    for (long sh = 0; sh < nh; sh++)
        for (int j = 0; j < L; j++)
            for (int d = 0; d < D; d++)
                k[((size_t)sh * L + j) * D + d] = kt[((size_t)sh * D + d) * Lk + j];
}

void attn_forward(float *o, float *lse, const float *q, const float *k, const float *v, const attn_problem *p)
{
    float *kt = to_keys_t(k, p), *vt = to_keys_t(v, p);
    attn_forward_t(o, lse, q, kt, vt, p);
    free(kt);
    free(vt);
}

void attn_backward(float *dq, float *dk, float *dv, float *dbias, const float *q, const float *k, const float *v,
                   const float *o, const float *dout, const float *lse, const attn_problem *p)
{
    const long rows = (long)p->n * p->heads * p->L;
    const int D = p->D;
    float *delta = tf_malloc(sizeof(float) * ((size_t)rows + 1), "attention delta");
#pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++) {
        float s = 0;
        for (int d = 0; d < D; d++)
            s += dout[(size_t)i * D + d] * o[(size_t)i * D + d];
        delta[i] = s;
    }
    float *kt = to_keys_t(k, p), *vt = to_keys_t(v, p);
    size_t nt = (size_t)p->n * p->heads * D * attn_key_stride(p->L) + 1;
    float *dkt = tf_malloc(sizeof(float) * nt, "attention gradients"),
          *dvt = tf_malloc(sizeof(float) * nt, "attention gradients");
    attn_backward_t(dq, dkt, dvt, dbias, q, kt, vt, dout, delta, lse, p);
    from_keys_t(dk, dkt, p);
    from_keys_t(dv, dvt, p);
    free(kt);
    free(vt);
    free(dkt);
    free(dvt);
    free(delta);
}

void attn_forward_naive(float *o, float *lse, const float *q, const float *k, const float *v, const attn_problem *p)
{
    /* As a framework would: one (L x L) matrix per (sequence, head), GEMMs
     * by OpenBLAS (its own threads), the softmax rows over OpenMP threads. */
    const int n = p->n, H = p->heads, L = p->L, D = p->D;
    float *S = tf_malloc(sizeof(float) * (size_t)L * L, "attention matrix");
    for (long t = 0; t < (long)n * H; t++) {
        int s = (int)(t / H), h = (int)(t % H);
        size_t off = ((size_t)s * H + h) * L;
        const int *g = p->group ? p->group + (size_t)s * L : NULL;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, D, p->scale, q + off * D, D, k + off * D, D, 0.0f, S,
                    L);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < L; i++) {
            float *row = S + (size_t)i * L, mx = -INFINITY, sum = 0;
            for (int j = 0; j < L; j++) {
                if (p->bias)
                    row[j] += p->bias[((size_t)h * L + i) * L + j];
                if (g && (g[j] < 0 || g[j] != g[i]))
                    row[j] = -INFINITY;
                if (row[j] > mx)
                    mx = row[j];
            }
            if (mx == -INFINITY) {
                memset(row, 0, sizeof(float) * L);
                if (lse)
                    lse[off + i] = INFINITY;
                continue;
            }
            for (int j = 0; j < L; j++)
                sum += row[j] = expf(row[j] - mx);
            for (int j = 0; j < L; j++)
                row[j] /= sum;
            if (lse)
                lse[off + i] = mx + logf(sum);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, L, 1.0f, S, L, v + off * D, D, 0.0f, o + off * D,
                    D);
    }
    free(S);
}
