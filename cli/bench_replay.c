/* bench replay: the replay server's insert and sample rates over tcp loopback, and what one
 * message costs it.
 *
 * A real replay server runs in a thread (rate limiter off, so the figures are the server's own
 * speed), N sender threads stream transition batches of actor_batch transitions with actor_credit
 * unacknowledged each (as actors do), and one sampler thread keeps sample_prefetch requests of
 * batch_size in flight (as the learner does); the defaults are the config's. The server learns the
 * synthetic sizes from the environment name "bench:OBS:ACT" (env_sizes, env/env.h).
 *
 * Besides the rates it reports the server thread's CPU time per message handled (a TransitionBatch
 * or a SampleRequest, each answered), which does not depend on how many cores the clients leave
 * it, and the heap allocations made on the server thread per message (cli/bench_alloc.c). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "cli/bench.h"
#include "common/config.h"
#include "common/log.h"
#include "common/transition.h"
#include "common/wire.h"
#include "replay/server.h"

#define BENCH_WARMUP_S 0.5        /* at least */
#define BENCH_WARMUP_MAX_S 30.0   /* at most, waiting for the ring to fill */
#define BENCH_CAPACITY 1000000    /* the ring: buffer_size's default */

typedef struct {
    char endpoint[64], env[64];
    int obs, act, batch, sample_batch, credit, prefetch;
    atomic_int stop;
    atomic_ullong inserted; /* transitions acknowledged */
    atomic_ullong acked;    /* transition batches acknowledged */
    atomic_ullong sampled;  /* sample batches received */
    atomic_int failed;
    void *ctx;
} s_bench_t;

typedef struct {
    s_bench_t *b;
    int index;
} s_sender_arg_t;

static void s_sleep(double s) {
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void *s_client(s_bench_t *b) {
    void *s = zmq_socket(b->ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, b->endpoint);
    return s;
}

/* the next message within timeout_ms (NULL on none), decoded into d: valid until the next s_recv */
static Mpo__Message *s_recv(void *s, wire_decoder_t *d, int timeout_ms) {
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    wire_rejection_t why;
    char reason[256];
    return wire_recv_into(s, d, &why, reason, sizeof reason);
}

static int s_hello(s_bench_t *b, void *s, wire_decoder_t *d, Mpo__Role role, const char *id) {
    /* the server may still be starting: say Hello until it answers, as one process (incarnation) */
    uint64_t incarnation = role == MPO__ROLE__ROLE_ACTOR ? wire_incarnation() : 0;
    for (int tries = 0; tries < 50 && !atomic_load(&b->stop); tries++) {
        wire_send_hello(s, role, b->env, b->obs, b->act, id, incarnation);
        Mpo__Message *r = s_recv(s, d, 200);
        if (!r)
            continue;
        int ok = r->body_case == MPO__MESSAGE__BODY_ACK;
        if (!ok)
            fprintf(stderr, "bench replay: hello refused: %s\n",
                    r->body_case == MPO__MESSAGE__BODY_ERROR ? r->error->reason : "?");
        return ok ? 0 : -1;
    }
    return -1;
}

static void *s_sender(void *arg) {
    s_sender_arg_t *sa = arg;
    s_bench_t *b = sa->b;
    pthread_setname_np(pthread_self(), "bench-sender");
    void *s = s_client(b);
    wire_decoder_t *d = wire_decoder_new(WIRE_DECODE_SLACK); /* Acks and Errors: small */
    char id[32];
    snprintf(id, sizeof id, "bench-sender-%d", sa->index);
    if (!d || s_hello(b, s, d, MPO__ROLE__ROLE_ACTOR, id) != 0) {
        atomic_store(&b->failed, 1);
        wire_decoder_destroy(&d);
        zmq_close(s);
        return NULL;
    }
    size_t n = (size_t)b->batch, S = n * b->obs, A = n * b->act;
    float *data = malloc((2 * S + A + 2 * n) * sizeof(float));
    for (size_t i = 0; i < 2 * S + A + 2 * n; i++)
        data[i] = (float)((i * 2654435761u) % 1000) * 1e-3f;
    Mpo__Message m;
    Mpo__TransitionBatch tb;
    wire_init_message(&m);
    mpo__transition_batch__init(&tb);
    tb.n = (uint32_t)n;
    tb.obs = data;
    tb.n_obs = S;
    tb.next_obs = data + S;
    tb.n_next_obs = S;
    tb.action = data + 2 * S;
    tb.n_action = A;
    tb.reward = data + 2 * S + A;
    tb.n_reward = n;
    tb.done = data + 2 * S + A + n;
    tb.n_done = n;
    for (size_t i = 0; i < n; i++)
        tb.done[i] = 0;
    m.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
    m.transitions = &tb;
    uint64_t seq = 0;
    int inflight = 0;
    while (!atomic_load(&b->stop)) {
        while (inflight < b->credit) {
            tb.seq = ++seq;
            if (wire_send(s, NULL, 0, &m, 0) != 0)
                break;
            inflight++;
        }
        Mpo__Message *r = s_recv(s, d, 100);
        if (!r)
            continue;
        if (r->body_case == MPO__MESSAGE__BODY_ACK) {
            inflight--;
            atomic_fetch_add(&b->inserted, n);
            atomic_fetch_add(&b->acked, 1);
        }
    }
    free(data);
    wire_decoder_destroy(&d);
    zmq_close(s);
    return NULL;
}

static void *s_sampler(void *arg) {
    s_bench_t *b = arg;
    pthread_setname_np(pthread_self(), "bench-sampler");
    void *s = s_client(b);
    wire_decoder_t *d = wire_decoder_new((size_t)WIRE_MAX_BATCH * transition_floats(b->obs, b->act) * sizeof(float));
    if (!d || s_hello(b, s, d, MPO__ROLE__ROLE_LEARNER, "bench-sampler") != 0) {
        atomic_store(&b->failed, 1);
        wire_decoder_destroy(&d);
        zmq_close(s);
        return NULL;
    }
    Mpo__Message m;
    Mpo__SampleRequest q;
    wire_init_message(&m);
    mpo__sample_request__init(&q);
    q.batch_size = (uint32_t)b->sample_batch;
    m.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
    m.sample_request = &q;
    int inflight = 0;
    while (!atomic_load(&b->stop)) {
        while (inflight < b->prefetch) {
            q.id++;
            if (wire_send(s, NULL, 0, &m, 0) != 0)
                break;
            inflight++;
        }
        Mpo__Message *r = s_recv(s, d, 100);
        if (!r)
            continue;
        if (r->body_case == MPO__MESSAGE__BODY_SAMPLE_BATCH) {
            inflight--;
            atomic_fetch_add(&b->sampled, 1);
        }
    }
    wire_decoder_destroy(&d);
    zmq_close(s);
    return NULL;
}

typedef struct {
    config_t cfg;
    volatile int stop;
    int rc;
} s_server_arg_t;

static void *s_server(void *arg) {
    s_server_arg_t *sa = arg;
    bench_alloc_count_this_thread(); /* the server's allocations, not the clients' */
    pthread_setname_np(pthread_self(), "bench-server"); /* for perf and top */
    sa->rc = replay_server_run(&sa->cfg, &sa->stop);
    return NULL;
}

static int s_free_port(void) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_ROUTER);
    int port = -1;
    if (zmq_bind(s, "tcp://127.0.0.1:*") == 0) {
        char ep[128];
        size_t len = sizeof ep;
        zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len);
        port = atoi(strrchr(ep, ':') + 1);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return port;
}

static void s_usage(const config_t *d) {
    printf("usage: mpo bench replay [--senders N] [--obs N] [--act N] [--batch N] [--credit N]\n"
           "                        [--sample-batch N] [--prefetch N] [--seconds S] [--json]\n"
           "A replay server in this process on tcp loopback (rate limiter off), N sender threads streaming\n"
           "batches of --batch transitions with --credit unacknowledged each (as actors do) and one sampler\n"
           "keeping --prefetch requests of --sample-batch in flight (as the learner does). Prints inserts/s,\n"
           "sample batches/s, the server thread's CPU time per message and its heap allocations per message.\n"
           "Defaults: 4 senders, HalfCheetah sizes obs 17 act 6, and the config's actor_batch %lld,\n"
           "actor_credit %lld, batch_size %lld, sample_prefetch %lld; a ring of %d transitions; 3 seconds,\n"
           "measured once the ring has filled (warm-up of %.1f to %.0f s).\n",
           d->actor_batch, d->actor_credit, d->batch_size, d->sample_prefetch, BENCH_CAPACITY, BENCH_WARMUP_S,
           BENCH_WARMUP_MAX_S);
}

static int s_int_arg(const char *name, const char *v, long lo, long hi, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) {
        fprintf(stderr, "mpo bench replay: %s '%s': expected %ld..%ld\n", name, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* what the counters and clocks read at one instant */
typedef struct {
    double wall, server_cpu, process_cpu;
    unsigned long long inserted, acked, sampled;
    bench_alloc_counts_t allocs;
} s_snap_t;

static double s_cpu(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static s_snap_t s_snap(s_bench_t *b, clockid_t server_clock) {
    return (s_snap_t){.wall = clock_now(),
                      .server_cpu = s_cpu(server_clock),
                      .process_cpu = s_cpu(CLOCK_PROCESS_CPUTIME_ID),
                      .inserted = atomic_load(&b->inserted),
                      .acked = atomic_load(&b->acked),
                      .sampled = atomic_load(&b->sampled),
                      .allocs = bench_alloc_counts()};
}

int bench_replay_main(int argc, char **argv) {
    config_t defaults;
    config_defaults(&defaults);
    int senders = 4, obs = 17, act = 6, json = 0;
    int batch = (int)defaults.actor_batch, credit = (int)defaults.actor_credit;
    int sample_batch = (int)defaults.batch_size, prefetch = (int)defaults.sample_prefetch;
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(&defaults);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        } else if (!v) {
            bad = 1;
        } else if (!strcmp(a, "--senders")) {
            bad = s_int_arg(a, v, 1, 64, &senders);
        } else if (!strcmp(a, "--obs")) {
            bad = s_int_arg(a, v, 1, 4096, &obs);
        } else if (!strcmp(a, "--act")) {
            bad = s_int_arg(a, v, 1, 1024, &act);
        } else if (!strcmp(a, "--batch")) {
            bad = s_int_arg(a, v, 1, WIRE_MAX_BATCH, &batch);
        } else if (!strcmp(a, "--credit")) {
            bad = s_int_arg(a, v, 1, 64, &credit);
        } else if (!strcmp(a, "--sample-batch")) {
            bad = s_int_arg(a, v, 1, WIRE_MAX_BATCH, &sample_batch);
        } else if (!strcmp(a, "--prefetch")) {
            bad = s_int_arg(a, v, 1, 64, &prefetch);
        } else if (!strcmp(a, "--seconds")) {
            char *end;
            seconds = strtod(v, &end);
            bad = *end || !(seconds > 0 && seconds <= 3600);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "mpo bench replay: bad option '%s' (mpo bench replay --help)\n", a);
            return 1;
        }
        i++;
    }

    s_bench_t b;
    memset(&b, 0, sizeof b);
    b.obs = obs;
    b.act = act;
    b.batch = batch;
    b.sample_batch = sample_batch;
    b.credit = credit;
    b.prefetch = prefetch;
    int port = s_free_port();
    if (port < 0) {
        fprintf(stderr, "mpo bench replay: no free loopback port\n");
        return 1;
    }
    snprintf(b.endpoint, sizeof b.endpoint, "tcp://127.0.0.1:%d", port);
    snprintf(b.env, sizeof b.env, "bench:%d:%d", obs, act);

    s_server_arg_t *srv = calloc(1, sizeof *srv);
    config_t *cfg = &srv->cfg;
    config_defaults(cfg);
    char err[256], val[64];
    int cfg_bad = 0;
    cfg_bad |= config_set(cfg, "env", b.env, err, sizeof err);
    cfg_bad |= config_set(cfg, "replay_bind", b.endpoint, err, sizeof err);
    cfg_bad |= config_set(cfg, "samples_per_insert", "0", err, sizeof err);
    cfg_bad |= config_set(cfg, "learning_starts", "1000", err, sizeof err);
    snprintf(val, sizeof val, "%d", BENCH_CAPACITY);
    cfg_bad |= config_set(cfg, "buffer_size", val, err, sizeof err);
    cfg_bad |= config_set(cfg, "stats_interval", "86400", err, sizeof err);
    snprintf(val, sizeof val, "%d", sample_batch);
    cfg_bad |= config_set(cfg, "batch_size", val, err, sizeof err);
    snprintf(val, sizeof val, "%d", batch);
    cfg_bad |= config_set(cfg, "actor_batch", val, err, sizeof err);
    if (cfg_bad) {
        fprintf(stderr, "mpo bench replay: %s\n", err);
        free(srv);
        return 1;
    }
    log_level_t saved_level = log_level;
    log_set_level(LOG_WARN); /* the server's start and stop lines are not the benchmark's output */

    pthread_t server_thread, sampler_thread, *sender_threads = calloc((size_t)senders, sizeof(pthread_t));
    s_sender_arg_t *sender_args = calloc((size_t)senders, sizeof *sender_args);
    pthread_create(&server_thread, NULL, s_server, srv);
    clockid_t server_clock;
    if (pthread_getcpuclockid(server_thread, &server_clock) != 0)
        server_clock = CLOCK_PROCESS_CPUTIME_ID; /* cannot be on Linux; the figure would then be the process's */
    b.ctx = zmq_ctx_new();
    for (int i = 0; i < senders; i++) {
        sender_args[i] = (s_sender_arg_t){.b = &b, .index = i};
        pthread_create(&sender_threads[i], NULL, s_sender, &sender_args[i]);
    }
    pthread_create(&sampler_thread, NULL, s_sampler, &b);

    /* measure a full ring, as a server that has run a while has: the first pass over it pays the
     * kernel for zeroing fresh pages, a cost of starting, not of a message */
    double started = clock_now();
    s_sleep(BENCH_WARMUP_S);
    while (atomic_load(&b.inserted) < BENCH_CAPACITY && !atomic_load(&b.failed) &&
           clock_now() - started < BENCH_WARMUP_MAX_S)
        s_sleep(0.05);
    double warmup = clock_now() - started;
    s_snap_t s0 = s_snap(&b, server_clock);
    s_sleep(seconds);
    s_snap_t s1 = s_snap(&b, server_clock);

    atomic_store(&b.stop, 1);
    for (int i = 0; i < senders; i++)
        pthread_join(sender_threads[i], NULL);
    pthread_join(sampler_thread, NULL);
    zmq_ctx_term(b.ctx);
    srv->stop = 1;
    pthread_join(server_thread, NULL);
    log_set_level(saved_level);
    int rc = srv->rc == 0 && !atomic_load(&b.failed) ? 0 : 1;
    free(srv);
    free(sender_threads);
    free(sender_args);
    if (rc) {
        fprintf(stderr, "mpo bench replay: the server or a client failed (see above)\n");
        return 1;
    }

    double dt = s1.wall - s0.wall;
    double inserts_per_s = (double)(s1.inserted - s0.inserted) / dt, batches_per_s = (double)(s1.sampled - s0.sampled) / dt;
    /* every TransitionBatch and SampleRequest the server handled was answered, and each answer counted */
    double msgs = (double)(s1.acked - s0.acked) + (double)(s1.sampled - s0.sampled);
    double server_us = msgs > 0 ? (s1.server_cpu - s0.server_cpu) / msgs * 1e6 : 0;
    double process_us = msgs > 0 ? (s1.process_cpu - s0.process_cpu) / msgs * 1e6 : 0;
    double server_share = (s1.server_cpu - s0.server_cpu) / dt;
    int counted = bench_alloc_available();
    double allocs = counted && msgs > 0 ? (double)(s1.allocs.total - s0.allocs.total) / msgs : -1;
    double allocs_zmq = counted && msgs > 0 ? (double)(s1.allocs.zmq - s0.allocs.zmq) / msgs : -1;
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (json) {
        printf("{\"bench\":\"replay\",\"senders\":%d,\"obs\":%d,\"act\":%d,\"batch\":%d,\"credit\":%d,"
               "\"sample_batch\":%d,\"prefetch\":%d,\"warmup_s\":%.2f,\"seconds\":%.3f,\"inserts_per_s\":%.0f,"
               "\"sample_batches_per_s\":%.1f,\"samples_per_s\":%.0f,\"messages_per_s\":%.0f,"
               "\"server_cpu_us_per_message\":%.2f,\"server_cpu_share\":%.3f,\"process_cpu_us_per_message\":%.2f,"
               "\"allocs_per_message\":%.3f,\"allocs_per_message_libzmq\":%.3f,\"cores\":%ld,\"cpu\":\"%s\"}\n",
               senders, obs, act, batch, credit, sample_batch, prefetch, warmup, dt, inserts_per_s, batches_per_s,
               batches_per_s * sample_batch, msgs / dt, server_us, server_share, process_us, allocs, allocs_zmq,
               cores, cpu);
    } else {
        printf("replay over tcp loopback: %d senders, obs %d act %d, batches of %d (credit %d); sampler batches of "
               "%d (%d in flight); %.1f s after %.1f s of warm-up (%s)\n"
               "  inserts   %12.0f transitions/s  (%.0f batches/s)\n"
               "  samples   %12.1f batches/s      (%.0f transitions/s)\n"
               "  server    %12.2f us CPU per message (%.0f messages/s, %.0f%% of a core; whole process %.2f us)\n",
               senders, obs, act, batch, credit, sample_batch, prefetch, dt, warmup,
               s0.inserted >= BENCH_CAPACITY ? "the ring full" : "the ring not yet full", inserts_per_s, inserts_per_s / batch,
               batches_per_s, batches_per_s * sample_batch, server_us, msgs / dt, 100 * server_share, process_us);
        if (counted)
            printf("  allocs    %12.3f per message on the server thread (%.3f of them inside libzmq)\n", allocs,
                   allocs_zmq);
        else
            printf("  allocs    not counted in a sanitizer build\n");
        printf("  cpu       %s, %ld cores\n", cpu, cores);
    }
    return 0;
}
