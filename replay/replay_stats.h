/* replay_stats: the replay server's stats, one X-macro table (name, unit, type, help) of
 * common/stats_table.h's kind.
 *
 * The table drives the StatsReply (values in table order), `mpo stat` (units and help), its --json
 * output, the server's log line and /metrics: adding a stat is one line here plus the line in
 * replay_report.c that fills it. Rates are sampled on a timer from the cumulative counters. */
#ifndef MPO_REPLAY_STATS_H
#define MPO_REPLAY_STATS_H

#include <stddef.h>

#include "common/stats_table.h"

/* X(name, unit, type, help); type is "counter" (only grows) or "gauge" (Prometheus' words) */
#define REPLAY_STATS(X)                                                                                      \
    X(size, "transitions", "gauge", "transitions held")                                                     \
    X(capacity, "transitions", "gauge", "ring capacity (buffer_size)")                                      \
    X(inserts_total, "transitions", "counter", "transitions stored")                                        \
    X(samples_total, "transitions", "counter", "transitions sampled")                                       \
    X(sample_batches_total, "batches", "counter", "sample batches served")                                  \
    X(insert_rate_30s, "transitions/s", "gauge", "transitions stored per second over the last 30 s")      \
    X(sample_rate_30s, "transitions/s", "gauge", "transitions sampled per second over the last 30 s")      \
    X(samples_per_insert_30s, "ratio", "gauge", "sample_rate_30s / insert_rate_30s")                       \
    X(samples_per_insert_target, "ratio", "gauge", "the rate limiter's target; 0: off")                     \
    X(actors_held_seconds_total, "seconds", "counter", "time inserts waited on the rate limiter")           \
    X(learner_held_seconds_total, "seconds", "counter", "time samples waited (rate limiter, learning_starts)") \
    X(actors_held_fraction_30s, "ratio", "gauge",                                                           \
      "fraction of wall time some actor's batch waited on the rate limiter, last 30 s: near 1, the learner sets the pace") \
    X(learner_held_fraction_30s, "ratio", "gauge",                                                          \
      "fraction of wall time the learner's request waited, last 30 s: near 1, the actors set the pace") \
    X(limiter_timeouts_total, "items", "counter", "held items served anyway after rate_limit_timeout")      \
    X(pending_inserts, "batches", "gauge", "transition batches held by the rate limiter")                   \
    X(pending_samples, "requests", "gauge", "sample requests held")                                         \
    X(dropped_total, "messages", "counter", "held-queue overflows: batches unacked, requests unanswered")   \
    X(replies_dropped_total, "messages", "counter",                                                         \
      "replies dropped: their peer had max_peer_queue_bytes of replies unread")                            \
    X(duplicates_total, "batches", "counter", "resent batches already stored: acked again, not stored")     \
    X(resent_held_total, "batches", "counter", "resent batches still held by the rate limiter (kept once)") \
    X(actors_connected, "actors", "gauge",                                                                   \
      "actors heard from within max(10 s, 2 ack_timeout): a throttled actor still resends")      \
    X(episodes_total, "episodes", "counter", "finished episodes reported by actors")                        \
    X(learner_updates, "updates", "gauge", "the learner's update count (from its requests)")                \
    X(learner_update_rate_30s, "updates/s", "gauge", "the learner's updates per second over the last 30 s") \
    X(sample_age_inserts, "transitions", "gauge",                                                           \
      "staleness: mean age of the sampled transitions, in transitions stored since (~50 batches)")      \
    X(episode_return_recent, "return", "gauge", "mean return of the newest training episodes (up to 100)")   \
    X(learner_policy_version, "version", "gauge", "the learner's newest weights version")                   \
    X(evals_total, "evaluations", "counter", "evaluations reported by evaluators")                          \
    X(eval_return, "return", "gauge", "the newest evaluation's mean return (deterministic episodes)")        \
    X(eval_return_std, "return", "gauge", "its standard deviation over the episodes")                      \
    X(eval_env_steps, "transitions", "gauge", "transitions stored when the newest evaluation came")        \
    X(eval_learner_updates, "updates", "gauge", "the learner's updates behind the evaluated weights")      \
    X(rejected_total, "messages", "counter", "messages refused (by reason in `rejected`)")                  \
    X(curve_refused_total, "connections", "counter",                                                        \
      "clients refused at the CURVE handshake: no key, an unlisted key, another server key expected")      \
    X(snapshots_total, "snapshots", "counter", "snapshots written to replay_dir (periodic and final)")       \
    X(snapshot_failures_total, "snapshots", "counter",                                                      \
      "snapshots that failed (fork, write, sync, rename: see the log)")                                    \
    X(snapshot_age_seconds, "seconds", "gauge",                                                             \
      "since the newest snapshot's contents (or the restore, or a check that it was current): the inserts " \
      "a crash would lose; 0 without replay_dir")                                                          \
    X(snapshot_seconds, "seconds", "gauge", "time the newest snapshot took to write")                         \
    X(snapshot_pause_seconds, "seconds", "gauge", "time the newest periodic snapshot held the loop (its fork)") \
    X(snapshot_bytes, "bytes", "gauge", "size of the newest snapshot")                                       \
    X(restored_transitions, "transitions", "gauge", "transitions restored from replay_dir at start")          \
    X(memory_bytes, "bytes", "gauge", "ring, held batches, reused buffers")                                   \
    X(uptime_seconds, "seconds", "gauge",   "seconds since the server started")                             \
    X(learning_started, "bool", "gauge", "1 once size >= learning_starts")

#define REPLAY_STAT_ENUM(name, unit, type, help) REPLAY_STAT_##name,
typedef enum { REPLAY_STATS(REPLAY_STAT_ENUM) REPLAY_STAT_COUNT } replay_stat_id_t;

/* the table, and its length */
const stats_field_t *replay_stats_table(size_t *count);
/* by name; NULL for a name this build does not know (a newer server) */
const stats_field_t *replay_stats_find(const char *name);

#endif
