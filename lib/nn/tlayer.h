/* The TFSWA transformer layer and block (contract between lib/nn and lib/model).
 *
 * A layer is pre-norm: y = x + Proj(MHSA(LN1 x)); y = y + FC2(GELU(FC1(LN2 y))).
 * Kinds differ only in which tokens attend to each other:
 *   TL_TIME     (TSA) along time, within each (b, f): sequences of length T
 *   TL_FREQ     (FSA) along frequency, within each (b, t): sequences of length F
 *   TL_WINDOW   (W-MSA) within non-overlapping window x window tiles of (F, T),
 *               with Swin's relative position bias
 *   TL_SHIFTED  (SW-MSA) the same after a cyclic shift by window/2 in F and T,
 *               with Swin's mask between regions the shift joined
 * F and T that are not multiples of the window are padded at the bottom/right
 * for the window kinds; padded tokens are masked out as keys (unlike Swin v1,
 * which lets queries attend to zero-padded tokens), so results do not depend
 * on the amount of padding.
 * Tokens are (B, F, T, C) channels last. Heads split C into heads x (C/heads)
 * as PyTorch's nn.MultiheadAttention / Swin's qkv Linear: qkv = Linear(C, 3C)
 * with output rows [q(C) | k(C) | v(C)], head h uses channels h*D .. h*D+D-1,
 * scale 1/sqrt(D).
 *
 * A TFSWA block is four layers in the order TIME, FREQ, WINDOW, SHIFTED.
 */
#ifndef TFSWA_NN_TLAYER_H
#define TFSWA_NN_TLAYER_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TL_TIME = 0, TL_FREQ = 1, TL_WINDOW = 2, TL_SHIFTED = 3 } tlayer_kind;

typedef struct {
    tlayer_kind kind;
    int C, heads, hidden; /* hidden = mlp_ratio * C */
    int window;           /* window kinds: window size in F and T (shift = window / 2) */
} tlayer_config;

/* Parameter (or gradient) pointers, PyTorch layouts. rel_bias is
 * ((2 window - 1)^2, heads) for window kinds (Swin's relative_position_bias_table,
 * index (dF + window - 1) * (2 window - 1) + (dT + window - 1)), NULL otherwise. */
typedef struct {
    float *ln1_g, *ln1_b;   /* (C) */
    float *qkv_w, *qkv_b;   /* (3C, C), (3C) */
    float *proj_w, *proj_b; /* (C, C), (C) */
    float *rel_bias;        /* window kinds only */
    float *ln2_g, *ln2_b;   /* (C) */
    float *fc1_w, *fc1_b;   /* (hidden, C), (hidden) */
    float *fc2_w, *fc2_b;   /* (C, hidden), (C) */
} tlayer_params;

/* Number of parameters of a layer, and the offsets of each tensor when the
 * parameters are laid out contiguously in the order of tlayer_params. */
size_t tlayer_num_params(const tlayer_config *c);
void tlayer_bind(tlayer_params *p, float *base, const tlayer_config *c);

/* Floats of saved activations (for backward) and of scratch, for B x F x T tokens.
 * act holds exactly, with N = B F T tokens:
 *   [0, N C)             o, the attention output before proj, tokens (N, C)
 *   [N C, N C + Np H)    the per-row log-sum-exp of the softmax, packed by
 *                        (sequence, head, position); Np = N for TL_TIME and
 *                        TL_FREQ, B Fp Tp (the padded grid) for window kinds
 * i.e. about N (C + heads) floats. LayerNorm statistics, q, k, v, the MLP
 * hidden layer and y1 are recomputed from x in the backward pass (the GEMMs
 * again, never the attention). The forward pass is deterministic and may be
 * called again on the same x (to recompute act instead of storing it).
 * The scratch is only used during a call (one buffer may serve every layer). */
size_t tlayer_act_size(const tlayer_config *c, int B, int F, int T);
size_t tlayer_scratch_size(const tlayer_config *c, int B, int F, int T);

/* y = layer(x). act: saved activations for the backward pass, or NULL for
 * inference (then less memory is touched). y must not alias x. */
void tlayer_forward(float *y, const float *x, const tlayer_params *p, const tlayer_config *c, int B, int F, int T,
                    float *act, float *scratch);
/* Accumulates (+=) dx and the parameter gradients g from dy, given the x and
 * act of the forward pass (recomputes attention tiles, never stores whole
 * sequence x sequence matrices). dx may be NULL. */
void tlayer_backward(float *dx, tlayer_params *g, const float *dy, const float *x, const tlayer_params *p,
                     const tlayer_config *c, int B, int F, int T, const float *act, float *scratch);

/* Work sizes: attention runs over chunks of about att_tokens tokens of whole
 * sequences, the MLP over chunks of mlp_tokens tokens (defaults 16384 and
 * 8192; 0 restores a default). Results do not depend on the thread count;
 * they depend on these sizes only through float summation order. For tests;
 * not thread-safe; the scratch size depends on them. */
void tlayer_set_chunks(int att_tokens, int mlp_tokens);

/* Swin's relative position index of query position i and key position j
 * (row-major a * window + c, a along F) of a window: (dF + window - 1) *
 * (2 window - 1) + (dT + window - 1), dF, dT = query - key. */
int tlayer_rel_index(int i, int j, int window);

#endif
