/* replay_report: what the replay server tells about itself, in each of its views. The server bumps
 * its counters (replay_counts_t) as it goes; this module turns them, with the buffer, the rate
 * limiter, the peers and the held rings, into
 *   - the values of the stats table (replay/replay_stats.h), in table order;
 *   - the StatsReply: that table, the actors (each with its own stats list as it last sent it),
 *     the recent returns, the refusals by reason, and the learner's own stats list;
 *   - /metrics: the table as mpo_replay_<name>, refusals by reason, per-actor series, and each
 *     actor's own list as mpo_actor_<name>{actor="<id>"} (untyped: the replay does not know what
 *     an actor's figures are). The learner's own list is not on the replay's /metrics: the learner
 *     serves it on its own /metrics, and one figure should have one source to scrape;
 *   - the log line every stats_interval. */
#ifndef MPO_REPLAY_REPORT_H
#define MPO_REPLAY_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics_http.h"
#include "common/wire.h"
#include "replay/held.h"
#include "replay/peers.h"
#include "replay/rate_limiter.h"
#include "replay/replay_buffer.h"
#include "replay/replay_stats.h"

#define REPLAY_RECENT_RETURNS 100 /* episode returns kept for the StatsReply */
#define REPLAY_ACTIVE_S 10.0      /* an actor heard from this recently is "connected" */
#define REPLAY_RATE_PERIOD_S 1.0  /* rates are sampled this often */
#define REPLAY_RATE_WINDOW_S 30.0 /* and taken over the last this many seconds */
#define REPLAY_RATE_SLOTS 64       /* samples kept: more than the window holds at one a second */

/* the cumulative figures at one sample time */
typedef struct {
    double t;
    double inserted, sampled, updates; /* updates: the learner's, summed over its restarts */
    double ins_busy, smp_busy;         /* held_busy_seconds of each ring */
} replay_rate_sample_t;

/* what the server counts as it goes: it bumps the fields, this module shows them */
typedef struct {
    uint64_t rejected[WIRE_REJECTION_COUNT]; /* by reason; [0] unused */
    uint64_t duplicates, resent_held, dropped, episodes, sample_batches;
    uint64_t learner_updates, learner_version; /* from the newest SampleRequest */
    uint64_t evals;                            /* EvalResults taken; the newest below */
    float eval_return, eval_std;
    uint32_t eval_episodes;
    uint64_t eval_version, eval_learner_step, eval_env_steps; /* eval_env_steps: inserted when it came */
    peers_stats_t learner_stats;               /* the learner's own list, as it last sent it */
    float returns[REPLAY_RECENT_RETURNS];      /* ring of the newest episode returns */
    size_t returns_next, returns_count;
    /* rates over the last REPLAY_RATE_WINDOW_S, from samples taken every REPLAY_RATE_PERIOD_S by
     * replay_counts_rates: a one-second window flips between 0 and bursts under the rate limiter,
     * and an exponential average remembers the warm-up's burst for minutes */
    replay_rate_sample_t rate_ring[REPLAY_RATE_SLOTS];
    size_t rate_next, rate_count;
    double insert_rate, sample_rate, update_rate;
    double actors_held, learner_held; /* fractions of wall time a ring held something */
    uint64_t rate_updates;            /* the learner's count at the newest sample */
    double updates_acc;               /* its updates summed over its restarts */
    double staleness; /* the sampled transitions' mean age in inserts, averaged over batches */
    /* snapshots (replay/persist.h), this process's own: not kept in a snapshot */
    int snapshots_on; /* replay_dir is set */
    uint64_t snapshots, snapshot_failures, restored;
    double snapshot_t; /* when the newest snapshot's contents were taken (or found current, or restored) */
    double snapshot_seconds, snapshot_pause, snapshot_bytes; /* the newest snapshot's */
} replay_counts_t;

/* the server's parts a report reads, borrowed for one call */
typedef struct {
    const char *env;
    const replay_buffer_t *buffer;
    const rate_limiter_t *limiter;
    const peers_t *peers;
    const held_t *held;
    const replay_counts_t *counts;
    size_t scratch_bytes; /* what the server reuses: the sample reply's arrays, the decode block */
    uint64_t learning_starts;
    uint64_t curve_refused; /* clients refused at the CURVE handshake (common/zap.h) */
    uint64_t replies_dropped; /* replies to peers whose queue was full (replay/router.h) */
    double active_s;          /* an actor heard from this recently is connected */
    double started;
} replay_view_t;

/* the mean of the recent-returns ring and, in *n, how many it holds (0 and 0 when empty) */
double replay_counts_recent_mean(const replay_counts_t *c, uint32_t *n);
/* one finished episode's return into the recent-returns ring */
void replay_counts_return(replay_counts_t *c, float episode_return);
/* sample the insert and sample rates, and the held fractions from the rings' busy seconds
 * (held_busy_seconds), once REPLAY_RATE_PERIOD_S has passed since the last time */
void replay_counts_rates(replay_counts_t *c, uint64_t inserted, uint64_t sampled, double ins_busy, double smp_busy,
                         double now);
/* one sample batch's mean age into the staleness average */
void replay_counts_staleness(replay_counts_t *c, double mean_age);

/* 1 once the buffer holds learning_starts transitions (at least 1) */
int replay_report_learning_started(const replay_view_t *v);
/* values[REPLAY_STAT_COUNT] in table order */
void replay_report_values(const replay_view_t *v, double now, double *values);
/* the exposition of /metrics */
void replay_report_metrics(const replay_view_t *v, double now, metrics_http_buf_t *b);
/* the log line */
void replay_report_log(const replay_view_t *v, double now);

/* A StatsReply with everything above, over storage that replay_reply_destroy frees. NULL when out
 * of memory. */
typedef struct replay_reply_s replay_reply_t;
replay_reply_t *replay_reply_new(const replay_view_t *v, double now);
void replay_reply_destroy(replay_reply_t **self_p);
/* the message to send; valid until replay_reply_destroy */
Mpo__Message *replay_reply_msg(replay_reply_t *self);

#endif
