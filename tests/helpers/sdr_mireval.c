/* sdr_mireval DIR: writes the "spatial" test case for tests/sh/sdr_mireval.sh
 * (DIR/reference/<stem>.wav, DIR/estimate/<stem>.wav, float32 stereo,
 * 16 kHz, 2 s): 4 genuinely stereo references (per stem and channel an
 * independent coloured noise, plus a delayed copy of the other channel's
 * noise, so the channels are correlated but not dependent; levels differ
 * by stem) and estimates with every kind of error BSSEval separates: a
 * 2x2 multichannel FIR of the own stem (spatial distortion, ISR),
 * filtered leaks of the other stems (SIR), a cubic distortion and white
 * noise (SAR). Uniform xoshiro noise and float arithmetic only (no libm),
 * so the samples are the same on every IEEE machine;
 * tests/data/bsseval/mireval-spatial.json holds mir_eval's
 * bss_eval_images scores for them (tests/data/bsseval/make_mireval.py). */
#include <stdio.h>
#include <stdlib.h>

#include "audio/audio.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/rng.h"

#define NS 4
#define RATE 16000
#define N 32000
#define PAD 64

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc != 2)
        tf_usage_error("usage: sdr_mireval DIR");
    static const char *names[NS] = {"vocals", "drums", "bass", "other"};
    static const float level[NS] = {1.0f, 0.7f, 1.3f, 0.5f};
    static const float fir[6] = {0.6f, -0.35f, 0.2f, 0.15f, -0.1f, 0.05f};
    tf_rng r;
    tf_rng_seed(&r, 16000424);
    float *ref = tf_calloc((size_t)NS * 2 * N, sizeof(float), "ref");
    float *est = tf_calloc((size_t)NS * 2 * N, sizeof(float), "est");
    float *w = tf_malloc(sizeof(float) * 2 * (N + PAD), "noise");
    /* references: x_c = level * (own coloured noise + 0.5 * other channel's noise delayed by 3 + 2k) */
    for (int k = 0; k < NS; k++) {
        for (int i = 0; i < 2 * (N + PAD); i++)
            w[i] = (float)(tf_rng_uniform(&r) - 0.5);
        for (int c = 0; c < 2; c++) {
            const float *own = w + (size_t)c * (N + PAD), *oth = w + (size_t)(1 - c) * (N + PAD);
            float *x = ref + ((size_t)k * 2 + (size_t)c) * N;
            for (int i = 0; i < N; i++) {
                float s = 0;
                for (int t = 0; t < 6; t++)
                    s += fir[(t + 2 * k + c) % 6] * own[i + PAD - t];
                x[i] = level[k] * (s + 0.5f * oth[i + PAD - 3 - 2 * k]);
            }
        }
    }
    /* estimates */
    for (int k = 0; k < NS; k++) {
        const float *xl = ref + (size_t)k * 2 * N, *xr = xl + N;
        float *el = est + (size_t)k * 2 * N, *er = el + N;
        for (int i = 0; i < N; i++) {
            /* spatial: 2x2 FIR with cross-channel terms (delays 1 .. 40 samples) */
            float l = 0.8f * xl[i], rr = 0.9f * xr[i];
            if (i >= 1)
                l += 0.15f * xl[i - 1];
            if (i >= 7)
                rr -= 0.2f * xr[i - 7];
            if (i >= 5)
                l += 0.25f * xr[i - 5];
            if (i >= 40)
                rr += 0.1f * xl[i - 40];
            /* interference: other stems, gain 0.04 .. 0.12, the left one delayed by j samples */
            for (int j = 0; j < NS; j++) {
                if (j == k)
                    continue;
                const float g = 0.04f * (float)(1 + (j + k) % 3);
                const float *ol = ref + (size_t)j * 2 * N, *orr = ol + N;
                l += g * (i >= j ? ol[i - j] : 0.0f);
                rr += g * orr[i];
            }
            /* artifacts: a soft cubic and white noise */
            l += 0.05f * l * l * l;
            rr -= 0.03f * rr * rr * rr;
            el[i] = l + (float)(tf_rng_uniform(&r) - 0.5) * 0.03f * (float)(k + 1);
            er[i] = rr + (float)(tf_rng_uniform(&r) - 0.5) * 0.03f * (float)(k + 1);
        }
    }
    char path[4096], err[512];
    for (int pass = 0; pass < 2; pass++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], pass ? "estimate" : "reference");
        if (tf_mkdirs(path))
            tf_die("%s: cannot create", path);
        for (int k = 0; k < NS; k++) {
            snprintf(path, sizeof path, "%s/%s/%s.wav", argv[1], pass ? "estimate" : "reference", names[k]);
            if (audio_write(path, (pass ? est : ref) + (size_t)k * 2 * N, 2, N, RATE, AUDIO_FLOAT, err, sizeof err))
                tf_die("%s", err);
        }
    }
    free(ref);
    free(est);
    free(w);
    return 0;
}
