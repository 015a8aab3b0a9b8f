#include "audio/audio.h"
#include "util/atomic.h"
#include "util/cli.h"

#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int audio_probe(const char *path, audio_info *info, char *err, size_t errlen)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(path, SFM_READ, &si);
    if (!sf) {
        snprintf(err, errlen, "%s: cannot read audio: %s", path, sf_strerror(NULL));
        return -1;
    }
    info->channels = si.channels;
    info->frames = si.frames;
    info->rate = si.samplerate;
    info->format = si.format;
    sf_close(sf);
    if (si.channels <= 0 || si.samplerate <= 0 || si.frames < 0) {
        snprintf(err, errlen, "%s: invalid audio header (channels %d, rate %d)", path, si.channels, si.samplerate);
        return -1;
    }
    return 0;
}

void audio_free(audio_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int audio_read(const char *path, int64_t offset, int64_t count, audio_buf *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(path, SFM_READ, &si);
    if (!sf) {
        snprintf(err, errlen, "%s: cannot read audio: %s", path, sf_strerror(NULL));
        return -1;
    }
    if (si.channels <= 0 || si.channels > 64 || si.samplerate <= 0 || si.frames < 0) {
        snprintf(err, errlen, "%s: invalid audio header (channels %d, rate %d)", path, si.channels, si.samplerate);
        sf_close(sf);
        return -1;
    }
    if (offset < 0 || offset > si.frames) {
        snprintf(err, errlen, "%s: offset %lld outside the file's %lld frames", path, (long long)offset,
                 (long long)si.frames);
        sf_close(sf);
        return -1;
    }
    if (count < 0 || offset + count > si.frames)
        count = count < 0 ? si.frames - offset : count;
    if (offset + count > si.frames) {
        snprintf(err, errlen, "%s: frames %lld..%lld past the file's end (%lld frames)", path, (long long)offset,
                 (long long)(offset + count), (long long)si.frames);
        sf_close(sf);
        return -1;
    }
    if (offset > 0 && sf_seek(sf, offset, SEEK_SET) != offset) {
        snprintf(err, errlen, "%s: cannot seek to frame %lld: %s", path, (long long)offset, sf_strerror(sf));
        sf_close(sf);
        return -1;
    }
    int ch = si.channels;
    float *planar = malloc((size_t)count * (size_t)ch * sizeof(float) + 1);
    enum { CHUNK = 16384 };
    float *inter = malloc((size_t)CHUNK * (size_t)ch * sizeof(float));
    if (!planar || !inter) {
        free(planar);
        free(inter);
        snprintf(err, errlen, "%s: out of memory for %lld frames", path, (long long)count);
        sf_close(sf);
        return -1;
    }
    int64_t done = 0;
    while (done < count) {
        sf_count_t want = count - done < CHUNK ? count - done : CHUNK;
        sf_count_t got = sf_readf_float(sf, inter, want);
        if (got <= 0) {
            snprintf(err, errlen, "%s: read failed at frame %lld of %lld (truncated or corrupt file)", path,
                     (long long)(offset + done), (long long)si.frames);
            free(planar);
            free(inter);
            sf_close(sf);
            return -1;
        }
        for (sf_count_t i = 0; i < got; i++)
            for (int c = 0; c < ch; c++)
                planar[(size_t)c * (size_t)count + (size_t)(done + i)] = inter[i * ch + c];
        done += got;
    }
    free(inter);
    sf_close(sf);
    out->channels = ch;
    out->frames = count;
    out->rate = si.samplerate;
    out->data = planar;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int audio_write(const char *path, const float *planar, int channels, int64_t frames, int rate, int subtype,
                char *err, size_t errlen)
{
    int flac = ends_with(path, ".flac");
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.channels = channels;
    si.samplerate = rate;
    int sub = subtype == AUDIO_FLOAT ? SF_FORMAT_FLOAT : subtype == AUDIO_PCM24 ? SF_FORMAT_PCM_24 : SF_FORMAT_PCM_16;
    if (flac && sub == SF_FORMAT_FLOAT)
        sub = SF_FORMAT_PCM_24;
    si.format = (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | sub;
    if (!sf_format_check(&si)) {
        snprintf(err, errlen, "%s: unsupported audio format (channels %d, rate %d)", path, channels, rate);
        return -1;
    }
    tf_atomic at;
    FILE *f = tf_atomic_open(&at, path);
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    /* libsndfile writes through its own descriptor: hand it a dup of ours. */
    int fd = dup(fileno(f));
    SNDFILE *sf = fd >= 0 ? sf_open_fd(fd, SFM_WRITE, &si, 1) : NULL;
    if (!sf) {
        snprintf(err, errlen, "%s: cannot write audio: %s", path, sf_strerror(NULL));
        if (fd >= 0)
            close(fd);
        tf_atomic_abort(&at);
        return -1;
    }
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    enum { CHUNK = 16384 };
    float *inter = malloc((size_t)CHUNK * (size_t)channels * sizeof(float));
    int rc = inter ? 0 : -1;
    for (int64_t done = 0; rc == 0 && done < frames;) {
        int64_t n = frames - done < CHUNK ? frames - done : CHUNK;
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < channels; c++)
                inter[i * channels + c] = planar[(size_t)c * (size_t)frames + (size_t)(done + i)];
        if (sf_writef_float(sf, inter, n) != n)
            rc = -1;
        done += n;
    }
    free(inter);
    if (rc != 0)
        snprintf(err, errlen, "%s: write failed: %s", path, sf_strerror(sf));
    sf_write_sync(sf);
    if (sf_close(sf) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: close failed", path);
        rc = -1;
    }
    if (rc != 0) {
        tf_atomic_abort(&at);
        return -1;
    }
    if (tf_atomic_commit(&at) != 0) {
        snprintf(err, errlen, "%s: cannot finish writing: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
