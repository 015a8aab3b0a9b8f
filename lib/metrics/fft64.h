/* Double-precision real FFT of power-of-two length, for the correlations
 * and convolutions of BSSEval (museval works in float64; kissfft here is
 * float32 only). Forward: X[k] = sum_n x[n] e^{-2 pi i k n / n}, k = 0..n/2,
 * stored interleaved (re, im) in n + 2 doubles. Inverse: the real signal
 * whose half spectrum is given, normalised (1/n), so inverse(forward(x)) = x. */
#ifndef TFSWA_METRICS_FFT64_H
#define TFSWA_METRICS_FFT64_H

typedef struct {
    int n;       /* real length, power of two >= 4 */
    int h;       /* n / 2: the complex FFT length */
    int *rev;    /* bit reversal permutation of h */
    double *tw;  /* per-stage twiddles of the complex FFT, interleaved */
    double *rtw; /* e^{-2 pi i k / n}, k = 0..h/2, interleaved */
} fft64_plan;

/* Returns 0, or -1 when n is not a power of two >= 4. */
int fft64_init(fft64_plan *p, int n);
void fft64_free(fft64_plan *p);
/* in: n reals; out: n + 2 doubles (n/2 + 1 complex). in and out may not overlap. */
void fft64_forward(const fft64_plan *p, const double *in, double *out);
/* in: n + 2 doubles (half spectrum; the imaginary parts of bins 0 and n/2
 * are ignored); out: n reals. work: n + 2 doubles of scratch. */
void fft64_inverse(const fft64_plan *p, const double *in, double *out, double *work);
/* Smallest power of two >= m (m >= 1), at least 4. */
int fft64_size(long m);

#endif
