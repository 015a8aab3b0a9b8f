/* wiener: refines the estimates est/<stem> of every record with the
 * multichannel Wiener filter (norbert's EM as Open-Unmix applies it after
 * its masks) using the record's 'mixture' spectrogram. The algorithm is in
 * lib/dsp/wiener.c; man/wiener.1. */
#include "dsp/wiener.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/opts.h"
#include "util/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Refine the estimates est/<stem> (c64 spectrograms, from tfswa-net) of every record of the tensor\n"
           "streams in FILEs (or standard input) with the multichannel Wiener filter that Open-Unmix applies\n"
           "after its masks: norbert's expectation-maximisation of a power spectral density per stem, bin and\n"
           "frame and a spatial covariance matrix per stem and bin, starting from the estimates, with the\n"
           "record's 'mixture' spectrogram (which tfswa-net passes through). The refined estimates replace\n"
           "the old ones; every other tensor and attribute passes through; the attributes wiener_iter,\n"
           "wiener_block and wiener_eps are added. Write the stream to standard output.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 22);
    printf("\n"
           "Example: musdb-slice song.wav | stft | tfswa-net -m models/vocals-band.ckpt | wiener |\n"
           "         istft --wav out/\n"
           "Exit status: 0 ok, 1 bad input (the message names file, record and tensor), 2 usage error.\n"
           "See wiener(1).\n");
}

enum { MAX_STEMS = WIENER_MAX_STEMS };

/* --stems: names of stems, each once, whose est/ name fits. */
static void check_stems(const tf_opt *o, const char *arg)
{
    const tf_opt_list *l = o->var;
    for (int i = 0; i < l->n; i++) {
        if (ts_check_name(l->v[i], strlen(l->v[i])) || !strncmp(l->v[i], "est/", 4) ||
            strlen(l->v[i]) + 4 > TS_MAX_NAME)
            tf_usage_error("--stems: '%s' is not a stem name", l->v[i]);
        for (int k = 0; k < i; k++)
            if (!strcmp(l->v[k], l->v[i]))
                tf_usage_error("--stems: '%s' named twice", l->v[i]);
    }
}

/* The estimates of one record that take part (--stems, else every est/),
 * their names and data into names and est; returns their count. */
static int record_estimates(ts_record *rec, const tf_opt_list *stems, const char **names, float **est, const char *file,
                            long recno)
{
    int n = 0;
    if (stems->n) {
        for (int i = 0; i < stems->n; i++) {
            char en[TS_MAX_NAME + 8];
            snprintf(en, sizeof en, "est/%s", stems->v[i]);
            ts_tensor *t = ts_tensor_get(rec, en);
            if (!t)
                tf_die("%s: record %ld: no tensor '%s' (asked for by --stems)", file, recno, en);
            names[n] = t->name;
            est[n++] = t->data;
        }
    } else {
        for (int i = 0; i < rec->n_tensors; i++)
            if (!strncmp(rec->tensors[i].name, "est/", 4)) {
                if (n == MAX_STEMS)
                    tf_die("%s: record %ld: more than %d estimates", file, recno, MAX_STEMS);
                names[n] = rec->tensors[i].name;
                est[n++] = rec->tensors[i].data;
            }
        if (n == 0)
            tf_die("%s: record %ld: no estimate (est/<stem>) to filter (run tfswa-net first)", file, recno);
    }
    return n;
}

/* Checks the record's mixture and returns it. */
static const ts_tensor *record_mixture(const ts_record *rec, const char *file, long recno)
{
    const ts_tensor *mix = ts_tensor_get(rec, "mixture");
    if (!mix)
        tf_die("%s: record %ld: no tensor 'mixture': the Wiener filter needs the mixture's spectrogram beside "
               "the estimates (tfswa-net passes it through)",
               file, recno);
    if (mix->dtype != TS_C64 || mix->rank != 3)
        tf_die("%s: record %ld: tensor 'mixture': expected a c64 spectrogram (channels, bins, frames), got %s "
               "of rank %d (run stft first)",
               file, recno, ts_dtype_name(mix->dtype), mix->rank);
    if (mix->shape[0] < 1 || mix->shape[0] > WIENER_MAX_CHANNELS)
        tf_die("%s: record %ld: tensor 'mixture': %lld channels; the Wiener filter handles 1 or 2", file, recno,
               (long long)mix->shape[0]);
    if (ts_numel(mix) == 0)
        tf_die("%s: record %ld: tensor 'mixture': empty", file, recno);
    return mix;
}

/* Filters the estimates of one record in place; done counts the frames. */
static void wiener_record(ts_record *rec, const wiener_params *p, const tf_opt_list *stems, int quiet, const char *file,
                          long recno, tf_progress *prog, double *done)
{
    const ts_tensor *mix = record_mixture(rec, file, recno);
    int64_t count = 2 * ts_numel(mix);
    float *est[MAX_STEMS];
    const char *names[MAX_STEMS];
    int n = record_estimates(rec, stems, names, est, file, recno);
    /* check everything before changing the record */
    for (int j = 0; j < n; j++) {
        const ts_tensor *t = ts_tensor_get(rec, names[j]);
        if (t->dtype != TS_C64 || t->rank != 3 || memcmp(t->shape, mix->shape, sizeof t->shape[0] * 3))
            tf_die("%s: record %ld: tensor '%s': expected c64 [%lld, %lld, %lld] like 'mixture', got %s of rank %d",
                   file, recno, names[j], (long long)mix->shape[0], (long long)mix->shape[1], (long long)mix->shape[2],
                   ts_dtype_name(t->dtype), t->rank);
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
    int64_t F = mix->shape[1], T = mix->shape[2], b = p->block > 0 ? p->block : T;
    char err[256];
    for (int64_t t0 = 0; t0 < T; t0 += b) {
        int64_t t1 = t0 + b < T ? t0 + b : T;
        if (wiener_window(mixv, est, n, C, F, T, t0, t1, p, err, sizeof err))
            tf_die("%s: record %ld: %s", file, recno, err);
        *done += (double)(t1 - t0);
        tf_progress_update(prog, *done, NULL);
    }
    ts_attr_setf(rec, "wiener_iter", "%d", p->iterations);
    ts_attr_setf(rec, "wiener_block", "%lld", (long long)p->block);
    ts_attr_setf(rec, "wiener_eps", "%.17g", p->eps);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    tf_threads_default_all();
    wiener_params p;
    wiener_params_default(&p);
    int quiet = 0;
    char *stems_buf[MAX_STEMS];
    tf_opt_list stems = {stems_buf, 0, MAX_STEMS};
    tf_opt opts[] = {
        {"iterations", 'i', TF_OPT_INT, &p.iterations, "N", 0, 1000, NULL,
         "EM iterations (default 1, as umx's --niter; 0 passes the stream unchanged)"},
        {"wiener-iter", 0, TF_OPT_INT, &p.iterations, "N", 0, 1000, NULL, "the same"},
        {"block", 'b', TF_OPT_I64, &p.block, "FRAMES", 0, 1L << 40, NULL,
         "frames filtered together, each block on its own (default 300, Open-Unmix's\n"
         "wiener_win_len); 0 = the whole record"},
        {"eps", 0, TF_OPT_DOUBLE, &p.eps, "E", 1e-300, 1.0, NULL,
         "regularisation (default 1e-10, Open-Unmix's; norbert's numpy default is\n"
         "float32's epsilon, 1.1920929e-07)"},
        {"stems", 's', TF_OPT_LIST, &stems, "LIST", 0, 0, check_stems,
         "the estimates that take part (default: every est/<stem> of the record);\n"
         "the others pass through unchanged. They should together explain the\n"
         "mixture (e.g. vocals,other): one stem alone becomes the mixture"},
        {"threads", 'j', TF_OPT_CALL, NULL, "N", 0, 4096, tf_opt_threads,
         "threads (default: $TFSWA_THREADS or all CPUs)"},
        {"quiet", 'q', TF_OPT_FLAG, &quiet, NULL, 0, 0, NULL, "no progress on stderr"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "this help"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    ts_reader *rd = ts_open_inputs_or_die(argc - first, argv + first);
    ts_writer *wr = ts_open_stdout_or_die();
    tf_progress prog;
    tf_progress_init(&prog, "wiener", 0, "frames", !quiet && p.iterations > 0);
    ts_record rec;
    ts_record_init(&rec);
    double done = 0;
    while (ts_read_or_die(rd, &rec)) {
        if (p.iterations > 0)
            wiener_record(&rec, &p, &stems, quiet, ts_reader_name(rd), ts_reader_record(rd), &prog, &done);
        ts_write_or_die(wr, &rec);
    }
    tf_progress_done(&prog, done, NULL);
    ts_record_free(&rec);
    ts_writer_close_or_die(wr);
    ts_reader_close(rd);
    tf_opt_list_free(&stems);
    return 0;
}
