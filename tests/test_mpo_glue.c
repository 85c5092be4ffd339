/* The code that wires the losses into the update (learner/mpo.c), through the real mpo_update:
 *   - the critics' target y = r + gamma^n mean_j min(Q1', Q2')(s', a'_j) on the target networks as
 *     they were before the update, with done = 0, against the slow reference forward;
 *   - the E-step's samples come from the target policy at obs (not next_obs), and the critic
 *     target's from next_obs;
 *   - the temperature and the alphas move the way their constraints ask;
 *   - the actor's gradient, end to end through the MLP, the policy head and the M-step loss,
 *     against finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "common/rng.h"
#include "learner/mpo.h"
#include "learner/mpo_inspect.h"
#include "nn/mlp.h"
#include "nn/policy.h"
#include "tests/test_util.h"

#define S_DIM 3
#define A_DIM 2
#define BATCH 8
#define HIDDEN 16

static const env_spec_t s_spec = {
    .name = "Glue-v0",
    .obs_dim = S_DIM,
    .act_dim = A_DIM,
    .act_low = {-1.0f, -2.0f},
    .act_high = {1.0f, 3.0f},
    .max_episode_steps = 100,
    .summary = "glue",
};

typedef struct {
    float obs[BATCH * S_DIM], action[BATCH * A_DIM], reward[BATCH], done[BATCH], next_obs[BATCH * S_DIM];
    transition_batch_t b;
} s_batch_t;

/* obs and next_obs far apart, so a sample drawn at the wrong one shows */
static void s_batch(s_batch_t *x, uint64_t seed) {
    rng_t rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < BATCH * S_DIM; i++) {
        x->obs[i] = (float)rng_normal(&rng);
        x->next_obs[i] = (float)(3.0 + rng_normal(&rng));
    }
    for (int i = 0; i < BATCH * A_DIM; i++)
        x->action[i] = (float)rng_uniform_range(&rng, -1, 1);
    for (int i = 0; i < BATCH; i++) {
        x->reward[i] = (float)rng_normal(&rng);
        x->done[i] = 0.0f;
    }
    x->b = (transition_batch_t){x->obs, x->action, x->reward, x->done, x->next_obs, BATCH};
}

static mpo_t *s_new(const char *const *extra, int n_extra) {
    char err[256];
    config_t c;
    config_defaults(&c);
    const char *base[] = {"hidden=16", "batch_size=8", "n_action_samples=4", "critic_action_samples=3", "seed=3",
                          "n_step=2", "gamma=0.9", "threads=2"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        assert_int_equal(config_set_pair(&c, base[i], err, sizeof err), 0);
    for (int i = 0; i < n_extra; i++)
        assert_int_equal(config_set_pair(&c, extra[i], err, sizeof err), 0);
    mpo_params_t p;
    assert_int_equal(mpo_params_from_config(&c, &s_spec, &p, err, sizeof err), 0);
    mpo_t *m = mpo_new(&p, err, sizeof err);
    assert_non_null(m);
    return m;
}

/* the target networks before an update: [actor | Q1 | Q2] */
static float *s_copy_target(mpo_t *m) {
    mpo_state_t st = mpo_state(m);
    float *t = malloc(st.n_params * sizeof(float));
    memcpy(t, st.target, st.n_params * sizeof(float));
    return t;
}

/* the target policy's mu and sigma at rows of states, by the slow reference forward */
static void s_ref_policy(float *mu, float *sigma, mpo_t *m, const float *target, const float *states) {
    const mlp_t *net = mpo_actor_layout(m);
    float *acts = malloc(mlp_acts_floats(net, BATCH) * sizeof(float));
    mlp_forward_ref(net, acts, target, states, BATCH);
    policy_head(mu, sigma, mlp_output(net, acts, BATCH), BATCH, A_DIM, 1e-3f);
    free(acts);
}

static void test_bootstrap_target(void **state) {
    (void)state;
    mpo_t *m = s_new(NULL, 0);
    s_batch_t x;
    s_batch(&x, 1);
    mpo_update(m, &x.b, NULL); /* targets drift from the online networks by Polyak */
    s_batch(&x, 2);
    float *target = s_copy_target(m);
    mpo_update(m, &x.b, NULL);
    mpo_inspect_t v = mpo_inspect(m);
    int M = v.critic_samples;
    CLOSE(v.gamma_n, 0.9 * 0.9, 1e-7);
    mlp_t q;
    assert_int_equal(mlp_init(&q, S_DIM + A_DIM, HIDDEN, 2, 1), 0);
    size_t q1 = mpo_actor_floats(m), q2 = q1 + q.n_params;
    float in[S_DIM + A_DIM], acts[2 * HIDDEN + 1];
    for (int b = 0; b < BATCH; b++) {
        double mean = 0;
        for (int j = 0; j < M; j++) {
            memcpy(in, x.next_obs + b * S_DIM, sizeof(float) * S_DIM);
            memcpy(in + S_DIM, v.a_next + (size_t)(b * M + j) * A_DIM, sizeof(float) * A_DIM);
            mlp_forward_ref(&q, acts, target + q1, in, 1);
            double v1 = *mlp_output(&q, acts, 1);
            mlp_forward_ref(&q, acts, target + q2, in, 1);
            double v2 = *mlp_output(&q, acts, 1);
            mean += v1 < v2 ? v1 : v2;
        }
        double y = x.reward[b] + 0.81 * mean / M;
        CLOSE(v.y[b], y, 1e-4 * (1 + fabs(y)));
    }
    free(target);
    mpo_destroy(&m);
}

static void test_samples_from_the_right_states(void **state) {
    (void)state;
    mpo_t *m = s_new(NULL, 0);
    s_batch_t x;
    s_batch(&x, 4);
    float *target = s_copy_target(m);
    mpo_update(m, &x.b, NULL);
    mpo_inspect_t v = mpo_inspect(m);
    int N = v.n_samples, M = v.critic_samples;
    float mu_s[BATCH * A_DIM], sd_s[BATCH * A_DIM], mu_n[BATCH * A_DIM], sd_n[BATCH * A_DIM];
    s_ref_policy(mu_s, sd_s, m, target, x.obs);
    s_ref_policy(mu_n, sd_n, m, target, x.next_obs);
    double far = 0;
    for (int b = 0; b < BATCH; b++)
        for (int k = 0; k < A_DIM; k++) {
            int j = b * A_DIM + k;
            far += fabs(mu_s[j] - mu_n[j]);
            for (int i = 0; i < N; i++) { /* E-step: u = mu'(obs) + sigma'(obs) eps */
                size_t r = (size_t)(b * N + i) * A_DIM + k;
                CLOSE(v.u[r], mu_s[j] + sd_s[j] * v.eps[r], 1e-4);
            }
            for (int i = 0; i < M; i++) { /* critic target: u' = mu'(next_obs) + sigma'(next_obs) eps' */
                size_t r = (size_t)(b * M + i) * A_DIM + k;
                CLOSE(v.u_next[r], mu_n[j] + sd_n[j] * v.eps_next[r], 1e-4);
            }
        }
    assert_true(far > 1e-2); /* the two halves differ, so the checks above can tell them apart */
    free(target);
    mpo_destroy(&m);
}

/* the free parameter of a dual after a few updates on the same batch */
static void s_duals_after(const char *const *extra, int n_extra, float before[2], float after[2]) {
    mpo_t *m = s_new(extra, n_extra);
    mpo_state_t st = mpo_state(m);
    before[0] = st.duals[0];     /* temperature */
    before[1] = st.duals[2];     /* alpha_mean, first dimension */
    s_batch_t x;
    s_batch(&x, 5);
    for (int i = 0; i < 5; i++)
        mpo_update(m, &x.b, NULL);
    after[0] = st.duals[0];
    after[1] = st.duals[2];
    mpo_destroy(&m);
}

static void test_duals_move_the_right_way(void **state) {
    (void)state;
    float b[2], a[2];
    /* a KL bound far below what the weights and the policy step spend: the duals grow */
    const char *tight[] = {"epsilon=1e-8", "epsilon_mean=1e-10", "init_log_temperature=1",
                           "init_log_alpha_mean=1"};
    s_duals_after(tight, 4, b, a);
    assert_true(a[0] > b[0]);
    assert_true(a[1] > b[1]);
    /* a bound far above: the duals shrink */
    const char *loose[] = {"epsilon=50", "epsilon_mean=50", "init_log_temperature=1", "init_log_alpha_mean=1"};
    s_duals_after(loose, 4, b, a);
    assert_true(a[0] < b[0]);
    assert_true(a[1] < b[1]);
}

static void test_actor_gradient_finite_differences(void **state) {
    (void)state;
    const char *gaussian[] = {"policy=gaussian"};
    for (int variant = 0; variant < 2; variant++) {
        mpo_t *m = s_new(gaussian, variant);
        s_batch_t x;
        s_batch(&x, 6);
        mpo_update(m, &x.b, NULL);
        size_t n = mpo_actor_floats(m);
        float *p = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float)), *gd = malloc(n * sizeof(float));
        memcpy(p, mpo_actor_params(m), n * sizeof(float));
        mpo_actor_loss_grad(m, p, &x.b, g);
        double gmax = 0;
        for (size_t i = 0; i < n; i++)
            gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
        assert_true(gmax > 0);
        /* 40 coordinates spread over every layer, central differences in float */
        int checked = 0;
        for (size_t i = 0; i < n; i += n / 40 + 1) {
            float keep = p[i], h = 2e-3f; /* small: the loss curves within 1e-2 (log sigma, ReLU kinks) */
            p[i] = keep + h;
            double up = mpo_actor_loss_grad(m, p, &x.b, gd);
            p[i] = keep - h;
            double down = mpo_actor_loss_grad(m, p, &x.b, gd);
            p[i] = keep;
            double fd = (up - down) / (2.0 * h);
            if (fabs(fd - g[i]) > 2e-3 * gmax + 5e-2 * fabs(g[i]))
                fail_msg("variant %d: d loss / d param[%zu] = %g, finite difference %g", variant, i, g[i], fd);
            checked++;
        }
        assert_true(checked >= 35);
        free(p);
        free(g);
        free(gd);
        mpo_destroy(&m);
    }
}

/* a batch of finite extremes (an observation of 3e38: the first layer overflows) or NaN is skipped whole:
 * nothing of the learner changes, and the next sound batch updates as usual */
static void test_non_finite_update_skipped(void **state) {
    (void)state;
    mpo_t *m = s_new(NULL, 0);
    s_batch_t x;
    s_batch(&x, 7);
    assert_int_equal(mpo_update(m, &x.b, NULL), 0);
    mpo_state_t st = mpo_state(m);
    size_t bytes = st.n_params * sizeof(float);
    float *keep = malloc(4 * bytes), kd[64];
    memcpy(keep, st.params, bytes);
    memcpy(keep + st.n_params, st.target, bytes);
    memcpy(keep + 2 * st.n_params, st.adam_m, bytes);
    memcpy(keep + 3 * st.n_params, st.adam_v, bytes);
    memcpy(kd, st.duals, st.n_duals * sizeof(float));
    for (int variant = 0; variant < 2; variant++) {
        s_batch_t bad;
        s_batch(&bad, 8);
        if (variant == 0)
            bad.obs[5] = 3e38f; /* the first layer overflows */
        else
            bad.obs[5] = NAN;
        mpo_metrics_t mt;
        assert_int_equal(mpo_update(m, &bad.b, &mt), -MPO_EINVAL);
        assert_false(isfinite(mt.critic_loss) && isfinite(mt.policy_loss) && isfinite(mt.critic_grad_norm) &&
                     isfinite(mt.actor_grad_norm));
        assert_int_equal(mpo_updates(m), 1);
        assert_memory_equal(st.params, keep, bytes);
        assert_memory_equal(st.target, keep + st.n_params, bytes);
        assert_memory_equal(st.adam_m, keep + 2 * st.n_params, bytes);
        assert_memory_equal(st.adam_v, keep + 3 * st.n_params, bytes);
        assert_memory_equal(st.duals, kd, st.n_duals * sizeof(float));
        assert_true(mpo_params_finite(m));
    }
    assert_int_equal(mpo_update(m, &x.b, NULL), 0);
    assert_int_equal(mpo_updates(m), 2);
    /* and a learner whose parameters are not finite says so */
    st.params[0] = INFINITY;
    assert_false(mpo_params_finite(m));
    free(keep);
    mpo_destroy(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_target),
        cmocka_unit_test(test_samples_from_the_right_states),
        cmocka_unit_test(test_duals_move_the_right_way),
        cmocka_unit_test(test_actor_gradient_finite_differences),
        cmocka_unit_test(test_non_finite_update_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
