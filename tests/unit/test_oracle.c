/* oracle_irm against a hand-computed case and against an independent
 * reference in double precision (complex.h, cabs/pow) on random data. */
#include "check.h"
#include "dsp/oracle.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void hand_case(void)
{
    /* one bin, two stems: S1 = 3+4i (|S1| = 5), S2 = 1i (|S2| = 1), X = 1+2i */
    float mix[2] = {1, 2}, s1[2] = {3, 4}, s2[2] = {0, 1}, e1[2], e2[2];
    const float *refs[2] = {s1, s2};
    float *est[2] = {e1, e2};
    oracle_irm(mix, refs, est, 2, 1, 1.0); /* masks 5/6 and 1/6 */
    CHECK_CLOSE(e1[0], 5.0 / 6, 1e-6, 1e-6, "e1[0]");
    CHECK_CLOSE(e1[1], 10.0 / 6, 1e-6, 1e-6, "e1[1]");
    CHECK_CLOSE(e2[0], 1.0 / 6, 1e-6, 1e-6, "e2[0]");
    CHECK_CLOSE(e2[1], 2.0 / 6, 1e-6, 1e-6, "e2[1]");
    oracle_irm(mix, refs, est, 2, 1, 2.0); /* masks 25/26 and 1/26 */
    CHECK_CLOSE(e1[0], 25.0 / 26, 1e-6, 1e-6, "e1[0]");
    CHECK_CLOSE(e1[1], 50.0 / 26, 1e-6, 1e-6, "e1[1]");
    CHECK_CLOSE(e2[0], 1.0 / 26, 1e-6, 1e-6, "e2[0]");
    CHECK_CLOSE(e2[1], 2.0 / 26, 1e-6, 1e-6, "e2[1]");
    /* a bin where every reference is zero: the estimates are zero (sigsep's eps) */
    float z[2] = {0, 0};
    const float *zrefs[2] = {z, z};
    oracle_irm(mix, zrefs, est, 2, 1, 2.0);
    CHECK(e1[0] == 0 && e1[1] == 0 && e2[0] == 0 && e2[1] == 0, "zero references: %g %g %g %g", e1[0], e1[1], e2[0],
          e2[1]);
    /* a single stem gets the whole mixture */
    const float *one[1] = {s1};
    oracle_irm(mix, one, est, 1, 1, 2.0);
    CHECK_CLOSE(e1[0], 1.0, 1e-6, 1e-6, "e1[0]");
    CHECK_CLOSE(e1[1], 2.0, 1e-6, 1e-6, "e1[1]");
}

static double frand(void) { return 2.0 * rand() / RAND_MAX - 1.0; }

static void random_case(double power)
{
    enum { J = 4, N = 1000 };
    float *mix = malloc(2 * N * sizeof *mix), *ref[J], *est[J];
    for (int j = 0; j < J; j++) {
        ref[j] = malloc(2 * N * sizeof(float));
        est[j] = malloc(2 * N * sizeof(float));
    }
    for (int i = 0; i < 2 * N; i++) {
        double s = 0;
        for (int j = 0; j < J; j++) {
            ref[j][i] = (float)(frand() * (j + 1) * (i % 7 == 0 ? 1e-3 : 1.0));
            s += ref[j][i];
        }
        mix[i] = (float)(s + 0.1 * frand()); /* a mixture that is not exactly the sum */
    }
    oracle_irm(mix, (const float *const *)ref, est, J, N, power);
    double maxerr = 0, sumerr = 0;
    for (int i = 0; i < N; i++) {
        double complex x = mix[2 * i] + I * mix[2 * i + 1], tot = 0, p[J];
        double den = 0;
        for (int j = 0; j < J; j++) {
            p[j] = pow(cabs(ref[j][2 * i] + I * ref[j][2 * i + 1]), power);
            den += p[j];
        }
        for (int j = 0; j < J; j++) {
            double complex want = p[j] / den * x;
            double complex got = est[j][2 * i] + I * est[j][2 * i + 1];
            double err = cabs(got - want) / (cabs(x) + 1e-30);
            if (err > maxerr)
                maxerr = err;
            tot += got;
        }
        double e = cabs(tot - x) / (cabs(x) + 1e-30); /* the masks sum to one */
        if (e > sumerr)
            sumerr = e;
    }
    CHECK(maxerr < 1e-6, "power %g: max relative error %.3g", power, maxerr);
    CHECK(sumerr < 1e-6, "power %g: the estimates sum to the mixture within %.3g", power, sumerr);
    for (int j = 0; j < J; j++) {
        free(ref[j]);
        free(est[j]);
    }
    free(mix);
}

int main(void)
{
    srand(1);
    hand_case();
    random_case(1.0);
    random_case(2.0);
    random_case(1.5);
    return check_report("oracle");
}
