/* wire's checks of a batch's arrays: every non-finite value anywhere in any array is refused (the
 * branch-free scans read every element), finite extremes are not, and done must be 0 or 1 with the
 * first bad index named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "common/wire.h"

#define OBS 5
#define ACT 3
#define N 37 /* not a multiple of any vector width */

typedef struct {
    float obs[N * OBS], action[N * ACT], reward[N], done[N], next_obs[N * OBS];
    Mpo__TransitionBatch tb;
} s_batch_t;

static void s_batch(s_batch_t *b) {
    memset(b, 0, sizeof *b);
    mpo__transition_batch__init(&b->tb);
    for (int i = 0; i < N * OBS; i++)
        b->obs[i] = b->next_obs[i] = (float)i - 50.0f;
    for (int i = 0; i < N * ACT; i++)
        b->action[i] = (i % 2 ? FLT_MAX : -FLT_MAX);
    for (int i = 0; i < N; i++) {
        b->reward[i] = i % 3 ? FLT_MIN / 4 : -0.0f; /* a subnormal and a negative zero are finite */
        b->done[i] = (float)(i % 2);
    }
    b->tb.seq = 1;
    b->tb.n = N;
    b->tb.obs = b->obs, b->tb.n_obs = N * OBS;
    b->tb.action = b->action, b->tb.n_action = N * ACT;
    b->tb.reward = b->reward, b->tb.n_reward = N;
    b->tb.done = b->done, b->tb.n_done = N;
    b->tb.next_obs = b->next_obs, b->tb.n_next_obs = N * OBS;
}

static wire_rejection_t s_check(const s_batch_t *b, char *reason, size_t len) {
    return wire_check_transitions(&b->tb, OBS, ACT, reason, len);
}

static void test_finite_extremes_pass(void **state) {
    (void)state;
    s_batch_t b;
    s_batch(&b);
    char reason[256];
    assert_int_equal(s_check(&b, reason, sizeof reason), WIRE_OK);
    b.done[0] = -0.0f; /* equal to 0 */
    assert_int_equal(s_check(&b, reason, sizeof reason), WIRE_OK);
}

static void test_every_non_finite_is_refused(void **state) {
    (void)state;
    const float bad[] = {NAN, -NAN, INFINITY, -INFINITY};
    char reason[256];
    for (int k = 0; k < 4; k++) {
        /* in each array, at its first, a middle and its last element */
        for (int which = 0; which < 4; which++) {
            s_batch_t b;
            s_batch(&b);
            float *arr = which == 0 ? b.obs : which == 1 ? b.action : which == 2 ? b.reward : b.next_obs;
            size_t len = which == 1 ? N * ACT : which == 2 ? N : N * OBS;
            const size_t at[] = {0, len / 2, len - 1};
            for (int a = 0; a < 3; a++) {
                float keep = arr[at[a]];
                arr[at[a]] = bad[k];
                assert_int_equal(s_check(&b, reason, sizeof reason), WIRE_BAD_VALUE);
                assert_non_null(strstr(reason, "NaN or infinity"));
                arr[at[a]] = keep;
            }
            assert_int_equal(s_check(&b, reason, sizeof reason), WIRE_OK);
        }
    }
}

static void test_done_is_zero_or_one(void **state) {
    (void)state;
    s_batch_t b;
    s_batch(&b);
    char reason[256];
    b.done[N - 1] = 0.5f;
    b.done[N - 5] = 2.0f;
    assert_int_equal(s_check(&b, reason, sizeof reason), WIRE_BAD_VALUE);
    assert_non_null(strstr(reason, "done[32] = 2")); /* the first bad one */
    s_batch(&b);
    b.done[N - 1] = NAN;
    assert_int_equal(s_check(&b, reason, sizeof reason), WIRE_BAD_VALUE);
    assert_non_null(strstr(reason, "done[36]"));
    s_batch(&b);
    b.done[3] = INFINITY; /* done is not in the finite scan: its own check names it */
    assert_int_equal(s_check(&b, reason, sizeof reason), WIRE_BAD_VALUE);
    assert_non_null(strstr(reason, "done[3]"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finite_extremes_pass),
        cmocka_unit_test(test_every_non_finite_is_refused),
        cmocka_unit_test(test_done_is_zero_or_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
