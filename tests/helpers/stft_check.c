/* Test helper for the stft/istft pipeline tests.
 *   stft_check roundtrip A B TOL   every f32 tensor of every record of A is
 *       in B with the same shape and within TOL * (its peak) of A; every
 *       attribute of A is in B with the same value. Prints the worst error.
 *   stft_check dft WAVES SPECS     every c64 (C, F, T) tensor of SPECS
 *       matches a direct O(N^2) DFT in double of the same-named waveform of
 *       WAVES (relative error < 1e-5), with n_fft and hop from SPECS'
 *       attributes; reflect padding from its definition in lib/dsp/stft.h.
 *   stft_check sum SPECS           in every record, mixture = sum of the
 *       other spectrograms of its shape, within 1e-5 of the mixture's peak
 *       (masks shared); prints the count of exactly zero cells of mixture.
 *   stft_check wav FILE STREAM RECORD TENSOR TOL   the audio file holds the
 *       f32 waveform TENSOR of record RECORD (0-based) of STREAM within TOL
 *       (absolute), with the same channels and length.
 *   stft_check stats FILE SPECS    the statistics file (loaded with
 *       specnorm_load) matches mean and std of the mixture spectrograms in
 *       SPECS computed naively in long double (relative 1e-6 of the std).
 * Exit 0 when all hold, 1 otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "dsp/specnorm.h"
#include "stream/ts.h"
#include "util/cli.h"

static int fail;

static ts_reader *open1(const char *p)
{
    char *paths[1] = {(char *)p};
    return ts_reader_open(1, paths);
}

static double pad(const float *x, int64_t L, int64_t i, int N)
{
    int64_t j = i - N / 2;
    if (j < 0)
        j = -j;
    else if (j >= L)
        j = 2 * (L - 1) - j;
    return j >= 0 && j < L ? x[j] : 0.0;
}

static void roundtrip(const char *a, const char *b, double tol)
{
    ts_reader *ra = open1(a), *rb = open1(b);
    ts_record A, B;
    ts_record_init(&A);
    ts_record_init(&B);
    double worst = 0;
    long n = 0;
    while (ts_read_or_die(ra, &A) == 1) {
        if (ts_read_or_die(rb, &B) != 1) {
            fprintf(stderr, "record %ld missing in %s\n", n, b);
            fail = 1;
            break;
        }
        for (int i = 0; i < A.n_attrs; i++) {
            const char *v = ts_attr_get(&B, A.attrs[i].key);
            if (!v || strcmp(v, A.attrs[i].value) != 0) {
                fprintf(stderr, "record %ld: attribute %s=%s became %s\n", n, A.attrs[i].key, A.attrs[i].value,
                        v ? v : "(absent)");
                fail = 1;
            }
        }
        for (int i = 0; i < A.n_tensors; i++) {
            const ts_tensor *x = &A.tensors[i], *y = ts_tensor_get(&B, x->name);
            if (x->dtype != TS_F32)
                continue;
            if (!y || y->dtype != TS_F32 || y->rank != x->rank ||
                memcmp(y->shape, x->shape, sizeof(int64_t) * (size_t)x->rank) != 0) {
                fprintf(stderr, "record %ld: tensor %s: missing or of another shape\n", n, x->name);
                fail = 1;
                continue;
            }
            double peak = 0, err = 0;
            for (int64_t j = 0; j < ts_numel(x); j++) {
                peak = fmax(peak, fabs(((float *)x->data)[j]));
                err = fmax(err, fabs((double)((float *)x->data)[j] - ((float *)y->data)[j]));
            }
            double rel = peak > 0 ? err / peak : err;
            worst = fmax(worst, rel);
            if (!(rel <= tol)) {
                fprintf(stderr, "record %ld: tensor %s: error %.3g of peak %.3g\n", n, x->name, err, peak);
                fail = 1;
            }
        }
        n++;
    }
    if (ts_read_or_die(rb, &B) == 1) {
        fprintf(stderr, "%s has more records than %s\n", b, a);
        fail = 1;
    }
    printf("roundtrip: %ld records, worst error %.3g of peak\n", n, worst);
    ts_record_free(&A);
    ts_record_free(&B);
    ts_reader_close(ra);
    ts_reader_close(rb);
}

static void dft(const char *waves, const char *specs)
{
    ts_reader *rw = open1(waves), *rs = open1(specs);
    ts_record W, S;
    ts_record_init(&W);
    ts_record_init(&S);
    long n = 0, checked = 0;
    while (ts_read_or_die(rw, &W) == 1 && ts_read_or_die(rs, &S) == 1) {
        int64_t N, h;
        if (ts_attr_get_i64(&S, "n_fft", &N) || ts_attr_get_i64(&S, "hop", &h)) {
            fprintf(stderr, "record %ld: no n_fft/hop\n", n);
            fail = 1;
            break;
        }
        for (int i = 0; i < S.n_tensors; i++) {
            const ts_tensor *s = &S.tensors[i], *w = ts_tensor_get(&W, s->name);
            if (s->dtype != TS_C64)
                continue;
            if (!w || w->dtype != TS_F32 || w->rank != 2 || s->rank != 3 || s->shape[0] != w->shape[0] ||
                s->shape[1] != N / 2 + 1 || s->shape[2] != 1 + w->shape[1] / h) {
                fprintf(stderr, "record %ld: tensor %s: shape does not match its waveform\n", n, s->name);
                fail = 1;
                continue;
            }
            int64_t C = w->shape[0], L = w->shape[1], F = N / 2 + 1, T = s->shape[2];
            double num = 0, den = 0;
            for (int64_t c = 0; c < C; c++) {
                const float *x = (const float *)w->data + c * L;
                const float *X = (const float *)s->data + 2 * c * F * T;
                for (int64_t t = 0; t < T; t++)
                    for (int64_t k = 0; k < F; k++) {
                        double re = 0, im = 0;
                        for (int64_t m = 0; m < N; m++) {
                            double v = (0.5 - 0.5 * cos(2 * M_PI * m / N)) * pad(x, L, t * h + m, (int)N);
                            double ang = 2 * M_PI * (double)((k * m) % N) / N;
                            re += v * cos(ang);
                            im -= v * sin(ang);
                        }
                        double dr = X[2 * (k * T + t)] - re, di = X[2 * (k * T + t) + 1] - im;
                        num += dr * dr + di * di;
                        den += re * re + im * im;
                    }
            }
            double rel = den > 0 ? sqrt(num / den) : sqrt(num);
            if (!(rel < 1e-5)) {
                fprintf(stderr, "record %ld: tensor %s: relative error %.3g against the direct DFT\n", n, s->name, rel);
                fail = 1;
            }
            checked++;
        }
        n++;
    }
    printf("dft: %ld spectrograms checked\n", checked);
    if (!checked)
        fail = 1;
    ts_record_free(&W);
    ts_record_free(&S);
    ts_reader_close(rw);
    ts_reader_close(rs);
}

static void sum(const char *specs)
{
    ts_reader *r = open1(specs);
    ts_record S;
    ts_record_init(&S);
    long zeros = 0, n = 0;
    while (ts_read_or_die(r, &S) == 1) {
        const ts_tensor *m = ts_tensor_get(&S, "mixture");
        if (!m || m->dtype != TS_C64) {
            fail = 1;
            break;
        }
        int64_t M = 2 * ts_numel(m);
        double *acc = calloc((size_t)M, sizeof(double)), peak = 0, err = 0;
        for (int i = 0; i < S.n_tensors; i++) {
            const ts_tensor *t = &S.tensors[i];
            if (t != m && t->dtype == TS_C64 && t->nbytes == m->nbytes)
                for (int64_t j = 0; j < M; j++)
                    acc[j] += ((float *)t->data)[j];
        }
        for (int64_t j = 0; j < M; j++) {
            float v = ((float *)m->data)[j];
            peak = fmax(peak, fabs(v));
            err = fmax(err, fabs(v - acc[j]));
            zeros += v == 0.0f;
        }
        if (!(err <= 1e-5 * peak)) {
            fprintf(stderr, "record %ld: mixture - sum of targets = %.3g (peak %.3g)\n", n, err, peak);
            fail = 1;
        }
        free(acc);
        n++;
    }
    printf("sum: %ld records, %ld zero values in mixture\n", n, zeros);
    ts_record_free(&S);
    ts_reader_close(r);
}

static void wav(const char *file, const char *stream, long recno, const char *tensor, double tol)
{
    ts_reader *r = open1(stream);
    ts_record R;
    ts_record_init(&R);
    long n = 0;
    while (ts_read_or_die(r, &R) == 1 && n < recno)
        n++;
    const ts_tensor *t = ts_tensor_get(&R, tensor);
    audio_buf b;
    char err[512];
    if (!t || t->dtype != TS_F32 || t->rank != 2) {
        fprintf(stderr, "record %ld: no waveform %s\n", recno, tensor);
        fail = 1;
    } else if (audio_read(file, 0, -1, &b, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        fail = 1;
    } else {
        if (b.channels != t->shape[0] || b.frames != t->shape[1]) {
            fprintf(stderr, "%s: %d x %lld, tensor %lld x %lld\n", file, b.channels, (long long)b.frames,
                    (long long)t->shape[0], (long long)t->shape[1]);
            fail = 1;
        } else {
            double e = 0;
            for (int64_t i = 0; i < ts_numel(t); i++)
                e = fmax(e, fabs((double)b.data[i] - ((float *)t->data)[i]));
            printf("wav: %s: max difference %.3g\n", file, e);
            if (!(e <= tol))
                fail = 1;
        }
        audio_free(&b);
    }
    ts_record_free(&R);
    ts_reader_close(r);
}

static void stats(const char *file, const char *specs)
{
    specnorm_stats st;
    char err[512];
    if (specnorm_load(file, &st, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        fail = 1;
        return;
    }
    ts_reader *r = open1(specs);
    ts_record R;
    ts_record_init(&R);
    int64_t F = st.bins, C = st.channels;
    long double *sum = calloc((size_t)(C * F), sizeof(long double));
    long double *sq = calloc((size_t)(C * F), sizeof(long double));
    long double n = 0;
    /* two passes over the file: means, then squared deviations */
    for (int pass = 0; pass < 2; pass++) {
        while (ts_read_or_die(r, &R) == 1) {
            const ts_tensor *t = ts_tensor_get(&R, "mixture");
            if (!t)
                continue;
            int64_t T = t->shape[2];
            for (int64_t c = 0; c < C; c++)
                for (int64_t k = 0; k < F; k++)
                    for (int64_t f = 0; f < T; f++) {
                        float v = ((float *)t->data)[2 * (((c / 2) * F + k) * T + f) + c % 2];
                        if (pass == 0)
                            sum[c * F + k] += v;
                        else {
                            long double d = v - sum[c * F + k];
                            sq[c * F + k] += d * d;
                        }
                    }
            if (pass == 0)
                n += T;
        }
        ts_reader_close(r);
        r = open1(specs);
        if (pass == 0)
            for (int64_t i = 0; i < C * F; i++)
                sum[i] /= n;
    }
    double worst = 0;
    for (int64_t i = 0; i < C * F; i++) {
        double sd = (double)sqrtl(sq[i] / n), scale = sd > 0 ? sd : 1;
        double e = fmax(fabs(st.mean[i] - (double)sum[i]), fabs(st.std[i] - sd)) / scale;
        worst = fmax(worst, e);
    }
    printf("stats: %lld channels x %lld bins over %.0Lf frames; worst error %.3g of std\n", (long long)C, (long long)F,
           n, worst);
    if (!(worst < 1e-6) || st.frames != (int64_t)n)
        fail = 1;
    free(sum);
    free(sq);
    specnorm_free(&st);
    ts_record_free(&R);
    ts_reader_close(r);
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc == 5 && strcmp(argv[1], "roundtrip") == 0)
        roundtrip(argv[2], argv[3], atof(argv[4]));
    else if (argc == 4 && strcmp(argv[1], "dft") == 0)
        dft(argv[2], argv[3]);
    else if (argc == 3 && strcmp(argv[1], "sum") == 0)
        sum(argv[2]);
    else if (argc == 7 && strcmp(argv[1], "wav") == 0)
        wav(argv[2], argv[3], atol(argv[4]), argv[5], atof(argv[6]));
    else if (argc == 4 && strcmp(argv[1], "stats") == 0)
        stats(argv[2], argv[3]);
    else
        tf_usage_error("usage: stft_check roundtrip A B TOL | dft WAVES SPECS | sum SPECS | wav FILE STREAM REC TENSOR "
                       "TOL | stats FILE SPECS");
    return fail;
}
