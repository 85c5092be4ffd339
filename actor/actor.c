/* actor: the role loop. num_envs environments step together (env/vec_env.h), their transitions go
 * into the outbox (actor/outbox.h), which ships them to the replay server in batches of
 * actor_batch under credit-based flow control; this file holds the sockets, the hello and resync
 * with the replay server, the weights, and the figures (actor/actor_stats.h).
 *
 * Weights arrive on a SUB socket with ZMQ_CONFLATE: only the newest PolicyWeights is kept, which
 * is right for weights (an old version is worthless once a newer one exists) and is why the
 * learner sends them as one frame. */
#include "actor/actor.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "actor/actor_stats.h"
#include "actor/evaluator.h"
#include "actor/outbox.h"
#include "actor/weights_check.h"
#include "common/clock.h"
#include "common/curve.h"
#include "common/error.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/wire.h"
#include "env/nstep.h"
#include "env/vec_env.h"
#include "nn/mlp.h"
#include "nn/policy.h"

/* a burst of NO_HELLO errors (one per queued batch after a server restart) resyncs once */
#define RESYNC_MIN_GAP_S 1.0
/* messages queued per socket before ZeroMQ refuses more (a send then waits for the next flush) */
#define ACTOR_HWM 1000
/* how often an actor whose id another live process holds asks again */
#define ID_RETRY_S 5.0
/* the DEALER's connection events (a new connection after a lost one is a restarted server) and
 * both sockets' refused handshakes */
#define MONITOR_ENDPOINT "inproc://actor-dealer-monitor"
#define SUB_MONITOR_ENDPOINT "inproc://actor-sub-monitor"
#define DEALER_EVENTS (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | CURVE_CLIENT_EVENTS)

typedef struct {
    const config_t *cfg;
    char id[CONFIG_STR_MAX];
    uint64_t incarnation; /* this process, in every Hello: the server dedups by (id, incarnation, seq) */
    const env_spec_t *spec;
    int S, A, K;

    void *ctx, *dealer, *sub, *monitor, *sub_monitor;
    bool curve_on;           /* curve_key_file is set: both sockets are CURVE clients */
    uint64_t failed_handshakes;
    vec_env_t *venv;
    nstep_t *nstep;       /* one-step transitions into n_step ones */
    float *rows;          /* what one step emits: nstep_max_out transitions */
    int *row_env;
    bool *row_last;
    outbox_t *outbox;

    /* the policy, once weights have arrived */
    mlp_t net;
    float *params;
    size_t params_cap;
    policy_type_t policy_type;
    float min_std;
    uint64_t version;      /* 0: acting randomly */
    bool have_weights;
    evaluator_t *eval; /* set: this actor evaluates instead of training (actor/evaluator.h) */
    evaluator_t eval_state;

    /* the replay server as we last heard it */
    double now, started, last_resync;
    bool hello_acked;
    bool connected_once;  /* the DEALER has had a connection: the next one is a reconnection */
    bool link_up;         /* the DEALER's connection is up (its handshake done) */
    bool id_refused;      /* another live process holds our id: ask again at id_retry_at */
    double id_retry_at;
    bool learning_started;
    uint64_t replay_size;
    uint64_t resyncs, weights_refused;

    /* figures: rate samples, the values in table order, the stats list last attached */
    double rate_t, rate;
    uint64_t rate_steps;
    double stats_sent_t;
    double values[ACTOR_STAT_COUNT];
    Mpo__Stat stats[ACTOR_STAT_COUNT];
    Mpo__Stat *stat_ptrs[ACTOR_STAT_COUNT];
} actor_t;

/* FNV-1a: spreads the actor id into its environment and action seeds */
static uint64_t s_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void s_make_id(char *out, size_t outlen, const char *configured) {
    if (configured[0]) {
        snprintf(out, outlen, "%s", configured);
        return;
    }
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned r = (unsigned)(s_hash(host) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20)) & 0xffffff;
    snprintf(out, outlen, "actor-%s-%d-%06x", host, (int)getpid(), r);
}

static void s_actor_destroy(actor_t **self_p) {
    actor_t *self = *self_p;
    if (!self)
        return;
    sock_close(&self->monitor);
    sock_close(&self->sub_monitor);
    sock_close(&self->dealer);
    sock_close(&self->sub);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    vec_env_destroy(&self->venv);
    nstep_destroy(&self->nstep);
    free(self->rows);
    free(self->row_env);
    free(self->row_last);
    outbox_destroy(&self->outbox);
    free(self->params);
    free(self);
    *self_p = NULL;
}

/* 0 with *out set, or a negative code after logging why */
static int s_actor_new(const config_t *cfg, actor_t **out) {
    char err[512];
    const env_ops_t *ops = env_find(cfg->env);
    if (!ops) {
        if (!strcmp(cfg->env, "external"))
            log_error("env external: the C actor has no such environment to step; run an actor that brings its "
                      "own (the Python actor, docs/python.md)");
        else
            log_error("unknown environment '%s' (`mpo envs` lists them)", cfg->env);
        return -MPO_ENOENV;
    }
    actor_t *self = calloc(1, sizeof *self);
    if (!self) {
        log_error("out of memory");
        return -MPO_ENOMEM;
    }
    self->cfg = cfg;
    s_make_id(self->id, sizeof self->id, cfg->actor_id);
    self->incarnation = wire_incarnation();
    if (cfg->evaluator) {
        self->eval = &self->eval_state;
        evaluator_init(self->eval, (uint64_t)cfg->evaluator_every);
    }
    self->spec = ops->spec;
    self->S = ops->spec->obs_dim;
    self->A = ops->spec->act_dim;
    self->K = (int)cfg->num_envs;
    /* the id spreads every actor of a run onto its own environment and action streams */
    uint64_t h = s_hash(self->id);
    int rc = -MPO_ENOMEM;
    self->venv = vec_env_new(cfg->env, self->K, (uint64_t)cfg->seed + h, (uint64_t)cfg->seed ^ h, err, sizeof err);
    if (!self->venv)
        goto fail;
    if (!(self->nstep = nstep_new((int)cfg->n_step, self->K, self->S, self->A, cfg->gamma, err, sizeof err)))
        goto fail;
    int rows = nstep_max_out(self->nstep);
    self->rows = malloc((size_t)rows * transition_floats(self->S, self->A) * sizeof(float));
    self->row_env = malloc((size_t)rows * sizeof(int));
    self->row_last = malloc((size_t)rows * sizeof(bool));
    if (!self->rows || !self->row_env || !self->row_last) {
        snprintf(err, sizeof err, "%s for %d transitions", mpo_strerror(MPO_ENOMEM), rows);
        goto fail;
    }
    outbox_config_t oc = {.obs_dim = self->S, .act_dim = self->A, .batch = (int)cfg->actor_batch,
                          .credit = (int)cfg->actor_credit, .step_size = rows};
    if (!(self->outbox = outbox_new(&oc, err, sizeof err)))
        goto fail;

    rc = -MPO_ESOCKET;
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, sizeof err, "cannot make a ZeroMQ context: %s", zmq_strerror(errno));
        goto fail;
    }
    /* LINGER 0: exit promptly; what is unacknowledged is resent by nobody */
    const sock_opt_t dealer_opts[] = {{ZMQ_LINGER, 0, NULL},
                                      {ZMQ_MAXMSGSIZE, cfg->max_message_bytes, NULL},
                                      {ZMQ_SNDHWM, ACTOR_HWM, NULL},
                                      {ZMQ_RCVHWM, ACTOR_HWM, NULL},
                                      SOCK_OPTS_END};
    /* CONFLATE must be set before connect; it keeps only the newest weights */
    const sock_opt_t sub_opts[] = {{ZMQ_LINGER, 0, NULL},
                                   {ZMQ_MAXMSGSIZE, cfg->max_message_bytes, NULL},
                                   {ZMQ_SNDHWM, ACTOR_HWM, NULL},
                                   {ZMQ_RCVHWM, ACTOR_HWM, NULL},
                                   {ZMQ_CONFLATE, 1, NULL},
                                   {ZMQ_SUBSCRIBE, 0, ""},
                                   SOCK_OPTS_END};
    /* with CURVE each socket talks only to the server whose public key it was given; each is
     * watched before it connects, so that no connection or handshake event is missed */
    curve_t curve;
    sock_opt_t curve_opts[CURVE_OPTS_MAX], all[SOCK_OPTS_MAX];
    if (curve_from_config(&curve, cfg, CURVE_TO_REPLAY | CURVE_TO_WEIGHTS, err, sizeof err) != 0) {
        rc = -MPO_EINVAL;
        goto fail;
    }
    self->curve_on = curve.on;
    self->dealer = sock_open(self->ctx, ZMQ_DEALER, "actor: DEALER to the replay server",
                             sock_opts_join(all, SOCK_OPTS_MAX, dealer_opts,
                                            curve_client_opts(&curve, curve.replay_key, curve_opts)),
                             NULL, NULL, err, sizeof err);
    if (self->dealer)
        self->sub = sock_open(self->ctx, ZMQ_SUB, "actor: SUB for weights",
                              sock_opts_join(all, SOCK_OPTS_MAX, sub_opts,
                                             curve_client_opts(&curve, curve.weights_key, curve_opts)),
                              NULL, NULL, err, sizeof err);
    explicit_bzero(&curve, sizeof curve);
    if (!self->sub ||
        !(self->monitor = sock_watch(self->ctx, self->dealer, "actor: DEALER to the replay server", MONITOR_ENDPOINT,
                                     DEALER_EVENTS, cfg->replay_endpoint, err, sizeof err)) ||
        !(self->sub_monitor = sock_watch(self->ctx, self->sub, "actor: SUB for weights", SUB_MONITOR_ENDPOINT,
                                         CURVE_CLIENT_EVENTS, cfg->weights_endpoint, err, sizeof err)))
        goto fail;
    for (int i = 0; i < ACTOR_STAT_COUNT; i++)
        self->stat_ptrs[i] = &self->stats[i];
    *out = self;
    return 0;
fail:
    log_error("%s", err);
    s_actor_destroy(&self);
    return rc;
}

/* the figures, in table order, as of now */
static void s_stats_fill(actor_t *self) {
    double *v = self->values;
    outbox_counts_t oc;
    outbox_counts(self->outbox, &oc);
    int n_recent;
    double recent = vec_env_recent_mean(self->venv, &n_recent);
    v[ACTOR_STAT_env_steps_total] = (double)vec_env_steps(self->venv);
    v[ACTOR_STAT_env_steps_rate] = self->rate;
    v[ACTOR_STAT_num_envs] = self->K;
    v[ACTOR_STAT_episodes_total] = (double)vec_env_episodes(self->venv);
    v[ACTOR_STAT_episode_return_recent] = recent;
    v[ACTOR_STAT_episodes_recent] = n_recent;
    v[ACTOR_STAT_policy_version] = (double)self->version;
    v[ACTOR_STAT_weights_refused_total] = (double)self->weights_refused;
    v[ACTOR_STAT_batches_sent_total] = (double)oc.sent;
    v[ACTOR_STAT_batches_acked_total] = (double)oc.acked;
    v[ACTOR_STAT_batches_resent_total] = (double)oc.resent;
    v[ACTOR_STAT_batches_in_flight] = oc.in_flight;
    v[ACTOR_STAT_batches_held] = oc.held;
    v[ACTOR_STAT_resyncs_total] = (double)self->resyncs;
    v[ACTOR_STAT_replay_size] = (double)self->replay_size;
    v[ACTOR_STAT_replay_connected] = self->hello_acked;
    v[ACTOR_STAT_learning_started] = self->learning_started;
    v[ACTOR_STAT_uptime_seconds] = self->now - self->started;
    /* the replay refuses a list with NaN or infinity (wire_check_stats); a diverged return is
     * visible in the episodes themselves */
    for (int i = 0; i < ACTOR_STAT_COUNT; i++)
        if (!isfinite(v[i]))
            v[i] = 0;
}

/* rates from the cumulative counters, every ACTOR_STATS_INTERVAL seconds */
static void s_sample_rates(actor_t *self) {
    double dt = self->now - self->rate_t;
    if (dt < ACTOR_STATS_INTERVAL)
        return;
    uint64_t steps = vec_env_steps(self->venv);
    self->rate = (double)(steps - self->rate_steps) / dt;
    self->rate_steps = steps;
    self->rate_t = self->now;
}

static int s_send_hello(actor_t *self) {
    return wire_send_hello(self->dealer, self->eval ? MPO__ROLE__ROLE_EVALUATOR : MPO__ROLE__ROLE_ACTOR,
                           self->spec->name, self->S, self->A, self->id, self->eval ? 0 : self->incarnation);
}

/* outbox_send_fn: one batch as a TransitionBatch, with our stats list at most once an interval */
static int s_send_batch(void *ctx, const outbox_batch_t *b) {
    actor_t *self = ctx;
    Mpo__Message msg;
    Mpo__TransitionBatch tb;
    wire_init_message(&msg);
    mpo__transition_batch__init(&tb);
    size_t n = (size_t)b->t.n;
    tb.seq = b->seq;
    tb.n = (uint32_t)n;
    tb.n_obs = tb.n_next_obs = n * self->S;
    tb.n_action = n * self->A;
    tb.n_reward = tb.n_done = n;
    tb.obs = b->t.obs;
    tb.next_obs = b->t.next_obs;
    tb.action = b->t.action;
    tb.reward = b->t.reward;
    tb.done = b->t.done;
    tb.n_episodes = b->n_episodes;
    tb.episodes = b->episodes;
    tb.policy_version = b->policy_version;
    bool with_stats = self->now - self->stats_sent_t >= ACTOR_STATS_INTERVAL;
    if (with_stats) {
        size_t nstats;
        const stats_field_t *table = actor_stats_table(&nstats);
        s_stats_fill(self);
        stats_table_to_wire(self->stats, self->stat_ptrs, table, nstats, self->values);
        tb.n_stats = nstats;
        tb.stats = self->stat_ptrs;
    }
    msg.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
    msg.transitions = &tb;
    int rc = wire_send(self->dealer, NULL, 0, &msg, ZMQ_DONTWAIT);
    if (rc == 0 && with_stats)
        self->stats_sent_t = self->now;
    return rc;
}

/* Hello again and every unacknowledged batch again, with its seq: after a server restart the new
 * server knows neither us nor what the old one stored; if it is the same server it dedups. */
static void s_resync(actor_t *self, const char *why) {
    outbox_counts_t oc;
    outbox_counts(self->outbox, &oc);
    /* a server that answered our last hello is alive and most likely holding our batches under
     * its rate limiter (it dedups the resends): worth a note, not a warning */
    if (self->hello_acked)
        log_info("%s: saying hello again and resending %d unacknowledged batches", why, oc.in_flight);
    else
        log_warn("%s (and the last hello went unanswered): saying hello again and resending %d batches", why,
                 oc.in_flight);
    self->resyncs++;
    self->last_resync = self->now;
    self->hello_acked = false;
    s_send_hello(self);
    outbox_resend(self->outbox, s_send_batch, self, self->now);
}

static void s_on_ack(actor_t *self, const Mpo__Ack *ack) {
    self->replay_size = ack->size;
    self->learning_started = ack->learning_started;
    if (ack->seq == 0) {
        if (self->id_refused)
            log_info("the replay server took our id %s: this process holds it now", self->id);
        self->hello_acked = true;
        self->id_refused = false;
    }
    else
        outbox_ack(self->outbox, ack->seq, self->now); /* 0: a duplicate from a resend, nothing to do */
}

/* 0, or -MPO_EREFUSED when the server refuses us for good (another environment or protocol) */
static int s_on_replay(actor_t *self) {
    wire_rejection_t why;
    char reason[256];
    Mpo__Message *msg = wire_recv(self->dealer, &why, reason, sizeof reason);
    if (!msg && why == WIRE_OK)
        return 0;
    if (!msg) {
        log_warn("dropped a message from the replay server: %s", reason);
        return 0;
    }
    int rc = 0;
    if (msg->body_case == MPO__MESSAGE__BODY_ACK) {
        s_on_ack(self, msg->ack);
    } else if (msg->body_case == MPO__MESSAGE__BODY_ERROR) {
        Mpo__ErrorCode code = msg->error->code;
        const char *r = msg->error->reason ? msg->error->reason : "";
        if (code == MPO__ERROR_CODE__ERROR_ID_IN_USE) {
            if (!self->id_refused)
                log_warn("the replay server refuses us for now: %s; asking again every %.0f s", r, ID_RETRY_S);
            self->id_refused = true;
            self->hello_acked = false;
            self->id_retry_at = self->now + ID_RETRY_S;
        } else if (code == MPO__ERROR_CODE__ERROR_NO_HELLO) {
            /* while our id is refused, every resent batch is unknown: expected, not a restart */
            if (!self->id_refused && self->now - self->last_resync >= RESYNC_MIN_GAP_S)
                s_resync(self, "the replay server does not know us (restarted?)");
        } else if (code == MPO__ERROR_CODE__ERROR_WRONG_ENV || code == MPO__ERROR_CODE__ERROR_WRONG_SIZES ||
                   code == MPO__ERROR_CODE__ERROR_WRONG_VERSION) {
            log_error("the replay server refuses this actor: %s", r);
            rc = -MPO_EREFUSED;
        } else {
            log_warn("the replay server refused a message: %s", r);
        }
    } else {
        log_warn("unexpected message %d from the replay server", (int)msg->body_case);
    }
    wire_free(msg);
    return rc;
}

/* Adopt weights whose layout fits our environment; refuse others with a reason and keep going. */
static void s_on_weights(actor_t *self) {
    wire_rejection_t why;
    char reason[256];
    Mpo__Message *msg = wire_recv(self->sub, &why, reason, sizeof reason);
    if (!msg && why == WIRE_OK)
        return;
    if (!msg) {
        log_warn("dropped a weights message: %s", reason);
        self->weights_refused++;
        return;
    }
    const Mpo__PolicyWeights *w = msg->body_case == MPO__MESSAGE__BODY_WEIGHTS ? msg->weights : NULL;
    if (w && w->version == self->version && self->have_weights)
        goto done; /* the idle republication of what we hold */
    mlp_t net;
    policy_type_t type;
    reason[0] = 0;
    weights_check(w, self->spec, &net, &type, reason, sizeof reason);
    if (reason[0]) {
        /* a refused version is refused once in the log, not every republication */
        if (self->weights_refused++ % 100 == 0)
            log_warn("refusing weights: %s", reason);
        goto done;
    }
    if (net.n_params > self->params_cap) {
        /* only when the layout grows, which is once per run in practice */
        float *p = realloc(self->params, net.n_params * sizeof(float));
        if (p)
            self->params = p, self->params_cap = net.n_params;
        if (!p) {
            log_error("out of memory for the weights");
            goto done;
        }
    }
    /* the forward's scratch too, so that acting with these weights cannot fail */
    if (vec_env_reserve(self->venv, &net) != 0) {
        log_error("out of memory for the policy forward");
        goto done;
    }
    memcpy(self->params, w->params, net.n_params * sizeof(float));
    self->net = net;
    self->policy_type = (policy_type_t)type;
    self->min_std = w->layout->min_std;
    if (!self->have_weights)
        log_info("first weights: version %" PRIu64 " (learner step %" PRIu64 "), acting with the policy from now on",
                 w->version, w->learner_step);
    self->have_weights = true;
    self->version = w->version;
    if (self->eval)
        evaluator_on_weights(self->eval, self->dealer, self->cfg, &self->net, self->params, self->policy_type,
                             w->version, w->learner_step);
done:
    wire_free(msg);
}

/* One step of all K environments with one forward pass; the n-step transitions it completes into
 * the outbox, each ended episode's record with its last transition. */
static void s_step(actor_t *self) {
    vec_env_policy_t policy = {.net = &self->net, .params = self->params, .type = self->policy_type,
                               .min_std = self->min_std, .deterministic = false};
    vec_env_step_t st;
    /* cannot fail: the scratch was reserved when the weights were adopted */
    int rc = vec_env_step(self->venv, self->have_weights ? &policy : NULL, &st);
    MPO_ASSERT(rc == 0);
    transition_batch_t t = transition_batch_view(self->rows, nstep_max_out(self->nstep), self->S, self->A);
    t.n = 0;
    int n = nstep_push(self->nstep, &st, &t, self->row_env, self->row_last);
    for (int r = 0; r < n; r++) {
        int k = self->row_env[r];
        outbox_add(self->outbox, &t, r, self->version, self->row_last[r], st.episode_return[k], st.episode_length[k]);
    }
}

static void s_progress(actor_t *self) {
    s_stats_fill(self);
    const double *v = self->values;
    log_info("%.0f steps (%.0f/s) | weights v%.0f%s | episodes %.0f, return %.1f (last %.0f) | "
             "batches sent %.0f acked %.0f resent %.0f | replay size %.0f%s",
             v[ACTOR_STAT_env_steps_total], v[ACTOR_STAT_env_steps_rate], v[ACTOR_STAT_policy_version],
             self->have_weights ? "" : " (random)", v[ACTOR_STAT_episodes_total], v[ACTOR_STAT_episode_return_recent],
             v[ACTOR_STAT_episodes_recent], v[ACTOR_STAT_batches_sent_total], v[ACTOR_STAT_batches_acked_total],
             v[ACTOR_STAT_batches_resent_total], v[ACTOR_STAT_replay_size],
             v[ACTOR_STAT_replay_connected] ? "" : " | waiting for the replay server");
    double waited = self->now - self->started;
    if (!v[ACTOR_STAT_replay_connected] && !self->id_refused)
        log_warn("waiting for the replay server at %s: no answer to our Hello (%.0f s since start)",
                 self->cfg->replay_endpoint, waited);
    if (!self->have_weights && self->learning_started)
        log_warn("waiting for weights from the learner at %s: learning has started but none arrived (%.0f s "
                 "since start; acting at random meanwhile)",
                 self->cfg->weights_endpoint, waited);
}

/* An event of a watched socket. On the DEALER, a new connection (its handshake done) after a lost
 * one is most likely a restarted server, which knows neither us nor our batches in flight: resync
 * at once instead of after ack_timeout. A failed handshake is a warning while ZeroMQ tries again;
 * a refusal it will not try again (our key not listed, CURVE on one side only) ends the actor. */
static int s_on_monitor(actor_t *self, void *monitor, const char *server) {
    uint32_t value;
    int event = sock_event(monitor, &value);
    char text[320];
    int said = curve_client_event(self->curve_on, event, value, server, text, sizeof text);
    if (said == 2) {
        log_error("%s", text);
        return -MPO_EREFUSED;
    }
    if (said == 1 && self->failed_handshakes++ % 100 == 0)
        log_warn("%s", text);
    if (event == ZMQ_EVENT_DISCONNECTED && self->link_up)
        log_info("lost the connection to the replay server at %s", self->cfg->replay_endpoint);
    else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (self->connected_once)
            s_resync(self, "connected to the replay server again");
        self->connected_once = true;
    }
    if (event == ZMQ_EVENT_DISCONNECTED || event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        self->link_up = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    return 0;
}

int actor_run(const config_t *cfg, volatile int *stop) {
    actor_t *self = NULL;
    int rc = s_actor_new(cfg, &self);
    if (rc != 0)
        return rc;
    log_info("actor %s: %d x %s (obs %d, act %d), batches of %lld, credit %lld; replay %s, weights %s", self->id,
             self->K, self->spec->name, self->S, self->A, cfg->actor_batch, cfg->actor_credit, cfg->replay_endpoint,
             cfg->weights_endpoint);
    if (cfg->total_timesteps != atoll(config_find("total_timesteps")->def)) /* set, and not ours to keep */
        log_info("total_timesteps %lld is the run's: mpo train stops its actors when the replay holds that many; "
                 "this actor runs until SIGINT or SIGTERM", cfg->total_timesteps);
    double now = self->now = clock_now();
    self->started = self->last_resync = self->rate_t = now;
    self->stats_sent_t = now - ACTOR_STATS_INTERVAL; /* the first batch carries the figures */
    double last_hello = now, last_log = now;
    s_send_hello(self);
    zmq_pollitem_t items[4] = {{self->dealer, 0, ZMQ_POLLIN, 0},
                               {self->sub, 0, ZMQ_POLLIN, 0},
                               {self->monitor, 0, ZMQ_POLLIN, 0},
                               {self->sub_monitor, 0, ZMQ_POLLIN, 0}};
    while (!*stop) {
        /* stepping: just look; out of credit: sleep on the sockets until an ack, a timeout or a
         * stop (100 ms bounds the latency of a signal) */
        long timeout_ms = !self->eval && outbox_can_step(self->outbox) ? 0 : 100;
        if (zmq_poll(items, 4, timeout_ms) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_error("poll: %s", zmq_strerror(zmq_errno()));
            rc = -MPO_ESOCKET;
            break;
        }
        now = self->now = clock_now();
        if (items[0].revents & ZMQ_POLLIN) {
            /* drain: acks are small and each frees credit */
            for (int i = 0; i < 64 && (items[0].revents & ZMQ_POLLIN); i++) {
                if ((rc = s_on_replay(self)) != 0)
                    goto out;
                zmq_poll(items, 1, 0);
            }
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_on_weights(self);
        if ((items[2].revents & ZMQ_POLLIN) && (rc = s_on_monitor(self, self->monitor, "the replay server")) != 0)
            goto out;
        if ((items[3].revents & ZMQ_POLLIN) && (rc = s_on_monitor(self, self->sub_monitor, "the learner")) != 0)
            goto out;
        outbox_counts_t oc;
        outbox_counts(self->outbox, &oc);
        if (self->id_refused) {
            if (now >= self->id_retry_at) { /* Hello and our batches again, quietly: the warning was said */
                self->id_retry_at = now + ID_RETRY_S;
                self->last_resync = now;
                s_send_hello(self);
                outbox_resend(self->outbox, s_send_batch, self, now);
            }
        } else if (outbox_overdue(self->outbox, now, cfg->ack_timeout))
            s_resync(self, "no acknowledgement within ack_timeout");
        else if (!self->hello_acked && oc.in_flight == 0 && now - last_hello > cfg->ack_timeout) {
            s_send_hello(self); /* nothing to resend yet, but keep knocking */
            last_hello = now;
        }
        if (!self->eval && outbox_can_step(self->outbox))
            s_step(self);
        outbox_flush(self->outbox, s_send_batch, self, now);
        s_sample_rates(self);
        if (now - last_log >= cfg->log_interval) {
            s_progress(self);
            last_log = now;
        }
    }
out:;
    outbox_counts_t oc;
    outbox_counts(self->outbox, &oc);
    log_info("stopping: %" PRIu64 " steps, %" PRIu64 " batches acked, %d unacknowledged dropped",
             vec_env_steps(self->venv), oc.acked, oc.in_flight);
    s_actor_destroy(&self);
    return rc;
}
