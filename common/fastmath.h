/* fastmath: log, sin/cos of 2*pi*x, exp and tanh for floats, in plain branch-free arithmetic with no
 * libm call, so that a loop over an array of them vectorises.
 *
 * libm's logf, sincosf and tanhf are scalar calls: they were two thirds of drawing the learner's
 * 31k normals per update and, with tanhf's expm1f, 5% of the update (perf, docs/benchmarks.md).
 * Each function here is within a few float ulps of libm over the arguments it is used for
 * (tests/test_fastmath.c). The arithmetic is the same at every vector width and floating-point
 * contraction is off (-std=c11), so the results are the same bits on every x86-64. */
#ifndef MPO_FASTMATH_H
#define MPO_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define FM_LN2_HI 0.693145751953125f       /* ln 2 = HI + LO, HI with 16 bits so k * HI is exact */
#define FM_LN2_LO 1.42860682030941723212e-6f

/* ln x for finite normal x > 0 */
static inline float fm_log(float x) {
    uint32_t i;
    memcpy(&i, &x, sizeof i);
    /* x = m 2^e with m in [sqrt(1/2), sqrt(2)): e from the bits above sqrt(1/2)'s */
    uint32_t d = i - 0x3f3504f3u;
    int32_t e = (int32_t)d >> 23;
    uint32_t mi = (d & 0x007fffffu) + 0x3f3504f3u;
    float m;
    memcpy(&m, &mi, sizeof m);
    /* ln m = 2 atanh(t), t = (m - 1) / (m + 1), |t| <= 0.1716: the series to t^9 */
    float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
    float p = 1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9))));
    float fe = (float)e;
    return fe * FM_LN2_HI + (2.0f * t * p + fe * FM_LN2_LO);
}

/* sin and cos of 2 pi x for x in [0, 1] */
static inline void fm_sincos2pi(float x, float *s, float *c) {
    float q = 4.0f * x;
    int k = (int)(q + 0.5f); /* the nearest quarter turn */
    float y = (q - (float)k) * 1.57079632679489661923f; /* in [-pi/4, pi/4] */
    float y2 = y * y;
    float sp = y * (1.0f + y2 * (-1.0f / 6 + y2 * (1.0f / 120 + y2 * (-1.0f / 5040 + y2 * (1.0f / 362880)))));
    float cp = 1.0f + y2 * (-0.5f + y2 * (1.0f / 24 + y2 * (-1.0f / 720 + y2 * (1.0f / 40320))));
    /* turn (sin y, cos y) by k quarter turns: 1: (c, -s), 2: (-s, -c), 3: (-c, s) */
    float s0 = (k & 1) ? cp : sp, c0 = (k & 1) ? sp : cp;
    *s = (k & 2) ? -s0 : s0;
    *c = ((k + 1) & 2) ? -c0 : c0;
}

/* c ? a : b by bit masks: GCC 12 keeps a float compare's ?: between two computed values as a branch,
 * which stops the loop's vectorisation */
static inline float fm_select(int c, float a, float b) {
    uint32_t ia, ib, m = -(uint32_t)c, r; /* c is 0 or 1 */
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    r = (ia & m) | (ib & ~m);
    float f;
    memcpy(&f, &r, sizeof f);
    return f;
}

/* e^y for y in [-87, 0] */
static inline float fm_exp(float y) {
    float kf = (float)(int)(y * 1.44269504088896340736f - 0.5f); /* round(y / ln 2) for y <= 0 */
    float r = (y - kf * FM_LN2_HI) - kf * FM_LN2_LO;              /* |r| <= ln(2) / 2 */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
              r * (1.0f / 720 + r * (1.0f / 5040)))))));
    uint32_t bits = (uint32_t)((int32_t)kf + 127) << 23; /* 2^k */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh x for any x (NaN gives NaN) */
static inline float fm_tanh(float x) {
    float a = fabsf(x);
    a = fm_select(!(a >= 9.0f), a, 9.0f); /* tanh 9 rounds to 1 in float; a NaN stays NaN */
    float y = -2.0f * a;
    /* expm1(y): its series near 0, where exp(y) - 1 would cancel; exp(y) - 1 below -0.7 */
    float series = y * (1.0f + y * (1.0f / 2 + y * (1.0f / 6 + y * (1.0f / 24 + y * (1.0f / 120 + y * (1.0f / 720 +
                   y * (1.0f / 5040 + y * (1.0f / 40320 + y * (1.0f / 362880 + y * (1.0f / 3628800))))))))));
    float em = fm_select(y > -0.7f, series, fm_exp(y) - 1.0f);
    return copysignf(-em / (2.0f + em), x);
}

#endif
