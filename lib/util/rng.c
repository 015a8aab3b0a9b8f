#include "util/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tf_rng_seed(tf_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

tf_rng tf_rng_fork(const tf_rng *r, uint64_t stream)
{
    tf_rng f;
    uint64_t x =
        r->s[0] ^ (r->s[1] * 0x9E3779B97F4A7C15ull) ^ (r->s[2] << 1) ^ r->s[3] ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        f.s[i] = splitmix64(&x);
    return f;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tf_rng_u64(tf_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tf_rng_uniform(tf_rng *r) { return (double)(tf_rng_u64(r) >> 11) * 0x1.0p-53; }

double tf_rng_range(tf_rng *r, double lo, double hi) { return lo + (hi - lo) * tf_rng_uniform(r); }

uint64_t tf_rng_below(tf_rng *r, uint64_t n)
{
    uint64_t limit = -n % n; /* 2^64 mod n */
    for (;;) {
        uint64_t x = tf_rng_u64(r);
        if (x >= limit)
            return x % n;
    }
}

double tf_rng_normal(tf_rng *r)
{
    /* Box-Muller; one value per call keeps the state simple to save. */
    double u1 = 1.0 - tf_rng_uniform(r); /* (0, 1] */
    double u2 = tf_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double tf_rng_gamma(tf_rng *r, double shape)
{
    /* Marsaglia and Tsang; shape < 1 by the boost Gamma(a+1) * U^(1/a). */
    if (shape < 1.0) {
        double u = 1.0 - tf_rng_uniform(r);
        return tf_rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = tf_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = 1.0 - tf_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

double tf_rng_beta(tf_rng *r, double a, double b)
{
    double x = tf_rng_gamma(r, a), y = tf_rng_gamma(r, b);
    return x + y > 0 ? x / (x + y) : 0.5;
}

int tf_rng_bernoulli(tf_rng *r, double p) { return p > 0 && tf_rng_uniform(r) < p; }
