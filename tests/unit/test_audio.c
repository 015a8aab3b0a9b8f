/* Audio I/O: output formats, Demucs's clip handling, the PCM scale,
 * round trips through WAV and FLAC, sample-exact seeking in WAV,
 * FLAC and Ogg Vorbis (a read at an offset equals the same frames of a
 * whole-file read), 44.1 kHz stereo sources (mono duplicated, zeros outside
 * the file), resampling against the analytic signal, and clear errors that
 * name the file. */
#include "audio/audio.h"
#include "check.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[1024];

static const char *tmp(const char *name)
{
    static char p[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* A sine via libsndfile directly (any format), interleaved. */
static void write_sine(const char *path, int format, int rate, int ch, int64_t n, double freq, double amp)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = rate;
    si.channels = ch;
    si.format = format;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    CHECK(sf != NULL, "%s: %s", path, sf_strerror(NULL));
    if (!sf)
        return;
    float *b = malloc((size_t)n * (size_t)ch * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++)
            b[i * ch + c] = (float)(amp * sin(2 * M_PI * freq * (double)i / rate + c));
    sf_writef_float(sf, b, n);
    sf_close(sf);
    free(b);
}

static void test_roundtrip(void)
{
    int64_t n = 5000;
    float *x = malloc((size_t)n * 2 * sizeof(float));
    for (int64_t i = 0; i < 2 * n; i++)
        x[i] = (float)(lrint(32767.0 * 0.9 * sin(0.01 * (double)i * (1 + (double)i / n))) / 32768.0);
    const char *names[3] = {"rt16.wav", "rt.flac", "rtf.wav"};
    const int sub[3] = {AUDIO_PCM16, AUDIO_PCM16, AUDIO_FLOAT};
    for (int k = 0; k < 3; k++) {
        char err[512] = "";
        const char *p = tmp(names[k]);
        CHECK(audio_write(p, x, 2, n, 44100, sub[k], err, sizeof err) == 0, "write %s: %s", p, err);
        audio_info info;
        CHECK(audio_probe(p, &info, err, sizeof err) == 0 && info.channels == 2 && info.frames == n &&
                  info.rate == 44100,
              "probe %s", p);
        audio_buf b;
        CHECK(audio_read(p, 0, -1, &b, err, sizeof err) == 0, "read %s: %s", p, err);
        int same = b.frames == n && b.channels == 2 && !memcmp(b.data, x, (size_t)n * 2 * sizeof(float));
        CHECK(same, "%s: samples come back exactly (16-bit values)", names[k]);
        audio_free(&b);
    }
    free(x);
}

static void test_seek(void)
{
    struct {
        const char *name;
        int format;
    } f[3] = {{"seek.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
              {"seek.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
              {"seek.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS}};
    for (int k = 0; k < 3; k++) {
        const char *p = tmp(f[k].name);
        int64_t n = 3 * 44100 + 123;
        write_sine(p, f[k].format, 44100, 2, n, 997.0, 0.5);
        char err[512] = "";
        audio_buf all, part;
        CHECK(audio_read(p, 0, -1, &all, err, sizeof err) == 0, "%s: %s", p, err);
        const int64_t offs[4] = {1, 4095, 70001, 2 * 44100 + 17};
        for (int j = 0; j < 4; j++) {
            int64_t off = offs[j], cnt = 20000 < all.frames - off ? 20000 : all.frames - off;
            CHECK(audio_read(p, off, cnt, &part, err, sizeof err) == 0, "%s @%lld: %s", p, (long long)off, err);
            int same = part.frames == cnt;
            for (int c = 0; c < 2 && same; c++)
                same = !memcmp(part.data + c * cnt, all.data + c * all.frames + off, (size_t)cnt * sizeof(float));
            CHECK(same, "%s: read at frame %lld equals the whole-file read there", f[k].name, (long long)off);
            audio_free(&part);
        }
        CHECK(audio_read(p, all.frames + 1, 10, &part, err, sizeof err) < 0 && strstr(err, f[k].name),
              "offset past the end is an error naming the file: %s", err);
        audio_free(&all);
    }
}

static void test_src(void)
{
    char err[512] = "";
    /* Mono 44.1 kHz: both channels the file's one. */
    const char *p = tmp("mono.wav");
    write_sine(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 1, 1000, 440, 0.5);
    audio_src s;
    CHECK(audio_src_open(&s, p, err, sizeof err) == 0 && s.frames == 1000, "open mono: %s", err);
    float *d = malloc(2 * 1100 * sizeof(float));
    CHECK(audio_src_read(&s, -50, 1100, d, err, sizeof err) == 0, "read: %s", err);
    int ok = 1;
    for (int i = 0; i < 1100; i++) {
        float want = i < 50 || i >= 1050 ? 0.0f : (float)(0.5 * sin(2 * M_PI * 440 * (double)(i - 50) / 44100));
        ok &= d[i] == d[1100 + i] && fabsf(d[i] - want) < 1e-6f;
    }
    CHECK(ok, "mono duplicated to stereo, zeros before the start and past the end");
    audio_src_close(&s);
    free(d);

    /* Other rates: resampled to 44.1 kHz, compared with the sine itself. */
    const int rates[3] = {48000, 22050, 32000};
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "r%d.wav", rates[k]);
        p = tmp(name);
        double freq = 1000.0 + 300.0 * k;
        write_sine(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rates[k], 2, rates[k], freq, 0.5);
        CHECK(audio_src_open(&s, p, err, sizeof err) == 0, "open %s: %s", name, err);
        CHECK(s.frames == 44100, "%s: one second is 44100 frames at 44.1 kHz (%lld)", name, (long long)s.frames);
        int64_t off = 10000, cnt = 20000;
        d = malloc((size_t)cnt * 2 * sizeof(float));
        CHECK(audio_src_read(&s, off, cnt, d, err, sizeof err) == 0, "read %s: %s", name, err);
        double md = 0;
        for (int c = 0; c < 2; c++)
            for (int64_t i = 0; i < cnt; i++) {
                double want = 0.5 * sin(2 * M_PI * freq * (double)(off + i) / 44100 + c);
                md = fmax(md, fabs(d[c * cnt + i] - want));
            }
        CHECK(md < 1e-5, "%s: resampled sine within 1e-5 of the exact one (max error %g)", name, md);
        /* A second read comes from the cache and is identical. */
        float *d2 = malloc((size_t)cnt * 2 * sizeof(float));
        CHECK(audio_src_read(&s, off, cnt, d2, err, sizeof err) == 0 && !memcmp(d, d2, (size_t)cnt * 2 * sizeof(float)),
              "%s: repeated read identical", name);
        free(d2);
        free(d);
        audio_src_close(&s);
    }
    audio_cache_clear();

    /* audio_resample directly: lengths. */
    float x[480];
    for (int i = 0; i < 480; i++)
        x[i] = (float)sin(0.05 * i);
    float *y;
    CHECK(audio_resample(x, 1, 480, 48000, 44100, &y, err, sizeof err) == 0, "%s", err);
    CHECK(audio_resampled_frames(480, 48000, 44100) == 441, "480 frames at 48k are 441 at 44.1k");
    free(y);
    CHECK(audio_resample(x, 1, 480, 0, 44100, &y, err, sizeof err) < 0, "rate 0 rejected");
}

static void test_errors(void)
{
    char err[512] = "";
    audio_src s;
    const char *p = tmp("six.wav");
    write_sine(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 6, 100, 440, 0.1);
    CHECK(audio_src_open(&s, p, err, sizeof err) < 0 && strstr(err, "six.wav") && strstr(err, "6 channels"),
          "6 channels: %s", err);
    p = tmp("garbage.wav");
    FILE *f = fopen(p, "w");
    fputs("this is not a sound file at all, just text pretending to be one\n", f);
    fclose(f);
    CHECK(audio_src_open(&s, p, err, sizeof err) < 0 && strstr(err, "garbage.wav") && strstr(err, "cannot read"),
          "garbage: %s", err);
    p = tmp("missing.wav");
    CHECK(audio_src_open(&s, p, err, sizeof err) < 0 && strstr(err, "missing.wav"), "missing: %s", err);
    p = tmp("empty.wav");
    write_sine(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 0, 440, 0.1);
    CHECK(audio_src_open(&s, p, err, sizeof err) < 0 && strstr(err, "empty.wav") && strstr(err, "no audio"),
          "empty: %s", err);
}

/* Output formats by name, alias and extension; what this libsndfile can write. */
static void test_formats(void)
{
    static const char *const names[][2] = {
        {"wav", "wav"},     {"WAV", "wav"},   {".wav", "wav"},  {"wav16", "wav"},  {"pcm24", "wav24"},
        {"float", "float"}, {"f32", "float"}, {"flac", "flac"}, {".FLAC", "flac"}, {"vorbis", "ogg"},
        {"ogg", "ogg"},     {"opus", "opus"}, {".mp3", "mp3"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const audio_format *f = audio_format_find(names[i][0]);
        CHECK(f && !strcmp(f->name, names[i][1]), "%s -> %s", names[i][0], f ? f->name : "NULL");
    }
    CHECK(!audio_format_find("aiff") && !audio_format_find("") && !audio_format_find("."), "unknown names");
    CHECK(!strcmp(audio_format_find("float")->ext, "wav") && !strcmp(audio_format_find("opus")->ext, "opus") &&
              audio_format_find("opus")->rate == 48000,
          "extensions and Opus's rate");
    char err[512] = "";
    CHECK(audio_format_check(audio_format_find("flac"), 2, 44100, err, sizeof err) == 0, "flac: %s", err);
    CHECK(audio_format_check(audio_format_find("mp3"), 6, 44100, err, sizeof err) < 0 && strstr(err, "6 channels"),
          "mp3, 6 channels: %s", err);
}

/* Demucs's prevent_clip on hand-computed cases. */
static void test_clip(void)
{
    size_t changed;
    float a[4] = {2.0f, -1.0f, 0.0f, 0.5f};
    double peak = audio_prevent_clip(a, 4, AUDIO_CLIP_RESCALE, &changed);
    CHECK(peak == 2.0 && changed == 3 && a[0] == 2.0f / 2.02f && a[1] == -1.0f / 2.02f && a[2] == 0 &&
              a[3] == 0.5f / 2.02f,
          "rescale: peak %g changed %zu a %g %g", peak, changed, a[0], a[1]);
    float b[3] = {0.99f, -0.5f, 0.2f}; /* 1.01 * 0.99 = 0.9999 <= 1: unchanged */
    audio_prevent_clip(b, 3, AUDIO_CLIP_RESCALE, &changed);
    CHECK(changed == 0 && b[0] == 0.99f && b[1] == -0.5f, "rescale of a quiet signal: %zu", changed);
    float c[3] = {0.995f, -0.999f, 0.5f}; /* 1.01 * 0.999 > 1: rescaled, as in Demucs */
    audio_prevent_clip(c, 3, AUDIO_CLIP_RESCALE, &changed);
    CHECK(changed == 3 && c[1] == -0.999f / (1.01f * 0.999f), "rescale just below full scale: %g", c[1]);
    float d[4] = {1.5f, -3.0f, 0.99f, -0.2f};
    peak = audio_prevent_clip(d, 4, AUDIO_CLIP_CLAMP, &changed);
    CHECK(peak == 3.0 && changed == 2 && d[0] == 0.99f && d[1] == -0.99f && d[2] == 0.99f && d[3] == -0.2f,
          "clamp: %zu %g %g", changed, d[0], d[1]);
    float e[2] = {4.0f, -4.0f};
    audio_prevent_clip(e, 2, AUDIO_CLIP_NONE, &changed);
    CHECK(changed == 0 && e[0] == 4.0f, "none");
}

/* 16- and 24-bit PCM hold k / 2^(bits-1) exactly (read back through
 * libsndfile's sf_readf_int, independently of our reader), full scale
 * clipped. */
static void test_pcm_scale(void)
{
    const int bits[2] = {16, 24};
    for (int b = 0; b < 2; b++) {
        double full = (double)(1L << (bits[b] - 1));
        float x[8] = {-1.0f, (float)((full - 1) / full), (float)(1 / full), (float)(-3 / full), 0.0f, 1.0f,
                      -2.0f, (float)(12345.4 / full)};
        const long want[8] = {-(long)full, (long)full - 1, 1, -3, 0, (long)full - 1, -(long)full, 12345};
        char err[512] = "";
        const char *p = tmp(b ? "scale24.wav" : "scale16.wav");
        CHECK(audio_write(p, x, 1, 8, 44100, b ? AUDIO_PCM24 : AUDIO_PCM16, err, sizeof err) == 0, "%s", err);
        SF_INFO si;
        memset(&si, 0, sizeof si);
        SNDFILE *sf = sf_open(p, SFM_READ, &si);
        CHECK(sf && si.frames == 8, "%s", p);
        if (!sf)
            continue;
        int got[8] = {0};
        sf_readf_int(sf, got, 8);
        sf_close(sf);
        for (int i = 0; i < 8; i++)
            CHECK(got[i] >> (32 - bits[b]) == want[i], "%d-bit sample %d: %d, want %ld", bits[b], i,
                  got[i] >> (32 - bits[b]), want[i]);
    }
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/test_audio.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    test_roundtrip();
    test_seek();
    test_src();
    test_errors();
    test_formats();
    test_clip();
    test_pcm_scale();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test_audio");
}
