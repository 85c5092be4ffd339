/* policy: the Gaussian log-density and its derivatives, the head's softplus scale, sampling in
 * both policy types, the affine map to environment units and back, and acting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/mlp.h"
#include "nn/policy.h"
#include "common/rng.h"

static void test_type_names(void **state) {
    (void)state;
    assert_int_equal(policy_type_parse("squashed"), POLICY_SQUASHED);
    assert_int_equal(policy_type_parse("gaussian"), POLICY_GAUSSIAN);
    assert_int_equal(policy_type_parse("Gaussian"), -1);
    assert_int_equal(policy_type_parse(""), -1);
    assert_string_equal(policy_type_name(POLICY_SQUASHED), "squashed");
    assert_string_equal(policy_type_name(POLICY_GAUSSIAN), "gaussian");
}

/* u = [0.5, -1], mu = [0, 0.5], sigma = [1, 2]:
 *   k=0: -0.5 (0.5/1)^2 - log 1 - log(2 pi)/2 = -0.125 - 0.918938533
 *   k=1: -0.5 (-1.5/2)^2 - log 2 - log(2 pi)/2 = -0.28125 - 0.693147181 - 0.918938533
 *   sum = -2.937274246969 (python3) */
static void test_log_prob_hand(void **state) {
    (void)state;
    const float u[2] = {0.5f, -1.0f}, mu[2] = {0.0f, 0.5f}, sigma[2] = {1.0f, 2.0f};
    CLOSE(policy_gaussian_log_prob(u, mu, sigma, 2), -2.937274246969, 1e-9);
    /* A = 1 at the mean of a unit Gaussian: -log(2 pi)/2 */
    CLOSE(policy_gaussian_log_prob(mu, mu, sigma, 1), -0.918938533204673, 1e-12);
}

/* d log N / d mu = (u - mu) / sigma^2, d log N / d sigma = (u - mu)^2 / sigma^3 - 1 / sigma, against
 * central differences; at the hand case above they are [0.5, -0.375] and [-0.75, -0.21875]. */
static void test_log_prob_gradient(void **state) {
    (void)state;
    rng_t rng;
    rng_seed(&rng, 3);
    for (int trial = 0; trial < 20; trial++) {
        float u[2], mu[2], sigma[2];
        if (trial == 0) {
            u[0] = 0.5f, u[1] = -1.0f, mu[0] = 0.0f, mu[1] = 0.5f, sigma[0] = 1.0f, sigma[1] = 2.0f;
        } else {
            for (int k = 0; k < 2; k++) {
                mu[k] = (float)rng_normal(&rng);
                sigma[k] = (float)(0.3 + rng_uniform(&rng) * 2);
                u[k] = (float)(mu[k] + sigma[k] * 2 * rng_normal(&rng));
            }
        }
        for (int k = 0; k < 2; k++) {
            double dmu = ((double)u[k] - mu[k]) / ((double)sigma[k] * sigma[k]);
            double dsig = ((double)u[k] - mu[k]) * ((double)u[k] - mu[k]) / pow(sigma[k], 3) - 1.0 / sigma[k];
            if (trial == 0) {
                CLOSE(dmu, k == 0 ? 0.5 : -0.375, 1e-12);
                CLOSE(dsig, k == 0 ? -0.75 : -0.21875, 1e-12);
            }
            for (int which = 0; which < 2; which++) {
                float *x = which == 0 ? &mu[k] : &sigma[k];
                float save = *x;
                *x = save + 1e-3f;
                double hi = *x;
                double lp = policy_gaussian_log_prob(u, mu, sigma, 2);
                *x = save - 1e-3f;
                double lo = *x;
                double lm = policy_gaussian_log_prob(u, mu, sigma, 2);
                *x = save;
                double fd = (lp - lm) / (hi - lo), an = which == 0 ? dmu : dsig;
                if (!(fabs(fd - an) <= 1e-3 * fabs(an) + 1e-4))
                    fail_msg("trial %d d/d%s[%d]: analytic %.8g, finite difference %.8g", trial,
                             which ? "sigma" : "mu", k, an, fd);
            }
        }
    }
}

static void test_head(void **state) {
    (void)state;
    const float min_std = 1e-3f;
    /* B = 2, A = 2: rows [mu0, mu1, raw0, raw1] */
    const float out[8] = {0.25f, -3.0f, 0.0f, 3.0f, 7.0f, 0.5f, 100.0f, -1.5f};
    float mu[4], sigma[4];
    policy_head(mu, sigma, out, 2, 2, min_std);
    CLOSE(mu[0], 0.25, 0);
    CLOSE(mu[1], -3.0, 0);
    CLOSE(mu[2], 7.0, 0);
    CLOSE(mu[3], 0.5, 0);
    /* softplus(0) = log 2, softplus(3) = 3.0485873516, softplus(-1.5) = 0.2014132780 */
    CLOSE(sigma[0], 0.6931471806 + 1e-3, 1e-6);
    CLOSE(sigma[1], 3.0485873516 + 1e-3, 2e-6);
    /* large raw: no overflow, softplus(100) = 100 */
    assert_true(isfinite(sigma[2]));
    CLOSE(sigma[2], 100.0 + 1e-3, 1e-5);
    CLOSE(sigma[3], 0.2014132780 + 1e-3, 1e-6);

    /* very negative raw: the floor */
    const float out2[2] = {0.0f, -200.0f};
    policy_head(mu, sigma, out2, 1, 1, min_std);
    CLOSE(sigma[0], 1e-3, 1e-9);
    assert_true(sigma[0] >= min_std);
    /* the float softplus either side of its switch */
    CLOSE(policy_softplus(20.5f), 20.5, 1e-5);
    CLOSE(policy_softplus(19.5f), 19.5, 1e-5);
    CLOSE(policy_softplus(1000.0f), 1000.0, 0);
    assert_true(isfinite(policy_sigmoid(-1000.0f)) && policy_sigmoid(-1000.0f) >= 0.0f);
    CLOSE(policy_sigmoid(0.0f), 0.5, 0);
}

static void test_double_duals_finite(void **state) {
    (void)state;
    assert_true(isfinite(policy_softplus_d(1000.0)));
    CLOSE(policy_softplus_d(1000.0), 1000.0, 0);
    assert_true(isfinite(policy_softplus_d(-1000.0)));
    CLOSE(policy_softplus_d(-1000.0), 0.0, 1e-300);
    assert_true(policy_softplus_d(-1000.0) >= 0.0);
    assert_true(isfinite(policy_sigmoid_d(1000.0)));
    CLOSE(policy_sigmoid_d(1000.0), 1.0, 0);
    assert_true(isfinite(policy_sigmoid_d(-1000.0)));
    CLOSE(policy_sigmoid_d(-1000.0), 0.0, 1e-300);
    CLOSE(policy_softplus_d(10.0), 10.000045398899218, 1e-12);
    CLOSE(policy_softplus_d(0.0), log(2.0), 1e-15);
    CLOSE(policy_sigmoid_d(2.0), 0.8807970779778823, 1e-15);
    /* the switch of the double softplus is continuous */
    CLOSE(policy_softplus_d(30.0 + 1e-9), policy_softplus_d(30.0 - 1e-9), 1e-8);
}

static void test_sample(void **state) {
    (void)state;
    /* B = 2 states, R = 3 samples, A = 2 */
    const float mu[4] = {0.1f, -0.2f, 1.5f, 0.0f}, sigma[4] = {0.5f, 2.0f, 0.1f, 3.0f};
    const float eps[12] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -2.0f, 100.0f, -100.0f, 0.3f, 0.0f, -0.7f, 1.1f};
    float u[12], a[12];
    policy_sample(u, a, mu, sigma, eps, 2, 3, 2, POLICY_SQUASHED);
    for (int b = 0; b < 2; b++)
        for (int r = 0; r < 3; r++)
            for (int k = 0; k < 2; k++) {
                int j = (b * 3 + r) * 2 + k;
                CLOSE(u[j], mu[b * 2 + k] + sigma[b * 2 + k] * eps[j], 1e-5);
                CLOSE(a[j], tanh((double)u[j]), 1e-6);
                assert_true(a[j] >= -1.0f && a[j] <= 1.0f);
            }
    CLOSE(a[6], 1.0, 0); /* u = 1.5 + 0.1 * 100 = 11.5 */
    CLOSE(a[7], -1.0, 0); /* u = 0 + 3 * -100 = -300 */

    float u2[12], a2[12];
    policy_sample(u2, a2, mu, sigma, eps, 2, 3, 2, POLICY_GAUSSIAN);
    assert_memory_equal(u2, u, sizeof u);
    assert_memory_equal(a2, u, sizeof u); /* a = u, unbounded */
    CLOSE(a2[6], 11.5, 1e-5);
}

static void test_to_env_from_env(void **state) {
    (void)state;
    const float low1[1] = {-2.0f}, high1[1] = {2.0f};
    const float in[5] = {-1.0f, 0.0f, 1.0f, 0.5f, 1.7f};
    const float exp1[5] = {-2.0f, 0.0f, 2.0f, 1.0f, 2.0f};
    for (int i = 0; i < 5; i++) {
        float e;
        policy_to_env(&e, &in[i], low1, high1, 1);
        CLOSE(e, exp1[i], 1e-6);
    }
    float e, x = -3.0f;
    policy_to_env(&e, &x, low1, high1, 1);
    CLOSE(e, -2.0, 0);

    /* asymmetric bounds, two dimensions */
    const float low[2] = {0.0f, -1.0f}, high[2] = {10.0f, 3.0f};
    const float cases[5][2] = {{-1, -1}, {0, 0}, {1, 1}, {1.5f, -7}, {-0.5f, 0.5f}};
    const float expect[5][2] = {{0, -1}, {5, 1}, {10, 3}, {10, -1}, {2.5f, 2}};
    for (int i = 0; i < 5; i++) {
        float env[2];
        policy_to_env(env, cases[i], low, high, 2);
        CLOSE(env[0], expect[i][0], 1e-5);
        CLOSE(env[1], expect[i][1], 1e-6);
        assert_true(env[0] >= low[0] && env[0] <= high[0] && env[1] >= low[1] && env[1] <= high[1]);
    }
    /* from_env inverts to_env inside the bounds */
    for (int i = 0; i <= 20; i++) {
        float a[2] = {-1.0f + 0.1f * i, 1.0f - 0.1f * i}, env[2], back[2];
        policy_to_env(env, a, low, high, 2);
        policy_from_env(back, env, low, high, 2);
        CLOSE(back[0], a[0], 1e-6);
        CLOSE(back[1], a[1], 1e-6);
    }
    /* and the map itself: low -> -1, mid -> 0, high -> 1, outside stays affine (no clip) */
    const float env_in[2] = {5.0f, 3.0f};
    float back[2];
    policy_from_env(back, env_in, low, high, 2);
    CLOSE(back[0], 0.0, 1e-7);
    CLOSE(back[1], 1.0, 1e-7);
    const float env_lo[2] = {0.0f, -1.0f};
    policy_from_env(back, env_lo, low, high, 2);
    CLOSE(back[0], -1.0, 1e-7);
    CLOSE(back[1], -1.0, 1e-7);
}

/* deterministic acting is the network's mean through tanh (squashed) or as is (gaussian) */
static void test_act_deterministic(void **state) {
    (void)state;
    enum { K = 5, OBS = 3, A = 2 };
    mlp_t net;
    assert_int_equal(mlp_init(&net, OBS, 16, 2, 2 * A), 0);
    float *p = malloc(net.n_params * sizeof(float)), *acts = malloc(mlp_acts_floats(&net, K) * sizeof(float));
    float *ref = malloc(mlp_acts_floats(&net, K) * sizeof(float));
    assert_non_null(p), assert_non_null(acts), assert_non_null(ref);
    rng_t rng;
    rng_seed(&rng, 5);
    mlp_init_params(&net, p, &rng);
    /* a large final bias on the means so tanh is visibly not the identity */
    p[net.b_off[2] + 0] = 1.5f;
    p[net.b_off[2] + 1] = -0.8f;
    float obs[K * OBS];
    for (int i = 0; i < K * OBS; i++)
        obs[i] = (float)rng_normal(&rng);
    mlp_forward_ref(&net, ref, p, obs, K);
    const float *out = mlp_output(&net, ref, K);
    float act[K * A];
    rng_t r2;
    rng_seed(&r2, 1);
    policy_act(act, &net, p, obs, K, POLICY_SQUASHED, 1e-3f, true, &r2, acts);
    for (int i = 0; i < K; i++)
        for (int k = 0; k < A; k++)
            CLOSE(act[i * A + k], tanh(out[i * 2 * A + k]), 1e-5);
    policy_act(act, &net, p, obs, K, POLICY_GAUSSIAN, 1e-3f, true, &r2, acts);
    for (int i = 0; i < K; i++)
        for (int k = 0; k < A; k++)
            CLOSE(act[i * A + k], out[i * 2 * A + k], 1e-5);
    free(p), free(acts), free(ref);
}

/* stochastic acting samples N(mu, sigma) with sigma = softplus(raw) + min_std */
static void test_act_stochastic(void **state) {
    (void)state;
    enum { K = 4000, OBS = 2, A = 1 };
    mlp_t net;
    assert_int_equal(mlp_init(&net, OBS, 0, 0, 2 * A), 0); /* linear: out = W obs + b */
    /* W = 0, b = [mu 0.3, raw 0.0]: sigma = log 2 + 0.01 */
    float p[6] = {0, 0, 0, 0, 0.3f, 0.0f};
    float *obs = calloc((size_t)K * OBS, sizeof(float)), *acts = malloc(mlp_acts_floats(&net, K) * sizeof(float));
    float *act = malloc((size_t)K * A * sizeof(float)), *act2 = malloc((size_t)K * A * sizeof(float));
    assert_non_null(obs), assert_non_null(acts), assert_non_null(act), assert_non_null(act2);
    rng_t rng;
    rng_seed(&rng, 77);
    policy_act(act, &net, p, obs, K, POLICY_GAUSSIAN, 0.01f, false, &rng, acts);
    double sum = 0, sq = 0;
    for (int i = 0; i < K; i++) {
        sum += act[i];
        sq += (double)act[i] * act[i];
    }
    double mean = sum / K, sd = sqrt(sq / K - mean * mean), sigma = log(2.0) + 0.01;
    CLOSE(mean, 0.3, 4 * sigma / sqrt(K));
    CLOSE(sd, sigma, 0.05 * sigma);
    /* the same seed gives the same actions; the squashed type is tanh of the same u */
    rng_seed(&rng, 77);
    policy_act(act2, &net, p, obs, K, POLICY_SQUASHED, 0.01f, false, &rng, acts);
    for (int i = 0; i < K; i++) {
        CLOSE(act2[i], tanh((double)act[i]), 1e-6);
        assert_true(act2[i] >= -1.0f && act2[i] <= 1.0f);
    }
    free(obs), free(acts), free(act), free(act2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_log_prob_hand),
        cmocka_unit_test(test_log_prob_gradient),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_double_duals_finite),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_to_env_from_env),
        cmocka_unit_test(test_act_deterministic),
        cmocka_unit_test(test_act_stochastic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
