/* Multichannel Wiener filter (norbert's EM as Open-Unmix runs it): see wiener.h. */
#include "dsp/wiener.h"
#include "util/cli.h"

#include <complex.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void wiener_params_default(wiener_params *p)
{
    p->iterations = 1;
    p->block = 300;
    p->eps = 1e-10;
    p->scale = 10.0;
}

int64_t wiener_first_nonfinite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return -1;
}

/* Inverse of a Hermitian C x C matrix (C = 1 or 2), row-major, as
 * Open-Unmix's _invert (analytic: no pivoting, no eps). */
static void invert(int C, const double complex *m, double complex *inv)
{
    if (C == 1) {
        inv[0] = 1.0 / m[0];
        return;
    }
    double complex det = m[0] * m[3] - m[1] * m[2], id = 1.0 / det;
    inv[0] = id * m[3];
    inv[1] = -id * m[1];
    inv[2] = -id * m[2];
    inv[3] = id * m[0];
}

/* One bin over n frames. y: J x C x n (source, channel, frame), x: C x n,
 * v: J x n. Refines y in place. */
static void em_bin(int J, int C, int64_t n, double complex *y, const double complex *x, double *v, int iterations,
                   double eps)
{
    enum { CC = WIENER_MAX_CHANNELS * WIENER_MAX_CHANNELS };
    double complex R[WIENER_MAX_STEMS][CC];
    const double reg = sqrt(eps);
    for (int it = 0; it < iterations; it++) {
        for (int j = 0; j < J; j++) {
            double complex *yj = y + (size_t)j * C * n;
            double *vj = v + (size_t)j * n, w = eps;
            for (int64_t t = 0; t < n; t++) {
                double s = 0;
                for (int c = 0; c < C; c++) {
                    double complex z = yj[c * n + t];
                    s += creal(z) * creal(z) + cimag(z) * cimag(z);
                }
                vj[t] = s / C;
                w += vj[t];
            }
            for (int a = 0; a < C; a++)
                for (int b = 0; b < C; b++) {
                    double complex s = 0;
                    for (int64_t t = 0; t < n; t++)
                        s += yj[a * n + t] * conj(yj[b * n + t]);
                    R[j][a * C + b] = s / w;
                }
        }
        for (int64_t t = 0; t < n; t++) {
            double complex cx[CC], inv[CC];
            for (int a = 0; a < C * C; a++)
                cx[a] = 0;
            for (int j = 0; j < J; j++)
                for (int a = 0; a < C * C; a++)
                    cx[a] += v[(size_t)j * n + t] * R[j][a];
            for (int a = 0; a < C; a++)
                cx[a * C + a] += reg;
            invert(C, cx, inv);
            for (int j = 0; j < J; j++) {
                double complex *yj = y + (size_t)j * C * n, g[CC];
                double vjt = v[(size_t)j * n + t];
                for (int a = 0; a < C; a++)
                    for (int b = 0; b < C; b++) {
                        double complex s = 0;
                        for (int k = 0; k < C; k++)
                            s += R[j][a * C + k] * inv[k * C + b];
                        g[a * C + b] = vjt * s;
                    }
                for (int a = 0; a < C; a++) {
                    double complex s = 0;
                    for (int b = 0; b < C; b++)
                        s += g[a * C + b] * x[b * n + t];
                    yj[a * n + t] = s;
                }
            }
        }
    }
}

int wiener_window(const float *mix, float *const *est, int nstems, int channels, int64_t bins, int64_t frames,
                  int64_t t0, int64_t t1, const wiener_params *p, char *err, size_t errlen)
{
    if (channels < 1 || channels > WIENER_MAX_CHANNELS)
        return tf_fail(err, errlen, "%d channels: the Wiener filter handles 1 or 2 (as Open-Unmix)", channels);
    if (nstems < 1 || nstems > WIENER_MAX_STEMS)
        return tf_fail(err, errlen, "%d estimates: 1 to %d are handled", nstems, WIENER_MAX_STEMS);
    if (bins < 1 || frames < 1 || t0 < 0 || t1 > frames || t0 >= t1)
        return tf_fail(err, errlen, "empty spectrogram or window");
    if (p->iterations <= 0)
        return 0;
    const int J = nstems, C = channels;
    const int64_t n = t1 - t0;
    /* Open-Unmix's scale: max(1, max |x| / scale_factor) over the window */
    double mx = 0;
    for (int c = 0; c < C; c++)
        for (int64_t f = 0; f < bins; f++) {
            const float *xr = mix + 2 * (((size_t)c * bins + f) * frames + t0);
            for (int64_t t = 0; t < n; t++) {
                double a = hypot(xr[2 * t], xr[2 * t + 1]);
                if (a > mx)
                    mx = a;
            }
        }
    const double s = fmax(1.0, mx / p->scale);
    const int nt = omp_get_max_threads();
    const size_t per_c = (size_t)(J + 1) * C * (size_t)n, per_d = (size_t)J * (size_t)n;
    double complex *cbuf = malloc(sizeof(double complex) * per_c * (size_t)nt);
    double *dbuf = malloc(sizeof(double) * per_d * (size_t)nt);
    if (!cbuf || !dbuf) {
        free(cbuf);
        free(dbuf);
        return tf_fail(err, errlen, "out of memory for the Wiener filter's scratch (%d threads x %lld frames)", nt,
                       (long long)n);
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t f = 0; f < bins; f++) {
        int th = omp_get_thread_num();
        double complex *y = cbuf + per_c * (size_t)th, *x = y + (size_t)J * C * n;
        double *v = dbuf + per_d * (size_t)th;
        for (int c = 0; c < C; c++) {
            size_t off = 2 * (((size_t)c * bins + f) * frames + t0);
            for (int64_t t = 0; t < n; t++)
                x[c * n + t] = (mix[off + 2 * t] + I * mix[off + 2 * t + 1]) / s;
            for (int j = 0; j < J; j++)
                for (int64_t t = 0; t < n; t++)
                    y[((size_t)j * C + c) * n + t] = (est[j][off + 2 * t] + I * est[j][off + 2 * t + 1]) / s;
        }
        em_bin(J, C, n, y, x, v, p->iterations, p->eps);
        for (int c = 0; c < C; c++) {
            size_t off = 2 * (((size_t)c * bins + f) * frames + t0);
            for (int j = 0; j < J; j++)
                for (int64_t t = 0; t < n; t++) {
                    double complex z = y[((size_t)j * C + c) * n + t] * s;
                    est[j][off + 2 * t] = (float)creal(z);
                    est[j][off + 2 * t + 1] = (float)cimag(z);
                }
        }
    }
    free(cbuf);
    free(dbuf);
    return 0;
}

int wiener_filter(const float *mix, float *const *est, int nstems, int channels, int64_t bins, int64_t frames,
                  const wiener_params *p, char *err, size_t errlen)
{
    int64_t b = p->block > 0 ? p->block : frames;
    for (int64_t t0 = 0; t0 < frames; t0 += b)
        if (wiener_window(mix, est, nstems, channels, bins, frames, t0, t0 + b < frames ? t0 + b : frames, p, err,
                          errlen))
            return -1;
    return 0;
}
