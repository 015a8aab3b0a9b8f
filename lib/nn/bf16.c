/* bfloat16: the portable conversions and the AVX512_BF16 kernels of the
 * linear layer's products in NN_BF16 mode (nn/precision.h).
 *
 * The hardware kernels are compiled for AVX512F/BW/VL + AVX512_BF16 by
 * function attribute (BF16_TARGET), whatever the file's -march, and run
 * only where nn_bf16_hardware() says the CPU has them (linear.c asks).
 *
 * One micro-kernel, on bf16 pairs (two bf16 in a 32-bit word, the even k
 * in the low half):
 *
 *   C[r, c] (+)= sum_p dot2(A[r ars + p aps], B[p bps + c]),  r < R <= 8, c < 32,
 *
 * a tile of 8 x 32 floats in 16 zmm accumulators; per pair p a broadcast
 * of A's pair per row and vdpbf16ps against two vectors of B's pairs
 * (acc += a.lo b.lo + a.hi b.hi, products exact, sums in fp32). Operands:
 *   forward  y  = x W^T + b   A = x rows as bf16 (packed per block of rows,
 *                             in L2), B = W^T as pairs over in (once)
 *   dx       dx (+)= dy W     A = dy rows as bf16, B = W as pairs over out
 *   dW       dW += dy^T x     per chunk of tokens: A = dy and B = x as
 *                             pairs of consecutive tokens (A broadcast
 *                             down dy's columns: ars 1, aps out); each
 *                             tile adds its chunk sum to dW (two-level
 *                             summation, as the fp32 kernels)
 * Packing: vcvtne2ps2bf16 (round to nearest even; the instruction treats
 * subnormal inputs as zero, and so does vdpbf16ps), and for pairs of rows a
 * vpermw interleaving the two converted rows. Every output element is
 * summed by one thread in a fixed order: results do not depend on the
 * thread count. */
#include "nn/precision.h"
#include "nn/layers_impl.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "util/cli.h"

/* ------------------------------------------------------------------ portable conversions */

static inline uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep the sign and the payload's top, make it quiet */
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest, ties to even (the carry may reach inf: right) */
    return (uint16_t)(u >> 16);
}

static inline float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t nn_f32_to_bf16(float f) { return f32_to_bf16(f); }
float    nn_bf16_to_f32(uint16_t h) { return bf16_to_f32(h); }
float    nn_bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }

void nn_bf16_round_array(float *y, const float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        y[i] = bf16_to_f32(f32_to_bf16(x[i]));
}

/* A pair: lo the even k, hi the odd k. */
static inline uint32_t pair_of(float lo, float hi)
{
    return (uint32_t)f32_to_bf16(lo) | (uint32_t)f32_to_bf16(hi) << 16;
}

/* ------------------------------------------------------------------ AVX512_BF16 kernels */

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

#define HMR 8  /* rows of a tile */
#define HNC 32 /* columns of a tile (2 vectors) */

enum { HEP_SET, HEP_ACC, HEP_RES }; /* C = S + bias; C += S; C = res + S + bias */

typedef struct {
    const uint32_t *A;
    int64_t ars, aps; /* A pair (r, p) at A[r ars + p aps] */
    const uint32_t *B;
    int64_t bps;      /* B pair (p, c) at B[p bps + c] */
    int64_t P;        /* pairs summed */
    float *C;
    int64_t crs;      /* C[r, c] = C[r crs + c]; res the same */
    int nc;           /* columns of this tile, 1..32 */
    int ep;           /* HEP_* */
    const float *bias; /* nc floats or NULL (HEP_SET, HEP_RES) */
    const float *res;  /* HEP_RES */
} htile;

static inline __attribute__((always_inline)) BF16_TARGET void htile_kernel(const int R, const int V, const htile *t)
{
    __m512 acc[HMR][2];
    const int last = t->nc - 16 * (V - 1); /* columns in the last vector, 1..16 */
    const __mmask16 ml = (__mmask16)((1u << last) - 1u);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_setzero_ps();
    const uint32_t *a = t->A, *b = t->B;
    const int64_t ars = t->ars, aps = t->aps, bps = t->bps;
    for (int64_t p = 0; p < t->P; p++) {
        __m512bh bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            bv[v] = (__m512bh)_mm512_maskz_loadu_epi32(v == V - 1 ? ml : (__mmask16)0xffff, b + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r * ars]);
#pragma GCC unroll 2
            for (int v = 0; v < V; v++)
                acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
        }
        a += aps;
        b += bps;
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) {
            const __mmask16 m = v == V - 1 ? ml : (__mmask16)0xffff;
            const int64_t off = r * t->crs + 16 * v;
            float *c = t->C + off;
            __m512 x = acc[r][v];
            if (t->ep == HEP_ACC) {
                x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, c));
            } else {
                if (t->bias)
                    x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, t->bias + 16 * v));
                if (t->ep == HEP_RES)
                    x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, t->res + off), x);
            }
            _mm512_mask_storeu_ps(c, m, x);
        }
}

#define HTK(R, V) static BF16_TARGET void htk_##R##_##V(const htile *t) { htile_kernel(R, V, t); }
#define HTKR(R) HTK(R, 1) HTK(R, 2)
HTKR(1) HTKR(2) HTKR(3) HTKR(4) HTKR(5) HTKR(6) HTKR(7) HTKR(8)
#undef HTKR
#undef HTK

typedef void (*htk_fn)(const htile *);
static const htk_fn htk_table[HMR][2] = {
#define HTKR(R) {htk_##R##_1, htk_##R##_2}
    HTKR(1), HTKR(2), HTKR(3), HTKR(4), HTKR(5), HTKR(6), HTKR(7), HTKR(8)
#undef HTKR
};

static inline void run_htile(int R, const htile *t) { htk_table[R - 1][t->nc > 16](t); }

/* rows of src (rows x K floats, row stride sld) -> bf16 rows of K + (K & 1)
 * elements (the pad 0) at dst (row stride dld elements, dld >= K + (K & 1)). */
static BF16_TARGET void pack_rows(uint16_t *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int K)
{
    const int Kp = K + (K & 1);
    for (int64_t r = 0; r < rows; r++) {
        const float *s = src + r * sld;
        uint16_t *d = dst + r * dld;
        for (int k = 0; k < Kp; k += 32) {
            const int rem = K - k, nl = rem > 16 ? 16 : rem, nh = rem - 16 > 16 ? 16 : rem - 16 > 0 ? rem - 16 : 0;
            __m512 lo = _mm512_maskz_loadu_ps((__mmask16)((1u << nl) - 1u), s + k);
            __m512 hi = _mm512_maskz_loadu_ps((__mmask16)((1u << nh) - 1u), s + k + 16);
            __m512bh h = _mm512_cvtne2ps_pbh(hi, lo);
            int ns = Kp - k < 32 ? Kp - k : 32;
            _mm512_mask_storeu_epi16(d + k, (__mmask32)(ns == 32 ? 0xffffffffu : (1u << ns) - 1u), (__m512i)h);
        }
    }
}

/* dst[c] = pair(r0[c], r1[c]) for c < K; r1 NULL: the hi halves 0. */
static BF16_TARGET void pack_pairs(uint32_t *dst, const float *r0, const float *r1, int K)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int k = 0; k < K; k += 16) {
        const __mmask16 m = (__mmask16)(K - k >= 16 ? 0xffffu : (1u << (K - k)) - 1u);
        __m512 lo = _mm512_maskz_loadu_ps(m, r0 + k);
        __m512 hi = r1 ? _mm512_maskz_loadu_ps(m, r1 + k) : _mm512_setzero_ps();
        __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* 16-bit lanes lo0..lo15 hi0..hi15 */
        _mm512_mask_storeu_epi32(dst + k, m, _mm512_permutexvar_epi16(idx, h));
    }
}

/* Rows per parallel work item of the forward and dx products. */
#define HROWS_PER_ITEM (HMR * 12)

/* C (n x ncols, row stride crs) <- A (n x K floats, row stride lda, rounded
 * to bf16 per item) times Bp (pairs, (K + 1) / 2 x bps, columns padded to
 * whole vectors), through epilogue ep. */
static void rows_gemm_bf16(float *C, int64_t crs, const float *A, int64_t lda, int K, const uint32_t *Bp,
                           int64_t bps, int64_t n, int ncols, int ep, const float *bias, const float *res)
{
    const int P = (K + 1) / 2;
    const int64_t items = (n + HROWS_PER_ITEM - 1) / HROWS_PER_ITEM;
#pragma omp parallel if (n * (int64_t)(K + ncols) > 65536)
    {
        uint32_t *ab = tf_malloc((size_t)HROWS_PER_ITEM * (size_t)P * sizeof(uint32_t), "bf16 rows");
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            int64_t r0 = it * HROWS_PER_ITEM, r1 = r0 + HROWS_PER_ITEM < n ? r0 + HROWS_PER_ITEM : n;
            pack_rows((uint16_t *)ab, 2 * (int64_t)P, A + r0 * lda, lda, r1 - r0, K);
            for (int c0 = 0; c0 < ncols; c0 += HNC)
                for (int64_t r = r0; r < r1; r += HMR) {
                    int R = r1 - r < HMR ? (int)(r1 - r) : HMR;
                    htile t = {.A = ab + (r - r0) * P, .ars = P, .aps = 1, .B = Bp + c0, .bps = bps, .P = P,
                               .C = C + r * crs + c0, .crs = crs, .nc = ncols - c0 < HNC ? ncols - c0 : HNC,
                               .ep = ep, .bias = bias ? bias + c0 : NULL, .res = res ? res + r * crs + c0 : NULL};
                    run_htile(R, &t);
                }
        }
        free(ab);
    }
}

static int round16(int c) { return (c + 15) & ~15; }

void nn_bf16_linear_fwd(float *y, const float *res, const float *x, const float *w, const float *b, int64_t n,
                        int in, int out)
{
    /* W^T as pairs over in: Bp[p, o] = (w[o, 2p], w[o, 2p + 1]), columns padded to 16 */
    const int P = (in + 1) / 2, outp = round16(out);
    uint32_t *wt = tf_calloc((size_t)P * (size_t)outp, sizeof(uint32_t), "bf16 weights");
    for (int o = 0; o < out; o++)
        for (int p = 0; p < P; p++)
            wt[(size_t)p * outp + o] =
                pair_of(w[(size_t)o * in + 2 * p], 2 * p + 1 < in ? w[(size_t)o * in + 2 * p + 1] : 0.0f);
    rows_gemm_bf16(y, out, x, in, in, wt, outp, n, out, res ? HEP_RES : HEP_SET, b, res);
    free(wt);
}

void nn_bf16_linear_dx(float *dx, int set, const float *dy, const float *w, int64_t n, int in, int out)
{
    /* W as pairs over out: Bp[p, i] = (w[2p, i], w[2p + 1, i]) */
    const int P = (out + 1) / 2, inp = round16(in);
    uint32_t *wp = tf_calloc((size_t)P * (size_t)inp, sizeof(uint32_t), "bf16 weights");
    for (int p = 0; p < P; p++)
        for (int i = 0; i < in; i++)
            wp[(size_t)p * inp + i] =
                pair_of(w[(size_t)(2 * p) * in + i], 2 * p + 1 < out ? w[(size_t)(2 * p + 1) * in + i] : 0.0f);
    rows_gemm_bf16(dx, in, dy, out, out, wp, inp, n, in, set ? HEP_SET : HEP_ACC, NULL, NULL);
    free(wp);
}

void nn_bf16_linear_dw(float *dw, const float *dy, const float *x, int64_t n, int in, int out)
{
    int64_t chunk = (int64_t)nn_linear_chunk / (in + out);
    chunk = chunk < 64 ? 64 : chunk > 1024 ? 1024 : chunk & ~(int64_t)1;
    const int64_t maxp = chunk / 2;
    uint32_t *dp = tf_malloc((size_t)maxp * (size_t)out * sizeof(uint32_t), "bf16 dy pairs");
    uint32_t *xp = tf_malloc((size_t)maxp * (size_t)in * sizeof(uint32_t), "bf16 x pairs");
    const int nrb = (out + HMR - 1) / HMR, ncb = (in + HNC - 1) / HNC, ntiles = nrb * ncb;
#pragma omp parallel if (n * (int64_t)(in + out) > 65536)
    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        const int64_t K = n - t0 < chunk ? n - t0 : chunk, P = (K + 1) / 2;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < P; p++) {
            const int64_t k = t0 + 2 * p;
            const int two = 2 * p + 1 < K;
            pack_pairs(dp + p * out, dy + k * out, two ? dy + (k + 1) * out : NULL, out);
            pack_pairs(xp + p * in, x + k * in, two ? x + (k + 1) * in : NULL, in);
        }
#pragma omp for schedule(static)
        for (int ti = 0; ti < ntiles; ti++) {
            const int o0 = ti / ncb * HMR, i0 = ti % ncb * HNC;
            htile t = {.A = dp + o0, .ars = 1, .aps = out, .B = xp + i0, .bps = in, .P = P,
                       .C = dw + (int64_t)o0 * in + i0, .crs = in, .nc = in - i0 < HNC ? in - i0 : HNC,
                       .ep = HEP_ACC};
            run_htile(out - o0 < HMR ? out - o0 : HMR, &t);
        }
    }
    free(dp);
    free(xp);
}

/* Tests: the packing against the portable conversion (n floats). */
void nn_bf16_pack_test(uint16_t *rows, uint32_t *pairs, const float *x, const float *x2, int n)
{
    pack_rows(rows, n + (n & 1), x, n, 1, n);
    pack_pairs(pairs, x, x2, n);
}
