/* stft: every waveform tensor of each record becomes its complex
 * spectrogram (man/stft.1). The work is in lib/dsp/stft_record.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/stft.h"
#include "dsp/stft_record.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/opts.h"
#include "util/progress.h"
#include "util/rng.h"

#define MAX_ONLY 256

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Turn every waveform tensor (f32 (channels, samples)) of each record of a tensor stream into\n"
           "its complex spectrogram (c64 (channels, n_fft/2+1, 1 + samples/hop)) of the same name: periodic\n"
           "Hann window, centred with reflect padding, unnormalised, as torch.stft. Reads FILEs (or standard\n"
           "input), writes the stream to standard output. Adds attributes n_fft, hop, window=hann,\n"
           "center=reflect, length (when absent) and length/NAME for tensors of another length.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 24);
    printf("\n"
           "Exit status: 0 ok, 1 runtime error, 2 usage error. See stft(1), istft(1).\n");
}

/* Converts every record of r to w, with the progress and the closing warnings. */
static void convert(ts_reader *r, ts_writer *w, const stft_fwd_opts *o, uint64_t seed, int quiet)
{
    char err[1024];
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
        int k = stft_record_forward(e, &rec, o, &rr, &cells, err, sizeof err);
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
    if (o->mask.freq_masks || o->mask.time_masks)
        snprintf(extra, sizeof extra, "%ld tensors converted, %lld cells masked", converted, (long long)masked);
    else
        snprintf(extra, sizeof extra, "%ld tensors converted", converted);
    tf_progress_done(&pr, (double)nrec, extra);
    if (nrec > 0 && converted == 0)
        tf_warn("no waveform tensor (f32 (channels, samples))%s in %ld records", o->only ? " of those named" : "",
                nrec);
    ts_record_free(&rec);
    stft_engine_free(e);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    stft_fwd_opts o = {.n_fft = 2048, .hop = 512, .mask = {0, 80, 0, 40, 1.0}};
    char *only_buf[MAX_ONLY];
    tf_opt_list only = {only_buf, 0, MAX_ONLY};
    uint64_t seed = 0;
    int quiet = 0;
    tf_opt opts[] = {
        {"n-fft", 'n', TF_OPT_INT, &o.n_fft, "N", 2, 1 << 20, NULL, "FFT size, even (default 2048)"},
        {"hop", 'H', TF_OPT_INT, &o.hop, "N", 1, 1 << 20, NULL, "hop between frames, 1..n_fft (default 512)"},
        {"only", 0, TF_OPT_LIST, &only, "NAMES", 0, 0, NULL, "convert only these tensors (comma-separated)"},
        {.kind = TF_OPT_TEXT, .help = ""},
        {.kind = TF_OPT_TEXT, .help = "Masking augmentation (off unless a count is given; reproducible from --seed):"},
        {"freq-masks", 0, TF_OPT_INT, &o.mask.freq_masks, "N", 0, SPECMASK_MAX, NULL,
         "frequency bands to zero per record (default 0)"},
        {"freq-width", 0, TF_OPT_INT, &o.mask.freq_width, "N", 0, 1 << 20, NULL, "widest band in bins (default 80)"},
        {"time-masks", 0, TF_OPT_INT, &o.mask.time_masks, "N", 0, SPECMASK_MAX, NULL,
         "spans of frames to zero per record (default 0)"},
        {"time-width", 0, TF_OPT_INT, &o.mask.time_width, "N", 0, 1 << 30, NULL, "widest span in frames (default 40)"},
        {"mask-prob", 0, TF_OPT_DOUBLE, &o.mask.prob, "P", 0, 1, NULL,
         "probability that a record is masked at all (default 1)"},
        {"mask-each", 0, TF_OPT_FLAG, &o.mask_each, NULL, 0, 0, NULL,
         "draw masks for each tensor on its own (default: one draw per record,\n"
         "the same cells zeroed in the mixture and every target, so the masked\n"
         "mixture still equals the sum of the masked targets)"},
        {"seed", 0, TF_OPT_U64, &seed, "S", 0, 0, NULL, "seed of the masks (default 0)"},
        {.kind = TF_OPT_TEXT, .help = ""},
        {"threads", 'j', TF_OPT_CALL, NULL, "N", 0, 4096, tf_opt_threads,
         "threads (default: $TFSWA_THREADS or 1; 0 = all CPUs)"},
        {"quiet", 'q', TF_OPT_FLAG, &quiet, NULL, 0, 0, NULL, "no progress on standard error"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    if (only.n) {
        o.only = only.v;
        o.n_only = only.n;
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
                "spectrograms (use hop <= n_fft/2)",
                o.hop, o.n_fft, min_env);

    ts_reader *r = ts_open_inputs_or_die(argc - first, argv + first);
    ts_writer *w = ts_open_stdout_or_die();
    convert(r, w, &o, seed, quiet);
    ts_reader_close(r);
    tf_opt_list_free(&only);
    return 0;
}
