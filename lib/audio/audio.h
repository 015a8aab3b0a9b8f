/* Audio files through libsndfile. Samples are float32, planar:
 * data[c * frames + i] is channel c, frame i (the stream's (channels,
 * samples) layout). */
#ifndef TFSWA_AUDIO_AUDIO_H
#define TFSWA_AUDIO_AUDIO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int channels;
    int64_t frames;
    int rate;
    float *data; /* channels * frames, planar */
} audio_buf;

typedef struct {
    int channels;
    int64_t frames;
    int rate;
    int format; /* libsndfile SF_FORMAT_* of the file */
} audio_info;

enum { AUDIO_PCM16 = 16, AUDIO_PCM24 = 24, AUDIO_FLOAT = 32 };

/* Returns 0, or -1 with a message "PATH: what" in err. */
int  audio_probe(const char *path, audio_info *info, char *err, size_t errlen);
/* Reads frames [offset, offset + count) (count < 0: to the end) at the
 * file's own rate and channel count. */
int  audio_read(const char *path, int64_t offset, int64_t count, audio_buf *out, char *err, size_t errlen);
void audio_free(audio_buf *b);

/* Writes planar data as a WAV (or FLAC when path ends in .flac) file,
 * atomically (temporary name, fsync, rename). subtype: AUDIO_PCM16,
 * AUDIO_PCM24 or AUDIO_FLOAT (WAV only). Samples outside [-1, 1] are clipped
 * for PCM. Returns 0, or -1 with a message in err. */
int  audio_write(const char *path, const float *planar, int channels, int64_t frames, int rate, int subtype,
                 char *err, size_t errlen);

#endif
