#include "audio/ffdec.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void quiet_ffmpeg(void) { av_log_set_level(AV_LOG_QUIET); } /* our messages say what went wrong */

typedef struct {
    const char *path;
    int stream; /* among the audio streams */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *st;
    int nstreams; /* audio streams in the file */
    int channels, rate;
    SwrContext *swr;
    enum AVSampleFormat swr_fmt;
    float *conv;  /* swr output, planar */
    int conv_cap; /* frames */
    AVPacket *pkt;
    AVFrame *frm;
    int eof_sent; /* the demuxer ended; the decoder is being drained */
} ffd;

static void ffd_close(ffd *d)
{
    av_frame_free(&d->frm);
    av_packet_free(&d->pkt);
    swr_free(&d->swr);
    free(d->conv);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
}

static int fferr(char *err, size_t errlen, const char *path, const char *what, int code)
{
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(code, msg, sizeof msg);
    snprintf(err, errlen, "%s: %s: %s", path, what, msg);
    return -1;
}

/* 0; -1 when FFmpeg does not recognise the file; -2 when it does but the
 * stream cannot be decoded (err says why). */
static int ffd_open(ffd *d, const char *path, int stream, char *err, size_t errlen)
{
    pthread_once(&g_once, quiet_ffmpeg);
    memset(d, 0, sizeof *d);
    d->path = path;
    d->stream = stream;
    int rc = avformat_open_input(&d->fmt, path, NULL, NULL);
    if (rc < 0)
        return fferr(err, errlen, path, "not a media file FFmpeg can read (or a truncated one)", rc);
    rc = avformat_find_stream_info(d->fmt, NULL);
    if (rc < 0) {
        fferr(err, errlen, path, "cannot read the stream information", rc);
        goto fail;
    }
    for (unsigned i = 0; i < d->fmt->nb_streams; i++) {
        AVStream *s = d->fmt->streams[i];
        if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
            if (d->nstreams == stream)
                d->st = s;
            d->nstreams++;
        }
        s->discard = AVDISCARD_ALL;
    }
    if (d->nstreams == 0) {
        snprintf(err, errlen, "%s: no audio stream in this %s file", path, d->fmt->iformat->name);
        goto fail;
    }
    if (!d->st) {
        snprintf(err, errlen, "%s: audio stream %d missing (the file has %d audio stream%s, numbered from 0)", path,
                 stream, d->nstreams, d->nstreams == 1 ? "" : "s");
        goto fail;
    }
    d->st->discard = AVDISCARD_DEFAULT;
    const AVCodec *codec = avcodec_find_decoder(d->st->codecpar->codec_id);
    if (!codec) {
        snprintf(err, errlen, "%s: audio stream %d: no decoder for codec '%s'", path, stream,
                 avcodec_get_name(d->st->codecpar->codec_id));
        goto fail;
    }
    d->dec = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->frm = av_frame_alloc();
    if (!d->dec || !d->pkt || !d->frm) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    rc = avcodec_parameters_to_context(d->dec, d->st->codecpar);
    if (rc < 0) {
        fferr(err, errlen, path, "decoder parameters", rc);
        goto fail;
    }
    d->dec->pkt_timebase = d->st->time_base; /* so that skipped priming samples move the frames' pts */
    d->dec->thread_count = 1;
    rc = avcodec_open2(d->dec, codec, NULL);
    if (rc < 0) {
        snprintf(err, errlen, "%s: audio stream %d: cannot open the %s decoder", path, stream, codec->name);
        goto fail;
    }
    d->channels = d->dec->ch_layout.nb_channels;
    d->rate = d->dec->sample_rate;
    if (d->channels <= 0 || d->channels > 64 || d->rate <= 0) {
        snprintf(err, errlen, "%s: audio stream %d: invalid parameters (channels %d, rate %d)", path, stream,
                 d->channels, d->rate);
        goto fail;
    }
    return 0;
fail:
    ffd_close(d);
    return -2;
}

/* The next decoded frame: 1 (in d->frm), 0 at the end, -1 + err. */
static int next_frame(ffd *d, char *err, size_t errlen)
{
    for (;;) {
        int rc = avcodec_receive_frame(d->dec, d->frm);
        if (rc == 0)
            return 1;
        if (rc == AVERROR_EOF)
            return 0;
        if (rc != AVERROR(EAGAIN))
            return fferr(err, errlen, d->path, "decoding failed", rc);
        if (d->eof_sent)
            return 0;
        rc = av_read_frame(d->fmt, d->pkt);
        if (rc == AVERROR_EOF) {
            d->eof_sent = 1;
            rc = avcodec_send_packet(d->dec, NULL);
            if (rc < 0 && rc != AVERROR_EOF)
                return fferr(err, errlen, d->path, "decoding failed at the end", rc);
            continue;
        }
        if (rc < 0)
            return fferr(err, errlen, d->path, "read failed (truncated or corrupt file)", rc);
        if (d->pkt->stream_index != d->st->index) {
            av_packet_unref(d->pkt);
            continue;
        }
        rc = avcodec_send_packet(d->dec, d->pkt);
        int64_t pts = d->pkt->pts;
        av_packet_unref(d->pkt);
        if (rc < 0) {
            char what[160];
            snprintf(what, sizeof what, "audio stream %d: corrupt packet at %.3f s", d->stream,
                     pts == AV_NOPTS_VALUE ? -1.0 : (double)pts * av_q2d(d->st->time_base));
            return fferr(err, errlen, d->path, what, rc);
        }
    }
}

/* The frame's samples as planar float: planes[c][0 .. nb_samples). */
static int frame_planes(ffd *d, const float **planes, char *err, size_t errlen)
{
    AVFrame *f = d->frm;
    int n = f->nb_samples, ch = f->ch_layout.nb_channels;
    if (ch != d->channels || f->sample_rate != d->rate) {
        snprintf(err, errlen, "%s: audio stream %d changes from %d channels at %d Hz to %d at %d Hz mid-stream",
                 d->path, d->stream, d->channels, d->rate, ch, f->sample_rate);
        return -1;
    }
    if (f->format == AV_SAMPLE_FMT_FLTP) {
        for (int c = 0; c < ch; c++)
            planes[c] = (const float *)f->extended_data[c];
        return 0;
    }
    if (n > d->conv_cap) {
        float *nc = realloc(d->conv, (size_t)n * (size_t)ch * sizeof(float));
        if (!nc) {
            snprintf(err, errlen, "%s: out of memory", d->path);
            return -1;
        }
        d->conv = nc;
        d->conv_cap = n;
    }
    if (f->format == AV_SAMPLE_FMT_FLT) {
        const float *in = (const float *)f->extended_data[0];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < ch; c++)
                d->conv[(size_t)c * (size_t)n + (size_t)i] = in[(size_t)i * (size_t)ch + (size_t)c];
    } else {
        if (!d->swr || d->swr_fmt != f->format) {
            swr_free(&d->swr);
            int rc = swr_alloc_set_opts2(&d->swr, &f->ch_layout, AV_SAMPLE_FMT_FLTP, f->sample_rate, &f->ch_layout,
                                         f->format, f->sample_rate, 0, NULL);
            if (rc < 0 || (rc = swr_init(d->swr)) < 0)
                return fferr(err, errlen, d->path, "sample format conversion", rc);
            d->swr_fmt = f->format;
        }
        uint8_t *out[64];
        for (int c = 0; c < ch; c++)
            out[c] = (uint8_t *)(d->conv + (size_t)c * (size_t)n);
        int got = swr_convert(d->swr, out, n, (const uint8_t **)f->extended_data, n);
        if (got != n)
            return fferr(err, errlen, d->path, "sample format conversion", got < 0 ? got : AVERROR_BUG);
    }
    for (int c = 0; c < ch; c++)
        planes[c] = d->conv + (size_t)c * (size_t)n;
    return 0;
}

/* The frame's position in samples from its pts, or INT64_MIN when it has none. */
static int64_t frame_pts(const ffd *d)
{
    int64_t pts = d->frm->pts != AV_NOPTS_VALUE ? d->frm->pts : d->frm->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE)
        return INT64_MIN;
    return av_rescale_q(pts, d->st->time_base, (AVRational){1, d->rate});
}

/* Seeks so that the next frame starts at or before sample `at` (pts
 * samples); 0, or -1 when the container cannot seek. */
static int seek_to(ffd *d, int64_t at)
{
    int64_t ts = av_rescale_q(at, (AVRational){1, d->rate}, d->st->time_base);
    if (av_seek_frame(d->fmt, d->st->index, ts, AVSEEK_FLAG_BACKWARD) < 0)
        return -1;
    avcodec_flush_buffers(d->dec);
    d->eof_sent = 0;
    return 0;
}

/* The first frame's pts (samples), from a fresh decoder at the start.
 * 1 with *first set (INT64_MIN without pts), 0 when the stream decodes to
 * nothing, -1 + err. */
static int first_pts(ffd *d, int64_t *first, int *n, char *err, size_t errlen)
{
    int rc = next_frame(d, err, errlen);
    if (rc <= 0)
        return rc;
    *first = frame_pts(d);
    *n = d->frm->nb_samples;
    av_frame_unref(d->frm);
    return 1;
}

static int count_to_end(ffd *d, int64_t *total, char *err, size_t errlen)
{
    int rc;
    while ((rc = next_frame(d, err, errlen)) == 1) {
        *total += d->frm->nb_samples;
        av_frame_unref(d->frm);
    }
    return rc;
}

int ffdec_probe(const char *path, int stream, ffdec_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    ffd d;
    int orc = ffd_open(&d, path, stream, err, errlen);
    if (orc != 0)
        return orc;
    info->streams = d.nstreams;
    info->channels = d.channels;
    info->rate = d.rate;
    int64_t first = 0, total = 0;
    int n = 0;
    int rc = first_pts(&d, &first, &n, err, errlen);
    if (rc < 0)
        goto done;
    if (rc == 0) {
        snprintf(err, errlen, "%s: audio stream %d decodes to no audio", path, stream);
        rc = -1;
        goto done;
    }
    /* With timestamps and an index (MP4), decode only the last packets:
     * frames = end of the last frame - start of the first. Otherwise count
     * every frame. */
    int nidx = avformat_index_get_entries_count(d.st);
    const AVIndexEntry *e = nidx > 8 ? avformat_index_get_entry(d.st, nidx - 8) : NULL;
    if (first != INT64_MIN && e && e->timestamp != AV_NOPTS_VALUE &&
        av_seek_frame(d.fmt, d.st->index, e->timestamp, AVSEEK_FLAG_BACKWARD) >= 0) {
        avcodec_flush_buffers(d.dec);
        d.eof_sent = 0;
        int64_t end = INT64_MIN;
        while ((rc = next_frame(&d, err, errlen)) == 1) {
            int64_t p = frame_pts(&d);
            if (p == INT64_MIN) {
                snprintf(err, errlen, "%s: audio stream %d: a frame without a timestamp", path, stream);
                rc = -1;
                break;
            }
            end = p + d.frm->nb_samples;
            av_frame_unref(d.frm);
        }
        if (rc < 0)
            goto done;
        /* the last packet the index lists must have decoded */
        const AVIndexEntry *last = avformat_index_get_entry(d.st, nidx - 1);
        int64_t last_at = av_rescale_q(last->timestamp, d.st->time_base, (AVRational){1, d.rate});
        if (end == INT64_MIN || end <= last_at) {
            snprintf(err, errlen, "%s: audio stream %d: truncated (the index lists audio to %.3f s, the file holds %s)",
                     path, stream, (double)last_at / d.rate, end == INT64_MIN ? "none near there" : "less");
            rc = -1;
            goto done;
        }
        total = end - first;
    } else {
        total = n;
        if ((rc = count_to_end(&d, &total, err, errlen)) < 0)
            goto done;
    }
    /* no allocation is ever sized from an absurd length (timestamps are the file's word) */
    if (total <= 0 || total > ((int64_t)1 << 32)) {
        snprintf(err, errlen, "%s: audio stream %d: inconsistent timestamps (%lld frames)", path, stream,
                 (long long)total);
        rc = -1;
        goto done;
    }
    info->frames = total;
    rc = 0;
done:
    ffd_close(&d);
    return rc < 0 ? -2 : 0;
}

int ffdec_read(const char *path, int stream, int channels, int64_t offset, int64_t count, float *dst, char *err,
               size_t errlen)
{
    if (count <= 0)
        return 0;
    ffd d;
    if (ffd_open(&d, path, stream, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (d.channels != channels) {
        snprintf(err, errlen, "%s: audio stream %d: %d channels, was %d (file changed while in use)", path, stream,
                 d.channels, channels);
        goto done;
    }
    int64_t pos = 0;   /* sample index (from the first decoded sample) of the next frame */
    int pos_known = 1; /* 0 after a seek: the next frame's pts says where it is */
    int64_t first = 0;
    if (offset > FFDEC_PREROLL) {
        int n;
        int r = first_pts(&d, &first, &n, err, errlen);
        if (r < 0)
            goto done;
        if (r == 1 && first != INT64_MIN && seek_to(&d, first + offset - FFDEC_PREROLL) == 0)
            pos_known = 0;
        else { /* no timestamps or no seeking: decode from the start */
            ffd_close(&d);
            if (ffd_open(&d, path, stream, err, errlen) != 0)
                return -1;
        }
    }
    const int64_t end = offset + count;
    const float *planes[64];
    int r = 0;
    while (pos < end && (r = next_frame(&d, err, errlen)) == 1) {
        int n = d.frm->nb_samples;
        if (!pos_known) {
            int64_t p = frame_pts(&d);
            if (p == INT64_MIN || p - first > offset) {
                snprintf(err, errlen, "%s: audio stream %d: seeking to frame %lld landed %s", path, stream,
                         (long long)offset, p == INT64_MIN ? "on a frame without a timestamp" : "past it");
                goto done;
            }
            pos = p - first;
            pos_known = 1;
        }
        int64_t a = pos > offset ? pos : offset, b = pos + n < end ? pos + n : end;
        if (a < b) {
            if (frame_planes(&d, planes, err, errlen) != 0)
                goto done;
            for (int c = 0; c < channels; c++)
                memcpy(dst + (size_t)c * (size_t)count + (size_t)(a - offset), planes[c] + (a - pos),
                       (size_t)(b - a) * sizeof(float));
        }
        pos += n;
        av_frame_unref(d.frm);
    }
    if (pos < end) {
        if (r == 0)
            snprintf(err, errlen,
                     "%s: audio stream %d ends at frame %lld, before frame %lld (truncated or changed file)", path,
                     stream, (long long)pos, (long long)end);
        goto done;
    }
    rc = 0;
done:
    ffd_close(&d);
    return rc;
}
