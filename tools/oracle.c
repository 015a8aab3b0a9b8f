/* oracle: oracle baseline estimates from the reference stems of each record
 * (ideal ratio mask, or the mixture itself). The algorithm is in
 * lib/dsp/oracle.c. */
#include "dsp/oracle.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/opts.h"
#include "util/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_stems[] = {"vocals", "drums", "bass", "other", "accompaniment"};
enum { N_KNOWN = 5, MAX_STEMS = 16 };

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Add oracle baseline estimates 'est/<stem>' to every record of the tensor streams in FILEs\n"
           "(or standard input) and write them on standard output. Records hold the complex\n"
           "spectrograms (c64, (channels, bins, frames), from stft) of 'mixture' and of the reference\n"
           "stems; every other tensor and attribute passes through unchanged.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 22);
    printf("\n"
           "Example: musdb-slice --split test --stems vocals,other ROOT | stft | oracle --irm |\n"
           "         istft | sdr --json scores/\n"
           "Exit status: 0 ok, 1 bad input (the message names file, record and tensor), 2 usage error.\n"
           "See oracle(1).\n");
}

static void mode_irm(const tf_opt *o, const char *arg) { *(int *)o->var = 0; }
static void mode_mixture(const tf_opt *o, const char *arg) { *(int *)o->var = 1; }

/* --stems: names of stems, each once, not an estimate or the mixture. */
static void check_stems(const tf_opt *o, const char *arg)
{
    const tf_opt_list *l = o->var;
    for (int i = 0; i < l->n; i++) {
        if (ts_check_name(l->v[i], strlen(l->v[i])) || !strncmp(l->v[i], "est/", 4))
            tf_usage_error("--stems: '%s' is not a stem name", l->v[i]);
        for (int k = 0; k < i; k++)
            if (!strcmp(l->v[k], l->v[i]))
                tf_usage_error("--stems: '%s' named twice", l->v[i]);
        if (!strcmp(l->v[i], "mixture"))
            tf_usage_error("--stems: 'mixture' is not a stem");
    }
}

typedef struct {
    int mixture;       /* the mixture as every estimate, else the IRM */
    double power;      /* IRM exponent */
    tf_opt_list stems; /* --stems, or none: the known stems the record holds */
} oracle_opts;

/* The stems to estimate for one record, into names; returns their count. */
static int record_stems(const ts_record *rec, const oracle_opts *o, const char **names, const char *file, long recno)
{
    int n = 0;
    if (o->stems.n) {
        for (int i = 0; i < o->stems.n; i++)
            names[n++] = o->stems.v[i];
    } else {
        for (int i = 0; i < N_KNOWN; i++)
            if (ts_tensor_get(rec, known_stems[i]))
                names[n++] = known_stems[i];
        if (!o->mixture && ts_tensor_get(rec, "accompaniment") &&
            (ts_tensor_get(rec, "drums") || ts_tensor_get(rec, "bass") || ts_tensor_get(rec, "other")))
            tf_die("%s: record %ld: both 'accompaniment' and drums/bass/other are present, so the "
                   "stems do not partition the mixture; choose them with --stems",
                   file, recno);
    }
    if (n == 0)
        tf_die("%s: record %ld: no reference stem (vocals, drums, bass, other, accompaniment)%s", file, recno,
               o->mixture ? "" : "; the ideal ratio mask needs the references");
    return n;
}

/* Adds est/<stem> for every stem of one record (read from file, record recno). */
static void oracle_record(ts_record *rec, const oracle_opts *o, const char *file, long recno)
{
    const ts_tensor *mix = ts_tensor_get(rec, "mixture");
    if (!mix)
        tf_die("%s: record %ld: no tensor 'mixture'", file, recno);
    if (mix->dtype != TS_C64 || mix->rank != 3)
        tf_die("%s: record %ld: tensor 'mixture': expected a c64 spectrogram (channels, bins, frames), "
               "got %s of rank %d (run stft first)",
               file, recno, ts_dtype_name(mix->dtype), mix->rank);
    const char *names[MAX_STEMS];
    int n = record_stems(rec, o, names, file, recno);
    /* Check everything before changing the record. */
    const float *refs[MAX_STEMS];
    for (int j = 0; j < n; j++) {
        const ts_tensor *t = ts_tensor_get(rec, names[j]);
        if (!t)
            tf_die("%s: record %ld: no tensor '%s' (asked for by --stems)", file, recno, names[j]);
        if (t->dtype != TS_C64 || t->rank != 3 || memcmp(t->shape, mix->shape, sizeof t->shape[0] * 3))
            tf_die("%s: record %ld: tensor '%s': expected c64 [%lld, %lld, %lld] like 'mixture', got %s of rank %d",
                   file, recno, names[j], (long long)mix->shape[0], (long long)mix->shape[1], (long long)mix->shape[2],
                   ts_dtype_name(t->dtype), t->rank);
        refs[j] = t->data;
    }
    size_t count = (size_t)ts_numel(mix);
    char estname[MAX_STEMS][TS_MAX_NAME + 8];
    float *est[MAX_STEMS];
    for (int j = 0; j < n; j++) {
        if (snprintf(estname[j], sizeof estname[j], "est/%s", names[j]) > TS_MAX_NAME)
            tf_die("%s: record %ld: tensor '%s': name too long for an estimate", file, recno, names[j]);
        est[j] = tf_malloc(count * 2 * sizeof(float), "estimate");
    }
    if (o->mixture) {
        for (int j = 0; j < n; j++)
            memcpy(est[j], mix->data, count * 2 * sizeof(float));
    } else {
        oracle_irm(mix->data, refs, est, n, count, o->power);
    }
    int64_t shape[3] = {mix->shape[0], mix->shape[1], mix->shape[2]};
    for (int j = 0; j < n; j++) /* mix and refs are not used past this point */
        ts_tensor_adopt(rec, estname[j], TS_C64, 3, shape, est[j]);
    ts_attr_set(rec, "oracle", o->mixture ? "mixture" : o->power == 1.0 ? "irm1" : o->power == 2.0 ? "irm2" : "irm");
    if (!o->mixture)
        ts_attr_setf(rec, "oracle_power", "%g", o->power);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    char *stems_buf[MAX_STEMS];
    oracle_opts o = {0, 2.0, {stems_buf, 0, MAX_STEMS}};
    int quiet = 0;
    tf_opt opts[] = {
        {"irm", 'i', TF_OPT_CALL, &o.mixture, NULL, 0, 0, mode_irm,
         "ideal ratio mask (default): est/j = |S_j|^p / (eps + sum_k |S_k|^p) * X,\n"
         "per channel, bin and frame, as sigsep's oracle IRM baseline (eps 2^-52)"},
        {"mixture", 'm', TF_OPT_CALL, &o.mixture, NULL, 0, 0, mode_mixture,
         "the mixture as the estimate of every stem (the lower mark)"},
        {"power", 'p', TF_OPT_DOUBLE, &o.power, "P", 1e-3, 8.0, NULL,
         "IRM exponent: 1 (IRM1, magnitude ratio) or 2 (IRM2, power ratio;\n"
         "default 2); any P in (0, 8] is accepted"},
        {"stems", 's', TF_OPT_LIST, &o.stems, "LIST", 0, 0, check_stems,
         "stems to estimate, comma separated (default: each of vocals, drums, bass,\n"
         "other, accompaniment that the record holds). For --irm they must\n"
         "partition the mixture, e.g. vocals,other or vocals,drums,bass,other"},
        {"quiet", 'q', TF_OPT_FLAG, &quiet, NULL, 0, 0, NULL, "no progress on stderr"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "this help"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    ts_reader *rd = ts_open_inputs_or_die(argc - first, argv + first);
    ts_writer *wr = ts_open_stdout_or_die();
    tf_progress prog;
    tf_progress_init(&prog, o.mixture ? "oracle mixture" : "oracle irm", 0, "records", !quiet);
    ts_record rec;
    ts_record_init(&rec);
    long done = 0;
    while (ts_read_or_die(rd, &rec)) {
        oracle_record(&rec, &o, ts_reader_name(rd), ts_reader_record(rd));
        ts_write_or_die(wr, &rec);
        tf_progress_update(&prog, (double)++done, NULL);
    }
    tf_progress_done(&prog, (double)done, NULL);
    ts_record_free(&rec);
    ts_writer_close_or_die(wr);
    ts_reader_close(rd);
    tf_opt_list_free(&o.stems);
    return 0;
}
