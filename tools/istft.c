/* istft: every spectrogram of each record back to a waveform of its exact
 * original length; --wav DIR also writes audio files (man/istft.1). The
 * work is in lib/dsp/stft_record.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "dsp/stft_record.h"
#include "stream/ts.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/progress.h"

#define MAX_ONLY 256

static void usage(void)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Turn every spectrogram tensor (c64 (channels, n_fft/2+1, frames)) of each record of a tensor\n"
           "stream back into a waveform (f32 (channels, samples)) of the same name and of exactly the\n"
           "original length (attribute length/NAME, else length), inverting stft(1) as torch.istft does\n"
           "(window-sum-square normalised overlap-add). Reads FILEs (or standard input), writes the\n"
           "stream to standard output (unless --wav is given and standard output is a terminal).\n"
           "\n"
           "      --only NAMES      convert only these tensors (comma-separated)\n"
           "  -w, --wav DIR         also write DIR/TRACK/STEM.wav: the estimates (est/STEM) when the\n"
           "                        record has any, else every waveform (mixture.wav, vocals.wav, ...)\n"
           "      --wav-all         with --wav: every waveform; estimates as TRACK/STEM.wav, the others\n"
           "                        (mixture, references) as TRACK/ref/NAME.wav\n"
           "      --float           write 32-bit float WAV (default 16-bit PCM, clipped to [-1, 1])\n"
           "      --no-stream       write no stream (only the --wav files)\n"
           "  -j, --threads N       threads (default: $TFSWA_THREADS or 1; 0 = all CPUs)\n"
           "  -q, --quiet           no progress on standard error\n"
           "  -h, --help            show this help and exit\n"
           "\n"
           "TRACK is the record's track attribute (else record-N) with '/' and other unsafe characters\n"
           "replaced by '_'; the sample rate is the rate attribute (else 44100).\n"
           "Exit status: 0 ok, 1 runtime error, 2 usage error. See istft(1), stft(1).\n",
           tf_progname);
}

/* A file-name-safe version of a track name: no '/', no control
 * characters, no leading '.', at most 200 bytes, never empty. */
static void safe_name(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 1 < outlen && n < 200; p++) {
        unsigned char ch = *p;
        if (ch == '/' || ch == '\\' || ch < 0x20 || ch == 0x7f || (n == 0 && ch == '.'))
            ch = '_';
        out[n++] = (char)ch;
    }
    out[n] = 0;
    if (n == 0)
        snprintf(out, outlen, "_");
}

static int is_est(const char *name) { return strncmp(name, "est/", 4) == 0 && name[4]; }

static void write_wavs(const ts_record *rec, const char *dir, int all, int subtype, long index, const char *where)
{
    int any_est = 0;
    for (int i = 0; i < rec->n_tensors; i++)
        if (stft_is_waveform(&rec->tensors[i]) && is_est(rec->tensors[i].name))
            any_est = 1;
    char track[256];
    const char *tr = ts_attr_get(rec, "track");
    if (tr)
        safe_name(tr, track, sizeof track);
    else
        snprintf(track, sizeof track, "record-%ld", index);
    int64_t rate = AUDIO_RATE;
    int rr = ts_attr_get_i64(rec, "rate", &rate);
    if (rr == -2 || rate < 1 || rate > 1000000)
        tf_die("%s: attribute rate='%s' is not a sample rate", where, ts_attr_get(rec, "rate"));
    for (int i = 0; i < rec->n_tensors; i++) {
        const ts_tensor *t = &rec->tensors[i];
        if (!stft_is_waveform(t))
            continue;
        const char *stem;
        const char *sub = "";
        if (is_est(t->name))
            stem = t->name + 4;
        else if (!any_est)
            stem = t->name;
        else if (all) {
            stem = t->name;
            sub = "ref/";
        } else
            continue;
        if (t->shape[0] < 1 || t->shape[0] > 64)
            tf_die("%s: tensor '%s': %lld channels cannot be written as WAV", where, t->name,
                   (long long)t->shape[0]);
        size_t plen = strlen(dir) + strlen(track) + strlen(sub) + strlen(stem) + 16;
        char *path = tf_malloc(plen, "path");
        snprintf(path, plen, "%s/%s/%s%s.wav", dir, track, sub, stem);
        char *slash = strrchr(path, '/');
        *slash = 0;
        if (tf_mkdirs(path) < 0)
            tf_die("%s: %s", path, strerror(errno));
        *slash = '/';
        char err[1024];
        if (audio_write(path, (const float *)t->data, (int)t->shape[0], t->shape[1], (int)rate, subtype, err,
                        sizeof err) < 0)
            tf_die("%s: tensor '%s': %s", where, t->name, err);
        free(path);
    }
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    enum { O_ONLY = 256, O_ALL, O_FLOAT, O_NOSTREAM };
    static const struct option opts[] = {
        {"only", required_argument, 0, O_ONLY}, {"wav", required_argument, 0, 'w'},
        {"wav-all", no_argument, 0, O_ALL},     {"float", no_argument, 0, O_FLOAT},
        {"no-stream", no_argument, 0, O_NOSTREAM}, {"threads", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    char *only_buf[MAX_ONLY], **only = NULL;
    int n_only = 0, quiet = 0, all = 0, subtype = AUDIO_PCM16, no_stream = 0, c;
    const char *wav = NULL;
    while ((c = getopt_long(argc, argv, "w:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case O_ONLY:
            if (only)
                tf_free_list(only, n_only);
            n_only = tf_split_list("--only", optarg, only_buf, MAX_ONLY);
            only = only_buf;
            break;
        case 'w':
            if (!*optarg)
                tf_usage_error("--wav: empty directory name");
            wav = optarg;
            break;
        case O_ALL: all = 1; break;
        case O_FLOAT: subtype = AUDIO_FLOAT; break;
        case O_NOSTREAM: no_stream = 1; break;
        case 'j': tf_set_threads((int)tf_parse_long("--threads", optarg, 0, 4096)); break;
        case 'q': quiet = 1; break;
        case 'h': usage(); return 0;
        default: tf_getopt_error();
        }
    }
    if (all && !wav)
        tf_usage_error("--wav-all needs --wav DIR");
    if (no_stream && !wav)
        tf_usage_error("--no-stream needs --wav DIR");
    ts_reader *r = ts_open_inputs_or_die(argc - optind, argv + optind);
    ts_writer *w = NULL;
    if (!no_stream) {
        if (wav && isatty(1))
            no_stream = 1; /* `istft --wav out/` at a terminal: files only */
        else
            w = ts_open_stdout_or_die();
    }
    if (wav && tf_mkdirs(wav) < 0)
        tf_die("%s: %s", wav, strerror(errno));
    stft_engine *e = stft_engine_new();
    if (!e)
        tf_die("out of memory");
    tf_progress pr;
    tf_progress_init(&pr, "istft", 0, "records", !quiet);
    ts_record rec;
    ts_record_init(&rec);
    long nrec = 0, converted = 0, n_seen = 0;
    char **seen = NULL;
    int warned_dup = 0;
    char err[1024], where[1400];
    while (ts_read_or_die(r, &rec) == 1) {
        snprintf(where, sizeof where, "%s: record %ld", ts_reader_name(r), ts_reader_record(r));
        int k = stft_record_inverse(e, &rec, only, n_only, err, sizeof err);
        if (k < 0)
            tf_die("%s: %s", where, err);
        converted += k;
        if (wav) {
            const char *tr = ts_attr_get(&rec, "track");
            if (tr && !warned_dup) {
                for (long i = 0; i < n_seen && !warned_dup; i++)
                    if (strcmp(seen[i], tr) == 0) {
                        tf_warn("%s: track '%s' appears in several records: its files in %s are overwritten "
                                "by each (--wav wants whole tracks, not segments)", where, tr, wav);
                        warned_dup = 1;
                    }
                seen = tf_realloc(seen, sizeof *seen * (size_t)(n_seen + 1), "track names");
                seen[n_seen++] = tf_strdup(tr);
            }
            write_wavs(&rec, wav, all, subtype, nrec, where);
        }
        if (w)
            ts_write_or_die(w, &rec);
        nrec++;
        tf_progress_update(&pr, (double)nrec, NULL);
    }
    if (w)
        ts_writer_close_or_die(w);
    char extra[64];
    snprintf(extra, sizeof extra, "%ld tensors converted", converted);
    tf_progress_done(&pr, (double)nrec, extra);
    if (nrec > 0 && converted == 0)
        tf_warn("no spectrogram%s in %ld records", only ? " of those named" : "", nrec);
    for (long i = 0; i < n_seen; i++)
        free(seen[i]);
    free(seen);
    ts_record_free(&rec);
    ts_reader_close(r);
    stft_engine_free(e);
    if (only)
        tf_free_list(only, n_only);
    return 0;
}
