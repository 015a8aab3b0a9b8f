/* musdb-slice: MUSDB18-HQ and MUSDB18 (.stem.mp4) folders or plain audio files into tensor-stream
 * records (mixture + stems), in order or at random, with augmentation.
 * The work is in lib/audio (musdb.c: layout and splits, slice.c: records,
 * slice_batch.c: the record loop, shards and parallel batches, augment.c:
 * transforms, audio.c/resample.c: files). */
#include "audio/musdb.h"
#include "audio/slice.h"
#include "audio/slice_batch.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/opts.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The options' values, with their defaults. */
typedef struct {
    const char *split, *stems;
    char *pattern_v[256];
    int npat, list, skip_bad, pad, random, quiet, mixture;
    double segment, overlap; /* overlap < 0: not given */
    int threads;             /* -1: as tf_init set it (TFSWA_THREADS, else 1) */
    long long count;         /* -1: not given */
    long shard_k, shard_n;
    uint64_t seed;
    augment_cfg aug;
    struct range {
        double *lo, *hi;
    } gain, stretch; /* where --gain and --stretch go */
} slice_opts;

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... ROOT\n"
           "  or:  %s [OPTION]... FILE...\n"
           "Write MUSDB18-HQ tracks (ROOT/train, ROOT/test: a folder of WAV or FLAC files per track),\n"
           "MUSDB18 tracks (ROOT/train/TRACK.stem.mp4: streams mixture, drums, bass, other, vocals,\n"
           "decoded with FFmpeg to the samples of 'ffmpeg -i TRACK.stem.mp4 -map 0:N') or plain audio\n"
           "files as a tensor stream on stdout: one record per track, per segment, or per random\n"
           "segment, holding 'mixture' and the requested stems as f32 (2, samples) at 44.1 kHz, with\n"
           "attributes track, split, rate, offset, length, segment, seed, mixture (file|sum) and aug_*\n"
           "for each augmentation applied. Plain files (what libsndfile reads, MP3 included; AAC, M4A,\n"
           "MP4 through FFmpeg: the first audio stream) give mixture-only records; other rates are\n"
           "resampled to 44.1 kHz (libsamplerate, best quality), mono is made stereo.\n"
           "\n",
           tf_progname, tf_progname);
    tf_opts_help(opts, 25);
    printf("\n"
           "Exit status: 0 ok, 1 runtime error (bad data names the file), 2 usage error.\n"
           "See musdb-slice(1).\n");
}

static void warn_cb(const char *msg) { tf_warn("%s", msg); }

/* --gain, --stretch: MIN,MAX into the struct range of o->var, each in [o->min, o->max]. */
static void opt_range(const tf_opt *o, const char *s)
{
    const struct range *r = o->var;
    char opt[64], *items[2];
    snprintf(opt, sizeof opt, "--%s", o->name);
    int n = tf_split_list(opt, s, items, 2);
    if (n != 2)
        tf_usage_error("%s: expected MIN,MAX, got '%s'", opt, s);
    *r->lo = tf_parse_double(opt, items[0], o->min, o->max);
    *r->hi = tf_parse_double(opt, items[1], o->min, o->max);
    tf_free_list(items, n);
    if (*r->lo > *r->hi)
        tf_usage_error("%s: MIN %g is above MAX %g", opt, *r->lo, *r->hi);
}

/* --shard K/N into the slice_opts of o->var */
static void opt_shard(const tf_opt *o, const char *s)
{
    slice_opts *so = o->var;
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1])
        tf_usage_error("--shard: '%s': expected K/N (this stream's number K, from 0, of N)", s);
    char kbuf[64];
    snprintf(kbuf, sizeof kbuf, "%.*s", (int)(slash - s) < 63 ? (int)(slash - s) : 63, s);
    so->shard_n = tf_parse_long("--shard (N)", slash + 1, 1, 1L << 30);
    so->shard_k = tf_parse_long("--shard (K)", kbuf, 0, so->shard_n - 1);
}

/* --track PATTERN, repeatable */
static void opt_track(const tf_opt *o, const char *s)
{
    slice_opts *so = o->var;
    if (so->npat == 256)
        tf_usage_error("--track: at most 256 patterns");
    so->pattern_v[so->npat++] = (char *)s;
}

/* --count N (above LLONG_MAX: LLONG_MAX) */
static void opt_count(const tf_opt *o, const char *s)
{
    uint64_t v = tf_parse_u64("--count", s);
    *(long long *)o->var = v > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v;
}

static void opt_mixture(const tf_opt *o, const char *s)
{
    int *mixture = o->var;
    if (!strcmp(s, "file"))
        *mixture = SLICE_MIX_FILE;
    else if (!strcmp(s, "sum"))
        *mixture = SLICE_MIX_SUM;
    else if (!strcmp(s, "auto"))
        *mixture = SLICE_MIX_AUTO;
    else
        tf_usage_error("--mixture: '%s' is not file, sum or auto", s);
}

static void opt_fast_seek(const tf_opt *o, const char *s) { audio_set_fast_seek(1); }

/* Parses the options into so; returns the index of the first operand, or -1 after --help. */
static int parse_options(slice_opts *so, int argc, char **argv)
{
    augment_cfg *a = &so->aug;
    tf_opt opts[] = {
        {.kind = TF_OPT_TEXT, .help = "Selection:"},
        {"split", 's', TF_OPT_STRING, &so->split, "LIST", 0, 0, NULL,
         "train, valid, test, all, or a comma list (default train). valid is the\n"
         "14 official MUSDB18 validation tracks (or ROOT/valid.txt), and train\n"
         "excludes them"},
        {"stems", 'S', TF_OPT_STRING, &so->stems, "LIST", 0, 0, NULL,
         "stems to output (default vocals,drums,bass,other); 'other' holds every\n"
         "stem not named, 'accompaniment' all but vocals"},
        {"track", 't', TF_OPT_CALL, so, "PATTERN", 0, 0, opt_track,
         "only tracks whose name contains PATTERN (or matches it, when it has\n"
         "* ? or [); may be repeated"},
        {"list", 0, TF_OPT_FLAG, &so->list, NULL, 0, 0, NULL,
         "print the selected tracks (split, name, seconds) and exit"},
        {"skip-bad", 0, TF_OPT_FLAG, &so->skip_bad, NULL, 0, 0, NULL,
         "warn about and skip a bad track or file instead of stopping"},
        {.kind = TF_OPT_TEXT, .help = "Segments:"},
        {"segment", 'g', TF_OPT_DOUBLE, &so->segment, "SEC", 0.001, 1e6, NULL,
         "records of SEC seconds (default: whole tracks)"},
        {"overlap", 0, TF_OPT_DOUBLE, &so->overlap, "SEC", 0, 1e6, NULL,
         "sequential mode: overlap of consecutive segments (default 0)"},
        {"pad", 0, TF_OPT_FLAG, &so->pad, NULL, 0, 0, NULL,
         "sequential mode: zero-pad the last segment to SEC (attribute length\n"
         "says how many samples are real); default: it is shorter"},
        {"random", 'r', TF_OPT_FLAG, &so->random, NULL, 0, 0, NULL,
         "random track and offset per record, endless unless --count"},
        {"count", 'n', TF_OPT_CALL, &so->count, "N", 0, 0, opt_count, "stop after N records"},
        {"fast-seek", 0, TF_OPT_CALL, NULL, NULL, 0, 0, opt_fast_seek,
         "compressed files (AAC, .stem.mp4): decode only from just before each\n"
         "segment, as musdb's chunked reads do, instead of decoding (and caching)\n"
         "whole streams; exact but in bands the encoder coded as noise (PNS)"},
        {"seed", 0, TF_OPT_U64, &so->seed, "S", 0, 0, NULL, "random seed (default 0): same seed, same bytes"},
        {"mixture", 0, TF_OPT_CALL, &so->mixture, "HOW", 0, 0, opt_mixture,
         "file (mixture.wav), sum (of the stems), or auto (default: file in\n"
         "sequential mode, sum in random mode); always sum once augmentation\n"
         "changed the stems"},
        {.kind = TF_OPT_TEXT, .help = "Augmentation (each off by default; P is a probability in [0, 1]):"},
        {"gain-prob", 0, TF_OPT_DOUBLE, &a->gain_prob, "P", 0, 1, NULL,
         "per stem: scale by a uniform gain in --gain (default 0.7,1.3)"},
        {"gain", 0, TF_OPT_CALL, &so->gain, "MIN,MAX", 0, 100, opt_range, ""},
        {"swap-prob", 0, TF_OPT_DOUBLE, &a->swap_prob, "P", 0, 1, NULL, "per stem: swap left and right"},
        {"remix-prob", 0, TF_OPT_DOUBLE, &a->remix_prob, "P", 0, 1, NULL,
         "per record: every stem from its own random track and offset"},
        {"stretch-prob", 0, TF_OPT_DOUBLE, &a->stretch_prob, "P", 0, 1, NULL,
         "per record: time stretch, tempo factor uniform in --stretch"},
        {"stretch", 0, TF_OPT_CALL, &so->stretch, "MIN,MAX", 0.25, 4, opt_range,
         "(default 0.9,1.1; above 1 is faster, reading more source)"},
        {"pitch-prob", 0, TF_OPT_DOUBLE, &a->pitch_prob, "P", 0, 1, NULL,
         "per record: pitch shift, uniform in [-SEMI, SEMI] semitones"},
        {"pitch", 0, TF_OPT_DOUBLE, &a->pitch_max, "SEMI", 0, 24, NULL, "(default 2)"},
        {"mixup-prob", 0, TF_OPT_DOUBLE, &a->mixup_prob, "P", 0, 1, NULL,
         "per record: mix with a second random example, weights Beta(A, A)"},
        {"mixup-alpha", 0, TF_OPT_DOUBLE, &a->mixup_alpha, "A", 1e-3, 1e3, NULL, "(default 0.4)"},
        {.kind = TF_OPT_TEXT, .help = "Other:"},
        {"shard", 0, TF_OPT_CALL, so, "K/N", 0, 0, opt_shard,
         "only records K, K+N, K+2N, ... (from 0) of the stream the same options\n"
         "make: N streams with K = 0..N-1 deal it out without duplicates, one\n"
         "per rank of mpirun -np N tfswa-net --train; --count counts the whole\n"
         "stream's records (default 0/1)"},
        {"threads", 0, TF_OPT_INT, &so->threads, "N", 0, 1024, NULL,
         "random mode: make N records at a time in parallel (0: one per\n"
         "CPU; default 1, or $TFSWA_THREADS); the bytes do not depend on N"},
        {"quiet", 'q', TF_OPT_FLAG, &so->quiet, NULL, 0, 0, NULL, "no progress on stderr"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "this help"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    return first;
}

/* The combinations of options that make no sense. */
static void check_options(const slice_opts *so, int nargs)
{
    int have_overlap = so->overlap >= 0;
    if (nargs == 0)
        tf_usage_error("missing ROOT (a MUSDB18-HQ folder) or FILE (audio files)");
    if (have_overlap && so->segment <= 0)
        tf_usage_error("--overlap needs --segment");
    if (have_overlap && so->random)
        tf_usage_error("--overlap is for sequential segments, not --random");
    if (so->pad && (so->segment <= 0 || so->random))
        tf_usage_error("--pad needs --segment and sequential mode");
    if (have_overlap && so->overlap >= so->segment)
        tf_usage_error("--overlap %g must be shorter than --segment %g", so->overlap, so->segment);
}

/* The MUSDB18 folder args[0], or the plain files args. */
static void open_db(musdb_db *db, const slice_opts *so, char **args, int nargs)
{
    char err[2048];
    if (musdb_is_root(args[0])) {
        if (nargs > 1)
            tf_usage_error("give one MUSDB18 folder, or audio files (not both, not two folders)");
        int splits = musdb_parse_splits(so->split ? so->split : "train");
        if (!splits)
            tf_usage_error("--split: '%s' is not train, valid, test, all or a comma list of them", so->split);
        if (musdb_open(db, args[0], splits, (char *const *)so->pattern_v, so->npat, so->skip_bad, warn_cb, err,
                       sizeof err) != 0)
            tf_die("%s", err);
        return;
    }
    struct stat st;
    if (stat(args[0], &st) == 0 && S_ISDIR(st.st_mode))
        tf_die("%s: not a MUSDB18 folder (it has neither train/ nor test/ with one folder per track)", args[0]);
    if (so->split)
        tf_usage_error("--split needs a MUSDB18 folder (ROOT with train/ and test/); '%s' is not one", args[0]);
    if (so->stems)
        tf_usage_error("--stems needs a MUSDB18 folder; plain audio files give mixture-only records");
    if (so->npat)
        tf_usage_error("--track needs a MUSDB18 folder");
    if (musdb_open_files(db, args, nargs, so->skip_bad, warn_cb, err, sizeof err) != 0)
        tf_die("%s", err);
}

/* --list: split, name and seconds of each track. */
static void print_list(const musdb_db *db)
{
    for (int i = 0; i < db->n; i++)
        printf("%s\t%s\t%.3f\n", musdb_split_name(db->t[i].split), db->t[i].name, (double)db->t[i].frames / AUDIO_RATE);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        tf_exit_on_epipe();
        tf_die("stdout: write error");
    }
}

/* The slicer's settings from the options. */
static void make_cfg(slice_cfg *cfg, musdb_db *db, const slice_opts *so)
{
    char err[2048];
    double overlap = so->overlap >= 0 ? so->overlap : 0;
    memset(cfg, 0, sizeof *cfg);
    cfg->db = db;
    if (musdb_stems_parse(&cfg->stems, so->stems ? so->stems : "vocals,drums,bass,other", err, sizeof err) != 0)
        tf_usage_error("--stems: %s", err);
    cfg->segment = so->segment > 0 ? (int64_t)llround(so->segment * AUDIO_RATE) : 0;
    cfg->hop = cfg->segment - (int64_t)llround(overlap * AUDIO_RATE);
    if (cfg->segment > 0 && cfg->hop <= 0)
        tf_usage_error("--overlap leaves no hop between segments");
    cfg->pad = so->pad;
    cfg->random = so->random;
    cfg->mixture = so->mixture;
    cfg->aug = so->aug;
    cfg->seed = so->seed;
    cfg->skip_bad = so->skip_bad;
    cfg->warn = warn_cb;
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    slice_tune_malloc();
    slice_opts so = {.mixture = SLICE_MIX_AUTO, .overlap = -1, .threads = -1, .count = -1, .shard_n = 1};
    augment_cfg_default(&so.aug);
    so.gain = (struct range){&so.aug.gain_lo, &so.aug.gain_hi};
    so.stretch = (struct range){&so.aug.stretch_lo, &so.aug.stretch_hi};
    int first = parse_options(&so, argc, argv);
    if (first < 0)
        return 0;
    check_options(&so, argc - first);

    musdb_db db;
    open_db(&db, &so, argv + first, argc - first);
    if (so.list) {
        print_list(&db);
        musdb_close(&db);
        return 0;
    }
    slice_cfg cfg;
    make_cfg(&cfg, &db, &so);
    ts_writer *w = ts_open_stdout_or_die();
    slicer sl;
    slicer_init(&sl, &cfg);
    if (so.threads >= 0)
        tf_set_threads(so.threads);
    slice_out out = {so.count, so.shard_k, so.shard_n, tf_threads(), !so.quiet};
    slice_write(&sl, w, &out);
    musdb_close(&db);
    audio_cache_clear();
    return 0;
}
