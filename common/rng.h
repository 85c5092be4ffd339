/* rng: a small, explicitly seeded generator (xoshiro256**, seeded through splitmix64).
 * Every role and every environment owns one, so a run is a pure function of its seed. */
#ifndef MPO_RNG_H
#define MPO_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_t;

void rng_seed(rng_t *self, uint64_t seed);
uint64_t rng_next(rng_t *self);
/* uniform in [0, 1), 53 bits */
double rng_uniform(rng_t *self);
/* uniform in [lo, hi) */
double rng_uniform_range(rng_t *self, double lo, double hi);
/* standard normal (Box-Muller; no cached second value, so the stream has no hidden state) */
double rng_normal(rng_t *self);
/* fill out[n] with standard normals as float, two per Box-Muller draw */
void rng_normal_fill(rng_t *self, float *out, int n);
/* uniform integer in [0, n), n > 0, without modulo bias */
uint64_t rng_below(rng_t *self, uint64_t n);

#endif
