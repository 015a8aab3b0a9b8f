/* specnorm: per-frequency statistics of the model's input features over a
 * stream of spectrograms, for tfswa-net --init --stats (man/specnorm.1,
 * formats/spec-stats.md). The work is in lib/dsp/specnorm.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/specnorm.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/opts.h"
#include "util/progress.h"

static void usage(const tf_opt *opts)
{
    printf("Usage: %s -o FILE [OPTION]... [FILE]...\n"
           "Read a stream of spectrograms (stft(1) output) and write the mean and standard deviation of\n"
           "the model's input features, per feature channel (re L, im L, re R, im R) and frequency bin,\n"
           "over all frames of all records, to FILE (a one-record tensor stream, formats/spec-stats.md),\n"
           "atomically. Computed in double precision.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 24);
    printf("\n"
           "Records without the tensor are skipped (and counted in a warning). Exit status: 0 ok,\n"
           "1 runtime error, 2 usage error. See specnorm(1), stft(1).\n");
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    const char *out = NULL, *tensor = "mixture";
    long max_records = -1;
    int quiet = 0;
    tf_opt opts[] = {
        {"output", 'o', TF_OPT_STRING, &out, "FILE", 0, 0, NULL, "the statistics file to write (required)"},
        {"tensor", 't', TF_OPT_STRING, &tensor, "NAME", 0, 0, NULL, "the spectrogram to describe (default mixture)"},
        {"records", 'n', TF_OPT_LONG, &max_records, "N", 1, 1L << 40, NULL,
         "stop after N records (needed for endless streams such as\n"
         "musdb-slice --random without --count)"},
        {"quiet", 'q', TF_OPT_FLAG, &quiet, NULL, 0, 0, NULL, "no progress on standard error"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    if (!out || !*out)
        tf_usage_error("no output file: give -o FILE");
    const char *why = ts_check_name(tensor, strlen(tensor));
    if (why)
        tf_usage_error("--tensor '%s': %s", tensor, why);
    ts_reader *r = ts_open_inputs_or_die(argc - first, argv + first);
    specnorm_acc acc;
    specnorm_acc_init(&acc);
    tf_progress pr;
    tf_progress_init(&pr, "specnorm", max_records > 0 ? (double)max_records : 0, "records", !quiet);
    ts_record rec;
    ts_record_init(&rec);
    long nrec = 0, used = 0, skipped = 0;
    int64_t n_fft = 0, hop = 0;
    char err[1024];
    while ((max_records < 0 || nrec < max_records) && ts_read_or_die(r, &rec) == 1) {
        nrec++;
        const ts_tensor *t = ts_tensor_get(&rec, tensor);
        if (!t) {
            skipped++;
            continue;
        }
        if (t->dtype != TS_C64 || t->rank != 3)
            tf_die("%s: record %ld: tensor '%s': %s %dD is not a spectrogram (c64 (channels, bins, frames)); "
                   "run stft first",
                   ts_reader_name(r), ts_reader_record(r), tensor, ts_dtype_name(t->dtype), t->rank);
        int64_t a = 0, b = 0;
        if (ts_attr_get_i64(&rec, "n_fft", &a) == 0 && ts_attr_get_i64(&rec, "hop", &b) == 0) {
            if (used && (a != n_fft || b != hop))
                tf_die("%s: record %ld: n_fft=%lld hop=%lld differ from the first record's %lld/%lld",
                       ts_reader_name(r), ts_reader_record(r), (long long)a, (long long)b, (long long)n_fft,
                       (long long)hop);
            n_fft = a;
            hop = b;
        }
        if (specnorm_acc_add(&acc, (const float *)t->data, t->shape[0], t->shape[1], t->shape[2], err, sizeof err) < 0)
            tf_die("%s: record %ld: tensor '%s': %s", ts_reader_name(r), ts_reader_record(r), tensor, err);
        used++;
        tf_progress_update(&pr, (double)nrec, NULL);
    }
    if (used == 0)
        tf_die("no record of the input has a tensor '%s'%s", tensor, nrec ? "" : " (the stream is empty)");
    if (skipped)
        tf_warn("%ld of %ld records have no tensor '%s' and were skipped", skipped, nrec, tensor);
    if (acc.frames == 0)
        tf_die("tensor '%s': no frames in %ld records", tensor, used);
    if (specnorm_save(out, &acc, tensor, (int)n_fft, (int)hop, err, sizeof err) < 0)
        tf_die("%s", err);
    char extra[128];
    snprintf(extra, sizeof extra, "%lld frames of %ld records", (long long)acc.frames, used);
    tf_progress_done(&pr, (double)nrec, extra);
    specnorm_acc_free(&acc);
    ts_record_free(&rec);
    ts_reader_close(r);
    return 0;
}
