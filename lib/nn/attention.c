/* Tiled attention with an online softmax (FlashAttention-2 forward and
 * backward), vectorised along keys with GCC vector extensions: 16 lanes
 * with AVX-512, 8 with AVX/AVX2, else 4 (SSE2, NEON; any target compiles).
 *
 * Per (sequence, head) the kernels copy K and V transposed, (D, Lp) with Lp
 * = L rounded up to the vector width, so that one vector holds one channel
 * of VL consecutive keys: scores, probabilities and their gradients are then
 * computed VL keys at a time whatever the head dimension (4..64), and the
 * only horizontal reductions happen once per block of BR query rows and
 * key block. Exponentials use a vectorised Cody-Waite + degree-5 polynomial
 * exp (relative error < 2.5e-7; the softmax's cost for small heads), masked
 * only on the key vectors that hold masked keys.
 * Forward: for each block of BR rows, key blocks of at most BK keys (the
 * sequence split evenly): scores and row maxima (pass 1), then p = exp(s - m),
 * the rescaled running sums and P V (one fused pass per row for D <= 8;
 * p in place, then P V two channels at a time, for larger heads).
 * Backward: one pass per block of rows over all keys: p = exp(s - lse),
 * dP = dO V^T, dS = p (dP - rowsum(dO o)), dV += P^T dO, dK += dS^T q scale,
 * dQ += dS K scale (and dbias += dS).
 */
#include "nn/attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

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
#define BR 4   /* query rows per block */
#define BK 1024 /* most keys per block in the forward pass (multiple of VL); blocks split Lp evenly */
#define NCHUNK 16 /* fixed chunks of sequences for the deterministic bias-gradient reduction */

typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));

static inline vf vsplat(float x) { return (vf){0} + x; }
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
    for (int i = 0; i < VL; i++) s += a[i];
    return s;
}
#endif
static inline float hmax(vf a)
{
    float s = a[0];
    for (int i = 1; i < VL; i++) s = a[i] > s ? a[i] : s;
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

/* exp for softmax arguments x = s - m <= 0 (s may be -inf): without the
 * masking, arguments below -87 give about 1.6e-38 instead of 0 (negligible
 * beside the row maximum's 1); vexp_m also returns exact zeros where s is -inf. */
static inline vf vexp_s(vf x) { return vexp_core(vmax(x, vsplat(-87.0f))); }
static inline vf vexp_m(vf x, vf s) { return (vf)((vi)vexp_s(x) & (s > -INFINITY)); }

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
        for (size_t j = i; j < n; j++) a[j - i] = x[j];
        a = vexp(a);
        for (size_t j = i; j < n; j++) y[j] = a[j - i];
    }
}

/* ---- per-thread workspace ---- */
typedef struct {
    int L, D, Lp, Lr;
    float *kT, *vT, *dkT, *dvT; /* (D, Lp) */
    float *qs, *dO;             /* (Lr, D): scaled q, padded dout */
    float *rowv;                /* (Lr): lse or Di */
    float *rowl;                /* (Lr): lse */
    int *kg, *qg;               /* (Lp), (Lr) */
    float *S;                   /* (BR, BK) */
    float *acc;                 /* (BR, D, VL) vector accumulators */
    vf *qb, *ob;                /* (BR, D) broadcast q (scaled) and dout of one block of rows */
    float *bp;                  /* (Lr, Lp) padded bias of one head */
    float *dB;                  /* (Lr, Lp) bias gradient of one head */
    int uniform;                /* all tokens of the sequence in one group */
} ws_t;

static size_t rup(size_t a, size_t b) { return (a + b - 1) / b * b; }

static void *aalloc(size_t floats)
{
    size_t bytes = rup(floats * sizeof(float) + 64, 64);
    void *p = aligned_alloc(64, bytes);
    if (!p) tf_die("out of memory (attention workspace, %zu bytes)", bytes);
    return p;
}

static void ws_init(ws_t *w, int L, int D, int want_bias)
{
    w->L = L;
    w->D = D;
    w->Lp = (int)rup((size_t)L, VL);
    w->Lr = (int)rup((size_t)L, BR);
    size_t dl = (size_t)D * w->Lp;
    w->kT = aalloc(dl);
    w->vT = aalloc(dl);
    w->dkT = aalloc(dl);
    w->dvT = aalloc(dl);
    w->qs = aalloc((size_t)w->Lr * D);
    w->dO = aalloc((size_t)w->Lr * D);
    w->rowv = aalloc(w->Lr);
    w->rowl = aalloc(w->Lr);
    w->kg = aalloc(w->Lp);
    w->qg = aalloc(w->Lr);
    w->S = aalloc((size_t)BR * BK);
    w->acc = aalloc((size_t)BR * D * VL);
    w->qb = aalloc((size_t)BR * D * VL);
    w->ob = aalloc((size_t)BR * D * VL);
    w->bp = want_bias ? aalloc((size_t)w->Lr * w->Lp) : NULL;
    w->dB = want_bias ? aalloc((size_t)w->Lr * w->Lp) : NULL;
}

static void ws_free(ws_t *w)
{
    free(w->kT); free(w->vT); free(w->dkT); free(w->dvT); free(w->qs); free(w->dO);
    free(w->rowv); free(w->rowl); free(w->kg); free(w->qg); free(w->S); free(w->acc); free(w->qb); free(w->ob);
    free(w->bp); free(w->dB);
}

/* Copies one (sequence, head): K, V transposed and zero-padded, q scaled,
 * groups: keys -1 where masked, queries -2 where empty (never equal a key's). */
static void prep(ws_t *w, const float *q, const float *k, const float *v, const int *grp, float scale)
{
    int L = w->L, D = w->D, Lp = w->Lp, Lr = w->Lr;
    for (int d = 0; d < D; d++) {
        float *kt = w->kT + (size_t)d * Lp, *vt = w->vT + (size_t)d * Lp;
        for (int j = 0; j < L; j++) {
            kt[j] = k[(size_t)j * D + d];
            vt[j] = v[(size_t)j * D + d];
        }
        for (int j = L; j < Lp; j++) kt[j] = vt[j] = 0;
    }
    for (int i = 0; i < L; i++)
        for (int d = 0; d < D; d++) w->qs[(size_t)i * D + d] = q[(size_t)i * D + d] * scale;
    memset(w->qs + (size_t)L * D, 0, sizeof(float) * (size_t)(Lr - L) * D);
    for (int j = 0; j < Lp; j++) w->kg[j] = j < L ? (grp ? (grp[j] < 0 ? -1 : grp[j]) : 0) : -1;
    for (int i = 0; i < Lr; i++) w->qg[i] = i < L ? (grp ? (grp[i] < 0 ? -2 : grp[i]) : 0) : -2;
    w->uniform = 1;
    if (grp)
        for (int i = 0; i < L; i++) w->uniform &= grp[i] >= 0 && grp[i] == grp[0];
}

static void prep_bias(ws_t *w, const float *bias)
{
    int L = w->L, Lp = w->Lp;
    for (int i = 0; i < w->Lr; i++)
        for (int j = 0; j < Lp; j++) w->bp[(size_t)i * Lp + j] = (i < L && j < L) ? bias[(size_t)i * L + j] : 0;
}

#define KINLINE static inline __attribute__((always_inline))

/* Scores of rows i0 .. i0+BR-1 (broadcast in qb) against the key vector at column j. */
KINLINE void scores(vf s[BR], const vf *qb, const float *kT, int Lp, int j, const int D)
{
#pragma GCC unroll 4
    for (int r = 0; r < BR; r++) s[r] = vsplat(0);
#pragma GCC unroll 16
    for (int d = 0; d < D; d++) {
        vf kv = *(const vf *)(kT + (size_t)d * Lp + j);
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++) s[r] += qb[r * D + d] * kv;
    }
}

static inline void broadcast_rows(vf *qb, const float *x, const int D)
{
    for (int i = 0; i < BR * D; i++) qb[i] = vsplat(x[i]);
}

/* Bias, groups and the keys past L. Sequences whose tokens are all in one
 * group (no groups, or a window without padding or shift regions) only need
 * the mask on the last, partial key vector: masked is then j + VL > L. */
KINLINE void mask_bias(vf s[BR], const ws_t *w, int i0, int j, const float *bp, int masked)
{
    if (bp) {
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++) s[r] += *(const vf *)(bp + (size_t)(i0 + r) * w->Lp + j);
    }
    if (masked) {
        vi kg = *(const vi *)(w->kg + j);
        const vf ninf = vsplat(-INFINITY);
#pragma GCC unroll 4
        for (int r = 0; r < BR; r++) s[r] = vsel(kg == w->qg[i0 + r], s[r], ninf);
    }
}

KINLINE void fwd_body(float *o, float *lse, ws_t *w, const float *bp, float *acc, const int D)
{
    const int L = w->L, Lp = w->Lp, Lr = w->Lr;
    float *S = w->S;
    for (int i0 = 0; i0 < Lr; i0 += BR) {
        float m[BR], lsum[BR];
        for (int r = 0; r < BR; r++) {
            m[r] = -INFINITY;
            lsum[r] = 0;
        }
        for (int x = 0; x < BR * D; x++) acc[x] = 0;
        int empty = 1;
        for (int r = 0; r < BR; r++) empty &= w->qg[i0 + r] < -1;
        if (!empty) {
            vf *qb = w->qb;
            const float *kT = w->kT;
            const int all_masked = !w->uniform;
            broadcast_rows(qb, w->qs + (size_t)i0 * D, D);
            const int nblk = (Lp + BK - 1) / BK, bk = (int)rup((size_t)((Lp + nblk - 1) / nblk), VL);
            for (int j0 = 0; j0 < Lp; j0 += bk) {
                int nk = Lp - j0 < bk ? Lp - j0 : bk;
                /* pass 1: scores, masked, and their row maxima */
                vf mx[BR];
                for (int r = 0; r < BR; r++) mx[r] = vsplat(-INFINITY);
                for (int jj = 0; jj < nk; jj += VL) {
                    vf s[BR];
                    scores(s, qb, kT, Lp, j0 + jj, D);
                    mask_bias(s, w, i0, j0 + jj, bp, all_masked || j0 + jj + VL > L);
#pragma GCC unroll 4
                    for (int r = 0; r < BR; r++) {
                        *(vf *)(S + r * BK + jj) = s[r];
                        mx[r] = vmax(mx[r], s[r]);
                    }
                }
                /* vectors [0, nfull) of the block need no mask */
                const int nfull = all_masked || L <= j0 ? 0 : L - j0 >= nk ? nk : (L - j0) / VL * VL;
                if (D <= 8) {
                    /* small heads: p = exp(s - m), running sums and P V in one pass per row */
                    for (int r = 0; r < BR; r++) {
                        float mn = hmax(mx[r]);
                        if (m[r] > mn) mn = m[r];
                        float msub = mn == -INFINITY ? 0.0f : mn;
                        float alpha = m[r] == -INFINITY ? 0.0f : m[r] == msub ? 1.0f : expf(m[r] - msub);
                        m[r] = mn;
                        vf ls = vsplat(0), av[8];
#pragma GCC unroll 8
                        for (int d = 0; d < 8; d++) av[d] = vsplat(0);
                        const float *vT = w->vT + j0;
                        const vf mv = vsplat(msub);
                        int jj = 0;
#pragma GCC unroll 2
                        for (; jj < nfull; jj += VL) {
                            vf p = vexp_s(*(const vf *)(S + r * BK + jj) - mv);
                            ls += p;
#pragma GCC unroll 8
                            for (int d = 0; d < D; d++) av[d] += p * *(const vf *)(vT + (size_t)d * Lp + jj);
                        }
                        for (; jj < nk; jj += VL) {
                            vf sv = *(const vf *)(S + r * BK + jj);
                            vf p = vexp_m(sv - mv, sv);
                            ls += p;
#pragma GCC unroll 8
                            for (int d = 0; d < D; d++) av[d] += p * *(const vf *)(vT + (size_t)d * Lp + jj);
                        }
                        lsum[r] = lsum[r] * alpha + hsum(ls);
#pragma GCC unroll 8
                        for (int d = 0; d < D; d++) acc[r * D + d] = acc[r * D + d] * alpha + hsum(av[d]);
                    }
                    continue;
                }
                /* pass 2: p = exp(s - m) in place, rescaled running sums */
                float alpha[BR];
                for (int r = 0; r < BR; r++) {
                    float mn = hmax(mx[r]);
                    if (m[r] > mn) mn = m[r];
                    float msub = mn == -INFINITY ? 0.0f : mn;
                    alpha[r] = m[r] == -INFINITY ? 0.0f : m[r] == msub ? 1.0f : expf(m[r] - msub);
                    m[r] = mn;
                    vf ls = vsplat(0);
                    for (int jj = 0; jj < nk; jj += VL) {
                        vf sv = *(const vf *)(S + r * BK + jj);
                        vf p = jj >= nfull ? vexp_m(sv - msub, sv) : vexp_s(sv - msub);
                        *(vf *)(S + r * BK + jj) = p;
                        ls += p;
                    }
                    lsum[r] = lsum[r] * alpha[r] + hsum(ls);
                }
                /* pass 3: acc = alpha acc + P V, two channels at a time */
                int d = 0;
                for (; d + 2 <= D; d += 2) {
                    vf a0[BR], a1[BR];
                    for (int r = 0; r < BR; r++) a0[r] = a1[r] = vsplat(0);
                    const float *v0 = w->vT + (size_t)d * Lp + j0, *v1 = v0 + Lp;
                    for (int jj = 0; jj < nk; jj += VL) {
                        vf x0 = *(const vf *)(v0 + jj), x1 = *(const vf *)(v1 + jj);
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
                    for (int r = 0; r < BR; r++) a0[r] = vsplat(0);
                    const float *v0 = w->vT + (size_t)d * Lp + j0;
                    for (int jj = 0; jj < nk; jj += VL) {
                        vf x0 = *(const vf *)(v0 + jj);
#pragma GCC unroll 4
                        for (int r = 0; r < BR; r++) a0[r] += *(const vf *)(S + r * BK + jj) * x0;
                    }
                    for (int r = 0; r < BR; r++) acc[r * D + d] = acc[r * D + d] * alpha[r] + hsum(a0[r]);
                }
            }
        }
        for (int r = 0; r < BR && i0 + r < L; r++) {
            float l = lsum[r];
            float *orow = o + (size_t)(i0 + r) * D;
            if (l > 0) {
                float inv = 1.0f / l;
                for (int d = 0; d < D; d++) orow[d] = acc[r * D + d] * inv;
                if (lse) lse[i0 + r] = m[r] + logf(l);
            } else {
                for (int d = 0; d < D; d++) orow[d] = 0;
                if (lse) lse[i0 + r] = INFINITY;
            }
        }
    }
}

/* Backward of one (sequence, head); accumulates the bias gradient into w->dB. */
KINLINE void bwd_body(float *dq, float *dk, float *dv, const float *o, const float *dout, const float *lse, ws_t *w,
                      const float *bp, float scale, vf *acc, const int D)
{
    const int L = w->L, Lp = w->Lp, Lr = w->Lr;
    float *Di = w->rowv, *ls = w->rowl;
    for (int i = 0; i < Lr; i++) {
        float s = 0;
        if (i < L) {
            for (int d = 0; d < D; d++) {
                float g = dout[(size_t)i * D + d];
                w->dO[(size_t)i * D + d] = g;
                s += g * o[(size_t)i * D + d];
            }
        } else {
            for (int d = 0; d < D; d++) w->dO[(size_t)i * D + d] = 0;
        }
        Di[i] = s;
        ls[i] = i < L ? lse[i] : INFINITY;
        if (!(ls[i] < INFINITY)) {
            w->qg[i] = -2; /* attended nothing: no gradient */
            if (i < L) w->uniform = 0;
        }
    }
    memset(w->dkT, 0, sizeof(float) * (size_t)D * Lp);
    memset(w->dvT, 0, sizeof(float) * (size_t)D * Lp);
    for (int i0 = 0; i0 < Lr; i0 += BR) {
        int empty = 1;
        for (int r = 0; r < BR; r++) empty &= w->qg[i0 + r] < -1;
        if (empty) {
            for (int r = 0; r < BR && i0 + r < L; r++)
                for (int d = 0; d < D; d++) dq[(size_t)(i0 + r) * D + d] = 0;
            continue;
        }
#pragma GCC unroll 16
        for (int x = 0; x < BR * D; x++) acc[x] = vsplat(0);
        float lr[BR], dr[BR];
        for (int r = 0; r < BR; r++) {
            lr[r] = w->qg[i0 + r] < -1 ? 0.0f : ls[i0 + r];
            dr[r] = Di[i0 + r];
        }
        vf *qb = w->qb, *ob = w->ob;
        const float *kT = w->kT;
        const int all_masked = !w->uniform;
        broadcast_rows(qb, w->qs + (size_t)i0 * D, D);
        broadcast_rows(ob, w->dO + (size_t)i0 * D, D);
        for (int j = 0; j < Lp; j += VL) {
            vf s[BR], t[BR];
            scores(s, qb, kT, Lp, j, D);
            const int mv = all_masked || j + VL > L;
            mask_bias(s, w, i0, j, bp, mv);
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++) {
                s[r] = mv ? vexp_m(s[r] - lr[r], s[r]) : vexp_s(s[r] - lr[r]); /* p */
                t[r] = vsplat(0);
            }
#pragma GCC unroll 16
            for (int d = 0; d < D; d++) {
                vf vv = *(const vf *)(w->vT + (size_t)d * Lp + j);
#pragma GCC unroll 4
                for (int r = 0; r < BR; r++) t[r] += ob[r * D + d] * vv;
            }
            vf ds[BR];
#pragma GCC unroll 4
            for (int r = 0; r < BR; r++) ds[r] = s[r] * (t[r] - dr[r]);
#pragma GCC unroll 16
            for (int d = 0; d < D; d++) {
                vf *dvv = (vf *)(w->dvT + (size_t)d * Lp + j), *dkv = (vf *)(w->dkT + (size_t)d * Lp + j);
                vf kv = *(const vf *)(w->kT + (size_t)d * Lp + j);
                vf a = *dvv, b = *dkv;
#pragma GCC unroll 4
                for (int r = 0; r < BR; r++) {
                    a += s[r] * ob[r * D + d];
                    b += ds[r] * qb[r * D + d];
                    acc[r * D + d] += ds[r] * kv;
                }
                *dvv = a;
                *dkv = b;
            }
            if (w->dB) {
#pragma GCC unroll 4
                for (int r = 0; r < BR; r++) *(vf *)(w->dB + (size_t)(i0 + r) * Lp + j) += ds[r];
            }
        }
        for (int r = 0; r < BR && i0 + r < L; r++)
            for (int d = 0; d < D; d++) dq[(size_t)(i0 + r) * D + d] = hsum(acc[r * D + d]) * scale;
    }
    for (int j = 0; j < L; j++)
        for (int d = 0; d < D; d++) {
            dk[(size_t)j * D + d] = w->dkT[(size_t)d * Lp + j];
            dv[(size_t)j * D + d] = w->dvT[(size_t)d * Lp + j];
        }
}

/* Head dimensions the presets use get kernels with D a compile-time constant
 * (loops unrolled, accumulators in registers); others the generic one. */
#define SPECIALISE(DD)                                                                                        \
    static void fwd_##DD(float *o, float *lse, ws_t *w, const float *bp)                                      \
    {                                                                                                         \
        float acc[BR * DD];                                                                                   \
        fwd_body(o, lse, w, bp, acc, DD);                                                                     \
    }                                                                                                         \
    static void bwd_##DD(float *dq, float *dk, float *dv, const float *o, const float *dout, const float *lse, \
                         ws_t *w, const float *bp, float scale)                                               \
    {                                                                                                         \
        vf acc[BR * DD];                                                                                      \
        bwd_body(dq, dk, dv, o, dout, lse, w, bp, scale, acc, DD);                                            \
    }
SPECIALISE(4)
SPECIALISE(8)
SPECIALISE(16)
SPECIALISE(32)
SPECIALISE(64)

static void fwd_one(float *o, float *lse, ws_t *w, const float *bp)
{
    switch (w->D) {
    case 4: fwd_4(o, lse, w, bp); break;
    case 8: fwd_8(o, lse, w, bp); break;
    case 16: fwd_16(o, lse, w, bp); break;
    case 32: fwd_32(o, lse, w, bp); break;
    case 64: fwd_64(o, lse, w, bp); break;
    default: fwd_body(o, lse, w, bp, w->acc, w->D); break;
    }
}

static void bwd_one(float *dq, float *dk, float *dv, const float *o, const float *dout, const float *lse, ws_t *w,
                    const float *bp, float scale)
{
    switch (w->D) {
    case 4: bwd_4(dq, dk, dv, o, dout, lse, w, bp, scale); break;
    case 8: bwd_8(dq, dk, dv, o, dout, lse, w, bp, scale); break;
    case 16: bwd_16(dq, dk, dv, o, dout, lse, w, bp, scale); break;
    case 32: bwd_32(dq, dk, dv, o, dout, lse, w, bp, scale); break;
    case 64: bwd_64(dq, dk, dv, o, dout, lse, w, bp, scale); break;
    default: bwd_body(dq, dk, dv, o, dout, lse, w, bp, scale, (vf *)w->acc, w->D); break;
    }
}

void attn_forward(float *o, float *lse, const float *q, const float *k, const float *v, const attn_problem *p)
{
    const int n = p->n, H = p->heads, L = p->L, D = p->D;
    const long tasks = (long)n * H;
#pragma omp parallel
    {
        ws_t w;
        ws_init(&w, L, D, p->bias != NULL);
        int last_h = -1;
#pragma omp for schedule(dynamic, 4)
        for (long t = 0; t < tasks; t++) {
            int h = (int)(t / n), s = (int)(t % n); /* head-major: the bias copy is reused */
            size_t off = ((size_t)s * H + h) * L;
            prep(&w, q + off * D, k + off * D, v + off * D, p->group ? p->group + (size_t)s * L : NULL, p->scale);
            if (p->bias && h != last_h) {
                prep_bias(&w, p->bias + (size_t)h * L * L);
                last_h = h;
            }
            fwd_one(o + off * D, lse ? lse + off : NULL, &w, p->bias ? w.bp : NULL);
        }
        ws_free(&w);
    }
}

void attn_backward(float *dq, float *dk, float *dv, float *dbias, const float *q, const float *k, const float *v,
                   const float *o, const float *dout, const float *lse, const attn_problem *p)
{
    const int n = p->n, H = p->heads, L = p->L, D = p->D;
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
        ws_init(&w, L, D, p->bias != NULL);
        if (!want_db) {
            free(w.dB);
            w.dB = NULL;
        }
        int last_h = -1;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < tasks; t++) {
            int h = (int)(t / nch), c = (int)(t % nch); /* head-major: the bias copy is reused */
            int s0 = want_db ? (int)((long)c * n / nch) : c, s1 = want_db ? (int)((long)(c + 1) * n / nch) : c + 1;
            if (p->bias && h != last_h) {
                prep_bias(&w, p->bias + (size_t)h * L * L);
                last_h = h;
            }
            if (w.dB) memset(w.dB, 0, sizeof(float) * (size_t)w.Lr * w.Lp);
            for (int s = s0; s < s1; s++) {
                size_t off = ((size_t)s * H + h) * L;
                prep(&w, q + off * D, k + off * D, v + off * D, p->group ? p->group + (size_t)s * L : NULL, p->scale);
                bwd_one(dq + off * D, dk + off * D, dv + off * D, o + off * D, dout + off * D, lse + off, &w,
                        p->bias ? w.bp : NULL, p->scale);
            }
            if (w.dB) {
                float *dst = part + ((size_t)c * H + h) * L * L;
                for (int i = 0; i < L; i++)
                    for (int j = 0; j < L; j++) dst[(size_t)i * L + j] = w.dB[(size_t)i * w.Lp + j];
            }
        }
        ws_free(&w);
    }
    if (want_db) {
        size_t hl = (size_t)H * L * L;
        for (int c = 0; c < nch; c++)
            for (size_t x = 0; x < hl; x++) dbias[x] += part[(size_t)c * hl + x];
        free(part);
    }
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, D, p->scale, q + off * D, D, k + off * D, D, 0.0f,
                    S, L);
#pragma omp parallel for schedule(static)
        for (int i = 0; i < L; i++) {
            float *row = S + (size_t)i * L, mx = -INFINITY, sum = 0;
            for (int j = 0; j < L; j++) {
                if (p->bias) row[j] += p->bias[((size_t)h * L + i) * L + j];
                if (g && (g[j] < 0 || g[j] != g[i])) row[j] = -INFINITY;
                if (row[j] > mx) mx = row[j];
            }
            if (mx == -INFINITY) {
                memset(row, 0, sizeof(float) * L);
                if (lse) lse[off + i] = INFINITY;
                continue;
            }
            for (int j = 0; j < L; j++) sum += row[j] = expf(row[j] - mx);
            for (int j = 0; j < L; j++) row[j] /= sum;
            if (lse) lse[off + i] = mx + logf(sum);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, L, 1.0f, S, L, v + off * D, D, 0.0f, o + off * D,
                    D);
    }
    free(S);
}
