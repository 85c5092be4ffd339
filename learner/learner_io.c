#include "learner/learner_io.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/curve.h"
#include "common/error.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/wire.h"
#include "common/zap.h"
#include "learner/batch_queue.h"
#include "learner/learner_stats.h"
#include "learner/weights_watch.h"

#define STATS_PERIOD_S 1.0 /* the stats list rides on a SampleRequest at most this often */
#define DEALER_HWM 1000
#define PUB_HWM 4          /* a slow subscriber gets fewer weights, never a queue of stale ones */
/* The largest frame the weights PUB takes in: an actor sends one subscription (to "", one byte), and
 * under CURVE its handshake (a few hundred bytes). ZeroMQ keeps every subscription of a connection
 * in a trie with a node per byte of the prefix, 10-15 bytes of memory per byte sent: fuzz/net.c's
 * frames of 64-256 KiB took the learner from 13 MiB to 7.5 GiB. A larger frame closes its connection
 * before ZeroMQ allocates it. */
#define PUB_MAX_IN 4096
#define POLL_MS 100        /* the stop flag and the silence timer are looked at this often */
#define RECV_BURST 16      /* messages taken per wake-up before looking at weights again */

/* One slot's memory: a decoder whose arena holds the message until the slot is filled again
 * (common/wire.h: it grows to the largest message once, bounded by max_message_bytes) */
typedef struct {
    wire_decoder_t *dec;
    transition_batch_t batch;
} s_slot_t;

struct learner_io_s {
    const config_t *cfg;
    env_spec_t spec;
    char id[96];
    size_t weights_floats;
    void *ctx, *dealer, *pub; /* pub: an XPUB, so that subscriptions can be counted */
    weights_watch_t watch;    /* its subscriptions (the I/O thread's) */
    void *monitor; /* the DEALER's refused handshakes */
    zap_t *zap;    /* with CURVE: which actors may subscribe */
    int curve_on;
    int efd; /* eventfd: the update loop wakes the thread */
    batch_queue_t *queue;
    s_slot_t *slots;
    int n_slots;
    pthread_t thread;
    int started, joined;
    atomic_int stop, failed;
    atomic_int blocked; /* the thread found no free slot and waits to be woken */

    /* the I/O thread's own */
    int cur;             /* the acquired slot the next message goes into; -1 none */
    uint64_t *in_flight; /* ids of the current request set, 0 for an answered one */
    int n_in_flight;
    uint64_t next_id, failed_handshakes;
    double last_recv, stats_sent;
    float *w_send;

    /* shared, under mu */
    pthread_mutex_t mu;
    double stats[LEARNER_STAT_COUNT]; /* from the update loop */
    float *w_shared;
    uint64_t w_version, w_step;
    int w_pending;
    uint64_t stale, rejected, reissues, publications, foreign_subscriptions, pub_resets;
    double sample_wait;
    learner_io_progress_t progress; /* where training stands, from the newest SampleBatch */
};

static void s_wake(learner_io_t *self) {
    uint64_t one = 1;
    ssize_t rc = write(self->efd, &one, sizeof one);
    (void)rc; /* only EAGAIN, at a counter near 2^64: the thread is awake then anyway */
}

static int s_open_sockets(learner_io_t *self, char *err, size_t errlen) {
    const config_t *cfg = self->cfg;
    const sock_opt_t dealer_opts[] = {
        {ZMQ_LINGER, 0, NULL},
        {ZMQ_MAXMSGSIZE, cfg->max_message_bytes, NULL},
        {ZMQ_SNDHWM, DEALER_HWM, NULL},
        {ZMQ_RCVHWM, DEALER_HWM, NULL},
        SOCK_OPTS_END,
    };
    const sock_opt_t pub_opts[] = {
        {ZMQ_LINGER, 0, NULL},
        {ZMQ_SNDHWM, PUB_HWM, NULL},
        {ZMQ_MAXMSGSIZE, PUB_MAX_IN, NULL},
        {ZMQ_XPUB_VERBOSE, 1, NULL}, /* every subscription is seen, a repeated one too */
        SOCK_OPTS_END,
    };
    /* the DEALER is a CURVE client of the replay server, the PUB a CURVE server to the actors */
    curve_t curve;
    char why[512];
    int rc = curve_from_config(&curve, cfg, CURVE_SERVER | CURVE_TO_REPLAY, why, sizeof why);
    if (rc != 0) {
        snprintf(err, errlen, "learner: %s", why);
        return rc;
    }
    curve_warn_plain(&curve, "learner", cfg->weights_bind, "can read the policy's weights");
    rc = -MPO_ESOCKET;
    sock_opt_t curve_opts[CURVE_OPTS_MAX], all[SOCK_OPTS_MAX];
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, errlen, "learner: cannot make a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    self->curve_on = curve.on;
    self->dealer = sock_open(self->ctx, ZMQ_DEALER, "learner: DEALER to the replay",
                             sock_opts_join(all, SOCK_OPTS_MAX, dealer_opts,
                                            curve_client_opts(&curve, curve.replay_key, curve_opts)),
                             NULL, NULL, err, errlen);
    /* watched before it connects: a refused handshake is said, not waited on in silence */
    if (!self->dealer || !(self->monitor = sock_watch(self->ctx, self->dealer, "learner: DEALER to the replay",
                                                      "inproc://learner-dealer-monitor", CURVE_CLIENT_EVENTS,
                                                      cfg->replay_endpoint, err, errlen)))
        goto done;
    /* the ZAP handler is bound before the PUB: a CURVE server without one lets everyone in */
    if (curve.on && !(self->zap = zap_new(self->ctx, "learner", &curve, err, errlen)))
        goto done;
    self->pub = sock_open(self->ctx, ZMQ_XPUB, "learner: weights PUB",
                          sock_opts_join(all, SOCK_OPTS_MAX, pub_opts, curve_server_opts(&curve, curve_opts)),
                          cfg->weights_bind, NULL, err, errlen);
    if (self->pub)
        weights_watch_init(&self->watch, self->pub, cfg->weights_bind);
    if (self->pub && (!self->zap || zap_start(self->zap, self->pub, err, errlen) == 0))
        rc = 0;
done:
    explicit_bzero(&curve, sizeof curve);
    return rc;
}

learner_io_t *learner_io_new(const config_t *cfg, const env_spec_t *spec, const char *id, size_t weights_floats,
                             char *err, size_t errlen) {
    learner_io_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "learner: out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->spec = *spec;
    snprintf(self->id, sizeof self->id, "%s", id);
    self->weights_floats = weights_floats;
    self->efd = -1;
    self->cur = -1;
    self->next_id = 1;
    self->stats_sent = -STATS_PERIOD_S; /* the first request carries them */
    int mu = pthread_mutex_init(&self->mu, NULL);
    if (mu != 0) {
        snprintf(err, errlen, "learner: %s", strerror(mu));
        free(self);
        return NULL;
    }
    self->in_flight = calloc((size_t)cfg->sample_prefetch, sizeof(uint64_t));
    self->w_send = malloc(weights_floats * sizeof(float) + 1);
    self->w_shared = malloc(weights_floats * sizeof(float) + 1);
    self->n_slots = (int)(cfg->sample_prefetch < LEARNER_IO_MAX_REFILL ? cfg->sample_prefetch : LEARNER_IO_MAX_REFILL) + 2;
    self->slots = calloc((size_t)self->n_slots, sizeof *self->slots);
    int oom = !self->in_flight || !self->w_send || !self->w_shared || !self->slots;
    for (int i = 0; self->slots && i < self->n_slots; i++) {
        s_slot_t *s = &self->slots[i];
        s->dec = wire_decoder_new((size_t)cfg->max_message_bytes);
        oom |= !s->dec;
    }
    if (oom)
        snprintf(err, errlen, "learner: out of memory");
    self->queue = oom ? NULL : batch_queue_new(self->n_slots, err, errlen);
    if (self->queue) {
        self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (self->efd < 0)
            snprintf(err, errlen, "learner: eventfd: %s", strerror(errno));
    }
    if (self->efd < 0 || s_open_sockets(self, err, errlen) != 0) {
        learner_io_destroy(&self);
        return NULL;
    }
    return self;
}

static int s_send_hello(learner_io_t *self) {
    return wire_send_hello(self->dealer, MPO__ROLE__ROLE_LEARNER, self->spec.name, self->spec.obs_dim,
                           self->spec.act_dim, self->id, 0);
}

/* the I/O thread's figures into values (under mu) */
static void s_own_stats(const learner_io_t *self, double *v) {
    v[LEARNER_STAT_sample_wait_seconds_total] = self->sample_wait;
    v[LEARNER_STAT_publications_total] = (double)self->publications;
    v[LEARNER_STAT_stale_batches_total] = (double)self->stale;
    v[LEARNER_STAT_rejected_total] = (double)self->rejected;
    v[LEARNER_STAT_reissues_total] = (double)self->reissues;
    v[LEARNER_STAT_curve_refused_total] = (double)zap_refused(self->zap);
    v[LEARNER_STAT_foreign_subscriptions_total] = (double)self->foreign_subscriptions;
    v[LEARNER_STAT_weights_socket_resets_total] = (double)self->pub_resets;
}

static uint64_t s_request(learner_io_t *self) {
    Mpo__Message msg;
    Mpo__SampleRequest req;
    Mpo__Stat stats[LEARNER_STAT_COUNT];
    Mpo__Stat *ptrs[LEARNER_STAT_COUNT];
    double v[LEARNER_STAT_COUNT];
    wire_init_message(&msg);
    mpo__sample_request__init(&req);
    req.id = self->next_id++;
    req.batch_size = (uint32_t)self->cfg->batch_size;
    double now = clock_now();
    int with_stats = now - self->stats_sent >= STATS_PERIOD_S;
    pthread_mutex_lock(&self->mu);
    req.policy_version = (uint64_t)self->stats[LEARNER_STAT_weights_version];
    req.updates = (uint64_t)self->stats[LEARNER_STAT_updates_total];
    if (with_stats) {
        memcpy(v, self->stats, sizeof v);
        s_own_stats(self, v);
    }
    pthread_mutex_unlock(&self->mu);
    if (with_stats) {
        v[LEARNER_STAT_batches_ready] = batch_queue_ready(self->queue);
        req.n_stats = learner_stats_to_wire(stats, ptrs, v);
        req.stats = ptrs;
        self->stats_sent = now;
    }
    msg.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
    msg.sample_request = &req;
    if (wire_send(self->dealer, NULL, 0, &msg, ZMQ_DONTWAIT) != 0)
        return 0; /* HWM: counted as in flight anyway; the timeout reissues it */
    return req.id;
}

/* a fresh set of sample_prefetch requests (start, and after a silence or a no_hello) */
static void s_reissue(learner_io_t *self) {
    s_send_hello(self);
    for (int i = 0; i < self->cfg->sample_prefetch; i++)
        self->in_flight[i] = s_request(self);
    self->n_in_flight = (int)self->cfg->sample_prefetch;
}

static void s_count(learner_io_t *self, uint64_t *counter) {
    pthread_mutex_lock(&self->mu);
    (*counter)++;
    pthread_mutex_unlock(&self->mu);
}

/* Send the weights handed over since the last call, if any. */
static void s_send_weights(learner_io_t *self) {
    pthread_mutex_lock(&self->mu);
    int pending = self->w_pending;
    uint64_t version = self->w_version, step = self->w_step;
    if (pending)
        memcpy(self->w_send, self->w_shared, self->weights_floats * sizeof(float));
    self->w_pending = 0;
    pthread_mutex_unlock(&self->mu);
    if (!pending)
        return;
    const config_t *cfg = self->cfg;
    Mpo__Message msg;
    Mpo__PolicyWeights w;
    Mpo__PolicyLayout l;
    wire_init_message(&msg);
    mpo__policy_weights__init(&w);
    mpo__policy_layout__init(&l);
    l.obs_dim = (uint32_t)self->spec.obs_dim;
    l.act_dim = (uint32_t)self->spec.act_dim;
    l.hidden = (uint32_t)cfg->hidden;
    l.layers = (uint32_t)cfg->layers;
    l.policy = (char *)cfg->policy;
    l.min_std = (float)cfg->min_std;
    l.env = (char *)self->spec.name;
    w.version = version;
    w.learner_step = step;
    w.layout = &l;
    w.params = self->w_send;
    w.n_params = self->weights_floats;
    msg.body_case = MPO__MESSAGE__BODY_WEIGHTS;
    msg.weights = &w;
    if (wire_send(self->pub, NULL, 0, &msg, ZMQ_DONTWAIT) == 0)
        s_count(self, &self->publications);
    else if (zmq_errno() != EAGAIN)
        log_warn("publishing weights: %s", zmq_strerror(zmq_errno()));
}

/* A SampleBatch in the current slot: keep the pipeline full, check it, queue it. A batch not queued
 * stays in the slot's decoder until the next message replaces it. */
static void s_on_sample(learner_io_t *self, s_slot_t *slot, const Mpo__SampleBatch *b) {
    char reason[256];
    int found = -1;
    for (int i = 0; i < self->n_in_flight; i++)
        if (self->in_flight[i] == b->request_id)
            found = i;
    if (found >= 0)
        self->in_flight[found] = s_request(self);
    else
        s_count(self, &self->stale);
    int S = self->spec.obs_dim, A = self->spec.act_dim;
    wire_rejection_t why = wire_check_sample_batch(b, S, A, reason, sizeof reason);
    if (why == WIRE_OK && b->n > (uint32_t)self->cfg->batch_size) {
        why = WIRE_TOO_LARGE;
        snprintf(reason, sizeof reason, "%u transitions, batch_size is %lld", b->n, self->cfg->batch_size);
    }
    if (why != WIRE_OK) {
        pthread_mutex_lock(&self->mu);
        uint64_t n = self->rejected++;
        pthread_mutex_unlock(&self->mu);
        if (n % 100 == 0)
            log_warn("refused a sample batch (%s): %s", wire_rejection_name(why), reason);
        return;
    }
    pthread_mutex_lock(&self->mu);
    self->progress.env_steps = b->env_steps;
    self->progress.recent_return = b->recent_return;
    self->progress.recent_episodes = b->recent_episodes;
    self->progress.batch_at = clock_now();
    if (b->evals > self->progress.evals && b->eval) {
        self->progress.evals = b->evals;
        self->progress.eval_return = b->eval->mean_return;
        self->progress.eval_std = b->eval->std_return;
        self->progress.eval_episodes = b->eval->episodes;
        self->progress.eval_env_steps = b->eval_env_steps;
    }
    pthread_mutex_unlock(&self->mu);
    /* the decoded arrays are the batch: they live in the slot until the update gives it back */
    slot->batch = (transition_batch_t){b->obs, b->action, b->reward, b->done, b->next_obs, (int)b->n};
    batch_queue_push(self->queue, self->cur);
    self->cur = -1;
}

/* Take one message from the DEALER into the current slot. 0 when none was waiting. */
static int s_receive(learner_io_t *self) {
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, self->dealer, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return 0;
    }
    s_slot_t *slot = &self->slots[self->cur];
    wire_rejection_t why;
    char reason[256];
    const void *data = zmq_msg_data(&frame);
    size_t len = zmq_msg_size(&frame);
    Mpo__Message *msg = wire_decode_into(slot->dec, data, len, &why, reason, sizeof reason);
    zmq_msg_close(&frame);
    if (!msg) {
        s_count(self, &self->rejected);
        log_warn("dropped a message from the replay server: %s", reason);
        return 1;
    }
    pthread_mutex_lock(&self->mu);
    self->progress.heard_at = clock_now();
    if (msg->body_case == MPO__MESSAGE__BODY_ACK) /* the hello's answer */
        self->progress.replay_size = msg->ack->size;
    pthread_mutex_unlock(&self->mu);
    switch (msg->body_case) {
    case MPO__MESSAGE__BODY_SAMPLE_BATCH:
        s_on_sample(self, slot, msg->sample_batch);
        break;
    case MPO__MESSAGE__BODY_ACK:
        break;
    case MPO__MESSAGE__BODY_ERROR:
        if (msg->error->code == MPO__ERROR_CODE__ERROR_NO_HELLO) {
            log_warn("the replay server does not know us (restarted?): hello again, new requests");
            s_reissue(self);
            s_count(self, &self->reissues);
        } else {
            log_warn("the replay server: %s", msg->error->reason ? msg->error->reason : "error");
        }
        break;
    default:
        log_warn("unexpected message %d from the replay server", (int)msg->body_case);
    }
    return 1;
}

/* A free slot for the next message, or -1. With none, the update loop is asked to wake us when its
 * ready batches run low (asked before looking again, so a release in between is not missed), and
 * until it does we take no slot, so that one wake-up refills several. */
static int s_acquire(learner_io_t *self) {
    if (atomic_load(&self->blocked))
        return -1; /* off the socket until the update loop says its ready batches run low */
    int slot = batch_queue_acquire(self->queue);
    if (slot < 0) {
        atomic_store(&self->blocked, 1);
        slot = batch_queue_acquire(self->queue);
        if (slot >= 0)
            atomic_store(&self->blocked, 0); /* freed meanwhile; at worst a wake-up comes for nothing */
    }
    return slot;
}

/* A failed handshake of the DEALER: a warning while ZeroMQ tries again; -1 after an error when the
 * replay server refused our key or CURVE differs, which ZeroMQ does not try again. */
static int s_on_monitor(learner_io_t *self) {
    uint32_t value;
    char text[320];
    int event = sock_event(self->monitor, &value);
    int said = curve_client_event(self->curve_on, event, value, "the replay server", text, sizeof text);
    if (said == 2)
        log_error("%s", text);
    else if (said == 1 && self->failed_handshakes++ % 100 == 0)
        log_warn("%s", text);
    return said == 2 ? -1 : 0;
}

static void *s_thread(void *arg) {
    learner_io_t *self = arg;
    self->last_recv = clock_now();
    s_reissue(self);
    while (!atomic_load(&self->stop)) {
        if (self->cur < 0)
            self->cur = s_acquire(self);
        int listening = self->cur >= 0; /* every slot full: the answers wait in ZeroMQ's queue */
        zmq_pollitem_t items[4] = {{self->dealer, 0, (short)(listening ? ZMQ_POLLIN : 0), 0},
                                   {NULL, self->efd, ZMQ_POLLIN, 0},
                                   {self->monitor, 0, ZMQ_POLLIN, 0},
                                   {self->pub, 0, ZMQ_POLLIN, 0}};
        double before = clock_now();
        int polled = zmq_poll(items, 4, POLL_MS);
        double now = clock_now();
        int refused = polled > 0 && (items[2].revents & ZMQ_POLLIN) && s_on_monitor(self) != 0;
        if ((polled < 0 && zmq_errno() != EINTR) || refused) {
            if (!refused)
                log_error("poll: %s", zmq_strerror(zmq_errno()));
            atomic_store(&self->failed, 1);
            batch_queue_wake(self->queue);
            break;
        }
        if (listening) {
            pthread_mutex_lock(&self->mu);
            self->sample_wait += now - before; /* room for a batch, nothing from the replay */
            pthread_mutex_unlock(&self->mu);
        }
        if (polled > 0 && (items[1].revents & ZMQ_POLLIN)) {
            uint64_t n;
            ssize_t rc = read(self->efd, &n, sizeof n);
            (void)rc; /* EAGAIN: another read took it */
        }
        if (polled > 0 && (items[3].revents & ZMQ_POLLIN)) {
            uint64_t foreign = 0;
            int reset = weights_watch_drain(&self->watch, &foreign);
            pthread_mutex_lock(&self->mu);
            self->foreign_subscriptions += foreign;
            self->pub_resets += (uint64_t)reset;
            pthread_mutex_unlock(&self->mu);
        }
        s_send_weights(self);
        if (polled > 0 && (items[0].revents & ZMQ_POLLIN)) {
            for (int k = 0; k < RECV_BURST; k++)
                if ((self->cur < 0 && (self->cur = s_acquire(self)) < 0) || !s_receive(self))
                    break;
            self->last_recv = now;
        } else if (!listening) {
            self->last_recv = now; /* the update is behind, the replay is not silent */
        } else if (now - self->last_recv > SAMPLE_TIMEOUT_S) {
            log_warn("nothing from the replay server for %.0f s: hello again, new requests", SAMPLE_TIMEOUT_S);
            s_reissue(self);
            s_count(self, &self->reissues);
            self->last_recv = now;
        }
    }
    return NULL;
}

int learner_io_start(learner_io_t *self, char *err, size_t errlen) {
    int rc = pthread_create(&self->thread, NULL, s_thread, self);
    if (rc != 0) {
        snprintf(err, errlen, "learner: cannot start the I/O thread: %s", strerror(rc));
        return -1;
    }
    pthread_setname_np(self->thread, "mpo-learner-io");
    self->started = 1;
    return 0;
}

void learner_io_stop(learner_io_t *self) {
    if (!self->started || self->joined)
        return;
    atomic_store(&self->stop, 1);
    s_wake(self);
    pthread_join(self->thread, NULL);
    self->joined = 1;
}

void learner_io_destroy(learner_io_t **self_p) {
    learner_io_t *self = *self_p;
    if (!self)
        return;
    learner_io_stop(self);
    sock_close(&self->monitor);
    sock_close(&self->dealer);
    sock_close(&self->pub);
    zap_destroy(&self->zap);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    if (self->efd >= 0)
        close(self->efd);
    for (int i = 0; self->slots && i < self->n_slots; i++)
        wire_decoder_destroy(&self->slots[i].dec);
    free(self->slots);
    batch_queue_destroy(&self->queue);
    pthread_mutex_destroy(&self->mu);
    free(self->in_flight);
    free(self->w_send);
    free(self->w_shared);
    free(self);
    *self_p = NULL;
}

int learner_io_failed(learner_io_t *self) { return atomic_load(&self->failed); }

int learner_io_next(learner_io_t *self, double timeout_s, transition_batch_t *batch) {
    int slot = batch_queue_pop(self->queue, timeout_s);
    if (slot >= 0)
        *batch = self->slots[slot].batch;
    return slot;
}

void learner_io_done(learner_io_t *self, int slot) {
    /* one wake-up per refill, not per batch: each costs both threads a trip through the kernel */
    if (batch_queue_release(self->queue, slot) <= LEARNER_IO_LOW_WATER && atomic_exchange(&self->blocked, 0))
        s_wake(self);
}

int learner_io_slots(const learner_io_t *self) { return self->n_slots; }

void learner_io_publish(learner_io_t *self, const float *params, uint64_t version, uint64_t learner_step) {
    pthread_mutex_lock(&self->mu);
    memcpy(self->w_shared, params, self->weights_floats * sizeof(float));
    self->w_version = version;
    self->w_step = learner_step;
    self->w_pending = 1;
    pthread_mutex_unlock(&self->mu);
    s_wake(self);
}

void learner_io_set_stats(learner_io_t *self, const double *values) {
    pthread_mutex_lock(&self->mu);
    memcpy(self->stats, values, sizeof self->stats);
    pthread_mutex_unlock(&self->mu);
}

void learner_io_stats(learner_io_t *self, double *values) {
    pthread_mutex_lock(&self->mu);
    s_own_stats(self, values);
    pthread_mutex_unlock(&self->mu);
    values[LEARNER_STAT_batches_ready] = batch_queue_ready(self->queue);
}

learner_io_progress_t learner_io_progress(learner_io_t *self) {
    pthread_mutex_lock(&self->mu);
    learner_io_progress_t p = self->progress;
    pthread_mutex_unlock(&self->mu);
    return p;
}
