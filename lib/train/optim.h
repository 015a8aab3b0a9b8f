/* Optimisation: AdamW (PyTorch's torch.optim.AdamW semantics), the
 * learning-rate schedule (linear warm-up, then cosine annealing), and
 * gradient clipping by global norm (torch.nn.utils.clip_grad_norm_). All
 * parameters are one contiguous float vector (lib/model lays them out so). */
#ifndef TFSWA_TRAIN_OPTIM_H
#define TFSWA_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double lr, beta1, beta2, eps, weight_decay; /* double, as PyTorch's Python floats */
} adamw_config;

/* Defaults as torch.optim.AdamW: betas (0.9, 0.999), eps 1e-8, weight decay 1e-2. */
adamw_config adamw_defaults(double lr);

/* One step over n parameters. m and v are the first and second moment slots
 * (zero before the first step); step is the 1-based step number after this
 * update (bias correction); lr overrides cfg->lr (the scheduled value).
 * decay_mask (may be NULL): per-parameter 0/1, 0 exempts a parameter from
 * weight decay (norm gains/biases, as common practice); NULL decays all. */
void adamw_step(float *param, const float *grad, float *m, float *v, size_t n, int64_t step, float lr,
                const adamw_config *cfg, const uint8_t *decay_mask);

/* Learning rate at step (0-based) of total steps: linear warm-up,
 * base * (step + 1) / warmup for step < warmup, then cosine annealing from
 * base (at step warmup) to min_lr (at step total and after). */
double lr_cosine_warmup(int64_t step, int64_t total, int64_t warmup, double base, double min_lr);

/* Global L2 norm of g (accumulated in double). */
double grad_global_norm(const float *g, size_t n);
/* Scales g so its global norm is at most max_norm, as clip_grad_norm_
 * (factor max_norm / (norm + 1e-6) when norm > max_norm). Returns the norm
 * before clipping. max_norm <= 0 disables clipping (norm still returned). */
double grad_clip_global_norm(float *g, size_t n, double max_norm);

#endif
