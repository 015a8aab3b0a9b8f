/* TensorBoard event files: CRC-32C against its standard check value and a
 * bitwise reference, then a written file read back record by record with an
 * independent TFRecord/protobuf decoder. */
#include "check.h"
#include "train/tblog.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

static uint64_t rd(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t varint(const unsigned char **p)
{
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7F) << s;
        if (!(b & 0x80))
            return v;
    }
}

int main(void)
{
    CHECK(crc32c(0, "123456789", 9) == 0xE3069283u, "crc32c check value: %08x", crc32c(0, "123456789", 9));
    unsigned char buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    CHECK(crc32c(0, buf, 1000) == crc32c_bitwise(buf, 1000), "table vs bitwise");
    CHECK(crc32c(crc32c(0, buf, 300), buf + 300, 700) == crc32c(0, buf, 1000), "incremental");

    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tblog-test/logs", tmp ? tmp : "/tmp");
    tblog t;
    CHECK(tblog_open(&t, dir) == 0, "open");
    const char *tags[3] = {"loss/train", "loss/vocals", "lr"};
    double vals[3] = {0.25, -1.5e-3, 3e-4};
    for (int s = 0; s < 3; s++)
        CHECK(tblog_scalar(&t, tags[s], 10 * s + 7, vals[s]) == 0, "scalar");
    char path[4096];
    snprintf(path, sizeof path, "%s", t.path);
    CHECK(tblog_close(&t) == 0, "close");

    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "reopen %s", path);
    if (!f)
        return check_report("test_tblog");
    static unsigned char file[65536];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    size_t off = 0;
    int rec = 0;
    while (off + 12 <= n) {
        uint64_t len = rd(file + off, 8);
        uint32_t lcrc = (uint32_t)rd(file + off + 8, 4);
        CHECK(lcrc == crc32c_mask(crc32c_bitwise(file + off, 8)), "record %d length crc", rec);
        CHECK(off + 16 + len <= n, "record %d fits", rec);
        if (off + 16 + len > n)
            break;
        const unsigned char *d = file + off + 12;
        uint32_t dcrc = (uint32_t)rd(d + len, 4);
        CHECK(dcrc == crc32c_mask(crc32c_bitwise(d, len)), "record %d data crc", rec);
        /* decode the Event */
        const unsigned char *p = d, *end = d + len;
        int64_t step = -1;
        char tag[128] = "";
        float value = 0;
        int version = 0;
        while (p < end) {
            uint64_t key = varint(&p);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            if (wire == 1) {
                p += 8;
            } else if (wire == 0) {
                uint64_t v = varint(&p);
                if (field == 2)
                    step = (int64_t)v;
            } else if (wire == 2) {
                uint64_t l = varint(&p);
                if (field == 3) {
                    version = l == 13 && memcmp(p, "brain.Event:2", 13) == 0;
                } else if (field == 5) { /* Summary { Value { tag, simple_value } } */
                    const unsigned char *q = p;
                    CHECK(*q == 0x0A, "summary.value key");
                    q++;
                    uint64_t vl = varint(&q);
                    const unsigned char *qe = q + vl;
                    while (q < qe) {
                        uint64_t k2 = varint(&q);
                        if (k2 == 0x0A) {
                            uint64_t tl = varint(&q);
                            if (tl < sizeof tag) {
                                memcpy(tag, q, tl);
                                tag[tl] = 0;
                            }
                            q += tl;
                        } else if (k2 == 0x15) {
                            uint32_t u = (uint32_t)rd(q, 4);
                            memcpy(&value, &u, 4);
                            q += 4;
                        } else {
                            CHECK(0, "unexpected Value field %llu", (unsigned long long)k2);
                            break;
                        }
                    }
                }
                p += l;
            } else {
                CHECK(0, "unexpected wire type %d", wire);
                break;
            }
        }
        if (rec == 0) {
            CHECK(version, "first event carries file_version brain.Event:2");
        } else if (rec <= 3) {
            CHECK(step == 10 * (rec - 1) + 7, "step %lld", (long long)step);
            CHECK(strcmp(tag, tags[rec - 1]) == 0, "tag %s", tag);
            CHECK(value == (float)vals[rec - 1], "value %g", value);
        }
        off += 16 + len;
        rec++;
    }
    CHECK(rec == 4, "records: %d", rec);
    CHECK(off == n, "trailing bytes");
    return check_report("test_tblog");
}
