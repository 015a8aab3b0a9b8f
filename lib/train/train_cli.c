/* `tfswa-net --train`: the training options (man/tfswa-net.1, TRAINING). */
#include "nn/precision.h"
#include "train/dist.h"
#include "train/trainer.h"
#include "util/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void train_usage(void)
{
    printf("Usage: %s --train -m FILE [OPTION]... [FILE]...\n"
           "Trains the TFSWA-UNet in checkpoint FILE (made by --init) on the examples of a tensor stream (FILEs or\n"
           "standard input): records with a 'mixture' spectrogram and one per stem of the model (c64 (2, bins,\n"
           "frames), all examples of the same frames), e.g.\n"
           "  musdb-slice --random --segment 6 ROOT | stft | tfswa-net --train -m model.ckpt --valid valid.ts\n"
           "Checkpoints (weights, optimiser state, step, examples consumed) go to FILE atomically; the best model\n"
           "by validation loss (or --best-by sdr) to FILE.best.\n"
           "\n"
           "  -m, --model FILE        the checkpoint to train (read, then rewritten)\n"
           "      --resume            continue the run saved in FILE: optimiser state, step, schedule; skips the\n"
           "                          examples already consumed when the same stream is given again\n"
           "      --batch-size N      examples per step (default 4; over all ranks under mpirun)\n"
           "      --micro-batch N     examples per forward and backward pass, their gradients summed in double\n"
           "                          precision (default: 1 for models without BatchNorm (band), so that the\n"
           "                          result does not depend on the number of ranks; else the whole batch)\n"
           "      --steps N           total optimiser steps of the run (default max-epochs x epoch-size / batch)\n"
           "      --epoch-size N      examples per epoch (default 1000)\n"
           "      --max-epochs N      epochs when --steps is not given (default 100)\n"
           "      --time-limit MIN    stop (and save) after MIN minutes of wall-clock time\n"
           "      --lr X              peak learning rate (default 1e-3)\n"
           "      --min-lr X          learning rate at the end of the cosine (default 0)\n"
           "      --ema D             keep an exponential moving average of the weights (decay D, e.g.\n"
           "                          0.99; 0 = off, the default): validation, FILE.best and FILE's\n"
           "                          weights are the average, the raw weights are kept for --resume\n"
           "      --warmup N          linear warm-up steps (default 5%% of the steps, at most 1000)\n"
           "      --weight-decay X    AdamW weight decay (default 0.01)\n"
           "      --clip X            clip gradients to global norm X (default 5; 0 = off)\n"
           "      --l1-weight X       weight of the complex spectrogram L1 loss (default 0)\n"
           "      --l2-weight X       weight of the complex spectrogram squared error (MSE; default 1)\n"
           "      --mrstft-weight X   weight of the multi-resolution STFT loss (default 0)\n"
           "      --sdr-weight X      weight of the SDR loss: -SDR in dB of each example and stem, with a\n"
           "                          floor 30 dB below the mixture (default 0)\n"
           "      --valid FILE        validation stream: loss and global SDR per stem every --valid-every epochs\n"
           "      --valid-every N     epochs between validations (default 1)\n"
           "      --best-by WHAT      loss (lowest validation loss; default) or sdr (highest mean validation\n"
           "                          SDR over stems) chooses FILE.best\n"
           "      --save-every N      steps between checkpoints (default 100)\n"
           "      --log-dir DIR       train.csv, valid.csv and TensorBoard event files\n"
           "      --log-every N       steps per CSV line / TensorBoard point (default 10)\n"
           "      --recompute         store only block inputs; recompute blocks in the backward pass (less memory)\n"
           "      --seed S            recorded in the checkpoint; training draws no random numbers (seed the\n"
           "                          data with musdb-slice --seed, the weights with --init --seed)\n"
           "      --amp               mixed precision: the linear layers' matrix products on bfloat16 operands,\n"
           "                          float32 sums, weights and everything else (AMX or AVX512_BF16 where the\n"
           "                          CPU has them, else a portable path that is no faster: a note says so)\n"
           "                          here: %s\n"
           "  -j, --threads N         threads (default: $TFSWA_THREADS or all CPUs; 0 = all)\n"
           "  -q, --quiet             no progress on standard error\n"
           "  -h, --help              show this help and exit\n"
           "\n"
           "\n"
           "Data-parallel training over MPI: started by mpirun (-np N), every rank trains on its own stream,\n"
           "--batch-size is the global batch (a multiple of N; batch/N examples per rank), the gradients are\n"
           "summed over ranks in double precision, rank 0 writes checkpoints, logs and progress, e.g.\n"
           "  mpirun -np 2 sh -c 'musdb-slice --random --segment 6 --shard $OMPI_COMM_WORLD_RANK/2 ROOT |\n"
           "                      stft | tfswa-net --train -m model.ckpt --batch-size 4'\n"
           "MPI: %s.\n"
           "\n"
           "Exit status: 0 done (steps, epochs, time limit or end of stream), 1 error, 2 usage error,\n"
           "130 / 143 stopped by SIGINT / SIGTERM after saving the checkpoint.\n",
           tf_progname, nn_bf16_path(), dist_describe());
}

int train_main(int argc, char **argv)
{
    enum {
        O_TRAIN = 256, O_RESUME, O_BATCH, O_STEPS, O_EPOCH, O_MAXEP, O_TIME, O_LR, O_MINLR, O_WARM, O_WD, O_CLIP,
        O_L1, O_L2, O_MR, O_VALID, O_VEVERY, O_SAVE, O_LOGDIR, O_LOGEVERY, O_RECOMP, O_AMP, O_SEED, O_BEST, O_SDRW,
        O_EMA, O_MICRO
    };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},        {"train", no_argument, 0, O_TRAIN},
        {"resume", no_argument, 0, O_RESUME},        {"batch-size", required_argument, 0, O_BATCH},
        {"steps", required_argument, 0, O_STEPS},    {"epoch-size", required_argument, 0, O_EPOCH},
        {"max-epochs", required_argument, 0, O_MAXEP}, {"time-limit", required_argument, 0, O_TIME},
        {"lr", required_argument, 0, O_LR},          {"min-lr", required_argument, 0, O_MINLR},
        {"warmup", required_argument, 0, O_WARM},    {"weight-decay", required_argument, 0, O_WD},
        {"clip", required_argument, 0, O_CLIP},      {"l1-weight", required_argument, 0, O_L1},
        {"l2-weight", required_argument, 0, O_L2},   {"sdr-weight", required_argument, 0, O_SDRW},
        {"mrstft-weight", required_argument, 0, O_MR}, {"valid", required_argument, 0, O_VALID},
        {"valid-every", required_argument, 0, O_VEVERY}, {"save-every", required_argument, 0, O_SAVE},
        {"log-dir", required_argument, 0, O_LOGDIR}, {"log-every", required_argument, 0, O_LOGEVERY},
        {"recompute", no_argument, 0, O_RECOMP},     {"amp", no_argument, 0, O_AMP},
        {"seed", required_argument, 0, O_SEED},      {"threads", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},              {"help", no_argument, 0, 'h'},
        {"best-by", required_argument, 0, O_BEST},   {"ema", required_argument, 0, O_EMA},
        {"micro-batch", required_argument, 0, O_MICRO},
        {0, 0, 0, 0},
    };
    train_options o;
    train_options_default(&o);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case O_TRAIN: break;
        case O_RESUME: o.resume = 1; break;
        case O_BATCH: o.batch = (int)tf_parse_long("--batch-size", optarg, 1, 4096); break;
        case O_MICRO: o.micro_batch = (int)tf_parse_long("--micro-batch", optarg, 1, 4096); break;
        case O_STEPS: o.steps = tf_parse_long("--steps", optarg, 1, (long)1 << 40); break;
        case O_EPOCH: o.epoch_size = tf_parse_long("--epoch-size", optarg, 1, (long)1 << 40); break;
        case O_MAXEP: o.max_epochs = tf_parse_long("--max-epochs", optarg, 1, (long)1 << 30); break;
        case O_TIME: o.time_limit = tf_parse_double("--time-limit", optarg, 0, 1e9); break;
        case O_LR: o.lr = tf_parse_double("--lr", optarg, 0, 10); break;
        case O_MINLR: o.min_lr = tf_parse_double("--min-lr", optarg, 0, 10); break;
        case O_EMA: o.ema = tf_parse_double("--ema", optarg, 0, 0.999999); break;
        case O_WARM: o.warmup = tf_parse_long("--warmup", optarg, 0, (long)1 << 40); break;
        case O_WD: o.weight_decay = tf_parse_double("--weight-decay", optarg, 0, 10); break;
        case O_CLIP: o.clip = tf_parse_double("--clip", optarg, 0, 1e30); break;
        case O_L1: o.l1_weight = tf_parse_double("--l1-weight", optarg, 0, 1e6); break;
        case O_L2: o.l2_weight = tf_parse_double("--l2-weight", optarg, 0, 1e6); break;
        case O_SDRW: o.sdr_weight = tf_parse_double("--sdr-weight", optarg, 0, 1e6); break;
        case O_MR: o.mrstft_weight = tf_parse_double("--mrstft-weight", optarg, 0, 1e6); break;
        case O_VALID: o.valid = optarg; break;
        case O_VEVERY: o.valid_every = tf_parse_long("--valid-every", optarg, 1, (long)1 << 30); break;
        case O_SAVE: o.save_every = tf_parse_long("--save-every", optarg, 0, (long)1 << 40); break;
        case O_LOGDIR: o.log_dir = optarg; break;
        case O_LOGEVERY: o.log_every = tf_parse_long("--log-every", optarg, 1, (long)1 << 40); break;
        case O_RECOMP: o.recompute = 1; break;
        case O_AMP: o.amp = 1; break;
        case O_BEST:
            if (strcmp(optarg, "loss") == 0)
                o.best_by_sdr = 0;
            else if (strcmp(optarg, "sdr") == 0)
                o.best_by_sdr = 1;
            else
                tf_usage_error("--best-by: '%s': expected loss or sdr", optarg);
            break;
        case O_SEED: /* the seed CLI's option: training itself draws no random numbers */
            o.seed = tf_parse_u64("--seed", optarg);
            break;
        case 'j': tf_set_threads((int)tf_parse_long("--threads", optarg, 0, 1024)); break;
        case 'q': o.quiet = 1; break;
        case 'h': train_usage(); return 0;
        default: tf_usage_error("unknown option (tfswa-net --train --help lists the training options)");
        }
    }
    if (!o.model)
        tf_usage_error("--train: no model: give the checkpoint to train with -m FILE (make one with --init)");
    if (o.l1_weight == 0 && o.l2_weight == 0 && o.mrstft_weight == 0 && o.sdr_weight == 0)
        tf_usage_error("--l1-weight, --l2-weight, --sdr-weight and --mrstft-weight are all 0: nothing to train on");
    o.inputs = argv + optind;
    o.n_inputs = argc - optind;
    return train_run(&o);
}
