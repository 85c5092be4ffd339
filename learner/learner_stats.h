/* learner_stats: the learner role's figures, one X-macro table (name, unit, type, help), followed
 * by every metric of the last update (MPO_METRICS, gauges).
 *
 * The table drives the progress log line, /metrics (mpo_learner_NAME) and the stats list the
 * learner attaches to a SampleRequest at most once a second, which the replay server keeps for
 * `mpo stat`. Adding a figure is one line here plus the line in learner.c that fills it. Names
 * are [a-z0-9_] (the protocol's rule for a stats list). */
#ifndef MPO_LEARNER_STATS_H
#define MPO_LEARNER_STATS_H

#include <stddef.h>

#include "common/stats_table.h"
#include "learner/mpo.h"
#include "proto/mpo.pb-c.h"

/* X(name, unit, type, help); type is "counter" (only grows) or "gauge" (Prometheus' words) */
#define LEARNER_STATS(X)                                                                                       \
    X(updates_total, "updates", "counter", "updates done")                                                     \
    X(update_rate, "updates/s", "gauge", "updates per second over the last log_interval")                      \
    X(batches_total, "batches", "counter", "sample batches received and used")                                 \
    X(samples_total, "transitions", "counter", "transitions in the sample batches used")                       \
    X(sample_wait_seconds_total, "seconds", "counter",                                                     \
      "time the I/O thread had room for a batch and waited for the replay")                                  \
    X(batch_wait_seconds_total, "seconds", "counter", "time the update loop waited for a ready batch")        \
    X(batches_ready, "batches", "gauge", "batches received and checked, waiting for the update")              \
    X(weights_version, "version", "gauge", "weights versions published")                                       \
    X(publications_total, "messages", "counter", "weight messages sent (new versions and idle repeats)")       \
    X(checkpoints_total, "checkpoints", "counter", "checkpoints written")                                      \
    X(checkpoint_failures_total, "checkpoints", "counter", "checkpoints that could not be written")            \
    X(stale_batches_total, "batches", "counter", "answers to requests given up on (used anyway)")              \
    X(rejected_total, "batches", "counter", "sample batches refused")                                          \
    X(reissues_total, "times", "counter", "times the requests were sent again")                              \
    X(curve_refused_total, "connections", "counter",                                                         \
      "weights subscribers refused at the CURVE handshake (no key, unlisted key, other server key)")         \
    X(foreign_subscriptions_total, "subscriptions", "counter",                                              \
      "subscriptions to a topic other than the weights' (a stranger's; actors subscribe to \"\")")           \
    X(weights_socket_resets_total, "times", "counter",                                                      \
      "times the weights socket dropped every connection to free foreign subscriptions")                   \
    X(skipped_updates_total, "updates", "counter", "updates skipped: a loss or gradient was not finite")     \
    X(uptime_seconds, "seconds", "gauge", "seconds since the learner started (with updates_total: a rate)")   \
    X(cpu_seconds_total, "seconds", "counter", "CPU time of the learner process, every thread")

#define LEARNER_STAT_ENUM(name, unit, type, help) LEARNER_STAT_##name,
#define LEARNER_METRIC_ENUM(name, unit, help) LEARNER_STAT_##name,
typedef enum {
    LEARNER_STATS(LEARNER_STAT_ENUM) MPO_METRICS(LEARNER_METRIC_ENUM) LEARNER_STAT_COUNT
} learner_stat_id_t;

/* the table (the role's figures, then the update's metrics), and its length */
const stats_field_t *learner_stats_table(size_t *n);
/* m's metrics into their slots of values[LEARNER_STAT_COUNT] */
void learner_stats_set_metrics(double *values, const mpo_metrics_t *m);
/* The progress log line from values: `updates U | R upd/s | eta | kl_mu kl_sigma | q | critic |
 * weights vV` */
void learner_stats_line(char *out, size_t outlen, const double *values);
/* The protocol stats list over caller storage (stats and ptrs of LEARNER_STAT_COUNT): the finite
 * figures, in table order (a diverged update's NaN is left out rather than getting the whole
 * request refused). Returns how many. */
size_t learner_stats_to_wire(Mpo__Stat *stats, Mpo__Stat **ptrs, const double *values);

#endif
