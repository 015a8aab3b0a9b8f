/* Neural-network layers: one forward and one backward function per layer,
 * over explicit caller-owned buffers (llm.c style). Contract used by the
 * model (lib/model) and training (lib/train).
 *
 * Conventions
 * - float32, row-major, contiguous.
 * - Image tensors are NCHW = (B, C, H, W); in tfswa H is frequency (F) and
 *   W is time (T).
 * - Token tensors are (N, C), channels last; N = B*H*W in (b, h, w) order.
 * - Parameters use PyTorch's layouts so weights map 1:1 to a PyTorch model:
 *   Linear w (out, in); Conv2d w (Cout, Cin, kh, kw); ConvTranspose2d
 *   w (Cin, Cout, kh, kw); norm gamma/beta (C).
 * - Backward functions ACCUMULATE (+=) into every gradient buffer (input
 *   and parameter gradients); the caller zeroes them. An input-gradient
 *   pointer (dx) may be NULL when that gradient is not needed; so may any
 *   parameter-gradient pointer (dw, db, dg), which is then not computed.
 * - Forward functions overwrite their outputs. Unless a function says so,
 *   outputs must not alias inputs.
 * - Threads: functions may parallelise internally with OpenMP and OpenBLAS
 *   (tf_set_threads sets both); results do not depend on the thread count
 *   beyond float summation order of GEMMs.
 */
#ifndef TFSWA_NN_LAYERS_H
#define TFSWA_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* ---- Linear: y[n, o] = sum_i x[n, i] w[o, i] + b[o] (b may be NULL) ---- */
void linear_forward(float *y, const float *x, const float *w, const float *b, int64_t n, int in, int out);
void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int64_t n,
                     int in, int out);
/* Fused forms (one pass over the output instead of two or three; for the
 * transformer layer's MLP and residuals):
 * linear_forward_res: y = res + x w^T + b; res may be y itself (y += ...).
 * linear_gelu_forward: y = GELU(x w^T + b) and, unless pre is NULL,
 *   pre = x w^T + b (what gelu_backward needs); y and pre distinct.
 * linear_backward_set: as linear_backward, but dx is overwritten (dx = dy w;
 *   no zeroed buffer needed); dw and db still accumulate.
 * Results equal the unfused sequences up to float rounding (tested). */
void linear_forward_res(float *y, const float *res, const float *x, const float *w, const float *b, int64_t n, int in,
                        int out);
void linear_gelu_forward(float *y, float *pre, const float *x, const float *w, const float *b, int64_t n, int in,
                         int out);
void linear_backward_set(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int64_t n,
                         int in, int out);

/* ---- LayerNorm over the last dimension C ----
 * mean, rstd: n floats saved for the backward pass, which needs them (may be
 * NULL in the forward when no backward follows). g and b may be NULL (no
 * affine part). */
#define NN_LAYERNORM_EPS 1e-5f /* PyTorch's default: every LayerNorm of the models */
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g, const float *b, int64_t n,
                       int c, float eps);
void layernorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *g, int64_t n, int c);

/* ---- GELU, exact erf form: 0.5 x (1 + erf(x / sqrt 2)); y may alias x ----
 * erf is a vectorised rational approximation (Eigen's; |error| < 2e-7), so
 * |y - y_exact| <= 1e-6 max(1, |x|); tested against double erf. */
void gelu_forward(float *y, const float *x, int64_t n);
void gelu_backward(float *dx, const float *dy, const float *x, int64_t n);
/* The same gradient, overwriting: dx = dy GELU'(x) (no zeroed buffer needed;
 * dx may alias dy or x). Equals gelu_backward on a zeroed dx (but for the
 * sign of a zero). */
void gelu_backward_set(float *dx, const float *dy, const float *x, int64_t n);

/* ---- 2-D convolution (PyTorch Conv2d, zero padding, no dilation/groups) ----
 * b and db may be NULL (no bias); work (see conv2d_workspace) is scratch that
 * holds nothing between calls and must not alias any argument. The backward
 * skips the col2im pass when dx is NULL (e.g. the stem, whose input needs no
 * gradient). */
typedef struct {
    int B, Cin, H, W;   /* input */
    int Cout, kh, kw;   /* kernel */
    int sh, sw, ph, pw; /* stride, zero padding */
} conv2d_dims;
int conv2d_out_h(const conv2d_dims *d); /* (H + 2 ph - kh) / sh + 1 */
int conv2d_out_w(const conv2d_dims *d);
/* Scratch (floats) for forward and backward: an im2col buffer for a tile of
 * whole output rows of one image, K = Cin kh kw rows by R Wo columns with
 * R = clamp(2^19 / (K Wo), 1, Ho): at most max(2^19, K Wo) floats, i.e.
 * 2 MiB or one output row of patches, independent of B and H. For the seed
 * model (32..256 channels) at T = 2600 frames the largest is the head 3x3
 * (K 288 x 2600 = 0.75 M floats, 3 MB); the 4x4 down/up convs need 0.67 M.
 * 0 for a 1x1 conv with stride 1 and no padding (work may then be NULL). */
size_t conv2d_workspace(const conv2d_dims *d);
void conv2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_dims *d, float *work);
void conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     const conv2d_dims *d, float *work);

/* ---- Transposed 2-D convolution (PyTorch ConvTranspose2d, output_padding 0) ----
 * Same dims struct: Cin -> Cout, output H' = (H - 1) sh - 2 ph + kh. */
int convt2d_out_h(const conv2d_dims *d);
int convt2d_out_w(const conv2d_dims *d);
/* As conv2d_workspace with K = Cout kh kw and the tile over rows of the
 * input (H, W): at most max(2^19, Cout kh kw W) floats. */
size_t convt2d_workspace(const conv2d_dims *d);
void convt2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_dims *d, float *work);
void convt2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                      const conv2d_dims *d, float *work);

/* ---- BatchNorm2d over (B, C, HW) (PyTorch semantics, eps 1e-5, momentum 0.1) ----
 * Training: normalises with batch statistics (biased variance), saves mean
 * and rstd (C each) and updates running_mean / running_var (unbiased
 * variance) when they are not NULL. Eval: uses the running statistics. */
void batchnorm_forward_train(float *y, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *x, const float *g, const float *b, int B, int C, int64_t HW, float momentum,
                             float eps);
void batchnorm_forward_eval(float *y, const float *x, const float *g, const float *b, const float *running_mean,
                            const float *running_var, int B, int C, int64_t HW, float eps);
/* From the mean and rstd that batchnorm_forward_train saved. */
void batchnorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *g, int B, int C, int64_t HW);

/* ---- Layout changes and padding ---- */
/* (B, C, H, W) -> (B, H, W, C) and back; the backward of one is the other (accumulating). */
void nchw_to_tokens(float *y, const float *x, int B, int C, int H, int W);
void tokens_to_nchw(float *y, const float *x, int B, int C, int H, int W);
void nchw_to_tokens_backward(float *dx, const float *dy, int B, int C, int H, int W);
void tokens_to_nchw_backward(float *dx, const float *dy, int B, int C, int H, int W);
/* Zero-pad (B, C, H, W) at the bottom/right to (B, C, H2, W2), H2 >= H, W2 >= W;
 * crop is the inverse. Backward of pad is crop-accumulate and vice versa. */
void pad2d_forward(float *y, const float *x, int B, int C, int H, int W, int H2, int W2);
void pad2d_backward(float *dx, const float *dy, int B, int C, int H, int W, int H2, int W2);
void crop2d_forward(float *y, const float *x, int B, int C, int H, int W, int H2, int W2); /* (H,W) -> (H2<=H, W2<=W) */
void crop2d_backward(float *dx, const float *dy, int B, int C, int H, int W, int H2, int W2);

/* y += x over n floats (residual connections); and its trivial backward is dy += into both. */
void add_inplace(float *y, const float *x, int64_t n);

#endif
