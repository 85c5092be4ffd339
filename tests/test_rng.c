/* rng: the seeded generator every role and environment owns. Same seed, same stream; the
 * distributions have the moments they claim; bounded draws stay in bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

static void test_seeded_streams(void **state) {
    (void)state;
    rng_t a, b, c;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_next(&a), y = rng_next(&b), z = rng_next(&c);
        assert_true(x == y);
        differ += x != z;
    }
    assert_true(differ > 990);
}

static void test_uniform_bounds_and_mean(void **state) {
    (void)state;
    rng_t r;
    rng_seed(&r, 1);
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        double v = rng_uniform_range(&r, -2.0, 3.0);
        assert_true(v >= -2.0 && v < 3.0);
        sum += u;
    }
    /* mean 1/2, standard error sqrt(1/12/n) ~ 6.5e-4: six of them */
    assert_true(fabs(sum / n - 0.5) < 4e-3);
}

static void test_below(void **state) {
    (void)state;
    rng_t r;
    rng_seed(&r, 7);
    int count[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t k = rng_below(&r, 7);
        assert_true(k < 7);
        count[k]++;
    }
    for (int k = 0; k < 7; k++) /* 10000 expected, sd ~93 */
        assert_true(abs(count[k] - 10000) < 600);
    assert_true(rng_below(&r, 1) == 0);
}

/* both normal generators: mean 0, variance 1, symmetric, and the fill handles odd lengths */
static void s_check_normals(const float *x, int n) {
    double m = 0, v = 0, m3 = 0;
    int above2 = 0;
    for (int i = 0; i < n; i++) {
        assert_true(isfinite(x[i]));
        m += x[i];
    }
    m /= n;
    for (int i = 0; i < n; i++) {
        double d = x[i] - m;
        v += d * d;
        m3 += d * d * d;
        above2 += fabs(x[i]) > 2.0;
    }
    v /= n;
    m3 /= n;
    assert_true(fabs(m) < 0.02);        /* se 1/sqrt(n) ~ 3e-3 */
    assert_true(fabs(v - 1.0) < 0.03);  /* se sqrt(2/n) ~ 4.5e-3 */
    assert_true(fabs(m3) < 0.06);       /* skewness se sqrt(6/n) ~ 8e-3 */
    /* P(|z| > 2) = 0.0455 */
    assert_true(fabs((double)above2 / n - 0.0455) < 0.005);
}

static void test_normals(void **state) {
    (void)state;
    const int n = 100001; /* odd: the fill's last value comes from rng_normal */
    float *x = malloc(sizeof(float) * n);
    rng_t r;
    rng_seed(&r, 3);
    rng_normal_fill(&r, x, n);
    s_check_normals(x, n);
    for (int i = 0; i < n; i++)
        x[i] = (float)rng_normal(&r);
    s_check_normals(x, n);
    /* the fill is a pure function of the seed */
    float *y = malloc(sizeof(float) * n);
    rng_seed(&r, 3);
    rng_normal_fill(&r, y, n);
    rng_seed(&r, 3);
    rng_normal_fill(&r, x, n);
    assert_memory_equal(x, y, sizeof(float) * n);
    free(x);
    free(y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_streams),
        cmocka_unit_test(test_uniform_bounds_and_mean),
        cmocka_unit_test(test_below),
        cmocka_unit_test(test_normals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
