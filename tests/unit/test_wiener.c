/* The multichannel Wiener filter (lib/dsp/wiener.c) against a direct
 * double-precision implementation of norbert's / Open-Unmix's equations
 * written here in their own layout (frames, bins, channels, sources as
 * numpy's y[t, f, c, j]), step by step as expectation_maximization does
 * them, with a general Gauss-Jordan inverse instead of the analytic one;
 * plus properties: 0 iterations change nothing, the thread count changes
 * no bit, a hand-computed one-bin case, and the gains' sum. */
#include "check.h"
#include "dsp/wiener.h"
#include "util/cli.h"

#include <complex.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static double frand(void) { return 2.0 * rand() / RAND_MAX - 1.0; }

/* Gauss-Jordan with partial pivoting, C x C complex, row-major. */
static void gj_inverse(int C, const double complex *m, double complex *inv)
{
    double complex a[4][8];
    for (int r = 0; r < C; r++)
        for (int k = 0; k < 2 * C; k++)
            a[r][k] = k < C ? m[r * C + k] : (k - C == r);
    for (int col = 0; col < C; col++) {
        int piv = col;
        for (int r = col + 1; r < C; r++)
            if (cabs(a[r][col]) > cabs(a[piv][col]))
                piv = r;
        for (int k = 0; k < 2 * C; k++) {
            double complex tmp = a[col][k];
            a[col][k] = a[piv][k];
            a[piv][k] = tmp;
        }
        double complex d = a[col][col];
        for (int k = 0; k < 2 * C; k++)
            a[col][k] /= d;
        for (int r = 0; r < C; r++) {
            if (r == col)
                continue;
            double complex fct = a[r][col];
            for (int k = 0; k < 2 * C; k++)
                a[r][k] -= fct * a[col][k];
        }
    }
    for (int r = 0; r < C; r++)
        for (int k = 0; k < C; k++)
            inv[r * C + k] = a[r][C + k];
}

/* Reference EM on one window: y[t][f][c][j] and x[t][f][c] (T frames). */
#define Y(t, f, c, j) y[(((size_t)(t)*F + (f)) * C + (c)) * J + (j)]
#define X(t, f, c) x[((size_t)(t)*F + (f)) * C + (c)]
static void ref_em(double complex *y, double complex *x, int T, int F, int C, int J, int iters, double eps,
                   double scale)
{
    double mx = 0;
    for (size_t i = 0; i < (size_t)T * F * C; i++)
        mx = fmax(mx, cabs(x[i]));
    double max_abs = fmax(1.0, mx / scale);
    for (size_t i = 0; i < (size_t)T * F * C; i++)
        x[i] /= max_abs;
    for (size_t i = 0; i < (size_t)T * F * C * J; i++)
        y[i] /= max_abs;
    double *v = malloc(sizeof(double) * (size_t)T * F * J);
    double complex *R = malloc(sizeof(double complex) * (size_t)F * C * C * J);
    for (int it = 0; it < iters; it++) {
        /* v = mean over channels of |y|^2 */
        for (int t = 0; t < T; t++)
            for (int f = 0; f < F; f++)
                for (int j = 0; j < J; j++) {
                    double s = 0;
                    for (int c = 0; c < C; c++)
                        s += pow(cabs(Y(t, f, c, j)), 2);
                    v[((size_t)t * F + f) * J + j] = s / C;
                }
        /* R_j = sum_t y y^H / (eps + sum_t v) */
        for (int j = 0; j < J; j++)
            for (int f = 0; f < F; f++) {
                double weight = eps;
                for (int t = 0; t < T; t++)
                    weight += v[((size_t)t * F + f) * J + j];
                for (int a = 0; a < C; a++)
                    for (int b = 0; b < C; b++) {
                        double complex acc = 0;
                        for (int t = 0; t < T; t++)
                            acc += Y(t, f, a, j) * conj(Y(t, f, b, j));
                        R[(((size_t)f * C + a) * C + b) * J + j] = acc / weight;
                    }
            }
        /* y_j = v_j R_j Cxx^-1 x, Cxx = sqrt(eps) I + sum_k v_k R_k */
        for (int t = 0; t < T; t++)
            for (int f = 0; f < F; f++) {
                double complex cxx[4], inv[4];
                for (int a = 0; a < C; a++)
                    for (int b = 0; b < C; b++) {
                        double complex acc = a == b ? sqrt(eps) : 0;
                        for (int k = 0; k < J; k++)
                            acc += v[((size_t)t * F + f) * J + k] * R[(((size_t)f * C + a) * C + b) * J + k];
                        cxx[a * C + b] = acc;
                    }
                gj_inverse(C, cxx, inv);
                for (int j = 0; j < J; j++) {
                    double vj = v[((size_t)t * F + f) * J + j];
                    for (int a = 0; a < C; a++) {
                        double complex out = 0;
                        for (int b = 0; b < C; b++) {
                            double complex gain = 0;
                            for (int k = 0; k < C; k++)
                                gain += vj * R[(((size_t)f * C + a) * C + k) * J + j] * inv[k * C + b];
                            out += gain * X(t, f, b);
                        }
                        Y(t, f, a, j) = out;
                    }
                }
            }
    }
    for (size_t i = 0; i < (size_t)T * F * C * J; i++)
        y[i] *= max_abs;
    free(v);
    free(R);
}

/* Random record (channels, bins, frames) with J estimates that roughly
 * partition a mixture (plus noise, some silent bins); compares wiener_filter
 * with the reference run window by window. */
static void random_case(int C, int F, int T, int J, int iters, int64_t block, double amp)
{
    size_t n = (size_t)C * F * T;
    float *mix = calloc(2 * n, sizeof(float)), *est[8];
    for (int j = 0; j < J; j++)
        est[j] = calloc(2 * n, sizeof(float));
    for (size_t i = 0; i < n; i++) {
        int f = (int)((i / (size_t)T) % (size_t)F);
        double sr = 0, si = 0;
        for (int j = 0; j < J; j++) {
            double g = f == 1 && j == 0 ? 0.0 : amp * (j + 1); /* source 0 silent in bin 1 */
            est[j][2 * i] = (float)(g * frand());
            est[j][2 * i + 1] = (float)(g * frand());
            sr += est[j][2 * i], si += est[j][2 * i + 1];
        }
        mix[2 * i] = (float)(sr + 0.2 * amp * frand());
        mix[2 * i + 1] = (float)(si + 0.2 * amp * frand());
    }
    /* the reference's own copies, window by window */
    double complex *ry = malloc(sizeof(double complex) * n * J), *rx = malloc(sizeof(double complex) * n);
    int64_t b = block > 0 ? block : T;
    double complex *out = malloc(sizeof(double complex) * n * J);
    wiener_params p;
    wiener_params_default(&p);
    p.iterations = iters;
    p.block = block;
    for (int64_t t0 = 0; t0 < T; t0 += b) {
        int nt = (int)(t0 + b < T ? b : T - t0);
        for (int t = 0; t < nt; t++)
            for (int f = 0; f < F; f++)
                for (int c = 0; c < C; c++) {
                    size_t i = ((size_t)c * F + f) * T + (size_t)(t0 + t);
                    rx[((size_t)t * F + f) * C + c] = mix[2 * i] + I * mix[2 * i + 1];
                    for (int j = 0; j < J; j++)
                        ry[(((size_t)t * F + f) * C + c) * J + j] = est[j][2 * i] + I * est[j][2 * i + 1];
                }
        ref_em(ry, rx, nt, F, C, J, iters, p.eps, p.scale);
        for (int t = 0; t < nt; t++)
            for (int f = 0; f < F; f++)
                for (int c = 0; c < C; c++)
                    for (int j = 0; j < J; j++)
                        out[(((size_t)c * F + f) * T + (size_t)(t0 + t)) * J + j] =
                            ry[(((size_t)t * F + f) * C + c) * J + j];
    }
    char err[256];
    int rc = wiener_filter(mix, est, J, C, F, T, &p, err, sizeof err);
    CHECK(rc == 0, "wiener_filter: %s", err);
    double maxerr = 0, maxref = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < J; j++) {
            double complex r = out[i * J + j], got = est[j][2 * i] + I * est[j][2 * i + 1];
            maxerr = fmax(maxerr, cabs(got - r));
            maxref = fmax(maxref, cabs(r));
        }
    /* float32 storage of the result: relative 2^-24 of the largest value, a few times */
    CHECK(maxerr <= 4e-7 * maxref, "C=%d F=%d T=%d J=%d iters=%d block=%lld amp=%g: max error %.3g of max %.3g", C, F,
          T, J, iters, (long long)block, amp, maxerr, maxref);
    free(mix);
    for (int j = 0; j < J; j++)
        free(est[j]);
    free(ry);
    free(rx);
    free(out);
}

/* One bin, one frame, one channel, two sources, one iteration, by hand:
 * y1 = 3, y2 = 4i, x = 5 (no scaling: |x| / 10 < 1). v1 = 9, v2 = 16,
 * R_j = |y_j|^2 / (eps + v_j), Cxx = sqrt(eps) + v1 R1 + v2 R2, y_j = v_j R_j x / Cxx. */
static void hand_case(void)
{
    float mix[2] = {5, 0}, e1[2] = {3, 0}, e2[2] = {0, 4};
    float *est[2] = {e1, e2};
    wiener_params p;
    wiener_params_default(&p);
    char err[256];
    CHECK(wiener_filter(mix, est, 2, 1, 1, 1, &p, err, sizeof err) == 0, "%s", err);
    double eps = 1e-10, r1 = 9 / (eps + 9), r2 = 16 / (eps + 16), cx = sqrt(eps) + 9 * r1 + 16 * r2;
    CHECK_CLOSE(e1[0], 9 * r1 * 5 / cx, 1e-6, 1e-6, "y1");
    CHECK_CLOSE(e2[0], 16 * r2 * 5 / cx, 1e-6, 1e-6, "y2");
    CHECK(e1[1] == 0 && e2[1] == 0, "imaginary parts %g %g", e1[1], e2[1]);
}

/* 0 iterations: unchanged. Threads 1 and 2: bit-identical. The gains sum to
 * (Cxx - sqrt(eps) I) Cxx^-1, about I: the estimates add up to the mixture. */
static void properties(void)
{
    enum { C = 2, F = 33, T = 50, J = 3 };
    size_t n = (size_t)C * F * T;
    float *mix = malloc(2 * n * sizeof(float)), *e[2][J], *orig[J];
    for (size_t i = 0; i < 2 * n; i++)
        mix[i] = (float)(3 * frand());
    for (int j = 0; j < J; j++) {
        orig[j] = malloc(2 * n * sizeof(float));
        for (size_t i = 0; i < 2 * n; i++)
            orig[j][i] = (float)(mix[i] * (0.2 + 0.3 * j) + 0.1 * frand());
        for (int k = 0; k < 2; k++) {
            e[k][j] = malloc(2 * n * sizeof(float));
            memcpy(e[k][j], orig[j], 2 * n * sizeof(float));
        }
    }
    wiener_params p;
    wiener_params_default(&p);
    char err[256];
    p.iterations = 0;
    CHECK(wiener_filter(mix, e[0], J, C, F, T, &p, err, sizeof err) == 0, "%s", err);
    for (int j = 0; j < J; j++)
        CHECK(!memcmp(e[0][j], orig[j], 2 * n * sizeof(float)), "0 iterations changed stem %d", j);
    p.iterations = 2;
    p.block = 16;
    tf_set_threads(1);
    CHECK(wiener_filter(mix, e[0], J, C, F, T, &p, err, sizeof err) == 0, "%s", err);
    tf_set_threads(2);
    CHECK(wiener_filter(mix, e[1], J, C, F, T, &p, err, sizeof err) == 0, "%s", err);
    tf_set_threads(1);
    for (int j = 0; j < J; j++)
        CHECK(!memcmp(e[0][j], e[1][j], 2 * n * sizeof(float)), "threads changed stem %d", j);
    double maxd = 0;
    for (size_t i = 0; i < 2 * n; i++) {
        double s = 0;
        for (int j = 0; j < J; j++)
            s += e[0][j][i];
        maxd = fmax(maxd, fabs(s - mix[i]));
    }
    CHECK(maxd < 1e-3, "estimates do not add up to the mixture: %g", maxd);
    /* refused: three channels, no stems */
    CHECK(wiener_filter(mix, e[0], J, 3, F, T / 3 * 2, &p, err, sizeof err) == -1 && strstr(err, "3 channels"),
          "3 channels accepted: %s", err);
    CHECK(wiener_filter(mix, e[0], 0, C, F, T, &p, err, sizeof err) == -1, "0 stems accepted");
    float bad[4] = {1, NAN, 2, 3};
    CHECK(wiener_first_nonfinite(bad, 4) == 1 && wiener_first_nonfinite(mix, (int64_t)(2 * n)) == -1, "nonfinite");
    free(mix);
    for (int j = 0; j < J; j++) {
        free(orig[j]);
        free(e[0][j]);
        free(e[1][j]);
    }
}

int main(void)
{
    srand(7);
    hand_case();
    properties();
    /* stereo and mono; 1 to 4 sources; one window, several with a short last
     * one; amplitudes below and above the scaling threshold (max|x| > 10) */
    random_case(2, 7, 23, 2, 1, 0, 1.0);
    random_case(2, 7, 23, 3, 2, 8, 1.0);
    random_case(2, 5, 30, 4, 3, 7, 40.0);
    random_case(1, 6, 20, 2, 2, 0, 25.0);
    random_case(2, 4, 9, 1, 1, 0, 1.0);
    random_case(2, 9, 31, 2, 5, 10, 1e-3);
    return check_report("wiener");
}
