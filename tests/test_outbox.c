/* outbox: the actor's ring of unacknowledged batches, driven by hand with a recording send
 * function and made-up times: seq numbering, the credit on sending and on stepping, acks in and out
 * of order, unknown and duplicate acks, a send that fails, the ack timeout and resends that keep
 * their seq and contents, and batches closed by the episode limit. */
#include "tests/test_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actor/outbox.h"
#include "common/wire.h"

#define S 2
#define A 1
#define MAX_SENDS 64

/* what the fake wire saw */
typedef struct {
    int n;
    uint64_t seq[MAX_SENDS];
    int rows[MAX_SENDS];
    float first_obs[MAX_SENDS]; /* obs[0] of the first transition: which transitions went */
    float last_reward[MAX_SENDS];
    size_t episodes[MAX_SENDS];
    uint64_t version[MAX_SENDS];
    int fail; /* refuse the next `fail` sends (a full high-water mark) */
} s_wire_t;

static int s_send(void *ctx, const outbox_batch_t *b) {
    s_wire_t *w = ctx;
    if (w->fail > 0) {
        w->fail--;
        return -1;
    }
    assert_true(w->n < MAX_SENDS);
    w->seq[w->n] = b->seq;
    w->rows[w->n] = b->t.n;
    w->first_obs[w->n] = b->t.obs[0];
    w->last_reward[w->n] = b->t.reward[b->t.n - 1];
    w->episodes[w->n] = b->n_episodes;
    w->version[w->n] = b->policy_version;
    /* the arrays are the transitions as added, in the transition_batch_view layout */
    for (int j = 0; j < b->t.n; j++) {
        assert_true(b->t.obs[j * S + 1] == b->t.obs[j * S] + 0.5f);
        assert_true(b->t.next_obs[j * S] == b->t.obs[j * S] + 1);
        assert_true(b->t.action[j * A] == -b->t.obs[j * S]);
        assert_true(b->t.reward[j] == b->t.obs[j * S] * 10);
    }
    w->n++;
    return 0;
}

static outbox_t *s_make(int batch, int credit, int step_size) {
    outbox_config_t c = {.obs_dim = S, .act_dim = A, .batch = batch, .credit = credit, .step_size = step_size};
    char err[256] = "";
    outbox_t *o = outbox_new(&c, err, sizeof err);
    if (!o)
        fail_msg("outbox_new: %s", err);
    return o;
}

/* transition number x: obs (x, x + 0.5), action -x, reward 10x, next_obs (x + 1, …); done 1 when it ends an episode */
static int s_next_x;
static void s_add(outbox_t *o, int count, bool ended, uint64_t version) {
    for (int i = 0; i < count; i++) {
        float x = (float)s_next_x++;
        float obs[S] = {x, x + 0.5f}, next[S] = {x + 1, x + 1.5f}, act[A] = {-x}, r = 10 * x, d = ended;
        transition_batch_t t = {.obs = obs, .action = act, .reward = &r, .done = &d, .next_obs = next, .n = 1};
        outbox_add(o, &t, 0, version, ended, -(double)x, 7);
    }
}

static outbox_counts_t s_counts(const outbox_t *o) {
    outbox_counts_t c;
    outbox_counts(o, &c);
    return c;
}

static void test_refusals_and_ring_size(void **state) {
    (void)state;
    char err[256];
    outbox_config_t bad[] = {
        {.obs_dim = S, .act_dim = A, .batch = 0, .credit = 1, .step_size = 1},
        {.obs_dim = S, .act_dim = A, .batch = 4, .credit = 0, .step_size = 1},
        {.obs_dim = S, .act_dim = A, .batch = 4, .credit = 1, .step_size = 0},
        {.obs_dim = 0, .act_dim = A, .batch = 4, .credit = 1, .step_size = 1},
        {.obs_dim = S, .act_dim = A, .batch = WIRE_MAX_BATCH + 1, .credit = 1, .step_size = 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_null(outbox_new(&bad[i], err, sizeof err));
        assert_true(err[0] != 0);
    }
    outbox_t *o = s_make(64, 2, 1);
    assert_int_equal(outbox_slots(o), 2 + 1 + 1);
    outbox_destroy(&o);
    assert_null(o);
    outbox_destroy(&o); /* NULL is fine */
    o = s_make(64, 3, 200); /* a step fills up to ceil(200/64) = 4 batches */
    assert_int_equal(outbox_slots(o), 3 + 4 + 1);
    outbox_destroy(&o);
    o = s_make(8192, 1, 8192); /* a batch closes at WIRE_MAX_EPISODES episodes: 2 per step */
    assert_int_equal(outbox_slots(o), 1 + 2 + 1);
    outbox_destroy(&o);
}

/* seqs from 1 in fill order; a batch goes when full; stepping stops at credit full batches */
static void test_seq_and_credit(void **state) {
    (void)state;
    s_next_x = 0;
    s_wire_t w = {0};
    outbox_t *o = s_make(4, 2, 1);
    assert_true(outbox_can_step(o));
    s_add(o, 3, false, 5);
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 0); /* 3 of 4: not full, nothing goes */
    assert_int_equal(s_counts(o).held, 0);
    s_add(o, 1, false, 6);
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 1);
    assert_int_equal(w.n, 1);
    assert_true(w.seq[0] == 1);
    assert_int_equal(w.rows[0], 4);
    assert_true(w.first_obs[0] == 0);
    assert_true(w.version[0] == 6); /* the weights that acted on the newest transition */
    assert_true(outbox_can_step(o));
    s_add(o, 4, false, 6);
    outbox_counts_t c = s_counts(o);
    assert_int_equal(c.held, 2);
    assert_int_equal(c.in_flight, 1);
    assert_false(outbox_can_step(o)); /* two full batches held: no step until an ack */
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 1);
    assert_true(w.seq[1] == 2);
    assert_true(w.first_obs[1] == 4);
    c = s_counts(o);
    assert_int_equal(c.in_flight, 2);
    assert_true(c.sent == 2 && c.acked == 0);
    outbox_destroy(&o);
}

/* only credit batches on the wire: the rest wait READY until an ack frees credit */
static void test_credit_limits_sending(void **state) {
    (void)state;
    s_next_x = 0;
    s_wire_t w = {0};
    outbox_t *o = s_make(4, 1, 12); /* one step of 12 transitions fills 3 batches */
    assert_true(outbox_can_step(o));
    s_add(o, 12, false, 1);
    assert_false(outbox_can_step(o));
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 1);
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 0);
    assert_true(w.n == 1 && w.seq[0] == 1);
    assert_int_equal(outbox_ack(o, 1, 1), 1);
    assert_int_equal(outbox_flush(o, s_send, &w, 1), 1);
    assert_true(w.n == 2 && w.seq[1] == 2 && w.first_obs[1] == 4);
    assert_int_equal(outbox_ack(o, 2, 2), 1);
    assert_int_equal(outbox_flush(o, s_send, &w, 2), 1);
    assert_true(w.n == 3 && w.seq[2] == 3 && w.first_obs[2] == 8);
    assert_false(outbox_can_step(o));
    assert_int_equal(outbox_ack(o, 3, 3), 1);
    assert_true(outbox_can_step(o));
    outbox_counts_t c = s_counts(o);
    assert_true(c.sent == 3 && c.acked == 3 && c.in_flight == 0 && c.held == 0);
    outbox_destroy(&o);
}

/* an ack frees its own batch; out of order it waits behind the older one; unknown, duplicate and
 * not-yet-sent seqs change nothing */
static void test_acks(void **state) {
    (void)state;
    s_next_x = 0;
    s_wire_t w = {0};
    outbox_t *o = s_make(2, 3, 8);
    s_add(o, 8, false, 1); /* one step: seqs 1..4 */
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 3); /* credit 3: seq 4 waits */
    outbox_counts_t c = s_counts(o);
    assert_int_equal(c.in_flight, 3);
    assert_int_equal(c.held, 4);
    assert_int_equal(outbox_ack(o, 99, 1), 0);   /* never given */
    assert_int_equal(outbox_ack(o, 4, 1), 0);    /* full but not sent: credit is not back */
    assert_int_equal(outbox_ack(o, 0, 1), 0);    /* a hello's ack is not a batch's */
    assert_int_equal(s_counts(o).in_flight, 3);
    assert_int_equal(outbox_ack(o, 2, 1), 1);    /* out of order: credit back, slot still held */
    c = s_counts(o);
    assert_int_equal(c.in_flight, 2);
    assert_int_equal(c.held, 4);
    assert_int_equal(outbox_ack(o, 2, 1), 0);    /* a duplicate (after a resend) */
    assert_int_equal(s_counts(o).acked, 1);
    assert_int_equal(outbox_flush(o, s_send, &w, 1), 1); /* the freed credit sends seq 4 */
    assert_true(w.seq[3] == 4 && w.first_obs[3] == 6);
    assert_int_equal(outbox_ack(o, 1, 2), 1);    /* the oldest: 1 and 2 free together */
    c = s_counts(o);
    assert_int_equal(c.held, 2);
    assert_int_equal(c.in_flight, 2);
    assert_int_equal(outbox_ack(o, 3, 2), 1);
    assert_int_equal(outbox_ack(o, 4, 2), 1);
    c = s_counts(o);
    assert_true(c.held == 0 && c.in_flight == 0 && c.acked == 4);
    /* the ring wraps: the next batches take the freed slots and go on numbering */
    for (uint64_t seq = 5; seq < 5 + 3 * (uint64_t)outbox_slots(o); seq++) {
        assert_true(outbox_can_step(o));
        s_add(o, 2, false, 1);
        assert_int_equal(outbox_flush(o, s_send, &w, 3), 1);
        assert_true(w.seq[w.n - 1] == seq);
        assert_int_equal(outbox_ack(o, seq, 3), 1);
        w.n = 4; /* keep the record short */
    }
    outbox_destroy(&o);
}

/* a send that fails leaves the batch READY, in order, and starts no ack clock */
static void test_failed_send(void **state) {
    (void)state;
    s_next_x = 0;
    s_wire_t w = {.fail = 1};
    outbox_t *o = s_make(2, 2, 4);
    s_add(o, 4, false, 1);
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 0); /* the first fails: neither goes */
    assert_int_equal(w.n, 0);
    assert_false(outbox_overdue(o, 100, 1));
    assert_int_equal(outbox_flush(o, s_send, &w, 100), 2);
    assert_true(w.seq[0] == 1 && w.seq[1] == 2);
    assert_false(outbox_overdue(o, 100.5, 1));
    assert_true(outbox_overdue(o, 101.5, 1));
    outbox_destroy(&o);
}

/* no ack within the timeout: every batch on the wire again, same seq and contents; the clock
 * restarts; an ack of a resent batch frees it like any other */
static void test_resend_after_timeout(void **state) {
    (void)state;
    s_next_x = 0;
    s_wire_t w = {0};
    outbox_t *o = s_make(3, 2, 9);
    s_add(o, 3, false, 1);
    s_add(o, 1, true, 2);  /* an episode ends in batch 2 */
    s_add(o, 5, false, 2); /* batch 3 stays READY: no credit */
    assert_int_equal(outbox_flush(o, s_send, &w, 10), 2);
    assert_false(outbox_overdue(o, 10, 5));
    assert_false(outbox_overdue(o, 15, 5));
    assert_true(outbox_overdue(o, 15.1, 5));
    assert_int_equal(outbox_resend(o, s_send, &w, 15.1), 2);
    assert_int_equal(w.n, 4);
    for (int i = 0; i < 2; i++) {
        assert_true(w.seq[2 + i] == w.seq[i]);
        assert_true(w.first_obs[2 + i] == w.first_obs[i]);
        assert_true(w.last_reward[2 + i] == w.last_reward[i]);
        assert_true(w.episodes[2 + i] == w.episodes[i]);
    }
    assert_true(w.episodes[0] == 0 && w.episodes[1] == 1);
    outbox_counts_t c = s_counts(o);
    assert_true(c.resent == 2 && c.sent == 2 && c.in_flight == 2);
    assert_false(outbox_overdue(o, 20, 5)); /* the clock restarted */
    assert_true(outbox_overdue(o, 20.2, 5));
    /* a failed resend keeps the batch on the wire for the next try */
    w.fail = 1;
    assert_int_equal(outbox_resend(o, s_send, &w, 21), 1);
    assert_true(w.seq[4] == 2);
    assert_int_equal(outbox_ack(o, 1, 22), 1);
    assert_int_equal(outbox_ack(o, 1, 22), 0); /* the second copy's ack */
    assert_int_equal(outbox_flush(o, s_send, &w, 22), 1);
    assert_true(w.seq[5] == 3);
    assert_false(outbox_overdue(o, 26.9, 5)); /* the ack at 22 reset the clock */
    assert_int_equal(outbox_ack(o, 2, 23), 1);
    assert_int_equal(outbox_ack(o, 3, 23), 1);
    assert_false(outbox_overdue(o, 1000, 5)); /* nothing on the wire */
    c = s_counts(o);
    assert_true(c.acked == 3 && c.in_flight == 0 && c.held == 0);
    outbox_destroy(&o);
}

/* a batch carries at most WIRE_MAX_EPISODES episodes: one of many short episodes closes early,
 * and the ring still holds a worst-case step */
static void test_episode_limit(void **state) {
    (void)state;
    s_next_x = 0;
    s_wire_t w = {0};
    const int B = 8192, K = 8192;
    outbox_t *o = s_make(B, 1, K);
    s_add(o, 4000, true, 1); /* a step of fewer than K */
    assert_int_equal(s_counts(o).held, 0);
    assert_true(outbox_can_step(o));
    s_add(o, K, true, 1); /* closes at 4096 episodes twice, 4000 left filling */
    assert_int_equal(s_counts(o).held, 2);
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 1);
    assert_int_equal(w.rows[0], WIRE_MAX_EPISODES);
    assert_true(w.episodes[0] == WIRE_MAX_EPISODES);
    assert_int_equal(outbox_ack(o, 1, 0), 1);
    assert_int_equal(outbox_flush(o, s_send, &w, 0), 1);
    assert_int_equal(w.rows[1], WIRE_MAX_EPISODES);
    assert_true(w.first_obs[1] == WIRE_MAX_EPISODES);
    outbox_destroy(&o);
}

/* filling past the ring, which only a caller ignoring outbox_can_step can do, is our bug: the
 * assertion aborts with file and line instead of overwriting a held batch */
static void test_overfill_asserts(void **state) {
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        outbox_t *o = s_make(1, 1, 1); /* 3 slots */
        s_add(o, 4, false, 1);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals_and_ring_size),
        cmocka_unit_test(test_seq_and_credit),
        cmocka_unit_test(test_credit_limits_sending),
        cmocka_unit_test(test_acks),
        cmocka_unit_test(test_failed_send),
        cmocka_unit_test(test_resend_after_timeout),
        cmocka_unit_test(test_episode_limit),
        cmocka_unit_test(test_overfill_asserts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
