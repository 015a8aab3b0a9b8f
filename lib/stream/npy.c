/* numpy .npy reader and writer (see npy.h). The format: 6 magic bytes
 * "\x93NUMPY", major and minor version bytes, the header length (u16 for
 * 1.0, u32 for 2.0 and 3.0), then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a newline; the data follow. */
#include "stream/npy.h"
#include "util/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    ts_dtype d;
    const char *descr;
} DESCRS[] = {
    {TS_F32, "<f4"}, {TS_F64, "<f8"}, {TS_C64, "<c8"}, {TS_C128, "<c16"},
    {TS_I16, "<i2"}, {TS_I32, "<i4"}, {TS_I64, "<i8"}, {TS_U8, "|u1"},
};
#define NDESCR (sizeof DESCRS / sizeof DESCRS[0])

const char *npy_descr(ts_dtype d)
{
    for (size_t i = 0; i < NDESCR; i++)
        if (DESCRS[i].d == d)
            return DESCRS[i].descr;
    return NULL;
}

static int descr_dtype(const char *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < NDESCR; i++)
        if (strcmp(s, DESCRS[i].descr) == 0)
            return DESCRS[i].d;
    /* '=' is native order (little-endian here); 1-byte types may use any order character */
    if (s[0] == '=' || (s[0] && strcmp(s + 1, "u1") == 0) || strcmp(s, "u1") == 0 || strcmp(s, "B") == 0) {
        const char *rest = s[0] == '=' || s[0] == '|' || s[0] == '<' || s[0] == '>' ? s + 1 : s;
        char buf[80];
        snprintf(buf, sizeof buf, "<%s", rest);
        if (strcmp(rest, "u1") == 0 || strcmp(rest, "B") == 0)
            return TS_U8;
        for (size_t i = 0; i < NDESCR; i++)
            if (strcmp(buf, DESCRS[i].descr) == 0)
                return DESCRS[i].d;
    }
    if (s[0] == '>')
        return tf_fail(err, errlen, "big-endian data ('%s') is not supported; save a.astype(a.dtype.newbyteorder('<'))",
                       s);
    if (strchr(s, 'O'))
        return tf_fail(err, errlen, "object arrays ('%s') are not supported", s);
    if (strstr(s, "b1") || strcmp(s, "?") == 0)
        return tf_fail(err, errlen, "boolean arrays ('%s') are not supported; save a.astype(np.uint8)", s);
    return tf_fail(err, errlen,
                   "dtype '%s' is not supported (supported: <f4 <f8 <c8 <c16 <i2 <i4 <i8 |u1, "
                   "i.e. float32 float64 complex64 complex128 int16 int32 int64 uint8)",
                   s);
}

/* ---- header dictionary parser ---- */

typedef struct {
    const char *s;
    size_t n, i;
} lex;

static void ws(lex *l)
{
    while (l->i < l->n && (l->s[l->i] == ' ' || l->s[l->i] == '\t' || l->s[l->i] == '\n' || l->s[l->i] == '\r'))
        l->i++;
}

static int eat(lex *l, char c)
{
    ws(l);
    if (l->i < l->n && l->s[l->i] == c) {
        l->i++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, copied into out. */
static int pystring(lex *l, char *out, size_t outlen)
{
    ws(l);
    if (l->i >= l->n || (l->s[l->i] != '\'' && l->s[l->i] != '"'))
        return -1;
    char q = l->s[l->i++];
    size_t k = 0;
    while (l->i < l->n && l->s[l->i] != q) {
        if (l->s[l->i] == '\\' || k + 1 >= outlen)
            return -1;
        out[k++] = l->s[l->i++];
    }
    if (l->i >= l->n)
        return -1;
    l->i++;
    out[k] = 0;
    return 0;
}

/* The value of 'fortran_order': True or False. Returns 0 or -1. */
static int parse_bool(lex *l, int *v, char *err, size_t errlen)
{
    if (l->n - l->i >= 4 && memcmp(l->s + l->i, "True", 4) == 0)
        *v = 1, l->i += 4;
    else if (l->n - l->i >= 5 && memcmp(l->s + l->i, "False", 5) == 0)
        *v = 0, l->i += 5;
    else
        return tf_fail(err, errlen, "bad header: 'fortran_order' is not True or False");
    return 0;
}

/* The value of 'shape': a tuple of non-negative integers, into h->shape and
 * h->rank. Returns 0 or -1. */
static int parse_shape(lex *l, npy_info *h, char *err, size_t errlen)
{
    if (!eat(l, '('))
        return tf_fail(err, errlen, "bad header: 'shape' is not a tuple");
    for (;;) {
        ws(l);
        if (eat(l, ')'))
            return 0;
        if (l->i >= l->n || l->s[l->i] < '0' || l->s[l->i] > '9')
            return tf_fail(err, errlen, "bad header: 'shape' holds something other than non-negative integers");
        uint64_t d = 0;
        while (l->i < l->n && l->s[l->i] >= '0' && l->s[l->i] <= '9') {
            if (d > TS_MAX_DIM)
                break;
            d = d * 10 + (uint64_t)(l->s[l->i++] - '0');
        }
        if (d > TS_MAX_DIM)
            return tf_fail(err, errlen, "dimension %d is larger than 2^40", h->rank);
        if (l->i < l->n && (l->s[l->i] == 'L' || l->s[l->i] == 'l'))
            l->i++; /* Python 2 long */
        if (h->rank == TS_MAX_RANK)
            return tf_fail(err, errlen, "more than %d dimensions", TS_MAX_RANK);
        h->shape[h->rank++] = (int64_t)d;
        if (eat(l, ','))
            continue;
        if (eat(l, ')'))
            return 0;
        return tf_fail(err, errlen, "bad header: expected ',' or ')' in 'shape'");
    }
}

/* h->nbytes from h->dtype and h->shape, checked against max_bytes. Returns
 * 0 or -1. */
static int data_size(npy_info *h, uint64_t max_bytes, char *err, size_t errlen)
{
    uint64_t nb = ts_dtype_size(h->dtype);
    int zero = 0;
    for (int i = 0; i < h->rank; i++) {
        uint64_t x = (uint64_t)h->shape[i];
        if (x == 0)
            zero = 1;
        else if (!zero) {
            if (nb > max_bytes / x)
                return tf_fail(err, errlen, "larger than the tensor size limit of %llu bytes (TFSWA_MAX_TENSOR_BYTES)",
                               (unsigned long long)max_bytes);
            nb *= x;
        }
    }
    h->nbytes = zero ? 0 : nb;
    if (h->nbytes > max_bytes)
        return tf_fail(err, errlen, "larger than the tensor size limit of %llu bytes (TFSWA_MAX_TENSOR_BYTES)",
                       (unsigned long long)max_bytes);
    return 0;
}

int npy_parse_dict(const char *text, size_t n, npy_info *h, uint64_t max_bytes, char *err, size_t errlen)
{
    lex l = {text, n, 0};
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    char descr[64] = "";
    h->rank = 0;
    if (!eat(&l, '{'))
        return tf_fail(err, errlen, "bad header: expected a '{' dictionary");
    while (!eat(&l, '}')) {
        char key[32];
        if (pystring(&l, key, sizeof key) < 0)
            return tf_fail(err, errlen, "bad header: expected a quoted key at byte %zu", l.i);
        if (!eat(&l, ':'))
            return tf_fail(err, errlen, "bad header: expected ':' after '%s'", key);
        ws(&l);
        if (strcmp(key, "descr") == 0) {
            if (have_descr++)
                return tf_fail(err, errlen, "bad header: 'descr' twice");
            if (l.i < l.n && l.s[l.i] == '[')
                return tf_fail(err, errlen, "structured (record) arrays are not supported");
            if (pystring(&l, descr, sizeof descr) < 0)
                return tf_fail(err, errlen, "bad header: 'descr' is not a simple dtype string");
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_fortran++)
                return tf_fail(err, errlen, "bad header: 'fortran_order' twice");
            if (parse_bool(&l, &fortran, err, errlen) < 0)
                return -1;
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape++)
                return tf_fail(err, errlen, "bad header: 'shape' twice");
            if (parse_shape(&l, h, err, errlen) < 0)
                return -1;
        } else {
            return tf_fail(err, errlen, "bad header: unknown key '%s'", key);
        }
        if (!eat(&l, ',')) {
            if (eat(&l, '}'))
                break;
            return tf_fail(err, errlen, "bad header: expected ',' or '}'");
        }
    }
    ws(&l);
    if (l.i != l.n)
        return tf_fail(err, errlen, "bad header: text after the dictionary");
    if (!have_descr || !have_fortran || !have_shape)
        return tf_fail(err, errlen, "bad header: missing '%s'",
                       !have_descr     ? "descr"
                       : !have_fortran ? "fortran_order"
                                       : "shape");
    int d = descr_dtype(descr, err, errlen);
    if (d < 0)
        return -1;
    /* with at most one dimension above 1 both orders are the same bytes */
    int nontrivial = 0;
    for (int i = 0; i < h->rank; i++)
        nontrivial += h->shape[i] > 1;
    h->fortran = fortran && nontrivial > 1;
    h->dtype = (ts_dtype)d;
    return data_size(h, max_bytes, err, errlen);
}

int npy_read_header(FILE *f, npy_info *h, uint64_t max_bytes, char *err, size_t errlen)
{
    unsigned char pre[12];
    memset(h, 0, sizeof *h);
    size_t got = fread(pre, 1, 10, f);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        if (ferror(f))
            return tf_fail(err, errlen, "read error: %s", strerror(errno));
        return tf_fail(err, errlen, "not a .npy file (bad magic)");
    }
    h->major = pre[6];
    h->minor = pre[7];
    uint32_t hlen;
    long off;
    if (h->major == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
        off = 10;
    } else if (h->major == 2 || h->major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2)
            return tf_fail(err, errlen, "truncated header");
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        off = 12;
    } else {
        return tf_fail(err, errlen, "unsupported .npy format version %d.%d (1.0, 2.0 and 3.0 are read)", h->major,
                       h->minor);
    }
    if (h->minor != 0)
        return tf_fail(err, errlen, "unsupported .npy format version %d.%d", h->major, h->minor);
    if (hlen > (1u << 20))
        return tf_fail(err, errlen, "header length %u is implausible", hlen);
    char *text = tf_malloc(hlen + 1, "npy header");
    if (fread(text, 1, hlen, f) != hlen) {
        free(text);
        return tf_fail(err, errlen, "truncated header");
    }
    text[hlen] = 0;
    int rc = npy_parse_dict(text, hlen, h, max_bytes, err, errlen);
    free(text);
    h->data_offset = off + (long)hlen;
    return rc;
}

void npy_fortran_init(npy_fortran *t, size_t esize, int rank, const int64_t *shape)
{
    memset(t, 0, sizeof *t);
    t->esize = esize;
    t->rank = rank;
    int64_t s = 1;
    for (int k = rank - 1; k >= 0; k--) {
        t->shape[k] = shape[k];
        t->stride[k] = s;
        s *= shape[k];
    }
}

void npy_fortran_put(npy_fortran *t, void *dst, const void *src, size_t nbytes)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < nbytes / t->esize; i++) {
        memcpy(d + t->off * t->esize, s + i * t->esize, t->esize);
        /* next Fortran index: the first dimension runs fastest */
        for (int k = 0; k < t->rank; k++) {
            if (++t->idx[k] < t->shape[k]) {
                t->off += (uint64_t)t->stride[k];
                break;
            }
            t->off -= (uint64_t)((t->shape[k] - 1) * t->stride[k]);
            t->idx[k] = 0;
        }
    }
}

int npy_write_header(FILE *f, ts_dtype dtype, int rank, const int64_t *shape)
{
    const char *descr = npy_descr(dtype);
    if (!descr || rank < 0 || rank > TS_MAX_RANK) {
        errno = EINVAL;
        return -1;
    }
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", rank == 1 ? "," : "");
    size_t total = 10 + (size_t)n + 1; /* + '\n' */
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n)
        return -1;
    for (size_t i = 0; i < pad; i++)
        if (fputc(' ', f) == EOF)
            return -1;
    if (fputc('\n', f) == EOF)
        return -1;
    return 0;
}
