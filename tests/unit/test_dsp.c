/* lib/dsp: spectrogram masking, the per-frequency normaliser (against a
 * naive two-pass computation in long double over the concatenated frames),
 * its file round trip, and whole records through stft_record (attributes,
 * lengths, --only, refusals). */
#include "check.h"
#include "dsp/specmask.h"
#include "dsp/specnorm.h"
#include "dsp/stft.h"
#include "dsp/stft_record.h"
#include "stream/ts.h"
#include "util/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_specmask(void)
{
    specmask_opts o = {.freq_masks = 3, .freq_width = 80, .time_masks = 2, .time_width = 40, .prob = 1.0};
    tf_rng r;
    tf_rng_seed(&r, 3);
    int64_t F = 1025, T = 100;
    int maxw = 0, minw = 1000, zero_w = 0;
    for (int it = 0; it < 2000; it++) {
        specmask m;
        specmask_draw(&r, &o, F, T, &m);
        CHECK(m.n_freq == 3 && m.n_time == 2, "counts");
        for (int i = 0; i < m.n_freq; i++) {
            int64_t w = m.f1[i] - m.f0[i];
            CHECK(m.f0[i] >= 0 && m.f1[i] <= F && w >= 0 && w <= 80, "band [%lld, %lld)", (long long)m.f0[i],
                  (long long)m.f1[i]);
            maxw = w > maxw ? (int)w : maxw;
            minw = w < minw ? (int)w : minw;
            zero_w += w == 0;
        }
        for (int i = 0; i < m.n_time; i++)
            CHECK(m.t0[i] >= 0 && m.t1[i] <= T && m.t1[i] - m.t0[i] <= 40, "span");
    }
    CHECK(maxw == 80 && minw == 0 && zero_w < 200, "widths cover [0, 80]: %d..%d", minw, maxw);

    /* axis shorter than the widest mask: clamped */
    specmask m;
    o.time_width = 1000;
    for (int it = 0; it < 100; it++) {
        specmask_draw(&r, &o, 9, 5, &m);
        for (int i = 0; i < m.n_time; i++)
            CHECK(m.t0[i] >= 0 && m.t1[i] <= 5, "clamped span");
        for (int i = 0; i < m.n_freq; i++)
            CHECK(m.f0[i] >= 0 && m.f1[i] <= 9, "clamped band");
    }
    /* probability */
    o.prob = 0.3;
    int masked = 0;
    for (int it = 0; it < 4000; it++) {
        specmask_draw(&r, &o, F, T, &m);
        masked += m.n_freq > 0;
    }
    CHECK(fabs(masked / 4000.0 - 0.3) < 0.03, "mask probability %.3f", masked / 4000.0);
    /* reproducible */
    tf_rng a, b;
    tf_rng_seed(&a, 11);
    tf_rng_seed(&b, 11);
    specmask m1, m2;
    o.prob = 1;
    specmask_draw(&a, &o, F, T, &m1);
    specmask_draw(&b, &o, F, T, &m2);
    CHECK(memcmp(&m1, &m2, sizeof m1) == 0, "same seed, same masks");

    /* apply against a naive predicate */
    int64_t C = 2, Fs = 30, Ts = 20;
    specmask_opts so = {.freq_masks = 2, .freq_width = 8, .time_masks = 2, .time_width = 6, .prob = 1};
    specmask_draw(&a, &so, Fs, Ts, &m);
    float *x = malloc(sizeof(float) * 2 * (size_t)(C * Fs * Ts));
    for (int64_t i = 0; i < 2 * C * Fs * Ts; i++)
        x[i] = 1.0f + (float)i;
    specmask_apply(&m, x, C, Fs, Ts);
    int64_t cells = 0;
    int ok = 1;
    for (int64_t c = 0; c < C; c++)
        for (int64_t k = 0; k < Fs; k++)
            for (int64_t t = 0; t < Ts; t++) {
                int hit = 0;
                for (int i = 0; i < m.n_freq; i++)
                    hit |= k >= m.f0[i] && k < m.f1[i];
                for (int i = 0; i < m.n_time; i++)
                    hit |= t >= m.t0[i] && t < m.t1[i];
                int64_t at = 2 * ((c * Fs + k) * Ts + t);
                ok &= hit ? (x[at] == 0 && x[at + 1] == 0) : (x[at] == 1.0f + at && x[at + 1] == 2.0f + at);
                cells += hit && c == 0;
            }
    CHECK(ok, "masked cells zero, others untouched");
    CHECK(specmask_cells(&m, Fs, Ts) == cells, "cell count %lld vs %lld", (long long)specmask_cells(&m, Fs, Ts),
          (long long)cells);
    free(x);
}

static void test_specnorm(void)
{
    /* three records of (2, 5, T) with different frame counts, large offset
     * (numerically hard for naive sum of squares) */
    const int64_t C = 2, F = 5, Ts[3] = {7, 1, 13};
    tf_rng r;
    tf_rng_seed(&r, 5);
    float *recs[3];
    specnorm_acc acc;
    specnorm_acc_init(&acc);
    char err[256];
    for (int i = 0; i < 3; i++) {
        recs[i] = malloc(sizeof(float) * 2 * (size_t)(C * F * Ts[i]));
        for (int64_t j = 0; j < 2 * C * F * Ts[i]; j++)
            recs[i][j] = (float)(1000.0 + (double)(j % 7) + tf_rng_normal(&r));
        CHECK(specnorm_acc_add(&acc, recs[i], C, F, Ts[i], err, sizeof err) == 0, "add: %s", err);
    }
    CHECK(specnorm_acc_add(&acc, recs[0], C, F + 1, 1, err, sizeof err) == -1, "other bins refused");
    CHECK(acc.channels == 4 && acc.frames == 21 && acc.records == 3, "counts");
    /* naive reference: feature channel 2c + part, bin k */
    int ok = 1;
    double worst = 0;
    for (int64_t c = 0; c < C; c++)
        for (int part = 0; part < 2; part++)
            for (int64_t k = 0; k < F; k++) {
                long double s = 0, n = 0;
                for (int i = 0; i < 3; i++)
                    for (int64_t t = 0; t < Ts[i]; t++) {
                        s += recs[i][2 * ((c * F + k) * Ts[i] + t) + part];
                        n += 1;
                    }
                long double mean = s / n, v = 0;
                for (int i = 0; i < 3; i++)
                    for (int64_t t = 0; t < Ts[i]; t++) {
                        long double d = recs[i][2 * ((c * F + k) * Ts[i] + t) + part] - mean;
                        v += d * d;
                    }
                double sd = (double)sqrtl(v / n);
                int64_t at = (2 * c + part) * F + k;
                double got_sd = sqrt(acc.m2[at] / (double)acc.frames);
                worst = fmax(worst, fabs(got_sd - sd) / sd);
                ok &= fabs(acc.mean[at] - (double)mean) <= 1e-12 * fabsl(mean) && fabs(got_sd - sd) <= 1e-10 * sd;
            }
    CHECK(ok, "mean and std against the naive two-pass (worst std rel error %.3g)", worst);

    /* save and load */
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/stats.ts", tmp ? tmp : "/tmp");
    CHECK(specnorm_save(path, &acc, "mixture", 2048, 512, err, sizeof err) == 0, "save: %s", err);
    specnorm_stats s, f;
    CHECK(specnorm_load(path, &s, err, sizeof err) == 0, "load: %s", err);
    CHECK(specnorm_finish(&acc, 2048, 512, &f, err, sizeof err) == 0, "finish");
    CHECK(s.channels == 4 && s.bins == F && s.frames == 21 && s.records == 3 && s.n_fft == 2048 && s.hop == 512,
          "loaded header");
    ok = 1;
    for (int64_t i = 0; i < 4 * F; i++)
        ok &= s.mean[i] == f.mean[i] && s.std[i] == f.std[i];
    CHECK(ok, "loaded values equal the accumulator's");
    specnorm_free(&s);
    specnorm_free(&f);
    /* a file that is not a statistics file */
    FILE *fp = fopen(path, "w");
    fputs("not a stream", fp);
    fclose(fp);
    CHECK(specnorm_load(path, &s, err, sizeof err) == -1 && strstr(err, path), "garbage refused: %s", err);
    specnorm_acc_free(&acc);
    for (int i = 0; i < 3; i++)
        free(recs[i]);
    specnorm_acc empty;
    specnorm_acc_init(&empty);
    CHECK(specnorm_finish(&empty, 0, 0, &f, err, sizeof err) == -1, "empty refused");
}

static ts_tensor *wave(ts_record *rec, const char *name, int64_t C, int64_t L, tf_rng *r)
{
    int64_t shape[2] = {C, L};
    ts_tensor *t = ts_tensor_add(rec, name, TS_F32, 2, shape);
    for (int64_t i = 0; i < C * L; i++)
        ((float *)t->data)[i] = (float)tf_rng_range(r, -1, 1);
    return t;
}

static void test_record(void)
{
    tf_rng r;
    tf_rng_seed(&r, 9);
    ts_record rec, orig;
    ts_record_init(&rec);
    ts_record_init(&orig);
    ts_attr_set(&rec, "track", "x");
    wave(&rec, "mixture", 2, 1000, &r);
    wave(&rec, "vocals", 2, 1000, &r);
    wave(&rec, "short", 1, 37, &r);
    int64_t s3[3] = {1, 2, 3};
    ts_tensor_add(&rec, "other_thing", TS_I32, 3, s3);
    ts_record_copy(&orig, &rec);
    stft_engine *e = stft_engine_new();
    char err[512];
    stft_fwd_opts o = {.n_fft = 64, .hop = 16};
    CHECK(stft_record_forward(e, &rec, &o, NULL, NULL, err, sizeof err) == 3, "3 converted: %s", err);
    ts_tensor *m = ts_tensor_get(&rec, "mixture");
    CHECK(m && m->dtype == TS_C64 && m->rank == 3 && m->shape[0] == 2 && m->shape[1] == 33 && m->shape[2] == 63,
          "mixture spectrogram shape");
    CHECK(ts_attr_get(&rec, "length") && strcmp(ts_attr_get(&rec, "length"), "1000") == 0, "length set");
    CHECK(ts_attr_get(&rec, "length/short") && strcmp(ts_attr_get(&rec, "length/short"), "37") == 0, "length/short");
    CHECK(!ts_attr_get(&rec, "length/vocals"), "no length/vocals");
    CHECK(strcmp(ts_attr_get(&rec, "window"), "hann") == 0 && strcmp(ts_attr_get(&rec, "n_fft"), "64") == 0,
          "attributes");
    /* the spectrogram is the library's */
    const stft_plan *p = stft_plan_get(64, 16, err, sizeof err);
    stft_scratch *sc = stft_scratch_new(p);
    float *X = malloc(sizeof(float) * 2 * 33 * 63);
    stft_forward(p, sc, (const float *)ts_tensor_get(&orig, "vocals")->data + 1000, 1000, X);
    CHECK(memcmp(X, (float *)ts_tensor_get(&rec, "vocals")->data + 2 * 33 * 63, sizeof(float) * 2 * 33 * 63) == 0,
          "channel 1 of vocals");
    free(X);
    stft_scratch_free(sc);
    /* a second forward pass with other parameters is refused */
    ts_record copy;
    ts_record_init(&copy);
    ts_record_copy(&copy, &rec);
    wave(&copy, "late", 2, 100, &r);
    stft_fwd_opts o2 = {.n_fft = 32, .hop = 8};
    CHECK(stft_record_forward(e, &copy, &o2, NULL, NULL, err, sizeof err) == -1 && strstr(err, "differ"),
          "conflicting parameters refused: %s", err);
    ts_record_free(&copy);

    /* inverse, only one tensor first */
    char *only[1] = {"short"};
    CHECK(stft_record_inverse(e, &rec, only, 1, err, sizeof err) == 1, "only short: %s", err);
    CHECK(ts_tensor_get(&rec, "short")->dtype == TS_F32 && ts_attr_get(&rec, "n_fft"), "others kept");
    CHECK(stft_record_inverse(e, &rec, NULL, 0, err, sizeof err) == 2, "the rest: %s", err);
    CHECK(!ts_attr_get(&rec, "n_fft") && !ts_attr_get(&rec, "length/short") && ts_attr_get(&rec, "length"),
          "spectrogram attributes removed");
    for (int i = 0; i < orig.n_tensors; i++) {
        const ts_tensor *a = &orig.tensors[i], *b = ts_tensor_get(&rec, a->name);
        CHECK(b && b->dtype == a->dtype && b->rank == a->rank && b->nbytes == a->nbytes, "tensor %s back", a->name);
        if (!b || b->nbytes != a->nbytes)
            continue;
        double err_max = 0;
        if (a->dtype == TS_F32)
            for (int64_t j = 0; j < ts_numel(a); j++)
                err_max = fmax(err_max, fabs(((float *)a->data)[j] - ((float *)b->data)[j]));
        else
            CHECK(memcmp(a->data, b->data, a->nbytes) == 0, "untouched tensor %s", a->name);
        CHECK(err_max < 1e-6, "tensor %s round trip %.3g", a->name, err_max);
    }

    /* refusals */
    ts_record bad;
    ts_record_init(&bad);
    int64_t sh[3] = {2, 33, 10};
    ts_tensor_add(&bad, "mixture", TS_C64, 3, sh);
    CHECK(stft_record_inverse(e, &bad, NULL, 0, err, sizeof err) == -1 && strstr(err, "no n_fft"), "no attributes: %s",
          err);
    ts_attr_set(&bad, "n_fft", "64");
    ts_attr_set(&bad, "hop", "64");
    CHECK(stft_record_inverse(e, &bad, NULL, 0, err, sizeof err) == -1 && strstr(err, "cannot be inverted") &&
              strstr(err, "'mixture'"),
          "hop = n_fft refused: %s", err);
    ts_attr_set(&bad, "hop", "16");
    ts_attr_set(&bad, "length", "500");
    CHECK(stft_record_inverse(e, &bad, NULL, 0, err, sizeof err) == -1 && strstr(err, "does not fit"),
          "length mismatch: %s", err);
    ts_attr_set(&bad, "length", "150");
    ts_attr_set(&bad, "window", "hamming");
    CHECK(stft_record_inverse(e, &bad, NULL, 0, err, sizeof err) == -1 && strstr(err, "hann"), "window: %s", err);
    ts_attr_remove(&bad, "window");
    ts_attr_set(&bad, "n_fft", "32");
    CHECK(stft_record_inverse(e, &bad, NULL, 0, err, sizeof err) == -1 && strstr(err, "bins"), "bins: %s", err);
    ts_attr_set(&bad, "n_fft", "64");
    ts_attr_remove(&bad, "length");
    CHECK(stft_record_inverse(e, &bad, NULL, 0, err, sizeof err) == 1 &&
              ts_tensor_get(&bad, "mixture")->shape[1] == 144,
          "no length: hop * (frames - 1)");
    ts_record_free(&bad);

    /* an estimate takes the length of the mixture it came from */
    ts_record est;
    ts_record_init(&est);
    ts_attr_set(&est, "length", "900"); /* e.g. musdb-slice --pad: fewer real samples */
    wave(&est, "mixture", 2, 1000, &r);
    CHECK(stft_record_forward(e, &est, &o, NULL, NULL, err, sizeof err) == 1, "forward: %s", err);
    CHECK(ts_attr_get(&est, "length/mixture") && strcmp(ts_attr_get(&est, "length/mixture"), "1000") == 0,
          "length/mixture");
    ts_tensor *mx = ts_tensor_get(&est, "mixture");
    int64_t es[3] = {2, 33, mx->shape[2]};
    ts_tensor *ev = ts_tensor_add(&est, "est/vocals", TS_C64, 3, es);
    memcpy(ev->data, ts_tensor_get(&est, "mixture")->data, ev->nbytes);
    CHECK(stft_record_inverse(e, &est, NULL, 0, err, sizeof err) == 2, "inverse: %s", err);
    CHECK(ts_tensor_get(&est, "est/vocals")->shape[1] == 1000 && ts_tensor_get(&est, "mixture")->shape[1] == 1000,
          "est/vocals has the mixture's 1000 samples");
    ts_record_free(&est);

    ts_record_free(&rec);
    ts_record_free(&orig);
    stft_engine_free(e);
    stft_plan_cache_clear();
}

int main(void)
{
    test_specmask();
    test_specnorm();
    test_record();
    return check_report("test_dsp");
}
