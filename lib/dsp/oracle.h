/* Oracle baselines: estimates computed from the reference stems, the upper
 * and lower marks a trained separator is compared against.
 *
 * Ideal ratio mask (IRM), as in sigsep's oracle baselines for Open-Unmix
 * (sigsep-mus-oracle IRM.py): for stems j = 1..J with spectrograms S_j and
 * the mixture spectrogram X, per channel, bin and frame
 *
 *     P_j = |S_j|^p,   M_j = P_j / (eps + sum_k P_k),   est_j = M_j * X
 *
 * with p = 1 ("IRM1") or 2 ("IRM2", sigsep's default) and eps = 2^-52 (numpy's
 * float64 machine epsilon, sigsep's value). Computed in double precision.
 * The masks are real, so the mixture's phase is kept. */
#ifndef TFSWA_DSP_ORACLE_H
#define TFSWA_DSP_ORACLE_H

#include <stddef.h>

#define ORACLE_IRM_EPS 2.220446049250313e-16
#define ORACLE_MAX_STEMS 64

/* mix: n complex values as interleaved (re, im) float32; refs[j] and est[j]
 * (j < nstems <= ORACLE_MAX_STEMS) the same layout. est[j] may not alias
 * mix or refs. power > 0.
 * Non-finite inputs give non-finite outputs (callers check their inputs). */
void oracle_irm(const float *mix, const float *const *refs, float *const *est, int nstems, size_t n, double power);

#endif
