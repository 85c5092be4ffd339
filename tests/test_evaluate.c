/* evaluate: deterministic evaluation against episodes stepped by hand with the mean action, on
 * Hopper-v4, whose episodes terminate: each terminated episode counts once with its return (no
 * step after the termination, no waiting for the time limit), and the mean and standard deviation
 * are those of the per-episode returns; on Pendulum-v1 the episodes run to the time limit. */
#include "tests/test_util.h"

#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "env/env.h"
#include "env/evaluate.h"
#include "nn/mlp.h"
#include "nn/policy.h"

#define EPISODES 4
#define SEED 77

/* the evaluation done by hand: episode e from seed + e, the mean action, until it ends */
static void s_by_hand(const char *name, const mlp_t *net, const float *params, double *returns, int *lengths,
                      int *terminated) {
    char err[256] = "";
    env_t *env = env_new(name, err, sizeof err);
    if (!env)
        fail_msg("%s", err);
    const env_spec_t *spec = env_spec(env);
    float obs[ENV_MAX_OBS], a[ENV_MAX_ACT], ea[ENV_MAX_ACT];
    float *acts = malloc(mlp_acts_floats(net, 1) * sizeof(float));
    assert_non_null(acts);
    *terminated = 0;
    for (int e = 0; e < EPISODES; e++) {
        env_reset(env, SEED + (uint64_t)e, obs);
        bool term = false, trunc = false;
        returns[e] = 0, lengths[e] = 0;
        while (!term && !trunc) {
            policy_act(a, net, params, obs, 1, POLICY_SQUASHED, 0.0f, true, NULL, acts);
            policy_to_env(ea, a, spec->act_low, spec->act_high, spec->act_dim);
            returns[e] += env_step(env, ea, obs, &term, &trunc);
            lengths[e]++;
        }
        *terminated += term;
    }
    free(acts);
    env_destroy(&env);
}

static void s_check(const char *name, int want_terminated) {
    char err[256] = "";
    env_t *probe = env_new(name, err, sizeof err);
    assert_non_null(probe);
    const env_spec_t *spec = env_spec(probe);
    mlp_t net;
    assert_int_equal(mlp_init(&net, spec->obs_dim, 32, 2, 2 * spec->act_dim), 0);
    env_destroy(&probe);
    float *params = malloc(net.n_params * sizeof(float));
    assert_non_null(params);
    rng_t rng;
    rng_seed(&rng, 3);
    mlp_init_params(&net, params, &rng);

    double returns[EPISODES], mean = 0, var = 0;
    int lengths[EPISODES], terminated;
    s_by_hand(name, &net, params, returns, lengths, &terminated);
    assert_int_equal(terminated, want_terminated);
    for (int e = 0; e < EPISODES; e++) {
        if (terminated)
            assert_true(lengths[e] < 1000);
        mean += returns[e] / EPISODES;
    }
    for (int e = 0; e < EPISODES; e++)
        var += (returns[e] - mean) * (returns[e] - mean) / EPISODES;

    double got_mean, got_std;
    assert_int_equal(evaluate_policy(&got_mean, &got_std, name, &net, params, POLICY_SQUASHED, EPISODES, SEED, err,
                                     sizeof err),
                     0);
    CLOSE(got_mean, mean, 1e-9 * (1 + fabs(mean)));
    CLOSE(got_std, sqrt(var), 1e-6 * (1 + fabs(mean)));
    free(params);
}

static void test_terminating_episodes(void **state) {
    (void)state;
    s_check("Hopper-v4", EPISODES); /* an untrained hopper falls: every episode terminates */
}

static void test_truncated_episodes(void **state) {
    (void)state;
    s_check("Pendulum-v1", 0);
}

static void test_unknown_env(void **state) {
    (void)state;
    mlp_t net;
    assert_int_equal(mlp_init(&net, 3, 8, 1, 2), 0);
    float params[256] = {0};
    double mean, std;
    char err[256] = "";
    assert_int_equal(evaluate_policy(&mean, &std, "NoSuchEnv-v0", &net, params, POLICY_SQUASHED, 1, 0, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "NoSuchEnv-v0"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminating_episodes),
        cmocka_unit_test(test_truncated_episodes),
        cmocka_unit_test(test_unknown_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
