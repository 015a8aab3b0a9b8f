/* Augmentation transforms: gain, swap, mix against naive double loops;
 * time stretch and pitch shift (librubberband) by what they must do to a
 * signal: stretch moves a tone change to where the tempo puts it and keeps
 * the frequency, pitch moves a sine's frequency by the semitones asked,
 * and every channel gets the same time map. Frequencies are measured with
 * a direct (windowed) DFT in double precision. */
#include "audio/audio.h"
#include "audio/augment.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SR 44100.0

/* |DFT| at frequency f of x[a .. a+n) with a Hann window, in double. */
static double dft_mag(const float *x, int64_t a, int64_t n, double f)
{
    double re = 0, im = 0;
    for (int64_t i = 0; i < n; i++) {
        double w = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n);
        double ph = 2 * M_PI * f * (double)i / SR;
        re += w * x[a + i] * cos(ph);
        im -= w * x[a + i] * sin(ph);
    }
    return sqrt(re * re + im * im);
}

/* The frequency in [lo, hi] with the largest |DFT|: a 2 Hz grid, then a
 * 0.05 Hz grid around the best point, then a parabola through the peak. */
static double peak_freq(const float *x, int64_t a, int64_t n, double lo, double hi)
{
    double best = lo, bm = -1;
    for (double f = lo; f <= hi; f += 2.0) {
        double m = dft_mag(x, a, n, f);
        if (m > bm)
            bm = m, best = f;
    }
    double c = best, step = 0.05;
    for (double f = c - 2.0; f <= c + 2.0; f += step) {
        double m = dft_mag(x, a, n, f);
        if (m > bm)
            bm = m, best = f;
    }
    double m0 = dft_mag(x, a, n, best - step), m2 = dft_mag(x, a, n, best + step);
    double d = m0 - 2 * bm + m2;
    return d < 0 ? best + 0.5 * step * (m0 - m2) / d : best;
}

static void test_simple(void)
{
    float x[6] = {1, -2, 3, 4, 5, -6}, y[6];
    memcpy(y, x, sizeof x);
    augment_gain(y, 6, 0.75f);
    for (int i = 0; i < 6; i++)
        CHECK(y[i] == (float)(0.75 * x[i]), "gain %d", i);
    memcpy(y, x, sizeof x);
    augment_swap(y, 3);
    for (int i = 0; i < 3; i++)
        CHECK(y[i] == x[3 + i] && y[3 + i] == x[i], "swap %d", i);
    augment_swap(y, 3);
    CHECK(!memcmp(x, y, sizeof x), "swap twice is the identity");
    float a[4] = {1, 2, 3, 4}, b[4] = {-1, 0.5f, 8, 0}, m[4];
    augment_mix(m, a, b, 4, 0.3f);
    for (int i = 0; i < 4; i++)
        CHECK_CLOSE(m[i], 0.3 * a[i] + 0.7 * b[i], 1e-6, 1e-6, "mix");
    CHECK(augment_stretch_source_frames(1000, 1.1) == 1100, "source frames 1.1");
    CHECK(augment_stretch_source_frames(1000, 0.9) == 900, "source frames 0.9");
    CHECK(augment_stretch_source_frames(3, 0.5) == 2, "source frames round up");
    augment_cfg c;
    augment_cfg_default(&c);
    CHECK(!augment_any(&c) && c.gain_lo == 0.7 && c.gain_hi == 1.3 && c.stretch_lo == 0.9 && c.pitch_max == 2,
          "defaults: off, 0.7-1.3, 0.9-1.1, +-2");
}

/* First window (10 ms hop, 40 ms long) whose 880 Hz energy beats 440 Hz. */
static double switch_time(const float *x, int64_t n)
{
    int64_t w = 1764, hop = 441;
    for (int64_t a = 0; a + w <= n; a += hop)
        if (dft_mag(x, a, w, 880) > dft_mag(x, a, w, 440))
            return (double)(a + w / 2) / SR;
    return -1;
}

static void test_stretch(void)
{
    /* 440 Hz for 0.5 s, then 880 Hz for 0.5 s; four channels: the signal,
     * and the same at half amplitude, in two stereo stems. */
    int64_t n = 44100;
    float *in[4];
    for (int c = 0; c < 4; c++) {
        in[c] = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) {
            double t = (double)i / SR, f = i < n / 2 ? 440 : 880;
            in[c][i] = (float)((c >= 2 ? 0.25 : 0.5) * sin(2 * M_PI * f * t));
        }
    }
    const double tempos[2] = {0.8, 1.25};
    for (int k = 0; k < 2; k++) {
        double tempo = tempos[k];
        int64_t out_n = (int64_t)floor((double)n / tempo);
        float *out[4];
        for (int c = 0; c < 4; c++) {
            out[c] = malloc((size_t)out_n * sizeof(float));
            for (int64_t i = 0; i < out_n; i++)
                out[c][i] = 99.0f; /* must be overwritten */
        }
        char err[256] = "";
        int rc = augment_stretch_pitch((const float *const *)in, 4, n, tempo, 0.0, out, out_n, err, sizeof err);
        CHECK(rc == 0, "stretch: %s", err);
        int overwritten = 1;
        for (int64_t i = 0; i < out_n; i++)
            overwritten &= out[0][i] != 99.0f;
        CHECK(overwritten, "tempo %g: every output frame written", tempo);
        double t = switch_time(out[0], out_n), want = 0.5 / tempo;
        CHECK(fabs(t - want) < 0.03, "tempo %g: tone change at %.4f s, want %.4f s", tempo, t, want);
        double f1 = peak_freq(out[0], (int64_t)(0.05 * SR), 8192, 400, 480);
        CHECK(fabs(f1 - 440) < 3, "tempo %g: frequency kept (%.2f Hz, want 440)", tempo, f1);
        /* The same time map for every channel: stem 2 is stem 1 at half scale. */
        double md = 0, mx = 0;
        for (int64_t i = 0; i < out_n; i++) {
            md = fmax(md, fabs(out[2][i] - 0.5 * out[0][i]));
            mx = fmax(mx, fabs(out[0][i]));
        }
        /* (a one-frame shift would give about 6e-2 * mx) */
        CHECK(md < 1e-2 * mx, "tempo %g: channels share one time map (max diff %g of %g)", tempo, md, mx);
        /* Energy is kept (no silence, no blow-up) in the middle. */
        double e = 0;
        for (int64_t i = out_n / 4; i < out_n / 2; i++)
            e += (double)out[0][i] * out[0][i];
        e /= (double)(out_n / 4);
        CHECK(fabs(sqrt(e) - 0.5 / sqrt(2)) < 0.1, "tempo %g: rms %.3f near %.3f", tempo, sqrt(e), 0.5 / sqrt(2));
        for (int c = 0; c < 4; c++)
            free(out[c]);
    }
    for (int c = 0; c < 4; c++)
        free(in[c]);
}

static void test_pitch(void)
{
    int64_t n = 44100;
    float *in[2], *out[2];
    for (int c = 0; c < 2; c++) {
        in[c] = malloc((size_t)n * sizeof(float));
        out[c] = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            in[c][i] = (float)(0.5 * sin(2 * M_PI * 440 * (double)i / SR + c));
    }
    const double semis[3] = {2.0, -2.0, 0.5};
    for (int k = 0; k < 3; k++) {
        char err[256] = "";
        int rc = augment_stretch_pitch((const float *const *)in, 2, n, 1.0, semis[k], out, n, err, sizeof err);
        CHECK(rc == 0, "pitch: %s", err);
        double want = 440 * pow(2, semis[k] / 12);
        for (int c = 0; c < 2; c++) {
            double f = peak_freq(out[c], 11025, 16384, 350, 550);
            CHECK(fabs(f - want) < 0.004 * want, "pitch %+g semitones, channel %d: %.2f Hz, want %.2f", semis[k], c, f,
                  want);
        }
        /* Length unchanged: the tone lasts to the end of the segment. */
        double e = 0;
        for (int64_t i = n - 8820; i < n - 2205; i++)
            e += (double)out[0][i] * out[0][i];
        CHECK(sqrt(e / 6615) > 0.2, "pitch %+g: audio up to the end (rms %.3f)", semis[k], sqrt(e / 6615));
    }
    /* Stretch and pitch together. */
    int64_t out_n = 40000;
    float *o2[2];
    for (int c = 0; c < 2; c++)
        o2[c] = malloc((size_t)out_n * sizeof(float));
    char err[256] = "";
    CHECK(augment_stretch_pitch((const float *const *)in, 2, n, 1.1, -1.0, o2, out_n, err, sizeof err) == 0, "%s", err);
    double f = peak_freq(o2[0], 11025, 16384, 350, 550), want = 440 * pow(2, -1.0 / 12);
    CHECK(fabs(f - want) < 0.004 * want, "stretch 1.1 + pitch -1: %.2f Hz, want %.2f", f, want);
    /* Bad arguments are errors, not crashes. */
    CHECK(augment_stretch_pitch((const float *const *)in, 2, n, 0.0, 0, o2, out_n, err, sizeof err) < 0 &&
              strstr(err, "tempo"),
          "tempo 0 rejected: %s", err);
    for (int c = 0; c < 2; c++) {
        free(in[c]);
        free(out[c]);
        free(o2[c]);
    }
}

int main(void)
{
    test_simple();
    test_stretch();
    test_pitch();
    return check_report("test_augment");
}
