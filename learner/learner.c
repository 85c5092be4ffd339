/* learner: the learner role. Runs one MPO update per SampleBatch on its own fork-join pool,
 * decides when to publish weights, checkpoints, reports its figures. Everything on the network
 * runs on the I/O thread of learner/learner_io.c: it keeps sample_prefetch SampleRequests in
 * flight, decodes and checks the answers while an update runs, and hands ready batches over
 * through a queue of reused slots, so the next batch is usually waiting when an update ends; it
 * also sends the weights this loop copies over.
 *
 * Weights: version v counts publications of new parameters (v = 1 is the first set the actors
 * see; until then they act uniformly at random, as the synchronous trainer does before
 * learning_starts). They go out every weight_sync_period updates and every
 * weight_publish_interval seconds even with no update in between, so an actor that joins late,
 * or whose SUB connected after the last publication (PUB drops what no one subscribes to yet),
 * gets weights anyway.
 *
 * Restarts: the replay server may restart under us; learner_io says Hello again and reissues its
 * requests after SAMPLE_TIMEOUT_S of silence or a no_hello Error. */
#include "learner/learner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics_http.h"
#include "common/run_dir.h"
#include "common/stats_table.h"
#include "env/env.h"
#include "env/env_config.h"
#include "learner/checkpoint.h"
#include "learner/learner_io.h"
#include "learner/learner_stats.h"
#include "learner/mpo.h"
#include "learner/run_csv.h"

#define BATCH_WAIT_S 0.1 /* the stop flag, timers and /metrics are looked at at least this often */
#define LEARNER_VERSION_RESERVE 1000 /* weights versions reserved per write of learner.state (see s_publish) */

typedef struct {
    const config_t *cfg;
    env_spec_t spec;
    int S, A;
    char id[96];
    mpo_t *mpo;
    learner_io_t *io;
    metrics_http_t *metrics;
    double started;       /* clock_now() at the start */

    uint64_t version;       /* weights published so far */
    uint64_t version_mark;  /* learner.state's weights_version: no version above the one published
                             * is used before the file says a higher mark (LEARNER_VERSION_RESERVE) */
    run_csv_t *eval_csv;    /* eval.csv, opened at the first evaluation an evaluator reports */
    uint64_t evals_written;
    int64_t published_at;   /* updates at the last publication of new weights */
    double last_publish;
    int64_t ckpt_at;        /* updates at the last checkpoint */

    /* the update loop's figures of learner/learner_stats.h (learner_io has the others) */
    uint64_t batches, samples, checkpoints, checkpoint_failures;
    uint64_t skipped;   /* updates not applied: a loss or gradient was not finite */
    double skip_logged; /* when the last of their log lines went out */
    double batch_wait, update_rate;
    mpo_metrics_t m;
    run_csv_t *progress;
} learner_t;

static void s_learner_destroy(learner_t **self_p) {
    learner_t *self = *self_p;
    if (!self)
        return;
    metrics_http_destroy(&self->metrics);
    learner_io_destroy(&self->io);
    run_csv_destroy(&self->progress);
    run_csv_destroy(&self->eval_csv);
    mpo_destroy(&self->mpo);
    free(self);
    *self_p = NULL;
}

/* every figure of the stats table, now */
static void s_stats_values(learner_t *self, double *v) {
    v[LEARNER_STAT_updates_total] = (double)mpo_updates(self->mpo);
    v[LEARNER_STAT_skipped_updates_total] = (double)self->skipped;
    v[LEARNER_STAT_update_rate] = self->update_rate;
    v[LEARNER_STAT_batches_total] = (double)self->batches;
    v[LEARNER_STAT_samples_total] = (double)self->samples;
    v[LEARNER_STAT_batch_wait_seconds_total] = self->batch_wait;
    v[LEARNER_STAT_weights_version] = (double)self->version;
    v[LEARNER_STAT_checkpoints_total] = (double)self->checkpoints;
    v[LEARNER_STAT_checkpoint_failures_total] = (double)self->checkpoint_failures;
    v[LEARNER_STAT_uptime_seconds] = clock_now() - self->started;
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    v[LEARNER_STAT_cpu_seconds_total] = (double)cpu.tv_sec + (double)cpu.tv_nsec * 1e-9;
    learner_io_stats(self->io, v);
    learner_stats_set_metrics(v, &self->m);
}

/* checkpoint_dir can be made and written: found at start, not after hours of training */
static int s_check_checkpoint_dir(const char *dir) {
    if (!dir[0])
        return 0;
    if (run_dir_mkdirs(dir) != 0 || access(dir, W_OK) != 0) {
        log_error("checkpoint_dir '%s' cannot be made or written: %s", dir, strerror(errno));
        return -MPO_EIO;
    }
    return 0;
}

/* dir/learner.state: the counters as of now */
static int s_save_counters(learner_t *self, const char *dir, char *err, size_t errlen) {
    double v[LEARNER_STAT_COUNT];
    s_stats_values(self, v);
    checkpoint_counters_t c = {.updates = (uint64_t)mpo_updates(self->mpo),
                               .weights_version = self->version_mark > self->version ? self->version_mark
                                                                                     : self->version,
                               .batches = self->batches,
                               .rejected = (uint64_t)v[LEARNER_STAT_rejected_total]};
    checkpoint_run_t run = {.min_std = self->cfg->min_std, .n_bounds = self->spec.act_dim};
    snprintf(run.env, sizeof run.env, "%s", self->spec.name);
    memcpy(run.act_low, self->spec.act_low, sizeof run.act_low);
    memcpy(run.act_high, self->spec.act_high, sizeof run.act_high);
    return checkpoint_counters_save(dir, &c, &run, err, errlen);
}

static void s_checkpoint(learner_t *self) {
    const char *dir = self->cfg->checkpoint_dir;
    if (!dir[0])
        return;
    if (!mpo_params_finite(self->mpo)) { /* never over the last good checkpoint */
        log_error("checkpoint: not written, the learner's parameters are not finite");
        self->checkpoint_failures++;
        self->ckpt_at = mpo_updates(self->mpo);
        return;
    }
    char err[512], path[CONFIG_STR_MAX + 32];
    if (run_dir_mkdirs(dir) != 0) {
        log_error("cannot create checkpoint_dir '%s': %s", dir, strerror(errno));
        self->checkpoint_failures++;
        self->ckpt_at = mpo_updates(self->mpo); /* tried again after checkpoint_every more, not every update */
        return;
    }
    snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, dir);
    if (checkpoint_save_kept(self->mpo, path, (int)self->cfg->checkpoint_keep, err, sizeof err) != 0 ||
        s_save_counters(self, dir, err, sizeof err) != 0) {
        log_error("checkpoint: %s", err);
        self->checkpoint_failures++;
        self->ckpt_at = mpo_updates(self->mpo);
        return;
    }
    self->ckpt_at = mpo_updates(self->mpo);
    self->checkpoints++;
    log_info("checkpoint: %s at %" PRId64 " updates, weights v%" PRIu64, path, self->ckpt_at, self->version);
}

static int s_resume(learner_t *self, const char *dir) {
    char err[512], path[CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, dir);
    int used = 0;
    if (checkpoint_load_newest(self->mpo, path, &used, err, sizeof err) != 0) {
        log_error("cannot resume: %s", err);
        return -1;
    }
    if (used > 0)
        log_warn("resuming from the older checkpoint %s.%d: %s", path, used, err);
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
    /* a resumed learner goes on after the rows its run already has (a chain of batch jobs); a new
     * one starts both files, so that evaluations (an evaluator's, `mpo train`'s final one) append
     * to this run's rows only */
    if (self->cfg->resume[0])
        return run_csv_append(&self->progress, self->cfg, RUN_CSV_PROGRESS_LEARNER_FILE) != 0 ||
                       run_csv_append(&self->eval_csv, self->cfg, RUN_CSV_EVAL_FILE) != 0
                   ? -1
                   : 0;
    return run_csv_open(&self->progress, self->cfg, RUN_CSV_PROGRESS_LEARNER_FILE) != 0 ||
                   run_csv_open(&self->eval_csv, self->cfg, RUN_CSV_EVAL_FILE) != 0
               ? -1
               : 0;
}


static learner_t *s_learner_new(const config_t *cfg) {
    char err[512];
    env_spec_t spec;
    if (env_spec_from_config(cfg, &spec, err, sizeof err) != 0) {
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
    mpo_params_t params;
    if (mpo_params_from_config(cfg, &self->spec, &params, err, sizeof err) == 0)
        self->mpo = mpo_new(&params, err, sizeof err);
    if (!self->mpo) {
        log_error("%s", err);
        s_learner_destroy(&self);
        return NULL;
    }
    if ((cfg->resume[0] && s_resume(self, cfg->resume) != 0) || s_open_progress(self) != 0 ||
        s_check_checkpoint_dir(cfg->checkpoint_dir) != 0) {
        s_learner_destroy(&self);
        return NULL;
    }
    self->io = learner_io_new(cfg, &self->spec, self->id, mpo_actor_floats(self->mpo), err, sizeof err);
    if (!self->io) {
        log_error("%s", err);
        s_learner_destroy(&self);
        return NULL;
    }
    return self;
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
    if (!mpo_params_finite(self->mpo)) {
        log_error("weights v%" PRIu64 " not published: the learner's parameters are not finite", self->version);
        return;
    }
    learner_io_publish(self->io, mpo_actor_params(self->mpo), self->version, (uint64_t)updates);
    /* a mark above every version published is on disk before the version is: a learner that
     * resumes after a crash goes on above every version the actors have seen, never reusing one,
     * with one small write per LEARNER_VERSION_RESERVE versions, not one per publication */
    char err[512];
    if (self->cfg->checkpoint_dir[0] && self->version >= self->version_mark) {
        self->version_mark = self->version + LEARNER_VERSION_RESERVE;
        if (s_save_counters(self, self->cfg->checkpoint_dir, err, sizeof err) != 0)
            log_warn("checkpoint: %s", err);
    }
}

/* an interval without an update: say what the learner is waiting for */
static void s_say_why_waiting(learner_t *self, const learner_io_progress_t *p, double now) {
    const config_t *cfg = self->cfg;
    if (p->heard_at == 0)
        log_warn("waiting for the replay server at %s: no answer for %.0f s", cfg->replay_endpoint,
                 now - self->started);
    else if (p->batch_at == 0)
        log_info("waiting for the first batch: the replay server at %s held %" PRIu64
                 " transitions when it answered, and serves from learning_starts = %lld",
                 cfg->replay_endpoint, p->replay_size, cfg->learning_starts);
    else if (now - p->batch_at > cfg->log_interval)
        log_info("waiting for batches: none from the replay server at %s for %.0f s (its rate limiter holds "
                 "them until the actors insert more, or it is gone)",
                 cfg->replay_endpoint, now - p->batch_at);
}

static void s_progress(learner_t *self, double now, double t0, double dt, int64_t updates_then) {
    int64_t u = mpo_updates(self->mpo);
    self->update_rate = (double)(u - updates_then) / dt;
    double v[LEARNER_STAT_COUNT];
    char line[512];
    s_stats_values(self, v);
    learner_stats_line(line, sizeof line, v);
    log_info("%s", line);
    /* env steps and training returns as the replay server reported them with its last batch */
    learner_io_progress_t p = learner_io_progress(self->io);
    if (u == updates_then)
        s_say_why_waiting(self, &p, now);
    double row[RUN_CSV_COLUMNS(RUN_CSV_PROGRESS_LEARNER)] = {(double)p.env_steps, now - t0, (double)u,
                                                             p.recent_return, (double)self->version,
                                                             (double)self->batches};
    run_csv_row(self->progress, row, sizeof row / sizeof row[0], &self->m);
    /* an evaluator's newest result, relayed by the replay: one eval.csv row each */
    if (p.evals > self->evals_written) {
        double erow[RUN_CSV_COLUMNS(RUN_CSV_EVAL)] = {(double)p.eval_env_steps, now - t0, p.eval_return, p.eval_std,
                                                      (double)p.eval_episodes};
        if (self->eval_csv)
            run_csv_row(self->eval_csv, erow, sizeof erow / sizeof erow[0], NULL);
        self->evals_written = p.evals;
    }
}

/* /metrics: every figure of the stats table as mpo_learner_NAME */
static void s_render_metrics(void *ctx, metrics_http_buf_t *b) {
    learner_t *self = ctx;
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
    self->last_publish = t0;
    char err[256];
    double v[LEARNER_STAT_COUNT];
    s_stats_values(self, v);
    learner_io_set_stats(self->io, v); /* what the first request carries */
    if (learner_io_start(self->io, err, sizeof err) != 0 ||
        metrics_http_start("learner", cfg->weights_bind, (int)cfg->metrics_port, s_render_metrics, self,
                           &self->metrics, err, sizeof err) != 0) {
        log_error("%s", err);
        s_learner_destroy(&self);
        return -1;
    }
    int rc = 0;
    while (!*stop) {
        if (learner_io_failed(self->io)) {
            rc = -1;
            break;
        }
        double before = clock_now();
        transition_batch_t batch;
        int slot = learner_io_next(self->io, BATCH_WAIT_S, &batch);
        double now = clock_now();
        self->batch_wait += now - before; /* idle: no batch to learn from */
        if (slot >= 0) {
            mpo_metrics_t m;
            if (mpo_update(self->mpo, &batch, &m) == 0) {
                self->m = m;
            } else if (self->skipped++ == 0 || now - self->skip_logged >= cfg->log_interval) {
                /* once per interval: a stream of poisoned batches must not become a stream of lines */
                log_warn("skipped an update whose loss or gradient is not finite (critic loss %g, policy loss %g; "
                         "%" PRIu64 " skipped so far): the networks are unchanged",
                         m.critic_loss, m.policy_loss, self->skipped);
                self->skip_logged = now;
            }
            learner_io_done(self->io, slot);
            self->batches++;
            self->samples += (uint64_t)batch.n;
            now = clock_now();
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
        s_stats_values(self, v);
        learner_io_set_stats(self->io, v); /* for the next request */
    }
    metrics_http_destroy(&self->metrics);
    learner_io_stop(self->io);
    /* always, even with no update since the last one: checkpoint_dir may differ from the resume
     * directory, and `mpo train` evaluates what it finds there */
    if (rc == 0) {
        uint64_t failed = self->checkpoint_failures;
        s_checkpoint(self);
        if (self->cfg->checkpoint_dir[0] && self->checkpoint_failures > failed)
            rc = -MPO_EIO; /* nothing saved: say so with the exit status */
    }
    s_stats_values(self, v);
    log_info("stopping: %" PRId64 " updates, weights v%" PRIu64 ", %.0f stale and %.0f refused batches",
             mpo_updates(self->mpo), self->version, v[LEARNER_STAT_stale_batches_total],
             v[LEARNER_STAT_rejected_total]);
    s_learner_destroy(&self);
    return rc;
}
