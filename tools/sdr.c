/* sdr: BSSEval v4 scores as museval computes them for MUSDB, plus SI-SDR
 * and the MDX challenge's global SDR. Reads a tensor stream (reference
 * stems and est/<stem> estimates) or, with --references/--estimates, WAV
 * files in MUSDB layout. See man/sdr.1. The work is in lib/audio/evalpairs.c
 * (the pairs of reference and estimate of a record or a track folder) and
 * lib/metrics/report.c (scores, tables, CSV, JSON, aggregates). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audio/evalpairs.h"
#include "metrics/report.h"
#include "stream/ts.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/opts.h"
#include "util/progress.h"

static void usage(const tf_opt *opts)
{
    fputs("Usage: sdr [OPTION]... [FILE]...\n"
          "       sdr --references ROOT --estimates DIR [OPTION]...\n"
          "Score source separation estimates with BSSEval v4 exactly as museval does for\n"
          "MUSDB (SDR, SIR, ISR, SAR over 1 s windows, median per track), plus SI-SDR and\n"
          "the MDX challenge's global SDR. Reads a tensor stream (stdin or FILEs) whose\n"
          "records hold reference stems and est/<stem> estimates, or WAV files.\n"
          "\n",
          stdout);
    tf_opts_help(opts, 25);
    fputs("\n"
          "Tables go to stdout: per track, then the median over tracks of the track\n"
          "medians, then SDR as published tables aggregate it, side by side: museval's\n"
          "median over tracks of the track medians (SiSEC 2018, MUSDB18 tables) and the\n"
          "MDX challenge's mean over tracks of the global SDR. The CSV (header track,\n"
          "target,SDR,SIR,ISR,SAR,SI-SDR,gSDR; nan where undefined) loads with\n"
          "pandas.read_csv as it is. Exit status: 0 ok, 1 error, 2 usage.\n",
          stdout);
}

/* Scores every record of the stream. */
static void run_stream(eval_report *r, int nfiles, char **files)
{
    ts_reader *rd = ts_open_inputs_or_die(nfiles, files);
    ts_record rec;
    ts_record_init(&rec);
    while (ts_read_or_die(rd, &rec)) {
        char where[600];
        snprintf(where, sizeof where, "%s: record %ld", ts_reader_name(rd), ts_reader_record(rd));
        eval_pairs p;
        if (eval_pairs_from_record(&p, &rec, ts_reader_total(rd) - 1, where, r->quiet) > 0)
            eval_report_track(r, p.track, p.split, p.stems, p.n, p.nchan, p.nsampl, p.rate, p.where);
        eval_pairs_free(&p);
    }
    ts_record_free(&rec);
    ts_reader_close(rd);
}

/* Scores every track of the reference tree root (or its split) against the estimates under estdir. */
static void run_files(eval_report *r, const char *root, const char *estdir, const char *split)
{
    int ntracks;
    char **tracks = eval_tree_tracks(root, split, &ntracks);
    tf_progress prog;
    tf_progress_init(&prog, "sdr", ntracks, "tracks", !r->quiet);
    for (int ti = 0; ti < ntracks; ti++) {
        eval_pairs p;
        if (eval_pairs_from_tree(&p, root, estdir, tracks[ti], r->quiet) > 0)
            eval_report_track(r, p.track, p.split, p.stems, p.n, p.nchan, p.nsampl, p.rate, p.where);
        eval_pairs_free(&p);
        tf_progress_update(&prog, ti + 1, NULL);
    }
    tf_progress_done(&prog, ntracks, NULL);
    eval_tree_tracks_free(tracks, ntracks);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    tf_threads_default_all();
    eval_report c = {0};
    c.table = stdout;
    c.win_s = 1.0;
    c.hop_s = 1.0;
    const char *refs = NULL, *ests = NULL, *split = NULL, *csv = NULL;
    tf_opt opts[] = {
        {"json", 0, TF_OPT_STRING, &c.json_dir, "DIR", 0, 0, NULL,
         "write museval's JSON per track: DIR[/<split>]/<track>.json"},
        {"csv", 0, TF_OPT_STRING, &csv, "FILE", 0, 0, NULL,
         "write one CSV row per track and stem (per-track medians,\n"
         "SI-SDR, gSDR); - writes it to stdout instead of the tables"},
        {"references", 'r', TF_OPT_STRING, &refs, "ROOT", 0, 0, NULL,
         "reference WAVs: a MUSDB18-HQ root or any tree of\n"
         "[<split>/]<track>/<stem>.wav, or a MUSDB18 root of\n"
         "<split>/<track>.stem.mp4 (streams mixture, drums,\n"
         "bass, other, vocals, decoded with FFmpeg); accompaniment\n"
         "and linear_mixture are derived when not present as files"},
        {"estimates", 'e', TF_OPT_STRING, &ests, "DIR", 0, 0, NULL, "estimate WAVs in the same layout under DIR"},
        {"split", 0, TF_OPT_STRING, &split, "NAME", 0, 0, NULL, "with --references: only tracks under ROOT/NAME"},
        {"window", 0, TF_OPT_DOUBLE, &c.win_s, "SEC", 1e-3, 1e6, NULL,
         "window length in seconds (default 1, as museval)"},
        {"hop", 0, TF_OPT_DOUBLE, &c.hop_s, "SEC", 1e-3, 1e6, NULL, "hop in seconds (default 1, as museval)"},
        {"threads", 'j', TF_OPT_CALL, NULL, "N", 0, 4096, tf_opt_threads,
         "threads (default: $TFSWA_THREADS or all CPUs; 0 = all CPUs)"},
        {"quiet", 'q', TF_OPT_FLAG, &c.quiet, NULL, 0, 0, NULL, "no progress or notes on stderr"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    if (!!refs != !!ests)
        tf_usage_error("--references and --estimates go together");
    if (refs && first < argc)
        tf_usage_error("stream files given together with --references");
    if (split && !refs)
        tf_usage_error("--split needs --references");
    tf_atomic csv_atomic;
    if (csv) {
        c.csv = strcmp(csv, "-") ? tf_atomic_open(&csv_atomic, csv) : stdout;
        if (c.csv == stdout)
            c.table = NULL;
        if (!c.csv)
            tf_die("%s: %s", csv, strerror(errno));
        eval_report_csv_header(&c);
    }
    if (refs)
        run_files(&c, refs, ests, split);
    else
        run_stream(&c, argc - first, argv + first);
    eval_report_summary(&c);
    if (csv && c.csv != stdout && tf_atomic_commit(&csv_atomic))
        tf_die("%s: %s", csv, strerror(errno));
    eval_report_free(&c);
    if (fflush(stdout) || ferror(stdout)) {
        tf_exit_on_epipe();
        tf_die("stdout: write error");
    }
    return c.ntracks == 0 && !c.quiet ? (fprintf(stderr, "sdr: no track scored\n"), 1) : (c.ntracks == 0 ? 1 : 0);
}
