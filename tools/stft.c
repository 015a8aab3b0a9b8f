/* stft: every waveform tensor of each record becomes its complex
 * spectrogram (man/stft.1). The work is in lib/dsp/stft_record.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/stft.h"
#include "dsp/stft_record.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/progress.h"
#include "util/rng.h"

#define MAX_ONLY 256

static void usage(void)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Turn every waveform tensor (f32 (channels, samples)) of each record of a tensor stream into\n"
           "its complex spectrogram (c64 (channels, n_fft/2+1, 1 + samples/hop)) of the same name: periodic\n"
           "Hann window, centred with reflect padding, unnormalised, as torch.stft. Reads FILEs (or standard\n"
           "input), writes the stream to standard output. Adds attributes n_fft, hop, window=hann,\n"
           "center=reflect, length (when absent) and length/NAME for tensors of another length.\n"
           "\n"
           "  -n, --n-fft N         FFT size, even (default 2048)\n"
           "  -H, --hop N           hop between frames, 1..n_fft (default 512)\n"
           "      --only NAMES      convert only these tensors (comma-separated)\n"
           "\n"
           "Masking augmentation (off unless a count is given; reproducible from --seed):\n"
           "      --freq-masks N    frequency bands to zero per record (default 0)\n"
           "      --freq-width N    widest band in bins (default 80)\n"
           "      --time-masks N    spans of frames to zero per record (default 0)\n"
           "      --time-width N    widest span in frames (default 40)\n"
           "      --mask-prob P     probability that a record is masked at all (default 1)\n"
           "      --mask-each       draw masks for each tensor on its own (default: one draw per record,\n"
           "                        the same cells zeroed in the mixture and every target, so the masked\n"
           "                        mixture still equals the sum of the masked targets)\n"
           "      --seed S          seed of the masks (default 0)\n"
           "\n"
           "  -j, --threads N       threads (default: $TFSWA_THREADS or 1; 0 = all CPUs)\n"
           "  -q, --quiet           no progress on standard error\n"
           "  -h, --help            show this help and exit\n"
           "\n"
           "Exit status: 0 ok, 1 runtime error, 2 usage error. See stft(1), istft(1).\n",
           tf_progname);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    enum { O_ONLY = 256, O_FM, O_FW, O_TM, O_TW, O_MP, O_ME, O_SEED };
    static const struct option opts[] = {
        {"n-fft", required_argument, 0, 'n'},      {"hop", required_argument, 0, 'H'},
        {"only", required_argument, 0, O_ONLY},    {"freq-masks", required_argument, 0, O_FM},
        {"freq-width", required_argument, 0, O_FW}, {"time-masks", required_argument, 0, O_TM},
        {"time-width", required_argument, 0, O_TW}, {"mask-prob", required_argument, 0, O_MP},
        {"mask-each", no_argument, 0, O_ME},       {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, 'j'},    {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0},
    };
    stft_fwd_opts o = {.n_fft = 2048, .hop = 512, .mask = {0, 80, 0, 40, 1.0}};
    char *only[MAX_ONLY];
    uint64_t seed = 0;
    int quiet = 0, c;
    while ((c = getopt_long(argc, argv, "n:H:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': o.n_fft = (int)tf_parse_long("--n-fft", optarg, 2, 1 << 20); break;
        case 'H': o.hop = (int)tf_parse_long("--hop", optarg, 1, 1 << 20); break;
        case O_ONLY:
            if (o.only)
                tf_free_list(o.only, o.n_only);
            o.n_only = tf_split_list("--only", optarg, only, MAX_ONLY);
            o.only = only;
            break;
        case O_FM: o.mask.freq_masks = (int)tf_parse_long("--freq-masks", optarg, 0, SPECMASK_MAX); break;
        case O_FW: o.mask.freq_width = (int)tf_parse_long("--freq-width", optarg, 0, 1 << 20); break;
        case O_TM: o.mask.time_masks = (int)tf_parse_long("--time-masks", optarg, 0, SPECMASK_MAX); break;
        case O_TW: o.mask.time_width = (int)tf_parse_long("--time-width", optarg, 0, 1 << 30); break;
        case O_MP: o.mask.prob = tf_parse_double("--mask-prob", optarg, 0, 1); break;
        case O_ME: o.mask_each = 1; break;
        case O_SEED: seed = tf_parse_u64("--seed", optarg); break;
        case 'j': tf_set_threads((int)tf_parse_long("--threads", optarg, 0, 4096)); break;
        case 'q': quiet = 1; break;
        case 'h': usage(); return 0;
        default: tf_getopt_error();
        }
    }
    if (o.n_fft % 2)
        tf_usage_error("--n-fft %d: must be even", o.n_fft);
    if (o.hop > o.n_fft)
        tf_usage_error("--hop %d: must not exceed --n-fft %d", o.hop, o.n_fft);

    char err[1024];
    const stft_plan *plan = stft_plan_get(o.n_fft, o.hop, err, sizeof err);
    if (!plan)
        tf_usage_error("%s", err);
    double min_env;
    if (!stft_plan_invertible(plan, &min_env))
        tf_warn("hop %d with n_fft %d: the window-sum-square falls to %.3g, so istft will refuse these "
                "spectrograms (use hop <= n_fft/2)", o.hop, o.n_fft, min_env);

    ts_reader *r = ts_open_inputs_or_die(argc - optind, argv + optind);
    ts_writer *w = ts_open_stdout_or_die();
    stft_engine *e = stft_engine_new();
    if (!e)
        tf_die("out of memory");
    tf_rng base;
    tf_rng_seed(&base, seed);
    tf_progress pr;
    tf_progress_init(&pr, "stft", 0, "records", !quiet);
    ts_record rec;
    ts_record_init(&rec);
    long nrec = 0, converted = 0;
    int64_t masked = 0;
    while (ts_read_or_die(r, &rec) == 1) {
        /* one generator per record, from the seed and the record's index:
         * the same masks whatever the threads */
        tf_rng rr = tf_rng_fork(&base, (uint64_t)nrec);
        int64_t cells;
        int k = stft_record_forward(e, &rec, &o, &rr, &cells, err, sizeof err);
        if (k < 0)
            tf_die("%s: record %ld: %s", ts_reader_name(r), ts_reader_record(r), err);
        converted += k;
        masked += cells;
        ts_write_or_die(w, &rec);
        nrec++;
        tf_progress_update(&pr, (double)nrec, NULL);
    }
    ts_writer_close_or_die(w);
    char extra[128];
    if (o.mask.freq_masks || o.mask.time_masks)
        snprintf(extra, sizeof extra, "%ld tensors converted, %lld cells masked", converted, (long long)masked);
    else
        snprintf(extra, sizeof extra, "%ld tensors converted", converted);
    tf_progress_done(&pr, (double)nrec, extra);
    if (nrec > 0 && converted == 0)
        tf_warn("no waveform tensor (f32 (channels, samples))%s in %ld records", o.only ? " of those named" : "",
                nrec);
    ts_record_free(&rec);
    ts_reader_close(r);
    stft_engine_free(e);
    if (o.only)
        tf_free_list(o.only, o.n_only);
    return 0;
}
