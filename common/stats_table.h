/* stats_table: what a stats table is, for every role. A role lists its figures once as an X-macro
 * X(name, unit, type, help) (replay/replay_stats.h, learner/learner_stats.h, actor/actor_stats.h);
 * that list makes an enum for the values array and a stats_field_t table, and the functions here
 * turn a table plus its values into each view: /metrics, a protocol stats list, a lookup by name. */
#ifndef MPO_STATS_TABLE_H
#define MPO_STATS_TABLE_H

#include <stddef.h>

#include "common/metrics_http.h"
#include "proto/mpo.pb-c.h"

/* type is "counter" (only grows) or "gauge" (Prometheus' words) */
typedef struct {
    const char *name;
    const char *unit;
    const char *type;
    const char *help;
} stats_field_t;

/* the table entry of one X(name, unit, type, help) line */
#define STATS_FIELD_ENTRY(name, unit, type, help) {#name, unit, type, help},

/* by name; NULL for a name this table does not have (a newer peer) */
const stats_field_t *stats_table_find(const stats_field_t *table, size_t n, const char *name);
/* /metrics: one family per figure, named PREFIX_NAME, with the table's type and help */
void stats_table_metrics(metrics_http_buf_t *b, const char *prefix, const stats_field_t *table, size_t n,
                         const double *values);
/* a protocol stats list over caller storage: stats[n] and ptrs[n], names borrowed from the table */
void stats_table_to_wire(Mpo__Stat *stats, Mpo__Stat **ptrs, const stats_field_t *table, size_t n,
                         const double *values);

#endif
