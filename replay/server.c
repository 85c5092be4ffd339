/* server: the replay server role. One ROUTER socket; every peer is a DEALER that says Hello first.
 *
 * The loop polls with a short timeout so held items, timers and the stop flag are looked at even
 * when nobody talks. Each wake-up drains a burst of messages without waiting, then serves what the
 * rate limiter now allows from the two held queues (FIFO, so one actor's batches keep their order),
 * then runs the timers. Nothing a peer sends can make the server block or stop: every reply is sent
 * with ZMQ_DONTWAIT, unroutable replies are dropped (ROUTER_MANDATORY off), and every refusal is an
 * Error reply plus a counter by reason. docs/protocol.md describes the flows. */
#include "replay/server.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/metrics_http.h"
#include "env/env.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/wire.h"
#include "replay/rate_limiter.h"
#include "replay/replay_buffer.h"
#include "replay/replay_stats.h"

#define SERVER_MAX_PEERS 1024          /* routing ids remembered; the oldest idle is evicted */
#define SERVER_MAX_ACTORS 1024         /* actor ids with dedup state and counters */
#define SERVER_MAX_HELD_INSERTS 1024   /* batches held by the rate limiter */
#define SERVER_MAX_HELD_SAMPLES 1024   /* sample requests held */
#define SERVER_MAX_HELD_BYTES (1ull << 30)
#define SERVER_RID_MAX 255             /* ZeroMQ routing ids are 1..255 bytes */
#define SERVER_ACTOR_ID_MAX 128
#define SERVER_RECENT_RETURNS 100
#define SERVER_POLL_MS 50              /* the stop flag is seen within this */
#define SERVER_RECV_BURST 256          /* messages taken per wake-up before serving held items */
#define SERVER_SIZE_MARGIN (64 * 1024) /* ZMQ_MAXMSGSIZE above max_message_bytes: we answer too_large */
#define SERVER_ACTIVE_S 10.0           /* an actor heard from this recently is "connected" */
#define SERVER_RATE_PERIOD_S 1.0       /* rates are sampled this often */
#define SERVER_HWM 10000

typedef struct {
    uint8_t rid[SERVER_RID_MAX];
    uint8_t rid_len;
} s_rid_t;

typedef struct {
    s_rid_t rid;
    Mpo__Role role;
    int actor;     /* index into actors, -1 for other roles */
    uint32_t gen;  /* the actor slot's generation when bound: a reused slot is not this actor */
    double last_seen;
} s_peer_t;

typedef struct {
    int used;
    uint32_t gen;
    char id[SERVER_ACTOR_ID_MAX];
    uint64_t last_seq; /* highest seq stored: at or below it is a resend */
    uint64_t transitions, batches, episodes, policy_version;
    double last_seen;
} s_actor_t;

/* a batch waiting for the rate limiter, copied out of its frame */
typedef struct {
    s_rid_t rid;
    int actor;
    uint32_t gen;
    uint64_t seq, policy_version;
    uint32_t n, n_episodes;
    float *data; /* obs | action | reward | done | next_obs | episode returns */
    size_t bytes;
    double since;
} s_held_insert_t;

typedef struct {
    s_rid_t rid;
    uint64_t id;
    uint32_t batch_size;
    double since;
} s_held_sample_t;

typedef struct {
    const config_t *cfg;
    char env[CONFIG_STR_MAX];
    int obs_dim, act_dim;
    void *ctx, *sock;
    replay_buffer_t *buffer;
    rate_limiter_t *limiter;
    rng_t rng;
    double started;

    s_peer_t peers[SERVER_MAX_PEERS];
    size_t n_peers, last_peer;
    s_actor_t actors[SERVER_MAX_ACTORS];

    s_held_insert_t held_inserts[SERVER_MAX_HELD_INSERTS]; /* ring */
    size_t hi_head, hi_count, held_bytes;
    s_held_sample_t held_samples[SERVER_MAX_HELD_SAMPLES]; /* ring */
    size_t hs_head, hs_count;

    /* the sample reply's arrays, grown to the largest batch asked for and reused */
    float *sample_data;
    size_t sample_cap;

    float returns[SERVER_RECENT_RETURNS];
    size_t returns_next, returns_count;

    uint64_t rejected[WIRE_REJECTION_COUNT];
    uint64_t duplicates, resent_held, dropped, episodes, sample_batches;
    uint64_t learner_updates, learner_version;

    /* rate timer */
    double rate_t;
    uint64_t rate_inserts, rate_samples;
    double insert_rate, sample_rate;
    double log_t;
} s_server_t;

static size_t s_transition_floats(const s_server_t *self) { return transition_floats(self->obs_dim, self->act_dim); }

/* ---------------------------------------------------------------- environment */

/* "bench:OBS:ACT" names a synthetic environment of those sizes (mpo bench replay and tests use it
 * so the server can be driven without a real environment); anything else comes from the registry. */
static int s_resolve_env(s_server_t *self, const char *name) {
    snprintf(self->env, sizeof self->env, "%s", name);
    int obs, act;
    char tail;
    if (strncmp(name, "bench:", 6) == 0) {
        if (sscanf(name + 6, "%d:%d%c", &obs, &act, &tail) != 2 || obs < 1 || act < 1 || obs > 1 << 20 ||
            act > 1 << 20) {
            log_error("replay: env '%s': the bench form is bench:OBS:ACT with positive sizes", name);
            return -1;
        }
        self->obs_dim = obs;
        self->act_dim = act;
        return 0;
    }
    const env_ops_t *ops = env_find(name);
    if (!ops) {
        log_error("replay: unknown environment '%s' (`mpo envs` lists them)", name);
        return -1;
    }
    self->obs_dim = ops->spec->obs_dim;
    self->act_dim = ops->spec->act_dim;
    return 0;
}

/* ---------------------------------------------------------------- peers and actors */

static int s_rid_eq(const s_rid_t *a, const void *rid, size_t len) {
    return a->rid_len == len && memcmp(a->rid, rid, len) == 0;
}

static void s_rid_set(s_rid_t *a, const void *rid, size_t len) {
    a->rid_len = (uint8_t)len;
    memcpy(a->rid, rid, len);
}

/* peers[0..n_peers) are in use: a lookup scans only live entries, most recent hit first */
static s_peer_t *s_peer_find(s_server_t *self, const void *rid, size_t len) {
    if (self->last_peer < self->n_peers && s_rid_eq(&self->peers[self->last_peer].rid, rid, len))
        return &self->peers[self->last_peer];
    for (size_t i = 0; i < self->n_peers; i++)
        if (s_rid_eq(&self->peers[i].rid, rid, len)) {
            self->last_peer = i;
            return &self->peers[i];
        }
    return NULL;
}

static s_peer_t *s_peer_add(s_server_t *self, const void *rid, size_t len) {
    s_peer_t *p = s_peer_find(self, rid, len);
    if (p)
        return p;
    if (self->n_peers < SERVER_MAX_PEERS)
        p = &self->peers[self->n_peers++];
    else { /* a full table forgets the peer idle longest: it has to say Hello again */
        p = &self->peers[0];
        for (size_t i = 1; i < SERVER_MAX_PEERS; i++)
            if (self->peers[i].last_seen < p->last_seen)
                p = &self->peers[i];
    }
    memset(p, 0, sizeof *p);
    p->actor = -1;
    s_rid_set(&p->rid, rid, len);
    return p;
}

/* the actor with this id, made if new; its dedup state and counters survive reconnects */
static int s_actor_bind(s_server_t *self, const char *id, double now) {
    int free_slot = -1, oldest = 0;
    for (int i = 0; i < SERVER_MAX_ACTORS; i++) {
        s_actor_t *a = &self->actors[i];
        if (!a->used) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (strncmp(a->id, id, SERVER_ACTOR_ID_MAX - 1) == 0)
            return i;
        if (a->last_seen < self->actors[oldest].last_seen || !self->actors[oldest].used)
            oldest = i;
    }
    int i = free_slot >= 0 ? free_slot : oldest;
    s_actor_t *a = &self->actors[i];
    uint32_t gen = a->gen + 1;
    memset(a, 0, sizeof *a);
    a->used = 1;
    a->gen = gen;
    a->last_seen = now;
    snprintf(a->id, sizeof a->id, "%s", id);
    return i;
}

static s_actor_t *s_peer_actor(s_server_t *self, const s_peer_t *p) {
    if (p->actor < 0)
        return NULL;
    s_actor_t *a = &self->actors[p->actor];
    return a->used && a->gen == p->gen ? a : NULL;
}

/* ---------------------------------------------------------------- replies */

static void s_reject(s_server_t *self, const void *rid, size_t len, wire_rejection_t code, const char *reason,
                     int reply) {
    uint64_t count = ++self->rejected[code];
    /* a flood of bad messages must not become a flood of log lines */
    if (count <= 5 || count % 1000 == 0)
        log_warn("replay: refused a message (%s, %llu so far): %s", wire_rejection_name(code),
                 (unsigned long long)count, reason);
    else
        log_debug("replay: refused a message (%s): %s", wire_rejection_name(code), reason);
    if (reply && wire_send_error(self->sock, rid, len, code, reason) != 0)
        log_debug("replay: error reply not sent: %s", zmq_strerror(errno));
}

static void s_send(s_server_t *self, const s_rid_t *rid, Mpo__Message *msg) {
    /* DONTWAIT: a peer that stopped reading loses replies, it never stalls the server */
    if (wire_send(self->sock, rid->rid, rid->rid_len, msg, ZMQ_DONTWAIT) != 0)
        log_debug("replay: reply not sent: %s", zmq_strerror(errno));
}

static int s_learning_started(const s_server_t *self) {
    return replay_buffer_size(self->buffer) >= (size_t)(self->cfg->learning_starts > 0 ? self->cfg->learning_starts : 1);
}

static void s_send_ack(s_server_t *self, const s_rid_t *rid, uint64_t seq) {
    Mpo__Message msg;
    Mpo__Ack ack;
    wire_init_message(&msg);
    mpo__ack__init(&ack);
    ack.seq = seq;
    ack.size = replay_buffer_size(self->buffer);
    ack.learning_started = s_learning_started(self);
    msg.body_case = MPO__MESSAGE__BODY_ACK;
    msg.ack = &ack;
    s_send(self, rid, &msg);
}

/* ---------------------------------------------------------------- storing and sampling */

static void s_store(s_server_t *self, int actor, uint32_t gen, uint64_t seq, uint64_t policy_version,
                    const transition_batch_t *batch, size_t n_episodes, const float *returns) {
    replay_buffer_insert(self->buffer, batch);
    for (size_t i = 0; i < n_episodes; i++) {
        self->returns[self->returns_next] = returns[i];
        self->returns_next = (self->returns_next + 1) % SERVER_RECENT_RETURNS;
        if (self->returns_count < SERVER_RECENT_RETURNS)
            self->returns_count++;
    }
    self->episodes += n_episodes;
    if (actor < 0)
        return;
    s_actor_t *a = &self->actors[actor];
    if (!a->used || a->gen != gen)
        return; /* evicted while its batch was held: the data counts, the actor's counters are gone */
    a->transitions += (uint64_t)batch->n;
    a->batches++;
    a->episodes += n_episodes;
    a->policy_version = policy_version;
    if (seq > a->last_seq)
        a->last_seq = seq;
}

static int s_serve_sample(s_server_t *self, const s_rid_t *rid, uint64_t request_id, uint32_t n) {
    size_t per = s_transition_floats(self);
    if (n > self->sample_cap) {
        float *grown = realloc(self->sample_data, (size_t)n * per * sizeof(float));
        if (!grown) {
            log_error("replay: no memory for a sample batch of %u", n);
            return -1;
        }
        self->sample_data = grown;
        self->sample_cap = n;
    }
    size_t S = (size_t)self->obs_dim * n, A = (size_t)self->act_dim * n;
    transition_batch_t out = transition_batch_view(self->sample_data, (int)n, self->obs_dim, self->act_dim);
    if (replay_buffer_sample(self->buffer, &self->rng, &out) != 0)
        return -1;
    Mpo__Message msg;
    Mpo__SampleBatch sb;
    wire_init_message(&msg);
    mpo__sample_batch__init(&sb);
    sb.request_id = request_id;
    sb.n = n;
    sb.n_obs = sb.n_next_obs = S;
    sb.n_action = A;
    sb.n_reward = sb.n_done = n;
    sb.obs = out.obs;
    sb.action = out.action;
    sb.reward = out.reward;
    sb.done = out.done;
    sb.next_obs = out.next_obs;
    msg.body_case = MPO__MESSAGE__BODY_SAMPLE_BATCH;
    msg.sample_batch = &sb;
    s_send(self, rid, &msg);
    self->sample_batches++;
    return 0;
}

/* Serve the held queues' heads while the rate limiter lets them through (or they timed out).
 * Alternating the two sides lets one side's progress unblock the other within one call. */
static void s_serve_held(s_server_t *self, double now) {
    int progress = 1;
    while (progress) {
        progress = 0;
        if (self->hi_count) {
            s_held_insert_t *h = &self->held_inserts[self->hi_head];
            rate_limiter_verdict_t v = rate_limiter_admit(self->limiter, RATE_LIMITER_INSERT, h->n,
                                                          replay_buffer_size(self->buffer), h->since, now);
            if (v != RATE_LIMITER_HOLD) {
                transition_batch_t b = transition_batch_view(h->data, (int)h->n, self->obs_dim, self->act_dim);
                s_store(self, h->actor, h->gen, h->seq, h->policy_version, &b, h->n_episodes,
                        h->data + (size_t)h->n * transition_floats(self->obs_dim, self->act_dim));
                s_send_ack(self, &h->rid, h->seq);
                if (v == RATE_LIMITER_TIMEOUT)
                    log_debug("replay: a batch held %.1f s was stored anyway (rate_limit_timeout)", now - h->since);
                self->held_bytes -= h->bytes;
                free(h->data);
                h->data = NULL;
                self->hi_head = (self->hi_head + 1) % SERVER_MAX_HELD_INSERTS;
                self->hi_count--;
                progress = 1;
            }
        }
        if (self->hs_count) {
            s_held_sample_t *h = &self->held_samples[self->hs_head];
            rate_limiter_verdict_t v = rate_limiter_admit(self->limiter, RATE_LIMITER_SAMPLE, h->batch_size,
                                                          replay_buffer_size(self->buffer), h->since, now);
            if (v != RATE_LIMITER_HOLD) {
                s_serve_sample(self, &h->rid, h->id, h->batch_size);
                if (v == RATE_LIMITER_TIMEOUT)
                    log_debug("replay: a sample held %.1f s was served anyway (rate_limit_timeout)", now - h->since);
                self->hs_head = (self->hs_head + 1) % SERVER_MAX_HELD_SAMPLES;
                self->hs_count--;
                progress = 1;
            }
        }
    }
}

/* ---------------------------------------------------------------- message handlers */

static void s_on_hello(s_server_t *self, const void *rid, size_t len, const Mpo__Hello *h, double now) {
    char reason[256];
    wire_rejection_t why = wire_check_hello(h, self->env, self->obs_dim, self->act_dim, reason, sizeof reason);
    if (why != WIRE_OK) {
        s_reject(self, rid, len, why, reason, 1);
        return;
    }
    s_peer_t *p = s_peer_add(self, rid, len);
    p->role = h->role;
    p->last_seen = now;
    p->actor = -1;
    if (h->role == MPO__ROLE__ROLE_ACTOR) {
        char id[SERVER_ACTOR_ID_MAX];
        if (h->id && h->id[0])
            snprintf(id, sizeof id, "%s", h->id);
        else { /* an actor without an id is known by its connection */
            int o = snprintf(id, sizeof id, "peer-");
            for (size_t i = 0; i < len && o < (int)sizeof id - 3; i++)
                o += snprintf(id + o, sizeof id - o, "%02x", ((const uint8_t *)rid)[i]);
        }
        p->actor = s_actor_bind(self, id, now);
        p->gen = self->actors[p->actor].gen;
        self->actors[p->actor].last_seen = now;
        log_debug("replay: hello from actor %s (seq so far %llu)", id,
                  (unsigned long long)self->actors[p->actor].last_seq);
    }
    s_rid_t r;
    s_rid_set(&r, rid, len);
    s_send_ack(self, &r, 0);
}

static s_held_insert_t *s_held_insert_find(s_server_t *self, int actor, uint32_t gen, uint64_t seq) {
    for (size_t k = 0; k < self->hi_count; k++) {
        s_held_insert_t *h = &self->held_inserts[(self->hi_head + k) % SERVER_MAX_HELD_INSERTS];
        if (h->actor == actor && h->gen == gen && h->seq == seq)
            return h;
    }
    return NULL;
}

static void s_hold_insert(s_server_t *self, const s_rid_t *rid, int actor, uint32_t gen, const Mpo__TransitionBatch *b,
                          double now) {
    size_t floats = (size_t)b->n * s_transition_floats(self) + b->n_episodes;
    size_t bytes = floats * sizeof(float);
    if (self->hi_count == SERVER_MAX_HELD_INSERTS || self->held_bytes + bytes > SERVER_MAX_HELD_BYTES) {
        /* no ack: the actor resends after its ack_timeout, by which time there may be room */
        self->dropped++;
        log_debug("replay: held-insert queue full, batch %llu not taken", (unsigned long long)b->seq);
        return;
    }
    float *d = malloc(bytes ? bytes : sizeof(float));
    if (!d) {
        self->dropped++;
        return;
    }
    size_t S = (size_t)self->obs_dim * b->n, A = (size_t)self->act_dim * b->n, o = 0;
    memcpy(d + o, b->obs, S * sizeof(float)), o += S;
    memcpy(d + o, b->action, A * sizeof(float)), o += A;
    memcpy(d + o, b->reward, b->n * sizeof(float)), o += b->n;
    memcpy(d + o, b->done, b->n * sizeof(float)), o += b->n;
    memcpy(d + o, b->next_obs, S * sizeof(float)), o += S;
    for (size_t i = 0; i < b->n_episodes; i++)
        d[o + i] = b->episodes[i]->episode_return;
    s_held_insert_t *h = &self->held_inserts[(self->hi_head + self->hi_count) % SERVER_MAX_HELD_INSERTS];
    h->rid = *rid;
    h->actor = actor;
    h->gen = gen;
    h->seq = b->seq;
    h->policy_version = b->policy_version;
    h->n = b->n;
    h->n_episodes = (uint32_t)b->n_episodes;
    h->data = d;
    h->bytes = bytes;
    h->since = now;
    self->hi_count++;
    self->held_bytes += bytes;
}

static void s_on_transitions(s_server_t *self, const void *rid, size_t len, const Mpo__TransitionBatch *b,
                             double now) {
    char reason[256];
    s_peer_t *p = s_peer_find(self, rid, len);
    if (!p) {
        s_reject(self, rid, len, WIRE_NO_HELLO, "transitions before a Hello", 1);
        return;
    }
    p->last_seen = now;
    if (p->role != MPO__ROLE__ROLE_ACTOR) {
        snprintf(reason, sizeof reason, "transitions from a peer that said Hello as role %d, not an actor",
                 (int)p->role);
        s_reject(self, rid, len, WIRE_UNEXPECTED, reason, 1);
        return;
    }
    s_actor_t *a = s_peer_actor(self, p);
    if (!a) { /* its actor entry was evicted for a newer actor: it must introduce itself again */
        s_reject(self, rid, len, WIRE_NO_HELLO, "actor state forgotten (too many actors); say Hello again", 1);
        return;
    }
    wire_rejection_t why = wire_check_transitions(b, self->obs_dim, self->act_dim, reason, sizeof reason);
    if (why == WIRE_OK && b->seq == 0) {
        why = WIRE_BAD_VALUE;
        snprintf(reason, sizeof reason, "batch seq 0 (seqs start at 1)");
    }
    if (why != WIRE_OK) {
        s_reject(self, rid, len, why, reason, 1);
        return;
    }
    a->last_seen = now;
    s_rid_t r;
    s_rid_set(&r, rid, len);
    if (b->seq <= a->last_seq) { /* a resend of a stored batch: its ack was lost */
        self->duplicates++;
        s_send_ack(self, &r, b->seq);
        return;
    }
    s_held_insert_t *held = s_held_insert_find(self, p->actor, p->gen, b->seq);
    if (held) { /* still held: it is acked when stored, to the newest connection of that actor */
        self->resent_held++;
        held->rid = r;
        return;
    }
    size_t size = replay_buffer_size(self->buffer);
    if (self->hi_count == 0 &&
        rate_limiter_admit(self->limiter, RATE_LIMITER_INSERT, b->n, size, now, now) != RATE_LIMITER_HOLD) {
        /* the common case: straight from the decoded frame into the ring */
        transition_batch_t tb = {
            .obs = b->obs, .action = b->action, .reward = b->reward, .done = b->done, .next_obs = b->next_obs,
            .n = (int)b->n};
        float stack_returns[64];
        float *returns = b->n_episodes <= 64 ? stack_returns : malloc(b->n_episodes * sizeof(float));
        size_t n_ep = returns ? b->n_episodes : 0;
        for (size_t i = 0; i < n_ep; i++)
            returns[i] = b->episodes[i]->episode_return;
        s_store(self, p->actor, p->gen, b->seq, b->policy_version, &tb, n_ep, returns);
        if (returns != stack_returns)
            free(returns);
        s_send_ack(self, &r, b->seq);
        return;
    }
    s_hold_insert(self, &r, p->actor, p->gen, b, now);
}

static void s_on_sample_request(s_server_t *self, const void *rid, size_t len, const Mpo__SampleRequest *q,
                                double now) {
    char reason[256];
    s_peer_t *p = s_peer_find(self, rid, len);
    if (!p) {
        s_reject(self, rid, len, WIRE_NO_HELLO, "sample request before a Hello", 1);
        return;
    }
    p->last_seen = now;
    if (p->role != MPO__ROLE__ROLE_LEARNER) {
        snprintf(reason, sizeof reason, "sample request from a peer that said Hello as role %d, not a learner",
                 (int)p->role);
        s_reject(self, rid, len, WIRE_UNEXPECTED, reason, 1);
        return;
    }
    if (q->batch_size < 1 || q->batch_size > WIRE_MAX_BATCH) {
        snprintf(reason, sizeof reason, "batch_size %u (allowed 1..%d)", q->batch_size, WIRE_MAX_BATCH);
        s_reject(self, rid, len, WIRE_BAD_VALUE, reason, 1);
        return;
    }
    self->learner_version = q->policy_version;
    self->learner_updates = q->updates;
    s_rid_t r;
    s_rid_set(&r, rid, len);
    if (self->hs_count == 0 &&
        rate_limiter_admit(self->limiter, RATE_LIMITER_SAMPLE, q->batch_size, replay_buffer_size(self->buffer), now,
                           now) != RATE_LIMITER_HOLD) {
        s_serve_sample(self, &r, q->id, q->batch_size);
        return;
    }
    if (self->hs_count == SERVER_MAX_HELD_SAMPLES) {
        self->dropped++;
        log_debug("replay: held-sample queue full, request %llu not taken", (unsigned long long)q->id);
        return;
    }
    s_held_sample_t *h = &self->held_samples[(self->hs_head + self->hs_count) % SERVER_MAX_HELD_SAMPLES];
    h->rid = r;
    h->id = q->id;
    h->batch_size = q->batch_size;
    h->since = now;
    self->hs_count++;
}

/* ---------------------------------------------------------------- stats */

static void s_fill_stats(const s_server_t *self, double now, double *v) {
    uint64_t samples = rate_limiter_samples(self->limiter);
    v[REPLAY_STAT_size] = (double)replay_buffer_size(self->buffer);
    v[REPLAY_STAT_capacity] = (double)replay_buffer_capacity(self->buffer);
    v[REPLAY_STAT_inserts_total] = (double)replay_buffer_inserted(self->buffer);
    v[REPLAY_STAT_samples_total] = (double)samples;
    v[REPLAY_STAT_sample_batches_total] = (double)self->sample_batches;
    v[REPLAY_STAT_insert_rate] = self->insert_rate;
    v[REPLAY_STAT_sample_rate] = self->sample_rate;
    v[REPLAY_STAT_samples_per_insert_actual] = self->insert_rate > 0 ? self->sample_rate / self->insert_rate : 0;
    v[REPLAY_STAT_samples_per_insert_target] = rate_limiter_spi(self->limiter);
    v[REPLAY_STAT_actors_held_seconds_total] = rate_limiter_held_seconds(self->limiter, RATE_LIMITER_INSERT);
    v[REPLAY_STAT_learner_held_seconds_total] = rate_limiter_held_seconds(self->limiter, RATE_LIMITER_SAMPLE);
    v[REPLAY_STAT_limiter_timeouts_total] = (double)rate_limiter_timeouts(self->limiter);
    v[REPLAY_STAT_pending_inserts] = (double)self->hi_count;
    v[REPLAY_STAT_pending_samples] = (double)self->hs_count;
    v[REPLAY_STAT_dropped_total] = (double)self->dropped;
    v[REPLAY_STAT_duplicates_total] = (double)self->duplicates;
    v[REPLAY_STAT_resent_held_total] = (double)self->resent_held;
    int connected = 0;
    for (int i = 0; i < SERVER_MAX_ACTORS; i++)
        if (self->actors[i].used && now - self->actors[i].last_seen < SERVER_ACTIVE_S)
            connected++;
    v[REPLAY_STAT_actors_connected] = connected;
    v[REPLAY_STAT_episodes_total] = (double)self->episodes;
    v[REPLAY_STAT_learner_updates] = (double)self->learner_updates;
    v[REPLAY_STAT_learner_policy_version] = (double)self->learner_version;
    uint64_t rejected = 0;
    for (int i = 1; i < WIRE_REJECTION_COUNT; i++)
        rejected += self->rejected[i];
    v[REPLAY_STAT_rejected_total] = (double)rejected;
    v[REPLAY_STAT_memory_bytes] = (double)(replay_buffer_bytes(self->buffer) + self->held_bytes +
                                           self->sample_cap * s_transition_floats(self) * sizeof(float));
    v[REPLAY_STAT_uptime_seconds] = now - self->started;
    v[REPLAY_STAT_learning_started] = s_learning_started(self);
}

/* /metrics: the same figures as a StatsReply (the stats table, rejections by reason, per actor),
 * rendered on this loop's thread by metrics_http_poll */
static void s_render_metrics(void *ctx, metrics_http_buf_t *b) {
    const s_server_t *self = ctx;
    double now = clock_now(), v[REPLAY_STAT_COUNT];
    s_fill_stats(self, now, v);
    const replay_stat_info_t *t = replay_stats_table(NULL);
    char name[128];
    for (int i = 0; i < REPLAY_STAT_COUNT; i++) {
        snprintf(name, sizeof name, "mpo_replay_%s", t[i].name);
        metrics_http_family(b, name, t[i].type, t[i].help);
        metrics_http_sample(b, name, NULL, 0, v[i]);
    }
    metrics_http_family(b, "mpo_replay_rejected_by_reason_total", "counter", "messages refused, by reason");
    for (int i = 1; i < WIRE_REJECTION_COUNT; i++) {
        metrics_http_label_t l = {"reason", wire_rejection_name((wire_rejection_t)i)};
        metrics_http_sample(b, "mpo_replay_rejected_by_reason_total", &l, 1, (double)self->rejected[i]);
    }
    static const struct {
        const char *name, *type, *help;
    } actor_series[] = {
        {"mpo_replay_actor_transitions_total", "counter", "transitions stored from this actor"},
        {"mpo_replay_actor_episodes_total", "counter", "episodes this actor finished"},
        {"mpo_replay_actor_policy_version", "gauge", "weights version of this actor's last batch"},
        {"mpo_replay_actor_version_lag", "gauge", "learner's newest weights version minus the actor's"},
        {"mpo_replay_actor_last_seen_seconds", "gauge", "seconds since this actor's last message"},
    };
    for (size_t k = 0; k < sizeof actor_series / sizeof actor_series[0]; k++) {
        metrics_http_family(b, actor_series[k].name, actor_series[k].type, actor_series[k].help);
        for (int i = 0; i < SERVER_MAX_ACTORS; i++) {
            const s_actor_t *a = &self->actors[i];
            if (!a->used)
                continue;
            double values[] = {(double)a->transitions, (double)a->episodes, (double)a->policy_version,
                               (double)self->learner_version - (double)a->policy_version, now - a->last_seen};
            metrics_http_label_t l = {"actor", a->id};
            metrics_http_sample(b, actor_series[k].name, &l, 1, values[k]);
        }
    }
}

static void s_on_stats_request(s_server_t *self, const void *rid, size_t len, double now) {
    double v[REPLAY_STAT_COUNT];
    s_fill_stats(self, now, v);
    const replay_stat_info_t *table = replay_stats_table(NULL);

    Mpo__Stat stats[REPLAY_STAT_COUNT], *stat_p[REPLAY_STAT_COUNT];
    for (int i = 0; i < REPLAY_STAT_COUNT; i++) {
        mpo__stat__init(&stats[i]);
        stats[i].name = (char *)table[i].name;
        stats[i].value = v[i];
        stat_p[i] = &stats[i];
    }
    /* not the hot path: a stats request may allocate */
    Mpo__ActorStat *actors = calloc(SERVER_MAX_ACTORS, sizeof *actors);
    Mpo__ActorStat **actor_p = calloc(SERVER_MAX_ACTORS, sizeof *actor_p);
    size_t n_actors = 0;
    if (actors && actor_p)
        for (int i = 0; i < SERVER_MAX_ACTORS; i++) {
            const s_actor_t *a = &self->actors[i];
            if (!a->used)
                continue;
            Mpo__ActorStat *s = &actors[n_actors];
            mpo__actor_stat__init(s);
            s->id = (char *)a->id;
            s->transitions = a->transitions;
            s->batches = a->batches;
            s->policy_version = a->policy_version;
            s->version_lag = (int64_t)self->learner_version - (int64_t)a->policy_version;
            s->last_seen_s = now - a->last_seen;
            s->episodes = a->episodes;
            actor_p[n_actors++] = s;
        }
    float returns[SERVER_RECENT_RETURNS];
    size_t first = (self->returns_next + SERVER_RECENT_RETURNS - self->returns_count) % SERVER_RECENT_RETURNS;
    for (size_t i = 0; i < self->returns_count; i++) /* oldest first, newest last */
        returns[i] = self->returns[(first + i) % SERVER_RECENT_RETURNS];
    Mpo__Rejection rej[WIRE_REJECTION_COUNT], *rej_p[WIRE_REJECTION_COUNT];
    size_t n_rej = 0;
    for (int i = 1; i < WIRE_REJECTION_COUNT; i++) {
        mpo__rejection__init(&rej[n_rej]);
        rej[n_rej].reason = (char *)wire_rejection_name((wire_rejection_t)i);
        rej[n_rej].count = self->rejected[i];
        rej_p[n_rej] = &rej[n_rej];
        n_rej++;
    }
    Mpo__StatsReply reply;
    mpo__stats_reply__init(&reply);
    reply.n_stats = REPLAY_STAT_COUNT;
    reply.stats = stat_p;
    reply.n_actors = n_actors;
    reply.actors = actor_p;
    reply.n_recent_returns = self->returns_count;
    reply.recent_returns = returns;
    reply.n_rejected = n_rej;
    reply.rejected = rej_p;
    reply.env = self->env;
    Mpo__Message msg;
    wire_init_message(&msg);
    msg.body_case = MPO__MESSAGE__BODY_STATS_REPLY;
    msg.stats_reply = &reply;
    s_rid_t r;
    s_rid_set(&r, rid, len);
    s_send(self, &r, &msg);
    free(actors);
    free(actor_p);
}

static void s_timers(s_server_t *self, double now) {
    if (now - self->rate_t >= SERVER_RATE_PERIOD_S) {
        double dt = now - self->rate_t;
        uint64_t ins = replay_buffer_inserted(self->buffer), smp = rate_limiter_samples(self->limiter);
        self->insert_rate = (double)(ins - self->rate_inserts) / dt;
        self->sample_rate = (double)(smp - self->rate_samples) / dt;
        self->rate_inserts = ins;
        self->rate_samples = smp;
        self->rate_t = now;
    }
    if (now - self->log_t >= self->cfg->stats_interval) {
        self->log_t = now;
        double v[REPLAY_STAT_COUNT];
        s_fill_stats(self, now, v);
        log_info("replay: size %.0f/%.0f  insert %.0f/s  sample %.0f/s  spi %.2f (target %g)  actors %.0f  "
                 "held %.0f ins %.0f smp  timeouts %.0f  dup %.0f  rejected %.0f",
                 v[REPLAY_STAT_size], v[REPLAY_STAT_capacity], v[REPLAY_STAT_insert_rate], v[REPLAY_STAT_sample_rate],
                 v[REPLAY_STAT_samples_per_insert_actual], v[REPLAY_STAT_samples_per_insert_target],
                 v[REPLAY_STAT_actors_connected], v[REPLAY_STAT_pending_inserts], v[REPLAY_STAT_pending_samples],
                 v[REPLAY_STAT_limiter_timeouts_total], v[REPLAY_STAT_duplicates_total], v[REPLAY_STAT_rejected_total]);
    }
}

/* ---------------------------------------------------------------- receive */

/* Take one message (routing id + frames) without waiting. -1 when there was none. */
static int s_recv_one(s_server_t *self, zmq_msg_t *id, zmq_msg_t *body) {
    if (zmq_msg_recv(id, self->sock, ZMQ_DONTWAIT) < 0)
        return -1;
    const void *rid = zmq_msg_data(id);
    size_t rlen = zmq_msg_size(id);
    double now = clock_now();
    if (!zmq_msg_more(id) || rlen == 0 || rlen > SERVER_RID_MAX) {
        s_reject(self, rid, rlen, WIRE_MALFORMED, "a message without a body frame", 0);
        return 0;
    }
    /* the rest of a multi-part message is already here: ZeroMQ delivers them atomically */
    if (zmq_msg_recv(body, self->sock, ZMQ_DONTWAIT) < 0)
        return 0;
    int frames = 1;
    while (zmq_msg_more(body)) {
        zmq_msg_close(body);
        zmq_msg_init(body);
        if (zmq_msg_recv(body, self->sock, ZMQ_DONTWAIT) < 0)
            break;
        frames++;
    }
    char reason[256];
    if (frames != 1) {
        snprintf(reason, sizeof reason, "a message of %d frames (every message is exactly one frame)", frames);
        s_reject(self, rid, rlen, WIRE_MALFORMED, reason, 1);
        return 0;
    }
    size_t len = zmq_msg_size(body);
    if (len > (size_t)self->cfg->max_message_bytes) {
        snprintf(reason, sizeof reason, "a %zu-byte message (max_message_bytes %lld)", len,
                 self->cfg->max_message_bytes);
        s_reject(self, rid, rlen, WIRE_TOO_LARGE, reason, 1);
        return 0;
    }
    wire_rejection_t why;
    Mpo__Message *msg = wire_decode(zmq_msg_data(body), len, &why, reason, sizeof reason);
    if (!msg) {
        s_reject(self, rid, rlen, why, reason, 1);
        return 0;
    }
    switch (msg->body_case) {
    case MPO__MESSAGE__BODY_HELLO:
        s_on_hello(self, rid, rlen, msg->hello, now);
        break;
    case MPO__MESSAGE__BODY_TRANSITIONS:
        s_on_transitions(self, rid, rlen, msg->transitions, now);
        break;
    case MPO__MESSAGE__BODY_SAMPLE_REQUEST:
        s_on_sample_request(self, rid, rlen, msg->sample_request, now);
        break;
    case MPO__MESSAGE__BODY_STATS_REQUEST:
        /* read-only, so a Hello is welcome but not required */
        s_on_stats_request(self, rid, rlen, now);
        break;
    case MPO__MESSAGE__BODY_ERROR:
        /* counted, never answered: two sides answering each other's errors would loop forever */
        snprintf(reason, sizeof reason, "an Error message (code %d: %.120s)", (int)msg->error->code,
                 msg->error->reason ? msg->error->reason : "");
        s_reject(self, rid, rlen, WIRE_UNEXPECTED, reason, 0);
        break;
    default:
        snprintf(reason, sizeof reason, "a message of body type %d, which the replay server does not take",
                 (int)msg->body_case);
        s_reject(self, rid, rlen, WIRE_UNEXPECTED, reason, 1);
        break;
    }
    wire_free(msg);
    return 0;
}

/* ---------------------------------------------------------------- life cycle */

static void s_destroy(s_server_t **self_p) {
    s_server_t *self = *self_p;
    if (!self)
        return;
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    while (self->hi_count) {
        free(self->held_inserts[self->hi_head].data);
        self->hi_head = (self->hi_head + 1) % SERVER_MAX_HELD_INSERTS;
        self->hi_count--;
    }
    replay_buffer_destroy(&self->buffer);
    rate_limiter_destroy(&self->limiter);
    free(self->sample_data);
    free(self);
    *self_p = NULL;
}

static s_server_t *s_new(const config_t *cfg) {
    s_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        log_error("replay: out of memory");
        return NULL;
    }
    self->cfg = cfg;
    if (s_resolve_env(self, cfg->env) != 0)
        goto fail;
    char err[512];
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
        goto fail;
    }
    self->buffer = replay_buffer_new((size_t)cfg->buffer_size, self->obs_dim, self->act_dim);
    if (!self->buffer) {
        log_error("replay: no memory for %lld transitions of obs %d act %d", cfg->buffer_size, self->obs_dim,
                  self->act_dim);
        goto fail;
    }
    rng_seed(&self->rng, (uint64_t)cfg->seed ^ 0x5245504c4159ull); /* "REPLAY": its own stream */
    self->ctx = zmq_ctx_new();
    self->sock = self->ctx ? zmq_socket(self->ctx, ZMQ_ROUTER) : NULL;
    if (!self->sock) {
        log_error("replay: cannot make a socket: %s", zmq_strerror(errno));
        goto fail;
    }
    int zero = 0, hwm = SERVER_HWM;
    /* zmq drops (and disconnects) peers above this; between max_message_bytes and it we answer too_large */
    int64_t maxmsg = (int64_t)cfg->max_message_bytes + SERVER_SIZE_MARGIN;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->sock, ZMQ_ROUTER_MANDATORY, &zero, sizeof zero);
    zmq_setsockopt(self->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind(self->sock, cfg->replay_bind) != 0) {
        log_error("replay: cannot bind %s: %s", cfg->replay_bind, zmq_strerror(errno));
        goto fail;
    }
    self->started = self->rate_t = self->log_t = clock_now();
    return self;
fail:
    s_destroy(&self);
    return NULL;
}

int replay_server_run(const config_t *cfg, volatile int *stop) {
    s_server_t *self = s_new(cfg);
    if (!self)
        return -1;
    log_info("replay: serving %s (obs %d, act %d) on %s: capacity %lld, learning_starts %lld, "
             "samples_per_insert %g (window %g..%g)",
             self->env, self->obs_dim, self->act_dim, cfg->replay_bind, cfg->buffer_size, cfg->learning_starts,
             rate_limiter_spi(self->limiter), rate_limiter_min_diff(self->limiter),
             rate_limiter_max_diff(self->limiter));
    int rc = 0;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    char err[256];
    metrics_http_t *metrics = metrics_http_new((int)cfg->metrics_port, s_render_metrics, self, err, sizeof err);
    if (!metrics && err[0]) {
        log_error("replay: %s", err);
        s_destroy(&self);
        return -1;
    }
    if (metrics)
        log_info("replay: metrics on http://*:%d/metrics", metrics_http_port(metrics));
    zmq_pollitem_t item = {.socket = self->sock, .events = ZMQ_POLLIN};
    while (!*stop) {
        int n = zmq_poll(&item, 1, SERVER_POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition looks at the flag */
            log_error("replay: poll failed: %s", zmq_strerror(errno));
            rc = -1;
            break;
        }
        for (int i = 0; n > 0 && i < SERVER_RECV_BURST && !*stop; i++)
            if (s_recv_one(self, &id, &body) != 0)
                break;
        double now = clock_now();
        s_serve_held(self, now);
        s_timers(self, now);
        metrics_http_poll(metrics);
    }
    metrics_http_destroy(&metrics);
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    log_info("replay: stopping with %zu transitions held, %llu stored in all",
             replay_buffer_size(self->buffer), (unsigned long long)replay_buffer_inserted(self->buffer));
    s_destroy(&self);
    return rc;
}
