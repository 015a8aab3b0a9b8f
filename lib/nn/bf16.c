/* bfloat16: the portable conversions and the AVX512_BF16 kernels of the
 * linear layer's products in NN_BF16 mode (nn/precision.h).
 *
 * The hardware kernels exist in the avx512 copy of lib/nn only (the file is
 * compiled once per kernel level, lib/nn/kernels.h; the others keep the
 * portable path and x86-64-v2/v3 code only): compiled for AVX512_BF16 (and
 * AMX) by function attribute (BF16_TARGET), and run only where
 * nn_bf16_hardware() says the CPU has them and that level runs (linear.c
 * asks).
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
#include "nn/layers.h"
#include "nn/layers_impl.h"
#include "nn/precision.h"

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
float nn_bf16_to_f32(uint16_t h) { return bf16_to_f32(h); }
float nn_bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }

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

#if defined(__AVX512F__) /* the avx512 level (or a native AVX-512 build) */

/* ------------------------------------------------------------------ AVX512_BF16 kernels */

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

#define HMR 8  /* rows of a tile */
#define HNC 32 /* columns of a tile (2 vectors) */

enum { HEP_SET, HEP_ACC, HEP_RES }; /* C = S + bias; C += S; C = res + S + bias */

typedef struct {
    const uint32_t *A;
    int64_t ars, aps; /* A pair (r, p) at A[r ars + p aps] */
    const uint32_t *B;
    int64_t bps; /* B pair (p, c) at B[p bps + c] */
    int64_t P;   /* pairs summed */
    float *C;
    int64_t crs;       /* C[r, c] = C[r crs + c]; res the same */
    int nc;            /* columns of this tile, 1..32 */
    int ep;            /* HEP_* */
    const float *bias; /* nc floats or NULL (HEP_SET, HEP_RES) */
    const float *res;  /* HEP_RES */
} htile;

/* 16 sums x (lanes m) into c: C = x + bias, C += x, or C = res + x + bias. */
static inline __attribute__((always_inline)) BF16_TARGET void ep16(float *c, __m512 x, __mmask16 m, int ep,
                                                                   const float *bias, const float *res)
{
    if (ep == HEP_ACC) {
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, c));
    } else {
        if (bias)
            x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, bias));
        if (ep == HEP_RES)
            x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, res), x);
    }
    _mm512_mask_storeu_ps(c, m, x);
}

static inline __mmask16 mask16(int n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << (n > 0 ? n : 0)) - 1u); }

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
            const int64_t off = r * t->crs + 16 * v;
            ep16(t->C + off, acc[r][v], v == V - 1 ? ml : (__mmask16)0xffff, t->ep, t->bias ? t->bias + 16 * v : NULL,
                 t->res ? t->res + off : NULL);
        }
}

/* The kernels for each (rows, vectors), generated and tabulated (by hand: not clang-format). */
/* clang-format off */
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
/* clang-format on */

static inline void run_htile(int R, const htile *t) { htk_table[R - 1][t->nc > 16](t); }

/* rows of src (rows x K floats, row stride sld) -> bf16 rows of Kp >= K
 * elements (Kp even; the pad 0) at dst (row stride dld elements >= Kp). */
static BF16_TARGET void pack_rows(uint16_t *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int K,
                                  int Kp)
{
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
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                         5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int k = 0; k < K; k += 16) {
        const __mmask16 m = (__mmask16)(K - k >= 16 ? 0xffffu : (1u << (K - k)) - 1u);
        __m512 lo = _mm512_maskz_loadu_ps(m, r0 + k);
        __m512 hi = r1 ? _mm512_maskz_loadu_ps(m, r1 + k) : _mm512_setzero_ps();
        __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* 16-bit lanes lo0..lo15 hi0..hi15 */
        _mm512_mask_storeu_epi32(dst + k, m, _mm512_permutexvar_epi16(idx, h));
    }
}

/* ------------------------------------------------------------------ AMX-BF16 tiles */

#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))

/* Tile registers: 0-3 the sums of a 32 x 32 block (2 x 2 tiles of 16 x 16
 * floats), 4-5 two 16-row slices of A (16 rows x 32 bf16, 16 pairs), 6-7 two
 * 16-column slices of B (16 pairs x 16 columns). Configured per thread. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

static AMX_TARGET void amx_begin(void)
{
    amx_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 8; i++)
        c.colsb[i] = 64, c.rows[i] = 16;
    /* GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes of c, and
     * -march=x86-64 builds dropped the stores of colsb and rows as dead
     * (ldtilecfg then faulted): say that all of c is read. */
    __asm__ volatile("" : : "m"(c) : "memory");
    _tile_loadconfig(&c);
}

static AMX_TARGET void amx_end(void) { _tile_release(); }

/* out = init + A B for a block of 16 or 32 rows (two_r) by 16 or 32 columns
 * (two_c) of floats, rows out_rs floats apart (init: init_rs apart, 0 for
 * one row repeated, e.g. a bias; NULL for 0), over KT steps of 32 k: A bf16
 * rows (lda elements apart), B pairs (bps apart, 16 pairs a step). */
static AMX_TARGET void amx_block(float *out, int64_t out_rs, const float *init, int64_t init_rs, const uint16_t *A,
                                 int64_t lda, const uint32_t *B, int64_t bps, int64_t KT, int two_r, int two_c)
{
    const int64_t is = init_rs * 4, os = out_rs * 4;
    /* GCC 12's _tile_loadd does not tell the compiler it reads memory: the
     * packing's stores must be done before the loads below */
    __asm__ volatile("" : : : "memory");
/* op (a tile load or store) on the block's tiles 0-3: tile (i, j) at p + 16 (i rs + j) */
#define C_TILES(op, p, rs, bytes)                                                                                      \
    do {                                                                                                               \
        op(0, (p), (bytes));                                                                                           \
        if (two_c)                                                                                                     \
            op(1, (p) + 16, (bytes));                                                                                  \
        if (two_r)                                                                                                     \
            op(2, (p) + 16 * (rs), (bytes));                                                                           \
        if (two_r && two_c)                                                                                            \
            op(3, (p) + 16 * (rs) + 16, (bytes));                                                                      \
    } while (0)
    if (init) {
        C_TILES(_tile_loadd, init, init_rs, is);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (int64_t kt = 0; kt < KT; kt++) {
        const uint16_t *a = A + kt * 32;
        const uint32_t *b = B + kt * 16 * bps;
        _tile_loadd(4, a, lda * 2);
        _tile_loadd(6, b, bps * 4);
        _tile_dpbf16ps(0, 4, 6);
        if (two_c) {
            _tile_loadd(7, b + 16, bps * 4);
            _tile_dpbf16ps(1, 4, 7);
        }
        if (two_r) {
            _tile_loadd(5, a + 16 * lda, lda * 2);
            _tile_dpbf16ps(2, 5, 6);
            if (two_c)
                _tile_dpbf16ps(3, 5, 7);
        }
    }
    C_TILES(_tile_stored, out, out_rs, os);
#undef C_TILES
}

/* The block's sums s (32 x 32, R <= 32 rows, nc <= 32 columns) into C through ep. */
static AMX_TARGET void amx_epilogue(float *C, int64_t crs, const float *s, int R, int nc, int ep, const float *bias,
                                    const float *res)
{
    for (int r = 0; r < R; r++)
        for (int v = 0; v < 2 && 16 * v < nc; v++) {
            const int64_t off = r * crs + 16 * v;
            ep16(C + off, _mm512_loadu_ps(s + r * 32 + 16 * v), mask16(nc - 16 * v), ep, bias ? bias + 16 * v : NULL,
                 res ? res + off : NULL);
        }
}

/* One 32 x 32 block (R rows, nc columns) of C through ep: whole 16 x 16 tiles
 * straight from and to C (the sums start from C, res or the bias; with
 * post_bias the bias of HEP_RES is left to the caller), partial ones through
 * the scratch s (1024 floats). */
static AMX_TARGET void amx_gemm_block(float *C, int64_t crs, int R, int nc, int ep, const float *bias, const float *res,
                                      int post_bias, const uint16_t *A, int64_t lda, const uint32_t *B, int64_t bps,
                                      int64_t KT, float *s)
{
    const int two_r = R > 16, two_c = nc > 16;
    if (R % 16 || nc % 16) {
        amx_block(s, 32, NULL, 0, A, lda, B, bps, KT, two_r, two_c);
        amx_epilogue(C, crs, s, R, nc, ep, post_bias ? NULL : bias, res);
    } else if (ep == HEP_ACC) {
        amx_block(C, crs, C, crs, A, lda, B, bps, KT, two_r, two_c);
    } else if (ep == HEP_RES) {
        amx_block(C, crs, res, crs, A, lda, B, bps, KT, two_r, two_c);
    } else {
        amx_block(C, crs, bias, 0, A, lda, B, bps, KT, two_r, two_c);
    }
}

/* ------------------------------------------------------------------ the products */

/* Rows per parallel work item of the forward and dx products. */
#define HROWS_PER_ITEM (HMR * 12)

static int64_t round_up(int64_t v, int m) { return (v + m - 1) / m * m; }

/* C (n x ncols, row stride crs) <- A (n x K floats, row stride lda, rounded
 * to bf16 per item) times Bp (pairs, bps apart, columns padded to whole
 * vectors; with amx (K + 1) / 2 rounded up to 16 pairs, the pad 0), through
 * epilogue ep; unless gy is NULL, then gy = GELU(C) per item of rows while
 * they are in cache (crs = ncols). */
static void rows_gemm_bf16(float *C, int64_t crs, const float *A, int64_t lda, int K, const uint32_t *Bp, int64_t bps,
                           int64_t n, int ncols, int ep, const float *bias, const float *res, int amx, float *gy)
{
    const int P = (K + 1) / 2, Kp = amx ? (int)round_up(K, 32) : 2 * P, post_bias = ep == HEP_RES && bias;
    const int64_t items = (n + HROWS_PER_ITEM - 1) / HROWS_PER_ITEM;
#pragma omp parallel if (n * (int64_t)(K + ncols) > 65536)
    {
        uint32_t *ab32 = tf_calloc((size_t)HROWS_PER_ITEM * (size_t)Kp / 2, sizeof(uint32_t), "bf16 rows");
        uint16_t *ab = (uint16_t *)ab32; /* rows of Kp bf16: Kp / 2 pairs */
        float *s = amx ? tf_malloc(1024 * sizeof(float), "tile sums") : NULL;
        if (amx)
            amx_begin();
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            int64_t r0 = it * HROWS_PER_ITEM, r1 = r0 + HROWS_PER_ITEM < n ? r0 + HROWS_PER_ITEM : n;
            pack_rows(ab, Kp, A + r0 * lda, lda, r1 - r0, K, Kp);
            if (amx) { /* 32 x 32 blocks; the rows of a partial last tile read zeros */
                memset(ab + (r1 - r0) * Kp, 0, (size_t)(round_up(r1 - r0, 16) - (r1 - r0)) * Kp * sizeof(uint16_t));
                for (int c0 = 0; c0 < ncols; c0 += 32)
                    for (int64_t r = r0; r < r1; r += 32) {
                        const int R = r1 - r < 32 ? (int)(r1 - r) : 32, nc = ncols - c0 < 32 ? ncols - c0 : 32;
                        amx_gemm_block(C + r * crs + c0, crs, R, nc, ep, bias ? bias + c0 : NULL,
                                       res ? res + r * crs + c0 : NULL, post_bias, ab + (r - r0) * Kp, Kp, Bp + c0, bps,
                                       Kp / 32, s);
                    }
                if (post_bias) /* C = (res + S) + bias */
                    for (int64_t r = r0; r < r1; r++) {
                        float *c = C + r * crs;
#pragma omp simd
                        for (int j = 0; j < ncols; j++)
                            c[j] += bias[j];
                    }
            } else {
                for (int c0 = 0; c0 < ncols; c0 += HNC)
                    for (int64_t r = r0; r < r1; r += HMR) {
                        int R = r1 - r < HMR ? (int)(r1 - r) : HMR;
                        htile t = {.A = ab32 + (r - r0) * P,
                                   .ars = P,
                                   .aps = 1,
                                   .B = Bp + c0,
                                   .bps = bps,
                                   .P = P,
                                   .C = C + r * crs + c0,
                                   .crs = crs,
                                   .nc = ncols - c0 < HNC ? ncols - c0 : HNC,
                                   .ep = ep,
                                   .bias = bias ? bias + c0 : NULL,
                                   .res = res ? res + r * crs + c0 : NULL};
                        run_htile(R, &t);
                    }
            }
            if (gy)
                gelu_forward(gy + r0 * crs, C + r0 * crs, (r1 - r0) * crs);
        }
        if (amx)
            amx_end();
        free(ab32);
        free(s);
    }
}

/* B of the forward and dx products: pairs over k of the weights, Bp[p, c] =
 * (w[c ks + 2p kk], w[c ks + (2p + 1) kk]) for k < K, c < ncols; zero-padded
 * to bps = ncols rounded up to 16 columns and, with amx, to 16-pair steps. */
static uint32_t *pack_weights(const float *w, int64_t ks, int64_t kk, int K, int ncols, int amx, int64_t *bps)
{
    const int64_t P = (K + 1) / 2, rows = amx ? round_up(P, 16) : P, ld = round_up(ncols, 16);
    uint32_t *bp = tf_calloc((size_t)rows * (size_t)ld, sizeof(uint32_t), "bf16 weights");
    for (int64_t p = 0; p < P; p++)
        for (int c = 0; c < ncols; c++)
            bp[p * ld + c] = pair_of(w[c * ks + 2 * p * kk], 2 * p + 1 < K ? w[c * ks + (2 * p + 1) * kk] : 0.0f);
    *bps = ld;
    return bp;
}

void nn_bf16_linear_fwd(float *y, float *gy, const float *res, const float *x, const float *w, const float *b,
                        int64_t n, int in, int out)
{
    const int amx = nn_bf16_amx();
    int64_t bps;
    uint32_t *wt = pack_weights(w, in, 1, in, out, amx, &bps); /* W^T: k = i, column o at w[o in + i] */
    rows_gemm_bf16(y, out, x, in, in, wt, bps, n, out, res ? HEP_RES : HEP_SET, b, res, amx, gy);
    free(wt);
}

void nn_bf16_linear_dx(float *dx, int set, const float *dy, const float *w, int64_t n, int in, int out)
{
    const int amx = nn_bf16_amx();
    int64_t bps;
    uint32_t *wp = pack_weights(w, 1, in, out, in, amx, &bps); /* W: k = o, column i at w[o in + i] */
    rows_gemm_bf16(dx, in, dy, out, out, wp, bps, n, in, set ? HEP_SET : HEP_ACC, NULL, NULL, amx, NULL);
    free(wp);
}

/* dW += dy^T x on AMX. The tokens in chunks of 1024 (the buffers stay small:
 * no fresh pages per call); the chunks dealt round-robin to AMX_DW_GROUPS groups
 * (a fixed number: the sums do not depend on the thread count), each group
 * summing its chunks into its own partial dW with no barrier, the partials
 * then added to dW in group order. Per chunk: A = dy^T as bf16 rows along the
 * tokens (pairs of dy packed, then transposed), B = x as pairs of tokens;
 * 32 x 32 blocks. The pad (tokens past n, rows past out, columns past in) is 0. */
#define AMX_DW_GROUPS 4
static void amx_dw(float *dw, const float *dy, const float *x, int64_t n, int in, int out)
{
    const int64_t CHUNK = 1024, nchunks = (n + CHUNK - 1) / CHUNK,
                  G = nchunks < AMX_DW_GROUPS ? nchunks : AMX_DW_GROUPS;
    const int64_t PC = (n < CHUNK ? round_up(n, 32) : CHUNK) / 2, outp = round_up(out, 16), inp = round_up(in, 16);
    const int64_t nw = (int64_t)out * in;
    float *part = G > 1 ? tf_calloc((size_t)(G * nw), sizeof(float), "dW partial sums") : NULL;
    const int nrb = (out + 31) / 32, ncb = (in + 31) / 32;
#pragma omp parallel for schedule(static) if (G > 1 && n * (int64_t)(in + out) > 65536)
    for (int64_t g = 0; g < G; g++) {
        /* buffers for PC pairs; the pads (rows of at past out, columns of xp past in) zeroed once:
         * the packing never writes them */
        uint32_t *dp = tf_malloc((size_t)PC * (size_t)out * sizeof(uint32_t), "bf16 dy pairs");
        uint32_t *at = tf_malloc((size_t)(outp * PC) * sizeof(uint32_t), "bf16 dy rows");
        uint32_t *xp = tf_malloc((size_t)(PC * inp) * sizeof(uint32_t), "bf16 x pairs");
        float *s = tf_malloc(1024 * sizeof(float), "tile sums");
        memset(at + out * PC, 0, (size_t)((outp - out) * PC) * sizeof(uint32_t));
        for (int64_t p = 0; p < PC && inp > in; p++)
            memset(xp + p * inp + in, 0, (size_t)(inp - in) * sizeof(uint32_t));
        float *acc = G > 1 ? part + g * nw : dw;
        amx_begin();
        for (int64_t t0 = g * CHUNK; t0 < n; t0 += G * CHUNK) {
            const int64_t K = n - t0 < CHUNK ? n - t0 : CHUNK, P = (K + 1) / 2, P16 = round_up(P, 16);
            for (int64_t p = 0; p < P; p++) {
                const int64_t k = t0 + 2 * p;
                const int two = 2 * p + 1 < K;
                pack_pairs(dp + p * out, dy + k * out, two ? dy + (k + 1) * out : NULL, out);
                pack_pairs(xp + p * inp, x + k * in, two ? x + (k + 1) * in : NULL, in);
            }
            for (int64_t p = P; p < P16; p++)
                memset(xp + p * inp, 0, (size_t)in * sizeof(uint32_t));
            for (int o = 0; o < out; o++) {
                uint32_t *row = at + o * PC;
                for (int64_t p = 0; p < P; p++)
                    row[p] = dp[p * out + o];
                for (int64_t p = P; p < P16; p++)
                    row[p] = 0;
            }
            for (int bi = 0; bi < nrb * ncb; bi++) {
                const int o0 = bi / ncb * 32, i0 = bi % ncb * 32;
                const int R = out - o0 < 32 ? out - o0 : 32, nc = in - i0 < 32 ? in - i0 : 32;
                amx_gemm_block(acc + (int64_t)o0 * in + i0, in, R, nc, HEP_ACC, NULL, NULL, 0,
                               (const uint16_t *)(at + o0 * PC), 2 * PC, xp + i0, inp, P16 / 16, s);
            }
        }
        amx_end();
        free(dp);
        free(at);
        free(xp);
        free(s);
    }
    if (part) {
#pragma omp parallel for schedule(static) if (nw > 65536)
        for (int64_t e = 0; e < nw; e++) {
            float v = dw[e];
            for (int64_t g = 0; g < G; g++)
                v += part[g * nw + e];
            dw[e] = v;
        }
        free(part);
    }
}

void nn_bf16_linear_dw(float *dw, const float *dy, const float *x, int64_t n, int in, int out)
{
    if (nn_bf16_amx()) {
        amx_dw(dw, dy, x, n, in, out);
        return;
    }
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
            htile t = {.A = dp + o0,
                       .ars = 1,
                       .aps = out,
                       .B = xp + i0,
                       .bps = in,
                       .P = P,
                       .C = dw + (int64_t)o0 * in + i0,
                       .crs = in,
                       .nc = in - i0 < HNC ? in - i0 : HNC,
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
    pack_rows(rows, n + (n & 1), x, n, 1, n, n + (n & 1));
    pack_pairs(pairs, x, x2, n);
}

#else /* the portable and avx2 levels: no hardware path (nn_bf16_hardware() is 0 there) */

static void no_hardware(void)
{
    tf_die("bf16: the AVX512_BF16 kernels exist only in the avx512 kernel level (TFSWA_KERNELS)");
}
void nn_bf16_linear_fwd(float *y, float *gy, const float *res, const float *x, const float *w, const float *b,
                        int64_t n, int in, int out)
{
    no_hardware();
}
void nn_bf16_linear_dx(float *dx, int set, const float *dy, const float *w, int64_t n, int in, int out)
{
    no_hardware();
}
void nn_bf16_linear_dw(float *dw, const float *dy, const float *x, int64_t n, int in, int out) { no_hardware(); }
void nn_bf16_pack_test(uint16_t *rows, uint32_t *pairs, const float *x, const float *x2, int n) { no_hardware(); }

#endif
