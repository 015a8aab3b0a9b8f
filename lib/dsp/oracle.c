/* Oracle baselines; see oracle.h. */
#include "dsp/oracle.h"

#include <math.h>

void oracle_irm(const float *mix, const float *const *refs, float *const *est, int nstems, size_t n, double power)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        double p[ORACLE_MAX_STEMS], sum = 0;
        double xr = mix[2 * i], xi = mix[2 * i + 1];
        for (int j = 0; j < nstems; j++) {
            double re = refs[j][2 * i], im = refs[j][2 * i + 1];
            double mag2 = re * re + im * im;
            /* |S|^p without a square root for the common p = 2 */
            p[j] = power == 2.0 ? mag2 : power == 1.0 ? sqrt(mag2) : pow(mag2, 0.5 * power);
            sum += p[j];
        }
        for (int j = 0; j < nstems; j++) {
            double m = p[j] / (ORACLE_IRM_EPS + sum);
            est[j][2 * i] = (float)(m * xr);
            est[j][2 * i + 1] = (float)(m * xi);
        }
    }
}
