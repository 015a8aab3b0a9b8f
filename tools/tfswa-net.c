/* tfswa-net: the TFSWA-UNet (man/tfswa-net.1). Modes: --init makes a
 * checkpoint, --info describes one, plain use separates every record of a
 * stream, --train trains (its own options, below; the trainer is in
 * lib/train/). The work is in lib/model/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/checkpoint.h"
#include "model/info.h"
#include "model/model.h"
#include "model/separate.h"
#include "nn/kernels.h"
#include "nn/precision.h"
#include "stream/ts.h"
#include "train/dist.h"
#include "train/trainer.h"
#include "util/cli.h"
#include "util/opts.h"

static void usage(const tf_opt *opts)
{
    printf("Usage: %s -m FILE [OPTION]... [FILE]...        separate\n"
           "  or:  %s --init -m FILE [--preset P | HYPER-PARAMETERS] [--stems LIST] [--seed S] [--stats FILE]\n"
           "  or:  %s --info -m FILE\n"
           "The TFSWA-UNet music source separation model. Separation reads a tensor stream (FILEs or standard\n"
           "input), adds est/<stem> (c64 (2, bins, frames), the mask times the mixture) to every record from\n"
           "its 'mixture' spectrogram (c64 (2, n_fft/2+1, frames), from stft), passes everything else through,\n"
           "and writes the stream to standard output. Tracks of any length are processed in overlapping\n"
           "chunks blended without seams; memory depends on the chunk, not the track.\n"
           "\n",
           tf_progname, tf_progname, tf_progname);
    tf_opts_help(opts, 24);
    printf("\n"
           "Kernels: %s (this CPU runs: %s; TFSWA_KERNELS=portable|avx2|avx512 forces one; tfswa(7)).\n"
           "MPI (data-parallel --train under mpirun): %s.\n"
           "Exit status: 0 ok, 1 runtime error, 2 usage error. See tfswa-checkpoint(5), stft(1), istft(1).\n",
           nn_kernels(), nn_kernels_available(), dist_describe());
}

static void train_usage(const tf_opt *opts)
{
    printf("Usage: %s --train -m FILE [OPTION]... [FILE]...\n"
           "Trains the TFSWA-UNet in checkpoint FILE (made by --init) on the examples of a tensor stream (FILEs or\n"
           "standard input): records with a 'mixture' spectrogram and one per stem of the model (c64 (2, bins,\n"
           "frames), all examples of the same frames), e.g.\n"
           "  musdb-slice --random --segment 6 ROOT | stft | tfswa-net --train -m model.ckpt --valid valid.ts\n"
           "Checkpoints (weights, optimiser state, step, examples consumed) go to FILE atomically; the best model\n"
           "by validation loss (or --best-by sdr) to FILE.best.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 26);
    printf("\n"
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
           dist_describe());
}

/* --best-by loss|sdr */
static void set_best_by(const tf_opt *o, const char *arg)
{
    if (strcmp(arg, "loss") == 0)
        *(int *)o->var = 0;
    else if (strcmp(arg, "sdr") == 0)
        *(int *)o->var = 1;
    else
        tf_usage_error("--best-by: '%s': expected loss or sdr", arg);
}

/* The training options into o; returns the index of the first input in
 * argv. --help prints the training help and exits. */
static int train_options_parse(train_options *o, int argc, char **argv)
{
    int train = 0;
    char amp_help[512];
    snprintf(amp_help, sizeof amp_help,
             "mixed precision: the linear layers' matrix products on bfloat16 operands,\n"
             "float32 sums, weights and everything else (AMX or AVX512_BF16 where the\n"
             "CPU has them, else a portable path that is no faster: a note says so)\n"
             "here: %s",
             nn_bf16_path());
    tf_opt opts[] = {
        {"model", 'm', TF_OPT_STRING, &o->model, "FILE", 0, 0, NULL, "the checkpoint to train (read, then rewritten)"},
        {"train", 0, TF_OPT_FLAG, &train, NULL, 0, 0, NULL, NULL},
        {"resume", 0, TF_OPT_FLAG, &o->resume, NULL, 0, 0, NULL,
         "continue the run saved in FILE: optimiser state, step, schedule; skips the\n"
         "examples already consumed when the same stream is given again"},
        {"batch-size", 0, TF_OPT_INT, &o->batch, "N", 1, 4096, NULL,
         "examples per step (default 4; over all ranks under mpirun)"},
        {"micro-batch", 0, TF_OPT_INT, &o->micro_batch, "N", 1, 4096, NULL,
         "examples per forward and backward pass, their gradients summed in double\n"
         "precision (default: 1 for models without BatchNorm (band), so that the\n"
         "result does not depend on the number of ranks; else the whole batch)"},
        {"steps", 0, TF_OPT_I64, &o->steps, "N", 1, (long)1 << 40, NULL,
         "total optimiser steps of the run (default max-epochs x epoch-size / batch)"},
        {"epoch-size", 0, TF_OPT_I64, &o->epoch_size, "N", 1, (long)1 << 40, NULL, "examples per epoch (default 1000)"},
        {"max-epochs", 0, TF_OPT_I64, &o->max_epochs, "N", 1, (long)1 << 30, NULL,
         "epochs when --steps is not given (default 100)"},
        {"time-limit", 0, TF_OPT_DOUBLE, &o->time_limit, "MIN", 0, 1e9, NULL,
         "stop (and save) after MIN minutes of wall-clock time"},
        {"lr", 0, TF_OPT_DOUBLE, &o->lr, "X", 0, 10, NULL, "peak learning rate (default 1e-3)"},
        {"min-lr", 0, TF_OPT_DOUBLE, &o->min_lr, "X", 0, 10, NULL,
         "learning rate at the end of the cosine (default 0)"},
        {"ema", 0, TF_OPT_DOUBLE, &o->ema, "D", 0, 0.999999, NULL,
         "keep an exponential moving average of the weights (decay D, e.g.\n"
         "0.99; 0 = off, the default): validation, FILE.best and FILE's\n"
         "weights are the average, the raw weights are kept for --resume"},
        {"warmup", 0, TF_OPT_I64, &o->warmup, "N", 0, (long)1 << 40, NULL,
         "linear warm-up steps (default 5% of the steps, at most 1000)"},
        {"weight-decay", 0, TF_OPT_DOUBLE, &o->weight_decay, "X", 0, 10, NULL, "AdamW weight decay (default 0.01)"},
        {"clip", 0, TF_OPT_DOUBLE, &o->clip, "X", 0, 1e30, NULL,
         "clip gradients to global norm X (default 5; 0 = off)"},
        {"l1-weight", 0, TF_OPT_DOUBLE, &o->l1_weight, "X", 0, 1e6, NULL,
         "weight of the complex spectrogram L1 loss (default 0)"},
        {"l2-weight", 0, TF_OPT_DOUBLE, &o->l2_weight, "X", 0, 1e6, NULL,
         "weight of the complex spectrogram squared error (MSE; default 1)"},
        {"mrstft-weight", 0, TF_OPT_DOUBLE, &o->mrstft_weight, "X", 0, 1e6, NULL,
         "weight of the multi-resolution STFT loss (default 0)"},
        {"sdr-weight", 0, TF_OPT_DOUBLE, &o->sdr_weight, "X", 0, 1e6, NULL,
         "weight of the SDR loss: -SDR in dB of each example and stem, with a\n"
         "floor 30 dB below the mixture (default 0)"},
        {"valid", 0, TF_OPT_STRING, &o->valid, "FILE", 0, 0, NULL,
         "validation stream: loss and global SDR per stem every --valid-every epochs"},
        {"valid-every", 0, TF_OPT_I64, &o->valid_every, "N", 1, (long)1 << 30, NULL,
         "epochs between validations (default 1)"},
        {"best-by", 0, TF_OPT_CALL, &o->best_by_sdr, "WHAT", 0, 0, set_best_by,
         "loss (lowest validation loss; default) or sdr (highest mean validation\n"
         "SDR over stems) chooses FILE.best"},
        {"save-every", 0, TF_OPT_I64, &o->save_every, "N", 0, (long)1 << 40, NULL,
         "steps between checkpoints (default 100)"},
        {"log-dir", 0, TF_OPT_STRING, &o->log_dir, "DIR", 0, 0, NULL,
         "train.csv, valid.csv and TensorBoard event files"},
        {"log-every", 0, TF_OPT_I64, &o->log_every, "N", 1, (long)1 << 40, NULL,
         "steps per CSV line / TensorBoard point (default 10)"},
        {"recompute", 0, TF_OPT_FLAG, &o->recompute, NULL, 0, 0, NULL,
         "store only block inputs; recompute blocks in the backward pass (less memory)"},
        {"amp", 0, TF_OPT_FLAG, &o->amp, NULL, 0, 0, NULL, amp_help},
        {"threads", 'j', TF_OPT_CALL, NULL, "N", 0, 1024, tf_opt_threads,
         "threads (default: $TFSWA_THREADS or all CPUs; 0 = all)"},
        {"quiet", 'q', TF_OPT_FLAG, &o->quiet, NULL, 0, 0, NULL, "no progress on standard error"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {.help = "unknown option (tfswa-net --train --help lists the training options)"},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, train_usage);
    return first;
}

/* `tfswa-net --train ...` (argv as given to tfswa-net, --train among them). */
static int train_main(int argc, char **argv)
{
    train_options o;
    train_options_default(&o);
    int first = train_options_parse(&o, argc, argv);
    if (!o.model)
        tf_usage_error("--train: no model: give the checkpoint to train with -m FILE (make one with --init)");
    if (o.l1_weight == 0 && o.l2_weight == 0 && o.mrstft_weight == 0 && o.sdr_weight == 0)
        tf_usage_error("--l1-weight, --l2-weight, --sdr-weight and --mrstft-weight are all 0: nothing to train on");
    o.inputs = argv + first;
    o.n_inputs = argc - first;
    return train_run(&o);
}

enum { MODE_SEPARATE, MODE_INIT, MODE_INFO };

/* The options of separation, --init and --info. */
typedef struct {
    const char *model;
    int mode, modes; /* MODE_*, how many of --init and --info were given */
    /* --init: the preset, hyper-parameters (strings parsed by lib/model, 0: the preset's) and the rest */
    const char *preset, *depths, *dims, *heads, *bands, *features, *stems, *mask, *stats;
    int window, mlp, maskh, nfft, hop, rate, force;
    uint64_t seed;
    int have_seed;
    /* separation */
    tfswa_sep_opts so;
    int have_overlap, no_fold, amp, train;
} net_args;

static void mode_init(const tf_opt *o, const char *arg)
{
    net_args *a = o->var;
    a->mode = MODE_INIT;
    a->modes++;
}

static void mode_info(const tf_opt *o, const char *arg)
{
    net_args *a = o->var;
    a->mode = MODE_INFO;
    a->modes++;
}

/* Any hyper-parameter option given (each takes a non-zero value). */
static int has_hyper(const net_args *a)
{
    return a->depths || a->dims || a->heads || a->window || a->mlp || a->nfft || a->hop || a->rate || a->bands ||
           a->features || a->maskh;
}

/* The options of separation, --init and --info into a; returns the index
 * of the first operand in argv. --help prints the help and exits. With
 * --train among the options (as getopt reads them: abbreviated, not an
 * option's argument) only sets a->train: training has its own options. */
static int net_options_parse(net_args *a, int argc, char **argv)
{
    char amp_help[512];
    snprintf(amp_help, sizeof amp_help,
             "the linear layers' matrix products on bfloat16 operands (float32 sums);\n"
             "here: %s",
             nn_bf16_path());
    tf_opt opts[] = {
        {"model", 'm', TF_OPT_STRING, &a->model, "FILE", 0, 0, NULL, "the checkpoint (tfswa-checkpoint(5))"},
        {"chunk", 0, TF_OPT_DOUBLE, &a->so.chunk_sec, "SEC", 0.001, 86400, NULL, "chunk length in seconds (default 6)"},
        {"overlap", 0, TF_OPT_DOUBLE, &a->so.overlap_sec, "SEC", 0, 86400, NULL,
         "overlap of neighbouring chunks in seconds (default 1)"},
        {"threads", 'j', TF_OPT_CALL, NULL, "N", 0, 1024, tf_opt_threads,
         "threads (default: $TFSWA_THREADS or all CPUs; 0 = all CPUs)"},
        {"quiet", 'q', TF_OPT_FLAG, &a->so.quiet, NULL, 0, 0, NULL, "no progress on standard error"},
        {"no-fold-bn", 0, TF_OPT_FLAG, &a->no_fold, NULL, 0, 0, NULL,
         "apply BatchNorm on its own instead of folded into the convolutions\n"
         "(slower; equal up to rounding; for checking)"},
        {"amp", 0, TF_OPT_FLAG, &a->amp, NULL, 0, 0, NULL, amp_help},
        {.kind = TF_OPT_TEXT, .help = ""},
        {.kind = TF_OPT_TEXT, .help = "Making a checkpoint (refuses to overwrite an existing FILE without --force):"},
        {"init", 0, TF_OPT_CALL, a, NULL, 0, 0, mode_init, "write a new, untrained checkpoint to the --model FILE"},
        {"preset", 0, TF_OPT_STRING, &a->preset, "P", 0, 0, NULL,
         "seed (depths 2,2,6,2, dims 32,64,128,256, heads 8),\n"
         "tiny (depths 1,1,1,1, dims 16,32,64,128, heads 2) or\n"
         "band (band-split: 38 bands x 40 features, depth 2, heads 5,\n"
         "mlp-ratio 2, mask-hidden 96; 1.7 GFLOP/s of audio); default seed"},
        {"depths", 0, TF_OPT_STRING, &a->depths, "LIST", 0, 0, NULL,
         "TFSWA blocks per stage: 4 integers (encoder 1-3, bottom)"},
        {"dims", 0, TF_OPT_STRING, &a->dims, "LIST", 0, 0, NULL, "channels per stage: 4 integers"},
        {"heads", 0, TF_OPT_STRING, &a->heads, "N|LIST", 0, 0, NULL, "attention heads (one for all stages, or 4)"},
        {"window", 0, TF_OPT_INT, &a->window, "N", 2, 64, NULL, "W-MSA window in bins and frames, even (default 8)"},
        {"mlp-ratio", 0, TF_OPT_INT, &a->mlp, "N", 1, 16, NULL, "MLP hidden channels per channel (default 4; band 2)"},
        {"bands", 0, TF_OPT_STRING, &a->bands, "LIST", 0, 0, NULL,
         "band preset: band widths in bins, summing to n_fft/2+1 (default:\n"
         "2 bins doubling every 6 bands, the last band takes the rest)"},
        {"mask-hidden", 0, TF_OPT_INT, &a->maskh, "N", 1, TFSWA_MAX_DIM, NULL,
         "band preset: hidden features of the per-band mask MLP"},
        {"features", 0, TF_OPT_STRING, &a->features, "F", 0, 0, NULL,
         "band preset: complex (the normalised complex bins; default) or\n"
         "logmag (those and each channel's log magnitude)"},
        {"n-fft", 0, TF_OPT_INT, &a->nfft, "N", 16, 65536, NULL,
         "spectrogram FFT size the model expects (default 2048)"},
        {"hop", 0, TF_OPT_INT, &a->hop, "N", 1, 65536, NULL, "spectrogram hop (default 512)"},
        {"rate", 0, TF_OPT_INT, &a->rate, "HZ", 1, 1000000, NULL, "sample rate (default 44100)"},
        {"stems", 0, TF_OPT_STRING, &a->stems, "LIST", 0, 0, NULL,
         "stems to estimate (default vocals,drums,bass,other)"},
        {"mask", 0, TF_OPT_STRING, &a->mask, "KIND", 0, 0, NULL,
         "unbounded (a complex mask per stem; default) or residual (the last\n"
         "stem is the mixture minus the others, as Open-Unmix's residual)"},
        {"seed", 0, TF_OPT_U64, &a->seed, "S", 0, 0, NULL, "initialisation seed (default 0)"},
        {"stats", 0, TF_OPT_STRING, &a->stats, "FILE", 0, 0, NULL,
         "per-bin input statistics (written by specnorm; default mean 0, std 1)"},
        {"force", 0, TF_OPT_FLAG, &a->force, NULL, 0, 0, NULL, "overwrite an existing checkpoint"},
        {.kind = TF_OPT_TEXT, .help = ""},
        {"info", 0, TF_OPT_CALL, a, NULL, 0, 0, mode_info,
         "print the configuration, parameter counts per module and FLOPs\n"
         "per second of audio (for chunks of --chunk seconds)"},
        {"train", 0, TF_OPT_FLAG, &a->train, NULL, 0, 0, NULL,
         "train on the stream (options: tfswa-net --train --help)"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    if (tf_opts_given(opts, argc, argv, "train")) {
        a->train = 1;
        return 0;
    }
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    a->have_seed = tf_opts_given(opts, argc, argv, "seed");
    a->have_overlap = tf_opts_given(opts, argc, argv, "overlap");
    return first;
}

/* The usage errors that concern several options, --amp's precision and the
 * overlap's default for a short --chunk. */
static void check_options(net_args *a)
{
    if (a->modes > 1)
        tf_usage_error("--init and --info exclude each other");
    if (!a->model)
        tf_usage_error("no model: give the checkpoint with -m FILE");
    if (a->mode != MODE_INIT &&
        (a->preset || has_hyper(a) || a->stems || a->mask || a->have_seed || a->stats || a->force))
        tf_usage_error("--preset, hyper-parameters, --stems, --mask, --seed, --stats and --force go with --init");
    if (a->amp && a->mode != MODE_SEPARATE)
        tf_usage_error("--amp goes with separation and --train");
    if (a->amp) { /* nn/precision.h */
        nn_set_matmul_precision(NN_BF16);
        if (!nn_bf16_hardware())
            tf_warn("--amp: %s", nn_bf16_path());
    }
    if (a->so.overlap_sec >= a->so.chunk_sec) {
        if (a->have_overlap)
            tf_usage_error("--overlap %g must be shorter than --chunk %g", a->so.overlap_sec, a->so.chunk_sec);
        a->so.overlap_sec = a->so.chunk_sec / 4;
    }
}

/* --init's configuration: the preset with the hyper-parameters, stems and mask given. */
static void init_config(const net_args *a, tfswa_config *cfg)
{
    if (tfswa_preset(cfg, a->preset ? a->preset : "seed") < 0)
        tf_usage_error("--preset: unknown preset '%s' (seed, tiny, band)", a->preset);
    if (a->depths && tfswa_parse_ints(a->depths, cfg->depths, TFSWA_LEVELS) < 0)
        tf_usage_error("--depths: '%s' is not 4 comma-separated integers", a->depths);
    if (a->dims && tfswa_parse_ints(a->dims, cfg->dims, TFSWA_LEVELS) < 0)
        tf_usage_error("--dims: '%s' is not 4 comma-separated integers", a->dims);
    if (a->heads && tfswa_parse_ints(a->heads, cfg->heads, TFSWA_LEVELS) < 0)
        tf_usage_error("--heads: '%s' is not one or 4 comma-separated integers", a->heads);
    if ((a->bands || a->maskh || a->features) && cfg->arch != TFSWA_ARCH_BAND)
        tf_usage_error("--bands, --mask-hidden and --features go with --preset band");
    if (a->features && (cfg->features = tfswa_parse_features(a->features)) < 0)
        tf_usage_error("--features: '%s' is not complex or logmag", a->features);
    if (a->bands && tfswa_parse_bands(a->bands, cfg) < 0)
        tf_usage_error("--bands: '%s' is not a list of at most %d integers", a->bands, TFSWA_MAX_BANDS);
    if (a->maskh)
        cfg->mask_hidden = a->maskh;
    if (a->window)
        cfg->window = a->window;
    if (a->mlp)
        cfg->mlp_ratio = a->mlp;
    if (a->nfft)
        cfg->n_fft = a->nfft;
    if (a->hop)
        cfg->hop = a->hop;
    if (a->rate)
        cfg->rate = a->rate;
    if (has_hyper(a))
        snprintf(cfg->preset, sizeof cfg->preset, "custom");
    if (a->stems) {
        char *items[TFSWA_MAX_STEMS + 1];
        int n = tf_split_list("--stems", a->stems, items, TFSWA_MAX_STEMS + 1);
        if (n > TFSWA_MAX_STEMS)
            tf_usage_error("--stems: more than %d stems", TFSWA_MAX_STEMS);
        for (int i = 0; i < n; i++) {
            if (strlen(items[i]) >= TFSWA_STEM_NAME)
                tf_usage_error("--stems: name '%s' too long", items[i]);
            snprintf(cfg->stems[i], TFSWA_STEM_NAME, "%s", items[i]);
        }
        cfg->n_stems = n;
        tf_free_list(items, n);
    }
    cfg->seed = a->seed;
    if (a->mask) {
        if (strcmp(a->mask, "residual") != 0 && strcmp(a->mask, "unbounded") != 0)
            tf_usage_error("--mask: unknown kind '%s' (unbounded, residual)", a->mask);
        cfg->residual = strcmp(a->mask, "residual") == 0;
    }
}

/* --init: writes a new checkpoint. */
static int init_model(const net_args *a)
{
    char err[1024];
    tfswa_config cfg;
    init_config(a, &cfg);
    if (tfswa_config_check(&cfg, err, sizeof err) < 0)
        tf_usage_error("%s", err);
    struct stat st;
    if (!a->force && stat(a->model, &st) == 0)
        tf_die("%s: already exists (use --force to overwrite it)", a->model);
    tfswa_model m;
    tfswa_model_alloc(&m, &cfg);
    tfswa_model_init_weights(&m);
    if (a->stats && tfswa_load_stats(a->stats, &m, err, sizeof err) < 0)
        tf_die("%s", err);
    if (tfswa_ckpt_save(a->model, &m, NULL, err, sizeof err) < 0)
        tf_die("%s", err);
    if (!a->so.quiet)
        fprintf(stderr, "%s: wrote %s (%s, %zu parameters, stems %s)\n", tf_progname, a->model, cfg.preset,
                m.layout.n_params, a->stems ? a->stems : "vocals,drums,bass,other");
    tfswa_model_free(&m);
    return 0;
}

/* --info: describes the checkpoint on standard output. */
static int print_info(const net_args *a, const tfswa_model *m, const ts_record *extra)
{
    tfswa_print_info(stdout, a->model, m, extra, a->so.chunk_sec);
    printf("kernels       %s (this CPU runs: %s)\n", nn_kernels(), nn_kernels_available());
    if (fflush(stdout) != 0) {
        tf_exit_on_epipe();
        tf_die("standard output: %s", strerror(errno));
    }
    return 0;
}

/* Separation: est/<stem> into every record of the inputs, to standard output. */
static int separate(const net_args *a, const tfswa_model *m, int n_inputs, char **inputs)
{
    char err[1024];
    ts_reader *in = ts_open_inputs_or_die(n_inputs, inputs);
    ts_writer *out = ts_open_stdout_or_die();
    tfswa_separator sep;
    tfswa_separator_init(&sep, m, &a->so);
    ts_record rec;
    ts_record_init(&rec);
    while (ts_read_or_die(in, &rec) > 0) {
        char where[512];
        snprintf(where, sizeof where, "%s: record %ld", ts_reader_name(in), ts_reader_record(in));
        if (tfswa_separate_record(&sep, &rec, where, err, sizeof err) < 0)
            tf_die("%s", err);
        ts_write_or_die(out, &rec);
    }
    ts_writer_close_or_die(out);
    ts_record_free(&rec);
    ts_reader_close(in);
    tfswa_separator_free(&sep);
    return 0;
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    tf_threads_default_all();
    net_args a = {.mode = MODE_SEPARATE, .so = {.chunk_sec = 6.0, .overlap_sec = 1.0, .fold_bn = 1, .quiet = 0}};
    int first = net_options_parse(&a, argc, argv);
    if (a.train)
        return train_main(argc, argv);
    a.so.fold_bn = !a.no_fold;
    check_options(&a);
    if (a.mode == MODE_INIT) {
        if (first < argc)
            tf_usage_error("--init takes no input files");
        return init_model(&a);
    }
    char err[1024];
    tfswa_model m;
    ts_record extra;
    ts_record_init(&extra);
    if (tfswa_ckpt_load(a.model, &m, &extra, err, sizeof err) < 0)
        tf_die("%s", err);
    int rc;
    if (a.mode == MODE_INFO) {
        if (first < argc)
            tf_usage_error("--info takes no input files");
        rc = print_info(&a, &m, &extra);
        ts_record_free(&extra);
    } else {
        ts_record_free(&extra);
        rc = separate(&a, &m, argc - first, argv + first);
    }
    tfswa_model_free(&m);
    return rc;
}
