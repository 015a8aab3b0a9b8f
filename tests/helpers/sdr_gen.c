/* sdr_gen DIR [SECONDS]: writes a well-conditioned 4-stem stereo test case for sdr
 * (DIR/reference/<stem>.wav, DIR/estimate/<stem>.wav, float32, 44.1 kHz,
 * 3.2 s): independent coloured noise per stem and channel (vocals silent
 * for its first 1 s: window 0 is NaN), estimates = own stem + 0.1 of the others, a 3-tap
 * FIR on the left channel and white noise at 1e-2. Uniform xoshiro noise
 * and float arithmetic only (no libm), so the samples are the same on
 * every IEEE machine; tests/data/bsseval/well-4stem.json holds museval's
 * scores for them (computed by tests/data/bsseval/museval_ref.py). SECONDS
 * (default 3.2) makes longer tracks for bench/sdr.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/rng.h"

#define NS 4

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc != 2 && argc != 3)
        tf_usage_error("usage: sdr_gen DIR [SECONDS]");
    const int N = argc == 3 ? (int)tf_parse_long("SECONDS", argv[2], 1, 3600) * 44100 : 141120;
    static const char *names[NS] = {"vocals", "drums", "bass", "other"};
    static const float fir[8] = {0.5f, -0.3f, 0.25f, 0.1f, -0.2f, 0.05f, 0.15f, -0.1f};
    tf_rng r;
    tf_rng_seed(&r, 20261124);
    float *ref = tf_calloc((size_t)NS * 2 * N, sizeof(float), "ref");
    float *est = tf_calloc((size_t)NS * 2 * N, sizeof(float), "est");
    float *w = tf_malloc(sizeof(float) * (N + 8), "noise");
    for (int k = 0; k < NS; k++)
        for (int c = 0; c < 2; c++) {
            for (int i = 0; i < N + 8; i++)
                w[i] = (float)(tf_rng_uniform(&r) - 0.5) * 0.4f;
            float *x = ref + ((size_t)k * 2 + (size_t)c) * N;
            for (int i = 0; i < N; i++) {
                float s = 0;
                for (int t = 0; t < 8; t++)
                    s += fir[(t + k) % 8] * w[i + t];
                x[i] = (k == 0 && i < 44100) ? 0.0f : s;
            }
        }
    for (int k = 0; k < NS; k++)
        for (int c = 0; c < 2; c++) {
            float *e = est + ((size_t)k * 2 + (size_t)c) * N;
            for (int i = 0; i < N; i++) {
                float s = ref[((size_t)k * 2 + (size_t)c) * N + (size_t)i];
                for (int j = 0; j < NS; j++)
                    if (j != k)
                        s += 0.1f * ref[((size_t)j * 2 + (size_t)c) * N + (size_t)i];
                e[i] = s;
            }
            if (c == 0)
                for (int i = N - 1; i >= 2; i--)
                    e[i] = 0.9f * e[i] + 0.2f * e[i - 1] - 0.1f * e[i - 2];
            for (int i = 0; i < N; i++)
                e[i] += (float)(tf_rng_uniform(&r) - 0.5) * 0.02f;
        }
    char path[4096], err[512];
    for (int pass = 0; pass < 2; pass++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], pass ? "estimate" : "reference");
        if (tf_mkdirs(path))
            tf_die("%s: cannot create", path);
        for (int k = 0; k < NS; k++) {
            snprintf(path, sizeof path, "%s/%s/%s.wav", argv[1], pass ? "estimate" : "reference", names[k]);
            if (audio_write(path, (pass ? est : ref) + (size_t)k * 2 * N, 2, N, 44100, AUDIO_FLOAT, err, sizeof err))
                tf_die("%s", err);
        }
    }
    free(ref);
    free(est);
    free(w);
    return 0;
}
