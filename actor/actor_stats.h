/* actor_stats: the actor's figures, one X-macro table X(name, unit, type, help) (common/stats_table.h).
 *
 * The table drives the actor's progress line and the stats list it attaches to a TransitionBatch at
 * most every ACTOR_STATS_INTERVAL seconds, which the replay server keeps per actor for `mpo stat`.
 * Names are [a-z0-9_] and every value is finite (wire_check_stats). Adding a figure is one line here
 * plus the line in actor.c that fills it. Rates are sampled every ACTOR_STATS_INTERVAL seconds from
 * the cumulative counters. */
#ifndef MPO_ACTOR_STATS_H
#define MPO_ACTOR_STATS_H

#include <stddef.h>

#include "common/stats_table.h"
#include "env/vec_env.h"

/* seconds between the stats lists an actor sends, and between its rate samples */
#define ACTOR_STATS_INTERVAL 1.0

#define ACTOR_STATS_STR_(x) #x
#define ACTOR_STATS_STR(x) ACTOR_STATS_STR_(x)

/* X(name, unit, type, help); type is "counter" (only grows) or "gauge" */
#define ACTOR_STATS(X)                                                                                      \
    X(env_steps_total, "steps", "counter", "environment steps taken, all environments together")           \
    X(env_steps_rate, "steps/s", "gauge", "environment steps per second (last interval)")                  \
    X(num_envs, "envs", "gauge", "environments stepped together, one batched policy forward per step")     \
    X(episodes_total, "episodes", "counter", "episodes finished (terminated or truncated)")                \
    X(episode_return_recent, "return", "gauge",                                                             \
      "mean return of the last " ACTOR_STATS_STR(VEC_ENV_RECENT_EPISODES) " episodes (0 before the first)") \
    X(episodes_recent, "episodes", "gauge", "episodes behind episode_return_recent")                       \
    X(policy_version, "version", "gauge", "weights version acting; 0: acting at random, no weights yet")    \
    X(weights_refused_total, "messages", "counter", "weights refused (another env, sizes or layout, a non-finite value)")       \
    X(batches_sent_total, "batches", "counter", "transition batches sent the first time")                  \
    X(batches_acked_total, "batches", "counter", "transition batches acknowledged by the replay server")    \
    X(batches_resent_total, "batches", "counter", "batches sent again (ack timeout, replay restart)")       \
    X(batches_in_flight, "batches", "gauge", "batches sent and not yet acknowledged")                      \
    X(batches_held, "batches", "gauge", "full batches not yet acknowledged; stepping waits at actor_credit") \
    X(resyncs_total, "resyncs", "counter", "hellos said again with every unacknowledged batch resent")     \
    X(replay_size, "transitions", "gauge", "transitions the replay server held at its last ack")           \
    X(replay_connected, "bool", "gauge", "1 while the replay server has answered the last hello")          \
    X(learning_started, "bool", "gauge", "1 once the replay server holds learning_starts transitions")     \
    X(uptime_seconds, "seconds", "gauge", "seconds since the actor started")

#define ACTOR_STAT_ENUM(name, unit, type, help) ACTOR_STAT_##name,
typedef enum { ACTOR_STATS(ACTOR_STAT_ENUM) ACTOR_STAT_COUNT } actor_stat_id_t;

/* the table, in enum order, and its length */
const stats_field_t *actor_stats_table(size_t *n);

#endif
