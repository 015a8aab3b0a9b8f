/* The networks described once: a list of ops built from the configuration,
 * each with its tensors (names, shapes, initialisation: the checkpoint
 * layout), its module (--info's parameter counts), its FLOPs, its forward
 * pass (inference, with BatchNorm folded or not, and training) and its
 * backward pass. The layout (tfswa_layout_build), the FLOP count
 * (tfswa_flops, --info), inference (tfswa_forward) and training
 * (tfswa_tnet_*) all follow this list; lib/model/forward.c and grad.c are
 * thin shims over tfswa_net_exec_*. Specification: formats/checkpoint.md.
 *
 * Each op reads the output of the op before it (FEATURES reads the mixture)
 * and SKIPADD also the output of an earlier op (ref). Outputs are NCHW
 * (B, C, H, W) maps, or tokens (B, H, W, C) between TOKENS and NCHW (U-Net)
 * and from EMBED to MASK (band: H = the bands K, W = the frames T, C = D).
 *
 * Op kinds:
 *   FEATURES  mixture (2, F, T) c64 -> (C, F, T): (x - norm.mean) / norm.std
 *             (channels 0-3: re L, im L, re R, im R); band with features
 *             logmag: C = 6, channels 4, 5 are log |normalised bin| of L and
 *             R, 0.5 log(re^2 + im^2 + 1e-3) (C = 4 otherwise). Tensors
 *             norm.mean, norm.std (buffers).
 *   CONVBN    conv k x k (stride s, padding p) or transposed conv, + bias,
 *             BatchNorm2d, GELU: <p>.conv.weight, .conv.bias, .bn.weight,
 *             .bn.bias, .bn.running_mean, .bn.running_var. Inference folds
 *             the BatchNorm into the conv (or runs it on the running
 *             statistics); training uses batch statistics.
 *   TOKENS    NCHW -> tokens;  NCHW  tokens -> NCHW (no tensors)
 *   TLAYER    one transformer layer of a TFSWA block over the token grid
 *             (j = 0..3: TSA, FSA, W-MSA, SW-MSA; <p>.blocks.<b>.<tsa|...>)
 *   SKIPADD   zero-pad the input to the size of op ref's output, add it
 *   CONV      conv 1x1 + bias, no norm (the U-Net's head.out: the masks)
 *   EMBED     band: per band k, the C w_k values of its bins and frame t in
 *             the order (bin j, channel ch) -> C j + ch; LayerNorm(C w_k)
 *             (band.<k>.norm), Linear(C w_k -> D) (band.<k>.fc): tokens
 *   NORM      band: LayerNorm(D) (norm_out)
 *   MASK      band: per band k, Linear(D -> mask_hidden), GELU,
 *             Linear(mask_hidden -> 4 S w_k) (mask.<k>.fc1, .fc2); output
 *             index 4 S j + 4 s + 2 c + p is the mask of bin b0_k + j, stem
 *             s, audio channel c, part p: masks (4 S, F, T)
 *
 * U-Net (arch unet): FEATURES, CONVBN stem (7x7), per encoder stage i:
 * [TOKENS, TLAYER x 4 d_i, NCHW], CONVBN enc.i.down (4x4 s2); the bottom
 * [TOKENS, TLAYER x 4 d_4, NCHW]; per decoder stage i = 3..1: CONVBN
 * dec.i.up (transposed 4x4 s2), SKIPADD (ref: encoder stage i's output),
 * [TOKENS, TLAYER x 4 d_i, NCHW]; CONVBN head (3x3), CONV head.out. A stage
 * of depth 0 has no TOKENS/NCHW. The tensors of FEATURES come last in the
 * layout (the checkpoint order of formats/checkpoint.md).
 * Band (arch band): FEATURES, EMBED, TLAYER x 4 d, NORM, MASK. */
#ifndef TFSWA_MODEL_NET_H
#define TFSWA_MODEL_NET_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "nn/tlayer.h"

typedef enum {
    TFSWA_OP_FEATURES,
    TFSWA_OP_EMBED,
    TFSWA_OP_TLAYER,
    TFSWA_OP_NORM,
    TFSWA_OP_MASK,
    TFSWA_OP_CONVBN,
    TFSWA_OP_TOKENS,
    TFSWA_OP_NCHW,
    TFSWA_OP_SKIPADD,
    TFSWA_OP_CONV
} tfswa_op_kind;

typedef struct {
    tfswa_op_kind kind;
    tlayer_config tc;   /* TLAYER */
    int j;              /* TLAYER: its place in the block, 0..3 */
    int C;              /* CONVBN, CONV: output channels */
    int k, stride, pad; /* CONVBN, CONV: square kernel */
    int transposed;     /* CONVBN: a transposed conv */
    int ref;            /* SKIPADD: the op whose output is added */
    int module;         /* index into tfswa_net.modules */
    int part;           /* FLOP slot of tfswa_flops (0..4) */
    int t0, nt;         /* its tensors: layout indices [t0, t0 + nt) */
} tfswa_op;

typedef struct {
    tfswa_config cfg;
    int unet;
    int F, K, D, S, Hm;
    int C;                         /* input features per bin */
    int edge[TFSWA_MAX_BANDS + 1]; /* band k: bins [edge[k], edge[k + 1]) */
    int wmax;                      /* widest band */
    int n_ops;
    tfswa_op *ops;
    int n_modules;
    const char *const *modules; /* --info's module names, in display order */
    tfswa_layout layout;
} tfswa_net;

/* Builds the op list and the layout of a configuration. */
void tfswa_net_build(tfswa_net *n, const tfswa_config *c);
void tfswa_net_free(tfswa_net *n);

/* Output shape (C, H, W) of every op for one example of T frames (U-Net:
 * T >= TFSWA_MIN_FRAMES). */
void tfswa_net_shapes(const tfswa_net *n, int T, int (*sh)[3]);

/* FLOPs of one forward pass over T frames (multiply-adds count 2; matrix
 * products, convolutions and attention). parts (may be NULL): the 6 slots
 * of tfswa_flops (U-Net: stem, encoder, bottom, decoder, head; band: [0]
 * embedding, [2] TFSWA blocks, [4] mask head; [5] attention, part of the
 * others). */
double tfswa_net_flops(const tfswa_config *c, int T, double parts[6]);

/* Parameters and buffers (floats) of module i of the configuration, for
 * i = 0 .. the returned count - 1; *name its name. */
int tfswa_net_module(const tfswa_config *c, int i, const char **name, size_t *params, size_t *buffers);

/* Execution state for batches of up to B examples of up to T frames.
 * train: keep what the backward pass needs (recompute: only the input of
 * each TFSWA block; its four layers run again in the backward pass).
 * Inference: fold_bn folds each BatchNorm into its conv (computed here:
 * the weights must not change while the state is used). The model must
 * outlive it. A U-Net runs at least TFSWA_MIN_FRAMES frames (shorter
 * chunks are extended with silent frames and the masks cropped back). */
typedef struct tfswa_net_exec tfswa_net_exec;
tfswa_net_exec *tfswa_net_exec_new(const tfswa_model *m, int B, int T, int train, int recompute, int fold_bn);
void tfswa_net_exec_free(tfswa_net_exec *e);
size_t tfswa_net_exec_bytes(const tfswa_net_exec *e);

/* Forward: example b is frames [t0, t0 + T) of X[b] (2, F, Ttot) c64,
 * 1 <= T <= the exec's T (training: T equal to it). update_running
 * (training): update the BatchNorm running statistics (momentum 0.1).
 * Returns the masks (B, 4 S, F, T), valid until the next call. */
const float *tfswa_net_forward(tfswa_net_exec *e, const float *const *X, int64_t Ttot, int64_t t0, int T,
                               int update_running);
/* Backward of the last forward (train only): grad (the model's layout)
 * += d loss / d parameters, from dmasks (B, 4 S, F, T). Buffers (BatchNorm
 * running statistics, norm.*) get no gradient, nor does the input. */
void tfswa_net_backward(tfswa_net_exec *e, const float *dmasks, float *grad);

#endif
