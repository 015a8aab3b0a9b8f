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

/* ---- 44.1 kHz stereo sources (musdb-slice and everything that wants a
 * fixed rate) ----
 * An audio_src is a file seen as 44.1 kHz stereo: mono is duplicated to
 * both channels; more than two channels is an error (we do not guess a
 * downmix of surround layouts). Files at 44.1 kHz are read with
 * sample-exact seeking (only the frames asked for are decoded); files at
 * any other rate are decoded whole, resampled with libsamplerate
 * (audio_resample) and kept in a small in-memory cache (AUDIO_CACHE_BYTES,
 * least recently used first out). */
#define AUDIO_RATE 44100
#define AUDIO_CACHE_BYTES ((size_t)512 << 20)

typedef struct {
    char *path;
    audio_info info; /* of the file itself */
    int64_t frames;  /* length at AUDIO_RATE */
} audio_src;

/* Probes path and checks it can be served as 44.1 kHz stereo. Returns 0,
 * or -1 with "PATH: what" in err. */
int  audio_src_open(audio_src *s, const char *path, char *err, size_t errlen);
void audio_src_close(audio_src *s);
/* Reads frames [offset, offset + count) at 44.1 kHz into dst, planar
 * (2, count): dst[c * count + i]. Frames outside [0, s->frames) read as
 * zeros (so segments may run past either end). Returns 0 or -1 + err. */
int  audio_src_read(const audio_src *s, int64_t offset, int64_t count, float *dst, char *err, size_t errlen);
/* Drops every cached resampled file. */
void audio_cache_clear(void);

/* Band-limited resampling of planar float audio with libsamplerate's
 * SRC_SINC_BEST_QUALITY converter (97 dB SNR, 97% of the band kept).
 * Output has exactly llround(frames * to / from) frames, newly allocated
 * into *out (planar). Returns 0, or -1 with a message in err. */
int64_t audio_resampled_frames(int64_t frames, int from, int to);
int  audio_resample(const float *in, int channels, int64_t frames, int from, int to, float **out,
                    char *err, size_t errlen);

#endif
