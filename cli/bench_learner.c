/* mpo bench learner: the distributed learner's updates/s against `mpo bench update`'s, same sizes,
 * same threads, same machine.
 *
 * `mpo replay` and `mpo learner` run as child processes over tcp loopback on the sizes-only
 * environment bench:OBS:ACT (env_sizes): the replay (rate limiter off) is filled once with random
 * transitions by a feeder in this process and then only serves samples, so the learner runs as fast
 * as it can. Its rate is updates_total over uptime_seconds between two of its stats lists (the
 * replay relays them; both figures of a list are taken at the same instant, so the window is exact
 * however late the list arrives). In alternating rounds the learner is stopped (SIGSTOP) and this
 * process times `mpo bench update`'s loop (bench_updater_t) for as long, so both rates meet the
 * same load on a shared machine. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli/bench.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/rng.h"
#include "common/stats_client.h"
#include "common/transition.h"
#include "common/wire.h"

#define FEED_BATCH 256
#define FEED_CREDIT 4
#define FEED_TIMEOUT_S 20.0
#define POINT_TIMEOUT_S 15.0
#define MAX_ROUNDS 64

typedef struct {
    int obs, act, batch, samples, hidden, threads, rounds, json, fill;
    double seconds;
    char exe[4096], env[64], replay_ep[64], weights_ep[64];
    pid_t replay, learner;
} s_bench_t;

/* a learner stats list as relayed by the replay: its figures at one instant */
typedef struct {
    double uptime, updates, wait, cpu;
} s_point_t;

/* one round's figures: rates, CPU seconds per update, the learner's wait for batches (fraction) */
typedef struct {
    double learner, update, learner_cpu, update_cpu, wait;
} s_round_t;

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: mpo bench learner [--obs N] [--act N] [--batch N] [--samples N] [--hidden N] [--threads N]\n"
            "                         [--seconds S] [--rounds R] [--json]\n"
            "Runs `mpo replay` (bench:OBS:ACT, rate limiter off, filled once with random transitions) and\n"
            "`mpo learner` with these sizes and threads over tcp loopback, and in R rounds (default 3) times\n"
            "the learner for S seconds (default 10) and, with the learner stopped, `mpo bench update`'s loop\n"
            "in this process for as long (in turn first and second). Prints both rates and learner / update\n"
            "per round, and the CPU time per update of each (all threads of the process).\n");
}

static void s_sleep(double s) {
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int s_free_port(int avoid) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_ROUTER);
    int port = -1;
    char ep[128];
    size_t len = sizeof ep;
    if (zmq_bind(s, "tcp://127.0.0.1:*") == 0 && zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) == 0)
        port = atoi(strrchr(ep, ':') + 1);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return port == avoid ? s_free_port(avoid) : port;
}

/* `mpo ROLE --set k=v ...`, quiet, killed with this process */
static pid_t s_spawn(const s_bench_t *b, const char *role, const char *const *sets) {
    const char *argv[64];
    int argc = 0;
    argv[argc++] = b->exe;
    argv[argc++] = role;
    for (int i = 0; sets[i] && argc < 62; i++) {
        argv[argc++] = "--set";
        argv[argc++] = sets[i];
    }
    argv[argc] = NULL;
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        execv(b->exe, (char *const *)argv);
        fprintf(stderr, "mpo bench learner: cannot start '%s': %s\n", b->exe, strerror(errno));
        _exit(127);
    }
    return pid;
}

static void s_stop_child(pid_t *pid) {
    if (*pid <= 0)
        return;
    kill(*pid, SIGCONT);
    kill(*pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return;
        }
        s_sleep(0.1);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

static Mpo__Message *s_recv(void *s, int timeout_ms) {
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    wire_rejection_t why;
    char reason[256];
    return wire_recv(s, &why, reason, sizeof reason);
}

/* fill the replay with b->fill random transitions, as an actor would, then go */
static int s_feed(const s_bench_t *b) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, rc = -1;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, b->replay_ep);
    size_t n = FEED_BATCH, floats = n * transition_floats(b->obs, b->act);
    float *block = malloc(floats * sizeof(float));
    rng_t rng;
    rng_seed(&rng, 2);
    for (size_t i = 0; i < floats; i++)
        block[i] = (float)rng_uniform_range(&rng, -1, 1);
    transition_batch_t t = transition_batch_view(block, (int)n, b->obs, b->act);
    for (size_t i = 0; i < n; i++)
        t.done[i] = 0;
    Mpo__Message m;
    Mpo__TransitionBatch tb;
    wire_init_message(&m);
    mpo__transition_batch__init(&tb);
    tb.n = (uint32_t)n;
    tb.obs = t.obs;
    tb.n_obs = n * (size_t)b->obs;
    tb.next_obs = t.next_obs;
    tb.n_next_obs = n * (size_t)b->obs;
    tb.action = t.action;
    tb.n_action = n * (size_t)b->act;
    tb.reward = t.reward;
    tb.n_reward = n;
    tb.done = t.done;
    tb.n_done = n;
    m.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
    m.transitions = &tb;
    double t0 = clock_now();
    int hello = 0, inflight = 0;
    long acked = 0;
    uint64_t seq = 0, incarnation = wire_incarnation();
    while (acked < b->fill && clock_now() - t0 < FEED_TIMEOUT_S) {
        if (!hello) /* the server may still be starting: say Hello until it answers */
            wire_send_hello(s, MPO__ROLE__ROLE_ACTOR, b->env, b->obs, b->act, "bench-feeder", incarnation);
        while (hello && inflight < FEED_CREDIT && (long)(seq * n) < b->fill) {
            tb.seq = ++seq;
            if (wire_send(s, NULL, 0, &m, 0) != 0)
                break;
            inflight++;
        }
        Mpo__Message *r = s_recv(s, 200);
        if (!r)
            continue;
        if (r->body_case == MPO__MESSAGE__BODY_ACK && !hello)
            hello = 1;
        else if (r->body_case == MPO__MESSAGE__BODY_ACK) {
            inflight--;
            acked += (long)n;
        } else if (r->body_case == MPO__MESSAGE__BODY_ERROR) {
            fprintf(stderr, "mpo bench learner: the replay refused the feed: %s\n", r->error->reason);
            wire_free(r);
            break;
        }
        wire_free(r);
    }
    if (acked >= b->fill)
        rc = 0;
    else
        fprintf(stderr, "mpo bench learner: %ld of %d transitions stored\n", acked, b->fill);
    free(block);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

static double s_list_value(const Mpo__StatsReply *r, const char *name, double missing) {
    for (size_t i = 0; i < r->n_learner_stats; i++)
        if (!strcmp(r->learner_stats[i]->name, name))
            return r->learner_stats[i]->value;
    return missing;
}

static double s_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* the first learner list newer than uptime `after`; -1 when none came within POINT_TIMEOUT_S */
static int s_point(stats_client_t *c, double after, s_point_t *p) {
    char err[256];
    double t0 = clock_now();
    while (clock_now() - t0 < POINT_TIMEOUT_S) {
        if (stats_client_ask(c, 3.0, NULL, err, sizeof err) == 0) {
            const Mpo__StatsReply *r = stats_client_reply(c);
            double up = s_list_value(r, "uptime_seconds", -1);
            if (up > after) {
                p->uptime = up;
                p->updates = s_list_value(r, "updates_total", 0);
                /* the update's own wait for a batch where the learner reports it, else its wait on the replay */
                p->wait = s_list_value(r, "batch_wait_seconds_total", s_list_value(r, "sample_wait_seconds_total", 0));
                p->cpu = s_list_value(r, "cpu_seconds_total", NAN);
                return 0;
            }
        }
        s_sleep(0.05);
    }
    return -1;
}

/* The learner for S seconds: a list newer than *seen (so taken after the learner was continued),
 * then the first one S seconds on. */
static int s_learner_window(stats_client_t *c, const s_bench_t *b, double *seen, s_round_t *r) {
    s_point_t p0, p1;
    if (s_point(c, *seen, &p0) != 0)
        return -1;
    s_sleep(b->seconds);
    if (s_point(c, p0.uptime + b->seconds - 0.5, &p1) != 0)
        return -1;
    *seen = p1.uptime;
    double dt = p1.uptime - p0.uptime, du = p1.updates - p0.updates;
    r->learner = du / dt;
    r->learner_cpu = (p1.cpu - p0.cpu) / du;
    r->wait = (p1.wait - p0.wait) / dt;
    return 0;
}

/* bench update's loop for S seconds with the learner stopped, then the learner continued */
static void s_update_window(const s_bench_t *b, bench_updater_t *u, s_round_t *r) {
    kill(b->learner, SIGSTOP);
    long n = 0;
    double cpu0 = s_cpu_now();
    r->update = bench_updater_run(u, b->seconds, &n);
    r->update_cpu = (s_cpu_now() - cpu0) / (double)n;
    kill(b->learner, SIGCONT);
    s_sleep(1.0); /* its threads back on the cores before its next window */
}

static int s_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double s_median(const double *v, int n) {
    double s[MAX_ROUNDS];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, s_cmp);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int s_parse(s_bench_t *b, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            s_usage(stdout);
            return 1;
        } else if (!strcmp(o, "--json")) {
            b->json = 1;
            continue;
        }
        static const char *const names[] = {"--obs", "--act", "--batch", "--samples", "--hidden",
                                            "--threads", "--rounds", "--seconds"};
        int *ints[] = {&b->obs, &b->act, &b->batch, &b->samples, &b->hidden, &b->threads, &b->rounds};
        int k = -1;
        for (int j = 0; j < 8; j++)
            if (!strcmp(o, names[j]))
                k = j;
        double v = k >= 0 && i + 1 < argc ? atof(argv[++i]) : 0;
        if (k < 0 || !(v > 0) || (k == 6 && v > MAX_ROUNDS)) {
            fprintf(stderr, "mpo bench learner: bad option '%s' (mpo bench learner --help)\n", o);
            return -1;
        }
        if (k == 7)
            b->seconds = v;
        else
            *ints[k] = (int)v;
    }
    return 0;
}

int bench_learner_main(int argc, char **argv) {
    s_bench_t b = {.obs = 17, .act = 6, .batch = 256, .samples = 20, .hidden = 256, .threads = 1, .rounds = 3,
                   .seconds = 10};
    int parsed = s_parse(&b, argc, argv);
    if (parsed != 0)
        return parsed < 0 ? 2 : 0;
    ssize_t len = readlink("/proc/self/exe", b.exe, sizeof b.exe - 1);
    if (len <= 0) {
        fprintf(stderr, "mpo bench learner: cannot find this program: %s\n", strerror(errno));
        return 1;
    }
    b.exe[len] = 0;
    b.fill = b.batch * 40 > 20000 ? b.batch * 40 : 20000;
    int rport = s_free_port(0), wport = s_free_port(rport);
    snprintf(b.env, sizeof b.env, "bench:%d:%d", b.obs, b.act);
    snprintf(b.replay_ep, sizeof b.replay_ep, "tcp://127.0.0.1:%d", rport);
    snprintf(b.weights_ep, sizeof b.weights_ep, "tcp://127.0.0.1:%d", wport);

    /* `mpo bench update` in this process first: its sizes check, and no child to clean up on failure */
    config_t cfg;
    config_defaults(&cfg);
    cfg.batch_size = b.batch;
    cfg.n_action_samples = b.samples;
    cfg.hidden = b.hidden;
    cfg.threads = b.threads;
    char err[256];
    bench_updater_t *u = bench_updater_new(&cfg, b.obs, b.act, err, sizeof err);
    if (!u) {
        fprintf(stderr, "mpo bench learner: %s\n", err);
        return 1;
    }

    char s_env[96], s_bind[96], s_rep[96], s_wb[96], s_batch[64], s_n[64], s_h[64], s_t[64], s_buf[64];
    snprintf(s_env, sizeof s_env, "env=%s", b.env);
    snprintf(s_bind, sizeof s_bind, "replay_bind=%s", b.replay_ep);
    snprintf(s_rep, sizeof s_rep, "replay_endpoint=%s", b.replay_ep);
    snprintf(s_wb, sizeof s_wb, "weights_bind=%s", b.weights_ep);
    snprintf(s_batch, sizeof s_batch, "batch_size=%d", b.batch);
    snprintf(s_n, sizeof s_n, "n_action_samples=%d", b.samples);
    snprintf(s_h, sizeof s_h, "hidden=%d", b.hidden);
    snprintf(s_t, sizeof s_t, "threads=%d", b.threads);
    snprintf(s_buf, sizeof s_buf, "buffer_size=%d", b.fill);
    const char *replay_sets[] = {s_env, s_bind, "samples_per_insert=0", "learning_starts=1000", s_buf, s_batch,
                                 "actor_batch=256", "stats_interval=86400", "metrics_port=0", "log_level=warn",
                                 NULL};
    const char *learner_sets[] = {s_env, s_rep, s_wb, s_batch, s_n, s_h, s_t, "checkpoint_dir=", "run_dir=",
                                  "resume=", "metrics_port=0", "log_level=warn", NULL};
    int rc = 1;
    stats_client_t *c = NULL;
    s_round_t rd[MAX_ROUNDS];
    b.replay = s_spawn(&b, "replay", replay_sets);
    if (b.replay <= 0 || s_feed(&b) != 0)
        goto done;
    b.learner = s_spawn(&b, "learner", learner_sets);
    c = stats_client_new(b.replay_ep, "bench-learner", b.env, NULL, err, sizeof err);
    s_point_t p0;
    if (b.learner <= 0 || !c || s_point(c, 2.0, &p0) != 0) { /* two seconds of warm-up */
        fprintf(stderr, "mpo bench learner: no stats from the learner%s%s\n", c ? "" : ": ", c ? "" : err);
        goto done;
    }
    double seen = p0.uptime;
    double lr[MAX_ROUNDS], ur[MAX_ROUNDS], ratio[MAX_ROUNDS], cpu_ratio[MAX_ROUNDS], lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < b.rounds; r++) {
        s_round_t *x = &rd[r];
        if (r % 2) /* in turn second and first, so a trend in the machine's load favours neither */
            s_update_window(&b, u, x);
        if (s_learner_window(c, &b, &seen, x) != 0) {
            fprintf(stderr, "mpo bench learner: the learner's stats stopped\n");
            goto done;
        }
        if (r % 2 == 0)
            s_update_window(&b, u, x);
        lr[r] = x->learner;
        ur[r] = x->update;
        ratio[r] = x->learner / x->update;
        cpu_ratio[r] = x->update_cpu / x->learner_cpu;
        lo = fmin(lo, ratio[r]);
        hi = fmax(hi, ratio[r]);
        if (!b.json)
            printf("round %d: learner %.2f updates/s (%.1f ms CPU each, waited for batches %.1f%% of the time), "
                   "bench update %.2f updates/s (%.1f ms CPU each): %.3f\n",
                   r + 1, x->learner, 1e3 * x->learner_cpu, 100 * x->wait, x->update, 1e3 * x->update_cpu, ratio[r]);
        fflush(stdout);
    }
    char cpu[128];
    bench_cpu_model(cpu, sizeof cpu);
    double lm = s_median(lr, b.rounds), um = s_median(ur, b.rounds), rm = s_median(ratio, b.rounds);
    double cm = s_median(cpu_ratio, b.rounds);
    if (b.json)
        printf("{\"bench\":\"learner\",\"obs\":%d,\"act\":%d,\"batch\":%d,\"samples\":%d,\"hidden\":%d,\"threads\":%d,"
               "\"rounds\":%d,\"seconds\":%.1f,\"learner_updates_per_s\":%.3f,\"update_updates_per_s\":%.3f,"
               "\"ratio\":%.3f,\"ratio_min\":%.3f,\"ratio_max\":%.3f,\"cpu_ratio\":%.3f,\"cpu\":\"%s\"}\n",
               b.obs, b.act, b.batch, b.samples, b.hidden, b.threads, b.rounds, b.seconds, lm, um, rm, lo, hi, cm,
               cpu);
    else
        printf("learner obs %d act %d batch %d N %d hidden %d threads %d, %d rounds of %.0f s: learner %.2f "
               "updates/s, bench update %.2f updates/s (medians); learner / update %.3f (rounds %.3f-%.3f); "
               "updates per CPU second, learner / update %.3f; on %s\n",
               b.obs, b.act, b.batch, b.samples, b.hidden, b.threads, b.rounds, b.seconds, lm, um, rm, lo, hi, cm, cpu);
    rc = 0;
done:
    stats_client_destroy(&c);
    s_stop_child(&b.learner);
    s_stop_child(&b.replay);
    bench_updater_destroy(&u);
    return rc;
}
