/* nstep: n-step transitions from one-step ones, against sums worked by hand: full windows bootstrap
 * from s_{t+n}, a terminal ends every open window with d = 1, a truncation ends them with d = 0,
 * environments do not mix, and n = 1 passes every transition through unchanged; then on real
 * Hopper-v4 episodes that terminate, every emitted row against the definition (no window runs past
 * a termination, every step starts exactly one row). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "env/nstep.h"
#include "env/vec_env.h"
#include "tests/test_util.h"

#define K 2
#define S 2
#define A 1
#define G 0.5

/* env k at time t: obs (t, k), action 10 t + k, reward 2^t (so sums show which steps they hold) */
typedef struct {
    float obs[K * S], next[K * S], act[K * A], rew[K], done[K];
    bool ended[K];
    vec_env_step_t st;
} s_step_t;

static void s_make(s_step_t *x, int t, int terminal_k, int truncated_k) {
    memset(x, 0, sizeof *x);
    for (int k = 0; k < K; k++) {
        x->obs[k * S] = (float)t, x->obs[k * S + 1] = (float)k;
        x->next[k * S] = (float)(t + 1), x->next[k * S + 1] = (float)k;
        x->act[k] = (float)(10 * t + k);
        x->rew[k] = (float)(1 << t);
        x->done[k] = k == terminal_k ? 1.0f : 0.0f;
        x->ended[k] = k == terminal_k || k == truncated_k;
    }
    x->st.t = (transition_batch_t){x->obs, x->act, x->rew, x->done, x->next, K};
    x->st.ended = x->ended;
}

typedef struct {
    float block[64 * (2 * S + A + 2)];
    transition_batch_t b;
} s_out_t;

static void s_out(s_out_t *o) {
    o->b = transition_batch_view(o->block, 64, S, A);
    o->b.n = 0;
}

/* row r of out: from (t0, k), reward, done, next state time */
static void s_expect(const s_out_t *o, int r, int t0, int k, double reward, float done, int t_next) {
    CLOSE(o->b.obs[r * S], t0, 0);
    CLOSE(o->b.obs[r * S + 1], k, 0);
    CLOSE(o->b.action[r], 10 * t0 + k, 0);
    CLOSE(o->b.reward[r], reward, 1e-6);
    CLOSE(o->b.done[r], done, 0);
    CLOSE(o->b.next_obs[r * S], t_next, 0);
    CLOSE(o->b.next_obs[r * S + 1], k, 0);
}

static void test_n1_passes_through(void **state) {
    (void)state;
    char err[128];
    nstep_t *n = nstep_new(1, K, S, A, G, err, sizeof err);
    assert_non_null(n);
    assert_int_equal(nstep_max_out(n), K);
    s_out_t o;
    s_out(&o);
    s_step_t x;
    s_make(&x, 0, -1, -1);
    assert_int_equal(nstep_push(n, &x.st, &o.b, NULL, NULL), 2);
    s_make(&x, 1, 0, 1); /* env 0 terminates, env 1 is truncated: both transitions kept */
    assert_int_equal(nstep_push(n, &x.st, &o.b, NULL, NULL), 2);
    s_expect(&o, 0, 0, 0, 1, 0, 1);
    s_expect(&o, 1, 0, 1, 1, 0, 1);
    s_expect(&o, 2, 1, 0, 2, 1, 2);
    s_expect(&o, 3, 1, 1, 2, 0, 2);
    nstep_destroy(&n);
    assert_null(n);
}

static void test_full_windows(void **state) {
    (void)state;
    char err[128];
    nstep_t *n = nstep_new(3, K, S, A, G, err, sizeof err);
    s_out_t o;
    s_out(&o);
    s_step_t x;
    for (int t = 0; t < 2; t++) {
        s_make(&x, t, -1, -1);
        assert_int_equal(nstep_push(n, &x.st, &o.b, NULL, NULL), 0); /* windows still open */
    }
    s_make(&x, 2, -1, -1);
    assert_int_equal(nstep_push(n, &x.st, &o.b, NULL, NULL), 2);
    s_make(&x, 3, -1, -1);
    assert_int_equal(nstep_push(n, &x.st, &o.b, NULL, NULL), 2);
    /* from t=0: 1 + 0.5*2 + 0.25*4 = 3, bootstrapping from s_3; from t=1: 2 + 2 + 2 = 6 from s_4 */
    s_expect(&o, 0, 0, 0, 3, 0, 3);
    s_expect(&o, 1, 0, 1, 3, 0, 3);
    s_expect(&o, 2, 1, 0, 6, 0, 4);
    s_expect(&o, 3, 1, 1, 6, 0, 4);
    nstep_destroy(&n);
}

static void test_terminal_and_truncation(void **state) {
    (void)state;
    char err[128];
    nstep_t *n = nstep_new(3, K, S, A, G, err, sizeof err);
    s_out_t o;
    s_out(&o);
    s_step_t x;
    for (int t = 0; t < 3; t++) {
        s_make(&x, t, -1, -1);
        nstep_push(n, &x.st, &o.b, NULL, NULL);
    }
    assert_int_equal(o.b.n, 2); /* from t=0, both envs */
    /* t=3: env 0 terminates, env 1 is truncated */
    s_make(&x, 3, 0, 1);
    int env[6];
    bool last[6];
    assert_int_equal(nstep_push(n, &x.st, &o.b, env, last), 6);
    const int want_env[6] = {0, 0, 0, 1, 1, 1};
    const bool want_last[6] = {false, false, true, false, false, true};
    for (int r = 0; r < 6; r++) {
        assert_int_equal(env[r], want_env[r]);
        assert_int_equal(last[r], want_last[r]);
    }
    /* env 0: the full window from t=1 (2 + 0.5*4 + 0.25*8 = 6, d = 1), then t=2 (4 + 4 = 8), t=3 (8) */
    s_expect(&o, 2, 1, 0, 6, 1, 4);
    s_expect(&o, 3, 2, 0, 8, 1, 4);
    s_expect(&o, 4, 3, 0, 8, 1, 4);
    /* env 1: the full window from t=1 and the short ones from t=2 and t=3 bootstrap from s_4 */
    s_expect(&o, 5, 1, 1, 6, 0, 4);
    s_expect(&o, 6, 2, 1, 8, 0, 4);
    s_expect(&o, 7, 3, 1, 8, 0, 4);
    /* both start fresh windows: nothing until three more steps */
    for (int t = 4; t < 6; t++) {
        s_make(&x, t, -1, -1);
        assert_int_equal(nstep_push(n, &x.st, &o.b, NULL, NULL), 0);
    }
    s_make(&x, 6, -1, -1);
    assert_int_equal(nstep_push(n, &x.st, &o.b, NULL, NULL), 2);
    s_expect(&o, 8, 4, 0, 16 + 16 + 16, 0, 7);
    nstep_destroy(&n);
}

/* Hopper-v4 with random actions: K = 2 environments whose episodes terminate every ~20 steps.
 * Every one-step transition is recorded with its episode; each emitted row must start at one of
 * them (matched by s and a), sum gamma^i r over the steps from there to the window's end, which is
 * n steps on or the episode's last step if that comes first, and carry that end's s' and d. */
#define HOP_STEPS 400
#define HOP_N 4
#define HOP_GAMMA 0.9

typedef struct {
    float obs[ENV_MAX_OBS], next[ENV_MAX_OBS], act[ENV_MAX_ACT];
    float reward, done;
    int episode, used;
} s_hop_t;

static void test_terminating_episodes(void **state) {
    (void)state;
    enum { HK = 2 };
    char err[256] = "";
    vec_env_t *v = vec_env_new("Hopper-v4", HK, 3, 4, err, sizeof err);
    if (!v)
        fail_msg("%s", err);
    int hs = vec_env_spec(v)->obs_dim, ha = vec_env_spec(v)->act_dim;
    nstep_t *ns = nstep_new(HOP_N, HK, hs, ha, HOP_GAMMA, err, sizeof err);
    assert_non_null(ns);
    s_hop_t *hist = calloc((size_t)HK * HOP_STEPS, sizeof *hist);
    size_t row_floats = transition_floats(hs, ha);
    float *block = malloc(sizeof(float) * row_floats * (size_t)nstep_max_out(ns) * HOP_STEPS);
    assert_non_null(hist);
    assert_non_null(block);
    transition_batch_t out = transition_batch_view(block, nstep_max_out(ns) * HOP_STEPS, hs, ha);
    out.n = 0;
    int episode[HK] = {0}, terminals = 0;
    for (int t = 0; t < HOP_STEPS; t++) {
        vec_env_step_t st;
        assert_int_equal(vec_env_step(v, NULL, &st), 0);
        for (int k = 0; k < HK; k++) {
            s_hop_t *h = &hist[k * HOP_STEPS + t];
            memcpy(h->obs, st.t.obs + (size_t)k * hs, sizeof(float) * hs);
            memcpy(h->next, st.t.next_obs + (size_t)k * hs, sizeof(float) * hs);
            memcpy(h->act, st.t.action + (size_t)k * ha, sizeof(float) * ha);
            h->reward = st.t.reward[k], h->done = st.t.done[k], h->episode = episode[k];
            assert_true(st.ended[k] == (st.t.done[k] == 1.0f)); /* ends here only by termination */
            if (st.ended[k])
                episode[k]++, terminals++;
        }
        nstep_push(ns, &st, &out, NULL, NULL);
    }
    assert_true(terminals >= 10);
    for (int r = 0; r < out.n; r++) {
        const float *o = out.obs + (size_t)r * hs, *a = out.action + (size_t)r * ha;
        int k = -1, t0 = -1;
        for (int i = 0; i < HK * HOP_STEPS && t0 < 0; i++)
            if (!memcmp(hist[i].obs, o, sizeof(float) * hs) && !memcmp(hist[i].act, a, sizeof(float) * ha))
                k = i / HOP_STEPS, t0 = i % HOP_STEPS;
        if (t0 < 0)
            fail_msg("row %d starts at no recorded step", r);
        const s_hop_t *h = &hist[k * HOP_STEPS];
        assert_int_equal(h[t0].used, 0);
        hist[k * HOP_STEPS + t0].used = 1;
        int end = t0;
        while (end < t0 + HOP_N - 1 && h[end].done == 0.0f && end + 1 < HOP_STEPS)
            end++;
        assert_true(h[end].episode == h[t0].episode); /* never past the episode's last step */
        double sum = 0, disc = 1;
        for (int i = t0; i <= end; i++, disc *= HOP_GAMMA)
            sum += disc * h[i].reward;
        CLOSE(out.reward[r], sum, 1e-5 * (1 + fabs(sum)));
        CLOSE(out.done[r], h[end].done, 0);
        assert_memory_equal(out.next_obs + (size_t)r * hs, h[end].next, sizeof(float) * hs);
        if (out.done[r] == 0.0f)
            assert_int_equal(end - t0, HOP_N - 1); /* a window cut short only by a termination */
    }
    /* every step started a row, except those whose window is still open at the end */
    for (int k = 0; k < HK; k++)
        for (int t = 0; t < HOP_STEPS; t++) {
            const s_hop_t *h = &hist[k * HOP_STEPS + t];
            bool open = t > HOP_STEPS - HOP_N && h->episode == hist[k * HOP_STEPS + HOP_STEPS - 1].episode &&
                        hist[k * HOP_STEPS + HOP_STEPS - 1].done == 0.0f;
            if (h->used == open)
                fail_msg("env %d step %d: used %d, window open %d", k, t, h->used, open);
        }
    free(hist);
    free(block);
    nstep_destroy(&ns);
    vec_env_destroy(&v);
}

static void test_bad_n(void **state) {
    (void)state;
    char err[128];
    assert_null(nstep_new(0, 1, S, A, G, err, sizeof err));
    assert_non_null(strstr(err, "n_step"));
    assert_null(nstep_new(NSTEP_MAX + 1, 1, S, A, G, err, sizeof err));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_n1_passes_through),
        cmocka_unit_test(test_full_windows),
        cmocka_unit_test(test_terminal_and_truncation),
        cmocka_unit_test(test_terminating_episodes),
        cmocka_unit_test(test_bad_n),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
