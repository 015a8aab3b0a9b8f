/* tfswa-net: the TFSWA-UNet (man/tfswa-net.1). Modes: --init makes a
 * checkpoint, --info describes one, plain use separates every record of a
 * stream, --train trains (lib/train/). The work is in lib/model/. */
#include <errno.h>
#include <getopt.h>
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

static void usage(void)
{
    printf("Usage: %s -m FILE [OPTION]... [FILE]...        separate\n"
           "  or:  %s --init -m FILE [--preset P | HYPER-PARAMETERS] [--stems LIST] [--seed S] [--stats FILE]\n"
           "  or:  %s --info -m FILE\n"
           "The TFSWA-UNet music source separation model. Separation reads a tensor stream (FILEs or standard\n"
           "input), adds est/<stem> (c64 (2, bins, frames), the mask times the mixture) to every record from\n"
           "its 'mixture' spectrogram (c64 (2, n_fft/2+1, frames), from stft), passes everything else through,\n"
           "and writes the stream to standard output. Tracks of any length are processed in overlapping\n"
           "chunks blended without seams; memory depends on the chunk, not the track.\n"
           "\n"
           "  -m, --model FILE      the checkpoint (tfswa-checkpoint(5))\n"
           "      --chunk SEC       chunk length in seconds (default 6)\n"
           "      --overlap SEC     overlap of neighbouring chunks in seconds (default 1)\n"
           "  -j, --threads N       threads (default: $TFSWA_THREADS or all CPUs; 0 = all CPUs)\n"
           "  -q, --quiet           no progress on standard error\n"
           "      --no-fold-bn      apply BatchNorm on its own instead of folded into the convolutions\n"
           "                        (slower; equal up to rounding; for checking)\n"
           "      --amp             the linear layers' matrix products on bfloat16 operands (float32 sums);\n"
           "                        here: %s\n"
           "\n"
           "Making a checkpoint (refuses to overwrite an existing FILE without --force):\n"
           "      --init            write a new, untrained checkpoint to the --model FILE\n"
           "      --preset P        seed (depths 2,2,6,2, dims 32,64,128,256, heads 8),\n"
           "                        tiny (depths 1,1,1,1, dims 16,32,64,128, heads 2) or\n"
           "                        band (band-split: 38 bands x 40 features, depth 2, heads 5,\n"
           "                        mlp-ratio 2, mask-hidden 96; 1.7 GFLOP/s of audio); default seed\n"
           "      --depths LIST     TFSWA blocks per stage: 4 integers (encoder 1-3, bottom)\n"
           "      --dims LIST       channels per stage: 4 integers\n"
           "      --heads N|LIST    attention heads (one for all stages, or 4)\n"
           "      --window N        W-MSA window in bins and frames, even (default 8)\n"
           "      --mlp-ratio N     MLP hidden channels per channel (default 4; band 2)\n"
           "      --bands LIST      band preset: band widths in bins, summing to n_fft/2+1 (default:\n"
           "                        2 bins doubling every 6 bands, the last band takes the rest)\n"
           "      --mask-hidden N   band preset: hidden features of the per-band mask MLP\n"
           "      --features F      band preset: complex (the normalised complex bins; default) or\n"
           "                        logmag (those and each channel's log magnitude)\n"
           "      --n-fft N         spectrogram FFT size the model expects (default 2048)\n"
           "      --hop N           spectrogram hop (default 512)\n"
           "      --rate HZ         sample rate (default 44100)\n"
           "      --stems LIST      stems to estimate (default vocals,drums,bass,other)\n"
           "      --mask KIND       unbounded (a complex mask per stem; default) or residual (the last\n"
           "                        stem is the mixture minus the others, as Open-Unmix's residual)\n"
           "      --seed S          initialisation seed (default 0)\n"
           "      --stats FILE      per-bin input statistics (written by specnorm; default mean 0, std 1)\n"
           "      --force           overwrite an existing checkpoint\n"
           "\n"
           "      --info            print the configuration, parameter counts per module and FLOPs\n"
           "                        per second of audio (for chunks of --chunk seconds)\n"
           "      --train           train on the stream (options: tfswa-net --train --help)\n"
           "  -h, --help            show this help and exit\n"
           "\n"
           "Kernels: %s (this CPU runs: %s; TFSWA_KERNELS=portable|avx2|avx512 forces one; tfswa(7)).\n"
           "MPI (data-parallel --train under mpirun): %s.\n"
           "Exit status: 0 ok, 1 runtime error, 2 usage error. See tfswa-checkpoint(5), stft(1), istft(1).\n",
           tf_progname, tf_progname, tf_progname, nn_bf16_path(), nn_kernels(), nn_kernels_available(),
           dist_describe());
}

enum { MODE_SEPARATE, MODE_INIT, MODE_INFO };
enum {
    O_INIT = 256, O_INFO, O_TRAIN, O_PRESET, O_DEPTHS, O_DIMS, O_HEADS, O_WINDOW, O_MLP, O_NFFT, O_HOP, O_RATE,
    O_STEMS, O_MASK, O_SEED, O_STATS, O_FORCE, O_CHUNK, O_OVERLAP, O_NOFOLD, O_BANDS, O_MASKH, O_AMP, O_FEATURES
};
#define SHORTOPTS "m:j:qh"

/* Whether the command line asks for --train, as getopt_long reads it (so an
 * abbreviation such as --trai counts, an option's argument does not): a
 * quiet first pass over the same table. Training has its own options
 * (lib/train/train_cli.c). */
static int wants_train(int argc, char **argv, const struct option *opts)
{
    int c, train = 0, saved = opterr;
    opterr = 0;
    while (!train && (c = getopt_long(argc, argv, SHORTOPTS, opts, NULL)) != -1)
        train = c == O_TRAIN;
    opterr = saved;
    optind = 0; /* the next getopt_long starts over */
    return train;
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    tf_threads_default_all();
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"init", no_argument, 0, O_INIT},
        {"info", no_argument, 0, O_INFO},         {"train", no_argument, 0, O_TRAIN},
        {"preset", required_argument, 0, O_PRESET}, {"depths", required_argument, 0, O_DEPTHS},
        {"dims", required_argument, 0, O_DIMS},   {"heads", required_argument, 0, O_HEADS},
        {"window", required_argument, 0, O_WINDOW}, {"mlp-ratio", required_argument, 0, O_MLP},
        {"n-fft", required_argument, 0, O_NFFT},  {"hop", required_argument, 0, O_HOP},
        {"rate", required_argument, 0, O_RATE},   {"stems", required_argument, 0, O_STEMS},
        {"seed", required_argument, 0, O_SEED},   {"stats", required_argument, 0, O_STATS},
        {"mask", required_argument, 0, O_MASK},   {"bands", required_argument, 0, O_BANDS},
        {"mask-hidden", required_argument, 0, O_MASKH}, {"features", required_argument, 0, O_FEATURES},
        {"force", no_argument, 0, O_FORCE},       {"chunk", required_argument, 0, O_CHUNK},
        {"overlap", required_argument, 0, O_OVERLAP}, {"no-fold-bn", no_argument, 0, O_NOFOLD},
        {"threads", required_argument, 0, 'j'},   {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},            {"amp", no_argument, 0, O_AMP},
        {0, 0, 0, 0},
    };
    if (wants_train(argc, argv, opts))
        return train_main(argc, argv);
    const char *model = NULL, *preset = NULL, *depths = NULL, *dims = NULL, *heads = NULL, *stems = NULL, *mask = NULL,
               *stats = NULL, *bands = NULL, *features = NULL;
    int window = 0, mlp = 0, maskh = 0, nfft = 0, hop = 0, rate = 0, force = 0, mode = MODE_SEPARATE, modes = 0;
    int have_seed = 0, hyper = 0, amp = 0;
    uint64_t seed = 0;
    tfswa_sep_opts so = {.chunk_sec = 6.0, .overlap_sec = 1.0, .fold_bn = 1, .quiet = 0};
    int have_overlap = 0, c;
    while ((c = getopt_long(argc, argv, SHORTOPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case O_INIT: mode = MODE_INIT, modes++; break;
        case O_INFO: mode = MODE_INFO, modes++; break;
        case O_PRESET: preset = optarg; break;
        case O_DEPTHS: depths = optarg, hyper = 1; break;
        case O_DIMS: dims = optarg, hyper = 1; break;
        case O_HEADS: heads = optarg, hyper = 1; break;
        case O_WINDOW: window = (int)tf_parse_long("--window", optarg, 2, 64), hyper = 1; break;
        case O_MLP: mlp = (int)tf_parse_long("--mlp-ratio", optarg, 1, 16), hyper = 1; break;
        case O_NFFT: nfft = (int)tf_parse_long("--n-fft", optarg, 16, 65536), hyper = 1; break;
        case O_HOP: hop = (int)tf_parse_long("--hop", optarg, 1, 65536), hyper = 1; break;
        case O_RATE: rate = (int)tf_parse_long("--rate", optarg, 1, 1000000), hyper = 1; break;
        case O_BANDS: bands = optarg, hyper = 1; break;
        case O_FEATURES: features = optarg, hyper = 1; break;
        case O_MASKH: maskh = (int)tf_parse_long("--mask-hidden", optarg, 1, TFSWA_MAX_DIM), hyper = 1; break;
        case O_STEMS: stems = optarg; break;
        case O_MASK: mask = optarg; break;
        case O_SEED: seed = tf_parse_u64("--seed", optarg), have_seed = 1; break;
        case O_STATS: stats = optarg; break;
        case O_FORCE: force = 1; break;
        case O_CHUNK: so.chunk_sec = tf_parse_double("--chunk", optarg, 0.001, 86400); break;
        case O_OVERLAP: so.overlap_sec = tf_parse_double("--overlap", optarg, 0, 86400), have_overlap = 1; break;
        case O_NOFOLD: so.fold_bn = 0; break;
        case O_AMP: amp = 1; break;
        case 'j': tf_set_threads((int)tf_parse_long("--threads", optarg, 0, 1024)); break;
        case 'q': so.quiet = 1; break;
        case 'h': usage(); return 0;
        default: tf_getopt_error();
        }
    }
    if (modes > 1)
        tf_usage_error("--init and --info exclude each other");
    if (!model)
        tf_usage_error("no model: give the checkpoint with -m FILE");
    if (mode != MODE_INIT && (preset || hyper || stems || mask || have_seed || stats || force))
        tf_usage_error("--preset, hyper-parameters, --stems, --mask, --seed, --stats and --force go with --init");
    if (amp && mode != MODE_SEPARATE)
        tf_usage_error("--amp goes with separation and --train");
    if (amp) { /* nn/precision.h */
        nn_set_matmul_precision(NN_BF16);
        if (!nn_bf16_hardware())
            tf_warn("--amp: %s", nn_bf16_path());
    }
    if (so.overlap_sec >= so.chunk_sec) {
        if (have_overlap)
            tf_usage_error("--overlap %g must be shorter than --chunk %g", so.overlap_sec, so.chunk_sec);
        so.overlap_sec = so.chunk_sec / 4;
    }
    char err[1024];

    if (mode == MODE_INIT) {
        if (optind < argc)
            tf_usage_error("--init takes no input files");
        tfswa_config cfg;
        if (tfswa_preset(&cfg, preset ? preset : "seed") < 0)
            tf_usage_error("--preset: unknown preset '%s' (seed, tiny, band)", preset);
        if (depths && tfswa_parse_ints(depths, cfg.depths, TFSWA_LEVELS) < 0)
            tf_usage_error("--depths: '%s' is not 4 comma-separated integers", depths);
        if (dims && tfswa_parse_ints(dims, cfg.dims, TFSWA_LEVELS) < 0)
            tf_usage_error("--dims: '%s' is not 4 comma-separated integers", dims);
        if (heads && tfswa_parse_ints(heads, cfg.heads, TFSWA_LEVELS) < 0)
            tf_usage_error("--heads: '%s' is not one or 4 comma-separated integers", heads);
        if ((bands || maskh || features) && cfg.arch != TFSWA_ARCH_BAND)
            tf_usage_error("--bands, --mask-hidden and --features go with --preset band");
        if (features && (cfg.features = tfswa_parse_features(features)) < 0)
            tf_usage_error("--features: '%s' is not complex or logmag", features);
        if (bands && tfswa_parse_bands(bands, &cfg) < 0)
            tf_usage_error("--bands: '%s' is not a list of at most %d integers", bands, TFSWA_MAX_BANDS);
        if (maskh)
            cfg.mask_hidden = maskh;
        if (window)
            cfg.window = window;
        if (mlp)
            cfg.mlp_ratio = mlp;
        if (nfft)
            cfg.n_fft = nfft;
        if (hop)
            cfg.hop = hop;
        if (rate)
            cfg.rate = rate;
        if (hyper)
            snprintf(cfg.preset, sizeof cfg.preset, "custom");
        if (stems) {
            char *items[TFSWA_MAX_STEMS + 1];
            int n = tf_split_list("--stems", stems, items, TFSWA_MAX_STEMS + 1);
            if (n > TFSWA_MAX_STEMS)
                tf_usage_error("--stems: more than %d stems", TFSWA_MAX_STEMS);
            for (int i = 0; i < n; i++) {
                if (strlen(items[i]) >= TFSWA_STEM_NAME)
                    tf_usage_error("--stems: name '%s' too long", items[i]);
                snprintf(cfg.stems[i], TFSWA_STEM_NAME, "%s", items[i]);
            }
            cfg.n_stems = n;
            tf_free_list(items, n);
        }
        cfg.seed = seed;
        if (mask) {
            if (strcmp(mask, "residual") != 0 && strcmp(mask, "unbounded") != 0)
                tf_usage_error("--mask: unknown kind '%s' (unbounded, residual)", mask);
            cfg.residual = strcmp(mask, "residual") == 0;
        }
        if (tfswa_config_check(&cfg, err, sizeof err) < 0)
            tf_usage_error("%s", err);
        struct stat st;
        if (!force && stat(model, &st) == 0)
            tf_die("%s: already exists (use --force to overwrite it)", model);
        tfswa_model m;
        tfswa_model_alloc(&m, &cfg);
        tfswa_model_init_weights(&m);
        if (stats && tfswa_load_stats(stats, &m, err, sizeof err) < 0)
            tf_die("%s", err);
        if (tfswa_ckpt_save(model, &m, NULL, err, sizeof err) < 0)
            tf_die("%s", err);
        if (!so.quiet)
            fprintf(stderr, "%s: wrote %s (%s, %zu parameters, stems %s)\n", tf_progname, model, cfg.preset,
                    m.layout.n_params, stems ? stems : "vocals,drums,bass,other");
        tfswa_model_free(&m);
        return 0;
    }

    tfswa_model m;
    ts_record extra;
    ts_record_init(&extra);
    if (tfswa_ckpt_load(model, &m, &extra, err, sizeof err) < 0)
        tf_die("%s", err);
    if (mode == MODE_INFO) {
        if (optind < argc)
            tf_usage_error("--info takes no input files");
        tfswa_print_info(stdout, model, &m, &extra, so.chunk_sec);
        printf("kernels       %s (this CPU runs: %s)\n", nn_kernels(), nn_kernels_available());
        if (fflush(stdout) != 0) {
            tf_exit_on_epipe();
            tf_die("standard output: %s", strerror(errno));
        }
        ts_record_free(&extra);
        tfswa_model_free(&m);
        return 0;
    }
    ts_record_free(&extra);

    ts_reader *in = ts_open_inputs_or_die(argc - optind, argv + optind);
    ts_writer *out = ts_open_stdout_or_die();
    tfswa_separator sep;
    tfswa_separator_init(&sep, &m, &so);
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
    tfswa_model_free(&m);
    return 0;
}
