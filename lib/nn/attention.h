/* Multi-head scaled dot-product attention over many independent sequences,
 * computed in tiles with an online (streaming) softmax (FlashAttention) and a
 * backward pass that recomputes the tiles from q, k, v and the saved per-row
 * log-sum-exp (FlashAttention-2): never materialises a sequence x sequence
 * matrix larger than one tile.
 *
 * Layout: q, k, v, o and their gradients are packed (n, heads, L, D):
 * sequence s, head h, token i, channel d at ((s * heads + h) * L + i) * D + d.
 * lse is (n, heads, L).
 *
 * Scores: S[i][j] = scale * q_i . k_j + bias[h][i][j] (bias optional), and
 * query i attends key j only where group[s][j] >= 0 and group[s][j] ==
 * group[s][i] (group optional; NULL means every key of the sequence). A
 * negative group marks a padding token: never attended as a key, and as a
 * query it attends nothing. A query that attends nothing gets o = 0,
 * lse = +inf and contributes no gradient.
 *
 * Threads: OpenMP over (sequence, head) pairs; every output element is
 * computed by one thread in a fixed order and dbias is reduced over fixed
 * chunks of sequences, so results are identical for any thread count.
 */
#ifndef TFSWA_NN_ATTENTION_H
#define TFSWA_NN_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int n, heads, L, D;
    float scale;       /* usually 1 / sqrt(D) */
    const float *bias; /* (heads, L, L) additive score bias shared by all sequences, or NULL */
    const int *group;  /* (n, L) token groups, or NULL */
} attn_problem;

/* o (n, heads, L, D) and lse (n, heads, L; may be NULL for inference). */
void attn_forward(float *o, float *lse, const float *q, const float *k, const float *v, const attn_problem *p);

/* Overwrites dq, dk, dv (n, heads, L, D); ACCUMULATES into dbias (heads, L, L)
 * when it is not NULL. o and lse are the forward outputs, dout the gradient of o. */
void attn_backward(float *dq, float *dk, float *dv, float *dbias, const float *q, const float *k, const float *v,
                   const float *o, const float *dout, const float *lse, const attn_problem *p);

/* ---- The kernels' own layout, which callers that gather q, k, v anyway
 * (lib/nn/tlayer.c) write directly, so that no per-(sequence, head) copy or
 * transpose is needed:
 *   q, o, dq, dout    (n, heads, L, D) as above; q unscaled
 *   kt, vt, dkt, dvt  (n, heads, D, Lk), Lk = attn_key_stride(L): key j,
 *                     channel d of (s, h) at ((s heads + h) D + d) Lk + j,
 *                     i.e. K and V transposed, each channel a row of keys;
 *                     the entries j in [L, Lk) of kt and vt must be finite
 *                     (zero; they are never attended), those of dkt and dvt
 *                     are written as zero
 *   delta             (n, heads, L): rowsum(dout * o) over the D channels of
 *                     each row, which the caller computes (e.g. while
 *                     gathering dout) instead of passing o
 * No alignment is required (rows of kt and vt that start on 32-byte
 * boundaries are faster to read: allocate them 64-byte aligned).
 * attn_forward and attn_backward are these kernels after a transpose (and,
 * for the backward, delta computed from o): the same results, bit for bit. */
int attn_key_stride(int L);
void attn_forward_t(float *o, float *lse, const float *q, const float *kt, const float *vt, const attn_problem *p);
void attn_backward_t(float *dq, float *dkt, float *dvt, float *dbias, const float *q, const float *kt, const float *vt,
                     const float *dout, const float *delta, const float *lse, const attn_problem *p);

/* Reference: the same attention as a framework computes it, materialising
 * each (L x L) score matrix, Q K^T and P V by OpenBLAS GEMMs; for benchmarks
 * and tests (forward only). */
void attn_forward_naive(float *o, float *lse, const float *q, const float *k, const float *v, const attn_problem *p);

/* Vectorised exp used by the kernels, exposed for tests: y[i] = exp(x[i]),
 * relative error below 2.5e-7 on [-87, 88] (2.0e-7 measured); 0 for x < -87
 * (and -inf). */
void attn_exp(float *y, const float *x, size_t n);

/* The kernels' softmax weights (they work in base 2, log2 e folded into the
 * scores), exposed for tests: y[i] = 2^x[i] for x[i] in [-125, 0], relative
 * error below 2.5e-7 (2.0e-7 measured); 2^-125 below. */
void attn_exp2(float *y, const float *x, size_t n);

#endif
