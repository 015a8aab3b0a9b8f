/* lib/dsp/stft: against a direct O(N^2) DFT in double, against PyTorch
 * golden vectors and autograd gradients (tests/data/stft/make_golden.py), round trips for every
 * n_fft/hop pair with hop <= n_fft/2 at many lengths (tiny, odd, silence,
 * full-scale noise), the adjoint identities <Ax, y> = <x, A^T y>, and
 * several threads sharing one plan. */
#include "check.h"
#include "dsp/stft.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* STFT_TEST_QUICK (set by the valgrind run) keeps n_fft small */
#define QUICK_SKIP(N) (getenv("STFT_TEST_QUICK") && (N) > 512)

static uint64_t rs = 88172645463325252ull;
static double urand(void) /* [-1, 1) */
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* Independent reference: padding written from the definition in stft.h, a
 * direct DFT in double. out: bins * frames complex doubles, (k, t) layout. */
static double ref_pad(const float *x, int64_t len, int64_t i, int N)
{
    int64_t j = i - N / 2;
    if (j < 0)
        j = -j; /* one reflection only; beyond it zeros */
    else if (j >= len)
        j = 2 * (len - 1) - j;
    return (j >= 0 && j < len) ? x[j] : 0.0;
}

static void ref_stft(const float *x, int64_t len, int N, int hop, double *out)
{
    int F = N / 2 + 1;
    int64_t T = 1 + len / hop;
    for (int64_t t = 0; t < T; t++)
        for (int k = 0; k < F; k++) {
            double re = 0, im = 0;
            for (int n = 0; n < N; n++) {
                double w = 0.5 - 0.5 * cos(2 * M_PI * n / N);
                double v = w * ref_pad(x, len, t * hop + n, N);
                /* exact angle reduction: k n mod N */
                double a = 2 * M_PI * (double)(((int64_t)k * n) % N) / N;
                re += v * cos(a);
                im -= v * sin(a);
            }
            out[2 * (k * T + t)] = re;
            out[2 * (k * T + t) + 1] = im;
        }
}

static void test_dft(void)
{
    static const int cases[][3] = {
        {2, 1, 5},      {4, 2, 1},      {4, 1, 0},         {8, 2, 3},        {8, 3, 17},   {16, 4, 50},
        {16, 8, 7},     {16, 5, 33},    {32, 8, 2},        {64, 16, 301},    {64, 7, 100}, {128, 32, 1},
        {256, 64, 999}, {512, 128, 40}, {2048, 512, 2049}, {2048, 512, 700},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int N = cases[c][0], h = cases[c][1];
        int64_t L = cases[c][2], T = stft_frames(L, h);
        int F = N / 2 + 1;
        if (QUICK_SKIP(N))
            continue;
        char err[200];
        stft_plan *p = stft_plan_new(N, h, err, sizeof err);
        CHECK(p != NULL, "plan %d/%d: %s", N, h, err);
        if (!p)
            continue;
        stft_scratch *s = stft_scratch_new(p);
        float *x = malloc(sizeof(float) * (size_t)(L + 1));
        for (int64_t i = 0; i < L; i++)
            x[i] = (float)urand();
        float *X = malloc(sizeof(float) * 2 * (size_t)(F * T));
        double *R = malloc(sizeof(double) * 2 * (size_t)(F * T));
        stft_forward(p, s, x, L, X);
        ref_stft(x, L, N, h, R);
        double num = 0, den = 0, maxd = 0, maxr = 0;
        for (int64_t i = 0; i < 2 * F * T; i++) {
            double d = X[i] - R[i];
            num += d * d;
            den += R[i] * R[i];
            maxd = fmax(maxd, fabs(d));
            maxr = fmax(maxr, fabs(R[i]));
        }
        if (L == 0) {
            CHECK(maxd == 0 && maxr == 0, "empty signal gives zeros");
        } else {
            CHECK(sqrt(num) <= 1e-5 * sqrt(den), "dft %d/%d L=%lld: relative error %.3g", N, h, (long long)L,
                  sqrt(num / den));
            CHECK(maxd <= 1e-5 * maxr, "dft %d/%d L=%lld: max error %.3g of %.3g", N, h, (long long)L, maxd, maxr);
        }
        free(x);
        free(X);
        free(R);
        stft_scratch_free(s);
        stft_plan_free(p);
    }
}

/* ---- golden vectors ---- */
static float *read_floats(FILE *f, int64_t n)
{
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        if (fscanf(f, "%f", &v[i]) != 1) {
            fprintf(stderr, "golden: short line\n");
            exit(1);
        }
    return v;
}

static void test_golden(void)
{
    const char *top = getenv("TOP");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/stft/golden.txt", top ? top : ".");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    char kind[16];
    int n_stft = 0, n_istft = 0, n_grad = 0;
    while (fscanf(f, "%15s", kind) == 1) {
        int N, h;
        long long L, T = 0;
        if (strcmp(kind, "stft") == 0 || strcmp(kind, "stftgrad") == 0) {
            if (fscanf(f, "%d %d %lld", &N, &h, &L) != 3)
                break;
        } else if (fscanf(f, "%d %d %lld %lld", &N, &h, &L, &T) != 4)
            break;
        int F = N / 2 + 1;
        char err[200];
        stft_plan *p = stft_plan_new(N, h, err, sizeof err);
        stft_scratch *s = stft_scratch_new(p);
        if (strcmp(kind, "stft") == 0) {
            T = stft_frames(L, h);
            float *x = read_floats(f, L), *G = read_floats(f, 2 * F * T);
            float *X = malloc(sizeof(float) * 2 * (size_t)(F * T));
            stft_forward(p, s, x, L, X);
            double num = 0, den = 0, maxd = 0, maxg = 0;
            for (int64_t i = 0; i < 2 * F * T; i++) {
                num += ((double)X[i] - G[i]) * ((double)X[i] - G[i]);
                den += (double)G[i] * G[i];
                maxd = fmax(maxd, fabs((double)X[i] - G[i]));
                maxg = fmax(maxg, fabs(G[i]));
            }
            CHECK(sqrt(num) <= 1e-5 * sqrt(den) && maxd <= 1e-5 * maxg, "golden stft %d/%d L=%lld: rel %.3g max %.3g",
                  N, h, L, sqrt(num / den), maxd / maxg);
            n_stft++;
            free(x);
            free(G);
            free(X);
        } else if (strcmp(kind, "stftgrad") == 0) {
            /* the forward adjoint is torch.autograd's gradient */
            T = stft_frames(L, h);
            float *x = read_floats(f, L), *G = read_floats(f, 2 * F * T), *want = read_floats(f, L);
            float *got = calloc((size_t)L, sizeof(float));
            stft_forward_adjoint(p, s, G, L, got);
            double maxd = 0, maxg = 0;
            for (int64_t i = 0; i < L; i++) {
                maxd = fmax(maxd, fabs((double)got[i] - want[i]));
                maxg = fmax(maxg, fabs(want[i]));
            }
            CHECK(maxd <= 1e-5 * maxg, "golden stft gradient %d/%d L=%lld: max error %.3g of %.3g", N, h, L, maxd,
                  maxg);
            n_grad++;
            free(x);
            free(G);
            free(want);
            free(got);
        } else if (strcmp(kind, "istftgrad") == 0) {
            float *Y = read_floats(f, 2 * F * T), *g = read_floats(f, L), *want = read_floats(f, 2 * F * T);
            float *got = calloc((size_t)(2 * F * T), sizeof(float));
            CHECK(stft_inverse_adjoint(p, s, g, L, got, T) == 0, "inverse adjoint refused");
            double maxd = 0, maxg = 0;
            for (int64_t i = 0; i < 2 * F * T; i++) {
                maxd = fmax(maxd, fabs((double)got[i] - want[i]));
                maxg = fmax(maxg, fabs(want[i]));
            }
            CHECK(maxd <= 1e-5 * maxg, "golden istft gradient %d/%d L=%lld: max error %.3g of %.3g", N, h, L, maxd,
                  maxg);
            n_grad++;
            free(Y);
            free(g);
            free(want);
            free(got);
        } else {
            float *Y = read_floats(f, 2 * F * T), *g = read_floats(f, L);
            float *y = malloc(sizeof(float) * (size_t)L);
            CHECK(stft_inverse(p, s, Y, T, y, L) == 0, "golden istft %d/%d refused", N, h);
            double maxd = 0, maxg = 0;
            for (int64_t i = 0; i < L; i++) {
                maxd = fmax(maxd, fabs((double)y[i] - g[i]));
                maxg = fmax(maxg, fabs(g[i]));
            }
            CHECK(maxd <= 1e-5 * maxg, "golden istft %d/%d L=%lld: max error %.3g of %.3g", N, h, L, maxd, maxg);
            n_istft++;
            free(Y);
            free(g);
            free(y);
        }
        stft_scratch_free(s);
        stft_plan_free(p);
    }
    fclose(f);
    CHECK(n_stft == 6 && n_istft == 4 && n_grad == 6, "golden cases read: %d stft, %d istft, %d gradients", n_stft,
          n_istft, n_grad);
}

/* ---- round trips ---- */
static double worst_rt = 0, worst_tail = 0;

static void round_trip(const stft_plan *p, stft_scratch *s, int64_t L, int kind)
{
    int N = stft_plan_nfft(p), h = stft_plan_hop(p), F = N / 2 + 1;
    int64_t T = stft_frames(L, h);
    float *x = malloc(sizeof(float) * (size_t)(L + 1)), *y = malloc(sizeof(float) * (size_t)(L + 1));
    float *X = malloc(sizeof(float) * 2 * (size_t)(F * T));
    double peak = 0;
    for (int64_t i = 0; i < L; i++) {
        x[i] = kind == 0 ? 0.0f : kind == 1 ? (float)urand() : (float)(0.5 * sin(0.01 * i * i) + 0.01);
        if (kind == 1 && i % 97 == 0)
            x[i] = i % 2 ? 1.0f : -1.0f; /* full scale */
        peak = fmax(peak, fabs(x[i]));
        y[i] = NAN;
    }
    stft_forward(p, s, x, L, X);
    int rc = stft_inverse(p, s, X, T, y, L);
    CHECK(rc == 0, "inverse %d/%d L=%lld refused", N, h, (long long)L);
    /* Every sample within 1e-6 of the peak where the envelope is >= 0.25
     * (at least one window weight >= 0.5). Smaller envelopes occur only
     * with hop > n_fft/4, in the last (L mod hop) samples, covered only by
     * the falling tail of the last window (see stft.h): there the error
     * grows like 1/sqrt(e), as for torch.istft, and we ask for a finite
     * value and report the worst. */
    double mx = 0, mtail = 0;
    int ntail = 0;
    for (int64_t i = 0; i < L; i++) {
        double d = fabs((double)y[i] - x[i]);
        CHECK(isfinite(y[i]), "finite output");
        if (kind == 0 && y[i] != 0.0f) {
            CHECK(y[i] == 0.0f, "silence must come back exactly");
            break;
        }
        double e = 0; /* the envelope, computed here independently */
        for (int64_t t = 0; t < T; t++) {
            int64_t n = i + N / 2 - t * h;
            if (n >= 0 && n < N) {
                double w = 0.5 - 0.5 * cos(2 * M_PI * n / N);
                e += w * w;
            }
        }
        if (e >= 0.25)
            mx = fmax(mx, d);
        else {
            CHECK(4 * h > N && i >= L - L % h, "%d/%d L=%lld: envelope %.3g at sample %lld", N, h, (long long)L, e,
                  (long long)i);
            mtail = fmax(mtail, d);
            ntail++;
        }
    }
    if (kind != 0 && L > 0) {
        CHECK(mx <= 1e-6 * peak, "round trip %d/%d L=%lld kind %d: error %.3g, peak %.3g", N, h, (long long)L, kind, mx,
              peak);
        worst_rt = fmax(worst_rt, mx / peak);
        worst_tail = fmax(worst_tail, mtail / peak);
    }
    free(x);
    free(y);
    free(X);
}

static void test_round_trip(void)
{
    int quick = getenv("STFT_TEST_QUICK") != NULL;
    int sizes[] = {2, 4, 6, 8, 10, 16, 32, 64, 100, 256, 1024, 2048, 4096};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int N = sizes[si];
        if (quick && N > 64)
            continue;
        for (int h = 1; h <= N / 2; h++) {
            /* every hop for small n_fft; a spread of hops (powers of two,
             * odd, and n_fft/2) for large ones */
            if (N > 64 && !(h == N / 2 || h == N / 4 || h == N / 8 || h == 1 + N / 3 || h == N / 2 - 1 ||
                            (N <= 256 && h % 13 == 1)))
                continue;
            if (N >= 1024 && h < N / 8)
                continue;
            char err[200];
            stft_plan *p = stft_plan_new(N, h, err, sizeof err);
            CHECK(p != NULL, "plan %d/%d: %s", N, h, err);
            double me;
            CHECK(stft_plan_invertible(p, &me) && me >= 0.375, "%d/%d: interior envelope %.3g", N, h, me);
            stft_scratch *s = stft_scratch_new(p);
            int64_t lens[] = {0,
                              1,
                              2,
                              3,
                              N / 2,
                              N / 2 + 1,
                              N - 1,
                              N + 1,
                              3 * (int64_t)h,
                              3 * (int64_t)h - 1,
                              3 * (int64_t)h - 2,
                              2 * (int64_t)N + 7};
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                if (lens[li] < 0)
                    continue;
                for (int kind = 0; kind < 3; kind++)
                    if (kind == 1 || li % 3 == 0)
                        round_trip(p, s, lens[li], kind);
            }
            stft_scratch_free(s);
            stft_plan_free(p);
        }
    }
    fprintf(stderr, "round trip: worst error %.3g of peak (envelope >= 0.25), %.3g in ill-conditioned tails\n",
            worst_rt, worst_tail);
}

/* ---- adjoints ---- */
static void test_adjoints(void)
{
    static const int cases[][3] = {{4, 1, 3},  {8, 2, 3},     {8, 4, 30},  {16, 4, 50},      {16, 5, 21},
                                   {16, 8, 8}, {64, 16, 257}, {64, 32, 1}, {512, 128, 2000}, {2048, 512, 3001}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int N = cases[c][0], h = cases[c][1];
        int64_t L = cases[c][2], T = stft_frames(L, h), F = N / 2 + 1, M = 2 * F * T;
        if (QUICK_SKIP(N))
            continue;
        char err[200];
        stft_plan *p = stft_plan_new(N, h, err, sizeof err);
        stft_scratch *s = stft_scratch_new(p);
        float *x = malloc(sizeof(float) * (size_t)L), *Y = malloc(sizeof(float) * (size_t)M);
        float *Ax = malloc(sizeof(float) * (size_t)M), *ATy = calloc((size_t)L, sizeof(float));
        for (int64_t i = 0; i < L; i++)
            x[i] = (float)urand();
        for (int64_t i = 0; i < M; i++)
            Y[i] = (float)urand(); /* includes Im of the DC and Nyquist bins */
        /* forward: <A x, Y> = <x, A^T Y> */
        stft_forward(p, s, x, L, Ax);
        stft_forward_adjoint(p, s, Y, L, ATy);
        double l = 0, r = 0, sl = 0, sr = 0;
        for (int64_t i = 0; i < M; i++) {
            l += (double)Ax[i] * Y[i];
            sl += fabs((double)Ax[i] * Y[i]);
        }
        for (int64_t i = 0; i < L; i++) {
            r += (double)x[i] * ATy[i];
            sr += fabs((double)x[i] * ATy[i]);
        }
        CHECK(fabs(l - r) <= 1e-5 * fmax(sl, sr), "stft adjoint %d/%d L=%lld: %.9g vs %.9g", N, h, (long long)L, l, r);
        /* accumulation: a second call adds the same again */
        stft_forward_adjoint(p, s, Y, L, ATy);
        double r2 = 0;
        for (int64_t i = 0; i < L; i++)
            r2 += (double)x[i] * ATy[i];
        CHECK(fabs(r2 - 2 * r) <= 1e-5 * 2 * sr, "stft adjoint accumulates");

        /* inverse: <B Y, x> = <Y, B^T x> */
        float *BY = malloc(sizeof(float) * (size_t)L), *BTx = calloc((size_t)M, sizeof(float));
        CHECK(stft_inverse(p, s, Y, T, BY, L) == 0, "inverse %d/%d", N, h);
        CHECK(stft_inverse_adjoint(p, s, x, L, BTx, T) == 0, "inverse adjoint %d/%d", N, h);
        l = r = sl = sr = 0;
        for (int64_t i = 0; i < L; i++) {
            l += (double)BY[i] * x[i];
            sl += fabs((double)BY[i] * x[i]);
        }
        for (int64_t i = 0; i < M; i++) {
            r += (double)Y[i] * BTx[i];
            sr += fabs((double)Y[i] * BTx[i]);
        }
        CHECK(fabs(l - r) <= 1e-5 * fmax(sl, sr), "istft adjoint %d/%d L=%lld: %.9g vs %.9g", N, h, (long long)L, l, r);
        free(x);
        free(Y);
        free(Ax);
        free(ATy);
        free(BY);
        free(BTx);
        stft_scratch_free(s);
        stft_plan_free(p);
    }
}

static void test_errors(void)
{
    char err[200];
    CHECK(stft_plan_new(15, 4, err, sizeof err) == NULL, "odd n_fft refused");
    CHECK(stft_plan_new(16, 0, err, sizeof err) == NULL, "hop 0 refused");
    CHECK(stft_plan_new(16, 17, err, sizeof err) == NULL, "hop > n_fft refused");
    CHECK(stft_plan_new(0, 1, err, sizeof err) == NULL, "n_fft 0 refused");
    stft_plan *p = stft_plan_new(16, 16, err, sizeof err);
    double me = 1;
    CHECK(p && !stft_plan_invertible(p, &me) && me < 1e-3, "hop = n_fft is not invertible (%.3g)", me);
    stft_scratch *s = stft_scratch_new(p);
    float X[2 * 9 * 4] = {0}, y[64];
    CHECK(stft_inverse(p, s, X, 4, y, 50) == -1, "envelope zero: refused");
    stft_scratch_free(s);
    stft_plan_free(p);
    p = stft_plan_new(16, 4, err, sizeof err);
    s = stft_scratch_new(p);
    CHECK(stft_inverse(p, s, X, 4, y, 20) == -1, "length 20 does not fit 4 frames of hop 4");
    CHECK(stft_inverse(p, s, X, 4, y, 12) == 0, "length 12 fits 4 frames of hop 4");
    CHECK(stft_length_fits(15, 4, 4) && !stft_length_fits(16, 4, 4), "length_fits");
    stft_scratch_free(s);
    stft_plan_free(p);
    const stft_plan *a = stft_plan_get(2048, 512, err, sizeof err), *b = stft_plan_get(1024, 256, err, sizeof err);
    CHECK(a && b && a != b && stft_plan_get(2048, 512, err, sizeof err) == a, "plan cache");
    CHECK(stft_plan_get(7, 1, err, sizeof err) == NULL && strstr(err, "even"), "cache refuses bad n_fft: %s", err);
    stft_plan_cache_clear();
}

static void test_threads(void)
{
    char err[200];
    const stft_plan *p = stft_plan_get(256, 64, err, sizeof err);
    enum { C = 8, L = 5000 };
    int64_t T = stft_frames(L, 64), M = 2 * 129 * T;
    float *x = malloc(sizeof(float) * C * L), *X = malloc(sizeof(float) * C * (size_t)M);
    float *X1 = malloc(sizeof(float) * (size_t)M);
    for (int i = 0; i < C * L; i++)
        x[i] = (float)urand();
#pragma omp parallel num_threads(4)
    {
        stft_scratch *s = stft_scratch_new(p);
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < C; c++)
            stft_forward(p, s, x + c * L, L, X + c * M);
        stft_scratch_free(s);
    }
    stft_scratch *s = stft_scratch_new(p);
    int same = 1;
    for (int c = 0; c < C; c++) {
        stft_forward(p, s, x + c * L, L, X1);
        same &= memcmp(X1, X + c * M, sizeof(float) * (size_t)M) == 0;
    }
    CHECK(same, "threads sharing a plan give the bits of one thread");
    /* frame and sample ranges, split unevenly over threads: the same bits */
    float *Xs = malloc(sizeof(float) * (size_t)M), *y1 = malloc(sizeof(float) * L), *ys = malloc(sizeof(float) * L);
    stft_forward(p, s, x, L, X1);
    CHECK(stft_inverse(p, s, X1, T, y1, L) == 0, "inverse");
    int64_t cuts[] = {0, 1, 7, 8, 30, 31, 50, T - 1, T};
    int ncut = sizeof cuts / sizeof cuts[0];
#pragma omp parallel num_threads(3)
    {
        stft_scratch *ts = stft_scratch_new(p);
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < ncut - 1; i++)
            stft_forward_frames(p, ts, x, L, Xs, cuts[i], cuts[i + 1]);
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < 7; i++) {
            int64_t j0 = i == 0 ? 0 : 37 + 700 * i, j1 = i == 6 ? L : 37 + 700 * (i + 1);
            stft_inverse_samples(p, ts, Xs, T, ys, L, j0, j1);
        }
        stft_scratch_free(ts);
    }
    CHECK(memcmp(Xs, X1, sizeof(float) * (size_t)M) == 0, "frame ranges give the bits of one call");
    CHECK(memcmp(ys, y1, sizeof(float) * L) == 0, "sample ranges give the bits of one call");
    free(Xs);
    free(y1);
    free(ys);
    stft_scratch_free(s);
    free(x);
    free(X);
    free(X1);
    stft_plan_cache_clear();
}

int main(void)
{
    test_dft();
    test_golden();
    test_round_trip();
    test_adjoints();
    test_errors();
    test_threads();
    return check_report("test_stft");
}
