#include "audio/audio.h"
#include "audio/ffdec.h"
#include "util/atomic.h"
#include "util/cli.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* libsndfile's view of path: 1 (info set), 0 when it does not recognise
 * the file (*sferr holds its reason), -1 with err (it does, but the header
 * is invalid). */
static int sf_probe(const char *path, audio_info *info, char *sferr, size_t sferrlen, char *err, size_t errlen)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(path, SFM_READ, &si);
    if (!sf) {
        snprintf(sferr, sferrlen, "%s", sf_strerror(NULL));
        return 0;
    }
    info->channels = si.channels;
    info->frames = si.frames;
    info->rate = si.samplerate;
    info->format = si.format;
    info->streams = 1;
    sf_close(sf);
    if (si.channels <= 0 || si.samplerate <= 0 || si.frames < 0) {
        snprintf(err, errlen, "%s: invalid audio header (channels %d, rate %d)", path, si.channels, si.samplerate);
        return -1;
    }
    return 1;
}

/* Names that only FFmpeg reads: its message is the one to give. */
static int ffmpeg_name(const char *path)
{
    static const char *const ext[] = {".mp4", ".m4a", ".m4b", ".aac", ".mov", ".3gp", ".mka", ".mkv", ".webm"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (ends_with(path, ext[i]))
            return 1;
    return 0;
}

int audio_probe_stream(const char *path, int stream, audio_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    char sferr[256] = "";
    if (stream == 0) {
        int rc = sf_probe(path, info, sferr, sizeof sferr, err, errlen);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
        if (access(path, R_OK) != 0) {
            snprintf(err, errlen, "%s: cannot read audio: %s", path, strerror(errno));
            return -1;
        }
    } else if (stream < 0) {
        snprintf(err, errlen, "%s: audio stream %d: no such stream", path, stream);
        return -1;
    }
    ffdec_info fi;
    char fferr[1024];
    int rc = ffdec_probe(path, stream, &fi, fferr, sizeof fferr);
    if (rc == -1 && stream == 0 && !ffmpeg_name(path)) {
        snprintf(err, errlen, "%s: cannot read audio: neither libsndfile nor FFmpeg knows this format (libsndfile: %s)",
                 path, sferr);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s", fferr);
        return -1;
    }
    memset(info, 0, sizeof *info);
    info->channels = fi.channels;
    info->frames = fi.frames;
    info->rate = fi.rate;
    info->format = 0;
    info->streams = fi.streams;
    return 0;
}

int audio_probe(const char *path, audio_info *info, char *err, size_t errlen)
{
    return audio_probe_stream(path, 0, info, err, errlen);
}

void audio_free(audio_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Through FFmpeg: the whole range decoded by ffdec_read. */
static int ff_read(const char *path, int stream, int64_t offset, int64_t count, audio_buf *out, char *err,
                   size_t errlen)
{
    audio_info info;
    if (audio_probe_stream(path, stream, &info, err, errlen) != 0)
        return -1;
    if (offset < 0 || offset > info.frames) {
        snprintf(err, errlen, "%s: offset %lld outside the stream's %lld frames", path, (long long)offset,
                 (long long)info.frames);
        return -1;
    }
    if (count < 0)
        count = info.frames - offset;
    if (offset + count > info.frames) {
        snprintf(err, errlen, "%s: frames %lld..%lld past the stream's end (%lld frames)", path, (long long)offset,
                 (long long)(offset + count), (long long)info.frames);
        return -1;
    }
    float *planar = malloc((size_t)count * (size_t)info.channels * sizeof(float) + 1);
    if (!planar) {
        snprintf(err, errlen, "%s: out of memory for %lld frames", path, (long long)count);
        return -1;
    }
    if (ffdec_read(path, stream, info.channels, offset, count, planar, err, errlen) != 0) {
        free(planar);
        return -1;
    }
    out->channels = info.channels;
    out->frames = count;
    out->rate = info.rate;
    out->data = planar;
    return 0;
}

int audio_read(const char *path, int64_t offset, int64_t count, audio_buf *out, char *err, size_t errlen)
{
    return audio_read_stream(path, 0, offset, count, out, err, errlen);
}

int audio_read_stream(const char *path, int stream, int64_t offset, int64_t count, audio_buf *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = stream == 0 ? sf_open(path, SFM_READ, &si) : NULL;
    if (!sf)
        return ff_read(path, stream, offset, count, out, err, errlen);
    if (si.channels <= 0 || si.channels > 64 || si.samplerate <= 0 || si.frames < 0) {
        snprintf(err, errlen, "%s: invalid audio header (channels %d, rate %d)", path, si.channels, si.samplerate);
        sf_close(sf);
        return -1;
    }
    if (offset < 0 || offset > si.frames) {
        snprintf(err, errlen, "%s: offset %lld outside the file's %lld frames", path, (long long)offset,
                 (long long)si.frames);
        sf_close(sf);
        return -1;
    }
    if (count < 0 || offset + count > si.frames)
        count = count < 0 ? si.frames - offset : count;
    if (offset + count > si.frames) {
        snprintf(err, errlen, "%s: frames %lld..%lld past the file's end (%lld frames)", path, (long long)offset,
                 (long long)(offset + count), (long long)si.frames);
        sf_close(sf);
        return -1;
    }
    if (offset > 0 && sf_seek(sf, offset, SEEK_SET) != offset) {
        snprintf(err, errlen, "%s: cannot seek to frame %lld: %s", path, (long long)offset, sf_strerror(sf));
        sf_close(sf);
        return -1;
    }
    int ch = si.channels;
    float *planar = malloc((size_t)count * (size_t)ch * sizeof(float) + 1);
    enum { CHUNK = 16384 };
    float *inter = malloc((size_t)CHUNK * (size_t)ch * sizeof(float));
    if (!planar || !inter) {
        free(planar);
        free(inter);
        snprintf(err, errlen, "%s: out of memory for %lld frames", path, (long long)count);
        sf_close(sf);
        return -1;
    }
    int64_t done = 0;
    while (done < count) {
        sf_count_t want = count - done < CHUNK ? count - done : CHUNK;
        sf_count_t got = sf_readf_float(sf, inter, want);
        if (got <= 0) {
            snprintf(err, errlen, "%s: read failed at frame %lld of %lld (truncated or corrupt file)", path,
                     (long long)(offset + done), (long long)si.frames);
            free(planar);
            free(inter);
            sf_close(sf);
            return -1;
        }
        for (sf_count_t i = 0; i < got; i++)
            for (int c = 0; c < ch; c++)
                planar[(size_t)c * (size_t)count + (size_t)(done + i)] = inter[i * ch + c];
        done += got;
    }
    free(inter);
    sf_close(sf);
    out->channels = ch;
    out->frames = count;
    out->rate = si.samplerate;
    out->data = planar;
    return 0;
}

const audio_format audio_formats[] = {
    {"wav", "wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0, "WAV, 16-bit PCM"},
    {"wav24", "wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 0, "WAV, 24-bit PCM"},
    {"float", "wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0, "WAV, 32-bit float"},
    {"flac", "flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 0, "FLAC, 16-bit"},
    {"ogg", "ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0, "Ogg Vorbis"},
    {"opus", "opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, "Ogg Opus, at 48 kHz"},
    {"mp3", "mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 0, "MPEG-1 Layer III"},
};
const int audio_nformats = (int)(sizeof audio_formats / sizeof audio_formats[0]);

const audio_format *audio_format_find(const char *name)
{
    static const char *const alias[][2] = {
        {"wav16", "wav"},  {"pcm16", "wav"},     {"pcm24", "wav24"}, {"f32", "float"},
        {"wavf", "float"}, {"float32", "float"}, {"vorbis", "ogg"},  {"oga", "ogg"},
    };
    if (name[0] == '.')
        name++;
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcasecmp(name, alias[i][0]) == 0)
            name = alias[i][1];
    for (int i = 0; i < audio_nformats; i++)
        if (strcasecmp(name, audio_formats[i].name) == 0)
            return &audio_formats[i];
    return NULL;
}

int audio_format_check(const audio_format *f, int channels, int rate, char *err, size_t errlen)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.channels = channels;
    si.samplerate = f->rate ? f->rate : rate;
    si.format = f->sf_format;
    if (sf_format_check(&si))
        return 0;
    /* Which part is missing: the format in this libsndfile, or these parameters? */
    si.channels = 2;
    si.samplerate = f->rate ? f->rate : 44100;
    if (!sf_format_check(&si))
        snprintf(err, errlen, "format '%s' (%s): this libsndfile (%s) cannot write it", f->name, f->what,
                 sf_version_string());
    else
        snprintf(err, errlen, "format '%s' (%s): cannot hold %d channels at %d Hz", f->name, f->what, channels,
                 si.samplerate);
    return -1;
}

static int write_sf(const char *path, const float *planar, int channels, int64_t frames, int rate, int format,
                    char *err, size_t errlen)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.channels = channels;
    si.samplerate = rate;
    si.format = format;
    if (!sf_format_check(&si)) {
        snprintf(err, errlen, "%s: unsupported audio format (channels %d, rate %d)", path, channels, rate);
        return -1;
    }
    tf_atomic at;
    FILE *f = tf_atomic_open(&at, path);
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    /* libsndfile writes through its own descriptor: hand it a dup of ours. */
    int fd = dup(fileno(f));
    SNDFILE *sf = fd >= 0 ? sf_open_fd(fd, SFM_WRITE, &si, 1) : NULL;
    if (!sf) {
        snprintf(err, errlen, "%s: cannot write audio: %s", path, sf_strerror(NULL));
        if (fd >= 0)
            close(fd);
        tf_atomic_abort(&at);
        return -1;
    }
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    /* 16- and 24-bit PCM: k / 2^(bits-1) <-> k, the scale libsndfile, ffmpeg
     * and numpy read with (libsndfile's own float writer scales by 2^(bits-1) - 1),
     * rounded to nearest and clipped at full scale. */
    int sub = format & SF_FORMAT_SUBMASK;
    int pcm = sub == SF_FORMAT_PCM_16 ? 16 : sub == SF_FORMAT_PCM_24 ? 24 : 0;
    double scale = pcm ? (double)(1L << (pcm - 1)) : 1, top = scale - 1;
    enum { CHUNK = 16384 };
    float *inter = malloc((size_t)CHUNK * (size_t)channels * (pcm == 24 ? sizeof(int) : sizeof(float)));
    int rc = inter ? 0 : -1;
    for (int64_t done = 0; rc == 0 && done < frames;) {
        int64_t n = frames - done < CHUNK ? frames - done : CHUNK;
        short *s16 = (short *)inter;
        int *s32 = (int *)inter;
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < channels; c++) {
                float v = planar[(size_t)c * (size_t)frames + (size_t)(done + i)];
                size_t k = (size_t)i * (size_t)channels + (size_t)c;
                if (!pcm) {
                    inter[k] = v;
                    continue;
                }
                double q = nearbyint((double)v * scale);
                q = q > top ? top : q < -scale ? -scale : q != q ? 0 : q;
                if (pcm == 16)
                    s16[k] = (short)q;
                else
                    s32[k] = (int)q * 256; /* libsndfile keeps the top 24 bits */
            }
        sf_count_t w = pcm == 16   ? sf_writef_short(sf, s16, n)
                       : pcm == 24 ? sf_writef_int(sf, s32, n)
                                   : sf_writef_float(sf, inter, n);
        if (w != n)
            rc = -1;
        done += n;
    }
    free(inter);
    if (rc != 0)
        snprintf(err, errlen, "%s: write failed: %s", path, sf_strerror(sf));
    sf_write_sync(sf);
    if (sf_close(sf) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: close failed", path);
        rc = -1;
    }
    if (rc != 0) {
        tf_atomic_abort(&at);
        return -1;
    }
    if (tf_atomic_commit(&at) != 0) {
        snprintf(err, errlen, "%s: cannot finish writing: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int audio_write(const char *path, const float *planar, int channels, int64_t frames, int rate, int subtype, char *err,
                size_t errlen)
{
    int flac = ends_with(path, ".flac");
    int sub = subtype == AUDIO_FLOAT ? SF_FORMAT_FLOAT : subtype == AUDIO_PCM24 ? SF_FORMAT_PCM_24 : SF_FORMAT_PCM_16;
    if (flac && sub == SF_FORMAT_FLOAT)
        sub = SF_FORMAT_PCM_24;
    return write_sf(path, planar, channels, frames, rate, (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | sub, err, errlen);
}

int audio_write_format(const char *path, const float *planar, int channels, int64_t frames, int rate,
                       const audio_format *f, char *err, size_t errlen)
{
    char why[512];
    if (audio_format_check(f, channels, rate, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (!f->rate || f->rate == rate)
        return write_sf(path, planar, channels, frames, rate, f->sf_format, err, errlen);
    float *rs;
    if (audio_resample(planar, channels, frames, rate, f->rate, &rs, err, errlen) != 0)
        return -1;
    int rc =
        write_sf(path, rs, channels, audio_resampled_frames(frames, rate, f->rate), f->rate, f->sf_format, err, errlen);
    free(rs);
    return rc;
}

double audio_prevent_clip(float *x, size_t n, int mode, size_t *changed)
{
    double peak = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)x[i]) > peak)
            peak = fabs((double)x[i]);
    *changed = 0;
    if (mode == AUDIO_CLIP_RESCALE) {
        float d = 1.01f * (float)peak; /* as torch: wav / max(1.01 * wav.abs().max(), 1), in float32 */
        if (d > 1.0f) {
            for (size_t i = 0; i < n; i++) {
                *changed += x[i] != 0;
                x[i] /= d;
            }
        }
    } else if (mode == AUDIO_CLIP_CLAMP) {
        for (size_t i = 0; i < n; i++)
            if (x[i] > 0.99f || x[i] < -0.99f) {
                x[i] = x[i] > 0 ? 0.99f : -0.99f;
                (*changed)++;
            }
    }
    return peak;
}

/* ---- 44.1 kHz stereo sources ---- */

static int g_fast_seek;
void audio_set_fast_seek(int on) { g_fast_seek = on; }

/* Files read whole (then cached): other rates, and formats whose seeking
 * we do not trust to be sample-exact (MPEG, Opus, and what FFmpeg reads:
 * AAC's noise substitution depends on every frame before). WAV, AIFF, FLAC
 * and Ogg Vorbis seek exactly (tests/unit/test_audio.c checks it). */
static int whole_decode(const audio_info *info)
{
    return info->rate != AUDIO_RATE || (info->format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG ||
           (info->format & SF_FORMAT_SUBMASK) == SF_FORMAT_OPUS || (info->format == 0 && !g_fast_seek);
}

int audio_src_open(audio_src *s, const char *path, char *err, size_t errlen)
{
    return audio_src_open_stream(s, path, 0, err, errlen);
}

int audio_src_open_stream(audio_src *s, const char *path, int stream, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (audio_probe_stream(path, stream, &s->info, err, errlen) != 0)
        return -1;
    s->stream = stream;
    if (s->info.channels > 2) {
        snprintf(err, errlen,
                 "%s: %d channels; only mono and stereo are supported (downmix it first, e.g. "
                 "'sox IN -c 2 OUT.wav')",
                 path, s->info.channels);
        return -1;
    }
    if (s->info.frames == 0) {
        snprintf(err, errlen, "%s: no audio (0 frames)", path);
        return -1;
    }
    if (s->info.rate != AUDIO_RATE && !(s->info.rate >= 1000 && s->info.rate <= 768000)) {
        snprintf(err, errlen, "%s: sample rate %d Hz is not supported", path, s->info.rate);
        return -1;
    }
    s->frames =
        s->info.rate == AUDIO_RATE ? s->info.frames : audio_resampled_frames(s->info.frames, s->info.rate, AUDIO_RATE);
    s->path = strdup(path);
    if (!s->path) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    return 0;
}

void audio_src_close(audio_src *s)
{
    free(s->path);
    memset(s, 0, sizeof *s);
}

/* Whole files resampled to 44.1 kHz stereo, most recently used first. */
typedef struct cache_entry {
    char *path;
    int stream;
    int64_t frames;
    float *data; /* (2, frames) */
    struct cache_entry *next;
} cache_entry;
static cache_entry *g_cache;

void audio_cache_clear(void)
{
#pragma omp critical(audio_cache)
    while (g_cache) {
        cache_entry *e = g_cache;
        g_cache = e->next;
        free(e->path);
        free(e->data);
        free(e);
    }
}

static void to_stereo(const float *in, int ch, int64_t frames, float *dst)
{
    memcpy(dst, in, (size_t)frames * sizeof(float));
    memcpy(dst + frames, ch == 2 ? in + frames : in, (size_t)frames * sizeof(float));
}

static const cache_entry *cache_get(const audio_src *s, char *err, size_t errlen)
{
    for (cache_entry **p = &g_cache; *p; p = &(*p)->next)
        if (strcmp((*p)->path, s->path) == 0 && (*p)->stream == s->stream) {
            cache_entry *e = *p; /* move to front */
            *p = e->next;
            e->next = g_cache;
            g_cache = e;
            return e;
        }
    audio_buf b;
    if (audio_read_stream(s->path, s->stream, 0, -1, &b, err, errlen) != 0)
        return NULL;
    if (b.channels != s->info.channels || b.rate != s->info.rate) {
        snprintf(err, errlen, "%s: file changed while in use", s->path);
        audio_free(&b);
        return NULL;
    }
    float *rs;
    int rc = audio_resample(b.data, b.channels, b.frames, b.rate, AUDIO_RATE, &rs, err, errlen);
    int64_t n = audio_resampled_frames(b.frames, b.rate, AUDIO_RATE);
    int ch = b.channels;
    audio_free(&b);
    if (rc != 0)
        return NULL;
    cache_entry *e = calloc(1, sizeof *e);
    float *st = malloc((size_t)n * 2 * sizeof(float) + 1);
    char *pc = strdup(s->path);
    if (!e || !st || !pc) {
        free(e);
        free(st);
        free(pc);
        free(rs);
        snprintf(err, errlen, "%s: out of memory", s->path);
        return NULL;
    }
    to_stereo(rs, ch, n, st);
    free(rs);
    e->path = pc;
    e->stream = s->stream;
    e->frames = n;
    e->data = st;
    e->next = g_cache;
    g_cache = e;
    /* Evict from the back while over budget (the new entry always stays). */
    size_t total = 0;
    for (cache_entry **p = &g_cache; *p;) {
        total += (size_t)(*p)->frames * 2 * sizeof(float);
        if (*p != e && total > AUDIO_CACHE_BYTES) {
            cache_entry *d = *p;
            *p = d->next;
            free(d->path);
            free(d->data);
            free(d);
        } else {
            p = &(*p)->next;
        }
    }
    return e;
}

/* The whole-decode sources: frames [a, a + n) from the cache into channel
 * c of dst at dst + c * count + at. Returns 0 or -1. */
static int read_cached(const audio_src *s, int64_t a, int64_t n, float *dst, int64_t count, int64_t at, char *err,
                       size_t errlen)
{
    int rc = 0;
    /* One thread at a time in the cache (an entry may be evicted by the next caller). */
#pragma omp critical(audio_cache)
    {
        const cache_entry *e = cache_get(s, err, errlen);
        if (!e)
            rc = -1;
        else if (e->frames < a + n) {
            snprintf(err, errlen, "%s: file changed while in use", s->path);
            rc = -1;
        } else
            for (int c = 0; c < 2; c++)
                memcpy(dst + (size_t)c * (size_t)count + (size_t)at,
                       e->data + (size_t)c * (size_t)e->frames + (size_t)a, (size_t)n * sizeof(float));
    }
    return rc;
}

/* FFmpeg with fast seeking: decodes only [a, a + n); dst as read_cached. */
static int read_ffmpeg(const audio_src *s, int64_t a, int64_t n, float *dst, int64_t count, int64_t at, char *err,
                       size_t errlen)
{
    int ch = s->info.channels;
    float *tmp = malloc((size_t)n * (size_t)ch * sizeof(float));
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", s->path);
        return -1;
    }
    int rc = ffdec_read(s->path, s->stream, ch, a, n, tmp, err, errlen);
    if (rc == 0)
        for (int c = 0; c < 2; c++)
            memcpy(dst + (size_t)c * (size_t)count + (size_t)at, tmp + (size_t)(ch == 2 ? c : 0) * (size_t)n,
                   (size_t)n * sizeof(float));
    free(tmp);
    return rc;
}

/* 44.1 kHz through libsndfile: seeks and decodes only [a, a + n),
 * deinterleaving straight into dst (as read_cached). Returns 0 or -1. */
static int read_sndfile(const audio_src *s, int64_t a, int64_t n, float *dst, int64_t count, int64_t at, char *err,
                        size_t errlen)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(s->path, SFM_READ, &si);
    if (!sf) {
        snprintf(err, errlen, "%s: cannot read audio: %s", s->path, sf_strerror(NULL));
        return -1;
    }
    if (si.channels != s->info.channels || si.frames < a + n) {
        snprintf(err, errlen, "%s: file changed while in use", s->path);
        sf_close(sf);
        return -1;
    }
    if (a > 0 && sf_seek(sf, a, SEEK_SET) != a) {
        snprintf(err, errlen, "%s: cannot seek to frame %lld: %s", s->path, (long long)a, sf_strerror(sf));
        sf_close(sf);
        return -1;
    }
    enum { CHUNK = 8192 };
    float inter[CHUNK * 2];
    float *l = dst + at, *r = dst + (size_t)count + (size_t)at;
    int ch = si.channels;
    for (int64_t done = 0; done < n;) {
        sf_count_t want = n - done < CHUNK ? n - done : CHUNK;
        sf_count_t got = sf_readf_float(sf, inter, want);
        if (got <= 0) {
            snprintf(err, errlen, "%s: read failed at frame %lld of %lld (truncated or corrupt file)", s->path,
                     (long long)(a + done), (long long)si.frames);
            sf_close(sf);
            return -1;
        }
        if (ch == 2)
            for (sf_count_t i = 0; i < got; i++) {
                l[done + i] = inter[2 * i];
                r[done + i] = inter[2 * i + 1];
            }
        else
            for (sf_count_t i = 0; i < got; i++)
                l[done + i] = r[done + i] = inter[i];
        done += got;
    }
    sf_close(sf);
    return 0;
}

int audio_src_read(const audio_src *s, int64_t offset, int64_t count, float *dst, char *err, size_t errlen)
{
    if (count <= 0)
        return 0;
    int64_t a = offset < 0 ? 0 : offset, b = offset + count > s->frames ? s->frames : offset + count;
    if (a >= b) { /* entirely outside: zeros */
        memset(dst, 0, (size_t)count * 2 * sizeof(float));
        return 0;
    }
    int64_t n = b - a, at = a - offset;
    for (int c = 0; c < 2; c++) { /* zero only what lies outside the file */
        float *d = dst + (size_t)c * (size_t)count;
        memset(d, 0, (size_t)at * sizeof(float));
        memset(d + at + n, 0, (size_t)(count - at - n) * sizeof(float));
    }
    if (whole_decode(&s->info))
        return read_cached(s, a, n, dst, count, at, err, errlen);
    if (s->info.format == 0)
        return read_ffmpeg(s, a, n, dst, count, at, err, errlen);
    return read_sndfile(s, a, n, dst, count, at, err, errlen);
}
