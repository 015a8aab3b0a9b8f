/* Resampling with libsamplerate (SRC_SINC_BEST_QUALITY), one channel at a
 * time so planar data needs no interleaving. */
#include "audio/audio.h"

#include <math.h>
#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t audio_resampled_frames(int64_t frames, int from, int to)
{
    return (int64_t)llround((double)frames * (double)to / (double)from);
}

int audio_resample(const float *in, int channels, int64_t frames, int from, int to, float **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    if (from <= 0 || to <= 0 || channels <= 0 || frames < 0) {
        snprintf(err, errlen, "cannot resample %lld frames of %d channels from %d Hz to %d Hz", (long long)frames,
                 channels, from, to);
        return -1;
    }
    double ratio = (double)to / (double)from;
    if (!src_is_valid_ratio(ratio)) {
        snprintf(err, errlen, "cannot resample from %d Hz to %d Hz (ratio %g out of libsamplerate's range)", from, to,
                 ratio);
        return -1;
    }
    int64_t nout = audio_resampled_frames(frames, from, to);
    float *o = calloc((size_t)nout * (size_t)channels + 1, sizeof(float));
    if (!o) {
        snprintf(err, errlen, "out of memory resampling %lld frames", (long long)frames);
        return -1;
    }
    if (from == to) {
        memcpy(o, in, (size_t)frames * (size_t)channels * sizeof(float));
        *out = o;
        return 0;
    }
    /* Chunked processing keeps every count within libsamplerate's long. */
    enum { CHUNK = 1 << 16 };
    for (int c = 0; c < channels; c++) {
        int error = 0;
        SRC_STATE *st = src_new(SRC_SINC_BEST_QUALITY, 1, &error);
        if (!st) {
            snprintf(err, errlen, "libsamplerate: %s", src_strerror(error));
            free(o);
            return -1;
        }
        const float *x = in + (size_t)c * (size_t)frames;
        float *y = o + (size_t)c * (size_t)nout;
        int64_t ip = 0, op = 0;
        float tail[CHUNK];
        for (;;) {
            SRC_DATA d;
            memset(&d, 0, sizeof d);
            int64_t left = frames - ip;
            d.data_in = x + ip;
            d.input_frames = left < CHUNK ? (long)left : CHUNK;
            d.end_of_input = left <= CHUNK;
            /* Write into y while room is left, then into a scratch tail
             * (extra frames past nout are dropped). */
            int64_t room = nout - op;
            d.data_out = room > 0 ? y + op : tail;
            d.output_frames = room > 0 ? (room < CHUNK ? (long)room : CHUNK) : CHUNK;
            d.src_ratio = ratio;
            if ((error = src_process(st, &d)) != 0) {
                snprintf(err, errlen, "libsamplerate: %s", src_strerror(error));
                src_delete(st);
                free(o);
                return -1;
            }
            ip += d.input_frames_used;
            if (room > 0)
                op += d.output_frames_gen;
            if (ip >= frames && d.output_frames_gen == 0)
                break;
        }
        src_delete(st);
        /* Frames not produced (at most a few at the very end) stay zero. */
    }
    *out = o;
    return 0;
}
