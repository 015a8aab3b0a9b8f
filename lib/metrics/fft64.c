/* Iterative radix-2 complex FFT of length h = n/2 on interleaved doubles,
 * turned into a real FFT of length n by the usual even/odd split. Twiddles
 * are computed once per plan directly with cos/sin (no recurrences), so the
 * accuracy is that of a textbook double FFT: about 1e-16 * log2(n)
 * relative to the signal norm. */
#include "metrics/fft64.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/cli.h"

int fft64_size(long m)
{
    long n = 4;
    while (n < m)
        n <<= 1;
    return (int)n;
}

int fft64_init(fft64_plan *p, int n)
{
    memset(p, 0, sizeof *p);
    if (n < 4 || (n & (n - 1)))
        return -1;
    p->n = n;
    p->h = n / 2;
    int h = p->h, bits = 0;
    while ((1 << bits) < h)
        bits++;
    p->rev = tf_malloc(sizeof(int) * (size_t)h, "fft plan");
    for (int i = 0; i < h; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            if (i & (1 << b))
                r |= 1 << (bits - 1 - b);
        p->rev[i] = r;
    }
    /* stage with half-length m (m = 1, 2, 4, ..., h/2) uses twiddles
     * e^{-2 pi i j / (2m)}, j < m, stored from offset 2*(m-1). */
    p->tw = tf_malloc(sizeof(double) * 2 * (size_t)(h > 1 ? h : 1), "fft plan");
    for (int m = 1; m < h; m <<= 1)
        for (int j = 0; j < m; j++) {
            double a = -M_PI * (double)j / (double)m;
            p->tw[2 * (m - 1 + j)] = cos(a);
            p->tw[2 * (m - 1 + j) + 1] = sin(a);
        }
    p->rtw = tf_malloc(sizeof(double) * 2 * (size_t)(h / 2 + 1), "fft plan");
    for (int k = 0; k <= h / 2; k++) {
        double a = -2.0 * M_PI * (double)k / (double)n;
        p->rtw[2 * k] = cos(a);
        p->rtw[2 * k + 1] = sin(a);
    }
    return 0;
}

void fft64_free(fft64_plan *p)
{
    free(p->rev);
    free(p->tw);
    free(p->rtw);
    memset(p, 0, sizeof *p);
}

/* In-place complex FFT of z (h complex, interleaved), already in bit-reversed
 * order. sign = -1 forward, +1 inverse (unnormalised). */
static void cfft_core(const fft64_plan *p, double *z, int sign)
{
    int h = p->h;
    const double sg = sign < 0 ? 1.0 : -1.0; /* the tables hold the forward twiddles */
    /* first stage: twiddle 1 */
    for (int s = 0; s + 1 < h; s += 2) {
        double ar = z[2 * s], ai = z[2 * s + 1], br = z[2 * s + 2], bi = z[2 * s + 3];
        z[2 * s] = ar + br;
        z[2 * s + 1] = ai + bi;
        z[2 * s + 2] = ar - br;
        z[2 * s + 3] = ai - bi;
    }
    for (int m = 2; m < h; m <<= 1) {
        const double *w = p->tw + 2 * (m - 1);
        for (int s = 0; s < h; s += 2 * m) {
            double *a = z + 2 * s, *b = z + 2 * (s + m);
#pragma omp simd
            for (int j = 0; j < m; j++) {
                double wr = w[2 * j], wi = sg * w[2 * j + 1];
                double br = b[2 * j], bi = b[2 * j + 1];
                double tr = br * wr - bi * wi, ti = br * wi + bi * wr;
                double ar = a[2 * j], ai = a[2 * j + 1];
                a[2 * j] = ar + tr;
                a[2 * j + 1] = ai + ti;
                b[2 * j] = ar - tr;
                b[2 * j + 1] = ai - ti;
            }
        }
    }
}

void fft64_forward(const fft64_plan *p, const double *in, double *out)
{
    int h = p->h;
    /* z[k] = x[2k] + i x[2k+1], permuted into out[0 .. 2h) */
    for (int k = 0; k < h; k++) {
        int r = p->rev[k];
        out[2 * r] = in[2 * k];
        out[2 * r + 1] = in[2 * k + 1];
    }
    cfft_core(p, out, -1);
    /* X[k] = E[k] + W^k O[k], E = (Z[k] + conj Z[h-k]) / 2, O = (Z[k] - conj Z[h-k]) / (2i) */
    double z0r = out[0], z0i = out[1];
    out[2 * h] = z0r - z0i;
    out[2 * h + 1] = 0;
    out[0] = z0r + z0i;
    out[1] = 0;
    for (int k = 1; k <= h / 2; k++) {
        int l = h - k;
        double ar = out[2 * k], ai = out[2 * k + 1], br = out[2 * l], bi = out[2 * l + 1];
        double er = 0.5 * (ar + br), ei = 0.5 * (ai - bi);   /* E[k] */
        double or_ = 0.5 * (ai + bi), oi = -0.5 * (ar - br); /* O[k] */
        double wr = p->rtw[2 * k], wi = p->rtw[2 * k + 1];
        double tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
        out[2 * k] = er + tr;
        out[2 * k + 1] = ei + ti;
        /* X[h-k] = conj(E[k] - W^k O[k]) */
        out[2 * l] = er - tr;
        out[2 * l + 1] = -(ei - ti);
    }
}

void fft64_inverse(const fft64_plan *p, const double *in, double *out, double *work)
{
    int h = p->h;
    double *z = work;
    for (int k = 0; k <= h / 2; k++) {
        int l = h - k;
        double ar = in[2 * k], ai = k == 0 ? 0 : in[2 * k + 1];
        double br = in[2 * l], bi = l == h ? 0 : in[2 * l + 1];
        /* E[k] = (X[k] + conj X[h-k]) / 2; O[k] = (X[k] - conj X[h-k]) W^{-k} / 2 */
        double er = 0.5 * (ar + br), ei = 0.5 * (ai - bi);
        double dr = 0.5 * (ar - br), di = 0.5 * (ai + bi);
        double wr = p->rtw[2 * k], wi = -p->rtw[2 * k + 1];
        double or_ = dr * wr - di * wi, oi = dr * wi + di * wr;
        /* Z[k] = E[k] + i O[k]; Z[h-k] = conj(E[k]) + i conj(O[k]) */
        int rk = p->rev[k % h];
        z[2 * rk] = er - oi;
        z[2 * rk + 1] = ei + or_;
        if (k > 0 && k < h - k) {
            int rl = p->rev[l];
            z[2 * rl] = er + oi;
            z[2 * rl + 1] = -ei + or_;
        }
    }
    cfft_core(p, z, +1);
    double s = 1.0 / (double)h;
    for (int k = 0; k < h; k++) {
        out[2 * k] = z[2 * k] * s;
        out[2 * k + 1] = z[2 * k + 1] * s;
    }
}
