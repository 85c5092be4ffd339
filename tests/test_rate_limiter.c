/* rate_limiter: Reverb's SampleToInsertRatio rules on hand-worked counter sequences, the start-up
 * refusal of windows that cannot move, timeouts, and a long lockstep run that must never stall. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "common/rng.h"
#include "replay/rate_limiter.h"

static rate_limiter_t *s_make(double spi, uint64_t min_size, double tolerance, uint64_t max_insert,
                              uint64_t max_sample) {
    rate_limiter_config_t c = {.samples_per_insert = spi,
                               .min_size = min_size,
                               .tolerance = tolerance,
                               .timeout_s = 10,
                               .max_insert = max_insert,
                               .max_sample = max_sample,
                               .capacity = 1000000};
    char err[256] = "";
    rate_limiter_t *rl = rate_limiter_new(&c, err, sizeof err);
    if (!rl)
        fail_msg("rate_limiter_new refused: %s", err);
    return rl;
}

/* SPI 2, min_size 10, tolerance 5 → error 10, offset 20, window [10, 30].
 * Inserts of up to 5 (SPI*A = 10) and samples of up to 10: 2*10 >= 10 + 10, accepted. */
static void test_hand_worked_sequence(void **state) {
    (void)state;
    rate_limiter_t *rl = s_make(2, 10, 5, 5, 10);
    assert_true(rate_limiter_min_diff(rl) == 10);
    assert_true(rate_limiter_max_diff(rl) == 30);
    double t = 0;
    /* below min_size: inserts are free, samples wait */
    assert_false(rate_limiter_can_sample(rl, 1, 0));
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 5, 0, t, t), RATE_LIMITER_ALLOW);
    assert_false(rate_limiter_can_sample(rl, 1, 5));
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 1, 5, t, t), RATE_LIMITER_HOLD);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 5, 5, t, t), RATE_LIMITER_ALLOW);
    /* inserts 10, samples 0, size 10: d = 20. Insert 5 → 30 <= 30 yes; 6 would be 32 > 30 */
    assert_true(rate_limiter_can_insert(rl, 5, 10));
    assert_false(rate_limiter_can_insert(rl, 6, 10));
    /* sample n allowed iff 20 - n >= 10: n = 10 yes, 11 no */
    assert_true(rate_limiter_can_sample(rl, 10, 10));
    assert_false(rate_limiter_can_sample(rl, 11, 10));
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 5, 10, t, t), RATE_LIMITER_ALLOW); /* d = 30 */
    assert_false(rate_limiter_can_insert(rl, 1, 15)); /* 32 > 30: actors held */
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 1, 15, t, t), RATE_LIMITER_HOLD);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 10, 15, t, t), RATE_LIMITER_ALLOW); /* d = 20 */
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 10, 15, t, t), RATE_LIMITER_ALLOW); /* d = 10 */
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 1, 15, t, t), RATE_LIMITER_HOLD);   /* 9 < 10 */
    assert_true(rate_limiter_can_insert(rl, 5, 15)); /* 20 <= 30 */
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 5, 15, t, t), RATE_LIMITER_ALLOW);
    assert_true(rate_limiter_inserts(rl) == 20);
    assert_true(rate_limiter_samples(rl) == 20);
    assert_true(rate_limiter_timeouts(rl) == 0);
    rate_limiter_destroy(&rl);
    assert_null(rl);
}

/* The server's defaults: SPI = batch_size 256, tolerance 256 → error 65536, window
 * [1000*256 - 65536, 1000*256 + 65536] = [190464, 321536]. */
static void test_defaults_window(void **state) {
    (void)state;
    rate_limiter_t *rl = s_make(256, 1000, 256, 64, 256);
    assert_true(rate_limiter_min_diff(rl) == 190464);
    assert_true(rate_limiter_max_diff(rl) == 321536);
    assert_false(rate_limiter_can_sample(rl, 256, 999));
    /* 1000 inserts are free (below min_size); then d = 256000 and samples may run 65536 past it */
    for (uint64_t size = 0; size < 1000; size += 100)
        assert_true(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 100, size, 0, 0) == RATE_LIMITER_ALLOW);
    assert_true(rate_limiter_can_sample(rl, 256, 1000));
    /* and inserts may run 256 transitions ahead: 1000 + 256 = 1256 is the last allowed total */
    assert_true(rate_limiter_can_insert(rl, 256, 1000));
    assert_false(rate_limiter_can_insert(rl, 257, 1000));
    rate_limiter_destroy(&rl);
}

static void test_off(void **state) {
    (void)state;
    rate_limiter_t *rl = s_make(0, 100, 1, 64, 256);
    assert_true(rate_limiter_spi(rl) == 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 64, 1000, 0, 0), RATE_LIMITER_ALLOW);
    assert_false(rate_limiter_can_sample(rl, 256, 99)); /* min_size still applies */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 256, 100, 0, 0), RATE_LIMITER_ALLOW);
    assert_true(rate_limiter_samples(rl) == 256000);
    rate_limiter_destroy(&rl);
}

static void test_bad_windows_refused(void **state) {
    (void)state;
    char err[256];
    /* 2 * tolerance * SPI = 2*5*2 = 20 vs SPI*A + B = 2*5 + 11 = 21: too narrow */
    rate_limiter_config_t c = {.samples_per_insert = 2, .min_size = 10, .tolerance = 5, .timeout_s = 1,
                               .max_insert = 5, .max_sample = 11, .capacity = 100};
    err[0] = 0;
    assert_null(rate_limiter_new(&c, err, sizeof err));
    assert_non_null(strstr(err, "too narrow"));
    assert_non_null(strstr(err, "rate_limit_tolerance"));
    c.max_sample = 10; /* exactly 20 >= 20: accepted */
    rate_limiter_t *rl = rate_limiter_new(&c, err, sizeof err);
    assert_non_null(rl);
    rate_limiter_destroy(&rl);
    /* a negative SPI other than the config's -1 (resolved by the caller) */
    c.samples_per_insert = -0.5;
    assert_null(rate_limiter_new(&c, err, sizeof err));
    assert_non_null(strstr(err, "samples_per_insert"));
    /* min_size above capacity: no sample could ever be served */
    c.samples_per_insert = 0;
    c.min_size = 101;
    assert_null(rate_limiter_new(&c, err, sizeof err));
    assert_non_null(strstr(err, "learning_starts"));
}

/* the no-deadlock condition is tight: at the boundary every d admits one side */
static void test_boundary_never_stuck(void **state) {
    (void)state;
    /* SPI 3, A 4, B 8: need 2*e >= 20, tolerance 10/3 → e = 10 exactly */
    rate_limiter_t *rl = s_make(3, 1, 10.0 / 3.0, 4, 8);
    double lo = rate_limiter_min_diff(rl), hi = rate_limiter_max_diff(rl);
    assert_true(fabs((hi - lo) - 20) < 1e-9);
    rate_limiter_destroy(&rl);
    /* sweep every reachable (inserts, samples) on a grid and check some side can move */
    rl = s_make(3, 1, 10.0 / 3.0, 4, 8);
    for (int steps = 0; steps < 2000; steps++) {
        int ins = rate_limiter_can_insert(rl, 4, 100), smp = rate_limiter_can_sample(rl, 8, 100);
        assert_true(ins || smp);
        if (smp)
            rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 8, 100, 0, 0);
        else
            rate_limiter_admit(rl, RATE_LIMITER_INSERT, 4, 100, 0, 0);
    }
    rate_limiter_destroy(&rl);
}

static void test_timeouts_serve_held_items(void **state) {
    (void)state;
    rate_limiter_t *rl = s_make(1, 10, 20, 10, 10); /* window [10-20, 10+20] = [-10, 30] */
    /* reach min_size, then run inserts ahead until the window closes */
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 10, 0, 0, 0), RATE_LIMITER_ALLOW);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 10, 10, 0, 0), RATE_LIMITER_ALLOW);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 10, 20, 0, 0), RATE_LIMITER_ALLOW); /* d = 30 */
    /* the learner is gone: the next insert waits, then goes after the timeout (10 s) */
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 10, 30, 100.0, 105.0), RATE_LIMITER_HOLD);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 10, 30, 100.0, 109.9), RATE_LIMITER_HOLD);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_INSERT, 10, 30, 100.0, 110.0), RATE_LIMITER_TIMEOUT);
    assert_true(rate_limiter_timeouts(rl) == 1);
    assert_true(rate_limiter_inserts(rl) == 40);
    assert_true(fabs(rate_limiter_held_seconds(rl, RATE_LIMITER_INSERT) - 10.0) < 1e-9);
    assert_true(rate_limiter_held_seconds(rl, RATE_LIMITER_SAMPLE) == 0);
    /* the actors are gone: samples drain d down to min_diff, then wait, then time out */
    int served = 0;
    while (rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 10, 40, 200.0, 200.0) == RATE_LIMITER_ALLOW)
        served++;
    assert_int_equal(served, 5); /* d 40 → -10 */
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 10, 40, 200.0, 212.5), RATE_LIMITER_TIMEOUT);
    assert_true(rate_limiter_timeouts(rl) == 2);
    assert_true(fabs(rate_limiter_held_seconds(rl, RATE_LIMITER_SAMPLE) - 12.5) < 1e-9);
    rate_limiter_destroy(&rl);
}

/* a sample waiting for learning_starts waits for data, not for the ratio: no timeout */
static void test_no_sample_timeout_below_min_size(void **state) {
    (void)state;
    rate_limiter_t *rl = s_make(1, 100, 1000, 10, 10);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 10, 50, 0, 1e6), RATE_LIMITER_HOLD);
    assert_int_equal(rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, 10, 0, 0, 1e6), RATE_LIMITER_HOLD);
    assert_true(rate_limiter_timeouts(rl) == 0);
    rate_limiter_destroy(&rl);
}

/* Actors insert batches of random size (1..A) and a learner samples B at a time, in a random
 * interleaving where either side only moves when allowed: both must keep moving, and the ratio
 * samples/inserts must stay within the window around SPI for the whole run. */
static void s_lockstep(double spi, uint64_t A, uint64_t B, double tolerance, uint64_t min_size) {
    rate_limiter_t *rl = s_make(spi, min_size, tolerance, A, B);
    rng_t rng;
    rng_seed(&rng, 7);
    uint64_t size = 0, capacity = 100000, stuck = 0;
    double error = tolerance * spi;
    uint64_t insert_moves = 0, sample_moves = 0;
    for (int step = 0; step < 200000; step++) {
        uint64_t n = 1 + rng_below(&rng, A);
        int want_insert = rng_below(&rng, 2) == 0;
        int moved = 0;
        /* try the side drawn first, then the other: a stall is when neither may move */
        for (int k = 0; k < 2 && !moved; k++) {
            if ((k == 0) == want_insert) {
                if (rate_limiter_admit(rl, RATE_LIMITER_INSERT, n, size, 0, 0) == RATE_LIMITER_ALLOW) {
                    size = size + n > capacity ? capacity : size + n;
                    insert_moves++;
                    moved = 1;
                }
            } else if (rate_limiter_admit(rl, RATE_LIMITER_SAMPLE, B, size, 0, 0) == RATE_LIMITER_ALLOW) {
                sample_moves++;
                moved = 1;
            }
        }
        if (!moved)
            stuck++;
        if (size >= min_size) {
            double d = (double)rate_limiter_inserts(rl) * spi - (double)rate_limiter_samples(rl);
            /* d stays in the window; only the free inserts below min_size may leave it above, by
             * at most the last free insert: d <= SPI * (min_size - 1 + A) */
            double hi = fmax(rate_limiter_max_diff(rl), spi * (double)(min_size - 1 + A));
            if (d > hi + 1e-6 || d < rate_limiter_min_diff(rl) - 1e-6)
                fail_msg("step %d: d = %g outside [%g, %g]", step, d, rate_limiter_min_diff(rl), hi);
        }
    }
    assert_true(stuck == 0);
    assert_true(insert_moves > 10000);
    assert_true(sample_moves > 10000 / B);
    double ratio = (double)rate_limiter_samples(rl) / (double)rate_limiter_inserts(rl);
    /* samples = SPI*inserts - d with d inside the window, so the ratio's error is |d| / inserts */
    double bound = (spi * (double)(min_size + A) + error) / (double)rate_limiter_inserts(rl);
    if (fabs(ratio - spi) > bound)
        fail_msg("samples/inserts %g vs SPI %g (bound %g)", ratio, spi, bound);
    rate_limiter_destroy(&rl);
}

static void test_lockstep_never_deadlocks(void **state) {
    (void)state;
    s_lockstep(256, 64, 256, 2000, 1000); /* the defaults */
    s_lockstep(1, 64, 256, 160, 100);     /* 2*160 = 320 = 64 + 256: the tightest window allowed */
    s_lockstep(0.5, 100, 32, 82, 10);     /* fractional SPI: 2*41 = 82 = 50 + 32 */
    s_lockstep(8, 8, 64, 8, 1);           /* 2*64 = 128 = 64 + 64 */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked_sequence),
        cmocka_unit_test(test_defaults_window),
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_bad_windows_refused),
        cmocka_unit_test(test_boundary_never_stuck),
        cmocka_unit_test(test_timeouts_serve_held_items),
        cmocka_unit_test(test_no_sample_timeout_below_min_size),
        cmocka_unit_test(test_lockstep_never_deadlocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
