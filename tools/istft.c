/* istft: every spectrogram of each record back to a waveform of its exact
 * original length; --wav DIR also writes audio files in a chosen format,
 * with Demucs's clip handling and Open-Unmix's residual (man/istft.1). The
 * work is in lib/dsp/stft_record.c and lib/audio/audio.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "dsp/stft_record.h"
#include "stream/ts.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/opts.h"
#include "util/progress.h"

#define MAX_ONLY 256

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... [FILE]...\n"
           "Turn every spectrogram tensor (c64 (channels, n_fft/2+1, frames)) of each record of a tensor\n"
           "stream back into a waveform (f32 (channels, samples)) of the same name and of exactly the\n"
           "original length (attribute length/NAME, else length), inverting stft(1) as torch.istft does\n"
           "(window-sum-square normalised overlap-add). Reads FILEs (or standard input), writes the\n"
           "stream to standard output (unless --wav is given and standard output is a terminal).\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 24);
    printf("\n"
           "TRACK is the record's track attribute (else record-N) with '/' and other unsafe characters\n"
           "replaced by '_'; the sample rate is the rate attribute (else 44100).\n"
           "Exit status: 0 ok, 1 runtime error, 2 usage error. See istft(1), stft(1).\n");
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

typedef struct {
    const audio_format *fmt;
    int clip;             /* AUDIO_CLIP_* */
    const char *residual; /* NULL: none */
    int all;
} out_opts;

static const char *const clip_names[] = {"rescale", "clamp", "none"};

/* Writes DIR/TRACK/SUBNAME.EXT from planar (ch, frames), clip handling on a copy. */
static void write_one(const char *dir, const char *track, const char *sub, const char *name, const float *data, int ch,
                      int64_t frames, int rate, const out_opts *o, const char *where, const char *tensor)
{
    size_t plen = strlen(dir) + strlen(track) + strlen(sub) + strlen(name) + strlen(o->fmt->ext) + 16;
    char *path = tf_malloc(plen, "path");
    snprintf(path, plen, "%s/%s/%s%s.%s", dir, track, sub, name, o->fmt->ext);
    char *slash = strrchr(path, '/');
    *slash = 0;
    if (tf_mkdirs(path) < 0)
        tf_die("%s: %s", path, strerror(errno));
    *slash = '/';
    size_t n = (size_t)ch * (size_t)frames;
    float *x = tf_malloc(n * sizeof(float) + 1, "samples");
    memcpy(x, data, n * sizeof(float));
    size_t changed = 0;
    double peak = audio_prevent_clip(x, n, o->clip, &changed);
    if (changed && o->clip == AUDIO_CLIP_RESCALE)
        tf_warn("%s: %s: peak %.4f: rescaled by 1/%.4f to avoid clipping (--clip rescale)", where, path, peak,
                1.01 * peak);
    else if (changed)
        tf_warn("%s: %s: peak %.4f: %zu samples clamped to +-0.99 (--clip clamp)", where, path, peak, changed);
    char err[1024];
    if (audio_write_format(path, x, ch, frames, rate, o->fmt, err, sizeof err) < 0)
        tf_die("%s: tensor '%s': %s", where, tensor, err);
    free(x);
    free(path);
}

static void write_wavs(const ts_record *rec, const char *dir, const out_opts *o, long index, const char *where)
{
    int any_est = 0;
    const ts_tensor *mix = NULL;
    for (int i = 0; i < rec->n_tensors; i++)
        if (stft_is_waveform(&rec->tensors[i])) {
            if (is_est(rec->tensors[i].name))
                any_est = 1;
            else if (!strcmp(rec->tensors[i].name, "mixture"))
                mix = &rec->tensors[i];
        }
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
    float *res = NULL;
    if (o->residual) {
        if (!any_est)
            tf_die("%s: --residual %s: the record has no estimates (est/STEM) to subtract", where, o->residual);
        if (!mix)
            tf_die("%s: --residual %s: the record has no 'mixture' waveform to subtract the estimates from", where,
                   o->residual);
        size_t n = (size_t)mix->shape[0] * (size_t)mix->shape[1];
        res = tf_malloc(n * sizeof(float) + 1, "residual");
        memcpy(res, mix->data, n * sizeof(float));
    }
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
        else if (o->all) {
            stem = t->name;
            sub = "ref/";
        } else
            continue;
        if (t->shape[0] < 1 || t->shape[0] > 64)
            tf_die("%s: tensor '%s': %lld channels cannot be written as audio", where, t->name, (long long)t->shape[0]);
        if (res && is_est(t->name)) {
            if (!strcmp(stem, o->residual))
                tf_die("%s: --residual %s: the record has an estimate of that name", where, o->residual);
            if (t->shape[0] != mix->shape[0] || t->shape[1] != mix->shape[1])
                tf_die("%s: --residual %s: tensor '%s' is (%lld, %lld), the mixture (%lld, %lld)", where, o->residual,
                       t->name, (long long)t->shape[0], (long long)t->shape[1], (long long)mix->shape[0],
                       (long long)mix->shape[1]);
            const float *e = (const float *)t->data;
            for (size_t q = 0; q < (size_t)t->shape[0] * (size_t)t->shape[1]; q++)
                res[q] -= e[q];
        }
        write_one(dir, track, sub, stem, (const float *)t->data, (int)t->shape[0], t->shape[1], (int)rate, o, where,
                  t->name);
    }
    if (res) {
        write_one(dir, track, "", o->residual, res, (int)mix->shape[0], mix->shape[1], (int)rate, o, where, "mixture");
        free(res);
    }
}

/* The options' checks and conversions (out_opts fields from their names). */
static void check_wav(const tf_opt *o, const char *arg)
{
    if (!*arg)
        tf_usage_error("--wav: empty directory name");
}

static void set_float(const tf_opt *o, const char *arg) { ((out_opts *)o->var)->fmt = audio_format_find("float"); }

static void set_format(const tf_opt *o, const char *arg)
{
    if (!(((out_opts *)o->var)->fmt = audio_format_find(arg)))
        tf_usage_error("--format: '%s' is not wav, wav24, float, flac, ogg, opus or mp3", arg);
}

static void set_clip(const tf_opt *o, const char *arg)
{
    int k = 0;
    while (k < 3 && strcmp(arg, clip_names[k]))
        k++;
    if (k == 3)
        tf_usage_error("--clip: '%s' is not rescale, clamp or none", arg);
    ((out_opts *)o->var)->clip = k;
}

static void check_residual(const tf_opt *o, const char *arg)
{
    if (!*arg || strchr(arg, '/') || arg[0] == '.')
        tf_usage_error("--residual: '%s' is not a stem name (no '/', no leading '.')", arg);
}

/* The track names seen so far, to warn once when --wav gets a track in
 * several records (each overwrites the files of the one before). */
typedef struct {
    char **names;
    long n;
    int warned;
} seen_tracks;

static void note_track(seen_tracks *s, const char *tr, const char *wav, const char *where)
{
    if (!tr || s->warned)
        return;
    for (long i = 0; i < s->n && !s->warned; i++)
        if (strcmp(s->names[i], tr) == 0) {
            tf_warn("%s: track '%s' appears in several records: its files in %s are overwritten "
                    "by each (--wav wants whole tracks, not segments)",
                    where, tr, wav);
            s->warned = 1;
        }
    s->names = tf_realloc(s->names, sizeof *s->names * (size_t)(s->n + 1), "track names");
    s->names[s->n++] = tf_strdup(tr);
}

/* Converts every record of r (to w unless NULL; to audio files under wav
 * unless NULL), with the progress and the closing warning. */
static void convert(ts_reader *r, ts_writer *w, char **only, int n_only, const char *wav, const out_opts *oo, int quiet)
{
    stft_engine *e = stft_engine_new();
    if (!e)
        tf_die("out of memory");
    tf_progress pr;
    tf_progress_init(&pr, "istft", 0, "records", !quiet);
    ts_record rec;
    ts_record_init(&rec);
    long nrec = 0, converted = 0;
    seen_tracks seen = {NULL, 0, 0};
    char err[1024], where[1400];
    while (ts_read_or_die(r, &rec) == 1) {
        snprintf(where, sizeof where, "%s: record %ld", ts_reader_name(r), ts_reader_record(r));
        int k = stft_record_inverse(e, &rec, only, n_only, err, sizeof err);
        if (k < 0)
            tf_die("%s: %s", where, err);
        converted += k;
        if (wav) {
            note_track(&seen, ts_attr_get(&rec, "track"), wav, where);
            write_wavs(&rec, wav, oo, nrec, where);
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
    for (long i = 0; i < seen.n; i++)
        free(seen.names[i]);
    free(seen.names);
    ts_record_free(&rec);
    stft_engine_free(e);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    char *only_buf[MAX_ONLY];
    tf_opt_list only = {only_buf, 0, MAX_ONLY};
    int quiet = 0, no_stream = 0;
    const char *wav = NULL;
    out_opts oo = {audio_format_find("wav"), AUDIO_CLIP_RESCALE, NULL, 0};
    tf_opt opts[] = {
        {"only", 0, TF_OPT_LIST, &only, "NAMES", 0, 0, NULL, "convert only these tensors (comma-separated)"},
        {"wav", 'w', TF_OPT_STRING, &wav, "DIR", 0, 0, check_wav,
         "also write audio files DIR/TRACK/STEM.wav: the estimates (est/STEM)\n"
         "when the record has any, else every waveform (mixture.wav, ...)"},
        {"wav-all", 0, TF_OPT_FLAG, &oo.all, NULL, 0, 0, NULL,
         "with --wav: every waveform; estimates as TRACK/STEM.wav, the others\n"
         "(mixture, references) as TRACK/ref/NAME.wav"},
        {"format", 'f', TF_OPT_CALL, &oo, "F", 0, 0, set_format,
         "file format (and extension) of --wav: wav (16-bit PCM, default),\n"
         "wav24, float (32-bit float WAV), flac (16-bit), ogg (Vorbis), opus\n"
         "(resampled to 48 kHz), mp3 (where libsndfile encodes it); also\n"
         "given as an extension (.flac)"},
        {"float", 0, TF_OPT_CALL, &oo, NULL, 0, 0, set_float, "the same as --format float"},
        {"clip", 0, TF_OPT_CALL, &oo, "MODE", 0, 0, set_clip,
         "before writing each file, as Demucs: rescale (default: divide by\n"
         "1.01 * peak when that is above 1), clamp (to +-0.99), or none (integer\n"
         "formats then clip at full scale); said on stderr when it changes a file"},
        {"residual", 0, TF_OPT_STRING, &oo.residual, "NAME", 0, 0, check_residual,
         "with --wav: also write TRACK/NAME.EXT = mixture - every estimate (as\n"
         "Open-Unmix's --residual); needs the mixture in the stream"},
        {"no-stream", 0, TF_OPT_FLAG, &no_stream, NULL, 0, 0, NULL, "write no stream (only the --wav files)"},
        {"threads", 'j', TF_OPT_CALL, NULL, "N", 0, 4096, tf_opt_threads,
         "threads (default: $TFSWA_THREADS or 1; 0 = all CPUs)"},
        {"quiet", 'q', TF_OPT_FLAG, &quiet, NULL, 0, 0, NULL, "no progress on standard error"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    char **only_names = only.n ? only.v : NULL;
    if (oo.all && !wav)
        tf_usage_error("--wav-all needs --wav DIR");
    if (oo.residual && !wav)
        tf_usage_error("--residual needs --wav DIR");
    char ferr[512];
    if (wav && audio_format_check(oo.fmt, 2, AUDIO_RATE, ferr, sizeof ferr) != 0)
        tf_die("--format: %s", ferr);
    if (no_stream && !wav)
        tf_usage_error("--no-stream needs --wav DIR");
    ts_reader *r = ts_open_inputs_or_die(argc - first, argv + first);
    ts_writer *w = NULL;
    if (!no_stream) {
        if (wav && isatty(1))
            no_stream = 1; /* `istft --wav out/` at a terminal: files only */
        else
            w = ts_open_stdout_or_die();
    }
    if (wav && tf_mkdirs(wav) < 0)
        tf_die("%s: %s", wav, strerror(errno));
    convert(r, w, only_names, only.n, wav, &oo, quiet);
    ts_reader_close(r);
    tf_opt_list_free(&only);
    return 0;
}
