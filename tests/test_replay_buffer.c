/* replay_buffer: sizes and counters, the ring's wrap-around order, the done flag, and uniform
 * sampling that only ever returns held transitions and reaches every slot; the runs a snapshot
 * writes and the appends that restore them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "replay/replay_buffer.h"

#define OBS 3
#define ACT 2

/* Transition number k has obs = [k, k+0.25, k+0.5], action = [-k, 2k], reward k/10,
 * done = (k % 3 == 0), next_obs = obs + 1000: every field identifies k. */
static void s_make(int k, float *obs, float *act, float *r, float *d, float *next) {
    for (int i = 0; i < OBS; i++) {
        obs[i] = k + 0.25f * i;
        next[i] = obs[i] + 1000.0f;
    }
    act[0] = (float)-k;
    act[1] = 2.0f * k;
    *r = k / 10.0f;
    *d = k % 3 == 0 ? 1.0f : 0.0f;
}

typedef struct {
    float obs[64 * OBS], action[64 * ACT], reward[64], done[64], next_obs[64 * OBS];
    transition_batch_t b;
} batch_store_t;

static void s_batch_init(batch_store_t *s, int n) {
    assert_true(n <= 64);
    memset(s, 0, sizeof *s);
    s->b = (transition_batch_t){s->obs, s->action, s->reward, s->done, s->next_obs, n};
}

/* which transition slot j of a batch holds, checking every field agrees; -1 if none */
static int s_identify(const transition_batch_t *b, int j) {
    int k = (int)b->obs[j * OBS];
    float obs[OBS], act[ACT], r, d, next[OBS];
    s_make(k, obs, act, &r, &d, next);
    if (memcmp(obs, b->obs + j * OBS, sizeof obs) || memcmp(act, b->action + j * ACT, sizeof act) ||
        memcmp(next, b->next_obs + j * OBS, sizeof next) || r != b->reward[j] || d != b->done[j])
        return -1;
    return k;
}

static void test_new_and_sizes(void **state) {
    (void)state;
    replay_buffer_t *rb = replay_buffer_new(10, OBS, ACT);
    assert_non_null(rb);
    assert_int_equal(replay_buffer_capacity(rb), 10);
    assert_int_equal(replay_buffer_size(rb), 0);
    assert_int_equal(replay_buffer_inserted(rb), 0);
    assert_int_equal(replay_buffer_bytes(rb), 10 * (2 * OBS + ACT + 2) * sizeof(float));
    float obs[OBS], act[ACT], r, d, next[OBS];
    for (int k = 0; k < 4; k++) {
        s_make(k, obs, act, &r, &d, next);
        replay_buffer_add(rb, obs, act, r, d, next);
        assert_int_equal(replay_buffer_size(rb), k + 1);
        assert_int_equal(replay_buffer_inserted(rb), k + 1);
    }
    replay_buffer_destroy(&rb);
    assert_null(rb);
    replay_buffer_destroy(&rb);
    assert_null(replay_buffer_new(0, OBS, ACT));
    assert_null(replay_buffer_new(4, 0, ACT));
    assert_null(replay_buffer_new(4, OBS, 0));
}

/* capacity 5, 12 inserted (as one batch of 7 and five singles): the held ones are 7..11 in order */
static void test_wrap_around(void **state) {
    (void)state;
    replay_buffer_t *rb = replay_buffer_new(5, OBS, ACT);
    assert_non_null(rb);
    batch_store_t in;
    s_batch_init(&in, 7);
    for (int k = 0; k < 7; k++)
        s_make(k, in.obs + k * OBS, in.action + k * ACT, &in.reward[k], &in.done[k], in.next_obs + k * OBS);
    replay_buffer_insert(rb, &in.b);
    assert_int_equal(replay_buffer_size(rb), 5);
    assert_int_equal(replay_buffer_inserted(rb), 7);
    batch_store_t out;
    s_batch_init(&out, 5);
    for (int i = 0; i < 5; i++)
        replay_buffer_get(rb, i, &out.b, i);
    for (int i = 0; i < 5; i++)
        assert_int_equal(s_identify(&out.b, i), 2 + i);

    float obs[OBS], act[ACT], r, d, next[OBS];
    for (int k = 7; k < 12; k++) {
        s_make(k, obs, act, &r, &d, next);
        replay_buffer_add(rb, obs, act, r, d, next);
    }
    assert_int_equal(replay_buffer_size(rb), 5);
    assert_int_equal(replay_buffer_capacity(rb), 5);
    assert_int_equal(replay_buffer_inserted(rb), 12);
    /* get into slots in reverse to check the slot index j is honoured */
    for (int i = 0; i < 5; i++)
        replay_buffer_get(rb, i, &out.b, 4 - i);
    for (int i = 0; i < 5; i++)
        assert_int_equal(s_identify(&out.b, 4 - i), 7 + i);
    replay_buffer_destroy(&rb);
}

/* before it fills, get(i) is the i-th inserted */
static void test_get_partial(void **state) {
    (void)state;
    replay_buffer_t *rb = replay_buffer_new(8, OBS, ACT);
    float obs[OBS], act[ACT], r, d, next[OBS];
    for (int k = 0; k < 3; k++) {
        s_make(k + 20, obs, act, &r, &d, next);
        replay_buffer_add(rb, obs, act, r, d, next);
    }
    batch_store_t out;
    s_batch_init(&out, 3);
    for (int i = 0; i < 3; i++)
        replay_buffer_get(rb, i, &out.b, i);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s_identify(&out.b, i), 20 + i);
    replay_buffer_destroy(&rb);
}

/* The runs a snapshot writes are the held records oldest first, for every fill level and wrap
 * point; appending them to another ring (of any capacity) rebuilds the newest of them in order. */
static void test_runs_and_append(void **state) {
    (void)state;
    const size_t per = transition_floats(OBS, ACT);
    float obs[OBS], act[ACT], r, d, next[OBS];
    for (int inserted = 0; inserted <= 13; inserted++) {
        replay_buffer_t *rb = replay_buffer_new(5, OBS, ACT);
        for (int k = 0; k < inserted; k++) {
            s_make(k, obs, act, &r, &d, next);
            replay_buffer_add(rb, obs, act, r, d, next);
        }
        float all[13 * 32];
        size_t n = 0;
        for (int run = 0; run < 3; run++) {
            const float *records;
            size_t m = replay_buffer_run(rb, run, &records);
            assert_true(run < 2 || m == 0);
            memcpy(all + n * per, records, m * per * sizeof(float));
            n += m;
        }
        assert_int_equal(n, replay_buffer_size(rb));
        for (size_t cap = 2; cap <= 7; cap += 5) { /* smaller and larger than the source */
            replay_buffer_t *copy = replay_buffer_new(cap, OBS, ACT);
            replay_buffer_append(copy, all, n);
            size_t held = n < cap ? n : cap;
            assert_int_equal(replay_buffer_size(copy), held);
            assert_int_equal(replay_buffer_inserted(copy), n);
            batch_store_t out;
            s_batch_init(&out, (int)held);
            for (size_t i = 0; i < held; i++)
                replay_buffer_get(copy, i, &out.b, (int)i);
            for (size_t i = 0; i < held; i++) /* the newest `held` of 0 .. inserted-1 */
                assert_int_equal(s_identify(&out.b, (int)i), inserted - (int)held + (int)i);
            replay_buffer_set_inserted(copy, 1000);
            assert_int_equal(replay_buffer_inserted(copy), 1000);
            replay_buffer_clear(copy);
            assert_int_equal(replay_buffer_size(copy), 0);
            assert_int_equal(replay_buffer_inserted(copy), 0);
            replay_buffer_destroy(&copy);
        }
        replay_buffer_destroy(&rb);
    }
}

static void test_done_flag(void **state) {
    (void)state;
    replay_buffer_t *rb = replay_buffer_new(6, OBS, ACT);
    float obs[OBS] = {0}, act[ACT] = {0}, next[OBS] = {0};
    const float dones[6] = {0, 1, 0, 0, 1, 1};
    for (int k = 0; k < 6; k++) {
        obs[0] = (float)k;
        replay_buffer_add(rb, obs, act, -1.0f, dones[k], next);
    }
    batch_store_t out;
    s_batch_init(&out, 6);
    for (int i = 0; i < 6; i++)
        replay_buffer_get(rb, i, &out.b, i);
    for (int i = 0; i < 6; i++) {
        assert_true(out.done[i] == dones[i]);
        assert_true(out.obs[i * OBS] == (float)i);
        assert_true(out.reward[i] == -1.0f);
    }
    replay_buffer_destroy(&rb);
}

static void test_sample_empty(void **state) {
    (void)state;
    replay_buffer_t *rb = replay_buffer_new(5, OBS, ACT);
    rng_t rng;
    rng_seed(&rng, 1);
    batch_store_t out;
    s_batch_init(&out, 4);
    assert_int_equal(replay_buffer_sample(rb, &rng, &out.b), -1);
    replay_buffer_destroy(&rb);
}

/* after wrapping: every sampled row is one of the held transitions (all fields consistent, never
 * an overwritten one), every held one is sampled, roughly uniformly */
static void test_sample_held_and_uniform(void **state) {
    (void)state;
    enum { CAP = 7, TOTAL = 19 };
    replay_buffer_t *rb = replay_buffer_new(CAP, OBS, ACT);
    float obs[OBS], act[ACT], r, d, next[OBS];
    for (int k = 0; k < TOTAL; k++) {
        s_make(k, obs, act, &r, &d, next);
        replay_buffer_add(rb, obs, act, r, d, next);
    }
    rng_t rng;
    rng_seed(&rng, 99);
    batch_store_t out;
    s_batch_init(&out, 64);
    int counts[CAP] = {0}, total = 0;
    for (int rep = 0; rep < 200; rep++) {
        assert_int_equal(replay_buffer_sample(rb, &rng, &out.b), 0);
        for (int j = 0; j < 64; j++) {
            int k = s_identify(&out.b, j);
            if (k < TOTAL - CAP || k >= TOTAL)
                fail_msg("sampled row %d is transition %d, not one of the held %d..%d", j, k,
                         TOTAL - CAP, TOTAL - 1);
            counts[k - (TOTAL - CAP)]++;
            total++;
        }
    }
    /* 12800 draws over 7 slots: expected 1829 each, sd ~40 */
    for (int i = 0; i < CAP; i++) {
        assert_true(counts[i] > 0);
        assert_true(fabs(counts[i] - (double)total / CAP) < 6 * sqrt(total / (double)CAP));
    }
    /* the batch size is what the caller asks for; a single transition is always that one */
    replay_buffer_t *one = replay_buffer_new(3, OBS, ACT);
    s_make(42, obs, act, &r, &d, next);
    replay_buffer_add(one, obs, act, r, d, next);
    s_batch_init(&out, 5);
    assert_int_equal(replay_buffer_sample(one, &rng, &out.b), 0);
    for (int j = 0; j < 5; j++)
        assert_int_equal(s_identify(&out.b, j), 42);
    /* and only the slots written before the ring filled */
    replay_buffer_t *part = replay_buffer_new(10, OBS, ACT);
    for (int k = 0; k < 3; k++) {
        s_make(k + 50, obs, act, &r, &d, next);
        replay_buffer_add(part, obs, act, r, d, next);
    }
    s_batch_init(&out, 64);
    int seen[3] = {0};
    for (int rep = 0; rep < 10; rep++) {
        assert_int_equal(replay_buffer_sample(part, &rng, &out.b), 0);
        for (int j = 0; j < 64; j++) {
            int k = s_identify(&out.b, j);
            assert_true(k >= 50 && k < 53);
            seen[k - 50] = 1;
        }
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    replay_buffer_destroy(&one);
    replay_buffer_destroy(&part);
    replay_buffer_destroy(&rb);
}

/* the same seed samples the same rows */
static void test_sample_seeded(void **state) {
    (void)state;
    replay_buffer_t *rb = replay_buffer_new(16, OBS, ACT);
    float obs[OBS], act[ACT], r, d, next[OBS];
    for (int k = 0; k < 16; k++) {
        s_make(k, obs, act, &r, &d, next);
        replay_buffer_add(rb, obs, act, r, d, next);
    }
    rng_t r1, r2;
    rng_seed(&r1, 5);
    rng_seed(&r2, 5);
    batch_store_t a, b;
    s_batch_init(&a, 32);
    s_batch_init(&b, 32);
    replay_buffer_sample(rb, &r1, &a.b);
    replay_buffer_sample(rb, &r2, &b.b);
    assert_memory_equal(a.obs, b.obs, sizeof a.obs);
    assert_memory_equal(a.action, b.action, sizeof a.action);
    replay_buffer_destroy(&rb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_sizes),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_get_partial),
        cmocka_unit_test(test_runs_and_append),
        cmocka_unit_test(test_done_flag),
        cmocka_unit_test(test_sample_empty),
        cmocka_unit_test(test_sample_held_and_uniform),
        cmocka_unit_test(test_sample_seeded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
