/* vec_env: K Pendulum-v1 instances against hand-stepped single environments (same transitions bit
 * for bit), the auto-reset and returns at the 200-step time limit with done 0, K Hopper-v4
 * instances whose episodes terminate (done 1, counted with their return and length, reset at
 * once), the recent-episodes ring, explicit resets, seeds, and the policy path (batched forward,
 * the mean action drawing no random numbers). */
#include "tests/test_util.h"

#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "env/env.h"
#include "env/vec_env.h"
#include "nn/mlp.h"
#include "nn/policy.h"

#define PENDULUM "Pendulum-v1"
#define HORIZON 200 /* Pendulum-v1's max_episode_steps */

static vec_env_t *s_make(int K, uint64_t env_seed, uint64_t action_seed) {
    char err[256] = "";
    vec_env_t *v = vec_env_new(PENDULUM, K, env_seed, action_seed, err, sizeof err);
    if (!v)
        fail_msg("vec_env_new: %s", err);
    return v;
}

static void s_step(vec_env_t *v, const vec_env_policy_t *policy, vec_env_step_t *st) {
    assert_int_equal(vec_env_step(v, policy, st), 0);
}

/* K vec_env instances step exactly like K single environments given the same actions; at the
 * time limit each episode ends with done 0, its return is the sum of its rewards, and the next
 * observation is a fresh episode's while next_obs is still the state the step reached. */
static void test_matches_single_envs_and_resets_at_the_limit(void **state) {
    (void)state;
    enum { K = 3 };
    const uint64_t seed = 42;
    vec_env_t *v = s_make(K, seed, 7);
    const env_spec_t *spec = vec_env_spec(v);
    int S = spec->obs_dim, A = spec->act_dim;
    assert_int_equal(vec_env_num(v), K);
    char err[256];
    env_t *ref[K];
    float obs[K][ENV_MAX_OBS], next[K][ENV_MAX_OBS];
    double ret[K] = {0};
    for (int k = 0; k < K; k++) {
        ref[k] = env_new(PENDULUM, err, sizeof err);
        assert_non_null(ref[k]);
        env_reset(ref[k], seed + (uint64_t)k * VEC_ENV_SEED_STRIDE, obs[k]);
        assert_memory_equal(vec_env_obs(v) + (size_t)k * S, obs[k], S * sizeof(float));
    }
    for (int t = 1; t <= HORIZON + 5; t++) {
        vec_env_step_t st;
        s_step(v, NULL, &st);
        assert_int_equal(st.t.n, K);
        for (int k = 0; k < K; k++) {
            float ea[ENV_MAX_ACT];
            const float *a = st.t.action + (size_t)k * A;
            for (int j = 0; j < A; j++)
                assert_true(a[j] >= -1.0f && a[j] < 1.0f);
            policy_to_env(ea, a, spec->act_low, spec->act_high, A);
            bool term, trunc;
            float r = env_step(ref[k], ea, next[k], &term, &trunc);
            ret[k] += r;
            assert_memory_equal(st.t.obs + (size_t)k * S, obs[k], S * sizeof(float));
            assert_memory_equal(st.t.next_obs + (size_t)k * S, next[k], S * sizeof(float));
            assert_true(st.t.reward[k] == r);
            assert_false(term);                 /* Pendulum has no terminal state */
            assert_true(st.t.done[k] == 0.0f);  /* and truncation is not one */
            assert_int_equal(st.ended[k], trunc);
            assert_int_equal(trunc, t == HORIZON);
            if (trunc) {
                assert_true(st.episode_return[k] == ret[k]);
                assert_int_equal(st.episode_length[k], HORIZON);
                ret[k] = 0;
                env_reset_next(ref[k], obs[k]);
                /* the next step acts on the new episode; the transition keeps the real s' */
                assert_memory_equal(vec_env_obs(v) + (size_t)k * S, obs[k], S * sizeof(float));
                assert_memory_not_equal(st.t.next_obs + (size_t)k * S, obs[k], S * sizeof(float));
            } else {
                memcpy(obs[k], next[k], S * sizeof(float));
            }
        }
        assert_int_equal(st.n_ended, t == HORIZON ? K : 0);
        assert_true(vec_env_steps(v) == (uint64_t)t * K);
    }
    assert_true(vec_env_episodes(v) == K);
    for (int k = 0; k < K; k++)
        env_destroy(&ref[k]);
    vec_env_destroy(&v);
    assert_null(v);
}

/* Hopper-v4 terminates when it falls (random actions: within a few dozen steps). Against
 * hand-stepped single environments: the terminating step's transition has done 1 and next_obs the
 * state it fell into; the episode is counted with its return and length and restarts at once from
 * the instance's own RNG stream, so the next step acts on the new episode's first observation. */
static void test_terminating_episodes(void **state) {
    (void)state;
    enum { K = 2, STEPS = 300 };
    char err[256] = "";
    vec_env_t *v = vec_env_new("Hopper-v4", K, 21, 5, err, sizeof err);
    if (!v)
        fail_msg("%s", err);
    const env_spec_t *spec = vec_env_spec(v);
    int S = spec->obs_dim, A = spec->act_dim;
    env_t *ref[K];
    float obs[K][ENV_MAX_OBS], next[K][ENV_MAX_OBS];
    double ret[K] = {0}, sum_returns = 0;
    int len[K] = {0}, episodes = 0;
    for (int k = 0; k < K; k++) {
        ref[k] = env_new("Hopper-v4", err, sizeof err);
        assert_non_null(ref[k]);
        env_reset(ref[k], 21 + (uint64_t)k * VEC_ENV_SEED_STRIDE, obs[k]);
    }
    for (int t = 0; t < STEPS; t++) {
        vec_env_step_t st;
        s_step(v, NULL, &st);
        int ended = 0;
        for (int k = 0; k < K; k++) {
            float ea[ENV_MAX_ACT];
            policy_to_env(ea, st.t.action + (size_t)k * A, spec->act_low, spec->act_high, A);
            bool term, trunc;
            float r = env_step(ref[k], ea, next[k], &term, &trunc);
            ret[k] += r, len[k]++;
            assert_false(trunc); /* nothing here lives 1000 steps */
            assert_memory_equal(st.t.obs + (size_t)k * S, obs[k], S * sizeof(float));
            assert_memory_equal(st.t.next_obs + (size_t)k * S, next[k], S * sizeof(float));
            assert_true(st.t.reward[k] == r);
            assert_true(st.t.done[k] == (term ? 1.0f : 0.0f));
            assert_int_equal(st.ended[k], term);
            if (term) {
                assert_true(st.episode_return[k] == ret[k]);
                assert_int_equal(st.episode_length[k], len[k]);
                sum_returns += ret[k];
                ret[k] = 0, len[k] = 0, episodes++, ended++;
                env_reset_next(ref[k], obs[k]);
                assert_memory_equal(vec_env_obs(v) + (size_t)k * S, obs[k], S * sizeof(float));
                assert_memory_not_equal(st.t.next_obs + (size_t)k * S, obs[k], S * sizeof(float));
            } else {
                memcpy(obs[k], next[k], S * sizeof(float));
            }
        }
        assert_int_equal(st.n_ended, ended);
    }
    /* random hoppers fall within about 20 steps: many episodes, every one counted */
    assert_true(episodes >= 10);
    assert_true(vec_env_episodes(v) == (uint64_t)episodes);
    int n;
    double mean = vec_env_recent_mean(v, &n);
    assert_int_equal(n, VEC_ENV_RECENT_EPISODES);
    assert_true(mean > 0 && mean < sum_returns);
    for (int k = 0; k < K; k++)
        env_destroy(&ref[k]);
    vec_env_destroy(&v);
}

/* The ring holds the last VEC_ENV_RECENT_EPISODES returns; before any episode the mean is 0. */
static void test_recent_episodes(void **state) {
    (void)state;
    enum { K = 4, ROUNDS = 3 }; /* 12 episodes: the ring wraps */
    vec_env_t *v = s_make(K, 1, 2);
    int n = -1;
    assert_true(vec_env_recent_mean(v, &n) == 0.0);
    assert_int_equal(n, 0);
    double returns[K * ROUNDS];
    int count = 0;
    for (int t = 0; t < HORIZON * ROUNDS; t++) {
        vec_env_step_t st;
        s_step(v, NULL, &st);
        for (int k = 0; k < K; k++)
            if (st.ended[k])
                returns[count++] = st.episode_return[k];
        if (t == HORIZON - 1) {
            /* fewer than the ring holds: the mean of those there are */
            assert_int_equal(count, K);
            CLOSE(vec_env_recent_mean(v, &n), (returns[0] + returns[1] + returns[2] + returns[3]) / 4, 1e-9);
            assert_int_equal(n, K);
        }
    }
    assert_int_equal(count, K * ROUNDS);
    assert_true(vec_env_episodes(v) == K * ROUNDS);
    double want = 0;
    for (int i = count - VEC_ENV_RECENT_EPISODES; i < count; i++)
        want += returns[i];
    CLOSE(vec_env_recent_mean(v, &n), want / VEC_ENV_RECENT_EPISODES, 1e-9);
    assert_int_equal(n, VEC_ENV_RECENT_EPISODES);
    /* returns are real Pendulum returns: negative, at most 200 * (pi^2 + 0.1 * 64 + 0.001 * 4) */
    for (int i = 0; i < count; i++)
        assert_true(returns[i] < 0 && returns[i] > -200 * 16.3);
    vec_env_destroy(&v);
}

/* the same seeds give the same trajectory; another action seed other actions, another env seed
 * other start states */
static void test_seeds(void **state) {
    (void)state;
    enum { K = 2, STEPS = 450 };
    vec_env_t *a = s_make(K, 5, 9), *b = s_make(K, 5, 9), *c = s_make(K, 5, 10), *d = s_make(K, 6, 9);
    const env_spec_t *spec = vec_env_spec(a);
    size_t floats = (size_t)K * transition_floats(spec->obs_dim, spec->act_dim);
    assert_memory_not_equal(vec_env_obs(a), vec_env_obs(d), (size_t)K * spec->obs_dim * sizeof(float));
    for (int t = 0; t < STEPS; t++) {
        vec_env_step_t sa, sb, sc;
        s_step(a, NULL, &sa);
        s_step(b, NULL, &sb);
        s_step(c, NULL, &sc);
        /* the view is one block laid out as transition_batch_view's */
        assert_memory_equal(sa.t.obs, sb.t.obs, floats * sizeof(float));
        assert_memory_not_equal(sa.t.action, sc.t.action, (size_t)K * spec->act_dim * sizeof(float));
    }
    assert_true(vec_env_episodes(a) == vec_env_episodes(b));
    assert_true(vec_env_recent_mean(a, NULL) == vec_env_recent_mean(b, NULL));
    vec_env_destroy(&a);
    vec_env_destroy(&b);
    vec_env_destroy(&c);
    vec_env_destroy(&d);
}

/* A policy acts on all K observations in one forward; the mean action draws no random numbers,
 * so the random stream after it is the one a fresh vec_env starts with. */
static void test_policy(void **state) {
    (void)state;
    enum { K = 5 };
    vec_env_t *v = s_make(K, 3, 4), *fresh = s_make(K, 3, 4);
    const env_spec_t *spec = vec_env_spec(v);
    int S = spec->obs_dim, A = spec->act_dim;
    mlp_t net;
    assert_int_equal(mlp_init(&net, S, 16, 2, 2 * A), 0);
    float *params = malloc(net.n_params * sizeof(float));
    float *acts = malloc(mlp_acts_floats(&net, K) * sizeof(float));
    float want[K * ENV_MAX_ACT], obs[K * ENV_MAX_OBS];
    assert_non_null(params);
    assert_non_null(acts);
    rng_t rng;
    rng_seed(&rng, 11);
    mlp_init_params(&net, params, &rng);
    vec_env_policy_t mean = {.net = &net, .params = params, .type = POLICY_SQUASHED, .min_std = 1e-3f,
                             .deterministic = true};
    for (int t = 0; t < 3; t++) {
        memcpy(obs, vec_env_obs(v), (size_t)K * S * sizeof(float));
        policy_act(want, &net, params, obs, K, POLICY_SQUASHED, 1e-3f, true, NULL, acts);
        vec_env_step_t st;
        s_step(v, &mean, &st);
        assert_memory_equal(st.t.action, want, (size_t)K * A * sizeof(float));
        assert_memory_equal(st.t.obs, obs, (size_t)K * S * sizeof(float));
    }
    vec_env_step_t s1, s2;
    s_step(v, NULL, &s1);
    s_step(fresh, NULL, &s2);
    assert_memory_equal(s1.t.action, s2.t.action, (size_t)K * A * sizeof(float));
    /* a sampled policy draws noise: other actions than the mean, within tanh's range */
    vec_env_policy_t sampled = mean;
    sampled.deterministic = false;
    memcpy(obs, vec_env_obs(v), (size_t)K * S * sizeof(float));
    policy_act(want, &net, params, obs, K, POLICY_SQUASHED, 1e-3f, true, NULL, acts);
    s_step(v, &sampled, &s1);
    assert_memory_not_equal(s1.t.action, want, (size_t)K * A * sizeof(float));
    for (int i = 0; i < K * A; i++)
        assert_true(s1.t.action[i] >= -1.0f && s1.t.action[i] <= 1.0f);
    free(params);
    free(acts);
    vec_env_destroy(&v);
    vec_env_destroy(&fresh);
}

/* An explicit reset starts the episode from that seed and drops the unfinished one unrecorded. */
static void test_explicit_reset(void **state) {
    (void)state;
    vec_env_t *v = s_make(2, 100, 1);
    const env_spec_t *spec = vec_env_spec(v);
    int S = spec->obs_dim;
    char err[256];
    env_t *ref = env_new(PENDULUM, err, sizeof err);
    assert_non_null(ref);
    float want[ENV_MAX_OBS];
    vec_env_step_t st;
    for (int t = 0; t < 50; t++)
        s_step(v, NULL, &st);
    vec_env_reset(v, 1, 777);
    env_reset(ref, 777, want);
    assert_memory_equal(vec_env_obs(v) + S, want, S * sizeof(float));
    /* env 0 ends at 200 steps, env 1 at 200 steps after its reset, and only those count */
    int ended_at[2] = {0, 0};
    for (int t = 51; t <= 250; t++) {
        s_step(v, NULL, &st);
        for (int k = 0; k < 2; k++)
            if (st.ended[k]) {
                assert_int_equal(ended_at[k], 0);
                ended_at[k] = t;
                assert_int_equal(st.episode_length[k], HORIZON);
            }
    }
    assert_int_equal(ended_at[0], HORIZON);
    assert_int_equal(ended_at[1], 250);
    assert_true(vec_env_episodes(v) == 2);
    env_destroy(&ref);
    vec_env_destroy(&v);
}

static void test_refusals(void **state) {
    (void)state;
    char err[256] = "";
    assert_null(vec_env_new("NoSuchEnv-v0", 1, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "NoSuchEnv-v0"));
    err[0] = 0;
    assert_null(vec_env_new(PENDULUM, 0, 0, 0, err, sizeof err));
    assert_true(err[0] != 0);
    vec_env_t *none = NULL;
    vec_env_destroy(&none); /* NULL is fine */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_single_envs_and_resets_at_the_limit),
        cmocka_unit_test(test_terminating_episodes),
        cmocka_unit_test(test_recent_episodes),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_explicit_reset),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
