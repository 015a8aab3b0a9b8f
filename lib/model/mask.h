/* From the network's masks to the estimates (formats/checkpoint.md, step 7).
 *
 * Mask kinds (the checkpoint's `mask` attribute):
 *   unbounded  est_s = M_s X for every stem s (complex product per bin, frame
 *              and audio channel; no activation bounds M)
 *   residual   the same for the first S - 1 stems; the last stem is the
 *              rest of the mixture, est_{S-1} = X - sum_{s < S-1} M_s X
 *              (Open-Unmix's `residual`): the estimates always sum to the
 *              mixture, and the last stem's mask channels are not used.
 * masks (4 S, F, T) as the network writes them (stem s, channel c: real part
 * at 4 s + 2 c, imaginary part at 4 s + 2 c + 1); X and est c64 (2, F, .). */
#ifndef TFSWA_MODEL_MASK_H
#define TFSWA_MODEL_MASK_H

#include <stdint.h>

#include "model/model.h"

/* est (2, F, T) c64 of stem s for frames [t0, t0 + T) of X (2, F, Ttot). */
void tfswa_estimate(float *est, const float *masks, const tfswa_config *c, int s, const float *X, int F, int64_t Ttot,
                    int64_t t0, int T);

/* Accumulates (+=) into dmasks (4 S, F, T) the gradient of a loss whose
 * gradient with respect to stem s's estimate is dest (2, F, T) c64; X (2, F, T). */
void tfswa_estimate_backward(float *dmasks, const float *dest, const tfswa_config *c, int s, const float *X, int F,
                             int T);

#endif
