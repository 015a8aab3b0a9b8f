#include "train/tblog.h"
#include "util/atomic.h"
#include "util/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint32_t crc32c_table[256];
static int crc32c_ready;

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
    crc32c_ready = 1;
}

uint32_t crc32c(uint32_t crc, const void *data, size_t n)
{
    if (!crc32c_ready)
        crc32c_init();
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc32c_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

static size_t put_varint(unsigned char *b, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (unsigned char)v;
    return n;
}

static size_t put_fixed(unsigned char *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        b[i] = (unsigned char)v;
    return (size_t)bytes;
}

static size_t encode_head(unsigned char *b, double wall_time, int64_t step)
{
    size_t n = 0;
    uint64_t wt;
    memcpy(&wt, &wall_time, 8);
    b[n++] = 0x09; /* field 1, 64-bit */
    n += put_fixed(b + n, wt, 8);
    b[n++] = 0x10; /* field 2, varint */
    n += put_varint(b + n, (uint64_t)step);
    return n;
}

size_t tblog_encode_scalar(unsigned char *buf, double wall_time, int64_t step, const char *tag, float value)
{
    size_t tl = strlen(tag);
    unsigned char val[512];
    size_t vn = 0;
    val[vn++] = 0x0A; /* Value.tag */
    vn += put_varint(val + vn, tl);
    memcpy(val + vn, tag, tl);
    vn += tl;
    uint32_t fv;
    memcpy(&fv, &value, 4);
    val[vn++] = 0x15; /* Value.simple_value, 32-bit */
    vn += put_fixed(val + vn, fv, 4);

    unsigned char sum[512 + 16];
    size_t sn = 0;
    sum[sn++] = 0x0A; /* Summary.value */
    sn += put_varint(sum + sn, vn);
    memcpy(sum + sn, val, vn);
    sn += vn;

    size_t n = encode_head(buf, wall_time, step);
    buf[n++] = 0x2A; /* Event.summary */
    n += put_varint(buf + n, sn);
    memcpy(buf + n, sum, sn);
    return n + sn;
}

static double wall_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

static int write_record(tblog *t, const unsigned char *data, size_t n)
{
    unsigned char hdr[12];
    put_fixed(hdr, n, 8);
    put_fixed(hdr + 8, crc32c_mask(crc32c(0, hdr, 8)), 4);
    unsigned char tail[4];
    put_fixed(tail, crc32c_mask(crc32c(0, data, n)), 4);
    if (fwrite(hdr, 1, 12, t->f) != 12 || fwrite(data, 1, n, t->f) != n || fwrite(tail, 1, 4, t->f) != 4 ||
        fflush(t->f) != 0)
        return -1;
    return 0;
}

int tblog_open(tblog *t, const char *dir)
{
    memset(t, 0, sizeof *t);
    if (tf_mkdirs(dir) != 0)
        return -1;
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    size_t n = strlen(dir) + strlen(host) + 96;
    t->path = tf_malloc(n, "event file name");
    snprintf(t->path, n, "%s/events.out.tfevents.%lld.%s.%ld", dir, (long long)time(NULL), host, (long)getpid());
    t->f = fopen(t->path, "wb");
    if (!t->f) {
        int e = errno;
        free(t->path);
        t->path = NULL;
        errno = e;
        return -1;
    }
    unsigned char buf[64];
    size_t len = encode_head(buf, wall_now(), 0);
    static const char version[] = "brain.Event:2";
    buf[len++] = 0x1A; /* Event.file_version */
    len += put_varint(buf + len, sizeof version - 1);
    memcpy(buf + len, version, sizeof version - 1);
    len += sizeof version - 1;
    return write_record(t, buf, len);
}

int tblog_scalar(tblog *t, const char *tag, int64_t step, double value)
{
    if (!t->f)
        return 0;
    unsigned char buf[600];
    size_t tl = strlen(tag);
    if (tl > 400) {
        errno = EINVAL;
        return -1;
    }
    size_t n = tblog_encode_scalar(buf, wall_now(), step, tag, (float)value);
    return write_record(t, buf, n);
}

int tblog_close(tblog *t)
{
    int rc = 0;
    if (t->f && fclose(t->f) != 0)
        rc = -1;
    free(t->path);
    memset(t, 0, sizeof *t);
    return rc;
}
