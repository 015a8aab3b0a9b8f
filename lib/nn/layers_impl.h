/* Internal helpers shared by the layer implementations (not a public API). */
#ifndef TFSWA_NN_LAYERS_IMPL_H
#define TFSWA_NN_LAYERS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Process-wide settings of lib/nn (defined in lib/nn/state.c, the one file of
 * lib/nn compiled once: the kernel files are compiled once per CPU level, see
 * lib/nn/kernels.h, and must hold no global state of their own). */

/* Tokens per attention / MLP chunk of lib/nn/tlayer.c (0: the defaults);
 * tlayer_set_chunks sets them. */
extern int nn_tlayer_att_tokens, nn_tlayer_mlp_tokens;

/* Row chunk used for deterministic reductions over rows: partial sums are
 * formed per fixed chunk of rows (independent of the thread count) and then
 * added in chunk order, so results do not depend on the number of threads. */
#define NN_ROW_CHUNK 1024

/* acc[j] += sum_i m[i * c + j] over n rows; deterministic. */
void nn_colsum_acc(float *acc, const float *m, int64_t n, int c);

/* Column-buffer budget of one convolution tile in floats (default 2^19 =
 * 2 MiB). Only tests and the benchmark change it. */
extern size_t nn_conv_tile_floats;

/* Which kernels linear_forward/linear_backward use: 0 (default) chooses by
 * shape, 1 forces the register-blocked AVX2 kernels of linear.c (where the
 * build has AVX2 + FMA, i.e. NN_HAVE_AVX2 below; else OpenBLAS), 2 forces
 * OpenBLAS. Only tests and the benchmark
 * change it. */
extern int nn_linear_mode;
/* Floats of (dy, x) per token chunk of the own dW pass (default 2^16). */
extern int nn_linear_chunk;

/* The AVX512_BF16 products of NN_BF16 mode (bf16.c; call only where
 * nn_bf16_hardware() is 1). Operands rounded to bf16, sums in fp32:
 * fwd: y = [res +] x W^T + b (res may be y; b may be NULL) and, unless gy
 *      is NULL, gy = GELU(y) (gy may be y);
 * dx:  dx = dy W (set) or dx += dy W;  dw: dW += dy^T x. in, out >= 1. */
void nn_bf16_linear_fwd(float *y, float *gy, const float *res, const float *x, const float *w, const float *b,
                        int64_t n, int in, int out);
void nn_bf16_linear_dx(float *dx, int set, const float *dy, const float *w, int64_t n, int in, int out);
void nn_bf16_linear_dw(float *dw, const float *dy, const float *x, int64_t n, int in, int out);
/* Tests: x (n floats) packed by the kernels' converter as one bf16 row
 * (rows, n + (n & 1) elements) and as pairs with x2 (pairs, n; x2 may be NULL). */
void nn_bf16_pack_test(uint16_t *rows, uint32_t *pairs, const float *x, const float *x2, int n);

/* GELU on 8 lanes (AVX2 + FMA builds): the approximations of act.c (see
 * there), shared with the fused epilogues of linear.c. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define NN_HAVE_AVX2 1
#define V8(c) _mm256_set1_ps(c)
/* The same approximations, 8 lanes at a time, with the division of erf
 * replaced by a reciprocal estimate and one Newton step (relative error
 * ~1e-7 instead of 0.5 ulp; q lies in [-0.0143, -0.0006] on the clamped
 * range, far from 0): the division (vdivps) was the bottleneck of GELU. */
static inline __m256 nn_erf8(__m256 x)
{
    x = _mm256_min_ps(V8(4.0f), _mm256_max_ps(V8(-4.0f), x)); /* NaN stays NaN (second operand) */
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(x2, V8(-2.72614225801306e-10f), V8(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(x2, p, V8(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(x2, p, V8(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(x2, p, V8(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(x2, p, V8(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(x2, p, V8(-1.60960333262415e-02f));
    __m256 q = _mm256_fmadd_ps(x2, V8(-1.45660718464996e-05f), V8(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(x2, q, V8(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(x2, q, V8(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(x2, q, V8(-1.42647390514189e-02f));
    __m256 r = _mm256_rcp_ps(q);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, V8(2.0f)));
    return _mm256_mul_ps(_mm256_mul_ps(x, p), r);
}

static inline __m256 nn_exp_neg8(__m256 x)
{
    x = _mm256_max_ps(x, V8(-87.0f)); /* NaN -> -87 (second operand) */
    __m256 n = _mm256_round_ps(_mm256_fmadd_ps(x, V8(1.44269504088896341f), V8(0.5f)),
                               _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, V8(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, V8(-2.12194440e-4f), r);
    __m256 p = V8(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, V8(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, V8(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, V8(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, V8(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, V8(5.0000001201e-1f));
    __m256 e = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), V8(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(e, _mm256_castsi256_ps(bits));
}

static inline __m256 nn_gelu8(__m256 v)
{
    __m256 h = _mm256_mul_ps(V8(0.5f), v);
    return _mm256_fmadd_ps(h, nn_erf8(_mm256_mul_ps(v, V8(0.70710678118654752440f))), h);
}

/* d GELU / dx = cdf + x pdf */
static inline __m256 nn_dgelu8(__m256 v)
{
    __m256 cdf = _mm256_fmadd_ps(V8(0.5f), nn_erf8(_mm256_mul_ps(v, V8(0.70710678118654752440f))), V8(0.5f));
    __m256 pdf = _mm256_mul_ps(V8(0.39894228040143267794f), nn_exp_neg8(_mm256_mul_ps(_mm256_mul_ps(V8(-0.5f), v), v)));
    return _mm256_fmadd_ps(v, pdf, cdf);
}
#undef V8
#endif

#endif
