#include "audio/augment.h"
#include "audio/audio.h"

#include <math.h>
#include <rubberband/rubberband-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void augment_cfg_default(augment_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->gain_lo = 0.7;
    c->gain_hi = 1.3;
    c->stretch_lo = 0.9;
    c->stretch_hi = 1.1;
    c->pitch_max = 2.0;
    c->mixup_alpha = 0.4;
}

int augment_any(const augment_cfg *c)
{
    return c->gain_prob > 0 || c->swap_prob > 0 || c->remix_prob > 0 || c->stretch_prob > 0 || c->pitch_prob > 0 ||
           c->mixup_prob > 0;
}

void augment_gain(float *x, int64_t n, float g)
{
    for (int64_t i = 0; i < n; i++)
        x[i] *= g;
}

void augment_swap(float *x, int64_t frames)
{
    float *l = x, *r = x + frames;
    for (int64_t i = 0; i < frames; i++) {
        float t = l[i];
        l[i] = r[i];
        r[i] = t;
    }
}

int64_t augment_stretch_source_frames(int64_t out_frames, double tempo)
{
    return (int64_t)ceil((double)out_frames * tempo - 1e-9);
}

void augment_mix(float *dst, const float *a, const float *b, int64_t n, float lambda)
{
    float mu = 1.0f - lambda;
    for (int64_t i = 0; i < n; i++)
        dst[i] = lambda * a[i] + mu * b[i];
}

int augment_stretch_pitch(const float *const *in, int nch, int64_t in_frames, double tempo, double semitones,
                          float *const *out, int64_t out_frames, char *err, size_t errlen)
{
    if (nch <= 0 || in_frames <= 0 || out_frames < 0 || !(tempo > 0.1 && tempo < 10) || !(fabs(semitones) < 48) ||
        in_frames > (int64_t)1 << 31) {
        snprintf(err, errlen, "stretch/pitch: bad arguments (%d channels, %lld frames, tempo %g, %g semitones)", nch,
                 (long long)in_frames, tempo, semitones);
        return -1;
    }
    for (int c = 0; c < nch; c++)
        memset(out[c], 0, (size_t)out_frames * sizeof(float));
    /* ThreadingNever: the same bytes on every run. One stretcher for all
     * channels: one time map. */
    RubberBandOptions opt = RubberBandOptionProcessOffline | RubberBandOptionThreadingNever |
                            RubberBandOptionEngineFiner | RubberBandOptionWindowShort;
    RubberBandState rb;
    /* Construction may plan FFTs, which some FFT back ends do not allow
     * concurrently; processing in separate instances is thread-safe. */
#pragma omp critical(rubberband)
    rb = rubberband_new(AUDIO_RATE, (unsigned)nch, opt, 1.0 / tempo, pow(2.0, semitones / 12.0));
    if (!rb) {
        snprintf(err, errlen, "stretch/pitch: cannot create a rubberband stretcher");
        return -1;
    }
    enum { BLOCK = 4096 };
    const float **ip = malloc((size_t)nch * sizeof *ip);
    float **op = malloc((size_t)nch * sizeof *op);
    float *scratch = malloc((size_t)nch * BLOCK * sizeof(float));
    if (!ip || !op || !scratch) {
        free(ip);
        free(op);
        free(scratch);
        rubberband_delete(rb);
        snprintf(err, errlen, "stretch/pitch: out of memory");
        return -1;
    }
    rubberband_set_expected_input_duration(rb, (unsigned)in_frames);
    rubberband_set_max_process_size(rb, BLOCK);
    for (int64_t pos = 0; pos < in_frames; pos += BLOCK) {
        unsigned n = (unsigned)(in_frames - pos < BLOCK ? in_frames - pos : BLOCK);
        for (int c = 0; c < nch; c++)
            ip[c] = in[c] + pos;
        rubberband_study(rb, ip, n, pos + n >= in_frames);
    }
    int64_t got = 0;
    int64_t pos = 0;
    for (int idle = 0; idle < 10000;) {
        if (pos >= in_frames) {
            idle++; /* all input given: let rubberband drain (bounded) */
            rubberband_process(rb, ip, 0, 1);
        } else {
            unsigned n = (unsigned)(in_frames - pos < BLOCK ? in_frames - pos : BLOCK);
            for (int c = 0; c < nch; c++)
                ip[c] = in[c] + pos;
            rubberband_process(rb, ip, n, pos + n >= in_frames);
            pos += n;
        }
        int avail;
        while ((avail = rubberband_available(rb)) > 0) {
            unsigned want = avail < BLOCK ? (unsigned)avail : BLOCK;
            for (int c = 0; c < nch; c++)
                op[c] = scratch + (size_t)c * BLOCK;
            unsigned r = rubberband_retrieve(rb, op, want);
            if (r == 0)
                break;
            int64_t keep = out_frames - got < (int64_t)r ? out_frames - got : (int64_t)r;
            for (int c = 0; c < nch && keep > 0; c++)
                memcpy(out[c] + got, op[c], (size_t)keep * sizeof(float));
            if (keep > 0)
                got += keep;
        }
        if (avail < 0 || (pos >= in_frames && got >= out_frames))
            break; /* finished, or we have all we need */
    }
    free(ip);
    free(op);
    free(scratch);
#pragma omp critical(rubberband)
    rubberband_delete(rb);
    return 0;
}
