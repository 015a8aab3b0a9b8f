/* Masks to estimates, and the adjoint (mask.h). */
#include "model/mask.h"

#include <stddef.h>

/* est = (sign M_s + base) X summed over stems [s0, s1): with s1 = s0 + 1,
 * base 0, sign 1 one stem's estimate; with [0, S - 1), base 1, sign -1 the
 * residual. */
static void estimate(float *est, const float *masks, int s0, int s1, float base, float sign, const float *X, int F,
                     int64_t Ttot, int64_t t0, int T)
{
#pragma omp parallel for schedule(static)
    for (int cf = 0; cf < 2 * F; cf++) {
        int ch = cf / F, f = cf % F;
        const float *x = X + 2 * (((int64_t)ch * F + f) * Ttot + t0);
        float *e = est + 2 * ((size_t)cf * T);
        for (int t = 0; t < T; t++) {
            float mr = 0, mi = 0;
            for (int s = s0; s < s1; s++) {
                mr += masks[((size_t)(4 * s + 2 * ch) * F + f) * T + t];
                mi += masks[((size_t)(4 * s + 2 * ch + 1) * F + f) * T + t];
            }
            mr = base + sign * mr;
            mi = sign * mi;
            float xr = x[2 * t], xi = x[2 * t + 1];
            e[2 * t] = mr * xr - mi * xi;
            e[2 * t + 1] = mr * xi + mi * xr;
        }
    }
}

/* dM_s += sign conj(X) dest (as real pairs), for each stem s in [s0, s1). */
static void estimate_backward(float *dmasks, const float *dest, int s0, int s1, float sign, const float *X, int F,
                              int T)
{
#pragma omp parallel for schedule(static)
    for (int cf = 0; cf < 2 * F; cf++) {
        int ch = cf / F, f = cf % F;
        const float *x = X + 2 * ((size_t)cf * T);
        const float *e = dest + 2 * ((size_t)cf * T);
        for (int s = s0; s < s1; s++) {
            float *mr = dmasks + ((size_t)(4 * s + 2 * ch) * F + f) * T;
            float *mi = dmasks + ((size_t)(4 * s + 2 * ch + 1) * F + f) * T;
            for (int t = 0; t < T; t++) {
                float xr = x[2 * t], xi = x[2 * t + 1], er = e[2 * t], ei = e[2 * t + 1];
                mr[t] += sign * (er * xr + ei * xi);
                mi[t] += sign * (ei * xr - er * xi);
            }
        }
    }
}

static int is_residual(const tfswa_config *c, int s) { return c->residual && s == c->n_stems - 1; }

void tfswa_estimate(float *est, const float *masks, const tfswa_config *c, int s, const float *X, int F, int64_t Ttot,
                    int64_t t0, int T)
{
    if (is_residual(c, s))
        estimate(est, masks, 0, s, 1.0f, -1.0f, X, F, Ttot, t0, T);
    else
        estimate(est, masks, s, s + 1, 0.0f, 1.0f, X, F, Ttot, t0, T);
}

void tfswa_estimate_backward(float *dmasks, const float *dest, const tfswa_config *c, int s, const float *X, int F,
                             int T)
{
    if (is_residual(c, s))
        estimate_backward(dmasks, dest, 0, s, -1.0f, X, F, T);
    else
        estimate_backward(dmasks, dest, s, s + 1, 1.0f, X, F, T);
}
