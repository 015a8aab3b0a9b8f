/* GELU (exact erf form, as torch.nn.GELU()) with a vectorisable erf.
 *
 * erf uses the rational approximation of Eigen / XLA on [-4, 4]
 * (x P(x^2) / Q(x^2), absolute error below 2e-7; outside it erf is +-1 in
 * float), and exp a Cephes-style polynomial after range reduction (relative
 * error ~2e-7). Both are branch-free so GCC vectorises the loops at -O2
 * -march=native; tests/unit/test_layers.c checks them against double erf/exp.
 * With AVX2 + FMA the loops use the 8-lane intrinsic forms of
 * layers_impl.h instead (the division of erf replaced by a reciprocal
 * estimate and a Newton step: faster), also used by linear.c's fused
 * GELU epilogue. */
/* The clamps below are selects; GCC if-converts (and so vectorises) them
 * only when float comparisons are known not to trap. No FP exceptions are
 * inspected anywhere in tfswa, so this changes no result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "nn/layers.h"
#include "nn/layers_impl.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float erf_approx(float x)
{
    x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
    float x2 = x * x;
    float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
    p = x2 * p + -2.10102402082508e-06f;
    p = x2 * p + -5.69250639462346e-05f;
    p = x2 * p + -7.34990630326855e-04f;
    p = x2 * p + -2.95459980854025e-03f;
    p = x2 * p + -1.60960333262415e-02f;
    float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
    q = x2 * q + -1.68282697438203e-03f;
    q = x2 * q + -7.37332916720468e-03f;
    q = x2 * q + -1.42647390514189e-02f;
    return x * p / q;
}

/* exp(x) for x <= 0 (all GELU needs); ~1.6e-38 below -87. NaN maps to
 * -87 here (the float -> int conversion below must never see a NaN); the
 * caller's x * pdf still propagates the NaN. */
static inline float exp_neg(float x)
{
    x = x >= -87.0f ? x : -87.0f;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return e * s;
}

#define RSQRT2 0.70710678118654752440f
#define RSQRT2PI 0.39894228040143267794f

#ifdef NN_HAVE_AVX2
#define GELU_BLOCK 2048 /* elements per parallel work item (a multiple of 8) */
#define HAVE_GELU8 1
#endif

static inline float gelu1(float v) { return 0.5f * v * (1.0f + erf_approx(v * RSQRT2)); }

static inline float dgelu1(float v)
{
    float cdf = 0.5f * (1.0f + erf_approx(v * RSQRT2));
    float pdf = RSQRT2PI * exp_neg(-0.5f * v * v);
    return cdf + v * pdf;
}

void gelu_forward(float *y, const float *x, int64_t n)
{
#ifdef HAVE_GELU8
    int64_t nb = (n + GELU_BLOCK - 1) / GELU_BLOCK;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t k = 0; k < nb; k++) {
        int64_t i = k * GELU_BLOCK, e = i + GELU_BLOCK < n ? i + GELU_BLOCK : n;
        for (; i + 8 <= e; i += 8)
            _mm256_storeu_ps(y + i, nn_gelu8(_mm256_loadu_ps(x + i)));
        for (; i < e; i++)
            y[i] = gelu1(x[i]);
    }
#else
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        y[i] = gelu1(x[i]);
#endif
}

/* dx (+)= dy GELU'(x); acc 0 overwrites (dx may then alias dy or x). */
static void gelu_bwd(float *dx, const float *dy, const float *x, int64_t n, int acc)
{
#ifdef HAVE_GELU8
    int64_t nb = (n + GELU_BLOCK - 1) / GELU_BLOCK;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t k = 0; k < nb; k++) {
        int64_t i = k * GELU_BLOCK, e = i + GELU_BLOCK < n ? i + GELU_BLOCK : n;
        for (; i + 8 <= e; i += 8) {
            __m256 d = _mm256_mul_ps(_mm256_loadu_ps(dy + i), nn_dgelu8(_mm256_loadu_ps(x + i)));
            if (acc)
                d = _mm256_add_ps(_mm256_loadu_ps(dx + i), d);
            _mm256_storeu_ps(dx + i, d);
        }
        for (; i < e; i++) {
            float d = dy[i] * dgelu1(x[i]);
            dx[i] = acc ? dx[i] + d : d;
        }
    }
#else
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float d = dy[i] * dgelu1(x[i]);
        dx[i] = acc ? dx[i] + d : d;
    }
#endif
}

void gelu_backward(float *dx, const float *dy, const float *x, int64_t n) { gelu_bwd(dx, dy, x, n, 1); }
void gelu_backward_set(float *dx, const float *dy, const float *x, int64_t n) { gelu_bwd(dx, dy, x, n, 0); }
