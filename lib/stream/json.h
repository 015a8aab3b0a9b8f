/* A small JSON helper: string escaping for writers, and a parser for flat
 * objects whose values are strings (attrs.json of ts2npy/npy2ts; reusable
 * by any tool that writes --json). Strings are byte strings: valid UTF-8 is
 * written as is; a byte that is not part of valid UTF-8 is written as
 * \udcXX (Python's "surrogateescape"), and the parser maps \udc80..\udcff
 * back to that byte, so any byte string (without NUL) round-trips. */
#ifndef TFSWA_STREAM_JSON_H
#define TFSWA_STREAM_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes s (n bytes) as a quoted JSON string. */
void json_write_string(FILE *f, const char *s, size_t n);
/* Writes a double: a JSON number that reads back to the same value, or
 * null for NaN and infinities. */
void json_write_number(FILE *f, double v);

typedef struct {
    char *key;
    char *value; /* NUL-terminated; the parser refuses values holding NUL */
} json_pair;

/* Parses a flat JSON object {"k": "v", ...} of text[0..n). Values must be
 * strings; numbers, true and false are accepted and kept as their literal
 * text. On success returns the number of pairs (array in *out, free with
 * json_pairs_free); on error returns -1 and writes "line L, column C: what"
 * into err. Duplicate keys are an error. */
int json_parse_flat_object(const char *text, size_t n, json_pair **out, char *err, size_t errlen);
void json_pairs_free(json_pair *p, int n);

#endif
