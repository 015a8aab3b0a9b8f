/* fft64 (double real FFT) against a direct DFT in long double, and the
 * inverse round trip. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "metrics/fft64.h"
#include "util/rng.h"

int main(void)
{
    tf_rng r;
    tf_rng_seed(&r, 7);
    CHECK(fft64_size(1) == 4 && fft64_size(4) == 4 && fft64_size(5) == 8 && fft64_size(44611) == 65536, "fft64_size");
    fft64_plan bad;
    CHECK(fft64_init(&bad, 6) == -1 && fft64_init(&bad, 2) == -1, "non power of two refused");
    for (int n = 4; n <= 2048; n *= 2) {
        fft64_plan p;
        CHECK(fft64_init(&p, n) == 0, "init %d", n);
        double *x = malloc(sizeof(double) * (size_t)n), *X = malloc(sizeof(double) * (size_t)(n + 2));
        double *y = malloc(sizeof(double) * (size_t)n), *w = malloc(sizeof(double) * (size_t)(n + 2));
        for (int i = 0; i < n; i++)
            x[i] = tf_rng_normal(&r);
        fft64_forward(&p, x, X);
        double maxerr = 0, norm = 0;
        for (int i = 0; i < n; i++)
            norm += x[i] * x[i];
        norm = sqrt(norm);
        for (int k = 0; k <= n / 2; k++) {
            long double re = 0, im = 0;
            for (int i = 0; i < n; i++) {
                long double a = -2.0L * 3.14159265358979323846264338327950288L * (long double)((long)k * i % n) / n;
                re += x[i] * cosl(a);
                im += x[i] * sinl(a);
            }
            double e = hypot((double)(X[2 * k] - re), (double)(X[2 * k + 1] - im));
            if (e > maxerr)
                maxerr = e;
        }
        CHECK(maxerr <= 1e-15 * norm * (log2(n) + 1) * 4, "n=%d forward vs DFT: %.3g (norm %.3g)", n, maxerr, norm);
        /* inverse ignores the imaginary parts of bins 0 and n/2 */
        X[1] = 123;
        X[n + 1] = -45;
        fft64_inverse(&p, X, y, w);
        double rt = 0;
        for (int i = 0; i < n; i++)
            rt = fmax(rt, fabs(y[i] - x[i]));
        CHECK(rt <= 1e-15 * norm * (log2(n) + 1) * 4, "n=%d round trip: %.3g", n, rt);
        free(x);
        free(X);
        free(y);
        free(w);
        fft64_free(&p);
    }
    return check_report("test_metrics_fft");
}
