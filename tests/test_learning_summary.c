/* learning_summary and csv_table: the figures over seeds (mean, sample std, min, max) at every
 * evaluation point any seed reached, a seed missing a point left out of it, the wall-time row, the
 * CSV file; the reference table; csv_table's columns by name and its skipped lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/csv_table.h"
#include "cli/learning_summary.h"
#include "tests/test_util.h"

/* a seed's eval table (env_steps, wall_s, mean_return) from n (steps, return) pairs */
static csv_table_t s_table(size_t n, const double *steps, const double *ret) {
    csv_table_t t = {.v = calloc(3 * (n ? n : 1), sizeof(double)), .rows = n, .cap = n, .cols = 3};
    for (size_t r = 0; r < n; r++) {
        t.v[3 * r] = steps[r];
        t.v[3 * r + 1] = 1.0 + (double)r;
        t.v[3 * r + 2] = ret[r];
    }
    return t;
}

static void test_stats_over_seeds(void **state) {
    (void)state;
    int seeds[3] = {1, 2, 7};
    double st[3] = {100, 200, 300}, r1[3] = {-10, -5, -1}, r2[3] = {-20, -7, -3}, r3[2] = {-30, -9};
    csv_table_t ev[3] = {s_table(3, st, r1), s_table(3, st, r2), s_table(2, st, r3)}; /* seed 7 stopped early */
    double wall[3] = {10, 12, NAN};
    learning_summary_t s;
    assert_int_equal(learning_summary_make(&s, seeds, ev, wall, 3), 0);
    assert_int_equal(s.nrows, 3);
    CLOSE(s.rows[0].steps, 100, 0);
    assert_int_equal(s.rows[0].n, 3);
    CLOSE(s.rows[0].mean, -20, 1e-12);
    CLOSE(s.rows[0].std, 10, 1e-12); /* sample std of -10, -20, -30 */
    CLOSE(s.rows[0].min, -30, 0);
    CLOSE(s.rows[0].max, -10, 0);
    CLOSE(s.rows[0].per_seed[2], -30, 0);
    assert_int_equal(s.rows[2].n, 2); /* seed 7 has no 300 */
    assert_true(isnan(s.rows[2].per_seed[2]));
    CLOSE(s.rows[2].mean, -2, 1e-12);
    CLOSE(s.rows[2].std, sqrt(2.0), 1e-12);
    assert_int_equal(s.wall.n, 2);
    CLOSE(s.wall.mean, 11, 1e-12);

    char path[] = "/tmp/mpo_test_summary_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(learning_summary_write_csv(&s, path), 0);
    FILE *f = fopen(path, "r");
    char text[1024] = {0};
    assert_true(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(text, "env_steps,seeds,mean,std_sample,min,max,seed_1,seed_2,seed_7\n"));
    assert_non_null(strstr(text, "\n100,3,-20.0000,10.0000,-30.0000,-10.0000,-10.0000,-20.0000,-30.0000\n"));
    assert_non_null(strstr(text, "\n300,2,-2.0000,1.4142,-3.0000,-1.0000,-1.0000,-3.0000,\n"));
    assert_non_null(strstr(text, "\nwall_s,2,11.0000,1.4142,10.0000,12.0000,10.0000,12.0000,\n"));

    /* read back by name, in another order; the wall_s row is not a number and is skipped */
    static const char *const want[] = {"max", "env_steps"};
    csv_table_t t;
    assert_int_equal(csv_table_read(path, want, 2, 2, &t), 0);
    assert_int_equal(t.rows, 3);
    CLOSE(csv_table_at(&t, 1, 1), 200, 0);
    CLOSE(csv_table_at(&t, 1, 0), -5, 1e-9);
    csv_table_free(&t);
    static const char *const missing[] = {"env_steps", "nope"};
    assert_int_equal(csv_table_read(path, missing, 2, 1, &t), -2);
    csv_table_free(&t);
    unlink(path);
    assert_int_equal(csv_table_read(path, want, 2, 1, &t), -1);
    csv_table_free(&t);

    learning_summary_free(&s);
    for (int i = 0; i < 3; i++)
        csv_table_free(&ev[i]);
}

static void test_one_seed_and_none(void **state) {
    (void)state;
    int seeds[1] = {4};
    double st[1] = {50}, r[1] = {3};
    csv_table_t ev[1] = {s_table(1, st, r)};
    double wall[1] = {2};
    learning_summary_t s;
    assert_int_equal(learning_summary_make(&s, seeds, ev, wall, 1), 0);
    assert_int_equal(s.nrows, 1);
    assert_true(isnan(s.rows[0].std)); /* no spread from one seed */
    learning_summary_free(&s);
    csv_table_free(&ev[0]);
    csv_table_t empty = {0};
    empty.cols = 3;
    assert_int_equal(learning_summary_make(&s, seeds, &empty, wall, 1), 0);
    assert_int_equal(s.nrows, 0);
    learning_summary_free(&s);
}

static void test_references(void **state) {
    (void)state;
    size_t n;
    const learning_ref_t *r = learning_refs("HalfCheetah-v4", &n);
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r[i].env, "HalfCheetah-v4");
        assert_true(r[i].std > 0 && r[i].mean > 0);
        if (i && !strcmp(r[i].source, r[i - 1].source))
            assert_true(r[i].steps > r[i - 1].steps); /* in order within a source */
    }
    assert_null(learning_refs("Pendulum-v1", &n));
    assert_int_equal(n, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_over_seeds),
        cmocka_unit_test(test_one_seed_and_none),
        cmocka_unit_test(test_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
