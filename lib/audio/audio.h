/* Audio files through libsndfile, and through FFmpeg's libraries
 * (lib/audio/ffdec.h) what libsndfile cannot read: AAC in MP4/M4A, and the
 * five streams of a NI Stems <track>.stem.mp4. Samples are float32, planar:
 * data[c * frames + i] is channel c, frame i (the stream's (channels,
 * samples) layout).
 *
 * A file has one or more audio streams, numbered from 0 (ffmpeg's -map
 * 0:a:N); the functions without a stream argument read stream 0. libsndfile
 * is tried first for stream 0; a file it does not recognise goes to FFmpeg. */
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
    int format;  /* libsndfile SF_FORMAT_* of the file; 0 when FFmpeg reads it */
    int streams; /* audio streams in the file (1 for what libsndfile reads) */
} audio_info;

enum { AUDIO_PCM16 = 16, AUDIO_PCM24 = 24, AUDIO_FLOAT = 32 };

/* Returns 0, or -1 with a message "PATH: what" in err. */
int audio_probe(const char *path, audio_info *info, char *err, size_t errlen);
int audio_probe_stream(const char *path, int stream, audio_info *info, char *err, size_t errlen);
/* Reads frames [offset, offset + count) (count < 0: to the end) at the
 * file's own rate and channel count. */
int audio_read(const char *path, int64_t offset, int64_t count, audio_buf *out, char *err, size_t errlen);
int audio_read_stream(const char *path, int stream, int64_t offset, int64_t count, audio_buf *out, char *err,
                      size_t errlen);
void audio_free(audio_buf *b);

/* Writes planar data as a WAV (or FLAC when path ends in .flac) file,
 * atomically (temporary name, fsync, rename). subtype: AUDIO_PCM16,
 * AUDIO_PCM24 or AUDIO_FLOAT (WAV only). Samples outside [-1, 1] are clipped
 * for PCM. Returns 0, or -1 with a message in err. (audio_write_as below
 * writes the other formats.) */
int audio_write(const char *path, const float *planar, int channels, int64_t frames, int rate, int subtype, char *err,
                size_t errlen);

/* ---- output formats (istft --format) ---- */
typedef struct {
    const char *name; /* wav, wav24, float, flac, ogg, opus, mp3 */
    const char *ext;  /* file extension, without the dot */
    int sf_format;    /* libsndfile SF_FORMAT_* major | subtype */
    int rate;         /* 0: any rate; else audio is resampled to it (Opus: 48000) */
    const char *what; /* for --help and messages */
} audio_format;
extern const audio_format audio_formats[];
extern const int audio_nformats;
/* By name, alias (wav16, pcm16, pcm24, f32, wavf, vorbis, oga) or
 * extension with or without the dot (.wav, .flac, .ogg, .opus, .mp3);
 * case-insensitive. NULL when unknown. */
const audio_format *audio_format_find(const char *name);
/* 0 when this libsndfile writes f for channels at rate (after f->rate's
 * resampling), else -1 with the reason in err. */
int audio_format_check(const audio_format *f, int channels, int rate, char *err, size_t errlen);
/* audio_write in format f (resampled to f->rate when set), atomically.
 * Samples beyond [-1, 1] are clipped for the integer and lossy formats. */
int audio_write_format(const char *path, const float *planar, int channels, int64_t frames, int rate,
                       const audio_format *f, char *err, size_t errlen);

/* Clipping as Demucs's prevent_clip (demucs/audio.py) handles it, in place
 * on n samples: AUDIO_CLIP_RESCALE divides by max(1.01 * peak, 1);
 * AUDIO_CLIP_CLAMP clamps to [-0.99, 0.99]; AUDIO_CLIP_NONE leaves the
 * samples (the writer then clips integer formats at full scale). Returns
 * the peak |x| before; *changed counts the samples changed (rescale: all
 * non-zero ones when it rescales). */
enum { AUDIO_CLIP_RESCALE, AUDIO_CLIP_CLAMP, AUDIO_CLIP_NONE };
double audio_prevent_clip(float *x, size_t n, int mode, size_t *changed);

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
    int stream;      /* the file's audio stream (0 but in a .stem.mp4) */
    audio_info info; /* of the file itself */
    int64_t frames;  /* length at AUDIO_RATE */
} audio_src;

/* Probes path (audio stream `stream`) and checks it can be served as
 * 44.1 kHz stereo. Returns 0, or -1 with "PATH: what" in err. */
int audio_src_open(audio_src *s, const char *path, char *err, size_t errlen);
int audio_src_open_stream(audio_src *s, const char *path, int stream, char *err, size_t errlen);
/* Files FFmpeg reads (AAC, .stem.mp4) are decoded from their start, whole,
 * and cached as above: exactly what `ffmpeg -i FILE -map 0:a:N` decodes.
 * With fast seeking on, a read of a 44.1 kHz one instead seeks to a packet
 * FFDEC_PREROLL frames before the offset and decodes only from there, as
 * musdb's chunked reads do: the same numbers, except in bands the encoder
 * coded as noise (AAC's PNS), which get other noise. Off by default. */
void audio_set_fast_seek(int on);
void audio_src_close(audio_src *s);
/* Reads frames [offset, offset + count) at 44.1 kHz into dst, planar
 * (2, count): dst[c * count + i]. Frames outside [0, s->frames) read as
 * zeros (so segments may run past either end). Returns 0 or -1 + err. */
int audio_src_read(const audio_src *s, int64_t offset, int64_t count, float *dst, char *err, size_t errlen);
/* Drops every cached resampled file. */
void audio_cache_clear(void);

/* Band-limited resampling of planar float audio with libsamplerate's
 * SRC_SINC_BEST_QUALITY converter (97 dB SNR, 97% of the band kept).
 * Output has exactly llround(frames * to / from) frames, newly allocated
 * into *out (planar). Returns 0, or -1 with a message in err. */
int64_t audio_resampled_frames(int64_t frames, int from, int to);
int audio_resample(const float *in, int channels, int64_t frames, int from, int to, float **out, char *err,
                   size_t errlen);

#endif
