/* The forward pass in inference mode (U-Net: BatchNorm with running
 * statistics, folded into the convolutions or not; band models), running
 * the op list of lib/model/net.h over buffers planned once from the
 * configuration and the longest chunk: no allocation per layer or per call.
 *
 * Input: a complex64 mixture spectrogram (2, F, Ttot), interleaved (re, im),
 * of which frames [t0, t0 + T) are used. Output: the masks (4 S, F, T),
 * channel 4 s + 2 c + {0: re, 1: im} for stem s and audio channel c.
 * Estimate of stem s, channel c: est = M * X (complex product).
 * U-Net: chunks shorter than TFSWA_MIN_FRAMES (8) are extended with silent
 * frames (X = 0) and the masks cropped back. */
#ifndef TFSWA_MODEL_FORWARD_H
#define TFSWA_MODEL_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

typedef struct tfswa_runner tfswa_runner;

/* A runner for chunks of up to tmax frames (at least TFSWA_MIN_FRAMES:
 * tfswa_runner_tmax). fold_bn: fold each BatchNorm
 * into the convolution before it (faster; equal up to rounding). The model
 * must outlive the runner and not change while it is used (folded weights
 * are computed here). */
tfswa_runner *tfswa_runner_new(const tfswa_model *m, int tmax, int fold_bn);
void tfswa_runner_free(tfswa_runner *r);
int tfswa_runner_tmax(const tfswa_runner *r);
const tfswa_model *tfswa_runner_model(const tfswa_runner *r);

/* Runs the network on frames [t0, t0 + T) of X (2, F, Ttot) c64 (F = the
 * model's bins), 1 <= T <= tmax. Returns the masks (4 S, F, T), valid until
 * the next call. */
const float *tfswa_forward(tfswa_runner *r, const float *X, int64_t Ttot, int64_t t0, int T);

/* From masks to estimates: model/mask.h. */

#endif
