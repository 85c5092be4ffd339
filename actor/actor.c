/* actor: num_envs environments stepped together, one batched policy forward per step, transitions
 * shipped to the replay server in batches of actor_batch under credit-based flow control.
 *
 * Flow control. Batches live in a small ring of slots, oldest first. A slot is FILLING (taking
 * transitions), READY (full, waiting for credit), SENT (on the wire, unacknowledged) or ACKED
 * (acknowledged but behind an older unacknowledged slot). At most actor_credit slots are SENT, and
 * the actor steps its environments only while fewer than actor_credit slots are full, so a replay
 * server that delays acknowledgements (its rate limiter) or is gone stops the actor instead of
 * filling its memory. The slots keep the raw arrays, so a resend after a server restart rebuilds
 * the same message with the same seq, and the server's (actor id, seq) dedup makes it idempotent.
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

#include "common/clock.h"
#include "common/error.h"
#include "env/env.h"
#include "common/log.h"
#include "nn/mlp.h"
#include "nn/policy.h"
#include "common/rng.h"
#include "common/wire.h"

#define RECENT_EPISODES 10
/* a burst of NO_HELLO errors (one per queued batch after a server restart) resyncs once */
#define RESYNC_MIN_GAP_S 1.0

typedef enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_READY, SLOT_SENT, SLOT_ACKED } s_slot_state_t;

typedef struct {
    s_slot_state_t state;
    uint64_t seq;            /* given when the slot is filled, kept across resends */
    uint64_t policy_version; /* weights that acted on the newest transition */
    int n;                   /* transitions held */
    float *obs;              /* (B, S) */
    float *action;           /* (B, A) */
    float *reward;           /* (B) */
    float *done;             /* (B) */
    float *next_obs;         /* (B, S) */
    Mpo__Episode *episodes;  /* (max_episodes) */
    Mpo__Episode **episode_ptrs;
    int n_episodes;
} s_slot_t;

typedef struct {
    const config_t *cfg;
    char id[CONFIG_STR_MAX];
    const env_spec_t *spec;
    int S, A, K, B;        /* obs and action sizes, environments, batch transitions */
    int credit;

    void *ctx, *dealer, *sub;

    env_t **envs;          /* (K) */
    float *obs;            /* (K, S) current observations */
    float *next_obs;       /* (K, S) */
    float *action;         /* (K, A) policy-space actions */
    double *ep_return;     /* (K) */
    int *ep_length;        /* (K) */
    rng_t rng;

    /* the policy, once weights have arrived */
    mlp_t net;
    float *params;
    size_t params_cap;
    float *acts;           /* forward scratch, mlp_acts_floats(net, K) */
    size_t acts_cap;
    policy_type_t policy_type;
    float min_std;
    uint64_t version;      /* 0: acting randomly */
    bool have_weights;

    /* the ring of batches */
    s_slot_t *slots;
    int nslots, head, count; /* count slots in use, from head */
    int max_episodes;        /* per batch */
    int sent;                /* slots SENT */
    uint64_t next_seq;
    double last_ack;         /* last ack, or when the first unacked batch went out */
    double last_resync;
    bool hello_acked;
    bool learning_started;
    uint64_t replay_size;

    /* counters for the progress line */
    uint64_t steps, batches_sent, batches_acked, resends, resyncs, episodes, weights_refused;
    double recent[RECENT_EPISODES];
    int n_recent;
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
    if (self->dealer)
        zmq_close(self->dealer);
    if (self->sub)
        zmq_close(self->sub);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    if (self->envs)
        for (int k = 0; k < self->K; k++)
            env_destroy(&self->envs[k]);
    free(self->envs);
    if (self->slots)
        for (int i = 0; i < self->nslots; i++) {
            free(self->slots[i].obs);
            free(self->slots[i].episodes);
            free(self->slots[i].episode_ptrs);
        }
    free(self->slots);
    free(self->obs);
    free(self->ep_return);
    free(self->ep_length);
    free(self->params);
    free(self->acts);
    free(self);
    *self_p = NULL;
}

static void *s_socket(actor_t *self, int type, const char *endpoint, int64_t maxmsg) {
    void *s = zmq_socket(self->ctx, type);
    if (!s)
        return NULL;
    int zero = 0, hwm = 1000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero); /* exit promptly; unacked data is resent by nobody */
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (type == ZMQ_SUB) {
        int one = 1;
        /* CONFLATE must be set before connect; it keeps only the newest weights */
        zmq_setsockopt(s, ZMQ_CONFLATE, &one, sizeof one);
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    }
    if (zmq_connect(s, endpoint) != 0) {
        log_error("cannot connect to '%s': %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static actor_t *s_actor_new(const config_t *cfg) {
    char err[256];
    const env_ops_t *ops = env_find(cfg->env);
    if (!ops) {
        log_error("unknown environment '%s' (`mpo envs` lists them)", cfg->env);
        return NULL;
    }
    actor_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    s_make_id(self->id, sizeof self->id, cfg->actor_id);
    self->spec = ops->spec;
    self->S = ops->spec->obs_dim;
    self->A = ops->spec->act_dim;
    self->K = (int)cfg->num_envs;
    self->B = (int)cfg->actor_batch;
    self->credit = (int)cfg->actor_credit;
    int S = self->S, A = self->A, K = self->K, B = self->B;
    uint64_t h = s_hash(self->id);
    rng_seed(&self->rng, (uint64_t)cfg->seed ^ h ^ 0x6163746f72ULL);

    self->envs = calloc((size_t)K, sizeof *self->envs);
    self->obs = calloc((size_t)K * (2 * S + A), sizeof(float));
    self->ep_return = calloc((size_t)K, sizeof(double));
    self->ep_length = calloc((size_t)K, sizeof(int));
    /* a step of K transitions fills at most ceil(K/B) slots beyond the one being filled */
    self->nslots = self->credit + (K + B - 1) / B + 1;
    self->slots = calloc((size_t)self->nslots, sizeof *self->slots);
    self->max_episodes = B < WIRE_MAX_EPISODES ? B : WIRE_MAX_EPISODES;
    if (!self->envs || !self->obs || !self->ep_return || !self->ep_length || !self->slots)
        goto oom;
    self->next_obs = self->obs + (size_t)K * S;
    self->action = self->next_obs + (size_t)K * S;
    for (int i = 0; i < self->nslots; i++) {
        s_slot_t *sl = &self->slots[i];
        /* one allocation per slot: obs | next_obs | action | reward | done */
        sl->obs = malloc((size_t)B * (2 * S + A + 2) * sizeof(float));
        sl->episodes = calloc((size_t)self->max_episodes, sizeof *sl->episodes);
        sl->episode_ptrs = calloc((size_t)self->max_episodes, sizeof *sl->episode_ptrs);
        if (!sl->obs || !sl->episodes || !sl->episode_ptrs)
            goto oom;
        sl->next_obs = sl->obs + (size_t)B * S;
        sl->action = sl->next_obs + (size_t)B * S;
        sl->reward = sl->action + (size_t)B * A;
        sl->done = sl->reward + B;
        for (int e = 0; e < self->max_episodes; e++) {
            mpo__episode__init(&sl->episodes[e]);
            sl->episode_ptrs[e] = &sl->episodes[e];
        }
    }
    for (int k = 0; k < K; k++) {
        self->envs[k] = env_new(cfg->env, err, sizeof err);
        if (!self->envs[k]) {
            log_error("%s", err);
            s_actor_destroy(&self);
            return NULL;
        }
        env_reset(self->envs[k], (uint64_t)cfg->seed + (uint64_t)k * 1000 + h, self->obs + (size_t)k * S);
    }

    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto oom;
    self->dealer = s_socket(self, ZMQ_DEALER, cfg->replay_endpoint, cfg->max_message_bytes);
    self->sub = s_socket(self, ZMQ_SUB, cfg->weights_endpoint, cfg->max_message_bytes);
    if (!self->dealer || !self->sub) {
        s_actor_destroy(&self);
        return NULL;
    }
    self->next_seq = 1;
    return self;
oom:
    log_error("out of memory");
    s_actor_destroy(&self);
    return NULL;
}

static int s_send_hello(actor_t *self) {
    return wire_send_hello(self->dealer, MPO__ROLE__ROLE_ACTOR, self->spec->name, self->S, self->A, self->id);
}

static int s_send_slot(actor_t *self, s_slot_t *sl) {
    Mpo__Message msg;
    Mpo__TransitionBatch tb;
    wire_init_message(&msg);
    mpo__transition_batch__init(&tb);
    size_t n = (size_t)sl->n;
    tb.seq = sl->seq;
    tb.n = (uint32_t)n;
    tb.n_obs = tb.n_next_obs = n * self->S;
    tb.n_action = n * self->A;
    tb.n_reward = tb.n_done = n;
    tb.obs = sl->obs;
    tb.next_obs = sl->next_obs;
    tb.action = sl->action;
    tb.reward = sl->reward;
    tb.done = sl->done;
    tb.n_episodes = (size_t)sl->n_episodes;
    tb.episodes = sl->episode_ptrs;
    tb.policy_version = sl->policy_version;
    msg.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
    msg.transitions = &tb;
    return wire_send(self->dealer, NULL, 0, &msg, ZMQ_DONTWAIT);
}

static s_slot_t *s_slot(actor_t *self, int i) { return &self->slots[(self->head + i) % self->nslots]; }

/* Send READY slots, oldest first, while credit lasts. */
static void s_flush(actor_t *self, double now) {
    for (int i = 0; i < self->count && self->sent < self->credit; i++) {
        s_slot_t *sl = s_slot(self, i);
        if (sl->state != SLOT_READY)
            continue;
        if (s_send_slot(self, sl) != 0)
            return; /* HWM or no peer yet: stays READY, retried on the next pass */
        if (self->sent == 0)
            self->last_ack = now; /* the ack clock starts with the first unacked batch */
        sl->state = SLOT_SENT;
        self->sent++;
        self->batches_sent++;
    }
}

/* Hello again and every unacknowledged batch again, with its seq: after a server restart the new
 * server knows neither us nor what the old one stored; if it is the same server it dedups. */
static void s_resync(actor_t *self, double now, const char *why) {
    /* a server that answered our last hello is alive and most likely holding our batches under
     * its rate limiter (it dedups the resends): worth a note, not a warning */
    if (self->hello_acked)
        log_info("%s: saying hello again and resending %d unacknowledged batches", why, self->sent);
    else
        log_warn("%s (and the last hello went unanswered): saying hello again and resending %d batches", why,
                 self->sent);
    self->resyncs++;
    self->last_resync = now;
    self->last_ack = now;
    self->hello_acked = false;
    s_send_hello(self);
    for (int i = 0; i < self->count; i++) {
        s_slot_t *sl = s_slot(self, i);
        if (sl->state == SLOT_SENT && s_send_slot(self, sl) == 0)
            self->resends++;
    }
}

static void s_on_ack(actor_t *self, const Mpo__Ack *ack, double now) {
    self->replay_size = ack->size;
    self->learning_started = ack->learning_started;
    if (ack->seq == 0) {
        self->hello_acked = true;
        return;
    }
    for (int i = 0; i < self->count; i++) {
        s_slot_t *sl = s_slot(self, i);
        if (sl->state == SLOT_SENT && sl->seq == ack->seq) {
            sl->state = SLOT_ACKED;
            self->sent--;
            self->batches_acked++;
            self->last_ack = now;
            break;
        }
    } /* an ack for a batch no longer held is a duplicate from a resend: nothing to do */
    while (self->count > 0 && s_slot(self, 0)->state == SLOT_ACKED) {
        s_slot(self, 0)->state = SLOT_FREE;
        self->head = (self->head + 1) % self->nslots;
        self->count--;
    }
}

/* 0, or -1 when the server refuses us for good (another environment or protocol) */
static int s_on_replay(actor_t *self, double now) {
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
        s_on_ack(self, msg->ack, now);
    } else if (msg->body_case == MPO__MESSAGE__BODY_ERROR) {
        Mpo__ErrorCode code = msg->error->code;
        const char *r = msg->error->reason ? msg->error->reason : "";
        if (code == MPO__ERROR_CODE__ERROR_NO_HELLO) {
            if (now - self->last_resync >= RESYNC_MIN_GAP_S)
                s_resync(self, now, "the replay server does not know us (restarted?)");
        } else if (code == MPO__ERROR_CODE__ERROR_WRONG_ENV || code == MPO__ERROR_CODE__ERROR_WRONG_SIZES ||
                   code == MPO__ERROR_CODE__ERROR_WRONG_VERSION) {
            log_error("the replay server refuses this actor: %s", r);
            rc = -1;
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
    const Mpo__PolicyLayout *l = w ? w->layout : NULL;
    reason[0] = 0;
    mlp_t net;
    int type = -1;
    if (!w || !l)
        snprintf(reason, sizeof reason, "not a PolicyWeights with a layout");
    else if (w->version == self->version && self->have_weights)
        goto done; /* the idle republication of what we hold */
    else if (!l->env || strcmp(l->env, self->spec->name) != 0)
        snprintf(reason, sizeof reason, "weights for '%.64s', this actor runs '%s'", l->env ? l->env : "",
                 self->spec->name);
    else if ((int)l->obs_dim != self->S || (int)l->act_dim != self->A)
        snprintf(reason, sizeof reason, "weights for obs %u act %u, this actor has obs %d act %d", l->obs_dim,
                 l->act_dim, self->S, self->A);
    else if ((type = policy_type_parse(l->policy ? l->policy : "")) < 0)
        snprintf(reason, sizeof reason, "unknown policy type '%.32s'", l->policy ? l->policy : "");
    else if (l->hidden < 1 || l->hidden > CONFIG_HIDDEN_MAX || mlp_init(&net, self->S, (int)l->hidden, (int)l->layers, 2 * self->A) != 0)
        snprintf(reason, sizeof reason, "bad network shape hidden %u layers %u", l->hidden, l->layers);
    else if (w->n_params != net.n_params)
        snprintf(reason, sizeof reason, "%zu parameters, the layout needs %zu", w->n_params, net.n_params);
    else if (!(l->min_std > 0) || !isfinite(l->min_std))
        snprintf(reason, sizeof reason, "min_std %g", l->min_std);
    if (reason[0]) {
        /* a refused version is refused once in the log, not every republication */
        if (self->weights_refused++ % 100 == 0)
            log_warn("refusing weights: %s", reason);
        goto done;
    }
    size_t acts = mlp_acts_floats(&net, self->K);
    if (net.n_params > self->params_cap || acts > self->acts_cap) {
        /* only when the layout grows, which is once per run in practice */
        float *p = realloc(self->params, net.n_params * sizeof(float));
        if (p)
            self->params = p, self->params_cap = net.n_params;
        float *a = realloc(self->acts, acts * sizeof(float));
        if (a)
            self->acts = a, self->acts_cap = acts;
        if (!p || !a) {
            log_error("out of memory for the weights");
            goto done;
        }
    }
    memcpy(self->params, w->params, net.n_params * sizeof(float));
    self->net = net;
    self->policy_type = (policy_type_t)type;
    self->min_std = l->min_std;
    if (!self->have_weights)
        log_info("first weights: version %" PRIu64 " (learner step %" PRIu64 "), acting with the policy from now on",
                 w->version, w->learner_step);
    self->have_weights = true;
    self->version = w->version;
done:
    wire_free(msg);
}

/* The slot taking transitions; a new one at the tail when there is none. */
static s_slot_t *s_filling(actor_t *self) {
    if (self->count > 0) {
        s_slot_t *last = s_slot(self, self->count - 1);
        if (last->state == SLOT_FILLING)
            return last;
    }
    /* the step gate (busy < credit) and nslots = credit + ceil(K/B) + 1 make this hold */
    MPO_ASSERT(self->count < self->nslots);
    s_slot_t *sl = s_slot(self, self->count++);
    sl->state = SLOT_FILLING;
    sl->n = 0;
    sl->n_episodes = 0;
    sl->seq = self->next_seq++;
    return sl;
}

/* slots full and not yet acknowledged: the actor steps only while this is below its credit */
static int s_busy(const actor_t *self) {
    int busy = self->count;
    if (busy > 0 && self->slots[(self->head + busy - 1) % self->nslots].state == SLOT_FILLING)
        busy--;
    return busy;
}

/* One step of all K environments with one forward pass. */
static void s_step(actor_t *self) {
    int S = self->S, A = self->A, K = self->K;
    const env_spec_t *spec = self->spec;
    if (self->have_weights) {
        policy_act(self->action, &self->net, self->params, self->obs, K, self->policy_type, self->min_std, false,
                   &self->rng, self->acts);
    } else {
        for (int i = 0; i < K * A; i++)
            self->action[i] = (float)rng_uniform_range(&self->rng, -1.0, 1.0);
    }
    for (int k = 0; k < K; k++) {
        float ea[ENV_MAX_ACT];
        float *o = self->obs + (size_t)k * S, *no = self->next_obs + (size_t)k * S, *a = self->action + (size_t)k * A;
        policy_to_env(ea, a, spec->act_low, spec->act_high, A);
        bool term, trunc;
        float r = env_step(self->envs[k], ea, no, &term, &trunc);
        self->ep_return[k] += r;
        self->ep_length[k]++;

        s_slot_t *sl = s_filling(self);
        int j = sl->n++;
        memcpy(sl->obs + (size_t)j * S, o, S * sizeof(float));
        memcpy(sl->next_obs + (size_t)j * S, no, S * sizeof(float));
        memcpy(sl->action + (size_t)j * A, a, A * sizeof(float));
        sl->reward[j] = r;
        sl->done[j] = term ? 1.0f : 0.0f; /* truncation is not a terminal state */
        sl->policy_version = self->version;
        if (term || trunc) {
            /* the episode travels with the batch holding its last transition */
            Mpo__Episode *e = &sl->episodes[sl->n_episodes++];
            e->episode_return = (float)self->ep_return[k];
            e->length = (uint32_t)self->ep_length[k];
            self->recent[self->episodes % RECENT_EPISODES] = self->ep_return[k];
            self->episodes++;
            self->ep_return[k] = 0;
            self->ep_length[k] = 0;
            env_reset_next(self->envs[k], o);
        } else {
            memcpy(o, no, S * sizeof(float));
        }
        if (sl->n == self->B || sl->n_episodes == self->max_episodes)
            sl->state = SLOT_READY;
    }
    self->steps += (uint64_t)K;
}

static void s_progress(actor_t *self, double dt, uint64_t steps_then) {
    int n = self->episodes < RECENT_EPISODES ? (int)self->episodes : RECENT_EPISODES;
    double mean = 0;
    for (int i = 0; i < n; i++)
        mean += self->recent[i];
    mean = n ? mean / n : 0;
    log_info("%" PRIu64 " steps (%.0f/s) | weights v%" PRIu64 "%s | episodes %" PRIu64 ", return %.1f (last %d) | "
             "batches sent %" PRIu64 " acked %" PRIu64 " resent %" PRIu64 " | replay size %" PRIu64 "%s",
             self->steps, (self->steps - steps_then) / dt, self->version, self->have_weights ? "" : " (random)",
             self->episodes, mean, n, self->batches_sent, self->batches_acked, self->resends, self->replay_size,
             self->hello_acked ? "" : " | waiting for the replay server");
}

int actor_run(const config_t *cfg, volatile int *stop) {
    actor_t *self = s_actor_new(cfg);
    if (!self)
        return -1;
    log_info("actor %s: %d x %s (obs %d, act %d), batches of %d, credit %d; replay %s, weights %s", self->id,
             self->K, self->spec->name, self->S, self->A, self->B, self->credit, cfg->replay_endpoint,
             cfg->weights_endpoint);
    double now = clock_now();
    self->last_resync = now;
    self->last_ack = now;
    double last_hello = now, last_log = now;
    uint64_t steps_at_log = 0;
    s_send_hello(self);
    int rc = 0;
    zmq_pollitem_t items[2] = {{self->dealer, 0, ZMQ_POLLIN, 0}, {self->sub, 0, ZMQ_POLLIN, 0}};
    while (!*stop) {
        bool can_step = s_busy(self) < self->credit;
        /* stepping: just look; out of credit: sleep on the sockets until an ack, a timeout or a
         * stop (100 ms bounds the latency of a signal) */
        long timeout_ms = can_step ? 0 : 100;
        if (zmq_poll(items, 2, timeout_ms) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_error("poll: %s", zmq_strerror(zmq_errno()));
            rc = -1;
            break;
        }
        now = clock_now();
        if (items[0].revents & ZMQ_POLLIN) {
            /* drain: acks are small and each frees credit */
            for (int i = 0; i < 64 && (items[0].revents & ZMQ_POLLIN); i++) {
                if (s_on_replay(self, now) != 0) {
                    rc = -1;
                    goto out;
                }
                zmq_poll(items, 1, 0);
            }
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_on_weights(self);
        if (self->sent > 0 && now - self->last_ack > cfg->ack_timeout)
            s_resync(self, now, "no acknowledgement within ack_timeout");
        else if (!self->hello_acked && self->sent == 0 && now - last_hello > cfg->ack_timeout) {
            s_send_hello(self); /* nothing to resend yet, but keep knocking */
            last_hello = now;
        }
        if (s_busy(self) < self->credit)
            s_step(self);
        s_flush(self, now);
        if (now - last_log >= cfg->log_interval) {
            s_progress(self, now - last_log, steps_at_log);
            last_log = now;
            steps_at_log = self->steps;
        }
    }
out:
    log_info("stopping: %" PRIu64 " steps, %" PRIu64 " batches acked, %d unacknowledged dropped", self->steps,
             self->batches_acked, self->sent);
    s_actor_destroy(&self);
    return rc;
}
