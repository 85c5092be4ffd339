/* learner_stats: the table is one the protocol and Prometheus accept (names [a-z0-9_], counters
 * ending in _total, at most WIRE_MAX_STATS figures), every update metric is in it at its slot,
 * the stats list leaves out what is not finite and passes wire_check_stats, /metrics has every
 * figure once, and the progress line reads as the docs say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/metrics_http.h"
#include "common/stats_table.h"
#include "common/wire.h"
#include "learner/learner_stats.h"
#include "learner/mpo.h"

static void test_table(void **state) {
    (void)state;
    size_t n;
    const stats_field_t *t = learner_stats_table(&n);
    assert_int_equal(n, LEARNER_STAT_COUNT);
    assert_true(n <= WIRE_MAX_STATS);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(t[i].name);
        assert_true(len > 0 && len < WIRE_STAT_NAME_MAX);
        assert_int_equal(strspn(t[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_"), len);
        assert_true(t[i].unit && t[i].help && t[i].help[0]);
        int counter = strcmp(t[i].type, "counter") == 0;
        assert_true(counter || strcmp(t[i].type, "gauge") == 0);
        /* Prometheus' convention, which promtool checks */
        int total = len > 6 && strcmp(t[i].name + len - 6, "_total") == 0;
        if (counter != total)
            fail_msg("%s is a %s", t[i].name, t[i].type);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(t[i].name, t[j].name);
    }
    /* the role's figures by name, and every update metric after them */
    assert_non_null(stats_table_find(t, n, "updates_total"));
    assert_non_null(stats_table_find(t, n, "sample_wait_seconds_total"));
    assert_non_null(stats_table_find(t, n, "weights_version"));
    size_t nm;
    const mpo_metric_info_t *mi = mpo_metric_info(&nm);
    for (size_t i = 0; i < nm; i++) {
        const stats_field_t *f = stats_table_find(t, n, mi[i].name);
        assert_non_null(f);
        assert_string_equal(f->type, "gauge");
        assert_string_equal(f->help, mi[i].help);
    }
    assert_ptr_equal(stats_table_find(t, n, "critic_loss"), &t[LEARNER_STAT_critic_loss]);
}

static void test_metrics_slots(void **state) {
    (void)state;
    double v[LEARNER_STAT_COUNT];
    memset(v, 0, sizeof v);
    mpo_metrics_t m;
    size_t nm;
    const mpo_metric_info_t *mi = mpo_metric_info(&nm);
    for (size_t i = 0; i < nm; i++)
        *(double *)((char *)&m + mi[i].offset) = 100.0 + (double)i;
    learner_stats_set_metrics(v, &m);
    size_t n;
    const stats_field_t *t = learner_stats_table(&n);
    for (size_t i = 0; i < nm; i++) {
        const stats_field_t *f = stats_table_find(t, n, mi[i].name);
        CLOSE(v[f - t], 100.0 + (double)i, 0);
    }
    CLOSE(v[LEARNER_STAT_updates_total], 0, 0); /* the role's figures are not touched */
}

static void test_wire_list(void **state) {
    (void)state;
    double v[LEARNER_STAT_COUNT];
    for (int i = 0; i < LEARNER_STAT_COUNT; i++)
        v[i] = i * 0.5;
    Mpo__Stat stats[LEARNER_STAT_COUNT];
    Mpo__Stat *ptrs[LEARNER_STAT_COUNT];
    char reason[256] = "";
    size_t n = learner_stats_to_wire(stats, ptrs, v);
    assert_int_equal(n, LEARNER_STAT_COUNT);
    assert_int_equal(wire_check_stats(ptrs, n, reason, sizeof reason), WIRE_OK);
    assert_string_equal(ptrs[LEARNER_STAT_batches_total]->name, "batches_total");
    CLOSE(ptrs[LEARNER_STAT_batches_total]->value, LEARNER_STAT_batches_total * 0.5, 0);

    /* a diverged update: its NaN and infinity are left out, the rest still goes */
    v[LEARNER_STAT_critic_loss] = NAN;
    v[LEARNER_STAT_q_mean] = -INFINITY;
    n = learner_stats_to_wire(stats, ptrs, v);
    assert_int_equal(n, LEARNER_STAT_COUNT - 2);
    assert_int_equal(wire_check_stats(ptrs, n, reason, sizeof reason), WIRE_OK);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(ptrs[i]->name, "critic_loss");
        assert_string_not_equal(ptrs[i]->name, "q_mean");
    }
}

static void test_metrics_view(void **state) {
    (void)state;
    double v[LEARNER_STAT_COUNT] = {0};
    v[LEARNER_STAT_updates_total] = 1234;
    v[LEARNER_STAT_critic_loss] = 2.5;
    size_t n;
    const stats_field_t *t = learner_stats_table(&n);
    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    stats_table_metrics(&b, "mpo_learner", t, n, v);
    assert_false(b.oom);
    assert_non_null(strstr(b.data, "# TYPE mpo_learner_updates_total counter\nmpo_learner_updates_total 1234\n"));
    assert_non_null(strstr(b.data, "# TYPE mpo_learner_critic_loss gauge\nmpo_learner_critic_loss 2.5\n"));
    /* one TYPE line per figure */
    size_t types = 0;
    for (const char *p = b.data; (p = strstr(p, "# TYPE ")) != NULL; p++)
        types++;
    assert_int_equal(types, n);
    metrics_http_buf_free(&b);
}

static void test_progress_line(void **state) {
    (void)state;
    double v[LEARNER_STAT_COUNT] = {0};
    v[LEARNER_STAT_updates_total] = 4328;
    v[LEARNER_STAT_update_rate] = 4327.84;
    v[LEARNER_STAT_temperature] = 1.71473;
    v[LEARNER_STAT_kl_mean] = 0.00884645;
    v[LEARNER_STAT_kl_stddev] = 5.21326e-07;
    v[LEARNER_STAT_q_mean] = -122.902;
    v[LEARNER_STAT_critic_loss] = 7.53115;
    v[LEARNER_STAT_weights_version] = 43;
    char line[256];
    learner_stats_line(line, sizeof line, v);
    assert_string_equal(line, "updates 4328 | 4327.8 upd/s | eta 1.71 | kl_mu 8.85e-03 kl_sigma 5.21e-07 | q -122.90 | "
                              "critic 7.53 | weights v43");
    /* a short buffer: cut, still terminated */
    char small[20];
    learner_stats_line(small, sizeof small, v);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, line, sizeof small - 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_metrics_slots),
        cmocka_unit_test(test_wire_list),
        cmocka_unit_test(test_metrics_view),
        cmocka_unit_test(test_progress_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
