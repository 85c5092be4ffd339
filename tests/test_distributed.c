/* distributed: the real programs over loopback. `mpo replay`, `mpo learner` and two `mpo actor`
 * processes on Pendulum-v1 with small networks for a few thousand steps, then the end-to-end
 * counts from the replay server's stats: what the actors sent is what was stored (no loss, no
 * duplicates), every actor acts with learner weights, the learner's updates follow the
 * samples-per-insert ratio, SIGTERM stops every process cleanly and quickly, and the learner's
 * checkpoint resumes with its update count. MPO_BIN names the program (build/mpo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/stats_client.h"
#include "common/wire.h"
#include "learner/checkpoint.h"
#include "nn/mlp.h"

#define STEPS 3000
#define LEARNING_STARTS 200
#define BATCH 32
#define TOLERANCE 200   /* rate_limit_tolerance, transitions */
#define PREFETCH 4
#define MAX_ARGS 64

static const char *s_bin;
static char s_dir[64];
static char s_replay_ep[64], s_replay_bind[64], s_weights_ep[64], s_weights_bind[64];

/* every process started and not yet reaped, killed by the teardown when an assertion fails */
static pid_t s_pids[16];

static void s_track(pid_t pid, bool add) {
    for (int i = 0; i < 16; i++)
        if (add ? s_pids[i] == 0 : s_pids[i] == pid) {
            s_pids[i] = add ? pid : 0;
            return;
        }
}

static void s_kill_all(void) {
    for (int i = 0; i < 16; i++)
        if (s_pids[i] > 0) {
            kill(s_pids[i], SIGKILL);
            waitpid(s_pids[i], NULL, 0);
            s_pids[i] = 0;
        }
}

static int s_free_port(int avoid) {
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        close(fd);
        if (ntohs(a.sin_port) != avoid)
            return ntohs(a.sin_port);
    }
}

/* mpo ROLE with the shared settings plus `extra` (NULL-terminated), output to DIR/LOG; inside
 * network namespace `ns` when not NULL (`ip netns exec` execs the program, so the pid is mpo's) */
static pid_t s_start_in(const char *ns, const char *role, const char *log, const char *const *extra) {
    static const char *const common[] = {
        "env=Pendulum-v1", "hidden=32", "batch_size=32", "n_action_samples=5", "learning_starts=200",
        "rate_limit_tolerance=200", "sample_prefetch=4", "log_interval=1", "weight_sync_period=20",
        "weight_publish_interval=0.5", "actor_batch=64", "actor_credit=2", "log_level=info",
        NULL};
    char endpoints[4][96];
    snprintf(endpoints[0], sizeof endpoints[0], "replay_bind=%s", s_replay_bind);
    snprintf(endpoints[1], sizeof endpoints[1], "replay_endpoint=%s", s_replay_ep);
    snprintf(endpoints[2], sizeof endpoints[2], "weights_bind=%s", s_weights_bind);
    snprintf(endpoints[3], sizeof endpoints[3], "weights_endpoint=%s", s_weights_ep);
    const char *argv[MAX_ARGS];
    int argc = 0;
    if (ns) {
        argv[argc++] = "ip", argv[argc++] = "netns", argv[argc++] = "exec", argv[argc++] = ns;
    }
    argv[argc++] = s_bin;
    argv[argc++] = role;
    for (int i = 0; common[i]; i++)
        argv[argc++] = "--set", argv[argc++] = common[i];
    for (int i = 0; i < 4; i++)
        argv[argc++] = "--set", argv[argc++] = endpoints[i];
    for (int i = 0; extra && extra[i]; i++)
        argv[argc++] = "--set", argv[argc++] = extra[i];
    argv[argc] = NULL;
    assert_true(argc < MAX_ARGS);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    s_track(pid, true);
    return pid;
}

static pid_t s_start(const char *role, const char *log, const char *const *extra) {
    return s_start_in(NULL, role, log, extra);
}

/* SIGTERM, then the exit status within `limit` seconds (-1: still running, killed) */
static int s_stop(pid_t pid, double limit, double *took) {
    s_track(pid, false);
    kill(pid, SIGTERM);
    double t0 = clock_now();
    int status;
    while (clock_now() - t0 < limit) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            *took = clock_now() - t0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    *took = clock_now() - t0;
    return -1;
}

/* the next StatsReply through the stats client (NULL after 2 s); owned by the client */
static const Mpo__StatsReply *s_stats(stats_client_t *c) {
    char err[300];
    return stats_client_ask(c, 2.0, NULL, err, sizeof err) == 0 ? stats_client_reply(c) : NULL;
}

static double s_stat(const Mpo__StatsReply *r, const char *name) {
    double v = stats_reply_value(r, name, NAN);
    if (isnan(v))
        fail_msg("no stat '%s' in the reply", name);
    return v;
}

/* `key value` from DIR/FILE */
static long long s_state_value(const char *dir, const char *key) {
    char path[256], k[64];
    long long v, out = -1;
    snprintf(path, sizeof path, "%s/" CHECKPOINT_STATE_FILE, dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fscanf(f, "%63s %lld", k, &v) == 2)
        if (!strcmp(k, key))
            out = v;
    fclose(f);
    return out;
}

static void s_dump_logs(void) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "for f in %s/*.log; do echo \"--- $f\"; tail -n 15 \"$f\"; done", s_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot show the logs)\n");
}

static void s_pick_endpoints(void) {
    int r = s_free_port(-1), w = s_free_port(r);
    snprintf(s_replay_bind, sizeof s_replay_bind, "tcp://127.0.0.1:%d", r);
    snprintf(s_replay_ep, sizeof s_replay_ep, "tcp://127.0.0.1:%d", r);
    snprintf(s_weights_bind, sizeof s_weights_bind, "tcp://127.0.0.1:%d", w);
    snprintf(s_weights_ep, sizeof s_weights_ep, "tcp://127.0.0.1:%d", w);
}

/* The whole check: ns[4] are the namespaces of replay, learner, actor a, actor b (NULL: here);
 * `tag` keeps the two runs' files apart. */
static void s_cluster(const char *const *ns, const char *tag) {
    char ckpt[128], ckpt_arg[160], ckpt2[128], ckpt2_arg[160], resume_arg[160], log[4][64];
    snprintf(ckpt, sizeof ckpt, "%s/%s-ckpt", s_dir, tag);
    snprintf(ckpt_arg, sizeof ckpt_arg, "checkpoint_dir=%s", ckpt);
    const char *roles[4] = {"replay", "learner", "actor-a", "actor-b"};
    for (int i = 0; i < 4; i++)
        snprintf(log[i], sizeof log[i], "%s-%s.log", tag, roles[i]);
    const char *learner_extra[] = {ckpt_arg, NULL};
    const char *a0[] = {"actor_id=actor-a", "seed=1", NULL};
    const char *a1[] = {"actor_id=actor-b", "seed=2", "num_envs=2", NULL};
    pid_t replay = s_start_in(ns[0], "replay", log[0], NULL);
    pid_t learner = s_start_in(ns[1], "learner", log[1], learner_extra);
    pid_t actors[2] = {s_start_in(ns[2], "actor", log[2], a0), s_start_in(ns[3], "actor", log[3], a1)};

    char err[300];
    stats_client_t *c = stats_client_new(s_replay_ep, "test", NULL, NULL, err, sizeof err);
    assert_non_null(c);
    /* run until STEPS are stored and both actors act with learner weights */
    double t0 = clock_now();
    bool ready = false;
    while (!ready && clock_now() - t0 < 150) {
        usleep(200000);
        const Mpo__StatsReply *m = s_stats(c);
        if (!m)
            continue;
        int with_weights = 0;
        for (size_t i = 0; i < m->n_actors; i++)
            with_weights += m->actors[i]->policy_version > 0;
        ready = s_stat(m, "inserts_total") >= STEPS && with_weights == 2;
    }
    if (!ready)
        s_dump_logs();
    assert_true(ready);

    double took;
    for (int i = 0; i < 2; i++) {
        int rc = s_stop(actors[i], 5.0, &took);
        if (rc != 0)
            s_dump_logs();
        assert_int_equal(rc, 0);
        printf("   actor %d stopped in %.2f s\n", i, took);
    }
    /* let the learner drain what the rate limiter still allows */
    sleep(2);
    const Mpo__StatsReply *r = s_stats(c);
    assert_non_null(r);
    double inserts = s_stat(r, "inserts_total"), dups = s_stat(r, "duplicates_total");
    double updates = s_stat(r, "learner_updates");
    uint64_t sent = 0;
    assert_int_equal(r->n_actors, 2);
    for (size_t i = 0; i < r->n_actors; i++) {
        sent += r->actors[i]->transitions;
        assert_true(r->actors[i]->policy_version > 0);
        printf("   %s: %llu transitions, weights v%llu\n", r->actors[i]->id,
               (unsigned long long)r->actors[i]->transitions, (unsigned long long)r->actors[i]->policy_version);
    }
    /* SPI = batch_size (the default): one update per inserted transition past learning_starts */
    double expected = inserts - LEARNING_STARTS;
    printf("   inserts %.0f (sum over actors %llu), duplicates %.0f, updates %.0f (expected %.0f ± %d)\n", inserts,
           (unsigned long long)sent, dups, updates, expected, TOLERANCE);
    assert_true(inserts >= STEPS);
    assert_true((double)sent == inserts);
    assert_true(dups == 0);
    assert_true(fabs(updates - expected) <= TOLERANCE + 2 * PREFETCH + BATCH);
    /* the learner's and each actor's own figures, relayed by the replay for mpo stat; each rides on
     * a message at most once a second, and this run can be shorter than that, so the lists may be
     * the first ones sent */
    double learner_updates = -1, actor_steps = 0;
    for (size_t i = 0; i < r->n_learner_stats; i++)
        if (!strcmp(r->learner_stats[i]->name, "updates_total"))
            learner_updates = r->learner_stats[i]->value;
    printf("   learner reports %zu figures (updates_total %.0f)\n", r->n_learner_stats, learner_updates);
    assert_true(r->n_learner_stats >= 20);
    assert_true(learner_updates >= 0 && learner_updates <= updates + PREFETCH + BATCH);
    for (size_t i = 0; i < r->n_actors; i++) {
        double steps = -1;
        for (size_t k = 0; k < r->actors[i]->n_stats; k++)
            if (!strcmp(r->actors[i]->stats[k]->name, "env_steps_total"))
                steps = r->actors[i]->stats[k]->value;
        assert_true(steps > 0); /* the first batch carries the actor's list */
        actor_steps += steps;
    }
    assert_true(actor_steps <= inserts + 2 * 64 * 2); /* no more than stored plus what was in flight */

    int rc = s_stop(learner, 5.0, &took);
    printf("   learner stopped in %.2f s\n", took);
    assert_int_equal(rc, 0);
    long long saved = s_state_value(ckpt, "updates"), version = s_state_value(ckpt, "weights_version");
    char path[256];
    snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, ckpt);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    printf("   checkpoint: %lld updates, weights v%lld\n", saved, version);
    assert_true(saved >= updates - PREFETCH && version > 0);

    /* resume: a fresh learner from the checkpoint goes on from its update count */
    snprintf(ckpt2, sizeof ckpt2, "%s/%s-ckpt2", s_dir, tag);
    snprintf(ckpt2_arg, sizeof ckpt2_arg, "checkpoint_dir=%s", ckpt2);
    snprintf(resume_arg, sizeof resume_arg, "resume=%s", ckpt);
    const char *resume_extra[] = {ckpt2_arg, resume_arg, NULL};
    snprintf(log[1], sizeof log[1], "%s-learner-resumed.log", tag);
    snprintf(log[2], sizeof log[2], "%s-actor-c.log", tag);
    learner = s_start_in(ns[1], "learner", log[1], resume_extra);
    pid_t actor = s_start_in(ns[2], "actor", log[2], (const char *[]){"actor_id=actor-c", NULL});
    t0 = clock_now();
    double resumed_updates = 0;
    while (clock_now() - t0 < 60 && resumed_updates <= saved + 50) {
        usleep(200000);
        const Mpo__StatsReply *m2 = s_stats(c);
        if (m2)
            resumed_updates = s_stat(m2, "learner_updates");
    }
    assert_int_equal(s_stop(actor, 5.0, &took), 0);
    /* the resumed learner dies without a goodbye: its state file must still name a version at or
     * above every version an actor acted with, so that the next resume never reuses one */
    s_track(learner, false);
    kill(learner, SIGKILL);
    waitpid(learner, NULL, 0);
    uint64_t seen = 0;
    const Mpo__StatsReply *r2 = s_stats(c);
    assert_non_null(r2);
    for (size_t i = 0; i < r2->n_actors; i++)
        seen = r2->actors[i]->policy_version > seen ? r2->actors[i]->policy_version : seen;
    long long after = s_state_value(ckpt2, "updates"), version2 = s_state_value(ckpt2, "weights_version");
    printf("   resumed, then killed: %.0f updates seen by the replay, state %lld updates, weights v%lld (actors saw "
           "up to v%llu)\n", resumed_updates, after, version2, (unsigned long long)seen);
    assert_true(resumed_updates > saved);
    assert_true(after > saved);
    assert_true(version2 > version);
    assert_true((long long)seen <= version2);

    stats_client_destroy(&c);
    rc = s_stop(replay, 5.0, &took);
    printf("   replay stopped in %.2f s\n", took);
    assert_int_equal(rc, 0);
}

static void test_loopback(void **state) {
    (void)state;
    s_pick_endpoints();
    const char *ns[4] = {NULL, NULL, NULL, NULL};
    s_cluster(ns, "lo");
}

/* Multi-host: replay, learner and the two actors each in its own network namespace with its own
 * address on 10.77.0.0/24, joined by veth pairs to a bridge in a hub namespace; this process
 * reaches the replay server through one more veth pair (10.77.0.254). */
static char s_ns[5][32];
static int s_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_sh(const char *fmt, ...) {
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "   command failed (%d): %s\n", rc, cmd);
    return rc;
}

static void s_netns_down(void) {
    for (int i = 0; i < 5; i++)
        if (s_ns[i][0])
            s_sh("ip netns del %s 2>/dev/null || true", s_ns[i]);
    s_sh("ip link del mpo%dr 2>/dev/null || true", (int)getpid());
}

static int s_netns_up(void) {
    int pid = (int)getpid();
    const char *names[5] = {"hub", "rep", "lrn", "a0", "a1"};
    for (int i = 0; i < 5; i++)
        snprintf(s_ns[i], sizeof s_ns[i], "mpo%d%s", pid, names[i]);
    const char *hub = s_ns[0];
    if (s_sh("ip netns add %s && ip -n %s link set lo up && ip -n %s link add br0 type bridge && "
             "ip -n %s link set br0 up", hub, hub, hub, hub))
        return -1;
    for (int i = 1; i < 5; i++) {
        const char *n = s_ns[i];
        if (s_sh("ip netns add %s && ip -n %s link set lo up && "
                 "ip link add mpo%dv%d type veth peer name mpo%dp%d && "
                 "ip link set mpo%dv%d netns %s && ip -n %s link set mpo%dv%d name eth0 && "
                 "ip -n %s addr add 10.77.0.%d/24 dev eth0 && ip -n %s link set eth0 up && "
                 "ip link set mpo%dp%d netns %s && ip -n %s link set mpo%dp%d master br0 up",
                 n, n, pid, i, pid, i, pid, i, n, n, pid, i, n, i, n, pid, i, hub, hub, pid, i))
            return -1;
    }
    if (s_sh("ip link add mpo%dr type veth peer name mpo%dq && ip link set mpo%dq netns %s && "
             "ip -n %s link set mpo%dq master br0 up && ip addr add 10.77.0.254/24 dev mpo%dr && "
             "ip link set mpo%dr up", pid, pid, pid, hub, hub, pid, pid, pid))
        return -1;
    return 0;
}

static void test_netns(void **state) {
    (void)state;
    if (geteuid() != 0) {
        printf("   skipped: network namespaces need root\n");
        skip();
    }
    if (system("ip netns list >/dev/null 2>&1") != 0) {
        printf("   skipped: `ip netns` is not available\n");
        skip();
    }
    if (s_netns_up() != 0) {
        s_netns_down();
        printf("   skipped: cannot build the namespaces (no bridge or veth support?)\n");
        skip();
    }
    /* namespaces have their own port spaces: fixed ports are free */
    snprintf(s_replay_bind, sizeof s_replay_bind, "tcp://10.77.0.1:5555");
    snprintf(s_replay_ep, sizeof s_replay_ep, "tcp://10.77.0.1:5555");
    snprintf(s_weights_bind, sizeof s_weights_bind, "tcp://10.77.0.2:5556");
    snprintf(s_weights_ep, sizeof s_weights_ep, "tcp://10.77.0.2:5556");
    const char *ns[4] = {s_ns[1], s_ns[2], s_ns[3], s_ns[4]};
    s_cluster(ns, "netns");
    s_netns_down();
}

/* a learner told to resume from a directory without a checkpoint says so in one line and fails */
static void test_resume_missing(void **state) {
    (void)state;
    s_pick_endpoints();
    char arg[160];
    snprintf(arg, sizeof arg, "resume=%s/nowhere", s_dir);
    const char *extra[] = {arg, "checkpoint_dir=", NULL};
    pid_t p = s_start("learner", "learner-missing.log", extra);
    int status;
    double t0 = clock_now();
    while (waitpid(p, &status, WNOHANG) != p) {
        if (clock_now() - t0 > 10) {
            fail_msg("a learner with a missing checkpoint kept running");
        }
        usleep(20000);
    }
    s_track(p, false);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/learner-missing.log", s_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool named = false;
    while (fgets(line, sizeof line, f))
        named |= strstr(line, "cannot resume") && strstr(line, "nowhere/" CHECKPOINT_FILE);
    fclose(f);
    assert_true(named);
}

/* PolicyWeights for the cluster's Pendulum actor (hidden 32, layers 2, squashed) on pub: every
 * parameter 0.01, parameter 7 NaN when poisoned */
static void s_publish(void *pub, uint64_t version, bool poisoned) {
    mlp_t net;
    assert_int_equal(mlp_init(&net, 3, 32, 2, 2), 0);
    float *params = malloc(net.n_params * sizeof(float));
    assert_non_null(params);
    for (size_t i = 0; i < net.n_params; i++)
        params[i] = 0.01f;
    if (poisoned)
        params[7] = NAN;
    Mpo__PolicyLayout layout = MPO__POLICY_LAYOUT__INIT;
    layout.obs_dim = 3, layout.act_dim = 1, layout.hidden = 32, layout.layers = 2;
    layout.policy = "squashed", layout.min_std = 0.001f, layout.env = "Pendulum-v1";
    Mpo__PolicyWeights w = MPO__POLICY_WEIGHTS__INIT;
    w.version = version, w.layout = &layout, w.n_params = net.n_params, w.params = params;
    Mpo__Message m;
    wire_init_message(&m);
    m.body_case = MPO__MESSAGE__BODY_WEIGHTS;
    m.weights = &w;
    assert_int_equal(wire_send(pub, NULL, 0, &m, 0), 0);
    free(params);
}

/* the actor's own figure `name`, relayed by the replay; NaN before its first list */
static double s_actor_figure(const Mpo__StatsReply *r, const char *name) {
    for (size_t i = 0; r && i < r->n_actors; i++)
        for (size_t k = 0; k < r->actors[i]->n_stats; k++)
            if (!strcmp(r->actors[i]->stats[k]->name, name))
                return r->actors[i]->stats[k]->value;
    return NAN;
}

/* A learner gone bad publishes weights with a NaN: a real actor process keeps acting with the
 * weights it holds (its version stays), counts the refusal, and goes on inserting. */
static void test_actor_refuses_nan_weights(void **state) {
    (void)state;
    s_pick_endpoints();
    void *ctx = zmq_ctx_new(), *pub = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(pub, s_weights_bind), 0);
    pid_t replay = s_start("replay", "poison-replay.log", (const char *[]){"samples_per_insert=0", NULL});
    pid_t actor = s_start("actor", "poison-actor.log", (const char *[]){"actor_id=actor-p", NULL});
    char err[256];
    stats_client_t *c = stats_client_new(s_replay_ep, "test", NULL, NULL, err, sizeof err);
    assert_non_null(c);
    double t0 = clock_now(), version = 0;
    while (version != 1 && clock_now() - t0 < 15) { /* good weights, until the actor acts with them */
        s_publish(pub, 1, false);
        usleep(200000);
        const Mpo__StatsReply *r = s_stats(c);
        version = r && r->n_actors == 1 ? (double)r->actors[0]->policy_version : 0;
    }
    assert_true(version == 1);
    double refused = 0, transitions = 0;
    t0 = clock_now();
    while (!(refused >= 1) && clock_now() - t0 < 15) {
        s_publish(pub, 2, true);
        usleep(200000);
        const Mpo__StatsReply *r = s_stats(c);
        refused = s_actor_figure(r, "weights_refused_total");
        if (r && r->n_actors == 1) {
            version = (double)r->actors[0]->policy_version;
            transitions = (double)r->actors[0]->transitions;
        }
    }
    printf("   poisoned weights: refused %.0f times, the actor still acts with v%.0f\n", refused, version);
    assert_true(refused >= 1);
    assert_true(version == 1);
    usleep(500000);
    const Mpo__StatsReply *r = s_stats(c);
    assert_non_null(r);
    assert_true((double)r->actors[0]->transitions > transitions); /* still inserting */
    assert_true(r->actors[0]->policy_version == 1);
    double took;
    assert_int_equal(s_stop(actor, 5.0, &took), 0);
    assert_int_equal(s_stop(replay, 5.0, &took), 0);
    stats_client_destroy(&c);
    zmq_close(pub);
    zmq_ctx_term(ctx);
}

/* also after a failed assertion: no namespace outlives the test */
static int s_netns_teardown(void **state) {
    (void)state;
    s_kill_all();
    s_netns_down();
    return 0;
}

static int s_setup(void **state) {
    (void)state;
    s_bin = getenv("MPO_BIN") ? getenv("MPO_BIN") : "build/mpo";
    if (access(s_bin, X_OK) != 0) {
        fprintf(stderr, "MPO_BIN '%s' is not an executable\n", s_bin);
        return -1;
    }
    snprintf(s_dir, sizeof s_dir, "/tmp/mpo-test-distributed-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_kill_teardown(void **state) {
    (void)state;
    s_kill_all();
    return 0;
}

static int s_teardown(void **state) {
    (void)state;
    s_kill_all();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_resume_missing, s_kill_teardown),
        cmocka_unit_test_teardown(test_loopback, s_kill_teardown),
        cmocka_unit_test_teardown(test_actor_refuses_nan_weights, s_kill_teardown),
        cmocka_unit_test_teardown(test_netns, s_netns_teardown),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
