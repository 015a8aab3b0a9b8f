/* Audio through FFmpeg's libraries (libavformat, libavcodec,
 * libswresample): what libsndfile cannot read (AAC in MP4/M4A, raw AAC,
 * NI Stems' <track>.stem.mp4 with its five streams, ...). Used by
 * lib/audio/audio.c behind the audio_* API; tools never call it directly.
 *
 * A file's audio streams are numbered 0, 1, ... in container order,
 * skipping non-audio streams (cover pictures): stream N here is what
 * `ffmpeg -i FILE -map 0:a:N` decodes, and `-map 0:N` when the file holds
 * only audio, as a .stem.mp4 does. Samples are the decoder's own float
 * output (converted with libswresample, without resampling, when the
 * decoder gives integers), counted as the ffmpeg command-line tool counts
 * them: the encoder delay that the container signals (an MP4 edit list) is
 * dropped, the padding of the last frame is kept. */
#ifndef TFSWA_AUDIO_FFDEC_H
#define TFSWA_AUDIO_FFDEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int streams;  /* audio streams in the file */
    int channels; /* of the stream probed */
    int rate;
    int64_t frames; /* decoded frames of that stream */
} ffdec_info;

/* Opens path and describes audio stream `stream`. The frame count comes
 * from the timestamps of the stream's last decoded frames (a seek near the
 * end, not a whole decode). Returns 0; -1 with "PATH: what" in err when
 * FFmpeg does not recognise the file; -2 when it does but the stream
 * cannot be read (no audio stream, stream N missing, no decoder, corrupt). */
int ffdec_probe(const char *path, int stream, ffdec_info *info, char *err, size_t errlen);

/* Decodes frames [offset, offset + count) of audio stream `stream` into
 * dst, planar with stride count: dst[c * count + i], channels as probed.
 * The range must lie within the probed frame count. offset 0 decodes from
 * the start; a later offset seeks to a packet at least FFDEC_PREROLL
 * frames before it and decodes from there (see the man page tfswa(7) on
 * exactness). Returns 0, or -1 with "PATH: what" in err (a truncated or
 * corrupt file, fewer frames than probed). */
#define FFDEC_PREROLL 8192
int ffdec_read(const char *path, int stream, int channels, int64_t offset, int64_t count, float *dst, char *err,
               size_t errlen);

#endif
