/* launch: `mpo train` as a small cluster on this machine.
 *
 * The roles run as child processes of this one, started by fork + execv of the mpo program itself
 * (`mpo replay|learner|actor --set key=value ...` with every key of the effective configuration),
 * so exactly the code that runs on separate machines runs here, over loopback tcp. The parent
 * only watches: it asks the replay server for its stats like `mpo stat` does, prints one combined
 * progress line, stops the run when the server has inserted total_timesteps transitions, and then
 * evaluates the learner's final checkpoint.
 *
 * Children run in their own process group, so a Ctrl-C at the terminal reaches the parent alone
 * and the shutdown keeps its order: actors first (nothing more to insert), then the learner (it
 * checkpoints on SIGTERM), then the replay server. PR_SET_PDEATHSIG takes them down if the parent
 * dies without that ceremony. */
#include "cli/launch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/curve.h"
#include "env/env.h"
#include "env/evaluate.h"
#include "common/log.h"
#include "common/stats_client.h"
#include "learner/checkpoint.h"
#include "learner/mpo.h"
#include "learner/run_csv.h"

#define STOP_GRACE_S 10.0
#define STATS_PERIOD_S 0.5
#define STATS_TIMEOUT_S 3.0

typedef enum { ROLE_REPLAY = 0, ROLE_LEARNER, ROLE_ACTOR, ROLE_EVALUATOR } s_role_t;
static const char *const s_role_names[] = {"replay", "learner", "actor", "actor"}; /* the evaluator: --evaluate */

typedef struct {
    s_role_t role;
    int index;    /* actor number */
    pid_t pid;    /* 0 once reaped */
    int status;   /* wait status once reaped */
    bool failed;
} s_child_t;

/* what the replay server last said */
typedef struct {
    double inserts, updates, actors;
    double return_mean;
    int n_returns;
    bool valid;
} s_stats_t;

typedef struct {
    config_t cfg;          /* the effective configuration, endpoints filled in */
    const char *exe;
    char exe_path[4096]; /* exe resolved, so the roles show as `mpo …` in ps, not `exe …` */
    s_child_t *children;
    int n_children;
    char tmp_dir[64];      /* checkpoint_dir made here when none is configured */
    stats_client_t *stats; /* asks the replay server, as `mpo stat` does */
    bool stats_pending;
    double stats_sent;
    s_stats_t st;
} launch_t;

/* A port the kernel says is free now: bind to port 0 and read what it gave. Another process could
 * take it before the child binds; the child then fails to bind and the run reports it. */
static int s_free_port(int avoid) {
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        int port = -1;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
            port = ntohs(a.sin_port);
        close(fd);
        if (port > 0 && port != avoid)
            return port;
    }
    return -1;
}

static int s_set(config_t *cfg, const char *key, const char *value) {
    char err[256];
    if (config_set(cfg, key, value, err, sizeof err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

/* Start one role: argv is `mpo ROLE --set key=value` for every key of cfg. */
static int s_spawn(launch_t *self, s_child_t *c) {
    config_t cfg = self->cfg;
    char id[64];
    /* children are quiet; the parent's line is the one users read */
    if (s_set(&cfg, "log_level", log_level >= LOG_DEBUG ? "info" : "warn") != 0)
        return -1;
    if (c->role != ROLE_LEARNER && (s_set(&cfg, "run_dir", "") != 0 || s_set(&cfg, "resume", "") != 0))
        return -1;
    if (c->role == ROLE_ACTOR) {
        /* fixed ids: reproducible seeds, readable stats */
        snprintf(id, sizeof id, "actor-%d", c->index);
        if (s_set(&cfg, "actor_id", id) != 0)
            return -1;
    }
    if (c->role == ROLE_EVALUATOR) { /* every eval_every updates: about that many env steps */
        char every[32];
        snprintf(every, sizeof every, "%lld", cfg.eval_every);
        if (s_set(&cfg, "actor_id", "evaluator") != 0 || s_set(&cfg, "evaluator", "1") != 0 ||
            s_set(&cfg, "evaluator_every", every) != 0)
            return -1;
    }
    size_t nkeys;
    const config_key_t *keys = config_keys(&nkeys);
    char **argv = calloc(2 * nkeys + 3, sizeof *argv);
    char *text = malloc(nkeys * (CONFIG_STR_MAX + 64));
    if (!argv || !text) {
        free(argv);
        free(text);
        log_error("out of memory");
        return -1;
    }
    int argc = 0;
    argv[argc++] = (char *)self->exe;
    argv[argc++] = (char *)s_role_names[c->role];
    for (size_t i = 0; i < nkeys; i++) {
        char *kv = text + i * (CONFIG_STR_MAX + 64), value[CONFIG_STR_MAX];
        config_get(&cfg, &keys[i], value, sizeof value);
        snprintf(kv, CONFIG_STR_MAX + 64, "%s=%s", keys[i].name, value);
        argv[argc++] = "--set";
        argv[argc++] = kv;
    }
    argv[argc] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) /* the parent died before prctl took effect */
            _exit(1);
        execv(self->exe, argv);
        fprintf(stderr, "mpo train: cannot start '%s': %s\n", self->exe, strerror(errno));
        _exit(127);
    }
    free(argv);
    free(text);
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        return -1;
    }
    c->pid = pid;
    return 0;
}

static void s_describe(const s_child_t *c, char *out, size_t outlen) {
    if (c->role == ROLE_ACTOR)
        snprintf(out, outlen, "actor %d (pid %d)", c->index, (int)c->pid);
    else if (c->role == ROLE_EVALUATOR)
        snprintf(out, outlen, "evaluator (pid %d)", (int)c->pid);
    else
        snprintf(out, outlen, "%s (pid %d)", s_role_names[c->role], (int)c->pid);
}

/* Record how a child ended; `expected` is true when we asked it to stop. */
static void s_reaped(s_child_t *c, int status, bool expected) {
    char who[64];
    s_describe(c, who, sizeof who);
    c->status = status;
    c->pid = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (!expected) {
            log_error("%s exited early", who);
            c->failed = true;
        }
        return;
    }
    c->failed = true;
    if (WIFEXITED(status))
        log_error("%s exited with status %d", who, WEXITSTATUS(status));
    else
        log_error("%s was killed by signal %d", who, WTERMSIG(status));
}

/* -1 when a child has ended on its own (the run cannot go on), else 0 */
static int s_check_children(launch_t *self) {
    int rc = 0;
    for (int i = 0; i < self->n_children; i++) {
        s_child_t *c = &self->children[i];
        int status;
        if (c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == c->pid) {
            s_reaped(c, status, false);
            rc = -1;
        }
    }
    return rc;
}

/* SIGTERM every live child of this role, wait for them, SIGKILL after STOP_GRACE_S. */
static void s_stop_role(launch_t *self, s_role_t role) {
    for (int i = 0; i < self->n_children; i++)
        if (self->children[i].role == role && self->children[i].pid > 0)
            kill(self->children[i].pid, SIGTERM);
    double t0 = clock_now();
    for (;;) {
        int alive = 0;
        for (int i = 0; i < self->n_children; i++) {
            s_child_t *c = &self->children[i];
            int status;
            if (c->role != role || c->pid <= 0)
                continue;
            if (waitpid(c->pid, &status, WNOHANG) == c->pid)
                s_reaped(c, status, true);
            else
                alive++;
        }
        if (!alive)
            return;
        if (clock_now() - t0 > STOP_GRACE_S) {
            for (int i = 0; i < self->n_children; i++) {
                s_child_t *c = &self->children[i];
                if (c->role != role || c->pid <= 0)
                    continue;
                char who[64];
                s_describe(c, who, sizeof who);
                log_warn("%s did not stop within %.0f s: killing it", who, STOP_GRACE_S);
                kill(c->pid, SIGKILL);
                int status;
                waitpid(c->pid, &status, 0);
                s_reaped(c, status, true);
            }
            return;
        }
        usleep(20000);
    }
}

/* Keep one stats request in flight: a new one when the last was answered STATS_PERIOD_S ago or went
 * unanswered for STATS_TIMEOUT_S; take the reply when it comes (waiting at most wait_s). */
static void s_stats_tick(launch_t *self, double wait_s) {
    char err[300];
    double now = clock_now();
    if ((!self->stats_pending && now - self->stats_sent >= STATS_PERIOD_S) ||
        (self->stats_pending && now - self->stats_sent > STATS_TIMEOUT_S)) {
        if (stats_client_request(self->stats, err, sizeof err) == 0) {
            self->stats_pending = true;
            self->stats_sent = now;
        }
    }
    int got = stats_client_poll(self->stats, wait_s, err, sizeof err);
    if (got < 0) {
        log_warn("replay server: %s", err);
        self->stats_pending = false;
        return;
    }
    if (got == 0)
        return;
    const Mpo__StatsReply *r = stats_client_reply(self->stats);
    s_stats_t *st = &self->st;
    st->inserts = stats_reply_value(r, "inserts_total", st->inserts);
    st->updates = stats_reply_value(r, "learner_updates", st->updates);
    st->actors = stats_reply_value(r, "actors_connected", st->actors);
    double sum = 0;
    for (size_t i = 0; i < r->n_recent_returns; i++)
        sum += r->recent_returns[i];
    st->n_returns = (int)r->n_recent_returns;
    st->return_mean = st->n_returns ? sum / st->n_returns : 0;
    st->valid = true;
    self->stats_pending = false;
}

static void s_launch_destroy(launch_t *self) {
    stats_client_destroy(&self->stats);
    free(self->children);
    self->children = NULL;
}

/* The final evaluation: the learner's last checkpoint, deterministic, as the sync trainer does. */
static int s_evaluate(const launch_t *self, double wall, double *mean_out) {
    const config_t *cfg = &self->cfg;
    char err[512], path[CONFIG_STR_MAX + 32];
    const env_ops_t *ops = env_find(cfg->env);
    mpo_params_t params;
    mpo_t *mpo = ops && mpo_params_from_config(cfg, ops->spec, &params, err, sizeof err) == 0
                     ? mpo_new(&params, err, sizeof err)
                     : NULL;
    if (!mpo) {
        log_error("evaluation: %s", ops ? err : "unknown environment");
        return -1;
    }
    snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, cfg->checkpoint_dir);
    int rc = -1;
    double mean = 0, std = 0;
    uint64_t seed = (uint64_t)cfg->seed + EVALUATE_SEED_OFFSET; /* the sync trainer's evaluation seeds */
    if (checkpoint_load(mpo, path, err, sizeof err) != 0) {
        log_error("evaluation: %s", err);
    } else if (evaluate_policy(&mean, &std, cfg->env, mpo_actor_layout(mpo), mpo_actor_params(mpo),
                               (policy_type_t)policy_type_parse(cfg->policy), (int)cfg->eval_episodes, seed, err,
                               sizeof err) != 0) {
        log_error("evaluation: %s", err);
    } else {
        log_info("eval after %" PRId64 " updates: mean return %.2f ± %.2f over %lld episodes", mpo_updates(mpo), mean,
                 std, cfg->eval_episodes);
        run_csv_t *eval = NULL;
        if (run_csv_append(&eval, cfg, RUN_CSV_EVAL_FILE) == 0) { /* after the evaluator's rows */
            double row[RUN_CSV_COLUMNS(RUN_CSV_EVAL)] = {self->st.inserts, wall, mean, std, (double)cfg->eval_episodes};
            run_csv_row(eval, row, sizeof row / sizeof row[0], NULL);
            run_csv_destroy(&eval);
        }
        *mean_out = mean;
        rc = 0;
    }
    mpo_destroy(&mpo);
    return rc;
}

static void s_progress(const launch_t *self, double dt, double updates_then) {
    const s_stats_t *st = &self->st;
    log_info("steps %.0f/%lld | updates %.0f | %.1f upd/s | actors %.0f/%lld | return %.1f (last %d)", st->inserts,
             self->cfg.total_timesteps, st->updates, (st->updates - updates_then) / dt, st->actors, self->cfg.actors,
             st->return_mean, st->n_returns);
}

int launch_train(const config_t *cfg_in, volatile int *stop, const char *exe, double *final_return) {
    launch_t self_, *self = &self_;
    memset(self, 0, sizeof *self);
    self->cfg = *cfg_in;
    self->exe = realpath(exe, self->exe_path) ? self->exe_path : exe;
    config_t *cfg = &self->cfg;
    const env_ops_t *ops = env_find(cfg->env);
    if (!ops) {
        if (!strcmp(cfg->env, "external"))
            log_error("env external: mpo train has no actor for it; start mpo replay and mpo learner with "
                      "env = external and the Python actor (docs/python.md)");
        else
            log_error("unknown environment '%s' (`mpo envs` lists them)", cfg->env);
        return -1;
    }
    if (cfg->evaluator) { /* passed to every actor, it would make them all evaluators: nothing would train */
        log_error("evaluator=1 is an actor's key (mpo actor --evaluate); mpo train starts its own evaluator "
                  "when eval_every is set: use --set eval_every=N (learner updates between evaluations)");
        return -1;
    }
    int rport = s_free_port(-1), wport = s_free_port(rport);
    if (rport < 0 || wport < 0) {
        log_error("no free loopback port: %s", strerror(errno));
        return -1;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", rport);
    if (s_set(cfg, "replay_bind", ep) || s_set(cfg, "replay_endpoint", ep))
        return -1;
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", wport);
    if (s_set(cfg, "weights_bind", ep) || s_set(cfg, "weights_endpoint", ep))
        return -1;
    /* keys configured for the run go to every role with the other keys, and serve this stats client */
    char err[512];
    curve_t curve;
    if (curve_from_config(&curve, cfg, CURVE_TO_REPLAY, err, sizeof err) != 0) {
        log_error("%s", err);
        return -1;
    }
    if (!cfg->checkpoint_dir[0]) {
        snprintf(self->tmp_dir, sizeof self->tmp_dir, "/tmp/mpo-train-XXXXXX");
        if (!mkdtemp(self->tmp_dir) || s_set(cfg, "checkpoint_dir", self->tmp_dir)) {
            log_error("cannot make a temporary checkpoint directory: %s", strerror(errno));
            return -1;
        }
    }
    self->n_children = 2 + (int)cfg->actors + (cfg->eval_every > 0);
    self->children = calloc((size_t)self->n_children, sizeof *self->children);
    if (!self->children)
        return -1;
    self->children[0].role = ROLE_REPLAY;
    self->children[1].role = ROLE_LEARNER;
    for (int i = 0; i < cfg->actors; i++)
        self->children[2 + i] = (s_child_t){.role = ROLE_ACTOR, .index = i};
    if (cfg->eval_every > 0) /* the learner writes its results to eval.csv as they come */
        self->children[2 + cfg->actors] = (s_child_t){.role = ROLE_EVALUATOR};

    log_info("training %s seed %lld for %lld steps: replay on %s, learner weights on %s, %lld actors x %lld envs; "
             "checkpoints in %s",
             cfg->env, cfg->seed, cfg->total_timesteps, cfg->replay_bind, cfg->weights_bind, cfg->actors,
             cfg->num_envs, cfg->checkpoint_dir);
    double t0 = clock_now();
    int rc = 0;
    for (int i = 0; i < self->n_children && rc == 0; i++)
        rc = s_spawn(self, &self->children[i]);
    if (rc == 0 &&
        !(self->stats = stats_client_new(cfg->replay_endpoint, "train", cfg->env, &curve, err, sizeof err))) {
        log_error("%s", err);
        rc = -1;
    }
    explicit_bzero(&curve, sizeof curve);
    double last_log = t0, updates_at_log = 0, now;
    while (rc == 0 && !*stop) {
        s_stats_tick(self, 0.1);
        if (s_check_children(self) != 0) {
            rc = -1;
            break;
        }
        now = clock_now();
        if (now - last_log >= cfg->log_interval) {
            s_progress(self, now - last_log, updates_at_log);
            last_log = now;
            updates_at_log = self->st.updates;
        }
        if (self->st.valid && self->st.inserts >= (double)cfg->total_timesteps)
            break;
    }
    if (self->st.valid)
        s_progress(self, clock_now() - last_log > 0 ? clock_now() - last_log : 1, updates_at_log);
    /* actors first: nothing more to insert; then the learner, which checkpoints on SIGTERM */
    s_stop_role(self, ROLE_ACTOR);
    s_stop_role(self, ROLE_EVALUATOR);
    s_stop_role(self, ROLE_LEARNER);
    s_stop_role(self, ROLE_REPLAY);
    for (int i = 0; i < self->n_children; i++)
        if (self->children[i].failed)
            rc = -1;
    double wall = clock_now() - t0;
    log_info("done: %.0f steps, %.0f updates in %.1f s", self->st.inserts, self->st.updates, wall);
    double mean = 0;
    if (cfg->eval_episodes > 0 && s_evaluate(self, wall, &mean) != 0)
        rc = -1;
    else {
        printf("Mean reward: %.2f\n", mean);
        fflush(stdout);
        if (final_return)
            *final_return = mean;
    }
    if (self->tmp_dir[0]) {
        char path[CONFIG_STR_MAX + 32];
        for (int k = 0; k < CHECKPOINT_KEEP_MAX; k++) { /* learner.ckpt and the ones kept before it */
            snprintf(path, sizeof path, k ? "%s/" CHECKPOINT_FILE ".%d" : "%s/" CHECKPOINT_FILE, self->tmp_dir, k);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/" CHECKPOINT_STATE_FILE, self->tmp_dir);
        unlink(path);
        rmdir(self->tmp_dir);
    }
    s_launch_destroy(self);
    return rc;
}
