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
 *   pointer (dx) may be NULL when that gradient is not needed.
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
void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     int64_t n, int in, int out);

/* ---- LayerNorm over the last dimension C (eps 1e-5 as PyTorch) ----
 * mean, rstd: n floats saved for the backward pass (may be NULL in inference). */
void layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *g, const float *b,
                       int64_t n, int c, float eps);
void layernorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *g, int64_t n, int c);

/* ---- GELU, exact erf form: 0.5 x (1 + erf(x / sqrt 2)); y may alias x ---- */
void gelu_forward(float *y, const float *x, int64_t n);
void gelu_backward(float *dx, const float *dy, const float *x, int64_t n);

/* ---- 2-D convolution (PyTorch Conv2d, zero padding, no dilation/groups) ---- */
typedef struct {
    int B, Cin, H, W;   /* input */
    int Cout, kh, kw;   /* kernel */
    int sh, sw, ph, pw; /* stride, zero padding */
} conv2d_dims;
int    conv2d_out_h(const conv2d_dims *d); /* (H + 2 ph - kh) / sh + 1 */
int    conv2d_out_w(const conv2d_dims *d);
size_t conv2d_workspace(const conv2d_dims *d); /* floats of scratch for forward and backward */
void conv2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_dims *d, float *work);
void conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     const conv2d_dims *d, float *work);

/* ---- Transposed 2-D convolution (PyTorch ConvTranspose2d, output_padding 0) ----
 * Same dims struct: Cin -> Cout, output H' = (H - 1) sh - 2 ph + kh. */
int    convt2d_out_h(const conv2d_dims *d);
int    convt2d_out_w(const conv2d_dims *d);
size_t convt2d_workspace(const conv2d_dims *d);
void convt2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_dims *d, float *work);
void convt2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                      const conv2d_dims *d, float *work);

/* ---- BatchNorm2d over (B, C, HW) (PyTorch semantics, eps 1e-5, momentum 0.1) ----
 * Training: normalises with batch statistics (biased variance), saves mean
 * and rstd (C each) and updates running_mean / running_var (unbiased
 * variance) when they are not NULL. Eval: uses the running statistics. */
void batchnorm_forward_train(float *y, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *x, const float *g, const float *b, int B, int C, int64_t HW,
                             float momentum, float eps);
void batchnorm_forward_eval(float *y, const float *x, const float *g, const float *b, const float *running_mean,
                            const float *running_var, int B, int C, int64_t HW, float eps);
void batchnorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *g, int B, int C, int64_t HW);
/* Eval-mode gradient (statistics are constants): for fine-tuning with frozen BN. */
void batchnorm_backward_eval(float *dx, float *dg, float *db, const float *dy, const float *x,
                             const float *g, const float *running_mean, const float *running_var,
                             int B, int C, int64_t HW, float eps);

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
