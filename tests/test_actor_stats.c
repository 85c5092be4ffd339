/* actor_stats: the actor's stats table is what the protocol and /metrics accept: names of
 * [a-z0-9_], unique, Prometheus types, within WIRE_MAX_STATS, and its wire list passes
 * wire_check_stats, the replay server's check. */
#include "tests/test_util.h"

#include <stdio.h>
#include <string.h>

#include "actor/actor_stats.h"
#include "common/metrics_http.h"
#include "common/stats_table.h"
#include "common/wire.h"

static void test_table(void **state) {
    (void)state;
    size_t n = 0;
    const stats_field_t *t = actor_stats_table(&n);
    assert_int_equal(n, ACTOR_STAT_COUNT);
    assert_true(n <= WIRE_MAX_STATS);
    assert_string_equal(t[ACTOR_STAT_env_steps_total].name, "env_steps_total");
    assert_string_equal(t[ACTOR_STAT_uptime_seconds].name, "uptime_seconds");
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(t[i].name) > 0 && strlen(t[i].name) < WIRE_STAT_NAME_MAX);
        assert_int_equal(strspn(t[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(t[i].name));
        assert_true(strcmp(t[i].type, "counter") == 0 || strcmp(t[i].type, "gauge") == 0);
        assert_true(t[i].unit[0] && t[i].help[0]);
        /* a counter's name says so, as Prometheus would have it */
        size_t len = strlen(t[i].name);
        if (strcmp(t[i].type, "counter") == 0)
            assert_string_equal(t[i].name + len - 6, "_total");
        assert_ptr_equal(stats_table_find(t, n, t[i].name), &t[i]);
        char metric[128];
        snprintf(metric, sizeof metric, "mpo_actor_%s", t[i].name);
        assert_true(metrics_http_valid_name(metric));
    }
    assert_null(stats_table_find(t, n, "no_such_figure"));
    assert_non_null(strstr(t[ACTOR_STAT_episode_return_recent].help, "last 10 episodes"));
}

static void test_wire_list_passes_the_check(void **state) {
    (void)state;
    size_t n;
    const stats_field_t *t = actor_stats_table(&n);
    double values[ACTOR_STAT_COUNT];
    for (size_t i = 0; i < n; i++)
        values[i] = (double)i * 1.5;
    Mpo__Stat stats[ACTOR_STAT_COUNT], *ptrs[ACTOR_STAT_COUNT];
    stats_table_to_wire(stats, ptrs, t, n, values);
    char reason[256] = "";
    assert_int_equal(wire_check_stats(ptrs, n, reason, sizeof reason), WIRE_OK);
    assert_true(ptrs[ACTOR_STAT_num_envs]->value == ACTOR_STAT_num_envs * 1.5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_wire_list_passes_the_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
