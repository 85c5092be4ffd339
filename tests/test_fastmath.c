/* common/fastmath.h against double-precision libm over the arguments the learner gives it: every
 * float in (0, 1] of the 24-bit grid the normals are drawn from (log, sin/cos of 2 pi x), the exp
 * and tanh ranges; and the edges (tanh's sign, zero and saturation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "common/fastmath.h"

static void test_log(void **state) {
    (void)state;
    double worst = 0;
    for (uint32_t i = 1; i <= (1u << 24); i += 7) { /* the grid of rng_normal_fill's uniforms */
        float x = (float)i * 0x1.0p-24f;
        double want = log((double)x), err = fabs(fm_log(x) - want);
        double rel = want != 0 ? err / fabs(want) : err;
        if (rel > worst)
            worst = rel;
    }
    for (float x = 1.0f; x < 1e30f; x *= 1.37f) /* and above 1 */
        assert_true(fabs(fm_log(x) - log((double)x)) <= 3e-7 * fabs(log((double)x)) + 1e-7);
    printf("fm_log: max relative error %.3g on (0, 1]\n", worst);
    assert_true(worst < 3e-7); /* 5 float ulps */
    assert_true(fm_log(1.0f) == 0.0f);
}

static void test_sincos2pi(void **state) {
    (void)state;
    double worst = 0;
    for (uint32_t i = 0; i <= (1u << 24); i += 5) {
        float x = (float)i * 0x1.0p-24f, s, c;
        fm_sincos2pi(x, &s, &c);
        double es = fabs(s - sin(2 * M_PI * (double)x)), ec = fabs(c - cos(2 * M_PI * (double)x));
        worst = fmax(worst, fmax(es, ec));
    }
    printf("fm_sincos2pi: max absolute error %.3g on [0, 1]\n", worst);
    assert_true(worst < 2e-7);
    float s, c;
    fm_sincos2pi(0.25f, &s, &c); /* each quarter turn lands on its axis */
    assert_true(s == 1.0f && fabsf(c) < 1e-7f);
    fm_sincos2pi(0.5f, &s, &c);
    assert_true(fabsf(s) < 1e-7f && c == -1.0f);
    fm_sincos2pi(0.75f, &s, &c);
    assert_true(s == -1.0f && fabsf(c) < 1e-7f);
}

static void test_exp(void **state) {
    (void)state;
    double worst = 0;
    for (int i = 0; i <= 870000; i++) {
        float y = -(float)i * 1e-4f;
        double want = exp((double)y);
        worst = fmax(worst, fabs(fm_exp(y) - want) / want);
    }
    printf("fm_exp: max relative error %.3g on [-87, 0]\n", worst);
    assert_true(worst < 2e-7);
    assert_true(fm_exp(0.0f) == 1.0f);
}

static void test_tanh(void **state) {
    (void)state;
    double worst = 0;
    for (int i = -2000000; i <= 2000000; i++) {
        float x = (float)i * 1e-5f;
        double want = tanh((double)x), err = fabs(fm_tanh(x) - want);
        worst = fmax(worst, want != 0 ? err / fabs(want) : err);
        assert_true(fm_tanh(-x) == -fm_tanh(x));
    }
    printf("fm_tanh: max relative error %.3g on [-20, 20]\n", worst);
    assert_true(worst < 4e-7);
    assert_true(fm_tanh(0.0f) == 0.0f);
    assert_true(fm_tanh(1e-30f) == 1e-30f);
    assert_true(fm_tanh(50.0f) == 1.0f && fm_tanh(-1e30f) == -1.0f && fm_tanh(-INFINITY) == -1.0f);
    assert_true(isnan(fm_tanh(NAN))); /* a NaN from upstream must not become an action */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_sincos2pi),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_tanh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
