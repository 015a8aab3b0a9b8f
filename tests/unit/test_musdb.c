/* The MUSDB18 layer and the slicer: stem rules, splits (the official
 * validation list and valid.txt), track patterns, sequential segment
 * boundaries and lengths (with and without padding and overlap), stem sums
 * against the files, determinism of random records (same seed: same bytes;
 * other seed: other data; augmentation on: same picks), plain files of
 * several formats and rates, and every bad-data case with its message. */
#include "audio/musdb.h"
#include "audio/slice.h"
#include "check.h"
#include "util/atomic.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[1024];
static const char *const stem_files[5] = {"mixture", "vocals", "drums", "bass", "other"};

/* Deterministic 16-bit-exact test audio: stem s of track k. */
static void stem_audio(int k, int s, float *x, int64_t n)
{
    uint32_t st = 1u + 7919u * (uint32_t)k + 104729u * (uint32_t)s;
    for (int64_t i = 0; i < 2 * n; i++) {
        st = st * 1664525u + 1013904223u;
        x[i] = (float)((int)(st >> 20) - 2048) / 32768.0f; /* |x| < 1/16, exact in 16 bits */
    }
}

static void write_track_ext(const char *split, const char *name, int k, int64_t n, int rate, const char *ext)
{
    char path[2048], err[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, split, name);
    tf_mkdirs(path);
    float *x = malloc((size_t)n * 2 * sizeof(float)), *mix = calloc((size_t)n * 2, sizeof(float));
    for (int s = 0; s < 4; s++) {
        stem_audio(k, s, x, n);
        for (int64_t i = 0; i < 2 * n; i++)
            mix[i] += x[i];
        snprintf(path, sizeof path, "%s/%s/%s/%s.%s", root, split, name, stem_files[s + 1], ext);
        CHECK(audio_write(path, x, 2, n, rate, AUDIO_PCM16, err, sizeof err) == 0, "%s", err);
    }
    snprintf(path, sizeof path, "%s/%s/%s/mixture.%s", root, split, name, ext);
    CHECK(audio_write(path, mix, 2, n, rate, AUDIO_PCM16, err, sizeof err) == 0, "%s", err);
    free(x);
    free(mix);
}

static void write_track(const char *split, const char *name, int k, int64_t n, int rate)
{
    write_track_ext(split, name, k, n, rate, "wav");
}

static const char *const train_names[4] = {"Alpha - A", "Fergessen - Nos Palpitants", "Beta - B",
                                           "Young Griffo - Pennies"};
static const int64_t train_len[4] = {20000, 15000, 30001, 9000};

static void make_tree(void)
{
    for (int k = 0; k < 4; k++)
        write_track("train", train_names[k], k, train_len[k], 44100);
    write_track("test", "Gamma - C", 4, 25000, 44100);
    write_track("test", "Delta - D", 5, 12345, 44100);
}

static void test_stems(void)
{
    musdb_stems st;
    char err[256];
    CHECK(musdb_stems_parse(&st, "vocals,drums,bass,other", err, sizeof err) == 0 && st.n == 4 && st.mask[0] == 1 &&
              st.mask[1] == 2 && st.mask[2] == 4 && st.mask[3] == 8,
          "the four stems");
    CHECK(musdb_stems_parse(&st, "vocals,other", err, sizeof err) == 0 && st.n == 2 && st.mask[1] == 14,
          "other = drums + bass + other when only vocals is named");
    CHECK(musdb_stems_parse(&st, "other,drums", err, sizeof err) == 0 && st.mask[0] == (1 | 4 | 8),
          "other = vocals + bass + other when drums is named");
    CHECK(musdb_stems_parse(&st, "accompaniment,vocals", err, sizeof err) == 0 && st.mask[0] == 14 && st.mask[1] == 1,
          "accompaniment = all but vocals");
    CHECK(musdb_stems_parse(&st, "vocals,guitar", err, sizeof err) < 0 && strstr(err, "guitar"), "unknown: %s", err);
    CHECK(musdb_stems_parse(&st, "bass,bass", err, sizeof err) < 0 && strstr(err, "twice"), "twice: %s", err);
    CHECK(musdb_parse_splits("train") == MUSDB_TRAIN && musdb_parse_splits("train,valid") == 3 &&
              musdb_parse_splits("all") == 7 && musdb_parse_splits("tset") == 0 && musdb_parse_splits("") == 0,
          "splits");
    /* the targets sdr derives as musdb's track.targets does, and the .stem.mp4 streams */
    CHECK(musdb_target_mask("vocals") == 1 && musdb_target_mask("other") == 8 &&
              musdb_target_mask("accompaniment") == 14 && musdb_target_mask("linear_mixture") == 15 &&
              musdb_target_mask("mixture") == 0 && musdb_target_mask("piano") == 0,
          "target masks");
    CHECK(musdb_stem_streams[MUSDB_VOCALS] == 4 && musdb_stem_streams[MUSDB_DRUMS] == 1 &&
              musdb_stem_streams[MUSDB_BASS] == 2 && musdb_stem_streams[MUSDB_OTHER] == 3,
          "stem streams");
}

static int has(const musdb_db *db, const char *name, int split)
{
    for (int i = 0; i < db->n; i++)
        if (!strcmp(db->t[i].name, name))
            return db->t[i].split == split;
    return 0;
}

static void test_splits(void)
{
    musdb_db db;
    char err[1024] = "";
    CHECK(musdb_open(&db, root, MUSDB_VALID, NULL, 0, 0, NULL, err, sizeof err) == 0 && db.n == 2 &&
              has(&db, "Fergessen - Nos Palpitants", MUSDB_VALID) && has(&db, "Young Griffo - Pennies", MUSDB_VALID),
          "valid = the official tracks present: %s", err);
    musdb_close(&db);
    CHECK(musdb_open(&db, root, MUSDB_TRAIN, NULL, 0, 0, NULL, err, sizeof err) == 0 && db.n == 2 &&
              has(&db, "Alpha - A", MUSDB_TRAIN) && has(&db, "Beta - B", MUSDB_TRAIN),
          "train excludes them: %s", err);
    musdb_close(&db);
    CHECK(musdb_open(&db, root, MUSDB_ALL, NULL, 0, 0, NULL, err, sizeof err) == 0 && db.n == 6 &&
              db.t[0].split == MUSDB_TRAIN && db.t[2].split == MUSDB_VALID && db.t[5].split == MUSDB_TEST &&
              db.t[0].frames == 20000 && !strcmp(db.t[4].name, "Delta - D"),
          "all, in order train, valid, test by name");
    musdb_close(&db);
    char *pat[2] = {"Gamma", "*- B"};
    CHECK(musdb_open(&db, root, MUSDB_ALL, pat, 2, 0, NULL, err, sizeof err) == 0 && db.n == 2 &&
              has(&db, "Beta - B", MUSDB_TRAIN) && has(&db, "Gamma - C", MUSDB_TEST),
          "patterns: substring and glob");
    musdb_close(&db);
    char *nomatch[1] = {"Zeta"};
    CHECK(musdb_open(&db, root, MUSDB_ALL, nomatch, 1, 0, NULL, err, sizeof err) < 0 && strstr(err, "no track"),
          "no match: %s", err);

    /* valid.txt overrides the built-in list. */
    char path[1200];
    snprintf(path, sizeof path, "%s/valid.txt", root);
    FILE *f = fopen(path, "w");
    fputs("# our validation tracks\nBeta - B\n\n", f);
    fclose(f);
    CHECK(musdb_open(&db, root, MUSDB_VALID, NULL, 0, 0, NULL, err, sizeof err) == 0 && db.n == 1 &&
              has(&db, "Beta - B", MUSDB_VALID),
          "valid.txt: %s", err);
    musdb_close(&db);
    CHECK(musdb_open(&db, root, MUSDB_TRAIN, NULL, 0, 0, NULL, err, sizeof err) == 0 && db.n == 3,
          "train with valid.txt");
    musdb_close(&db);
    f = fopen(path, "w");
    fputs("Nobody - Here\n", f);
    fclose(f);
    CHECK(musdb_open(&db, root, MUSDB_VALID, NULL, 0, 0, NULL, err, sizeof err) < 0 && strstr(err, "valid.txt"),
          "no validation track present: %s", err);
    unlink(path);
}

static const float *wave(const ts_record *r, const char *name, int64_t *frames)
{
    ts_tensor *t = ts_tensor_get(r, name);
    CHECK(t && t->dtype == TS_F32 && t->rank == 2 && t->shape[0] == 2, "tensor %s", name);
    if (!t)
        return NULL;
    *frames = t->shape[1];
    return t->data;
}

static int64_t attr(const ts_record *r, const char *k)
{
    int64_t v = -1;
    CHECK(ts_attr_get_i64(r, k, &v) == 0, "attribute %s", k);
    return v;
}

static void test_sequential(void)
{
    musdb_db db;
    char err[1024] = "";
    char *pat[1] = {"Alpha"};
    CHECK(musdb_open(&db, root, MUSDB_ALL, pat, 1, 0, NULL, err, sizeof err) == 0 && db.n == 1, "%s", err);
    if (db.n != 1)
        return;
    /* 20000 frames, segments of 6000 with 1000 overlap: starts 0, 5000,
     * 10000, 15000 (15000 + 6000 > 20000: last, 5000 real frames). */
    for (int pad = 0; pad < 2; pad++) {
        slice_cfg c;
        memset(&c, 0, sizeof c);
        c.db = &db;
        musdb_stems_parse(&c.stems, "vocals,other", err, sizeof err);
        c.segment = 6000;
        c.hop = 5000;
        c.pad = pad;
        slicer s;
        slicer_init(&s, &c);
        CHECK(slicer_track_segments(&s, 0) == 4, "4 segments");
        ts_record r;
        ts_record_init(&r);
        int k = 0;
        float *v = malloc(2 * 20000 * sizeof(float)), *d = malloc(2 * 20000 * sizeof(float)),
              *b = malloc(2 * 20000 * sizeof(float)), *o = malloc(2 * 20000 * sizeof(float));
        stem_audio(0, 0, v, 20000);
        stem_audio(0, 1, d, 20000);
        stem_audio(0, 2, b, 20000);
        stem_audio(0, 3, o, 20000);
        while (slicer_next(&s, &r, err, sizeof err) == 1) {
            int64_t off = attr(&r, "offset"), len = attr(&r, "length"), fr = 0, fo = 0, fm = 0;
            CHECK(off == 5000 * k, "segment %d offset %lld", k, (long long)off);
            CHECK(len == (k < 3 ? 6000 : 5000), "segment %d length %lld", k, (long long)len);
            CHECK(attr(&r, "segment") == k && attr(&r, "rate") == 44100, "segment index, rate");
            CHECK(!strcmp(ts_attr_get(&r, "split"), "train") && !strcmp(ts_attr_get(&r, "track"), "Alpha - A") &&
                      !strcmp(ts_attr_get(&r, "mixture"), "file"),
                  "track, split, mixture=file");
            const float *yv = wave(&r, "vocals", &fr), *yo = wave(&r, "other", &fo), *ym = wave(&r, "mixture", &fm);
            CHECK(fr == (pad ? 6000 : len) && fo == fr && fm == fr, "frames %lld (pad %d)", (long long)fr, pad);
            CHECK(ts_tensor_get(&r, "drums") == NULL && r.n_tensors == 3, "only mixture, vocals, other");
            int ok = 1;
            for (int ch = 0; ch < 2 && yv; ch++)
                for (int64_t i = 0; i < fr; i++) {
                    size_t src = (size_t)ch * 20000 + (size_t)(off + i), dst = (size_t)ch * (size_t)fr + (size_t)i;
                    float wv = i < len ? v[src] : 0, wo = i < len ? (d[src] + b[src]) + o[src] : 0;
                    float wm = i < len ? ((v[src] + d[src]) + b[src]) + o[src] : 0;
                    ok &= yv[dst] == wv && yo[dst] == wo && ym[dst] == wm;
                }
            CHECK(ok, "segment %d: vocals, other = drums+bass+other and mixture exact (pad %d)", k, pad);
            k++;
        }
        CHECK(k == 4, "4 records, got %d", k);
        free(v), free(d), free(b), free(o);
        ts_record_free(&r);
    }
    musdb_close(&db);
}

/* Random records of a slicer into one byte string (tensor data + attrs). */
static size_t random_bytes(musdb_db *db, uint64_t seed, const augment_cfg *aug, int n, unsigned char **out,
                           char picks[][128])
{
    slice_cfg c;
    memset(&c, 0, sizeof c);
    c.db = db;
    char err[512];
    musdb_stems_parse(&c.stems, "vocals,drums,bass,other", err, sizeof err);
    c.segment = 4000;
    c.random = 1;
    c.seed = seed;
    if (aug)
        c.aug = *aug;
    else
        augment_cfg_default(&c.aug);
    slicer s;
    slicer_init(&s, &c);
    ts_record r;
    ts_record_init(&r);
    size_t len = 0;
    unsigned char *buf = NULL;
    for (int i = 0; i < n; i++) {
        CHECK(slicer_next(&s, &r, err, sizeof err) == 1, "random record: %s", err);
        snprintf(picks[i], 128, "%s@%s", ts_attr_get(&r, "track"), ts_attr_get(&r, "offset"));
        for (int t = 0; t < r.n_tensors; t++) {
            CHECK(r.tensors[t].shape[1] == 4000, "random segments are full length");
            buf = realloc(buf, len + r.tensors[t].nbytes);
            memcpy(buf + len, r.tensors[t].data, r.tensors[t].nbytes);
            len += r.tensors[t].nbytes;
        }
    }
    ts_record_free(&r);
    *out = buf;
    return len;
}

static void test_random(void)
{
    musdb_db db;
    char err[1024] = "";
    CHECK(musdb_open(&db, root, MUSDB_TRAIN, NULL, 0, 0, NULL, err, sizeof err) == 0, "%s", err);
    unsigned char *a, *b, *c, *g;
    char pa[8][128], pb[8][128], pc[8][128], pg[8][128];
    size_t na = random_bytes(&db, 1, NULL, 8, &a, pa), nb = random_bytes(&db, 1, NULL, 8, &b, pb);
    size_t nc = random_bytes(&db, 2, NULL, 8, &c, pc);
    CHECK(na == nb && !memcmp(a, b, na), "same seed: same bytes");
    CHECK(na != nc || memcmp(a, c, na), "another seed: other data");
    augment_cfg aug;
    augment_cfg_default(&aug);
    aug.gain_prob = 1;
    aug.swap_prob = 0.5;
    size_t ng = random_bytes(&db, 1, &aug, 8, &g, pg);
    int same = 1, tracks = 0;
    for (int i = 0; i < 8; i++) {
        same &= !strcmp(pa[i], pg[i]);
        tracks |= strstr(pa[i], "Alpha") ? 1 : 2;
    }
    CHECK(same, "augmentation on: the same tracks and offsets are picked");
    CHECK(tracks == 3, "both train tracks drawn");
    CHECK(ng == na && memcmp(a, g, na), "gain changes the data");
    free(a), free(b), free(c), free(g);

    /* Augmented records: mixture is the sum of the stems. */
    slice_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.db = &db;
    musdb_stems_parse(&cfg.stems, "vocals,drums,bass,other", err, sizeof err);
    cfg.segment = 3000;
    cfg.random = 1;
    augment_cfg_default(&cfg.aug);
    cfg.aug.gain_prob = 1;
    cfg.aug.swap_prob = 0.5;
    cfg.aug.remix_prob = 0.5;
    cfg.aug.mixup_prob = 0.5;
    slicer s;
    slicer_init(&s, &cfg);
    ts_record r;
    ts_record_init(&r);
    int mixups = 0, remixes = 0;
    for (int i = 0; i < 12; i++) {
        CHECK(slicer_next(&s, &r, err, sizeof err) == 1, "%s", err);
        int64_t n = 0;
        const float *m = wave(&r, "mixture", &n), *st[4];
        for (int k = 0; k < 4; k++) {
            int64_t nk = 0;
            st[k] = wave(&r, musdb_stem_names[k], &nk);
        }
        double md = 0;
        for (int64_t j = 0; m && j < 2 * n; j++)
            md = fmax(md, fabs(m[j] - (((double)st[0][j] + st[1][j]) + st[2][j] + st[3][j])));
        CHECK(md < 1e-6, "record %d: mixture = sum of augmented stems (diff %g)", i, md);
        CHECK(!strcmp(ts_attr_get(&r, "mixture"), "sum") && ts_attr_get(&r, "aug_gain"), "attributes");
        mixups += ts_attr_get(&r, "aug_mixup") != NULL;
        remixes += ts_attr_get(&r, "aug_remix") != NULL;
    }
    CHECK(mixups > 0 && mixups < 12 && remixes > 0 && remixes < 12, "mixup %d and remix %d of 12", mixups, remixes);
    ts_record_free(&r);
    musdb_close(&db);
}

static void test_plain(void)
{
    char p[3][1200], err[1024] = "";
    snprintf(p[0], sizeof p[0], "%s/song.flac", root);
    snprintf(p[1], sizeof p[1], "%s/mono48k.wav", root);
    snprintf(p[2], sizeof p[2], "%s/tune.ogg", root);
    const int fmt[3] = {SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_WAV | SF_FORMAT_FLOAT,
                        SF_FORMAT_OGG | SF_FORMAT_VORBIS};
    const int rate[3] = {44100, 48000, 22050}, chans[3] = {2, 1, 2};
    for (int k = 0; k < 3; k++) {
        SF_INFO si = {.samplerate = rate[k], .channels = chans[k], .format = fmt[k]};
        SNDFILE *sf = sf_open(p[k], SFM_WRITE, &si);
        CHECK(sf != NULL, "%s", sf_strerror(NULL));
        float buf[2 * 4800];
        for (int i = 0; i < 2 * 4800; i++)
            buf[i] = (float)(0.3 * sin(0.03 * i));
        sf_writef_float(sf, buf, k == 1 ? 2400 : 4800);
        sf_close(sf);
    }
    musdb_db db;
    char *files[3] = {p[0], p[1], p[2]};
    CHECK(musdb_open_files(&db, files, 3, 0, NULL, err, sizeof err) == 0 && db.n == 3, "%s", err);
    CHECK(db.n == 3 && !strcmp(db.t[0].name, "song") && db.t[0].frames == 4800 && db.t[1].frames == 2205 &&
              db.t[2].frames == 9600,
          "names and lengths at 44.1 kHz");
    slice_cfg c;
    memset(&c, 0, sizeof c);
    c.db = &db;
    slicer s;
    slicer_init(&s, &c);
    ts_record r;
    ts_record_init(&r);
    int k = 0;
    while (slicer_next(&s, &r, err, sizeof err) == 1) {
        int64_t n = 0;
        const float *m = wave(&r, "mixture", &n);
        CHECK(r.n_tensors == 1 && n == db.t[k].frames && attr(&r, "length") == n, "plain %d: mixture only", k);
        CHECK(!strcmp(ts_attr_get(&r, "split"), "file") && ts_attr_get(&r, "path"), "split=file, path");
        if (k == 1 && m)
            CHECK(!memcmp(m, m + n, (size_t)n * sizeof(float)), "mono made stereo");
        k++;
    }
    CHECK(k == 3, "one record per file");
    ts_record_free(&r);
    musdb_close(&db);
    audio_cache_clear();
}

static int warned;
static void count_warn(const char *msg)
{
    (void)msg;
    warned++;
}

/* Breaks the track "Beta - B" in one way, checks the message, repairs it. */
static void expect_bad(const char *what, const char *needle1, const char *needle2)
{
    musdb_db db;
    char err[1024] = "";
    CHECK(musdb_open(&db, root, MUSDB_TRAIN, NULL, 0, 0, NULL, err, sizeof err) < 0 && strstr(err, needle1) &&
              strstr(err, needle2),
          "%s: %s", what, err);
    warned = 0;
    CHECK(musdb_open(&db, root, MUSDB_TRAIN, NULL, 0, 1, count_warn, err, sizeof err) == 0 && db.n == 1 &&
              warned == 1 && has(&db, "Alpha - A", MUSDB_TRAIN),
          "%s: skipped with --skip-bad", what);
    if (db.t)
        musdb_close(&db);
}

static void test_bad(void)
{
    char dirp[1200], p[1400], q[1400], err[512];
    snprintf(dirp, sizeof dirp, "%s/train/Beta - B", root);
    snprintf(p, sizeof p, "%s/bass.wav", dirp);
    snprintf(q, sizeof q, "%s/bass.keep", dirp);
    rename(p, q);
    expect_bad("missing stem", "Beta - B/bass.wav", "missing stem file");
    float x[2 * 100] = {0};
    CHECK(audio_write(p, x, 2, 100, 44100, AUDIO_PCM16, err, sizeof err) == 0, "%s", err);
    expect_bad("short stem", "Beta - B/bass.wav", "frames");
    float *y = calloc(2 * 30001, sizeof(float));
    CHECK(audio_write(p, y, 2, 30001, 48000, AUDIO_PCM16, err, sizeof err) == 0, "%s", err);
    free(y);
    expect_bad("other rate", "Beta - B/bass.wav", "48000 Hz");
    FILE *f = fopen(p, "w");
    fputs("RIFF....WAVEjunkjunkjunk", f);
    fclose(f);
    expect_bad("unreadable", "Beta - B/bass.wav", "cannot read audio");
    rename(q, p);
    /* A folder that is not a track. */
    char junk[1400];
    snprintf(junk, sizeof junk, "%s/train/Not A Track", root);
    tf_mkdirs(junk);
    musdb_db db;
    CHECK(musdb_open(&db, root, MUSDB_TRAIN, NULL, 0, 0, NULL, err, sizeof err) < 0 && strstr(err, "Not A Track") &&
              strstr(err, "not a MUSDB18 track"),
          "not a track: %s", err);
    rmdir(junk);
    /* Not a MUSDB18 root at all. */
    CHECK(musdb_open(&db, dirp, MUSDB_TRAIN, NULL, 0, 0, NULL, err, sizeof err) < 0 && strstr(err, "Beta - B") &&
              strstr(err, "not a MUSDB18 folder"),
          "not a root: %s", err);
    CHECK(musdb_open(&db, root, MUSDB_TRAIN, NULL, 0, 0, NULL, err, sizeof err) == 0 && db.n == 2, "repaired");
    musdb_close(&db);
}

/* A whole track at 48 kHz (in FLAC files) is accepted and resampled to 44.1 kHz. */
static void test_rate(void)
{
    write_track_ext("test", "Epsilon - E", 6, 4800, 48000, "flac");
    musdb_db db;
    char err[1024] = "";
    char *pat[1] = {"Epsilon"};
    CHECK(musdb_open(&db, root, MUSDB_TEST, pat, 1, 0, NULL, err, sizeof err) == 0 && db.n == 1, "%s", err);
    if (db.n != 1)
        return;
    CHECK(db.t[0].frames == 4410, "4800 frames at 48 kHz are 4410 at 44.1 kHz (%lld)", (long long)db.t[0].frames);
    slice_cfg c;
    memset(&c, 0, sizeof c);
    c.db = &db;
    musdb_stems_parse(&c.stems, "vocals,other", err, sizeof err);
    c.mixture = SLICE_MIX_SUM;
    slicer s;
    slicer_init(&s, &c);
    ts_record r;
    ts_record_init(&r);
    CHECK(slicer_next(&s, &r, err, sizeof err) == 1, "%s", err);
    int64_t n = 0, nv = 0, no = 0;
    const float *m = wave(&r, "mixture", &n), *v = wave(&r, "vocals", &nv), *o = wave(&r, "other", &no);
    CHECK(n == 4410 && nv == 4410 && no == 4410 && attr(&r, "rate") == 44100, "one 4410-frame record");
    double md = 0, e = 0;
    for (int64_t i = 0; m && v && o && i < 2 * n; i++) {
        md = fmax(md, fabs(m[i] - ((double)v[i] + o[i])));
        e += (double)v[i] * v[i];
    }
    CHECK(md < 1e-6 && e > 0, "mixture = vocals + other after resampling (diff %g)", md);
    CHECK(slicer_next(&s, &r, err, sizeof err) == 0, "then the end");
    ts_record_free(&r);
    musdb_close(&db);
    audio_cache_clear();
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/test_musdb.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(root)) {
        perror(root);
        return 1;
    }
    make_tree();
    test_stems();
    test_splits();
    test_sequential();
    test_random();
    test_plain();
    test_bad();
    test_rate();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_report("test_musdb");
}
