/* The TFSWA models in training mode, running the op list of
 * lib/model/net.h: the forward pass with BatchNorm on batch statistics
 * (running statistics updated as PyTorch's train mode, momentum 0.1),
 * saving what the backward pass needs, and the backward pass of every op in
 * reverse order, accumulating the gradient of every parameter into a vector
 * of the model's layout (lib/model/model.h).
 *
 * A batch is B examples of the same T frames (T >= 8), each a mixture
 * spectrogram (2, F, T) c64 in the stft layout. The output is the masks
 * (B, 4 S, F, T) as in lib/model/forward.h.
 *
 * Memory: an op's output is kept only where the backward pass of the op
 * after it reads it (conv and transformer layer inputs); a conv unit also
 * keeps its conv output, a transformer layer its tlayer act (about
 * N (2 C + heads) floats per layer); other outputs and the gradients share
 * buffers by lifetime. With recompute = 1 only the input of each TFSWA
 * block is kept and the block's four layers are run again during the
 * backward pass (gradient checkpointing per block): about half the memory
 * of the transformer stages for one more forward of the blocks. */
#ifndef TFSWA_MODEL_GRAD_H
#define TFSWA_MODEL_GRAD_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

typedef struct tfswa_tnet tfswa_tnet;

/* Training state for batches of B examples of T frames. The model must
 * outlive it; its weights may change between steps (nothing is cached). */
tfswa_tnet *tfswa_tnet_new(tfswa_model *m, int B, int T, int recompute);
void tfswa_tnet_free(tfswa_tnet *n);
size_t tfswa_tnet_bytes(const tfswa_tnet *n); /* activation and gradient buffers */

/* Forward: X[b] is example b's mixture (2, F, T) c64 (interleaved re, im).
 * update_running: update the BN running statistics (a training step) or not
 * (a gradient check). Returns the masks (B, 4 S, F, T), valid until the next
 * call. The pointers X[b] must stay valid until the backward pass. */
const float *tfswa_tnet_forward(tfswa_tnet *n, const float *const *X, int update_running);

/* Backward from dmasks (B, 4 S, F, T): grad (n_total floats, the model's
 * layout) += d loss / d parameters. Buffers (BN running statistics, norm.*)
 * get no gradient. The input needs none either. */
void tfswa_tnet_backward(tfswa_tnet *n, const float *dmasks, float *grad);

/* The gradient through the estimates to the masks: model/mask.h. */

#endif
