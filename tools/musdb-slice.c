/* musdb-slice: MUSDB18-HQ and MUSDB18 (.stem.mp4) folders or plain audio files into tensor-stream
 * records (mixture + stems), in order or at random, with augmentation.
 * The work is in lib/audio (musdb.c: layout and splits, slice.c: records,
 * augment.c: transforms, audio.c/resample.c: files). */
#include "audio/musdb.h"
#include "audio/slice.h"
#include "audio/slice_batch.h"
#include "stream/ts.h"
#include "util/cli.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(void)
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
           "\n"
           "Selection:\n"
           "  -s, --split LIST       train, valid, test, all, or a comma list (default train). valid is the\n"
           "                         14 official MUSDB18 validation tracks (or ROOT/valid.txt), and train\n"
           "                         excludes them\n"
           "  -S, --stems LIST       stems to output (default vocals,drums,bass,other); 'other' holds every\n"
           "                         stem not named, 'accompaniment' all but vocals\n"
           "  -t, --track PATTERN    only tracks whose name contains PATTERN (or matches it, when it has\n"
           "                         * ? or [); may be repeated\n"
           "      --list             print the selected tracks (split, name, seconds) and exit\n"
           "      --skip-bad         warn about and skip a bad track or file instead of stopping\n"
           "Segments:\n"
           "  -g, --segment SEC      records of SEC seconds (default: whole tracks)\n"
           "      --overlap SEC      sequential mode: overlap of consecutive segments (default 0)\n"
           "      --pad              sequential mode: zero-pad the last segment to SEC (attribute length\n"
           "                         says how many samples are real); default: it is shorter\n"
           "  -r, --random           random track and offset per record, endless unless --count\n"
           "  -n, --count N          stop after N records\n"
           "      --fast-seek        compressed files (AAC, .stem.mp4): decode only from just before each\n"
           "                         segment, as musdb's chunked reads do, instead of decoding (and caching)\n"
           "                         whole streams; exact but in bands the encoder coded as noise (PNS)\n"
           "      --seed S           random seed (default 0): same seed, same bytes\n"
           "      --mixture HOW      file (mixture.wav), sum (of the stems), or auto (default: file in\n"
           "                         sequential mode, sum in random mode); always sum once augmentation\n"
           "                         changed the stems\n"
           "Augmentation (each off by default; P is a probability in [0, 1]):\n"
           "      --gain-prob P      per stem: scale by a uniform gain in --gain (default 0.7,1.3)\n"
           "      --gain MIN,MAX\n"
           "      --swap-prob P      per stem: swap left and right\n"
           "      --remix-prob P     per record: every stem from its own random track and offset\n"
           "      --stretch-prob P   per record: time stretch, tempo factor uniform in --stretch\n"
           "      --stretch MIN,MAX  (default 0.9,1.1; above 1 is faster, reading more source)\n"
           "      --pitch-prob P     per record: pitch shift, uniform in [-SEMI, SEMI] semitones\n"
           "      --pitch SEMI       (default 2)\n"
           "      --mixup-prob P     per record: mix with a second random example, weights Beta(A, A)\n"
           "      --mixup-alpha A    (default 0.4)\n"
           "Other:\n"
           "      --shard K/N        only records K, K+N, K+2N, ... (from 0) of the stream the same options\n"
           "                         make: N streams with K = 0..N-1 deal it out without duplicates, one\n"
           "                         per rank of mpirun -np N tfswa-net --train; --count counts the whole\n"
           "                         stream's records (default 0/1)\n"
           "      --threads N        random mode: make N records at a time in parallel (0: one per\n"
           "                         CPU; default 1, or $TFSWA_THREADS); the bytes do not depend on N\n"
           "  -q, --quiet            no progress on stderr\n"
           "  -h, --help             this help\n"
           "\n"
           "Exit status: 0 ok, 1 runtime error (bad data names the file), 2 usage error.\n"
           "See musdb-slice(1).\n",
           tf_progname, tf_progname);
}

static void warn_cb(const char *msg) { tf_warn("%s", msg); }

static void parse_range(const char *opt, const char *s, double min, double max, double *lo, double *hi)
{
    char *items[2];
    int n = tf_split_list(opt, s, items, 2);
    if (n != 2)
        tf_usage_error("%s: expected MIN,MAX, got '%s'", opt, s);
    *lo = tf_parse_double(opt, items[0], min, max);
    *hi = tf_parse_double(opt, items[1], min, max);
    tf_free_list(items, n);
    if (*lo > *hi)
        tf_usage_error("%s: MIN %g is above MAX %g", opt, *lo, *hi);
}

enum {
    OPT_LIST = 256, OPT_SKIP_BAD, OPT_OVERLAP, OPT_PAD, OPT_SEED, OPT_MIXTURE, OPT_GAIN_PROB, OPT_GAIN,
    OPT_SWAP_PROB, OPT_REMIX_PROB, OPT_STRETCH_PROB, OPT_STRETCH, OPT_PITCH_PROB, OPT_PITCH, OPT_MIXUP_PROB,
    OPT_MIXUP_ALPHA, OPT_THREADS, OPT_FAST_SEEK, OPT_SHARD,
};

/* --shard K/N */
static void parse_shard(const char *s, long *k, long *n)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1])
        tf_usage_error("--shard: '%s': expected K/N (this stream's number K, from 0, of N)", s);
    char kbuf[64];
    snprintf(kbuf, sizeof kbuf, "%.*s", (int)(slash - s) < 63 ? (int)(slash - s) : 63, s);
    *n = tf_parse_long("--shard (N)", slash + 1, 1, 1L << 30);
    *k = tf_parse_long("--shard (K)", kbuf, 0, *n - 1);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    slice_tune_malloc();
    static const struct option longopts[] = {
        {"split", required_argument, 0, 's'},
        {"stems", required_argument, 0, 'S'},
        {"track", required_argument, 0, 't'},
        {"list", no_argument, 0, OPT_LIST},
        {"skip-bad", no_argument, 0, OPT_SKIP_BAD},
        {"segment", required_argument, 0, 'g'},
        {"overlap", required_argument, 0, OPT_OVERLAP},
        {"pad", no_argument, 0, OPT_PAD},
        {"random", no_argument, 0, 'r'},
        {"count", required_argument, 0, 'n'},
        {"seed", required_argument, 0, OPT_SEED},
        {"mixture", required_argument, 0, OPT_MIXTURE},
        {"gain-prob", required_argument, 0, OPT_GAIN_PROB},
        {"gain", required_argument, 0, OPT_GAIN},
        {"swap-prob", required_argument, 0, OPT_SWAP_PROB},
        {"remix-prob", required_argument, 0, OPT_REMIX_PROB},
        {"stretch-prob", required_argument, 0, OPT_STRETCH_PROB},
        {"stretch", required_argument, 0, OPT_STRETCH},
        {"pitch-prob", required_argument, 0, OPT_PITCH_PROB},
        {"pitch", required_argument, 0, OPT_PITCH},
        {"mixup-prob", required_argument, 0, OPT_MIXUP_PROB},
        {"mixup-alpha", required_argument, 0, OPT_MIXUP_ALPHA},
        {"threads", required_argument, 0, OPT_THREADS},
        {"fast-seek", no_argument, 0, OPT_FAST_SEEK},
        {"shard", required_argument, 0, OPT_SHARD},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *split_s = NULL, *stems_s = NULL;
    char *patterns[256];
    int npat = 0, list = 0, skip_bad = 0, pad = 0, random = 0, quiet = 0, mixture = SLICE_MIX_AUTO;
    double segment = 0, overlap = 0;
    int threads = -1; /* -1: as tf_init set it (TFSWA_THREADS, else 1) */
    int have_overlap = 0;
    long long count = -1;
    long shard_k = 0, shard_n = 1;
    uint64_t seed = 0;
    augment_cfg aug;
    augment_cfg_default(&aug);
    int c;
    while ((c = getopt_long(argc, argv, "s:S:t:g:rn:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 's': split_s = optarg; break;
        case 'S': stems_s = optarg; break;
        case 't':
            if (npat == 256)
                tf_usage_error("--track: at most 256 patterns");
            patterns[npat++] = optarg;
            break;
        case OPT_LIST: list = 1; break;
        case OPT_SKIP_BAD: skip_bad = 1; break;
        case 'g': segment = tf_parse_double("--segment", optarg, 0.001, 1e6); break;
        case OPT_OVERLAP: overlap = tf_parse_double("--overlap", optarg, 0, 1e6); have_overlap = 1; break;
        case OPT_PAD: pad = 1; break;
        case 'r': random = 1; break;
        case 'n': {
            uint64_t v = tf_parse_u64("--count", optarg);
            count = v > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v;
            break;
        }
        case OPT_SEED: seed = tf_parse_u64("--seed", optarg); break;
        case OPT_MIXTURE:
            if (!strcmp(optarg, "file")) mixture = SLICE_MIX_FILE;
            else if (!strcmp(optarg, "sum")) mixture = SLICE_MIX_SUM;
            else if (!strcmp(optarg, "auto")) mixture = SLICE_MIX_AUTO;
            else tf_usage_error("--mixture: '%s' is not file, sum or auto", optarg);
            break;
        case OPT_GAIN_PROB: aug.gain_prob = tf_parse_double("--gain-prob", optarg, 0, 1); break;
        case OPT_GAIN: parse_range("--gain", optarg, 0, 100, &aug.gain_lo, &aug.gain_hi); break;
        case OPT_SWAP_PROB: aug.swap_prob = tf_parse_double("--swap-prob", optarg, 0, 1); break;
        case OPT_REMIX_PROB: aug.remix_prob = tf_parse_double("--remix-prob", optarg, 0, 1); break;
        case OPT_STRETCH_PROB: aug.stretch_prob = tf_parse_double("--stretch-prob", optarg, 0, 1); break;
        case OPT_STRETCH: parse_range("--stretch", optarg, 0.25, 4, &aug.stretch_lo, &aug.stretch_hi); break;
        case OPT_PITCH_PROB: aug.pitch_prob = tf_parse_double("--pitch-prob", optarg, 0, 1); break;
        case OPT_PITCH: aug.pitch_max = tf_parse_double("--pitch", optarg, 0, 24); break;
        case OPT_MIXUP_PROB: aug.mixup_prob = tf_parse_double("--mixup-prob", optarg, 0, 1); break;
        case OPT_MIXUP_ALPHA: aug.mixup_alpha = tf_parse_double("--mixup-alpha", optarg, 1e-3, 1e3); break;
        case OPT_THREADS: threads = (int)tf_parse_long("--threads", optarg, 0, 1024); break;
        case OPT_FAST_SEEK: audio_set_fast_seek(1); break;
        case OPT_SHARD: parse_shard(optarg, &shard_k, &shard_n); break;
        case 'q': quiet = 1; break;
        case 'h': usage(); return 0;
        default: tf_getopt_error();
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs == 0)
        tf_usage_error("missing ROOT (a MUSDB18-HQ folder) or FILE (audio files)");
    if (have_overlap && segment <= 0)
        tf_usage_error("--overlap needs --segment");
    if (have_overlap && random)
        tf_usage_error("--overlap is for sequential segments, not --random");
    if (pad && (segment <= 0 || random))
        tf_usage_error("--pad needs --segment and sequential mode");
    if (have_overlap && overlap >= segment)
        tf_usage_error("--overlap %g must be shorter than --segment %g", overlap, segment);

    char err[2048];
    musdb_db db;
    int plain = !musdb_is_root(args[0]);
    if (!plain) {
        if (nargs > 1)
            tf_usage_error("give one MUSDB18 folder, or audio files (not both, not two folders)");
        int splits = musdb_parse_splits(split_s ? split_s : "train");
        if (!splits)
            tf_usage_error("--split: '%s' is not train, valid, test, all or a comma list of them", split_s);
        if (musdb_open(&db, args[0], splits, patterns, npat, skip_bad, warn_cb, err, sizeof err) != 0)
            tf_die("%s", err);
    } else {
        struct stat st;
        if (stat(args[0], &st) == 0 && S_ISDIR(st.st_mode))
            tf_die("%s: not a MUSDB18 folder (it has neither train/ nor test/ with one folder per track)", args[0]);
        if (split_s)
            tf_usage_error("--split needs a MUSDB18 folder (ROOT with train/ and test/); '%s' is not one", args[0]);
        if (stems_s)
            tf_usage_error("--stems needs a MUSDB18 folder; plain audio files give mixture-only records");
        if (npat)
            tf_usage_error("--track needs a MUSDB18 folder");
        if (musdb_open_files(&db, args, nargs, skip_bad, warn_cb, err, sizeof err) != 0)
            tf_die("%s", err);
    }
    if (list) {
        for (int i = 0; i < db.n; i++)
            printf("%s\t%s\t%.3f\n", musdb_split_name(db.t[i].split), db.t[i].name,
                   (double)db.t[i].frames / AUDIO_RATE);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            tf_exit_on_epipe();
            tf_die("stdout: write error");
        }
        musdb_close(&db);
        return 0;
    }

    slice_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.db = &db;
    if (musdb_stems_parse(&cfg.stems, stems_s ? stems_s : "vocals,drums,bass,other", err, sizeof err) != 0)
        tf_usage_error("--stems: %s", err);
    cfg.segment = segment > 0 ? (int64_t)llround(segment * AUDIO_RATE) : 0;
    cfg.hop = cfg.segment - (int64_t)llround(overlap * AUDIO_RATE);
    if (cfg.segment > 0 && cfg.hop <= 0)
        tf_usage_error("--overlap leaves no hop between segments");
    cfg.pad = pad;
    cfg.random = random;
    cfg.mixture = mixture;
    cfg.aug = aug;
    cfg.seed = seed;
    cfg.skip_bad = skip_bad;
    cfg.warn = warn_cb;

    ts_writer *w = ts_open_stdout_or_die();
    slicer sl;
    slicer_init(&sl, &cfg);
    if (threads >= 0)
        tf_set_threads(threads);
    slice_out out = {count, shard_k, shard_n, tf_threads(), !quiet};
    slice_write(&sl, w, &out);
    musdb_close(&db);
    audio_cache_clear();
    return 0;
}
