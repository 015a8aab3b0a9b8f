/* The band-split TFSWA network (arch `band`, preset `band`) described once:
 * a list of ops built from the configuration, each with its tensors (names,
 * shapes, initialisation: the checkpoint layout), its FLOPs, its forward
 * pass (inference and training) and its backward pass. The layout
 * (tfswa_layout_build), the FLOP count (tfswa_flops, --info), inference
 * (tfswa_forward) and training (tfswa_tnet_*) all follow this list.
 * Specification: formats/checkpoint.md, "Band models".
 *
 * The ops, in order (K bands of widths w_k, D features, S stems):
 *   FEATURES  mixture (2, F, T) c64 -> (C, F, T): (x - norm.mean) / norm.std
 *             (channels 0-3: re L, im L, re R, im R); C = 6 with features
 *             logmag: channels 4, 5 are log |normalised bin| of L and R,
 *             0.5 log(re^2 + im^2 + 1e-3) (C = 4 otherwise)
 *   EMBED     per band k: the C w_k values of its bins and frame t, in the
 *             order (bin j, channel ch) -> index C j + ch; LayerNorm(C w_k)
 *             (band.<k>.norm), Linear(C w_k -> D) (band.<k>.fc): tokens
 *             (K, T, D), band-major (the F axis of lib/nn/tlayer.h is the band)
 *   TLAYER    4 per TFSWA block: TSA, FSA, W-MSA, SW-MSA over (K, T)
 *             (blocks.<b>.<tsa|fsa|wmsa|swmsa>)
 *   NORM      LayerNorm(D) (norm_out)
 *   MASK      per band k: Linear(D -> mask_hidden), GELU, Linear(mask_hidden
 *             -> 4 S w_k) (mask.<k>.fc1, .fc2); output index 4 S j + 4 s + 2 c
 *             + p is the mask of bin b0_k + j, stem s, audio channel c, part
 *             p (0 re, 1 im): masks (4 S, F, T) as lib/model/mask.h reads them. */
#ifndef TFSWA_MODEL_NET_H
#define TFSWA_MODEL_NET_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "nn/tlayer.h"

typedef enum { TFSWA_OP_FEATURES, TFSWA_OP_EMBED, TFSWA_OP_TLAYER, TFSWA_OP_NORM, TFSWA_OP_MASK } tfswa_op_kind;

typedef struct {
    tfswa_op_kind kind;
    tlayer_config tc; /* TLAYER */
    int t0, nt;       /* its tensors: layout indices [t0, t0 + nt) */
} tfswa_op;

typedef struct {
    tfswa_config cfg;
    int F, K, D, S, Hm;
    int C;                         /* input features per bin (tfswa_band_features) */
    int edge[TFSWA_MAX_BANDS + 1]; /* band k: bins [edge[k], edge[k + 1]) */
    int wmax;                      /* widest band */
    int n_ops;
    tfswa_op *ops;
    tfswa_layout layout;
} tfswa_net;

/* Builds the op list and the layout of a band configuration. */
void tfswa_net_build(tfswa_net *n, const tfswa_config *c);
void tfswa_net_free(tfswa_net *n);

/* FLOPs of one forward pass over T frames (multiply-adds count 2; matrix
 * products and attention, as tfswa_flops). parts (may be NULL), in
 * tfswa_flops' 6 slots: [0] embedding, [2] TFSWA blocks, [4] mask head,
 * [5] attention (part of [2]); [1], [3] are 0. */
double tfswa_net_flops(const tfswa_config *c, int T, double parts[6]);

/* Execution state for batches of up to B examples of up to T frames.
 * train: keep what the backward pass needs. The model must outlive it. */
typedef struct tfswa_net_exec tfswa_net_exec;
tfswa_net_exec *tfswa_net_exec_new(const tfswa_model *m, int B, int T, int train);
void            tfswa_net_exec_free(tfswa_net_exec *e);
size_t          tfswa_net_exec_bytes(const tfswa_net_exec *e);

/* Forward: example b is frames [t0, t0 + T) of X[b] (2, F, Ttot) c64,
 * 1 <= T <= the exec's T (training: T equal to it). Returns the masks
 * (B, 4 S, F, T), valid until the next call. */
const float *tfswa_net_forward(tfswa_net_exec *e, const float *const *X, int64_t Ttot, int64_t t0, int T);
/* Backward of the last forward (train only): grad (the model's layout)
 * += d loss / d parameters, from dmasks (B, 4 S, F, T). */
void tfswa_net_backward(tfswa_net_exec *e, const float *dmasks, float *grad);

#endif
