/* learner_io: the learner's I/O thread against a fake replay server (a ROUTER in this test) and a
 * SUB for the weights, over tcp loopback. Hello and sample_prefetch requests at the start, the
 * first one with the stats list; each answer checked, queued in arrival order with its arrays
 * intact and answered with a new request; a refused batch and an answer to an unknown request
 * counted; no more batches taken off the socket than there are slots while the update loop holds
 * them, and the rest taken at once when it has used all but LEARNER_IO_LOW_WATER; weights handed
 * over and published; a no_hello Error answered with Hello and a fresh set of requests; a weights
 * subscriber that sends a frame larger than a subscription is disconnected (ZeroMQ would keep it,
 * a trie node per byte) while a one-byte subscription stays; the stop at once. */
#include "tests/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/wire.h"
#include "env/env.h"
#include "learner/learner_io.h"
#include "learner/learner_stats.h"

#define S 3
#define A 1
#define BATCH 8
#define PREFETCH 4
#define WEIGHTS 5

typedef struct {
    config_t cfg;
    env_spec_t spec;
    void *ctx, *router, *sub;
    unsigned char peer[256]; /* the learner's routing id */
    size_t peer_len;
    learner_io_t *io;
} fixture_t;

static int s_free_port(void) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[128];
    size_t len = sizeof ep;
    int port = -1;
    if (zmq_bind(s, "tcp://127.0.0.1:*") == 0 && zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) == 0)
        port = atoi(strrchr(ep, ':') + 1);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return port;
}

static void s_set(config_t *cfg, const char *k, const char *v) {
    char err[256];
    if (config_set(cfg, k, v, err, sizeof err) != 0)
        fail_msg("config %s=%s: %s", k, v, err);
}

/* the next message from the learner within timeout_ms, or NULL */
static Mpo__Message *s_recv(fixture_t *f, int timeout_ms) {
    zmq_pollitem_t it = {.socket = f->router, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    int rc = zmq_recv(f->router, f->peer, sizeof f->peer, 0);
    assert_true(rc > 0);
    f->peer_len = (size_t)rc;
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_true(zmq_msg_recv(&m, f->router, 0) >= 0);
    wire_rejection_t why;
    char reason[256];
    Mpo__Message *msg = wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), &why, reason, sizeof reason);
    zmq_msg_close(&m);
    if (!msg)
        fail_msg("the learner sent something undecodable: %s", reason);
    return msg;
}

/* the ids of the next n SampleRequests (after a Hello when hello is set); *stats gets the
 * n_stats of the first */
static void s_expect_requests(fixture_t *f, int hello, int n, uint64_t *ids, size_t *stats) {
    if (hello) {
        Mpo__Message *m = s_recv(f, 3000);
        assert_non_null(m);
        assert_int_equal(m->body_case, MPO__MESSAGE__BODY_HELLO);
        assert_int_equal(m->hello->role, MPO__ROLE__ROLE_LEARNER);
        assert_string_equal(m->hello->env, "Pendulum-v1");
        wire_free(m);
    }
    for (int i = 0; i < n; i++) {
        Mpo__Message *m = s_recv(f, 3000);
        assert_non_null(m);
        assert_int_equal(m->body_case, MPO__MESSAGE__BODY_SAMPLE_REQUEST);
        assert_int_equal(m->sample_request->batch_size, BATCH);
        ids[i] = m->sample_request->id;
        if (i == 0 && stats)
            *stats = m->sample_request->n_stats;
        wire_free(m);
    }
}

/* a SampleBatch of n transitions answering request id, every reward = tag; bad: one obs short */
static void s_answer(fixture_t *f, uint64_t id, int n, float tag, int bad) {
    float obs[BATCH * S], act[BATCH * A], rew[BATCH], done[BATCH], next[BATCH * S];
    for (int i = 0; i < n * S; i++)
        obs[i] = next[i] = tag + (float)i * 0.5f;
    for (int i = 0; i < n; i++) {
        act[i] = 0.25f;
        rew[i] = tag;
        done[i] = 0;
    }
    Mpo__Message m;
    Mpo__SampleBatch b;
    wire_init_message(&m);
    mpo__sample_batch__init(&b);
    b.request_id = id;
    b.n = (uint32_t)n;
    b.obs = obs;
    b.n_obs = (size_t)(n * S - (bad ? 1 : 0));
    b.action = act;
    b.n_action = (size_t)(n * A);
    b.reward = rew;
    b.n_reward = (size_t)n;
    b.done = done;
    b.n_done = (size_t)n;
    b.next_obs = next;
    b.n_next_obs = (size_t)(n * S);
    m.body_case = MPO__MESSAGE__BODY_SAMPLE_BATCH;
    m.sample_batch = &b;
    assert_int_equal(wire_send(f->router, f->peer, f->peer_len, &m, 0), 0);
}

static double s_stat(fixture_t *f, learner_stat_id_t id) {
    double v[LEARNER_STAT_COUNT];
    memset(v, 0, sizeof v);
    learner_io_stats(f->io, v);
    return v[id];
}

/* the I/O thread counts after it sends: wait up to a second for a figure to reach value */
static void s_wait_stat(fixture_t *f, learner_stat_id_t id, double value) {
    double t0 = clock_now();
    while (s_stat(f, id) != value && clock_now() - t0 < 1.0)
        usleep(1000);
    CLOSE(s_stat(f, id), value, 0);
}

/* the next batch within 3 s: its slot, checked to be n transitions tagged tag */
static int s_next(fixture_t *f, int n, float tag) {
    transition_batch_t b;
    int slot = learner_io_next(f->io, 3.0, &b);
    assert_true(slot >= 0);
    assert_int_equal(b.n, n);
    for (int i = 0; i < n; i++)
        CLOSE(b.reward[i], tag, 0);
    for (int i = 0; i < n * S; i++) {
        CLOSE(b.obs[i], tag + (float)i * 0.5f, 0);
        CLOSE(b.next_obs[i], tag + (float)i * 0.5f, 0);
    }
    CLOSE(b.action[0], 0.25, 0);
    return slot;
}

static int s_setup(void **state) {
    log_set_level(LOG_ERROR); /* refusals are expected here */
    fixture_t *f = calloc(1, sizeof *f);
    config_defaults(&f->cfg);
    char ep[64];
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof ep;
    assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    s_set(&f->cfg, "replay_endpoint", ep);
    s_set(&f->cfg, "batch_size", "8");
    s_set(&f->cfg, "sample_prefetch", "4");
    const env_ops_t *ops = env_find("Pendulum-v1");
    assert_non_null(ops);
    f->spec = *ops->spec;
    char err[256];
    /* the weights port is picked free and bound by learner_io: another process may take it between */
    for (int attempt = 0; attempt < 10 && !f->io; attempt++) {
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", s_free_port());
        s_set(&f->cfg, "weights_bind", ep);
        f->io = learner_io_new(&f->cfg, &f->spec, "test-learner", WEIGHTS, err, sizeof err);
    }
    if (!f->io)
        fail_msg("learner_io_new: %s", err);
    f->sub = zmq_socket(f->ctx, ZMQ_SUB);
    zmq_setsockopt(f->sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal(zmq_connect(f->sub, ep), 0);
    double v[LEARNER_STAT_COUNT];
    memset(v, 0, sizeof v);
    v[LEARNER_STAT_updates_total] = 7;
    v[LEARNER_STAT_weights_version] = 2;
    learner_io_set_stats(f->io, v);
    assert_int_equal(learner_io_start(f->io, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state) {
    fixture_t *f = *state;
    double t0 = clock_now();
    learner_io_destroy(&f->io);
    assert_true(clock_now() - t0 < 1.0); /* woken, not left to its poll timeout */
    zmq_close(f->router);
    zmq_close(f->sub);
    zmq_ctx_term(f->ctx);
    free(f);
    return 0;
}

static void test_batches(void **state) {
    fixture_t *f = *state;
    uint64_t ids[PREFETCH], more[PREFETCH];
    size_t n_stats = 0;
    s_expect_requests(f, 1, PREFETCH, ids, &n_stats);
    assert_true(n_stats >= 20); /* the first request carries the whole list */
    /* answers in arrival order, each replaced by a new request before it is used */
    s_answer(f, ids[2], BATCH, 10, 0);
    s_answer(f, ids[0], 5, 20, 0);
    s_expect_requests(f, 0, 2, more, NULL);
    assert_true(more[0] > ids[3] && more[1] > more[0]);
    int a = s_next(f, BATCH, 10), b = s_next(f, 5, 20);
    assert_int_not_equal(a, b);
    learner_io_done(f->io, a);
    learner_io_done(f->io, b);
    /* refused (an obs short) and stale (an id never asked for): counted, nothing queued */
    s_answer(f, ids[1], BATCH, 30, 1);
    s_answer(f, 999999, BATCH, 40, 0);
    s_expect_requests(f, 0, 1, more, NULL); /* ids[1] was live: replaced; 999999 was not */
    transition_batch_t t;
    int slot = learner_io_next(f->io, 3.0, &t);
    assert_true(slot >= 0);
    CLOSE(t.reward[0], 40, 0); /* the stale answer is data all the same */
    learner_io_done(f->io, slot);
    s_wait_stat(f, LEARNER_STAT_rejected_total, 1);
    s_wait_stat(f, LEARNER_STAT_stale_batches_total, 1);
    assert_int_equal(learner_io_next(f->io, 0.05, &t), -1);
    assert_false(learner_io_failed(f->io));
}

static void test_full_queue(void **state) {
    fixture_t *f = *state;
    int slots = learner_io_slots(f->io);
    assert_int_equal(slots, PREFETCH + 2);
    uint64_t ids[PREFETCH], more[PREFETCH];
    s_expect_requests(f, 1, PREFETCH, ids, NULL);
    /* the update loop takes nothing: `slots` answers are taken, each answered with a request */
    for (int i = 0; i < PREFETCH; i++)
        s_answer(f, ids[i], BATCH, (float)(100 + i), 0);
    s_expect_requests(f, 0, PREFETCH, ids, NULL);
    for (int i = 0; i < PREFETCH; i++)
        s_answer(f, ids[i], BATCH, (float)(100 + PREFETCH + i), 0);
    s_expect_requests(f, 0, slots - PREFETCH, more, NULL);
    assert_null(s_recv(f, 300)); /* the rest wait in the socket, unanswered */
    s_wait_stat(f, LEARNER_STAT_batches_ready, slots);
    /* used batches free slots, but the thread is woken only when LEARNER_IO_LOW_WATER are left */
    int tag = 100;
    for (; tag < 100 + slots - LEARNER_IO_LOW_WATER - 1; tag++) {
        learner_io_done(f->io, s_next(f, BATCH, (float)tag));
        assert_null(s_recv(f, tag == 100 ? 300 : 20));
    }
    learner_io_done(f->io, s_next(f, BATCH, (float)tag++));
    /* one wake-up: every waiting answer is taken at once */
    s_expect_requests(f, 0, 2 * PREFETCH - slots, more, NULL);
    for (; tag < 100 + 2 * PREFETCH; tag++)
        learner_io_done(f->io, s_next(f, BATCH, (float)tag));
}

static void test_weights_and_reissue(void **state) {
    fixture_t *f = *state;
    uint64_t ids[PREFETCH];
    s_expect_requests(f, 1, PREFETCH, ids, NULL);
    usleep(300000); /* the SUB's subscription reaches the PUB */
    const float w[WEIGHTS] = {1, 2, 3, 4, 5};
    learner_io_publish(f->io, w, 3, 42);
    zmq_pollitem_t it = {.socket = f->sub, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&it, 1, 3000), 1);
    Mpo__Message *m = wire_recv(f->sub, &(wire_rejection_t){0}, (char[64]){0}, 64);
    assert_non_null(m);
    assert_int_equal(m->body_case, MPO__MESSAGE__BODY_WEIGHTS);
    assert_int_equal(m->weights->version, 3);
    assert_int_equal(m->weights->learner_step, 42);
    assert_int_equal(m->weights->n_params, WEIGHTS);
    CLOSE(m->weights->params[4], 5, 0);
    assert_string_equal(m->weights->layout->env, "Pendulum-v1");
    wire_free(m);
    s_wait_stat(f, LEARNER_STAT_publications_total, 1);
    /* a restarted server: Hello again and a fresh set of requests */
    assert_int_equal(wire_send_error(f->router, f->peer, f->peer_len, WIRE_NO_HELLO, "who?"), 0);
    s_expect_requests(f, 1, PREFETCH, ids, NULL);
    s_wait_stat(f, LEARNER_STAT_reissues_total, 1);
}

/* A TCP connection to the weights PUB that speaks ZMTP 3 by hand as a SUB and sends one subscription
 * of `len` bytes in a frame of its own; the socket */
static int s_raw_subscriber(fixture_t *f, size_t len) {
    int port = atoi(strrchr(f->cfg.weights_bind, ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static unsigned char buf[128 + (1 << 16)];
    size_t n = 0;
    memset(buf, 0, 64); /* the greeting: signature, version 3.0, NULL, as a client */
    buf[0] = 0xff, buf[8] = 1, buf[9] = 0x7f, buf[10] = 3;
    memcpy(buf + 12, "NULL", 4);
    n = 64;
    static const unsigned char ready[] = {0x04, 25, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e', 't',
                                          '-', 'T', 'y', 'p', 'e', 0, 0, 0, 3, 'S', 'U', 'B'};
    memcpy(buf + n, ready, sizeof ready);
    n += sizeof ready;
    /* the server's greeting and READY before any message: until its READY is sent, a frame is
     * taken as a handshake command and refused */
    assert_true(send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n);
    size_t got = 0;
    for (double until = clock_now() + 3.0; got < 64 + sizeof ready - 1 && clock_now() < until;) {
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        got += r > 0 ? (size_t)r : 0;
        usleep(10000);
    }
    n = 0;
    if (len < 256) { /* a frame of one-byte length: 1 (subscribe) and the prefix */
        buf[n++] = 0x00, buf[n++] = (unsigned char)len;
    } else { /* one of 8-byte length */
        buf[n++] = 0x02;
        for (int i = 7; i >= 0; i--)
            buf[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    buf[n] = 1;
    memset(buf + n + 1, 'x', len - 1);
    n += len;
    assert_true(send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n);
    return fd;
}

/* 1 when the server closes fd within timeout_ms (what it sends before is read and dropped) */
static int s_closed_within(int fd, int timeout_ms) {
    char sink[4096];
    for (double until = clock_now() + timeout_ms / 1000.0; clock_now() < until;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0)
            return 1;
    }
    return 0;
}

static void test_oversized_subscription(void **state) {
    fixture_t *f = *state;
    int big = s_raw_subscriber(f, 1 << 16), small = s_raw_subscriber(f, 1);
    assert_true(s_closed_within(big, 3000));
    assert_false(s_closed_within(small, 500));
    close(big);
    close(small);
    /* the learner publishes on as before */
    usleep(300000);
    const float w[WEIGHTS] = {1, 2, 3, 4, 5};
    learner_io_publish(f->io, w, 1, 1);
    zmq_pollitem_t it = {.socket = f->sub, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&it, 1, 3000), 1);
    assert_false(learner_io_failed(f->io));
}

/* Subscriptions to topics other than the weights' "" are a stranger's: counted, and past 1 MiB of
 * them the weights socket closes every connection to free them. An actor's subscriber comes back by
 * itself and gets the next weights. */
static void test_foreign_subscriptions(void **state) {
    fixture_t *f = *state;
    void *stranger = zmq_socket(f->ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(stranger, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(stranger, ZMQ_SNDHWM, &zero, sizeof zero); /* or its own queue drops past 1000 */
    assert_int_equal(zmq_connect(stranger, f->cfg.weights_bind), 0);
    char topic[1000];
    memset(topic, 'x', sizeof topic);
    for (int i = 0; i < 1200; i++) { /* 1.2 MB */
        snprintf(topic, sizeof topic, "%06d", i);
        topic[6] = 'x';
        assert_int_equal(zmq_setsockopt(stranger, ZMQ_SUBSCRIBE, topic, sizeof topic), 0);
    }
    double t0 = clock_now();
    while (s_stat(f, LEARNER_STAT_weights_socket_resets_total) < 1 && clock_now() - t0 < 30.0)
        usleep(10000);
    assert_true(s_stat(f, LEARNER_STAT_weights_socket_resets_total) >= 1);
    assert_true(s_stat(f, LEARNER_STAT_foreign_subscriptions_total) > 1000);
    double t1 = clock_now();
    zmq_close(stranger);
    /* the actor's subscriber is back: weights reach it again */
    const float w[WEIGHTS] = {1, 2, 3, 4, 5};
    zmq_pollitem_t it = {.socket = f->sub, .events = ZMQ_POLLIN};
    int got = 0;
    for (int k = 1; k <= 300 && !got; k++) { /* ZeroMQ files and frees 1 KB topics at ~2 ms each */
        learner_io_publish(f->io, w, (uint64_t)k, 1);
        got = zmq_poll(&it, 1, 100) == 1;
    }
    fprintf(stderr, "reset after %.1f s, weights again after %.1f s\n", t1 - t0, clock_now() - t1);
    assert_true(got);
    assert_false(learner_io_failed(f->io));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_full_queue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_weights_and_reissue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_subscription, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_foreign_subscriptions, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
