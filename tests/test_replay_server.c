/* replay server: the real server in a thread on a tcp loopback port, driven by DEALER clients.
 * Valid flows (hello, inserts, dedup, held samples, the rate limiter holding actors, timeouts),
 * every kind of bad input answered with the right Error and counted without storing anything,
 * `mpo stat` against it, a prompt clean stop, and a restart from replay_dir that keeps the buffer,
 * the counters and the dedup state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "common/stats_client.h"
#include "common/wire.h"
#include "env/env.h"
#include "replay/server.h"
#include "cli/stat.h"

#define OBS 3 /* Pendulum-v1 */
#define ACT 1

typedef struct {
    config_t cfg;
    char endpoint[64];
    volatile int stop;
    int rc;
    pthread_t thread;
    void *ctx;
} fixture_t;

/* A free loopback port: bind port 0 (the OS picks), read it back, let it go. */
static int s_free_port(void) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t len = sizeof ep;
    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return atoi(strrchr(ep, ':') + 1);
}

static void *s_server_thread(void *arg) {
    fixture_t *f = arg;
    f->rc = replay_server_run(&f->cfg, &f->stop);
    return NULL;
}

static void s_set(config_t *cfg, const char *k, const char *v) {
    char err[256];
    if (config_set(cfg, k, v, err, sizeof err) != 0)
        fail_msg("config %s=%s: %s", k, v, err);
}

/* defaults for the tests: small buffer, rate limiter off unless a test turns it on */
static fixture_t *s_fixture_new(void) {
    fixture_t *f = calloc(1, sizeof *f);
    config_defaults(&f->cfg);
    s_set(&f->cfg, "env", "Pendulum-v1");
    s_set(&f->cfg, "buffer_size", "1000");
    s_set(&f->cfg, "learning_starts", "20");
    s_set(&f->cfg, "batch_size", "8");
    s_set(&f->cfg, "actor_batch", "5");
    s_set(&f->cfg, "samples_per_insert", "0");
    s_set(&f->cfg, "max_message_bytes", "4096");
    s_set(&f->cfg, "stats_interval", "1000");
    return f;
}

static void s_start(fixture_t *f) {
    int port = s_free_port();
    char bind[64];
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", port);
    snprintf(f->endpoint, sizeof f->endpoint, "tcp://127.0.0.1:%d", port);
    s_set(&f->cfg, "replay_bind", bind);
    f->rc = -2;
    assert_int_equal(pthread_create(&f->thread, NULL, s_server_thread, f), 0);
    f->ctx = zmq_ctx_new();
}

static double s_stop(fixture_t *f) {
    double t0 = clock_now();
    f->stop = 1;
    pthread_join(f->thread, NULL);
    double dt = clock_now() - t0;
    zmq_ctx_term(f->ctx);
    return dt;
}

static int s_setup(void **state) {
    log_set_level(LOG_ERROR); /* refusals are expected here; keep the output to the results */
    *state = s_fixture_new();
    return 0;
}

static int s_teardown(void **state) {
    free(*state);
    return 0;
}

/* ------------------------------------------------------------ client helpers */

static void *s_client(fixture_t *f) {
    void *s = zmq_socket(f->ctx, ZMQ_DEALER);
    int zero = 0, timeout = 3000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_int_equal(zmq_connect(s, f->endpoint), 0);
    return s;
}

static void s_send(void *s, Mpo__Message *m) { assert_int_equal(wire_send(s, NULL, 0, m, 0), 0); }

/* the next message, or NULL when none comes within timeout_ms */
static Mpo__Message *s_recv_within(void *s, int timeout_ms) {
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_true(zmq_msg_recv(&m, s, 0) >= 0);
    assert_false(zmq_msg_more(&m));
    wire_rejection_t why;
    char reason[256];
    Mpo__Message *msg = wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), &why, reason, sizeof reason);
    zmq_msg_close(&m);
    if (!msg)
        fail_msg("server sent something undecodable: %s", reason);
    return msg;
}

static Mpo__Message *s_recv(void *s) {
    Mpo__Message *m = s_recv_within(s, 3000);
    if (!m)
        fail_msg("no reply within 3 s");
    return m;
}

static void s_hello_msg(Mpo__Message *m, Mpo__Hello *h, Mpo__Role role, const char *env, uint32_t obs, uint32_t act,
                        const char *id) {
    wire_init_message(m);
    mpo__hello__init(h);
    h->role = role;
    h->env = (char *)env;
    h->obs_dim = obs;
    h->act_dim = act;
    h->id = (char *)id;
    /* one process per actor id unless a test says otherwise: the id's hash, never 0 */
    uint64_t x = 1469598103934665603ULL;
    for (const char *c = id; *c; c++)
        x = (x ^ (unsigned char)*c) * 1099511628211ULL;
    h->incarnation = role == MPO__ROLE__ROLE_ACTOR ? x | 1 : 0;
    m->body_case = MPO__MESSAGE__BODY_HELLO;
    m->hello = h;
}

/* say Hello and expect an Ack with seq 0 */
static void s_hello(void *s, Mpo__Role role, const char *id) {
    Mpo__Message m;
    Mpo__Hello h;
    s_hello_msg(&m, &h, role, "Pendulum-v1", OBS, ACT, id);
    s_send(s, &m);
    Mpo__Message *r = s_recv(s);
    if (r->body_case != MPO__MESSAGE__BODY_ACK)
        fail_msg("hello answered with body %d (%s)", r->body_case,
                 r->body_case == MPO__MESSAGE__BODY_ERROR ? r->error->reason : "");
    assert_true(r->ack->seq == 0);
    wire_free(r);
}

/* a peer's own stats list (TransitionBatch.stats, SampleRequest.stats) over caller storage */
typedef struct {
    Mpo__Stat s[WIRE_MAX_STATS + 1];
    Mpo__Stat *p[WIRE_MAX_STATS + 1];
    char names[WIRE_MAX_STATS + 1][16];
    size_t n;
} statlist_t;

/* name = value pairs, NULL-terminated: s_statlist(&l, "a", 1.0, "b", 2.0, NULL) */
static void s_statlist(statlist_t *l, ...) {
    va_list ap;
    va_start(ap, l);
    l->n = 0;
    for (const char *name; (name = va_arg(ap, const char *)) != NULL; l->n++) {
        mpo__stat__init(&l->s[l->n]);
        l->s[l->n].name = (char *)name;
        l->s[l->n].value = va_arg(ap, double);
        l->p[l->n] = &l->s[l->n];
    }
    va_end(ap);
}

/* the value listed under name; NaN when the list lacks it */
static double s_listed(Mpo__Stat *const *stats, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(stats[i]->name, name) == 0)
            return stats[i]->value;
    return NAN;
}

/* a valid batch of n transitions with reward = base + i; storage is owned by the caller */
typedef struct {
    float obs[64 * OBS], act[64 * ACT], rew[64], done[64], next[64 * OBS];
    Mpo__Episode ep, *eps[1];
    Mpo__TransitionBatch b;
    Mpo__Message m;
} batch_t;

static void s_batch(batch_t *x, uint64_t seq, uint32_t n, float base) {
    memset(x, 0, sizeof *x);
    for (uint32_t i = 0; i < n * OBS; i++)
        x->obs[i] = x->next[i] = 0.5f * (float)i;
    for (uint32_t i = 0; i < n; i++) {
        x->act[i] = 0.1f;
        x->rew[i] = base + (float)i;
        x->done[i] = i == n - 1;
    }
    wire_init_message(&x->m);
    mpo__transition_batch__init(&x->b);
    mpo__episode__init(&x->ep);
    x->ep.episode_return = base;
    x->ep.length = n;
    x->eps[0] = &x->ep;
    x->b.seq = seq;
    x->b.n = n;
    x->b.n_obs = x->b.n_next_obs = n * OBS;
    x->b.n_action = n * ACT;
    x->b.n_reward = x->b.n_done = n;
    x->b.obs = x->obs;
    x->b.next_obs = x->next;
    x->b.action = x->act;
    x->b.reward = x->rew;
    x->b.done = x->done;
    x->b.n_episodes = 1;
    x->b.episodes = x->eps;
    x->b.policy_version = 3;
    x->m.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
    x->m.transitions = &x->b;
}

/* send a prepared batch and expect its Ack; returns the size the Ack reports */
static uint64_t s_insert_batch(void *s, batch_t *x) {
    uint64_t seq = x->b.seq;
    s_send(s, &x->m);
    Mpo__Message *r = s_recv(s);
    if (r->body_case != MPO__MESSAGE__BODY_ACK)
        fail_msg("batch %llu answered with body %d (%s)", (unsigned long long)seq, r->body_case,
                 r->body_case == MPO__MESSAGE__BODY_ERROR ? r->error->reason : "");
    assert_true(r->ack->seq == seq);
    uint64_t size = r->ack->size;
    wire_free(r);
    return size;
}

/* send a batch and expect its Ack; returns the size the Ack reports */
static uint64_t s_insert(void *s, uint64_t seq, uint32_t n, float base) {
    batch_t x;
    s_batch(&x, seq, n, base);
    return s_insert_batch(s, &x);
}

/* A plain stats fetch through common/stats_client.h (the client behind `mpo stat`). The reply
 * lives until stats_client_destroy. */
static stats_client_t *s_stats(fixture_t *f, const Mpo__StatsReply **reply) {
    char err[256];
    stats_client_t *c = stats_client_new(f->endpoint, "test-stat", NULL, NULL, err, sizeof err);
    if (!c)
        fail_msg("stats client: %s", err);
    if (stats_client_ask(c, 3.0, NULL, err, sizeof err) != 0)
        fail_msg("stats: %s", err);
    *reply = stats_client_reply(c);
    assert_non_null(*reply);
    return c;
}

/* a figure of the replay's table; NaN when the reply lacks it, which fails every comparison */
#define STAT(r, name) stats_reply_value((r), (name), NAN)

static double s_stat_now(fixture_t *f, const char *name) {
    const Mpo__StatsReply *r;
    stats_client_t *c = s_stats(f, &r);
    double v = STAT(r, name);
    stats_client_destroy(&c);
    return v;
}

/* expect an Error of this code as the next message */
static void s_expect_error(void *s, Mpo__ErrorCode code, const char *what) {
    Mpo__Message *r = s_recv(s);
    if (r->body_case != MPO__MESSAGE__BODY_ERROR)
        fail_msg("%s: answered with body %d, expected an Error", what, r->body_case);
    if (r->error->code != code)
        fail_msg("%s: error code %d (%s), expected %d", what, r->error->code, r->error->reason, code);
    assert_true(r->error->reason && r->error->reason[0]);
    wire_free(r);
}

/* ------------------------------------------------------------ tests */

static void test_hello_insert_stats(void **state) {
    fixture_t *f = *state;
    s_start(f);
    void *a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    assert_true(s_insert(a, 1, 5, 10) == 5);
    assert_true(s_insert(a, 2, 5, 20) == 10);
    const Mpo__StatsReply *sr;
    stats_client_t *sc = s_stats(f, &sr);
    assert_string_equal(sr->env, "Pendulum-v1");
    assert_true(STAT(sr, "size") == 10);
    assert_true(STAT(sr, "inserts_total") == 10);
    assert_true(STAT(sr, "capacity") == 1000);
    assert_true(STAT(sr, "episodes_total") == 2);
    assert_true(STAT(sr, "actors_connected") == 1);
    assert_true(STAT(sr, "learning_started") == 0);
    assert_true(STAT(sr, "rejected_total") == 0);
    assert_true(STAT(sr, "memory_bytes") >= 1000.0 * (2 * OBS + ACT + 2) * 4);
    assert_int_equal(sr->n_actors, 1);
    assert_string_equal(sr->actors[0]->id, "actor-a");
    assert_true(sr->actors[0]->transitions == 10);
    assert_true(sr->actors[0]->batches == 2);
    assert_true(sr->actors[0]->policy_version == 3);
    assert_true(sr->actors[0]->episodes == 2);
    assert_int_equal(sr->n_recent_returns, 2);
    assert_true(sr->recent_returns[0] == 10 && sr->recent_returns[1] == 20); /* newest last */
    stats_client_destroy(&sc);
    zmq_close(a);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

static void test_bad_input(void **state) {
    fixture_t *f = *state;
    s_start(f);
    void *a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    assert_true(s_insert(a, 1, 5, 0) == 5);

    /* truncated frame: the first half of a valid batch */
    batch_t x;
    s_batch(&x, 2, 5, 0);
    x.m.version = WIRE_VERSION;
    size_t len = mpo__message__get_packed_size(&x.m);
    uint8_t *buf = malloc(len);
    mpo__message__pack(&x.m, buf);
    assert_int_equal(zmq_send(a, buf, len / 2, 0), (int)(len / 2));
    s_expect_error(a, MPO__ERROR_CODE__ERROR_MALFORMED, "truncated");
    free(buf);

    /* garbage bytes */
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    zmq_send(a, junk, sizeof junk, 0);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_MALFORMED, "garbage");

    /* oversized: above max_message_bytes (4096), below ZeroMQ's own limit */
    uint8_t *big = calloc(1, 10000);
    zmq_send(a, big, 10000, 0);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_TOO_LARGE, "oversized");
    free(big);

    /* wrong protocol version (packed by hand: wire_send always writes ours) */
    {
        Mpo__Message m;
        Mpo__Hello h;
        s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "Pendulum-v1", OBS, ACT, "actor-a");
        m.version = 99;
        uint8_t out[256];
        size_t n = mpo__message__pack(&m, out);
        zmq_send(a, out, n, 0);
        s_expect_error(a, MPO__ERROR_CODE__ERROR_WRONG_VERSION, "version");
    }

    /* wrong env and wrong sizes at hello, from a fresh peer */
    void *b = s_client(f);
    {
        Mpo__Message m;
        Mpo__Hello h;
        s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "HalfCheetah-v4", OBS, ACT, "actor-b");
        s_send(b, &m);
        s_expect_error(b, MPO__ERROR_CODE__ERROR_WRONG_ENV, "env");
        s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "Pendulum-v1", OBS + 1, ACT, "actor-b");
        s_send(b, &m);
        s_expect_error(b, MPO__ERROR_CODE__ERROR_WRONG_SIZES, "sizes");
        /* an id with a terminal escape code never reaches a log, mpo stat or /metrics */
        s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "Pendulum-v1", OBS, ACT, "evil\x1b[31m");
        s_send(b, &m);
        s_expect_error(b, MPO__ERROR_CODE__ERROR_BAD_VALUE, "escape code in the id");
    }
    /* b never said a valid Hello: its batch is refused */
    s_batch(&x, 1, 5, 0);
    s_send(b, &x.m);
    s_expect_error(b, MPO__ERROR_CODE__ERROR_NO_HELLO, "no hello");

    /* lengths that disagree with n */
    s_batch(&x, 2, 5, 0);
    x.b.n_reward = 4;
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_BAD_LENGTHS, "lengths");

    /* NaN */
    s_batch(&x, 2, 5, 0);
    x.obs[7] = NAN;
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_BAD_VALUE, "nan");

    /* finite extremes beyond max_abs_value (1e6 by default): a reward, then an observation */
    s_batch(&x, 2, 5, 0);
    x.rew[2] = 3e38f;
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_OUT_OF_RANGE, "reward 3e38");
    s_batch(&x, 2, 5, 0);
    x.next[0] = -2e6f;
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_OUT_OF_RANGE, "next_obs -2e6");

    /* an unexpected body: an Ack sent to the server */
    {
        Mpo__Message m;
        Mpo__Ack ack;
        wire_init_message(&m);
        mpo__ack__init(&ack);
        m.body_case = MPO__MESSAGE__BODY_ACK;
        m.ack = &ack;
        s_send(a, &m);
        s_expect_error(a, MPO__ERROR_CODE__ERROR_UNEXPECTED, "ack");
    }

    /* two frames in one message */
    {
        s_batch(&x, 2, 5, 0);
        x.m.version = WIRE_VERSION;
        uint8_t out[4096];
        size_t n = mpo__message__pack(&x.m, out);
        zmq_send(a, out, n, ZMQ_SNDMORE);
        zmq_send(a, out, n, 0);
        s_expect_error(a, MPO__ERROR_CODE__ERROR_MALFORMED, "multi-frame");
    }

    /* a sample request from an actor, and one with batch_size 0 from a learner */
    {
        void *l = s_client(f);
        s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner");
        Mpo__Message m;
        Mpo__SampleRequest q;
        wire_init_message(&m);
        mpo__sample_request__init(&q);
        m.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
        m.sample_request = &q;
        q.id = 1;
        q.batch_size = 4;
        s_send(a, &m);
        s_expect_error(a, MPO__ERROR_CODE__ERROR_UNEXPECTED, "sample from actor");
        q.batch_size = 0;
        s_send(l, &m);
        s_expect_error(l, MPO__ERROR_CODE__ERROR_BAD_VALUE, "batch_size 0");
        q.batch_size = WIRE_MAX_BATCH + 1;
        s_send(l, &m);
        s_expect_error(l, MPO__ERROR_CODE__ERROR_BAD_VALUE, "batch_size too large");
        zmq_close(l);
    }

    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(STAT(r, "size") == 5); /* nothing stored */
    assert_true(stats_reply_rejected(r, "malformed") == 3);
    assert_true(stats_reply_rejected(r, "too_large") == 1);
    assert_true(stats_reply_rejected(r, "out_of_range") == 2);
    assert_true(stats_reply_rejected(r, "wrong_version") == 1);
    assert_true(stats_reply_rejected(r, "wrong_env") == 1);
    assert_true(stats_reply_rejected(r, "wrong_sizes") == 1);
    assert_true(stats_reply_rejected(r, "no_hello") == 1);
    assert_true(stats_reply_rejected(r, "bad_lengths") == 1);
    assert_true(stats_reply_rejected(r, "bad_value") == 4);
    assert_true(stats_reply_rejected(r, "unexpected") == 2);
    assert_true(STAT(r, "rejected_total") == 17);
    stats_client_destroy(&sc);

    /* and the server still serves: a valid batch after all that is stored */
    assert_true(s_insert(a, 2, 5, 0) == 10);
    assert_true(s_stat_now(f, "size") == 10);
    zmq_close(a);
    zmq_close(b);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* a SampleRequest at policy version 7 after 42 updates, with the learner's own stats list (may be
 * NULL: none this time) */
static void s_sample_request_with(void *l, uint64_t id, uint32_t n, const statlist_t *stats) {
    Mpo__Message m;
    Mpo__SampleRequest q;
    wire_init_message(&m);
    mpo__sample_request__init(&q);
    q.id = id;
    q.batch_size = n;
    q.policy_version = 7;
    q.updates = 42;
    if (stats) {
        q.n_stats = stats->n;
        q.stats = (Mpo__Stat **)stats->p;
    }
    m.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
    m.sample_request = &q;
    s_send(l, &m);
}

static void s_sample_request(void *l, uint64_t id, uint32_t n) { s_sample_request_with(l, id, n, NULL); }

static void s_expect_sample(void *l, uint64_t id, uint32_t n) {
    Mpo__Message *r = s_recv(l);
    if (r->body_case != MPO__MESSAGE__BODY_SAMPLE_BATCH)
        fail_msg("sample request answered with body %d", r->body_case);
    assert_true(r->sample_batch->request_id == id);
    char reason[256];
    assert_int_equal(wire_check_sample_batch(r->sample_batch, OBS, ACT, reason, sizeof reason), WIRE_OK);
    assert_int_equal(r->sample_batch->n, n);
    /* every reward is one the actor sent (base 100 + i, i < 5) */
    for (uint32_t i = 0; i < n; i++) {
        float rw = r->sample_batch->reward[i];
        assert_true(rw >= 100 && rw <= 104 && rw == floorf(rw));
    }
    wire_free(r);
}

static void test_samples_held_until_learning_starts(void **state) {
    fixture_t *f = *state;
    s_start(f);
    void *a = s_client(f), *l = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner");
    s_sample_request(l, 1, 8);
    s_sample_request(l, 2, 8);
    for (uint64_t seq = 1; seq <= 3; seq++)
        s_insert(a, seq, 5, 100); /* 15 < learning_starts 20 */
    assert_null(s_recv_within(l, 200));
    assert_true(s_stat_now(f, "pending_samples") == 2);
    s_insert(a, 4, 5, 100); /* 20: both held requests are answered, in order */
    s_expect_sample(l, 1, 8);
    s_expect_sample(l, 2, 8);
    s_sample_request(l, 3, 8); /* now served at once */
    s_expect_sample(l, 3, 8);
    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(STAT(r, "pending_samples") == 0);
    assert_true(STAT(r, "sample_batches_total") == 3);
    assert_true(STAT(r, "samples_total") == 24);
    assert_true(STAT(r, "learning_started") == 1);
    assert_true(STAT(r, "learner_updates") == 42);
    assert_true(STAT(r, "learner_policy_version") == 7);
    assert_true(STAT(r, "learner_held_seconds_total") > 0.1);
    assert_true(r->actors[0]->version_lag == 7 - 3);
    stats_client_destroy(&sc);
    zmq_close(a);
    zmq_close(l);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

static void test_dedup_and_reconnect(void **state) {
    fixture_t *f = *state;
    s_start(f);
    void *a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    assert_true(s_insert(a, 1, 5, 0) == 5);
    assert_true(s_insert(a, 1, 5, 0) == 5); /* resent: acked, not stored */
    zmq_close(a);
    /* the same actor on a new connection keeps its dedup state and counters */
    void *a2 = s_client(f);
    s_hello(a2, MPO__ROLE__ROLE_ACTOR, "actor-a");
    assert_true(s_insert(a2, 1, 5, 0) == 5);
    assert_true(s_insert(a2, 2, 5, 0) == 10);
    /* seq 0 is not a seq */
    batch_t x;
    s_batch(&x, 0, 5, 0);
    s_send(a2, &x.m);
    s_expect_error(a2, MPO__ERROR_CODE__ERROR_BAD_VALUE, "seq 0");
    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(STAT(r, "size") == 10);
    assert_true(STAT(r, "duplicates_total") == 2);
    assert_int_equal(r->n_actors, 1);
    assert_true(r->actors[0]->batches == 2);
    assert_true(r->actors[0]->transitions == 10);
    stats_client_destroy(&sc);
    zmq_close(a2);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* SPI 4, min_size 10, tolerance 4 → error 16, window [24, 56]; actor_batch 5, batch 10:
 * 2*16 = 32 >= 4*5 + 10 = 30. */
/* A learner that asks and never reads: max_peer_queue_bytes 1 MiB caps one reply at 16 KiB (a
 * bigger batch is refused as too_large) and at most ROUTER_SNDHWM replies queue for it; the rest
 * are dropped and counted, and another learner is served as before. */
static void test_unread_replies_bounded(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "max_peer_queue_bytes", "1048576");
    s_start(f);
    void *a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    for (uint64_t seq = 1; seq <= 80; seq++)
        s_insert(a, seq, 5, 0);
    void *l = s_client(f);
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner-a");
    s_sample_request(l, 1, 380); /* 380 x 44 bytes > 16 KiB */
    s_expect_error(l, MPO__ERROR_CODE__ERROR_TOO_LARGE, "a reply over max_peer_queue_bytes / 64");
    zmq_close(l);
    /* a learner that takes one message into its own queue at most, then stops reading */
    void *greedy = zmq_socket(f->ctx, ZMQ_DEALER);
    int one = 1, zero = 0;
    zmq_setsockopt(greedy, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(greedy, ZMQ_RCVHWM, &one, sizeof one);
    assert_int_equal(zmq_connect(greedy, f->endpoint), 0);
    s_hello(greedy, MPO__ROLE__ROLE_LEARNER, "greedy");
    for (uint64_t id = 1; id <= 5000; id++) /* 5000 x 13 KB unread */
        s_sample_request(greedy, id, 300);
    double dropped = 0, t0 = clock_now();
    while (dropped <= 0 && clock_now() - t0 < 10) {
        const Mpo__StatsReply *r;
        stats_client_t *sc = s_stats(f, &r);
        dropped = STAT(r, "replies_dropped_total");
        stats_client_destroy(&sc);
        usleep(100000);
    }
    assert_true(dropped > 0);
    void *l2 = s_client(f);
    s_hello(l2, MPO__ROLE__ROLE_LEARNER, "learner-b");
    s_sample_request(l2, 1, 8);
    Mpo__Message *m = s_recv(l2);
    assert_int_equal(m->body_case, MPO__MESSAGE__BODY_SAMPLE_BATCH);
    assert_int_equal(m->sample_batch->n, 8);
    wire_free(m);
    zmq_close(greedy);
    zmq_close(l2);
    zmq_close(a);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

static void s_eval_msg(Mpo__Message *m, Mpo__EvalResult *e, float mean, float std, uint32_t episodes) {
    wire_init_message(m);
    mpo__eval_result__init(e);
    e->policy_version = 7, e->learner_step = 900, e->mean_return = mean, e->std_return = std, e->episodes = episodes;
    m->body_case = MPO__MESSAGE__BODY_EVAL_RESULT;
    m->eval_result = e;
}

/* An evaluator's results: kept (the newest) for stats and relayed on every SampleBatch; from an
 * actor they are unexpected, and a NaN or an empty evaluation is refused. */
static void test_evaluator_results(void **state) {
    fixture_t *f = *state;
    s_start(f);
    void *a = s_client(f), *e = s_client(f), *l = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    for (uint64_t seq = 1; seq <= 6; seq++)
        s_insert(a, seq, 5, 0);
    s_hello(e, MPO__ROLE__ROLE_EVALUATOR, "evaluator");
    Mpo__Message m;
    Mpo__EvalResult r;
    s_eval_msg(&m, &r, -150.5f, 12.0f, 10);
    s_send(a, &m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_UNEXPECTED, "an evaluation from an actor");
    s_eval_msg(&m, &r, NAN, 1.0f, 10);
    s_send(e, &m);
    s_expect_error(e, MPO__ERROR_CODE__ERROR_BAD_VALUE, "a NaN evaluation");
    s_eval_msg(&m, &r, -1.0f, 1.0f, 0);
    s_send(e, &m);
    s_expect_error(e, MPO__ERROR_CODE__ERROR_BAD_VALUE, "an evaluation of no episodes");
    s_eval_msg(&m, &r, -300.0f, 5.0f, 10);
    s_send(e, &m);
    s_eval_msg(&m, &r, -150.5f, 12.0f, 10); /* not answered: the newest wins */
    s_send(e, &m);
    const Mpo__StatsReply *sr;
    double evals = 0, t0 = clock_now();
    stats_client_t *sc = NULL;
    while (evals < 2 && clock_now() - t0 < 3) {
        stats_client_destroy(&sc);
        sc = s_stats(f, &sr);
        evals = STAT(sr, "evals_total");
    }
    assert_true(evals == 2);
    assert_true(STAT(sr, "eval_return") == -150.5);
    assert_true(STAT(sr, "eval_return_std") == 12.0);
    assert_true(STAT(sr, "eval_env_steps") == 30);
    assert_true(STAT(sr, "eval_learner_updates") == 900);
    stats_client_destroy(&sc);
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner-a");
    s_sample_request(l, 1, 8);
    Mpo__Message *b = s_recv(l);
    assert_int_equal(b->body_case, MPO__MESSAGE__BODY_SAMPLE_BATCH);
    assert_true(b->sample_batch->evals == 2);
    assert_non_null(b->sample_batch->eval);
    assert_true(b->sample_batch->eval->mean_return == -150.5f);
    assert_true(b->sample_batch->eval->episodes == 10);
    assert_true(b->sample_batch->eval_env_steps == 30);
    wire_free(b);
    zmq_close(a);
    zmq_close(e);
    zmq_close(l);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* Staleness: with 40 transitions stored and none after, a uniform sample's mean age (inserts
 * stored after each sampled one) is about (40 - 1) / 2; the training return is the episodes' mean. */
static void test_staleness_and_returns(void **state) {
    fixture_t *f = *state;
    s_start(f);
    void *a = s_client(f), *l = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    for (uint64_t seq = 1; seq <= 8; seq++)
        s_insert(a, seq, 5, 0);
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner-a");
    for (uint64_t id = 1; id <= 200; id++) { /* 200 x 8 draws: the mean is within +-1.5 of 19.5 */
        s_sample_request(l, id, 8);
        wire_free(s_recv(l));
    }
    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    double age = STAT(r, "sample_age_inserts");
    if (!(fabs(age - 19.5) < 3.0))
        fail_msg("sample_age_inserts %g, expected about 19.5", age);
    assert_true(STAT(r, "actors_connected") == 1);
    assert_true(STAT(r, "learner_update_rate_30s") >= 0);
    assert_true(isfinite(STAT(r, "episode_return_recent")));
    stats_client_destroy(&sc);
    zmq_close(a);
    zmq_close(l);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

static void s_expect_ack0(void *s, const char *what);

/* env = external: the server takes its sizes from obs_dim and act_dim; an actor that says
 * "external" with them is served, one with other sizes or another name is refused. */
static void test_external_env(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "env", "external");
    s_set(&f->cfg, "obs_dim", "3");
    s_set(&f->cfg, "act_dim", "1");
    s_start(f);
    void *a = s_client(f);
    Mpo__Message m;
    Mpo__Hello h;
    s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "external", OBS + 1, ACT, "outside");
    s_send(a, &m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_WRONG_SIZES, "other sizes");
    s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "Pendulum-v1", OBS, ACT, "outside");
    s_send(a, &m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_WRONG_ENV, "another name");
    s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "external", OBS, ACT, "outside");
    s_send(a, &m);
    s_expect_ack0(a, "an external actor");
    assert_true(s_insert(a, 1, 5, 0) == 5);
    zmq_close(a);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* an actor's Hello as process `incarnation`, without waiting for the answer */
static void s_hello_incarnation(void *s, const char *id, uint64_t incarnation) {
    Mpo__Message m;
    Mpo__Hello h;
    s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "Pendulum-v1", OBS, ACT, id);
    h.incarnation = incarnation;
    s_send(s, &m);
}

static void s_expect_ack0(void *s, const char *what) {
    Mpo__Message *r = s_recv(s);
    if (r->body_case != MPO__MESSAGE__BODY_ACK || r->ack->seq != 0)
        fail_msg("%s: answered with body %d (%s), expected the Hello's Ack", what, r->body_case,
                 r->body_case == MPO__MESSAGE__BODY_ERROR ? r->error->reason : "");
    wire_free(r);
}

/* Two processes with one actor id: the second is refused while the first is heard from, its
 * batches are never acked; once the first has been silent for 2 x ack_timeout the second takes the
 * id over with its own seq stream (its seq 1 is stored, not taken for the first one's duplicate),
 * and the first is then refused in turn. */
static void test_actor_incarnations(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "ack_timeout", "0.25"); /* an id is free after 0.5 s of silence */
    s_start(f);
    void *a = s_client(f), *b = s_client(f);
    s_hello_incarnation(a, "actor-x", 111);
    s_expect_ack0(a, "first process");
    assert_true(s_insert(a, 1, 5, 0) == 5);
    assert_true(s_insert(a, 2, 5, 0) == 10);
    s_hello_incarnation(b, "actor-x", 222);
    s_expect_error(b, MPO__ERROR_CODE__ERROR_ID_IN_USE, "a second live process");
    batch_t x;
    s_batch(&x, 1, 5, 0);
    s_send(b, &x.m);
    s_expect_error(b, MPO__ERROR_CODE__ERROR_NO_HELLO, "a refused process's batch");
    assert_true(s_insert(a, 3, 5, 0) == 15); /* the holder goes on */
    /* an actor Hello must carry an incarnation */
    s_hello_incarnation(b, "actor-y", 0);
    s_expect_error(b, MPO__ERROR_CODE__ERROR_BAD_VALUE, "no incarnation");

    usleep(700 * 1000); /* the holder falls silent */
    s_hello_incarnation(b, "actor-x", 222);
    s_expect_ack0(b, "the second process after the first's silence");
    assert_true(s_insert(b, 1, 5, 0) == 20); /* a new seq stream: stored */
    assert_true(s_insert(b, 1, 5, 0) == 20); /* its own resend: a duplicate */
    s_batch(&x, 4, 5, 0);
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_NO_HELLO, "the superseded process's batch");
    s_hello_incarnation(a, "actor-x", 111);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_ID_IN_USE, "the first process again");

    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(STAT(r, "size") == 20);
    assert_true(STAT(r, "duplicates_total") == 1);
    assert_true(stats_reply_rejected(r, "id_in_use") == 2);
    assert_true(stats_reply_rejected(r, "no_hello") == 2);
    assert_int_equal(r->n_actors, 1);
    assert_true(r->actors[0]->batches == 4); /* the id's counters carry over */
    assert_true(r->actors[0]->transitions == 20);
    stats_client_destroy(&sc);
    zmq_close(a);
    zmq_close(b);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

static void test_rate_limiter_holds_actor(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "samples_per_insert", "4");
    s_set(&f->cfg, "learning_starts", "10");
    s_set(&f->cfg, "batch_size", "10");
    s_set(&f->cfg, "rate_limit_tolerance", "4");
    s_set(&f->cfg, "rate_limit_timeout", "30");
    s_start(f);
    void *a = s_client(f), *l = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner");
    s_insert(a, 1, 5, 100);
    s_insert(a, 2, 5, 100); /* free until min_size: d = 40 */
    batch_t x;
    s_batch(&x, 3, 5, 100); /* d would be 60 > 56: held, no ack */
    s_send(a, &x.m);
    assert_null(s_recv_within(a, 300));
    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(STAT(r, "pending_inserts") == 1);
    /* the held batch is the actor's memory in the server: 5 transitions and one episode return */
    assert_int_equal(r->n_actors, 1);
    assert_int_equal(r->actors[0]->held_bytes, (5 * (2 * OBS + ACT + 2) + 1) * sizeof(float));
    assert_true(STAT(r, "size") == 10);
    assert_true(STAT(r, "samples_per_insert_target") == 4);
    stats_client_destroy(&sc);
    s_send(a, &x.m); /* a resend of the held seq is ignored, not held twice */
    assert_null(s_recv_within(a, 100));
    s_sample_request(l, 1, 10); /* d = 30 >= 24: served, and the held batch fits again (50) */
    s_expect_sample(l, 1, 10);
    Mpo__Message *ack = s_recv(a);
    assert_int_equal(ack->body_case, MPO__MESSAGE__BODY_ACK);
    assert_true(ack->ack->seq == 3 && ack->ack->size == 15);
    wire_free(ack);
    assert_null(s_recv_within(a, 100)); /* exactly one ack */
    sc = s_stats(f, &r);
    assert_true(STAT(r, "pending_inserts") == 0);
    assert_true(STAT(r, "actors_held_seconds_total") > 0.3);
    assert_int_equal(r->actors[0]->held_bytes, 0);
    assert_true(STAT(r, "resent_held_total") == 1); /* kept once, not a stored duplicate */
    assert_true(STAT(r, "duplicates_total") == 0);
    assert_true(STAT(r, "limiter_timeouts_total") == 0);
    stats_client_destroy(&sc);
    zmq_close(a);
    zmq_close(l);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* a batch or a sample larger than the rate limiter's window could ever admit is refused at once
 * (too_large) instead of freezing both sides until rate_limit_timeout, every time it is resent */
static void test_rate_limiter_refuses_what_never_fits(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "samples_per_insert", "4");
    s_set(&f->cfg, "learning_starts", "10");
    s_set(&f->cfg, "batch_size", "8");
    s_set(&f->cfg, "rate_limit_tolerance", "4"); /* window 2 * 4 * 4 = 32 samples: inserts of 8 */
    s_set(&f->cfg, "rate_limit_timeout", "30");
    s_start(f);
    void *a = s_client(f), *l = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner");
    batch_t x;
    s_batch(&x, 1, 9, 0);
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_TOO_LARGE, "9 transitions > 8");
    s_sample_request(l, 1, 33);
    s_expect_error(l, MPO__ERROR_CODE__ERROR_TOO_LARGE, "33 samples > 32");
    assert_true(s_insert(a, 1, 8, 0) == 8); /* what fits still goes in, seq 1 unspent */
    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(stats_reply_rejected(r, "too_large") == 2);
    assert_true(STAT(r, "pending_inserts") == 0 && STAT(r, "pending_samples") == 0);
    stats_client_destroy(&sc);
    zmq_close(a);
    zmq_close(l);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* no learner: a held batch is stored anyway after rate_limit_timeout, and counted */
static void test_rate_limiter_timeout(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "samples_per_insert", "4");
    s_set(&f->cfg, "learning_starts", "10");
    s_set(&f->cfg, "batch_size", "10");
    s_set(&f->cfg, "rate_limit_tolerance", "4");
    s_set(&f->cfg, "rate_limit_timeout", "0.3");
    s_start(f);
    void *a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    s_insert(a, 1, 5, 100);
    s_insert(a, 2, 5, 100);
    double t0 = clock_now();
    assert_true(s_insert(a, 3, 5, 100) == 15); /* acked after the timeout */
    double waited = clock_now() - t0;
    assert_true(waited >= 0.25 && waited < 2.0);
    assert_true(s_stat_now(f, "limiter_timeouts_total") == 1);
    zmq_close(a);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

static void test_bad_window_refused_at_start(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "samples_per_insert", "4");
    s_set(&f->cfg, "rate_limit_tolerance", "1"); /* 2*4 < 4*5 + 8 */
    s_start(f);
    pthread_join(f->thread, NULL);
    assert_int_equal(f->rc, -MPO_EINVAL); /* the rate limiter refuses the configuration */
    zmq_ctx_term(f->ctx);
}

/* the actor of this id in a StatsReply; fails when it is not there */
static const Mpo__ActorStat *s_actor(const Mpo__StatsReply *r, const char *id) {
    for (size_t i = 0; i < r->n_actors; i++)
        if (strcmp(r->actors[i]->id, id) == 0)
            return r->actors[i];
    fail_msg("no actor %s in the stats reply", id);
    return NULL;
}

/* A replay with replay_dir: a periodic snapshot (by count, from the forked writer) shows in the
 * stats; the server stops with a final one; a new server on the same directory restores the
 * transitions, the counters and the actor's dedup state, so the actor's resend of a batch stored
 * before the restart is acked as a duplicate, not stored twice, and its next batch is stored. */
static void test_snapshot_restart(void **state) {
    fixture_t *f = *state;
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/mpo_test_replay_snap_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/replay.snap", dir);
    s_set(&f->cfg, "replay_dir", dir);
    s_set(&f->cfg, "replay_snapshot_interval", "0");
    s_set(&f->cfg, "replay_snapshot_inserts", "10");
    s_start(f);
    assert_true(s_stat_now(f, "snapshot_age_seconds") >= 0);
    void *a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    assert_true(s_insert(a, 1, 5, 10) == 5);
    assert_true(s_insert(a, 2, 5, 20) == 10);
    double t0 = clock_now();
    while (s_stat_now(f, "snapshots_total") < 1 && clock_now() - t0 < 5)
        usleep(20000);
    assert_true(s_stat_now(f, "snapshots_total") == 1);
    assert_true(s_stat_now(f, "snapshot_failures_total") == 0);
    assert_true(s_stat_now(f, "snapshot_bytes") > 10 * (2 * OBS + ACT + 2) * 4);
    zmq_close(a);
    assert_true(s_stop(f) < 2.0); /* the final snapshot of a small buffer is quick */
    assert_int_equal(f->rc, 0);
    assert_int_equal(access(path, F_OK), 0);

    f->stop = 0;
    s_start(f);
    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(STAT(r, "size") == 10);
    assert_true(STAT(r, "inserts_total") == 10);
    assert_true(STAT(r, "restored_transitions") == 10);
    assert_true(STAT(r, "episodes_total") == 2);
    assert_int_equal(r->n_recent_returns, 2);
    assert_true(s_actor(r, "actor-a")->transitions == 10);
    /* its silence goes on from when it was last heard, across the restart */
    assert_true(s_actor(r, "actor-a")->last_seen_s > 0 && s_actor(r, "actor-a")->last_seen_s < 5);
    stats_client_destroy(&sc);
    a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a"); /* the same process: the same incarnation */
    assert_true(s_insert(a, 2, 5, 20) == 10);     /* its ack was lost in the restart: resent */
    assert_true(s_stat_now(f, "duplicates_total") == 1);
    assert_true(s_insert(a, 3, 5, 30) == 15);
    zmq_close(a);
    assert_true(s_stop(f) < 2.0);
    assert_int_equal(f->rc, 0);
    unlink(path);
    rmdir(dir);
}

/* the peers' own stats lists come back in the StatsReply: the newest per actor and the learner's;
 * a message without a list keeps the last one, and a resend of an older batch does not bring its
 * older list back */
static void test_peer_stats_relayed(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "learning_starts", "5");
    s_start(f);
    void *a = s_client(f), *b = s_client(f), *l = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    s_hello(b, MPO__ROLE__ROLE_ACTOR, "actor-b");
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner");
    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_int_equal(r->n_learner_stats, 0); /* nothing reported yet */
    assert_int_equal(s_actor(r, "actor-a")->n_stats, 0);
    stats_client_destroy(&sc);

    batch_t x;
    statlist_t al, bl, ll;
    s_batch(&x, 1, 5, 100);
    s_statlist(&al, "env_steps_per_s", 250.0, "episodes", 3.0, NULL);
    x.b.n_stats = al.n;
    x.b.stats = al.p;
    assert_true(s_insert_batch(a, &x) == 5);
    assert_true(s_insert(a, 2, 5, 100) == 10); /* no list: the last one stays */
    s_batch(&x, 1, 5, 100);
    s_statlist(&bl, "env_steps_per_s", 7.0, NULL);
    x.b.n_stats = bl.n;
    x.b.stats = bl.p;
    assert_true(s_insert_batch(b, &x) == 15);
    s_statlist(&ll, "updates_per_s", 12.5, "critic_loss", 0.25, NULL);
    s_sample_request_with(l, 1, 8, &ll);
    s_expect_sample(l, 1, 8);

    sc = s_stats(f, &r);
    assert_int_equal(r->n_learner_stats, 2);
    assert_true(s_listed(r->learner_stats, r->n_learner_stats, "updates_per_s") == 12.5);
    assert_true(s_listed(r->learner_stats, r->n_learner_stats, "critic_loss") == 0.25);
    const Mpo__ActorStat *sa = s_actor(r, "actor-a"), *sb = s_actor(r, "actor-b");
    assert_int_equal(sa->n_stats, 2);
    assert_true(s_listed(sa->stats, sa->n_stats, "env_steps_per_s") == 250);
    assert_true(s_listed(sa->stats, sa->n_stats, "episodes") == 3);
    assert_int_equal(sb->n_stats, 1); /* each actor its own list */
    assert_true(s_listed(sb->stats, sb->n_stats, "env_steps_per_s") == 7);
    stats_client_destroy(&sc);

    /* newer lists replace the older ones whole: a figure no longer listed is gone */
    s_batch(&x, 3, 5, 100);
    s_statlist(&al, "env_steps_per_s", 300.0, NULL);
    x.b.n_stats = al.n;
    x.b.stats = al.p;
    assert_true(s_insert_batch(a, &x) == 20);
    s_statlist(&ll, "updates_per_s", 13.0, NULL);
    s_sample_request_with(l, 2, 8, &ll);
    s_expect_sample(l, 2, 8);
    s_sample_request(l, 3, 8); /* no list: the last one stays */
    s_expect_sample(l, 3, 8);
    /* a resend of batch 1 (acked again, not stored) with a list: older than batch 3's, not taken */
    s_batch(&x, 1, 5, 100);
    s_statlist(&al, "env_steps_per_s", 1.0, NULL);
    x.b.n_stats = al.n;
    x.b.stats = al.p;
    assert_true(s_insert_batch(a, &x) == 20);

    sc = s_stats(f, &r);
    assert_int_equal(r->n_learner_stats, 1);
    assert_true(s_listed(r->learner_stats, r->n_learner_stats, "updates_per_s") == 13);
    sa = s_actor(r, "actor-a");
    assert_int_equal(sa->n_stats, 1);
    assert_true(s_listed(sa->stats, sa->n_stats, "env_steps_per_s") == 300);
    assert_true(isnan(s_listed(sa->stats, sa->n_stats, "episodes")));
    assert_true(STAT(r, "duplicates_total") == 1);
    assert_true(STAT(r, "rejected_total") == 0);
    stats_client_destroy(&sc);
    zmq_close(a);
    zmq_close(b);
    zmq_close(l);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* a bad stats list refuses the whole message like any bad input: an Error, a count by reason,
 * the batch not stored, the sample not served, and the lists stored before kept */
static void test_bad_peer_stats_refused(void **state) {
    fixture_t *f = *state;
    s_set(&f->cfg, "learning_starts", "5");
    s_start(f);
    void *a = s_client(f), *l = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    s_hello(l, MPO__ROLE__ROLE_LEARNER, "learner");
    batch_t x;
    statlist_t al, ll;
    s_batch(&x, 1, 5, 100);
    s_statlist(&al, "env_steps_per_s", 250.0, NULL);
    x.b.n_stats = al.n;
    x.b.stats = al.p;
    assert_true(s_insert_batch(a, &x) == 5);
    s_statlist(&ll, "updates_per_s", 12.5, NULL);
    s_sample_request_with(l, 1, 8, &ll);
    s_expect_sample(l, 1, 8);

    /* batch 2 with a non-finite value, a name that is not [a-z0-9_], too many figures */
    s_batch(&x, 2, 5, 100);
    s_statlist(&al, "env_steps_per_s", (double)NAN, NULL);
    x.b.n_stats = al.n;
    x.b.stats = al.p;
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_BAD_VALUE, "NaN in an actor's list");
    s_statlist(&al, "ok", 1.0, "Bad-Name", 2.0, NULL);
    x.b.n_stats = al.n;
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_BAD_VALUE, "bad name in an actor's list");
    for (size_t i = 0; i <= WIRE_MAX_STATS; i++) {
        snprintf(al.names[i], sizeof al.names[i], "figure_%zu", i);
        mpo__stat__init(&al.s[i]);
        al.s[i].name = al.names[i];
        al.p[i] = &al.s[i];
    }
    al.n = WIRE_MAX_STATS + 1;
    x.b.n_stats = al.n;
    s_send(a, &x.m);
    s_expect_error(a, MPO__ERROR_CODE__ERROR_TOO_LARGE, "too many figures in an actor's list");
    /* a learner's list with an infinity: refused, its version and updates not taken */
    s_statlist(&ll, "updates_per_s", (double)INFINITY, NULL);
    Mpo__Message m;
    Mpo__SampleRequest q;
    wire_init_message(&m);
    mpo__sample_request__init(&q);
    q.id = 2;
    q.batch_size = 8;
    q.policy_version = 99;
    q.updates = 999;
    q.n_stats = ll.n;
    q.stats = ll.p;
    m.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
    m.sample_request = &q;
    s_send(l, &m);
    s_expect_error(l, MPO__ERROR_CODE__ERROR_BAD_VALUE, "infinity in the learner's list");
    assert_null(s_recv_within(l, 200)); /* and no sample */

    const Mpo__StatsReply *r;
    stats_client_t *sc = s_stats(f, &r);
    assert_true(stats_reply_rejected(r, "bad_value") == 3);
    assert_true(stats_reply_rejected(r, "too_large") == 1);
    assert_true(STAT(r, "rejected_total") == 4);
    assert_true(STAT(r, "size") == 5); /* batch 2 not stored */
    assert_true(STAT(r, "sample_batches_total") == 1);
    assert_true(STAT(r, "learner_policy_version") == 7);
    assert_true(STAT(r, "learner_updates") == 42);
    const Mpo__ActorStat *sa = s_actor(r, "actor-a");
    assert_true(sa->batches == 1);
    assert_int_equal(sa->n_stats, 1); /* the lists stored before are kept */
    assert_true(s_listed(sa->stats, sa->n_stats, "env_steps_per_s") == 250);
    assert_int_equal(r->n_learner_stats, 1);
    assert_true(s_listed(r->learner_stats, r->n_learner_stats, "updates_per_s") == 12.5);
    stats_client_destroy(&sc);

    /* batch 2 was not taken for stored: sent again with a good list it is stored, not a duplicate */
    s_statlist(&al, "env_steps_per_s", 260.0, NULL);
    x.b.n_stats = al.n;
    assert_true(s_insert_batch(a, &x) == 10);
    sc = s_stats(f, &r);
    assert_true(STAT(r, "duplicates_total") == 0);
    sa = s_actor(r, "actor-a");
    assert_true(s_listed(sa->stats, sa->n_stats, "env_steps_per_s") == 260);
    stats_client_destroy(&sc);
    zmq_close(a);
    zmq_close(l);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* the environment's sizes come from env_sizes: registered names and the sizes-only bench form,
 * and a name that is neither stops the server at start */
static void test_env_sizes(void **state) {
    fixture_t *f = *state;
    int obs = 0, act = 0;
    char err[256];
    assert_int_equal(env_sizes("Pendulum-v1", &obs, &act, err, sizeof err), 0);
    assert_true(obs == OBS && act == ACT);
    assert_int_equal(env_sizes("bench:17:6", &obs, &act, err, sizeof err), 0);
    assert_true(obs == 17 && act == 6);
    const char *bad[] = {"bench:17", "bench:0:6", "bench:17:6x", "bench:17:-1", "bench:2000000:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (env_sizes(bad[i], &obs, &act, err, sizeof err) != -MPO_EINVAL)
            fail_msg("env_sizes(%s) is not -MPO_EINVAL", bad[i]);
        assert_non_null(strstr(err, "bench:OBS:ACT"));
    }
    assert_int_equal(env_sizes("Nope-v0", &obs, &act, err, sizeof err), -MPO_ENOENV);
    assert_non_null(strstr(err, "Nope-v0"));

    s_set(&f->cfg, "env", "Nope-v0");
    s_start(f);
    pthread_join(f->thread, NULL);
    assert_int_equal(f->rc, -MPO_ENOENV);
    zmq_ctx_term(f->ctx);

    /* a bench server takes peers of its sizes and refuses others */
    s_set(&f->cfg, "env", "bench:4:2");
    s_start(f);
    void *p = s_client(f);
    Mpo__Message m;
    Mpo__Hello h;
    s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "bench:4:2", 4, 3, "actor-a");
    s_send(p, &m);
    s_expect_error(p, MPO__ERROR_CODE__ERROR_WRONG_SIZES, "bench sizes");
    s_hello_msg(&m, &h, MPO__ROLE__ROLE_ACTOR, "bench:4:2", 4, 2, "actor-a");
    s_send(p, &m);
    Mpo__Message *r = s_recv(p);
    assert_int_equal(r->body_case, MPO__MESSAGE__BODY_ACK);
    wire_free(r);
    zmq_close(p);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

/* mpo stat against the live server: table, --json, and a server that does not answer */
static void test_stat_command(void **state) {
    fixture_t *f = *state;
    s_start(f);
    void *a = s_client(f);
    s_hello(a, MPO__ROLE__ROLE_ACTOR, "actor-a");
    s_insert(a, 1, 5, 0);
    char *argv1[] = {"stat", f->endpoint, NULL};
    assert_int_equal(stat_main(2, argv1), 0);
    char *argv2[] = {"stat", f->endpoint, "--json", NULL};
    assert_int_equal(stat_main(3, argv2), 0);
    char *argv3[] = {"stat", "tcp://127.0.0.1:1", "--timeout", "0.3", NULL};
    double t0 = clock_now();
    assert_int_equal(stat_main(4, argv3), 1);
    assert_true(clock_now() - t0 < 2.0);
    char *argv4[] = {"stat", "--bogus", NULL};
    assert_int_equal(stat_main(2, argv4), 1);
    zmq_close(a);
    assert_true(s_stop(f) < 1.0);
    assert_int_equal(f->rc, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_insert_stats, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_samples_held_until_learning_starts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_and_reconnect, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_actor_incarnations, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unread_replies_bounded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_evaluator_results, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_staleness_and_returns, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_external_env, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limiter_holds_actor, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limiter_refuses_what_never_fits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limiter_timeout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_window_refused_at_start, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_peer_stats_relayed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_peer_stats_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_env_sizes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stat_command, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
