/* The training loop of `tfswa-net --train` (man/tfswa-net.1, TRAINING):
 * examples from a tensor stream, the model's training forward and backward
 * (lib/model/grad.h), L1 + multi-resolution STFT losses (loss.h), AdamW with
 * cosine warm-up and global-norm clipping (optim.h), validation, atomic
 * checkpoints with the optimiser state (formats/checkpoint.md, "Training
 * state"), resume, CSV and TensorBoard logs (tblog.h), SIGINT/SIGTERM. */
#ifndef TFSWA_TRAIN_TRAINER_H
#define TFSWA_TRAIN_TRAINER_H

#include <stdint.h>

typedef struct {
    const char *model;   /* checkpoint: read at the start, written every save_every steps and at the end */
    const char *valid;   /* validation stream, or NULL */
    const char *log_dir; /* CSV + TensorBoard, or NULL */
    char *const *inputs; /* training streams (NULL/0: standard input) */
    int n_inputs;
    int batch;          /* examples per step (over all ranks: dist.h) */
    int micro_batch;    /* examples per forward/backward pass (0: 1 without BatchNorm, else the rank's batch) */
    int64_t steps;      /* total optimiser steps of the run (0: max_epochs * epoch_size / batch) */
    int64_t epoch_size; /* examples per epoch */
    int64_t max_epochs;
    int64_t warmup; /* warm-up steps (-1: 5 % of the steps, at most 1000) */
    double lr, min_lr, weight_decay, clip;
    double ema; /* decay of the weights' exponential moving average; 0 = off */
    double l1_weight, l2_weight, mrstft_weight, sdr_weight;
    int64_t save_every, log_every, valid_every; /* steps, steps, epochs */
    double time_limit;                          /* minutes; 0: none */
    int resume, recompute, amp, quiet;
    int best_by_sdr; /* FILE.best by the mean validation SDR over stems instead of the loss */
} train_options;

void train_options_default(train_options *o);

/* Runs the training. Returns the exit status: 0 (finished: steps, epochs,
 * time limit or end of stream), 128 + signal after SIGINT/SIGTERM (state
 * saved). Errors: tf_die (exit 1) with a message naming the file and record. */
int train_run(const train_options *o);

#endif
