#include "learner/learner_stats.h"

#include <math.h>
#include <stdio.h>

#include "common/wire.h"

#define S_METRIC_ENTRY(name, unit, help) {#name, unit, "gauge", help},
static const stats_field_t s_table[] = {LEARNER_STATS(STATS_FIELD_ENTRY) MPO_METRICS(S_METRIC_ENTRY)};

_Static_assert(sizeof s_table / sizeof s_table[0] == LEARNER_STAT_COUNT, "one table entry per figure");
_Static_assert(LEARNER_STAT_COUNT <= WIRE_MAX_STATS, "the whole table fits one SampleRequest");

const stats_field_t *learner_stats_table(size_t *n) {
    *n = LEARNER_STAT_COUNT;
    return s_table;
}

void learner_stats_set_metrics(double *values, const mpo_metrics_t *m) {
#define S_SET(name, unit, help) values[LEARNER_STAT_##name] = m->name;
    MPO_METRICS(S_SET)
#undef S_SET
}

/* the progress line: each figure with the text around it */
static const struct {
    learner_stat_id_t id;
    const char *format;
} s_line[] = {
    {LEARNER_STAT_updates_total, "updates %.0f"},
    {LEARNER_STAT_update_rate, " | %.1f upd/s"},
    {LEARNER_STAT_temperature, " | eta %.3g"},
    {LEARNER_STAT_kl_mean, " | kl_mu %.2e"},
    {LEARNER_STAT_kl_stddev, " kl_sigma %.2e"},
    {LEARNER_STAT_q_mean, " | q %.2f"},
    {LEARNER_STAT_critic_loss, " | critic %.3g"},
    {LEARNER_STAT_weights_version, " | weights v%.0f"},
};

void learner_stats_line(char *out, size_t outlen, const double *values) {
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof s_line / sizeof s_line[0] && len < outlen; i++) {
        int k = snprintf(out + len, outlen - len, s_line[i].format, values[s_line[i].id]);
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

size_t learner_stats_to_wire(Mpo__Stat *stats, Mpo__Stat **ptrs, const double *values) {
    stats_table_to_wire(stats, ptrs, s_table, LEARNER_STAT_COUNT, values);
    size_t n = 0;
    for (size_t i = 0; i < LEARNER_STAT_COUNT; i++)
        if (isfinite(values[i]))
            ptrs[n++] = &stats[i];
    return n;
}
