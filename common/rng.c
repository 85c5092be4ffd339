#include "common/rng.h"

#include "common/fastmath.h"

#include <math.h>

static uint64_t s_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t s_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(rng_t *self, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        self->s[i] = s_splitmix64(&x);
}

uint64_t rng_next(rng_t *self) {
    uint64_t *s = self->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

double rng_uniform(rng_t *self) { return (double)(rng_next(self) >> 11) * 0x1.0p-53; }

double rng_uniform_range(rng_t *self, double lo, double hi) {
    return lo + (hi - lo) * rng_uniform(self);
}

double rng_normal(rng_t *self) {
    /* 1 - u keeps the log argument in (0, 1] */
    double u1 = 1.0 - rng_uniform(self), u2 = rng_uniform(self);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* uniform in (0, 1] with 24 bits, for float Box-Muller: never 0, so the log is finite */
static inline float s_uniform_open_f(rng_t *self) { return (float)((rng_next(self) >> 40) + 1) * 0x1.0p-24f; }

#define RNG_FILL_BLOCK 64 /* pairs drawn before their arithmetic */

void rng_normal_fill(rng_t *self, float *out, int n) {
    /* in float (the learner draws ~31k of these per update), in blocks: the generator is serial,
     * the Box-Muller arithmetic on a block of its uniforms vectorises (common/fastmath.h) */
    float u1[RNG_FILL_BLOCK], u2[RNG_FILL_BLOCK];
    int i = 0;
    while (i + 1 < n) {
        int pairs = (n - i) / 2 < RNG_FILL_BLOCK ? (n - i) / 2 : RNG_FILL_BLOCK;
        for (int k = 0; k < pairs; k++) {
            u1[k] = s_uniform_open_f(self);
            u2[k] = s_uniform_open_f(self);
        }
        float *o = out + i;
        for (int k = 0; k < pairs; k++) {
            float r = sqrtf(-2.0f * fm_log(u1[k])), s, c;
            fm_sincos2pi(u2[k], &s, &c);
            o[2 * k] = r * c;
            o[2 * k + 1] = r * s;
        }
        i += 2 * pairs;
    }
    if (i < n)
        out[i] = (float)rng_normal(self);
}

uint64_t rng_below(rng_t *self, uint64_t n) {
    /* Lemire's multiply-shift with rejection */
    uint64_t x = rng_next(self);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = rng_next(self);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}
