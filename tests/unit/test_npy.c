/* .npy headers (numpy's own header text as reference), Fortran to C order
 * against the index definition, and the JSON helper
 * (escapes, surrogateescape round trip of every byte, clear errors). */
#include "check.h"
#include "stream/json.h"
#include "stream/npy.h"

#include <stdlib.h>
#include <string.h>

static const uint64_t MAX = 1ull << 33;

static int parse(const char *text, npy_info *h, char *err)
{
    return npy_parse_dict(text, strlen(text), h, MAX, err, 256);
}

static void test_npy_parse(void)
{
    npy_info h;
    char err[256];
    /* numpy 1.24's header text for np.zeros((2, 3), np.float32), with its padding */
    CHECK(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                    \n", &h, err) == 0 &&
              h.dtype == TS_F32 && h.rank == 2 && h.shape[0] == 2 && h.shape[1] == 3 && h.nbytes == 24,
          "numpy header: %s", err);
    CHECK(parse("{'descr': '<c8', 'fortran_order': False, 'shape': (5,), }", &h, err) == 0 && h.rank == 1 &&
              h.shape[0] == 5 && h.dtype == TS_C64 && h.nbytes == 40,
          "rank 1");
    CHECK(parse("{'descr': '<c16', 'fortran_order': False, 'shape': (), }", &h, err) == 0 && h.rank == 0 &&
              h.nbytes == 16,
          "rank 0");
    CHECK(parse("{\"shape\": (3L, 0L), \"fortran_order\": False, \"descr\": \"|u1\"}", &h, err) == 0 && h.rank == 2 &&
              h.nbytes == 0 && h.dtype == TS_U8,
          "double quotes, any order, Python 2 longs, zero size: %s", err);
    CHECK(parse("{'descr': '<i2', 'fortran_order': True, 'shape': (1, 7, 1), }", &h, err) == 0 && h.dtype == TS_I16 &&
              !h.fortran,
          "Fortran order of a vector is C order");
    CHECK(parse("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", &h, err) == 0 && h.fortran &&
              h.rank == 2 && h.nbytes == 24,
          "Fortran order of a matrix: %s", err);
    CHECK(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &h, err) == 0 && !h.fortran, "C order");
    const struct {
        const char *text, *want;
    } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "big-endian"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "object arrays"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured"},
        {"{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "boolean"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", "not supported"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", "more than 8"},
        {"{'descr': '<f4', 'fortran_order': False, }", "missing 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "non-negative"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627777,), }", "2^40"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1073741824, 2), }", "size limit"},
        {"{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,), }", "True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unknown key"},
        {"['descr']", "expected a '{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", "after the dictionary"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK(parse(bad[i].text, &h, err) < 0 && strstr(err, bad[i].want), "%s: got \"%s\"", bad[i].text, err);
    }
}

static void test_npy_write(void)
{
    const int64_t shapes[][3] = {{0}, {5}, {2, 3}, {4, 0, 1}};
    const int ranks[] = {0, 1, 2, 3};
    for (int d = TS_F32; d <= TS_U8; d++)
        for (int s = 0; s < 4; s++) {
            char *buf;
            size_t len;
            FILE *f = open_memstream(&buf, &len);
            CHECK(npy_write_header(f, (ts_dtype)d, ranks[s], shapes[s]) == 0, "write");
            fclose(f);
            CHECK(len % 64 == 0 && buf[len - 1] == '\n', "64-byte aligned data (%zu)", len);
            f = fmemopen(buf, len, "rb");
            npy_info h;
            char err[256] = "";
            CHECK(npy_read_header(f, &h, MAX, err, sizeof err) == 0, "read back: %s", err);
            CHECK((int)h.dtype == d && h.rank == ranks[s] && h.data_offset == (long)len && h.major == 1, "fields");
            for (int k = 0; k < h.rank; k++)
                CHECK(h.shape[k] == shapes[s][k], "shape");
            fclose(f);
            free(buf);
        }
    /* versions 2.0 and 3.0 (4-byte header length), and bad prefixes */
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n";
    for (int v = 2; v <= 4; v++) {
        unsigned char b[128];
        size_t dl = strlen(dict);
        memcpy(b, "\x93NUMPY", 6);
        b[6] = (unsigned char)v;
        b[7] = 0;
        b[8] = (unsigned char)dl;
        b[9] = b[10] = b[11] = 0;
        memcpy(b + 12, dict, dl);
        FILE *f = fmemopen(b, 12 + dl, "rb");
        npy_info h;
        char err[256] = "";
        int rc = npy_read_header(f, &h, MAX, err, sizeof err);
        if (v < 4)
            CHECK(rc == 0 && h.data_offset == (long)(12 + dl) && h.nbytes == 24, "version %d: %s", v, err);
        else
            CHECK(rc < 0 && strstr(err, "version 4.0"), "version 4 refused: %s", err);
        fclose(f);
    }
    FILE *f = fmemopen("PK\x03\x04zipfile", 11, "rb");
    npy_info h;
    char err[256] = "";
    CHECK(npy_read_header(f, &h, MAX, err, sizeof err) < 0 && strstr(err, "not a .npy"), "npz refused: %s", err);
    fclose(f);
}

/* npy_fortran against the definition: element (i0, ..., i_{r-1}) sits at
 * sum i_k prod_{j<k} n_j in Fortran order and sum i_k prod_{j>k} n_j in C
 * order; the source is fed in pieces of random whole numbers of elements. */
static void test_npy_fortran(void)
{
    const int64_t shapes[][4] = {{2, 3, 4, 5}, {7, 1, 3, 1}, {1, 1, 1, 9}, {3, 2, 1, 1}, {4, 4, 4, 4}};
    const int ranks[] = {4, 4, 4, 2, 3};
    const size_t esizes[] = {1, 2, 4, 8, 16};
    uint64_t rng = 12345;
    for (size_t si = 0; si < sizeof ranks / sizeof ranks[0]; si++)
        for (size_t ei = 0; ei < sizeof esizes / sizeof esizes[0]; ei++) {
            const int64_t *n = shapes[si];
            int r = ranks[si];
            size_t es = esizes[ei], count = 1;
            for (int k = 0; k < r; k++)
                count *= (size_t)n[k];
            unsigned char *src = malloc(count * es), *want = malloc(count * es), *got = malloc(count * es);
            for (size_t i = 0; i < count * es; i++)
                src[i] = (unsigned char)(i * 131 + i / 7);
            for (size_t f = 0; f < count; f++) { /* f: Fortran offset */
                size_t rest = f, c = 0, cs = 1;
                int64_t idx[4];
                for (int k = 0; k < r; k++) {
                    idx[k] = (int64_t)(rest % (size_t)n[k]);
                    rest /= (size_t)n[k];
                }
                for (int k = r - 1; k >= 0; k--) {
                    c += (size_t)idx[k] * cs;
                    cs *= (size_t)n[k];
                }
                memcpy(want + c * es, src + f * es, es);
            }
            memset(got, 0xee, count * es);
            npy_fortran t;
            npy_fortran_init(&t, es, r, n);
            for (size_t done = 0; done < count;) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                size_t k = 1 + (size_t)(rng >> 33) % 13;
                if (k > count - done)
                    k = count - done;
                npy_fortran_put(&t, got, src + done * es, k * es);
                done += k;
            }
            CHECK(memcmp(got, want, count * es) == 0, "Fortran to C: shape %d, element size %zu", (int)si, es);
            free(src);
            free(want);
            free(got);
        }
}

static char *json_of(const char *s, size_t n, size_t *len)
{
    char *buf;
    FILE *f = open_memstream(&buf, len);
    fputc('{', f);
    json_write_string(f, "k", 1);
    fputc(':', f);
    json_write_string(f, s, n);
    fputc('}', f);
    fclose(f);
    return buf;
}

static void test_json(void)
{
    /* every byte 1..255, alone and in a valid UTF-8 context, round-trips */
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = 0;
    const char *samples[] = {all,
                             "plain",
                             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5",
                             "\xc3",
                             "\xed\xa0\x80",
                             "",
                             "quote \" backslash \\ slash / tab \t nl \n cr \r bell \a del \x7f"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        size_t len;
        char *text = json_of(samples[i], strlen(samples[i]), &len);
        json_pair *p;
        char err[256] = "";
        int n = json_parse_flat_object(text, len, &p, err, sizeof err);
        CHECK(n == 1 && !strcmp(p[0].key, "k") && !strcmp(p[0].value, samples[i]), "round trip %zu: %s (%s)", i, err,
              text);
        /* the output is valid UTF-8 with no raw control characters */
        for (size_t k = 0; k < len; k++)
            CHECK((unsigned char)text[k] >= 0x20, "raw control character in JSON output");
        if (n > 0)
            json_pairs_free(p, n);
        free(text);
    }
    /* reading JSON written by others */
    const char *good =
        "\xef\xbb\xbf { \"a\" : \"x\\u00e9\\ud83c\\udfb5\\/\" ,\n\"b\":44100, \"c\": -1.5e-3, \"d\": true }\n";
    json_pair *p;
    char err[256] = "";
    int n = json_parse_flat_object(good, strlen(good), &p, err, sizeof err);
    CHECK(n == 4, "good: %s", err);
    if (n == 4) {
        CHECK(!strcmp(p[0].value, "x\xc3\xa9\xf0\x9f\x8e\xb5/"), "escapes: %s", p[0].value);
        CHECK(!strcmp(p[1].value, "44100") && !strcmp(p[2].value, "-1.5e-3") && !strcmp(p[3].value, "true"),
              "literals kept as text");
        json_pairs_free(p, n);
    }
    CHECK(json_parse_flat_object("{}", 2, &p, err, sizeof err) == 0, "empty object");
    const struct {
        const char *text, *want;
    } bad[] = {
        {"", "expected '{'"},
        {"[]", "expected '{'"},
        {"{\"a\": \"1\", \"a\": \"2\"}", "appears twice"},
        {"{\"a\": {\"b\": \"c\"}}", "must be strings"},
        {"{\"a\": [1]}", "must be strings"},
        {"{\"a\": null}", "must be strings"},
        {"{\"a\": \"x\"", "expected ',' or '}'"},
        {"{\"a\": \"x}", "unterminated string"},
        {"{\"a\": \"\\q\"}", "unknown escape"},
        {"{\"a\": \"\\u12\"}", "hex digit"},
        {"{\"a\": \"\\ud800\"}", "unpaired surrogate"},
        {"{\"a\": \"\\u0000\"}", "NUL"},
        {"{\"a\": \"x\"} x", "after the object"},
        {"{\"a\": \"\xff\"}", "invalid UTF-8"},
        {"{\"a\": 01}", "expected ',' or '}'"},
        {"{a: \"x\"}", "expected a string key"},
        {"{\"a\": \"line\nbreak\"}", "control character"},
        {"{\"a\" \"x\"}", "expected ':'"},
        {"{\"a\": \"x\",\n  \"b\": tru}", "line 2, column 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        n = json_parse_flat_object(bad[i].text, strlen(bad[i].text), &p, err, sizeof err);
        CHECK(n < 0 && strstr(err, bad[i].want), "'%s': expected \"%s\", got \"%s\"", bad[i].text, bad[i].want, err);
    }
}

int main(void)
{
    test_npy_parse();
    test_npy_write();
    test_npy_fortran();
    test_json();
    return check_report("test_npy");
}
