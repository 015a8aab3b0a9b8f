/* Checks musdb-slice's records against the files of a MUSDB18 tree,
 * independently of lib/audio/slice.c: reads the stream on stdin, and for
 * each record reads ROOT/<split folder>/<track>/<stem>.wav at the record's
 * offset with libsndfile directly, then compares
 *   - every stem tensor with the sum of the files its name stands for
 *     (STEMS as given to musdb-slice: other = every stem not named,
 *     accompaniment = drums + bass + other), exactly, summed in float in
 *     the order vocals, drums, bass, other;
 *   - mixture with mixture.wav (attribute mixture=file) or the sum of all
 *     four stem files (mixture=sum);
 *   - samples past the attribute length with zero.
 * Gain, swap, remix and mixup are replayed from the record's aug_*
 * attributes (gain: x * g in float, then swap; remix: each stem from the
 * track@offset named; mixup: lambda * a + (1 - lambda) * b in float), so
 * their effect is checked exactly too; records stretched or pitch-shifted
 * are counted as not checked.
 * Usage: musdb_verify ROOT STEMS < stream. Prints "N records ok".
 *        musdb_verify --describe < stream: one line per record,
 *        "track|offset|length|frames|tensor names|KEY=VALUE of aug_* and source_length|L==R". */
#include "stream/ts.h"
#include "util/cli.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *root;
static const char *const base[4] = {"vocals", "drums", "bass", "other"};

static float *read_file(const char *path, int64_t off, int64_t n)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(path, SFM_READ, &si);
    if (!sf)
        tf_die("%s: %s", path, sf_strerror(NULL));
    float *inter = calloc((size_t)n * (size_t)si.channels + 1, sizeof(float));
    float *out = calloc((size_t)n * 2 + 1, sizeof(float));
    if (sf_seek(sf, off, SEEK_SET) != off)
        tf_die("%s: seek to %lld failed", path, (long long)off);
    sf_count_t got = sf_readf_float(sf, inter, n); /* past the end: zeros stay */
    for (sf_count_t i = 0; i < got; i++)
        for (int c = 0; c < 2; c++)
            out[(size_t)c * (size_t)n + (size_t)i] = inter[i * si.channels + (si.channels == 2 ? c : 0)];
    sf_close(sf);
    free(inter);
    return out;
}

/* ROOT/train/NAME or ROOT/test/NAME, whichever exists. */
static const char *track_dir(const char *name)
{
    static char d[4096];
    snprintf(d, sizeof d, "%s/train/%s/mixture.wav", root, name);
    FILE *f = fopen(d, "rb");
    snprintf(d, sizeof d, "%s/%s/%s", root, f ? "train" : "test", name);
    if (f)
        fclose(f);
    return d;
}

/* The four stems of one example as the record's attributes describe it:
 * track@offset (or PREFIXremix), then PREFIXgain and PREFIXswap. */
static void example(const ts_record *rec, const char *prefix, const char *track, int64_t off, int64_t frames, float **f)
{
    char key[64], tr[4][1024];
    int64_t offs[4];
    for (int k = 0; k < 4; k++) {
        snprintf(tr[k], sizeof tr[k], "%s", track);
        offs[k] = off;
    }
    snprintf(key, sizeof key, "%sremix", prefix);
    const char *remix = ts_attr_get(rec, key);
    if (remix) { /* vocals=NAME@OFF;drums=NAME@OFF;... */
        char *copy = strdup(remix), *save = NULL;
        int k = 0;
        for (char *it = strtok_r(copy, ";", &save); it && k < 4; it = strtok_r(NULL, ";", &save), k++) {
            char *eq = strchr(it, '='), *at = strrchr(it, '@');
            if (!eq || !at || at < eq)
                tf_die("bad %s: %s", key, remix);
            *at = 0;
            snprintf(tr[k], sizeof tr[k], "%s", eq + 1);
            offs[k] = strtoll(at + 1, NULL, 10);
        }
        free(copy);
    }
    float gain[4] = {1, 1, 1, 1};
    int swap[4] = {0, 0, 0, 0};
    snprintf(key, sizeof key, "%sgain", prefix);
    const char *g = ts_attr_get(rec, key);
    if (g && sscanf(g, "%f,%f,%f,%f", &gain[0], &gain[1], &gain[2], &gain[3]) != 4)
        tf_die("bad %s: %s", key, g);
    snprintf(key, sizeof key, "%sswap", prefix);
    const char *sw = ts_attr_get(rec, key);
    if (sw && sscanf(sw, "%d,%d,%d,%d", &swap[0], &swap[1], &swap[2], &swap[3]) != 4)
        tf_die("bad %s: %s", key, sw);
    for (int k = 0; k < 4; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.wav", track_dir(tr[k]), base[k]);
        f[k] = read_file(path, offs[k], frames);
        for (int64_t j = 0; j < 2 * frames; j++)
            f[k][j] *= gain[k];
        if (swap[k])
            for (int64_t j = 0; j < frames; j++) {
                float t = f[k][j];
                f[k][j] = f[k][frames + j];
                f[k][frames + j] = t;
            }
    }
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc == 2 && !strcmp(argv[1], "--describe")) {
        ts_reader *r = ts_reader_open(0, NULL);
        ts_record rec;
        ts_record_init(&rec);
        while (ts_read_or_die(r, &rec) == 1) {
            ts_tensor *m = ts_tensor_get(&rec, "mixture");
            long long fr = m && m->rank == 2 ? (long long)m->shape[1] : -1;
            printf("%s|%s|%s|%lld|", ts_attr_get(&rec, "track"), ts_attr_get(&rec, "offset"),
                   ts_attr_get(&rec, "length"), fr);
            for (int i = 0; i < rec.n_tensors; i++)
                printf("%s%s", i ? "," : "", rec.tensors[i].name);
            printf("|");
            for (int i = 0; i < rec.n_attrs; i++)
                if (!strncmp(rec.attrs[i].key, "aug_", 4) || !strcmp(rec.attrs[i].key, "source_length"))
                    printf("%s=%s ", rec.attrs[i].key, rec.attrs[i].value);
            int lr = m && m->dtype == TS_F32 && fr > 0 &&
                     !memcmp(m->data, (float *)m->data + fr, (size_t)fr * sizeof(float));
            printf("|%s\n", lr ? "L==R" : "L!=R");
        }
        ts_record_free(&rec);
        ts_reader_close(r);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: musdb_verify ROOT STEMS < stream\n");
        return 2;
    }
    root = argv[1];
    char *names[8];
    int nst = tf_split_list("STEMS", argv[2], names, 8);
    unsigned named = 0;
    for (int i = 0; i < nst; i++)
        for (int k = 0; k < 3; k++)
            if (!strcmp(names[i], base[k]))
                named |= 1u << k;
    ts_reader *r = ts_reader_open(0, NULL);
    ts_record rec;
    ts_record_init(&rec);
    long n = 0, bad = 0, unchecked = 0;
    while (ts_read_or_die(r, &rec) == 1) {
        const char *track = ts_attr_get(&rec, "track"), *how = ts_attr_get(&rec, "mixture");
        int64_t off, len;
        if (!track || !how || ts_attr_get_i64(&rec, "offset", &off) || ts_attr_get_i64(&rec, "length", &len))
            tf_die("record %ld: attributes track, mixture, offset, length missing", n);
        ts_tensor *mt = ts_tensor_get(&rec, "mixture");
        if (!mt || mt->dtype != TS_F32 || mt->rank != 2 || mt->shape[0] != 2 || mt->shape[1] < len)
            tf_die("record %ld: bad mixture tensor", n);
        if (ts_attr_get(&rec, "aug_tempo") || ts_attr_get(&rec, "aug_pitch") || ts_attr_get(&rec, "aug_mixup_tempo") ||
            ts_attr_get(&rec, "aug_mixup_pitch")) {
            unchecked++;
            n++;
            continue;
        }
        int64_t frames = mt->shape[1];
        float *f[4], *fm = NULL;
        example(&rec, "aug_", track, off, frames, f);
        const char *lam = ts_attr_get(&rec, "aug_mixup");
        if (lam) {
            float lambda = (float)strtod(lam, NULL), mu = 1.0f - lambda;
            int64_t off2;
            const char *t2 = ts_attr_get(&rec, "aug_mixup_track");
            if (!t2 || ts_attr_get_i64(&rec, "aug_mixup_offset", &off2))
                tf_die("record %ld: aug_mixup without its track and offset", n);
            float *g[4];
            example(&rec, "aug_mixup_", t2, off2, frames, g);
            for (int k = 0; k < 4; k++) {
                for (int64_t j = 0; j < 2 * frames; j++)
                    f[k][j] = lambda * f[k][j] + mu * g[k][j];
                free(g[k]);
            }
        }
        if (!strcmp(how, "file")) {
            char path[4200];
            snprintf(path, sizeof path, "%s/mixture.wav", track_dir(track));
            fm = read_file(path, off, frames);
        }
        for (int i = -1; i < nst; i++) {
            const char *name = i < 0 ? "mixture" : names[i];
            unsigned mask;
            if (i < 0)
                mask = 15u;
            else if (!strcmp(name, "accompaniment"))
                mask = 14u;
            else if (!strcmp(name, "other"))
                mask = 15u & ~named;
            else {
                mask = 0;
                for (int k = 0; k < 3; k++)
                    if (!strcmp(name, base[k]))
                        mask = 1u << k;
            }
            ts_tensor *t = ts_tensor_get(&rec, name);
            if (!t || t->dtype != TS_F32 || t->rank != 2 || t->shape[0] != 2 || t->shape[1] != frames)
                tf_die("record %ld (%s @%lld): tensor '%s' missing or of the wrong shape", n, track, (long long)off,
                       name);
            const float *y = t->data;
            for (int64_t j = 0; j < 2 * frames; j++) {
                float want = 0;
                if (i < 0 && fm)
                    want = fm[j];
                else {
                    int first = 1;
                    for (int k = 0; k < 4; k++)
                        if (mask & (1u << k)) {
                            want = first ? f[k][j] : want + f[k][j];
                            first = 0;
                        }
                }
                if (j % frames >= len && !lam && !ts_attr_get(&rec, "aug_remix"))
                    want = want == 0 ? 0 : NAN; /* padding must be zero */
                if (y[j] != want && bad++ < 5)
                    fprintf(stderr, "record %ld (%s @%lld): %s[%lld] = %.9g, files give %.9g\n", n, track,
                            (long long)off, name, (long long)j, y[j], want);
            }
        }
        for (int k = 0; k < 4; k++)
            free(f[k]);
        free(fm);
        n++;
    }
    ts_record_free(&rec);
    ts_reader_close(r);
    tf_free_list(names, nst);
    if (bad) {
        fprintf(stderr, "%ld samples differ\n", bad);
        return 1;
    }
    if (unchecked)
        printf("%ld records ok, %ld stretched or pitch-shifted not checked\n", n - unchecked, unchecked);
    else
        printf("%ld records ok\n", n);
    return 0;
}
