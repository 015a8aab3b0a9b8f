/* Matrix-product precision of lib/nn (torch's autocast to bfloat16 on the
 * CPU, for the linear layers).
 *
 * NN_FP32 (default): every product in float32.
 * NN_BF16: the matrix products of the linear layers (linear_forward, its
 *   fused forms, linear_backward, linear_backward_set) take their two
 *   operands rounded to bfloat16 (round to nearest even) and accumulate in
 *   float32. Weights stay float32 master copies (rounded on the fly); the
 *   bias, residual, GELU, outputs and gradients stay float32; so do
 *   LayerNorm, softmax, attention, convolutions and losses. db (the bias
 *   gradient) is the float32 column sum of dy.
 *
 * Three implementations of NN_BF16, chosen at run time:
 * - AMX-BF16 (CPUs with AMX and AVX512_BF16): tiles of 16 x 16 fp32 sums of
 *   products of bf16 pairs (tdpbf16ps; the same numerics as vdpbf16ps).
 * - AVX512_BF16 (CPUs that have it: vcvtne2ps2bf16 packs, vdpbf16ps
 *   multiplies pairs and accumulates in float32). The hardware treats bf16
 *   subnormal inputs as zero (DAZ) and sums pairs of products, so its
 *   results differ from the portable path's in float32 summation order only
 *   (and by flushed subnormals, < 2^-126 per product).
 * - portable: the operands rounded with nn_bf16_round into float32 copies,
 *   then the float32 kernels. Correct everywhere, not faster: it is the
 *   reference the hardware kernels are tested against.
 * The setting is process-wide; set it before computing, not while other
 * threads run layers. */
#ifndef TFSWA_NN_PRECISION_H
#define TFSWA_NN_PRECISION_H

#include <stdint.h>

typedef enum { NN_FP32 = 0, NN_BF16 = 1 } nn_precision;

void nn_set_matmul_precision(nn_precision p);
nn_precision nn_matmul_precision(void);

/* 1 when NN_BF16 runs the AVX512_BF16 kernels (the CPU has AVX512_BF16,
 * AVX512BW and AVX512VL, and nn_bf16_portable is 0), else 0. */
int nn_bf16_hardware(void);
/* 1 when, besides, the products run on AMX-BF16 tiles (the CPU has AMX-TILE
 * and AMX-BF16, Linux grants the tile data state, nn_bf16_no_amx is 0). */
int nn_bf16_amx(void);
/* Which NN_BF16 path runs, in words (for --amp's messages and --help). */
const char *nn_bf16_path(void);
/* Tests and benchmarks: 1 forces the portable bf16 path; 1 leaves AMX out. */
extern int nn_bf16_portable, nn_bf16_no_amx;

/* bfloat16 conversions (portable C). fp32 -> bf16 rounds to nearest, ties
 * to even; subnormals are rounded like any number; +-inf stay inf; a NaN
 * stays a NaN (made quiet, sign kept); finite values above the largest
 * bf16 round to inf as IEEE rounding does. bf16 -> fp32 is exact. */
uint16_t nn_f32_to_bf16(float f);
float nn_bf16_to_f32(uint16_t h);
/* f rounded to the nearest bf16, as a float: nn_bf16_to_f32(nn_f32_to_bf16(f)). */
float nn_bf16_round(float f);
/* y[i] = nn_bf16_round(x[i]) for n floats; y may be x. */
void nn_bf16_round_array(float *y, const float *x, int64_t n);

#endif
