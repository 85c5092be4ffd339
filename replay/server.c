/* server: the replay server role. One ROUTER socket; every peer is a DEALER that says Hello first.
 *
 * The loop polls with a short timeout so held items, timers and the stop flag are looked at even
 * when nobody talks. Each wake-up drains a burst of messages without waiting, then serves what the
 * rate limiter now allows from the two held queues (FIFO, so one actor's batches keep their order),
 * then runs the timers. Nothing a peer sends can make the server block or stop: every reply is sent
 * with ZMQ_DONTWAIT, unroutable replies are dropped (ROUTER_MANDATORY off), and every refusal is an
 * Error reply plus a counter by reason. docs/protocol.md describes the flows.
 *
 * This file is the loop, the receive path and the message handlers. The socket and its frames are
 * replay/router.c, who the peers are replay/peers.c, the rate limiter's waiting items
 * replay/held.c, the minibatches replay/sampler.c, and every view of the stats (StatsReply,
 * /metrics, the log line) replay/replay_report.c. */
#include "replay/server.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/curve.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/wire.h"
#include "env/env.h"
#include "env/env_config.h"
#include "replay/held.h"
#include "replay/peers.h"
#include "replay/persist.h"
#include "replay/rate_limiter.h"
#include "replay/replay_buffer.h"
#include "replay/replay_report.h"
#include "replay/router.h"
#include "replay/sampler.h"

#define SERVER_POLL_MS 50     /* the stop flag is seen within this */
#define SERVER_RECV_BURST 256 /* messages taken per wake-up before serving held items */

typedef struct {
    const config_t *cfg;
    char env[CONFIG_STR_MAX];
    int obs_dim, act_dim;
    size_t row_bytes; /* one transition in a SampleBatch, for the cap on a reply's size */
    router_t *router;
    replay_buffer_t *buffer;
    rate_limiter_t *limiter;
    peers_t *peers;
    held_t *held;
    sampler_t *sampler;
    persist_t *persist; /* NULL without replay_dir */
    double started, log_t;
    float returns[WIRE_MAX_EPISODES]; /* a stored batch's episode returns (wire_check_transitions bounds them) */

    replay_counts_t counts;
} s_server_t;

/* what the reports read, now */
static replay_view_t s_view(const s_server_t *self) {
    return (replay_view_t){.env = self->env,
                           .buffer = self->buffer,
                           .limiter = self->limiter,
                           .peers = self->peers,
                           .held = self->held,
                           .counts = &self->counts,
                           .scratch_bytes = sampler_bytes(self->sampler) + router_bytes(self->router),
                           .learning_starts = (uint64_t)self->cfg->learning_starts,
                           .curve_refused = router_refused(self->router),
                           .replies_dropped = router_dropped(self->router),
                           .active_s = fmax(REPLAY_ACTIVE_S, 2.0 * self->cfg->ack_timeout),
                           .started = self->started};
}

/* what a snapshot is made of */
static snapshot_parts_t s_parts(s_server_t *self) {
    return (snapshot_parts_t){.env = self->env,
                              .buffer = self->buffer,
                              .peers = self->peers,
                              .counts = &self->counts,
                              .limiter = self->limiter};
}

/* ---------------------------------------------------------------- replies */

static void s_reject(s_server_t *self, const router_rid_t *from, wire_rejection_t code, const char *reason,
                     int reply) {
    MPO_ASSERT(code > WIRE_OK && code < WIRE_REJECTION_COUNT);
    uint64_t count = ++self->counts.rejected[code];
    /* a flood of bad messages must not become a flood of log lines */
    if (count <= 5 || count % 1000 == 0)
        log_warn("replay: refused a message (%s, %llu so far): %s", wire_rejection_name(code),
                 (unsigned long long)count, reason);
    else
        log_debug("replay: refused a message (%s): %s", wire_rejection_name(code), reason);
    if (reply)
        router_send_error(self->router, from, code, reason);
}

static void s_send_ack(s_server_t *self, const router_rid_t *to, uint64_t seq) {
    Mpo__Message msg;
    Mpo__Ack ack;
    wire_init_message(&msg);
    mpo__ack__init(&ack);
    ack.seq = seq;
    ack.size = replay_buffer_size(self->buffer);
    replay_view_t v = s_view(self);
    ack.learning_started = replay_report_learning_started(&v);
    msg.body_case = MPO__MESSAGE__BODY_ACK;
    msg.ack = &ack;
    router_send(self->router, to, &msg);
}

/* ---------------------------------------------------------------- storing and sampling */

static void s_store(s_server_t *self, int actor, uint32_t gen, uint64_t seq, uint64_t policy_version,
                    const transition_batch_t *batch, size_t n_episodes, const float *returns) {
    replay_buffer_insert(self->buffer, batch);
    for (size_t i = 0; i < n_episodes; i++)
        replay_counts_return(&self->counts, returns[i]);
    self->counts.episodes += n_episodes;
    peers_actor_t *a = peers_actor_if(self->peers, actor, gen);
    if (!a)
        return; /* evicted while its batch was held: the data counts, the actor's counters are gone */
    a->transitions += (uint64_t)batch->n;
    a->batches++;
    a->episodes += n_episodes;
    a->policy_version = policy_version;
    if (seq > a->last_seq)
        a->last_seq = seq;
}

static void s_serve_sample(s_server_t *self, const router_rid_t *to, uint64_t request_id, uint32_t n) {
    Mpo__Message msg;
    Mpo__SampleBatch sb;
    int rc = sampler_draw(self->sampler, self->buffer, request_id, n, &sb);
    if (rc != 0) { /* -MPO_EINVAL, an empty buffer, cannot be: the rate limiter admits no sample then */
        log_error("replay: sample batch of %u not served: %s", n, mpo_strerror(rc));
        return;
    }
    sb.env_steps = replay_buffer_inserted(self->buffer);
    sb.recent_return = (float)replay_counts_recent_mean(&self->counts, &sb.recent_episodes);
    Mpo__EvalResult eval = MPO__EVAL_RESULT__INIT;
    if ((sb.evals = self->counts.evals) > 0) {
        eval.policy_version = self->counts.eval_version;
        eval.learner_step = self->counts.eval_learner_step;
        eval.mean_return = self->counts.eval_return;
        eval.std_return = self->counts.eval_std;
        eval.episodes = self->counts.eval_episodes;
        sb.eval = &eval;
        sb.eval_env_steps = self->counts.eval_env_steps;
    }
    wire_init_message(&msg);
    msg.body_case = MPO__MESSAGE__BODY_SAMPLE_BATCH;
    msg.sample_batch = &sb;
    router_send(self->router, to, &msg);
    replay_counts_staleness(&self->counts, sampler_last_age(self->sampler));
    self->counts.sample_batches++;
}

/* a held batch the rate limiter let go: stored, and acked to the actor's newest connection */
static void s_release_insert(void *ctx, const held_insert_t *h, const transition_batch_t *batch,
                             const float *returns) {
    s_server_t *self = ctx;
    s_store(self, h->actor, h->gen, h->seq, h->policy_version, batch, h->n_episodes, returns);
    s_send_ack(self, &h->rid, h->seq);
}

static void s_release_sample(void *ctx, const held_sample_t *h) { s_serve_sample(ctx, &h->rid, h->id, h->batch_size); }

/* ---------------------------------------------------------------- message handlers */

static void s_on_hello(s_server_t *self, const router_rid_t *from, const Mpo__Hello *h, double now) {
    char reason[256];
    wire_rejection_t why = wire_check_hello(h, self->env, self->obs_dim, self->act_dim, reason, sizeof reason);
    if (why != WIRE_OK) {
        s_reject(self, from, why, reason, 1);
        return;
    }
    /* a live actor is heard from at least every ack_timeout (it resends what is not acked) */
    double silent = 0, live_s = 2.0 * self->cfg->ack_timeout;
    peers_peer_t *p = peers_hello(self->peers, from, h->role, h->id, h->incarnation, now, live_s, &silent);
    if (!p) {
        snprintf(reason, sizeof reason,
                 "actor id '%s' is held by another process, heard from %.1f s ago; it is free after %.0f s of silence",
                 h->id, silent, live_s);
        s_reject(self, from, WIRE_ID_IN_USE, reason, 1);
        return;
    }
    const peers_actor_t *a = peers_actor(self->peers, p);
    if (a && silent > 0)
        log_info("replay: actor %s is a new process (incarnation %016llx) taking over from one silent for %.0f s",
                 a->id, (unsigned long long)a->incarnation, silent);
    else if (a)
        log_debug("replay: hello from actor %s (seq so far %llu)", a->id, (unsigned long long)a->last_seq);
    s_send_ack(self, &p->rid, 0);
}

/* the peer on this connection when it said Hello as `role`; NULL after refusing the message */
static peers_peer_t *s_peer_as(s_server_t *self, const router_rid_t *from, Mpo__Role role, const char *what,
                               double now) {
    char reason[256];
    peers_peer_t *p = peers_find(self->peers, from);
    if (!p) {
        snprintf(reason, sizeof reason, "%s before a Hello", what);
        s_reject(self, from, WIRE_NO_HELLO, reason, 1);
        return NULL;
    }
    p->last_seen = now;
    if (p->role != role) {
        snprintf(reason, sizeof reason, "%s from a peer that said Hello as role %d, not %s", what, (int)p->role,
                 role == MPO__ROLE__ROLE_ACTOR     ? "an actor"
                 : role == MPO__ROLE__ROLE_LEARNER ? "a learner"
                                                   : "an evaluator");
        s_reject(self, from, WIRE_UNEXPECTED, reason, 1);
        return NULL;
    }
    return p;
}

static void s_on_transitions(s_server_t *self, const router_rid_t *from, const Mpo__TransitionBatch *b, double now) {
    char reason[256];
    peers_peer_t *p = s_peer_as(self, from, MPO__ROLE__ROLE_ACTOR, "transitions", now);
    if (!p)
        return;
    peers_actor_t *a = peers_actor(self->peers, p);
    if (!a) { /* its actor entry was evicted for a newer actor: it must introduce itself again */
        s_reject(self, from, WIRE_NO_HELLO,
                 "this connection's actor is no longer known (a newer process took its id, or too many actors); "
                 "say Hello again", 1);
        return;
    }
    wire_rejection_t why = wire_check_transitions(b, self->obs_dim, self->act_dim, reason, sizeof reason);
    if (why == WIRE_OK && b->seq == 0) {
        why = WIRE_BAD_VALUE;
        snprintf(reason, sizeof reason, "batch seq 0 (seqs start at 1)");
    }
    if (why == WIRE_OK)
        why = wire_check_magnitude(b, self->cfg->max_abs_value, reason, sizeof reason);
    uint64_t max_insert = rate_limiter_max_item(self->limiter, RATE_LIMITER_INSERT);
    if (why == WIRE_OK && b->n > max_insert) { /* it would freeze every actor and the learner until its timeout */
        snprintf(reason, sizeof reason, "a batch of %u transitions, more than the rate limiter can ever admit (%llu)",
                 b->n, (unsigned long long)max_insert);
        why = WIRE_TOO_LARGE;
    }
    if (why == WIRE_OK)
        why = wire_check_stats(b->stats, b->n_stats, reason, sizeof reason);
    if (why != WIRE_OK) {
        s_reject(self, from, why, reason, 1);
        return;
    }
    a->last_seen = now;
    if (b->n_stats > 0 && b->seq >= a->stats_seq) { /* a resend of an older batch brings an older list */
        peers_stats_set(&a->stats, b->stats, b->n_stats);
        a->stats_seq = b->seq;
    }
    if (b->seq <= a->last_seq) { /* a resend of a stored batch: its ack was lost */
        self->counts.duplicates++;
        s_send_ack(self, from, b->seq);
        return;
    }
    held_insert_t *held = held_find_insert(self->held, p->actor, p->gen, b->seq);
    if (held) { /* still held: it is acked when stored, to the newest connection of that actor */
        self->counts.resent_held++;
        held->rid = *from;
        return;
    }
    size_t size = replay_buffer_size(self->buffer);
    if (held_inserts(self->held) == 0 &&
        rate_limiter_admit(self->limiter, RATE_LIMITER_INSERT, b->n, size, now, now) != RATE_LIMITER_HOLD) {
        /* the common case: straight from the decoded frame into the ring */
        transition_batch_t tb = {
            .obs = b->obs, .action = b->action, .reward = b->reward, .done = b->done, .next_obs = b->next_obs,
            .n = (int)b->n};
        MPO_ASSERT(b->n_episodes <= WIRE_MAX_EPISODES); /* wire_check_transitions refused more */
        for (size_t i = 0; i < b->n_episodes; i++)
            self->returns[i] = b->episodes[i]->episode_return;
        s_store(self, p->actor, p->gen, b->seq, b->policy_version, &tb, b->n_episodes, self->returns);
        s_send_ack(self, from, b->seq);
        return;
    }
    /* a full queue takes no batch and sends no ack: the actor resends after its ack_timeout */
    if (held_push_insert(self->held, from, p->actor, p->gen, b, now) != 0) {
        self->counts.dropped++;
        log_debug("replay: held-insert queue full, batch %llu not taken", (unsigned long long)b->seq);
    }
}

/* an evaluator's result: the newest is kept for stats, /metrics and the learner's eval.csv */
static void s_on_eval(s_server_t *self, const router_rid_t *from, const Mpo__EvalResult *e, double now) {
    char reason[256];
    if (!s_peer_as(self, from, MPO__ROLE__ROLE_EVALUATOR, "an evaluation", now))
        return;
    if (!isfinite(e->mean_return) || !isfinite(e->std_return) || e->std_return < 0 || e->episodes < 1 ||
        e->episodes > WIRE_MAX_EPISODES) {
        snprintf(reason, sizeof reason, "an evaluation with mean %g, std %g over %u episodes", e->mean_return,
                 e->std_return, e->episodes);
        s_reject(self, from, WIRE_BAD_VALUE, reason, 1);
        return;
    }
    if (self->cfg->max_abs_value > 0 && fabs(e->mean_return) > self->cfg->max_abs_value * WIRE_MAX_EPISODES) {
        snprintf(reason, sizeof reason, "an evaluation return of %g, beyond max_abs_value x 4096", e->mean_return);
        s_reject(self, from, WIRE_OUT_OF_RANGE, reason, 1);
        return;
    }
    replay_counts_t *c = &self->counts;
    c->evals++;
    c->eval_return = e->mean_return;
    c->eval_std = e->std_return;
    c->eval_episodes = e->episodes;
    c->eval_version = e->policy_version;
    c->eval_learner_step = e->learner_step;
    c->eval_env_steps = replay_buffer_inserted(self->buffer);
    log_info("replay: evaluation of weights v%llu (%llu updates): return %.1f ± %.1f over %u episodes",
             (unsigned long long)e->policy_version, (unsigned long long)e->learner_step, e->mean_return,
             e->std_return, e->episodes);
}

static void s_on_sample_request(s_server_t *self, const router_rid_t *from, const Mpo__SampleRequest *q, double now) {
    char reason[256];
    peers_peer_t *p = s_peer_as(self, from, MPO__ROLE__ROLE_LEARNER, "sample request", now);
    if (!p)
        return;
    wire_rejection_t why = WIRE_OK;
    if (q->batch_size < 1 || q->batch_size > WIRE_MAX_BATCH) {
        snprintf(reason, sizeof reason, "batch_size %u (allowed 1..%d)", q->batch_size, WIRE_MAX_BATCH);
        why = WIRE_BAD_VALUE;
    } else if (q->batch_size > rate_limiter_max_item(self->limiter, RATE_LIMITER_SAMPLE)) {
        snprintf(reason, sizeof reason, "batch_size %u, more than the rate limiter can ever admit (%llu)",
                 q->batch_size, (unsigned long long)rate_limiter_max_item(self->limiter, RATE_LIMITER_SAMPLE));
        why = WIRE_TOO_LARGE;
    } else if ((uint64_t)q->batch_size * self->row_bytes > (uint64_t)self->cfg->max_peer_queue_bytes / ROUTER_SNDHWM) {
        /* ROUTER_SNDHWM such replies unread would be all a peer may make the server hold */
        snprintf(reason, sizeof reason, "batch_size %u: a reply of %llu bytes, more than max_peer_queue_bytes / %d",
                 q->batch_size, (unsigned long long)q->batch_size * self->row_bytes, ROUTER_SNDHWM);
        why = WIRE_TOO_LARGE;
    } else
        why = wire_check_stats(q->stats, q->n_stats, reason, sizeof reason);
    if (why != WIRE_OK) {
        s_reject(self, from, why, reason, 1);
        return;
    }
    self->counts.learner_version = q->policy_version;
    self->counts.learner_updates = q->updates;
    peers_stats_set(&self->counts.learner_stats, q->stats, q->n_stats);
    if (held_samples(self->held) == 0 &&
        rate_limiter_admit(self->limiter, RATE_LIMITER_SAMPLE, q->batch_size, replay_buffer_size(self->buffer), now,
                           now) != RATE_LIMITER_HOLD) {
        s_serve_sample(self, from, q->id, q->batch_size);
        return;
    }
    if (held_push_sample(self->held, from, q->id, q->batch_size, now) != 0) {
        self->counts.dropped++;
        log_debug("replay: held-sample queue full, request %llu not taken", (unsigned long long)q->id);
    }
}

static void s_on_stats_request(s_server_t *self, const router_rid_t *from, double now) {
    replay_view_t v = s_view(self);
    replay_reply_t *reply = replay_reply_new(&v, now);
    if (!reply) {
        log_warn("replay: no memory for a stats reply");
        return;
    }
    router_send(self->router, from, replay_reply_msg(reply));
    replay_reply_destroy(&reply);
}

/* /metrics, rendered on this loop's thread by metrics_http_poll */
static void s_render_metrics(void *ctx, metrics_http_buf_t *b) {
    const s_server_t *self = ctx;
    replay_view_t v = s_view(self);
    replay_report_metrics(&v, clock_now(), b);
}

static void s_timers(s_server_t *self, double now) {
    replay_counts_rates(&self->counts, replay_buffer_inserted(self->buffer), rate_limiter_samples(self->limiter),
                        held_busy_seconds(self->held, 0, now), held_busy_seconds(self->held, 1, now), now);
    if (now - self->log_t >= self->cfg->stats_interval) {
        self->log_t = now;
        replay_view_t v = s_view(self);
        replay_report_log(&v, now);
    }
    if (self->persist) {
        snapshot_parts_t parts = s_parts(self);
        persist_tick(self->persist, &parts, now);
    }
}

/* ---------------------------------------------------------------- receive */

/* Take one message without waiting and hand it to its handler. -1 when there was none. */
static int s_recv_one(s_server_t *self) {
    router_in_t in;
    if (router_recv(self->router, &in) == 0)
        return -1;
    if (!in.msg) {
        if (in.why != WIRE_OK)
            s_reject(self, &in.from, in.why, in.reason, in.reply);
        return 0;
    }
    double now = clock_now();
    const Mpo__Message *msg = in.msg;
    char reason[256];
    switch (msg->body_case) {
    case MPO__MESSAGE__BODY_HELLO:
        s_on_hello(self, &in.from, msg->hello, now);
        break;
    case MPO__MESSAGE__BODY_TRANSITIONS:
        s_on_transitions(self, &in.from, msg->transitions, now);
        break;
    case MPO__MESSAGE__BODY_SAMPLE_REQUEST:
        s_on_sample_request(self, &in.from, msg->sample_request, now);
        break;
    case MPO__MESSAGE__BODY_EVAL_RESULT:
        s_on_eval(self, &in.from, msg->eval_result, now);
        break;
    case MPO__MESSAGE__BODY_STATS_REQUEST:
        /* read-only, so a Hello is welcome but not required */
        s_on_stats_request(self, &in.from, now);
        break;
    case MPO__MESSAGE__BODY_ERROR:
        /* counted, never answered: two sides answering each other's errors would loop forever */
        snprintf(reason, sizeof reason, "an Error message (code %d: %.120s)", (int)msg->error->code,
                 msg->error->reason ? msg->error->reason : "");
        s_reject(self, &in.from, WIRE_UNEXPECTED, reason, 0);
        break;
    default:
        snprintf(reason, sizeof reason, "a message of body type %d, which the replay server does not take",
                 (int)msg->body_case);
        s_reject(self, &in.from, WIRE_UNEXPECTED, reason, 1);
        break;
    }
    /* in.msg lives in the router's decoder: the next router_recv takes it back */
    return 0;
}

/* ---------------------------------------------------------------- life cycle */

static void s_destroy(s_server_t **self_p) {
    s_server_t *self = *self_p;
    if (!self)
        return;
    router_destroy(&self->router);
    persist_destroy(&self->persist);
    held_destroy(&self->held);
    peers_destroy(&self->peers);
    replay_buffer_destroy(&self->buffer);
    rate_limiter_destroy(&self->limiter);
    sampler_destroy(&self->sampler);
    free(self);
    *self_p = NULL;
}

/* 0 with *out ready to serve, or a negative code after logging why */
static int s_new(const config_t *cfg, s_server_t **out) {
    char err[512];
    int rc = -MPO_ENOMEM;
    s_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        log_error("replay: %s", mpo_strerror(rc));
        return rc;
    }
    self->cfg = cfg;
    snprintf(self->env, sizeof self->env, "%s", cfg->env);
    /* the sizes only: the replay never steps an environment, and "bench:OBS:ACT" has none to step */
    env_spec_t external;
    if (strcmp(cfg->env, ENV_EXTERNAL) == 0) { /* sizes from the configuration: the actors bring it */
        rc = env_spec_from_config(cfg, &external, err, sizeof err) == 0 ? 0 : -MPO_EINVAL;
        if (rc == 0)
            self->obs_dim = external.obs_dim, self->act_dim = external.act_dim;
    } else
        rc = env_sizes(cfg->env, &self->obs_dim, &self->act_dim, err, sizeof err);
    if (rc != 0) {
        log_error("replay: %s", err);
        goto fail;
    }
    rate_limiter_config_t rl = {
        .samples_per_insert = cfg->samples_per_insert == -1 ? (double)cfg->batch_size : cfg->samples_per_insert,
        .min_size = (uint64_t)(cfg->learning_starts > 0 ? cfg->learning_starts : 1),
        .tolerance = (double)cfg->rate_limit_tolerance,
        .timeout_s = cfg->rate_limit_timeout,
        .max_insert = (uint64_t)cfg->actor_batch,
        .max_sample = (uint64_t)cfg->batch_size,
        .capacity = (uint64_t)cfg->buffer_size,
    };
    self->limiter = rate_limiter_new(&rl, err, sizeof err);
    if (!self->limiter) {
        log_error("replay: %s", err);
        rc = -MPO_EINVAL;
        goto fail;
    }
    rc = -MPO_ENOMEM;
    self->row_bytes = transition_floats(self->obs_dim, self->act_dim) * sizeof(float) + 8; /* + framing */
    self->buffer = replay_buffer_new((size_t)cfg->buffer_size, self->obs_dim, self->act_dim);
    if (!self->buffer) {
        log_error("replay: no memory for %lld transitions of obs %d act %d", cfg->buffer_size, self->obs_dim,
                  self->act_dim);
        goto fail;
    }
    self->peers = peers_new();
    self->held = held_new(self->obs_dim, self->act_dim);
    /* "REPLAY": the sampler's stream is its own, apart from the other roles' of this seed */
    self->sampler = sampler_new(self->obs_dim, self->act_dim, (uint64_t)cfg->seed ^ 0x5245504c4159ull);
    if (!self->peers || !self->held || !self->sampler) {
        log_error("replay: %s", mpo_strerror(rc));
        goto fail;
    }
    /* before the socket: a server that refuses its snapshot never takes a connection */
    if (cfg->replay_dir[0]) {
        self->persist = persist_new(cfg, err, sizeof err);
        if (!self->persist) {
            log_error("replay: %s", err);
            rc = -MPO_EIO;
            goto fail;
        }
        snapshot_parts_t parts = s_parts(self);
        if ((rc = persist_restore(self->persist, &parts, clock_now())) != 0)
            goto fail;
    }
    curve_t curve;
    rc = curve_from_config(&curve, cfg, CURVE_SERVER, err, sizeof err);
    if (rc != 0) {
        log_error("replay: %s", err);
        goto fail;
    }
    curve_warn_plain(&curve, "replay", cfg->replay_bind, "can insert transitions, sample them and read the stats");
    self->router = router_new(cfg->replay_bind, (size_t)cfg->max_message_bytes, &curve, err, sizeof err);
    explicit_bzero(&curve, sizeof curve);
    if (!self->router) {
        log_error("%s", err);
        rc = -MPO_ESOCKET;
        goto fail;
    }
    self->started = self->log_t = clock_now();
    *out = self;
    return 0;
fail:
    s_destroy(&self);
    return rc;
}

int replay_server_run(const config_t *cfg, volatile int *stop) {
    s_server_t *self = NULL;
    int rc = s_new(cfg, &self);
    if (rc != 0)
        return rc;
    log_info("replay: serving %s (obs %d, act %d) on %s: capacity %lld, learning_starts %lld, "
             "samples_per_insert %g (window %g..%g)",
             self->env, self->obs_dim, self->act_dim, cfg->replay_bind, cfg->buffer_size, cfg->learning_starts,
             rate_limiter_spi(self->limiter), rate_limiter_min_diff(self->limiter),
             rate_limiter_max_diff(self->limiter));
    char err[256];
    metrics_http_t *metrics = NULL;
    rc = metrics_http_start("replay", cfg->replay_bind, (int)cfg->metrics_port, s_render_metrics, self, &metrics, err,
                            sizeof err);
    if (rc != 0) {
        log_error("replay: %s", err);
        s_destroy(&self);
        return rc;
    }
    const held_serve_t release = {s_release_insert, s_release_sample, self};
    zmq_pollitem_t item = {.socket = router_socket(self->router), .events = ZMQ_POLLIN};
    while (!*stop) {
        int n = zmq_poll(&item, 1, SERVER_POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition looks at the flag */
            log_error("replay: poll failed: %s", zmq_strerror(errno));
            rc = -MPO_ESOCKET;
            break;
        }
        for (int i = 0; n > 0 && i < SERVER_RECV_BURST && !*stop; i++)
            if (s_recv_one(self) != 0)
                break;
        double now = clock_now();
        held_serve(self->held, self->limiter, self->buffer, now, &release);
        s_timers(self, now);
        metrics_http_poll(metrics);
    }
    metrics_http_destroy(&metrics);
    log_info("replay: stopping with %zu transitions held, %llu stored in all",
             replay_buffer_size(self->buffer), (unsigned long long)replay_buffer_inserted(self->buffer));
    if (self->persist) {
        snapshot_parts_t parts = s_parts(self);
        int src = persist_final(self->persist, &parts, clock_now());
        rc = rc ? rc : src;
    }
    s_destroy(&self);
    return rc;
}
