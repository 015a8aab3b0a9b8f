/* JSON string escaping and a flat-object parser (see json.h). */
#include "stream/json.h"
#include "util/cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    else if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void json_write_string(FILE *f, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\t': fputs("\\t", f); break;
            case '\r': fputs("\\r", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            i++;
        } else if (c == 0x7f) {
            fputs("\\u007f", f);
            i++;
        } else {
            size_t l = utf8_len(s + i, n - i);
            if (l == 0) {
                fprintf(f, "\\udc%02x", c);
                i++;
            } else {
                fwrite(s + i, 1, l, f);
                i += l;
            }
        }
    }
    fputc('"', f);
}

void json_write_number(FILE *f, double v)
{
    if (!isfinite(v))
        fputs("null", f);
    else
        fprintf(f, "%.17g", v);
}

/* ---- parser ---- */

typedef struct {
    const char *s;
    size_t n, i;
    char *err;
    size_t errlen;
} parser;

static int perr(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(parser *p, const char *fmt, ...)
{
    size_t line = 1, col = 1;
    for (size_t k = 0; k < p->i && k < p->n; k++) {
        if (p->s[k] == '\n')
            line++, col = 1;
        else
            col++;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "line %zu, column %zu: %s", line, col, msg);
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int hex4(parser *p, unsigned *out)
{
    if (p->n - p->i < 4)
        return perr(p, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i + k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return perr(p, "bad hex digit in \\u escape");
    }
    p->i += 4;
    *out = v;
    return 0;
}

static void put_utf8(char *o, size_t *len, uint32_t cp)
{
    if (cp < 0x80)
        o[(*len)++] = (char)cp;
    else if (cp < 0x800) {
        o[(*len)++] = (char)(0xc0 | (cp >> 6));
        o[(*len)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*len)++] = (char)(0xe0 | (cp >> 12));
        o[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*len)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*len)++] = (char)(0xf0 | (cp >> 18));
        o[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*len)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* A \u escape (p->i after the 'u') into o at *len: a code point as UTF-8,
 * a surrogate pair joined, \udc80..\udcff (surrogateescape) as one raw
 * byte. Returns 0 or -1. */
static int parse_u_escape(parser *p, char *o, size_t *len)
{
    unsigned u;
    if (hex4(p, &u) < 0)
        return -1;
    if (u >= 0xdc80 && u <= 0xdcff) { /* surrogateescape: one raw byte */
        o[(*len)++] = (char)(u & 0xff);
    } else if (u >= 0xd800 && u <= 0xdbff) {
        unsigned lo;
        if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
            return perr(p, "unpaired surrogate \\u%04x", u);
        p->i += 2;
        if (hex4(p, &lo) < 0)
            return -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return perr(p, "unpaired surrogate \\u%04x", u);
        put_utf8(o, len, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
    } else if (u >= 0xdc00 && u <= 0xdfff) {
        return perr(p, "unpaired surrogate \\u%04x", u);
    } else if (u == 0) {
        return perr(p, "\\u0000 (NUL) is not allowed");
    } else {
        put_utf8(o, len, u);
    }
    return 0;
}

/* An escape (p->i at the '\\') into o at *len. Returns 0 or -1. */
static int parse_escape(parser *p, char *o, size_t *len)
{
    p->i++;
    if (p->i >= p->n)
        return perr(p, "unterminated escape");
    char e = p->s[p->i++];
    switch (e) {
    case '"': o[(*len)++] = '"'; break;
    case '\\': o[(*len)++] = '\\'; break;
    case '/': o[(*len)++] = '/'; break;
    case 'b': o[(*len)++] = '\b'; break;
    case 'f': o[(*len)++] = '\f'; break;
    case 'n': o[(*len)++] = '\n'; break;
    case 'r': o[(*len)++] = '\r'; break;
    case 't': o[(*len)++] = '\t'; break;
    case 'u': return parse_u_escape(p, o, len);
    default: return perr(p, "unknown escape '\\%c'", e);
    }
    return 0;
}

/* Parses a string at p->i (which is at '"'); the result is malloc'ed. */
static int parse_string(parser *p, char **out, size_t *outlen)
{
    p->i++;
    /* the decoded string is never longer than the encoded one */
    size_t start = p->i, len = 0;
    char *o = tf_malloc(p->n - start + 1, "JSON string");
    for (;;) {
        if (p->i >= p->n) {
            free(o);
            return perr(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) {
            free(o);
            return perr(p, "control character 0x%02x inside a string (escape it)", c);
        }
        if (c == '\\') {
            if (parse_escape(p, o, &len) < 0) {
                free(o);
                return -1;
            }
            continue;
        }
        size_t l = utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
        if (l == 0) {
            free(o);
            return perr(p, "invalid UTF-8 byte 0x%02x", c);
        }
        memcpy(o + len, p->s + p->i, l);
        len += l;
        p->i += l;
    }
    o[len] = 0;
    *out = o;
    *outlen = len;
    return 0;
}

/* A JSON number, true or false, kept as its text. */
static int parse_literal(parser *p, char **out)
{
    size_t start = p->i;
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0)
        p->i += 4;
    else if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0)
        p->i += 5;
    else {
        /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
        size_t i = p->i;
        if (i < p->n && p->s[i] == '-')
            i++;
        if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
            return perr(p, "expected a string value");
        if (p->s[i] == '0')
            i++;
        else
            while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
        if (i < p->n && p->s[i] == '.') {
            i++;
            if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
                return perr(p, "bad number");
            while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
        }
        if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
            i++;
            if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
                i++;
            if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
                return perr(p, "bad number");
            while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
        }
        p->i = i;
    }
    size_t l = p->i - start;
    *out = tf_malloc(l + 1, "JSON value");
    memcpy(*out, p->s + start, l);
    (*out)[l] = 0;
    return 0;
}

void json_pairs_free(json_pair *pairs, int n)
{
    for (int i = 0; i < n; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
}

/* One "key": value pair at p->i into *key and *val (malloc'ed); the key
 * must be new among pairs[0..np). Returns 0 or -1 (nothing allocated). */
static int parse_pair(parser *p, const json_pair *pairs, int np, char **key, char **val)
{
    size_t kl = 0, vl = 0;
    if (p->i >= p->n || p->s[p->i] != '"')
        return perr(p, "expected a string key");
    if (parse_string(p, key, &kl) < 0)
        return -1;
    for (int k = 0; k < np; k++)
        if (strcmp(pairs[k].key, *key) == 0) {
            perr(p, "key \"%.200s\" appears twice", *key);
            free(*key);
            return -1;
        }
    if (strlen(*key) != kl) {
        free(*key);
        return perr(p, "key contains a NUL byte");
    }
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ':') {
        free(*key);
        return perr(p, "expected ':' after a key");
    }
    p->i++;
    skip_ws(p);
    int rc;
    if (p->i < p->n && p->s[p->i] == '"')
        rc = parse_string(p, val, &vl);
    else if (p->i < p->n && (p->s[p->i] == '{' || p->s[p->i] == '[' || p->s[p->i] == 'n'))
        rc = perr(p, "values must be strings (not objects, arrays or null)");
    else
        rc = parse_literal(p, val);
    if (rc < 0)
        free(*key);
    return rc;
}

int json_parse_flat_object(const char *text, size_t n, json_pair **out, char *err, size_t errlen)
{
    parser p = {text, n, 0, err, errlen};
    json_pair *pairs = NULL;
    int np = 0, cap = 0;
    *out = NULL;
    if (n >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb && (unsigned char)text[2] == 0xbf)
        p.i = 3; /* UTF-8 byte order mark */
    skip_ws(&p);
    if (p.i >= n || text[p.i] != '{') {
        perr(&p, "expected '{' (attrs.json holds one JSON object)");
        goto fail;
    }
    p.i++;
    skip_ws(&p);
    if (p.i < n && text[p.i] == '}') {
        p.i++;
    } else {
        for (;;) {
            skip_ws(&p);
            char *key = NULL, *val = NULL;
            if (parse_pair(&p, pairs, np, &key, &val) < 0)
                goto fail;
            if (np == cap) {
                cap = cap ? 2 * cap : 16;
                pairs = tf_realloc(pairs, (size_t)cap * sizeof *pairs, "JSON pairs");
            }
            pairs[np].key = key;
            pairs[np].value = val;
            np++;
            skip_ws(&p);
            if (p.i < n && text[p.i] == ',') {
                p.i++;
                continue;
            }
            if (p.i < n && text[p.i] == '}') {
                p.i++;
                break;
            }
            perr(&p, "expected ',' or '}'");
            goto fail;
        }
    }
    skip_ws(&p);
    if (p.i != n) {
        perr(&p, "unexpected text after the object");
        goto fail;
    }
    *out = pairs;
    return np;
fail:
    json_pairs_free(pairs, np);
    return -1;
}
