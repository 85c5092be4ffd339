/* learner: the learner role. Keeps sample_prefetch SampleRequests in flight at the replay server
 * so a minibatch is usually waiting when an update ends, runs one MPO update per SampleBatch,
 * publishes the actor's weights on a PUB socket, checkpoints.
 *
 * Weights: version v counts publications of new parameters (v = 1 is the first set the actors
 * see; until then they act uniformly at random, as the synchronous trainer does before
 * learning_starts). They go out every weight_sync_period updates and every
 * weight_publish_interval seconds even with no update in between, so an actor that joins late,
 * or whose SUB connected after the last publication (PUB drops what no one subscribes to yet),
 * gets weights anyway.
 *
 * Restarts: the replay server may restart under us. Its requests then die with it, so after
 * SAMPLE_TIMEOUT_S with nothing received the learner says hello again and issues a fresh set of
 * requests. An answer to a superseded request still counts as data (the server was only slow) and
 * is not replaced, which brings the number of requests held at the server back to
 * sample_prefetch. */
#include "learner/learner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/run_dir.h"
#include "common/sock.h"
#include "common/stats_table.h"
#include "common/wire.h"
#include "env/env.h"
#include "learner/checkpoint.h"
#include "learner/learner_stats.h"
#include "learner/mpo.h"
#include "learner/run_csv.h"

#define SAMPLE_TIMEOUT_S 10.0
#define STATS_PERIOD_S 1.0 /* the stats list rides on a SampleRequest at most this often */
#define DEALER_HWM 1000
#define PUB_HWM 4 /* a slow subscriber gets fewer weights, never a queue of stale ones */

typedef struct {
    const config_t *cfg;
    env_spec_t spec;
    int S, A;
    char id[96];
    mpo_t *mpo;
    void *ctx, *dealer, *pub;
    metrics_http_t *metrics;

    uint64_t *in_flight;  /* ids of the current request set, 0 for an answered one */
    int n_in_flight;
    uint64_t next_id;
    double started;       /* clock_now() at the start */
    double last_recv;
    double stats_sent;    /* when the stats list last went out */

    uint64_t version;       /* weights published so far */
    int64_t published_at;   /* updates at the last publication of new weights */
    double last_publish;
    int64_t ckpt_at;        /* updates at the last checkpoint */

    /* the figures of learner/learner_stats.h that are not the update's */
    uint64_t batches, samples, stale_batches, rejected, reissues, publications, checkpoints, checkpoint_failures;
    double sample_wait, update_rate;
    mpo_metrics_t m;
    run_csv_t *progress;
} learner_t;

static void s_learner_destroy(learner_t **self_p) {
    learner_t *self = *self_p;
    if (!self)
        return;
    metrics_http_destroy(&self->metrics);
    sock_close(&self->dealer);
    sock_close(&self->pub);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    run_csv_destroy(&self->progress);
    mpo_destroy(&self->mpo);
    free(self->in_flight);
    free(self);
    *self_p = NULL;
}

/* every figure of the stats table, now */
static void s_stats_values(const learner_t *self, double *v) {
    v[LEARNER_STAT_updates_total] = (double)mpo_updates(self->mpo);
    v[LEARNER_STAT_update_rate] = self->update_rate;
    v[LEARNER_STAT_batches_total] = (double)self->batches;
    v[LEARNER_STAT_samples_total] = (double)self->samples;
    v[LEARNER_STAT_sample_wait_seconds_total] = self->sample_wait;
    v[LEARNER_STAT_weights_version] = (double)self->version;
    v[LEARNER_STAT_publications_total] = (double)self->publications;
    v[LEARNER_STAT_checkpoints_total] = (double)self->checkpoints;
    v[LEARNER_STAT_checkpoint_failures_total] = (double)self->checkpoint_failures;
    v[LEARNER_STAT_stale_batches_total] = (double)self->stale_batches;
    v[LEARNER_STAT_rejected_total] = (double)self->rejected;
    v[LEARNER_STAT_reissues_total] = (double)self->reissues;
    v[LEARNER_STAT_uptime_seconds] = clock_now() - self->started;
    learner_stats_set_metrics(v, &self->m);
}

static void s_checkpoint(learner_t *self) {
    const char *dir = self->cfg->checkpoint_dir;
    if (!dir[0])
        return;
    char err[512], path[CONFIG_STR_MAX + 32];
    if (run_dir_mkdirs(dir) != 0) {
        log_error("cannot create checkpoint_dir '%s': %s", dir, strerror(errno));
        self->checkpoint_failures++;
        return;
    }
    snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, dir);
    checkpoint_counters_t c = {.updates = (uint64_t)mpo_updates(self->mpo),
                               .weights_version = self->version,
                               .batches = self->batches,
                               .rejected = self->rejected};
    if (checkpoint_save(self->mpo, path, err, sizeof err) != 0 ||
        checkpoint_counters_save(dir, &c, self->spec.name, err, sizeof err) != 0) {
        log_error("checkpoint: %s", err);
        self->checkpoint_failures++;
        return;
    }
    self->ckpt_at = mpo_updates(self->mpo);
    self->checkpoints++;
    log_info("checkpoint: %s at %" PRId64 " updates, weights v%" PRIu64, path, self->ckpt_at, self->version);
}

static int s_resume(learner_t *self, const char *dir) {
    char err[512], path[CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, dir);
    if (checkpoint_load(self->mpo, path, err, sizeof err) != 0) {
        log_error("cannot resume: %s", err);
        return -1;
    }
    checkpoint_counters_t c;
    if (checkpoint_counters_load(dir, &c, err, sizeof err) == 0)
        self->version = c.weights_version;
    else
        log_warn("no %s/" CHECKPOINT_STATE_FILE " beside the checkpoint: weights versions restart at 1", dir);
    self->published_at = self->ckpt_at = mpo_updates(self->mpo);
    log_info("resumed from %s: %" PRId64 " updates, weights v%" PRIu64, dir, mpo_updates(self->mpo), self->version);
    return 0;
}

static int s_open_progress(learner_t *self) {
    if (run_dir_prepare(self->cfg) != 0)
        return -1;
    return run_csv_open(&self->progress, self->cfg, RUN_CSV_PROGRESS_LEARNER_FILE);
}

/* the DEALER to the replay server and the PUB the weights go out on, every option checked */
static int s_open_sockets(learner_t *self, char *err, size_t errlen) {
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
        SOCK_OPTS_END,
    };
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, errlen, "learner: cannot make a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        return -MPO_ESOCKET;
    }
    self->dealer = sock_open(self->ctx, ZMQ_DEALER, "learner: DEALER to the replay", dealer_opts, NULL,
                             cfg->replay_endpoint, err, errlen);
    if (!self->dealer)
        return -MPO_ESOCKET;
    self->pub = sock_open(self->ctx, ZMQ_PUB, "learner: weights PUB", pub_opts, cfg->weights_bind, NULL, err, errlen);
    return self->pub ? 0 : -MPO_ESOCKET;
}

/* The environment's facts: a registered one's, or for the sizes-only name bench:OBS:ACT (env_sizes;
 * `mpo bench learner` feeds a replay server synthetic transitions) those sizes with actions in
 * [-1, 1], as `mpo bench update` uses. 0, or -1 with a reason in err. */
static int s_spec(const char *name, env_spec_t *out, char *err, size_t errlen) {
    const env_ops_t *ops = env_find(name);
    if (ops) {
        *out = *ops->spec;
        return 0;
    }
    int S, A;
    if (env_sizes(name, &S, &A, err, errlen) != 0)
        return -1;
    if (S > ENV_MAX_OBS || A > ENV_MAX_ACT) {
        snprintf(err, errlen, "env '%s': the learner takes at most %d observations and %d actions", name,
                 ENV_MAX_OBS, ENV_MAX_ACT);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->name = name;
    out->obs_dim = S;
    out->act_dim = A;
    out->max_episode_steps = 1000;
    for (int k = 0; k < A; k++) {
        out->act_low[k] = -1;
        out->act_high[k] = 1;
    }
    return 0;
}

static learner_t *s_learner_new(const config_t *cfg) {
    char err[512];
    env_spec_t spec;
    if (s_spec(cfg->env, &spec, err, sizeof err) != 0) {
        log_error("%s", err);
        return NULL;
    }
    learner_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->started = clock_now();
    self->cfg = cfg;
    self->spec = spec;
    self->S = spec.obs_dim;
    self->A = spec.act_dim;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(self->id, sizeof self->id, "learner-%s-%d", host, (int)getpid());
    self->in_flight = calloc((size_t)cfg->sample_prefetch, sizeof(uint64_t));
    mpo_params_t params;
    if (mpo_params_from_config(cfg, &self->spec, &params, err, sizeof err) == 0)
        self->mpo = mpo_new(&params, err, sizeof err);
    if (!self->mpo || !self->in_flight) {
        log_error("%s", self->mpo ? "out of memory" : err);
        s_learner_destroy(&self);
        return NULL;
    }
    if ((cfg->resume[0] && s_resume(self, cfg->resume) != 0) || s_open_progress(self) != 0) {
        s_learner_destroy(&self);
        return NULL;
    }
    if (s_open_sockets(self, err, sizeof err) != 0) {
        log_error("%s", err);
        s_learner_destroy(&self);
        return NULL;
    }
    self->next_id = 1;
    self->stats_sent = -STATS_PERIOD_S; /* the first request carries them */
    return self;
}

static int s_send_hello(learner_t *self) {
    return wire_send_hello(self->dealer, MPO__ROLE__ROLE_LEARNER, self->spec.name, self->S, self->A, self->id);
}

static uint64_t s_request(learner_t *self) {
    Mpo__Message msg;
    Mpo__SampleRequest req;
    Mpo__Stat stats[LEARNER_STAT_COUNT];
    Mpo__Stat *ptrs[LEARNER_STAT_COUNT];
    wire_init_message(&msg);
    mpo__sample_request__init(&req);
    req.id = self->next_id++;
    req.batch_size = (uint32_t)self->cfg->batch_size;
    req.policy_version = self->version;
    req.updates = (uint64_t)mpo_updates(self->mpo);
    double now = clock_now();
    if (now - self->stats_sent >= STATS_PERIOD_S) {
        double v[LEARNER_STAT_COUNT];
        s_stats_values(self, v);
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

/* a fresh set of sample_prefetch requests (start, and after a silence) */
static void s_reissue(learner_t *self) {
    s_send_hello(self);
    for (int i = 0; i < self->cfg->sample_prefetch; i++)
        self->in_flight[i] = s_request(self);
    self->n_in_flight = (int)self->cfg->sample_prefetch;
}

static void s_publish(learner_t *self, double now) {
    int64_t updates = mpo_updates(self->mpo);
    if (updates > self->published_at || (self->version == 0 && updates > 0)) {
        self->version++;
        self->published_at = updates;
    }
    self->last_publish = now;
    if (self->version == 0)
        return; /* nothing learnt yet: the actors' uniform actions are the better policy */
    Mpo__Message msg;
    Mpo__PolicyWeights w;
    Mpo__PolicyLayout l;
    wire_init_message(&msg);
    mpo__policy_weights__init(&w);
    mpo__policy_layout__init(&l);
    l.obs_dim = (uint32_t)self->S;
    l.act_dim = (uint32_t)self->A;
    l.hidden = (uint32_t)self->cfg->hidden;
    l.layers = (uint32_t)self->cfg->layers;
    l.policy = (char *)self->cfg->policy;
    l.min_std = (float)self->cfg->min_std;
    l.env = (char *)self->spec.name;
    w.version = self->version;
    w.learner_step = (uint64_t)updates;
    w.layout = &l;
    w.params = (float *)mpo_actor_params(self->mpo);
    w.n_params = mpo_actor_floats(self->mpo);
    msg.body_case = MPO__MESSAGE__BODY_WEIGHTS;
    msg.weights = &w;
    if (wire_send(self->pub, NULL, 0, &msg, ZMQ_DONTWAIT) == 0)
        self->publications++;
    else if (zmq_errno() != EAGAIN)
        log_warn("publishing weights: %s", zmq_strerror(zmq_errno()));
}

static void s_on_sample(learner_t *self, const Mpo__SampleBatch *b) {
    char reason[256];
    int slot = -1;
    for (int i = 0; i < self->n_in_flight; i++)
        if (self->in_flight[i] == b->request_id)
            slot = i;
    if (slot >= 0)
        self->in_flight[slot] = s_request(self); /* keep the pipeline full before updating */
    else
        self->stale_batches++;
    wire_rejection_t why = wire_check_sample_batch(b, self->S, self->A, reason, sizeof reason);
    if (why == WIRE_OK && b->n > (uint32_t)self->cfg->batch_size) {
        why = WIRE_TOO_LARGE;
        snprintf(reason, sizeof reason, "%u transitions, batch_size is %lld", b->n, self->cfg->batch_size);
    }
    if (why != WIRE_OK) {
        if (self->rejected++ % 100 == 0)
            log_warn("refused a sample batch (%s): %s", wire_rejection_name(why), reason);
        return;
    }
    /* the decoded arrays are the batch: no copy */
    transition_batch_t batch = {b->obs, b->action, b->reward, b->done, b->next_obs, (int)b->n};
    mpo_update(self->mpo, &batch, &self->m);
    self->batches++;
    self->samples += b->n;
}

static void s_on_message(learner_t *self) {
    wire_rejection_t why;
    char reason[256];
    Mpo__Message *msg = wire_recv(self->dealer, &why, reason, sizeof reason);
    if (!msg && why == WIRE_OK)
        return;
    if (!msg) {
        self->rejected++;
        log_warn("dropped a message from the replay server: %s", reason);
        return;
    }
    switch (msg->body_case) {
    case MPO__MESSAGE__BODY_SAMPLE_BATCH:
        s_on_sample(self, msg->sample_batch);
        break;
    case MPO__MESSAGE__BODY_ACK:
        break; /* the hello's answer */
    case MPO__MESSAGE__BODY_ERROR:
        if (msg->error->code == MPO__ERROR_CODE__ERROR_NO_HELLO) {
            log_warn("the replay server does not know us (restarted?): hello again, new requests");
            s_reissue(self);
            self->reissues++;
        } else {
            log_warn("the replay server: %s", msg->error->reason ? msg->error->reason : "error");
        }
        break;
    default:
        log_warn("unexpected message %d from the replay server", (int)msg->body_case);
    }
    wire_free(msg);
}

static void s_progress(learner_t *self, double now, double t0, double dt, int64_t updates_then) {
    int64_t u = mpo_updates(self->mpo);
    self->update_rate = (double)(u - updates_then) / dt;
    double v[LEARNER_STAT_COUNT];
    char line[512];
    s_stats_values(self, v);
    learner_stats_line(line, sizeof line, v);
    log_info("%s", line);
    double row[RUN_CSV_COLUMNS(RUN_CSV_PROGRESS_LEARNER)] = {now - t0, (double)u, (double)self->version,
                                                             (double)self->batches};
    run_csv_row(self->progress, row, sizeof row / sizeof row[0], &self->m);
}

/* /metrics: every figure of the stats table as mpo_learner_NAME */
static void s_render_metrics(void *ctx, metrics_http_buf_t *b) {
    const learner_t *self = ctx;
    double v[LEARNER_STAT_COUNT];
    size_t n;
    const stats_field_t *table = learner_stats_table(&n);
    s_stats_values(self, v);
    stats_table_metrics(b, "mpo_learner", table, n, v);
}

int learner_run(const config_t *cfg, volatile int *stop) {
    learner_t *self = s_learner_new(cfg);
    if (!self)
        return -1;
    log_info("learner %s: %s (obs %d, act %d), batch %lld, %lld requests in flight; replay %s, weights on %s",
             self->id, self->spec.name, self->S, self->A, cfg->batch_size, cfg->sample_prefetch,
             cfg->replay_endpoint, cfg->weights_bind);
    double t0 = clock_now(), last_log = t0;
    int64_t updates_at_log = mpo_updates(self->mpo);
    self->last_recv = self->last_publish = t0;
    s_reissue(self);
    char err[256];
    if (metrics_http_start("learner", (int)cfg->metrics_port, s_render_metrics, self, &self->metrics, err,
                           sizeof err) != 0) {
        log_error("%s", err);
        s_learner_destroy(&self);
        return -1;
    }
    zmq_pollitem_t item = {self->dealer, 0, ZMQ_POLLIN, 0};
    int rc = 0;
    while (!*stop) {
        double before = clock_now();
        int polled = zmq_poll(&item, 1, 100);
        double now = clock_now();
        self->sample_wait += now - before; /* idle: nothing from the replay to learn from */
        if (polled < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_error("poll: %s", zmq_strerror(zmq_errno()));
            rc = -1;
            break;
        }
        if (item.revents & ZMQ_POLLIN) {
            s_on_message(self);
            self->last_recv = now = clock_now();
        } else if (now - self->last_recv > SAMPLE_TIMEOUT_S) {
            log_warn("nothing from the replay server for %.0f s: hello again, new requests", SAMPLE_TIMEOUT_S);
            s_reissue(self);
            self->reissues++;
            self->last_recv = now;
        }
        int64_t u = mpo_updates(self->mpo);
        if (u - self->published_at >= cfg->weight_sync_period || now - self->last_publish >= cfg->weight_publish_interval)
            s_publish(self, now);
        if (u - self->ckpt_at >= cfg->checkpoint_every)
            s_checkpoint(self);
        if (now - last_log >= cfg->log_interval) {
            s_progress(self, now, t0, now - last_log, updates_at_log);
            last_log = now;
            updates_at_log = u;
        }
        metrics_http_poll(self->metrics);
    }
    metrics_http_destroy(&self->metrics);
    /* always, even with no update since the last one: checkpoint_dir may differ from the resume
     * directory, and `mpo train` evaluates what it finds there */
    if (rc == 0)
        s_checkpoint(self);
    log_info("stopping: %" PRId64 " updates, weights v%" PRIu64 ", %" PRIu64 " stale and %" PRIu64 " refused batches",
             mpo_updates(self->mpo), self->version, self->stale_batches, self->rejected);
    s_learner_destroy(&self);
    return rc;
}
