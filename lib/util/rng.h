/* Seeded random numbers: xoshiro256** seeded through splitmix64. The state
 * is four 64-bit words, so it can be saved in a checkpoint and restored.
 * Every random choice in tfswa goes through this, so a seed fixes the bytes. */
#ifndef TFSWA_UTIL_RNG_H
#define TFSWA_UTIL_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} tf_rng;

void tf_rng_seed(tf_rng *r, uint64_t seed);
/* An independent generator derived from r and a stream id (r unchanged). */
tf_rng tf_rng_fork(const tf_rng *r, uint64_t stream);
uint64_t tf_rng_u64(tf_rng *r);
double tf_rng_uniform(tf_rng *r);                     /* [0, 1) with 53 bits */
double tf_rng_range(tf_rng *r, double lo, double hi); /* [lo, hi) */
uint64_t tf_rng_below(tf_rng *r, uint64_t n);         /* [0, n), unbiased; n > 0 */
double tf_rng_normal(tf_rng *r);                      /* standard normal */
double tf_rng_gamma(tf_rng *r, double shape);         /* Gamma(shape, 1), shape > 0 */
double tf_rng_beta(tf_rng *r, double a, double b);    /* Beta(a, b) */
int tf_rng_bernoulli(tf_rng *r, double p);            /* 1 with probability p */

#endif
