/* Test fixtures for musdb-slice.
 *   musdb_fixture tree DIR [SECONDS]   a tiny MUSDB18-HQ layout: DIR/train (two of the
 *                                      official validation tracks and two others) and
 *                                      DIR/test (two tracks); 16-bit WAV stems, mixture.wav
 *                                      = their sum; track k lasts SECONDS + 0.37 k (default 2)
 *   musdb_fixture tone PATH RATE CHANNELS SECONDS FREQ
 *                                      a sine (amplitude 0.5) in any format by extension:
 *                                      .wav (16-bit), .flac (16-bit), .ogg (Vorbis), .aiff
 * Deterministic: the same arguments give the same files. */
#include "audio/audio.h"
#include "util/atomic.h"
#include "util/cli.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

static void stem_signal(int stem, int track, float *x, int64_t n, int rate)
{
    uint32_t seed = 12345u + 977u * (uint32_t)track + 31u * (uint32_t)stem;
    for (int c = 0; c < 2; c++)
        for (int64_t i = 0; i < n; i++) {
            double t = (double)i / rate, v;
            switch (stem) {
            case 0: /* vocals: a gliding tone */
                v = 0.25 * sin(2 * M_PI * (330 + 40 * track) * t + 3 * sin(2 * M_PI * 5 * t) + c);
                break;
            case 1: /* drums: noise bursts, 4 per second */
                v = 0.3 * exp(-fmod(t, 0.25) * 30) * ((double)(lcg(&seed) >> 8) / (1 << 24) * 2 - 1);
                break;
            case 2: /* bass */ v = 0.2 * sin(2 * M_PI * (55 + 5 * track) * t + 0.5 * c); break;
            default: /* other: a chord */
                v = 0.08 * (sin(2 * M_PI * 523.25 * t) + sin(2 * M_PI * 659.25 * t + c) + sin(2 * M_PI * 784 * t));
            }
            x[(size_t)c * (size_t)n + (size_t)i] = (float)v;
        }
}

static void make_tree(const char *root, double secs)
{
    static const char *const train[] = {"Actions - One Minute Smile", "Alpha - First Song", "Beta - Second Song",
                                        "Leaf - Summerghost"};
    static const char *const test[] = {"Delta - Fourth Song", "Gamma - Third Song"};
    static const char *const stems[] = {"vocals", "drums", "bass", "other"};
    const int rate = 44100;
    char err[1024], path[4096];
    for (int k = 0; k < 6; k++) {
        const char *split = k < 4 ? "train" : "test";
        const char *name = k < 4 ? train[k] : test[k - 4];
        int64_t n = (int64_t)llround((secs + 0.37 * k) * rate);
        float *x = malloc((size_t)n * 2 * sizeof(float)), *mix = calloc((size_t)n * 2, sizeof(float));
        if (!x || !mix)
            tf_die("out of memory");
        snprintf(path, sizeof path, "%s/%s/%s", root, split, name);
        if (tf_mkdirs(path) != 0)
            tf_die("%s: cannot create", path);
        for (int s = 0; s < 4; s++) {
            stem_signal(s, k, x, n, rate);
            /* Quantise as the 16-bit file will, so mixture = sum of the files. */
            for (int64_t i = 0; i < 2 * n; i++) {
                x[i] = (float)(lrintf(x[i] * 32768.0f) / 32768.0);
                mix[i] += x[i];
            }
            snprintf(path, sizeof path, "%s/%s/%s/%s.wav", root, split, name, stems[s]);
            if (audio_write(path, x, 2, n, rate, AUDIO_PCM16, err, sizeof err) != 0)
                tf_die("%s", err);
        }
        snprintf(path, sizeof path, "%s/%s/%s/mixture.wav", root, split, name);
        if (audio_write(path, mix, 2, n, rate, AUDIO_PCM16, err, sizeof err) != 0)
            tf_die("%s", err);
        free(x);
        free(mix);
    }
}

static void make_tone(const char *path, int rate, int ch, double secs, double freq)
{
    int64_t n = (int64_t)llround(secs * rate);
    const char *dot = strrchr(path, '.');
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = rate;
    si.channels = ch;
    if (dot && !strcmp(dot, ".ogg"))
        si.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    else if (dot && !strcmp(dot, ".flac"))
        si.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    else if (dot && !strcmp(dot, ".aiff"))
        si.format = SF_FORMAT_AIFF | SF_FORMAT_PCM_16;
    else
        si.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    if (!sf)
        tf_die("%s: %s", path, sf_strerror(NULL));
    float *buf = malloc((size_t)n * (size_t)ch * sizeof(float) + 1);
    if (!buf)
        tf_die("out of memory");
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++)
            buf[i * ch + c] = (float)(0.5 * sin(2 * M_PI * freq * (double)i / rate + 0.3 * c));
    if (sf_writef_float(sf, buf, n) != n)
        tf_die("%s: write failed: %s", path, sf_strerror(sf));
    sf_close(sf);
    free(buf);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "tree")) {
        make_tree(argv[2], argc > 3 ? tf_parse_double("SECONDS", argv[3], 0.01, 3600) : 2.0);
        return 0;
    }
    if (argc == 7 && !strcmp(argv[1], "tone")) {
        make_tone(argv[2], (int)tf_parse_long("RATE", argv[3], 1000, 768000),
                  (int)tf_parse_long("CHANNELS", argv[4], 1, 16), tf_parse_double("SECONDS", argv[5], 0, 3600),
                  tf_parse_double("FREQ", argv[6], 0, 1e6));
        return 0;
    }
    fprintf(stderr, "usage: %s tree DIR [SECONDS] | tone PATH RATE CHANNELS SECONDS FREQ\n", argv[0]);
    return 2;
}
