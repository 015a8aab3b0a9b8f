/* wiener: refines the estimates est/<stem> of every record with the
 * multichannel Wiener filter (norbert's EM as Open-Unmix applies it after
 * its masks) using the record's 'mixture' spectrogram. The algorithm is in
 * lib/dsp/wiener.c; man/wiener.1. */
#include "dsp/wiener.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/progress.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Refine the estimates est/<stem> (c64 spectrograms, from tfswa-net) of every record of the tensor\n"
           "streams in FILEs (or standard input) with the multichannel Wiener filter that Open-Unmix applies\n"
           "after its masks: norbert's expectation-maximisation of a power spectral density per stem, bin and\n"
           "frame and a spatial covariance matrix per stem and bin, starting from the estimates, with the\n"
           "record's 'mixture' spectrogram (which tfswa-net passes through). The refined estimates replace\n"
           "the old ones; every other tensor and attribute passes through; the attributes wiener_iter,\n"
           "wiener_block and wiener_eps are added. Write the stream to standard output.\n"
           "\n"
           "  -i, --iterations N  EM iterations (default 1, as umx's --niter; 0 passes the stream unchanged)\n"
           "      --wiener-iter N the same\n"
           "  -b, --block FRAMES  frames filtered together, each block on its own (default 300, Open-Unmix's\n"
           "                      wiener_win_len); 0 = the whole record\n"
           "      --eps E         regularisation (default 1e-10, Open-Unmix's; norbert's numpy default is\n"
           "                      float32's epsilon, 1.1920929e-07)\n"
           "  -s, --stems LIST    the estimates that take part (default: every est/<stem> of the record);\n"
           "                      the others pass through unchanged. They should together explain the\n"
           "                      mixture (e.g. vocals,other): one stem alone becomes the mixture\n"
           "  -j, --threads N     threads (default: $TFSWA_THREADS or all CPUs)\n"
           "  -q, --quiet         no progress on stderr\n"
           "  -h, --help          this help\n"
           "\n"
           "Example: musdb-slice song.wav | stft | tfswa-net -m models/vocals-band.ckpt | wiener |\n"
           "         istft --wav out/\n"
           "Exit status: 0 ok, 1 bad input (the message names file, record and tensor), 2 usage error.\n"
           "See wiener(1).\n",
           tf_progname);
}

enum { MAX_STEMS = WIENER_MAX_STEMS, OPT_EPS = 256, OPT_ITER };

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    tf_threads_default_all();
    static const struct option opts[] = {
        {"iterations", required_argument, 0, 'i'}, {"wiener-iter", required_argument, 0, OPT_ITER},
        {"block", required_argument, 0, 'b'},      {"eps", required_argument, 0, OPT_EPS},
        {"stems", required_argument, 0, 's'},      {"threads", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    wiener_params p;
    wiener_params_default(&p);
    int quiet = 0, nuser = 0, c;
    char *user_stems[MAX_STEMS];
    while ((c = getopt_long(argc, argv, "i:b:s:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'i': p.iterations = (int)tf_parse_long("--iterations", optarg, 0, 1000); break;
        case OPT_ITER: p.iterations = (int)tf_parse_long("--wiener-iter", optarg, 0, 1000); break;
        case 'b': p.block = tf_parse_long("--block", optarg, 0, 1L << 40); break;
        case OPT_EPS: p.eps = tf_parse_double("--eps", optarg, 1e-300, 1.0); break;
        case 's':
            if (nuser) tf_free_list(user_stems, nuser);
            nuser = tf_split_list("--stems", optarg, user_stems, MAX_STEMS);
            for (int i = 0; i < nuser; i++) {
                if (ts_check_name(user_stems[i], strlen(user_stems[i])) || !strncmp(user_stems[i], "est/", 4) ||
                    strlen(user_stems[i]) + 4 > TS_MAX_NAME)
                    tf_usage_error("--stems: '%s' is not a stem name", user_stems[i]);
                for (int k = 0; k < i; k++)
                    if (!strcmp(user_stems[k], user_stems[i])) tf_usage_error("--stems: '%s' named twice", user_stems[i]);
            }
            break;
        case 'j': tf_set_threads((int)tf_parse_long("--threads", optarg, 0, 4096)); break;
        case 'q': quiet = 1; break;
        case 'h': usage(); return 0;
        default: tf_getopt_error();
        }
    }
    ts_reader *rd = ts_open_inputs_or_die(argc - optind, argv + optind);
    ts_writer *wr = ts_open_stdout_or_die();
    tf_progress prog;
    tf_progress_init(&prog, "wiener", 0, "frames", !quiet && p.iterations > 0);
    ts_record rec;
    ts_record_init(&rec);
    double done = 0;
    while (ts_read_or_die(rd, &rec)) {
        const char *file = ts_reader_name(rd);
        long recno = ts_reader_record(rd);
        if (p.iterations == 0) {
            ts_write_or_die(wr, &rec);
            continue;
        }
        const ts_tensor *mix = ts_tensor_get(&rec, "mixture");
        if (!mix)
            tf_die("%s: record %ld: no tensor 'mixture': the Wiener filter needs the mixture's spectrogram beside "
                   "the estimates (tfswa-net passes it through)", file, recno);
        if (mix->dtype != TS_C64 || mix->rank != 3)
            tf_die("%s: record %ld: tensor 'mixture': expected a c64 spectrogram (channels, bins, frames), got %s "
                   "of rank %d (run stft first)", file, recno, ts_dtype_name(mix->dtype), mix->rank);
        if (mix->shape[0] < 1 || mix->shape[0] > WIENER_MAX_CHANNELS)
            tf_die("%s: record %ld: tensor 'mixture': %lld channels; the Wiener filter handles 1 or 2", file, recno,
                   (long long)mix->shape[0]);
        int64_t count = 2 * ts_numel(mix);
        if (count == 0) tf_die("%s: record %ld: tensor 'mixture': empty", file, recno);
        float *est[MAX_STEMS];
        const char *names[MAX_STEMS];
        int n = 0;
        if (nuser) {
            for (int i = 0; i < nuser; i++) {
                char en[TS_MAX_NAME + 8];
                snprintf(en, sizeof en, "est/%s", user_stems[i]);
                ts_tensor *t = ts_tensor_get(&rec, en);
                if (!t) tf_die("%s: record %ld: no tensor '%s' (asked for by --stems)", file, recno, en);
                names[n] = t->name;
                est[n++] = t->data;
            }
        } else {
            for (int i = 0; i < rec.n_tensors; i++)
                if (!strncmp(rec.tensors[i].name, "est/", 4)) {
                    if (n == MAX_STEMS)
                        tf_die("%s: record %ld: more than %d estimates", file, recno, MAX_STEMS);
                    names[n] = rec.tensors[i].name;
                    est[n++] = rec.tensors[i].data;
                }
            if (n == 0)
                tf_die("%s: record %ld: no estimate (est/<stem>) to filter (run tfswa-net first)", file, recno);
        }
        /* check everything before changing the record */
        for (int j = 0; j < n; j++) {
            const ts_tensor *t = ts_tensor_get(&rec, names[j]);
            if (t->dtype != TS_C64 || t->rank != 3 || memcmp(t->shape, mix->shape, sizeof t->shape[0] * 3))
                tf_die("%s: record %ld: tensor '%s': expected c64 [%lld, %lld, %lld] like 'mixture', got %s of rank %d",
                       file, recno, names[j], (long long)mix->shape[0], (long long)mix->shape[1],
                       (long long)mix->shape[2], ts_dtype_name(t->dtype), t->rank);
        }
        const float *mixv = mix->data;
        for (int j = -1; j < n; j++) {
            int64_t bad = wiener_first_nonfinite(j < 0 ? mixv : est[j], count);
            if (bad >= 0)
                tf_die("%s: record %ld: tensor '%s': non-finite value at element %lld", file, recno,
                       j < 0 ? "mixture" : names[j], (long long)(bad / 2));
        }
        if (n == 1 && !quiet)
            tf_warn("%s: record %ld: only '%s' takes part: the filter makes it the mixture", file, recno, names[0]);
        int C = (int)mix->shape[0];
        int64_t F = mix->shape[1], T = mix->shape[2], b = p.block > 0 ? p.block : T;
        char err[256];
        for (int64_t t0 = 0; t0 < T; t0 += b) {
            int64_t t1 = t0 + b < T ? t0 + b : T;
            if (wiener_window(mixv, est, n, C, F, T, t0, t1, &p, err, sizeof err))
                tf_die("%s: record %ld: %s", file, recno, err);
            done += (double)(t1 - t0);
            tf_progress_update(&prog, done, NULL);
        }
        ts_attr_setf(&rec, "wiener_iter", "%d", p.iterations);
        ts_attr_setf(&rec, "wiener_block", "%lld", (long long)p.block);
        ts_attr_setf(&rec, "wiener_eps", "%.17g", p.eps);
        ts_write_or_die(wr, &rec);
    }
    tf_progress_done(&prog, done, NULL);
    ts_record_free(&rec);
    ts_writer_close_or_die(wr);
    ts_reader_close(rd);
    if (nuser) tf_free_list(user_stems, nuser);
    return 0;
}
