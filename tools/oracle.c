/* oracle: oracle baseline estimates from the reference stems of each record
 * (ideal ratio mask, or the mixture itself). The algorithm is in
 * lib/dsp/oracle.c. */
#include "dsp/oracle.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/progress.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_stems[] = { "vocals", "drums", "bass", "other", "accompaniment" };
enum { N_KNOWN = 5, MAX_STEMS = 16 };

static void usage(void)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Add oracle baseline estimates 'est/<stem>' to every record of the tensor streams in FILEs\n"
           "(or standard input) and write them on standard output. Records hold the complex\n"
           "spectrograms (c64, (channels, bins, frames), from stft) of 'mixture' and of the reference\n"
           "stems; every other tensor and attribute passes through unchanged.\n"
           "\n"
           "  -i, --irm           ideal ratio mask (default): est/j = |S_j|^p / (eps + sum_k |S_k|^p) * X,\n"
           "                      per channel, bin and frame, as sigsep's oracle IRM baseline (eps 2^-52)\n"
           "  -m, --mixture       the mixture as the estimate of every stem (the lower mark)\n"
           "  -p, --power P       IRM exponent: 1 (IRM1, magnitude ratio) or 2 (IRM2, power ratio;\n"
           "                      default 2); any P in (0, 8] is accepted\n"
           "  -s, --stems LIST    stems to estimate, comma separated (default: each of vocals, drums, bass,\n"
           "                      other, accompaniment that the record holds). For --irm they must\n"
           "                      partition the mixture, e.g. vocals,other or vocals,drums,bass,other\n"
           "  -q, --quiet         no progress on stderr\n"
           "  -h, --help          this help\n"
           "\n"
           "Example: musdb-slice --split test --stems vocals,other ROOT | stft | oracle --irm |\n"
           "         istft | sdr --json scores/\n"
           "Exit status: 0 ok, 1 bad input (the message names file, record and tensor), 2 usage error.\n"
           "See oracle(1).\n",
           tf_progname);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    static const struct option opts[] = {
        { "irm", no_argument, 0, 'i' },
        { "mixture", no_argument, 0, 'm' },
        { "power", required_argument, 0, 'p' },
        { "stems", required_argument, 0, 's' },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int mode_mixture = 0, quiet = 0, nuser = 0;
    double power = 2.0;
    char *user_stems[MAX_STEMS];
    int c;
    while ((c = getopt_long(argc, argv, "imp:s:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'i': mode_mixture = 0; break;
        case 'm': mode_mixture = 1; break;
        case 'p': power = tf_parse_double("--power", optarg, 1e-3, 8.0); break;
        case 's':
            if (nuser) tf_free_list(user_stems, nuser);
            nuser = tf_split_list("--stems", optarg, user_stems, MAX_STEMS);
            for (int i = 0; i < nuser; i++) {
                if (ts_check_name(user_stems[i], strlen(user_stems[i])) || !strncmp(user_stems[i], "est/", 4))
                    tf_usage_error("--stems: '%s' is not a stem name", user_stems[i]);
                for (int k = 0; k < i; k++)
                    if (!strcmp(user_stems[k], user_stems[i]))
                        tf_usage_error("--stems: '%s' named twice", user_stems[i]);
                if (!strcmp(user_stems[i], "mixture"))
                    tf_usage_error("--stems: 'mixture' is not a stem");
            }
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(); return 0;
        default: tf_getopt_error();
        }
    }
    ts_reader *rd = ts_open_inputs_or_die(argc - optind, argv + optind);
    ts_writer *wr = ts_open_stdout_or_die();
    tf_progress prog;
    tf_progress_init(&prog, mode_mixture ? "oracle mixture" : "oracle irm", 0, "records", !quiet);
    ts_record rec;
    ts_record_init(&rec);
    long done = 0;
    while (ts_read_or_die(rd, &rec)) {
        const char *file = ts_reader_name(rd);
        long recno = ts_reader_record(rd);
        const ts_tensor *mix = ts_tensor_get(&rec, "mixture");
        if (!mix)
            tf_die("%s: record %ld: no tensor 'mixture'", file, recno);
        if (mix->dtype != TS_C64 || mix->rank != 3)
            tf_die("%s: record %ld: tensor 'mixture': expected a c64 spectrogram (channels, bins, frames), "
                   "got %s of rank %d (run stft first)", file, recno, ts_dtype_name(mix->dtype), mix->rank);
        const char *names[MAX_STEMS];
        int n = 0;
        if (nuser) {
            for (int i = 0; i < nuser; i++) names[n++] = user_stems[i];
        } else {
            for (int i = 0; i < N_KNOWN; i++)
                if (ts_tensor_get(&rec, known_stems[i])) names[n++] = known_stems[i];
            if (!mode_mixture && ts_tensor_get(&rec, "accompaniment") &&
                (ts_tensor_get(&rec, "drums") || ts_tensor_get(&rec, "bass") || ts_tensor_get(&rec, "other")))
                tf_die("%s: record %ld: both 'accompaniment' and drums/bass/other are present, so the "
                       "stems do not partition the mixture; choose them with --stems", file, recno);
        }
        if (n == 0)
            tf_die("%s: record %ld: no reference stem (vocals, drums, bass, other, accompaniment)%s",
                   file, recno, mode_mixture ? "" : "; the ideal ratio mask needs the references");
        /* Check everything before changing the record. */
        const float *refs[MAX_STEMS];
        for (int j = 0; j < n; j++) {
            const ts_tensor *t = ts_tensor_get(&rec, names[j]);
            if (!t)
                tf_die("%s: record %ld: no tensor '%s' (asked for by --stems)", file, recno, names[j]);
            if (t->dtype != TS_C64 || t->rank != 3 || memcmp(t->shape, mix->shape, sizeof t->shape[0] * 3))
                tf_die("%s: record %ld: tensor '%s': expected c64 [%lld, %lld, %lld] like 'mixture', got %s of rank %d",
                       file, recno, names[j], (long long)mix->shape[0], (long long)mix->shape[1],
                       (long long)mix->shape[2], ts_dtype_name(t->dtype), t->rank);
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
        if (mode_mixture) {
            for (int j = 0; j < n; j++) memcpy(est[j], mix->data, count * 2 * sizeof(float));
        } else {
            oracle_irm(mix->data, refs, est, n, count, power);
        }
        int64_t shape[3] = { mix->shape[0], mix->shape[1], mix->shape[2] };
        for (int j = 0; j < n; j++)   /* mix and refs are not used past this point */
            ts_tensor_adopt(&rec, estname[j], TS_C64, 3, shape, est[j]);
        ts_attr_set(&rec, "oracle", mode_mixture ? "mixture" : power == 1.0 ? "irm1" : power == 2.0 ? "irm2" : "irm");
        if (!mode_mixture) ts_attr_setf(&rec, "oracle_power", "%g", power);
        ts_write_or_die(wr, &rec);
        tf_progress_update(&prog, (double)++done, NULL);
    }
    tf_progress_done(&prog, (double)done, NULL);
    ts_record_free(&rec);
    ts_writer_close_or_die(wr);
    ts_reader_close(rd);
    if (nuser) tf_free_list(user_stems, nuser);
    return 0;
}
