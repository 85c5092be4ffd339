/* mpo: the learner end to end at small sizes (hidden 32, batch 16, N 5): finite metrics, the
 * initial duals, parameters that move, targets that move by exactly tau, determinism, critic
 * regression, the gaussian policy's penalty temperature, acting, and the FLOP count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "env/env.h"
#include "nn/mlp.h"
#include "nn/optim.h"
#include "nn/policy.h"
#include "common/rng.h"
#include "learner/mpo.h"
#include "learner/mpo_loss.h"
#include "replay/replay_buffer.h"

#define S_DIM 4
#define A_DIM 2
#define BATCH 16

/* a made-up environment of 4 observations and 2 actions with unequal bounds */
static const env_spec_t s_spec = {
    .name = "Test-v0",
    .obs_dim = S_DIM,
    .act_dim = A_DIM,
    .act_low = {-1.0f, -2.0f},
    .act_high = {1.0f, 3.0f},
    .max_episode_steps = 100,
    .summary = "test",
};

static void s_config(config_t *c, const char *const *extra, int n_extra) {
    char err[256];
    config_defaults(c);
    const char *base[] = {"hidden=32", "batch_size=16", "n_action_samples=5", "seed=7"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        if (config_set_pair(c, base[i], err, sizeof err))
            fail_msg("%s", err);
    for (int i = 0; i < n_extra; i++)
        if (config_set_pair(c, extra[i], err, sizeof err))
            fail_msg("%s", err);
}

static mpo_t *s_new(const config_t *c, const env_spec_t *spec) {
    char err[256] = "";
    mpo_params_t p;
    if (mpo_params_from_config(c, spec, &p, err, sizeof err) != 0)
        fail_msg("mpo_params_from_config: %s", err);
    mpo_t *m = mpo_new(&p, err, sizeof err);
    if (!m)
        fail_msg("mpo_new: %s", err);
    return m;
}

typedef struct {
    float obs[BATCH * 64], action[BATCH * 64], reward[BATCH], done[BATCH], next_obs[BATCH * 64];
    transition_batch_t b;
} batch_t;

/* a random batch: observations N(0,1), policy-space actions U[-1,1], rewards N(0,1), some done */
static void s_batch(batch_t *bt, int S, int A, uint64_t seed) {
    rng_t rng;
    rng_seed(&rng, seed);
    memset(bt, 0, sizeof *bt);
    for (int i = 0; i < BATCH * S; i++) {
        bt->obs[i] = (float)rng_normal(&rng);
        bt->next_obs[i] = (float)rng_normal(&rng);
    }
    for (int i = 0; i < BATCH * A; i++)
        bt->action[i] = (float)rng_uniform_range(&rng, -1, 1);
    for (int i = 0; i < BATCH; i++) {
        bt->reward[i] = (float)rng_normal(&rng);
        bt->done[i] = i % 4 == 0 ? 1.0f : 0.0f;
    }
    bt->b = (transition_batch_t){bt->obs, bt->action, bt->reward, bt->done, bt->next_obs, BATCH};
}

static void s_assert_finite(const mpo_metrics_t *m) {
    size_t n;
    const mpo_metric_info_t *info = mpo_metric_info(&n);
    assert_true(n >= 13);
    for (size_t i = 0; i < n; i++) {
        double v = *(const double *)((const char *)m + info[i].offset);
        if (!isfinite(v))
            fail_msg("metric %s = %g", info[i].name, v);
    }
}

/* the critic layout, from the header: params are [actor | critic 1 | critic 2] in one buffer */
static size_t s_critic_floats(const config_t *c, const env_spec_t *spec) {
    mlp_t q;
    assert_int_equal(mlp_init(&q, spec->obs_dim + spec->act_dim, (int)c->hidden, (int)c->layers, 1), 0);
    return q.n_params;
}

static void test_new_and_first_update(void **state) {
    (void)state;
    config_t c;
    s_config(&c, NULL, 0);
    mpo_t *m = s_new(&c, &s_spec);
    batch_t bt;
    s_batch(&bt, S_DIM, A_DIM, 1);
    const mlp_t *layout = mpo_actor_layout(m);
    assert_int_equal(layout->sizes[0], S_DIM);
    assert_int_equal(layout->sizes[layout->n_layers], 2 * A_DIM);
    assert_int_equal(layout->n_layers, c.layers + 1);
    assert_int_equal(mpo_actor_floats(m), layout->n_params);
    assert_int_equal(mpo_updates(m), 0);

    mpo_metrics_t mt;
    memset(&mt, 0xff, sizeof mt);
    mpo_update(m, &bt.b, &mt);
    s_assert_finite(&mt);
    assert_int_equal(mpo_updates(m), 1);
    /* the duals start at softplus(10) (eta, alpha_mean) and softplus(1000) (alpha_stddev) */
    CLOSE(mt.temperature, 10.000045398899218, 1e-6);
    CLOSE(mt.alpha_mean, 10.000045398899218, 1e-6);
    CLOSE(mt.alpha_stddev, 1000.0, 1e-6);
    CLOSE(mt.temperature_penalty, 0.0, 0); /* squashed: no action penalty */
    /* the first update's online actor is its target: both KLs vanish */
    CLOSE(mt.kl_mean, 0.0, 1e-10);
    CLOSE(mt.kl_stddev, 0.0, 1e-10);
    /* E-step weights: KL from uniform in [0, log N], the largest weight in [1/N, 1] */
    assert_true(mt.kl_estep >= -1e-9 && mt.kl_estep <= log(5.0) + 1e-9);
    assert_true(mt.max_weight >= 0.2 - 1e-6 && mt.max_weight <= 1.0 + 1e-6);
    assert_true(mt.critic_loss > 0);
    assert_true(mt.actor_grad_norm > 0 && mt.critic_grad_norm > 0);

    /* NULL metrics is allowed */
    mpo_update(m, &bt.b, NULL);
    assert_int_equal(mpo_updates(m), 2);
    mpo_destroy(&m);
    assert_null(m);
    mpo_destroy(&m);
}

static void s_bad_layers(mpo_params_t *p) { p->layers = MLP_MAX_LAYERS + 3; }
static void s_bad_hidden(mpo_params_t *p) { p->hidden = CONFIG_HIDDEN_MAX + 1; }
static void s_bad_batch(mpo_params_t *p) { p->batch_size = 0; }
static void s_bad_obs(mpo_params_t *p) { p->obs_dim = ENV_MAX_OBS + 1; }
static void s_bad_act(mpo_params_t *p) { p->act_dim = 0; }

/* the config's keys land in the parameters, and mpo_new refuses sizes it is not built for */
static void test_params_and_bad_sizes(void **state) {
    (void)state;
    config_t c;
    mpo_params_t p;
    char err[256] = "";
    const char *extra[] = {"policy=gaussian", "critic_action_samples=3", "epsilon_mean=0.02", "gamma=0.9"};
    s_config(&c, extra, 4);
    assert_int_equal(mpo_params_from_config(&c, &s_spec, &p, err, sizeof err), 0);
    assert_int_equal(p.obs_dim, S_DIM);
    assert_int_equal(p.act_dim, A_DIM);
    CLOSE(p.act_high[1], 3.0, 0);
    assert_int_equal(p.hidden, 32);
    assert_int_equal(p.layers, c.layers);
    assert_int_equal(p.policy, POLICY_GAUSSIAN);
    assert_int_equal(p.batch_size, 16);
    assert_int_equal(p.n_samples, 5);
    assert_int_equal(p.critic_samples, 3);
    CLOSE(p.epsilon_mean, 0.02, 0);
    CLOSE(p.gamma, 0.9, 0);
    CLOSE(p.init_log_alpha_stddev, 1000.0, 0);
    assert_true(p.seed == 7);

    s_config(&c, NULL, 0);
    snprintf(c.policy, sizeof c.policy, "bogus");
    assert_int_equal(mpo_params_from_config(&c, &s_spec, &p, err, sizeof err), -MPO_EINVAL);
    assert_non_null(strstr(err, "bogus"));

    s_config(&c, NULL, 0);
    assert_int_equal(mpo_params_from_config(&c, &s_spec, &p, err, sizeof err), 0);
    struct {
        const char *what;
        void (*set)(mpo_params_t *);
    } bad[] = {
        {"layers", s_bad_layers}, {"hidden", s_bad_hidden}, {"batch_size", s_bad_batch},
        {"obs_dim", s_bad_obs},   {"act_dim", s_bad_act},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpo_params_t q = p;
        bad[i].set(&q);
        err[0] = 0;
        assert_null(mpo_new(&q, err, sizeof err));
        if (!strstr(err, bad[i].what))
            fail_msg("bad %s: the reason '%s' does not name it", bad[i].what, err);
    }
    /* the limits themselves are fine */
    mpo_params_t q = p;
    q.layers = MLP_MAX_LAYERS - 1;
    mpo_t *m = mpo_new(&q, err, sizeof err);
    assert_non_null(m);
    mpo_destroy(&m);
}

/* an update changes the actor and both critics */
static void test_update_changes_params(void **state) {
    (void)state;
    config_t c;
    s_config(&c, NULL, 0);
    mpo_t *m = s_new(&c, &s_spec);
    size_t na = mpo_actor_floats(m), nc = s_critic_floats(&c, &s_spec), P = na + 2 * nc;
    float *before = malloc(P * sizeof(float));
    assert_non_null(before);
    memcpy(before, mpo_actor_params(m), P * sizeof(float));
    batch_t bt;
    s_batch(&bt, S_DIM, A_DIM, 2);
    mpo_metrics_t mt;
    mpo_update(m, &bt.b, &mt);
    const float *after = mpo_actor_params(m);
    const size_t offs[3] = {0, na, na + nc}, lens[3] = {na, nc, nc};
    for (int net = 0; net < 3; net++) {
        size_t changed = 0;
        double max_step = 0;
        for (size_t i = 0; i < lens[net]; i++) {
            double d = fabs((double)after[offs[net] + i] - before[offs[net] + i]);
            changed += d > 0;
            max_step = fmax(max_step, d);
        }
        if (changed < lens[net] / 4)
            fail_msg("network %d: %zu of %zu parameters changed", net, changed, lens[net]);
        /* an Adam step moves no parameter by much more than the learning rate */
        assert_true(max_step <= 1.5 * c.learning_rate);
    }
    free(before);
    mpo_destroy(&m);
}

/* KL_mean, KL_stddev (means over action dimensions) of the actor at online vs target parameters on
 * the batch's observations, computed here */
static void s_kls(double *km_out, double *ks_out, const mlp_t *net, const float *online,
                  const float *target, const float *obs, float min_std) {
    float *acts = malloc(mlp_acts_floats(net, BATCH) * sizeof(float));
    float mu[BATCH * A_DIM], sg[BATCH * A_DIM], mu_t[BATCH * A_DIM], sg_t[BATCH * A_DIM];
    assert_non_null(acts);
    mlp_forward_ref(net, acts, online, obs, BATCH);
    policy_head(mu, sg, mlp_output(net, acts, BATCH), BATCH, A_DIM, min_std);
    mlp_forward_ref(net, acts, target, obs, BATCH);
    policy_head(mu_t, sg_t, mlp_output(net, acts, BATCH), BATCH, A_DIM, min_std);
    double km[A_DIM], ks[A_DIM];
    mpo_kl_decoupled(km, ks, mu, sg, mu_t, sg_t, BATCH, A_DIM);
    *km_out = (km[0] + km[1]) / 2;
    *ks_out = (ks[0] + ks[1]) / 2;
    free(acts);
}

/* The targets move by tau: after one update the target actor is (1 - tau) p0 + tau p1, so the
 * second update's M-step KLs (online p1 against the target) are those computed here from p0, p1 and
 * tau; they vanish for tau = 1 and are largest for tau = 0. */
static void test_targets_move_by_tau(void **state) {
    (void)state;
    const char *taus[] = {"tau=0", "tau=0.25", "tau=1"};
    double km_seen[3];
    for (int t = 0; t < 3; t++) {
        config_t c;
        const char *extra[] = {taus[t], "learning_rate=3e-3"};
        s_config(&c, extra, 2);
        mpo_t *m = s_new(&c, &s_spec);
        size_t na = mpo_actor_floats(m);
        float *p0 = malloc(na * sizeof(float)), *p1 = malloc(na * sizeof(float)), *tg = malloc(na * sizeof(float));
        assert_non_null(p0), assert_non_null(p1), assert_non_null(tg);
        memcpy(p0, mpo_actor_params(m), na * sizeof(float));
        batch_t bt;
        s_batch(&bt, S_DIM, A_DIM, 3);
        mpo_metrics_t m1, m2;
        mpo_update(m, &bt.b, &m1);
        memcpy(p1, mpo_actor_params(m), na * sizeof(float));
        memcpy(tg, p0, na * sizeof(float));
        for (size_t i = 0; i < na; i++) /* the Polyak step the update makes */
            tg[i] += (float)c.tau * (p1[i] - tg[i]);
        mpo_update(m, &bt.b, &m2);
        double km, ks;
        s_kls(&km, &ks, mpo_actor_layout(m), p1, tg, bt.obs, (float)c.min_std);
        CLOSE(m2.kl_mean, km, 1e-3 * km + 1e-10);
        CLOSE(m2.kl_stddev, ks, 1e-3 * ks + 1e-10);
        km_seen[t] = m2.kl_mean;
        free(p0), free(p1), free(tg);
        mpo_destroy(&m);
    }
    /* the KL scales as (1 - tau)^2 */
    assert_true(km_seen[0] > 1e-8);
    CLOSE(km_seen[1] / km_seen[0], 0.75 * 0.75, 0.02);
    CLOSE(km_seen[2], 0.0, 1e-10);
}

/* target_update_period 3 (tau given but unused): the targets stay at the initial networks for two
 * updates (the second update's KLs are online p1 against p0), then are copies of the networks
 * after the third (the fourth update's KLs are 0) */
static void test_target_hard_copies(void **state) {
    (void)state;
    config_t c;
    const char *extra[] = {"target_update_period=3", "tau=0.25", "learning_rate=3e-3"};
    s_config(&c, extra, 3);
    mpo_t *m = s_new(&c, &s_spec);
    size_t na = mpo_actor_floats(m);
    float *p0 = malloc(na * sizeof(float)), *p1 = malloc(na * sizeof(float));
    assert_non_null(p0), assert_non_null(p1);
    memcpy(p0, mpo_actor_params(m), na * sizeof(float));
    batch_t bt;
    s_batch(&bt, S_DIM, A_DIM, 3);
    mpo_metrics_t mt;
    assert_int_equal(mpo_update(m, &bt.b, &mt), 0);
    memcpy(p1, mpo_actor_params(m), na * sizeof(float));
    assert_int_equal(mpo_update(m, &bt.b, &mt), 0);
    double km, ks;
    s_kls(&km, &ks, mpo_actor_layout(m), p1, p0, bt.obs, (float)c.min_std);
    assert_true(km > 1e-8);
    CLOSE(mt.kl_mean, km, 1e-3 * km + 1e-10);
    CLOSE(mt.kl_stddev, ks, 1e-3 * ks + 1e-10);
    assert_int_equal(mpo_update(m, &bt.b, &mt), 0);
    assert_true(mt.kl_mean > 1e-8); /* the third update still measured against p0 */
    assert_int_equal(mpo_update(m, &bt.b, &mt), 0);
    CLOSE(mt.kl_mean, 0.0, 1e-10);
    CLOSE(mt.kl_stddev, 0.0, 1e-10);
    free(p0), free(p1);
    mpo_destroy(&m);
}

/* init_stddev: only the sigma half of the last layer's biases differ from the default start, and
 * sigma over a batch starts near the value asked for; at or below min_std it is refused */
static double s_mean_sigma(mpo_t *m, const float *obs, float min_std) {
    const mlp_t *net = mpo_actor_layout(m);
    float *acts = malloc(mlp_acts_floats(net, BATCH) * sizeof(float));
    assert_non_null(acts);
    mlp_forward_ref(net, acts, mpo_actor_params(m), obs, BATCH);
    float mu[BATCH * A_DIM], sigma[BATCH * A_DIM];
    policy_head(mu, sigma, mlp_output(net, acts, BATCH), BATCH, A_DIM, min_std);
    double sum = 0;
    for (int i = 0; i < BATCH * A_DIM; i++)
        sum += sigma[i];
    free(acts);
    return sum / (BATCH * A_DIM);
}

static void test_init_stddev(void **state) {
    (void)state;
    config_t c0, c1;
    s_config(&c0, NULL, 0);
    const char *extra[] = {"init_stddev=0.3"};
    s_config(&c1, extra, 1);
    mpo_t *m0 = s_new(&c0, &s_spec), *m1 = s_new(&c1, &s_spec);
    size_t na = mpo_actor_floats(m0), differ = 0;
    const float *p0 = mpo_actor_params(m0), *p1 = mpo_actor_params(m1);
    const mlp_t *net = mpo_actor_layout(m1);
    size_t sigma_bias = net->b_off[net->n_layers - 1] + A_DIM;
    for (size_t i = 0; i < na; i++)
        if (p0[i] != p1[i]) {
            differ++;
            assert_true(i >= sigma_bias && i < sigma_bias + A_DIM);
        }
    assert_int_equal(differ, A_DIM);
    batch_t bt;
    s_batch(&bt, S_DIM, A_DIM, 5);
    double s0 = s_mean_sigma(m0, bt.obs, (float)c0.min_std), s1 = s_mean_sigma(m1, bt.obs, (float)c1.min_std);
    assert_true(s0 > 0.6 && s0 < 0.8);
    assert_true(s1 > 0.25 && s1 < 0.35);
    mpo_destroy(&m0), mpo_destroy(&m1);

    const char *low[] = {"init_stddev=1e-3"}; /* min_std's default */
    config_t c2;
    s_config(&c2, low, 1);
    mpo_params_t p;
    char err[256] = "";
    assert_int_equal(mpo_params_from_config(&c2, &s_spec, &p, err, sizeof err), -MPO_EINVAL);
    assert_non_null(strstr(err, "init_stddev"));
}

/* same seed, same batches: bit-identical parameters and metrics; another seed differs */
static void test_determinism(void **state) {
    (void)state;
    config_t c;
    s_config(&c, NULL, 0);
    mpo_t *a = s_new(&c, &s_spec), *b = s_new(&c, &s_spec);
    const char *other[] = {"seed=8"};
    config_t c2;
    s_config(&c2, other, 1);
    mpo_t *o = s_new(&c2, &s_spec);
    size_t P = mpo_actor_floats(a) + 2 * s_critic_floats(&c, &s_spec);
    batch_t bt;
    mpo_metrics_t ma, mb, mo;
    for (int i = 0; i < 5; i++) {
        s_batch(&bt, S_DIM, A_DIM, 100 + i);
        mpo_update(a, &bt.b, &ma);
        mpo_update(b, &bt.b, &mb);
        mpo_update(o, &bt.b, &mo);
        assert_memory_equal(&ma, &mb, sizeof ma);
    }
    assert_memory_equal(mpo_actor_params(a), mpo_actor_params(b), P * sizeof(float));
    assert_memory_not_equal(mpo_actor_params(a), mpo_actor_params(o), mpo_actor_floats(a) * sizeof(float));
    /* acting with the same rng seed gives the same actions */
    float obs[3 * S_DIM] = {0.1f, -0.2f, 0.3f, 0.4f, 1, 1, 1, 1, -1, 0, 2, 0};
    float xa[3 * A_DIM], xb[3 * A_DIM];
    rng_t ra, rb;
    rng_seed(&ra, 3);
    rng_seed(&rb, 3);
    mpo_act(a, xa, obs, 3, false, &ra);
    mpo_act(b, xb, obs, 3, false, &rb);
    assert_memory_equal(xa, xb, sizeof xa);
    mpo_destroy(&a);
    mpo_destroy(&b);
    mpo_destroy(&o);
}

/* With done = 1 everywhere the critic target is the reward alone, so repeated updates on one batch
 * are a plain regression whose loss falls and whose Q approaches the reward. */
static void s_critic_regression(const char *extra) {
    config_t c;
    s_config(&c, &extra, extra != NULL);
    mpo_t *m = s_new(&c, &s_spec);
    batch_t bt;
    s_batch(&bt, S_DIM, A_DIM, 4);
    for (int i = 0; i < BATCH; i++) {
        bt.reward[i] = 1.0f;
        bt.done[i] = 1.0f;
    }
    mpo_metrics_t mt;
    mpo_update(m, &bt.b, &mt);
    double first = mt.critic_loss, prev = first;
    int rises = 0;
    for (int i = 1; i < 200; i++) {
        mpo_update(m, &bt.b, &mt);
        s_assert_finite(&mt);
        rises += mt.critic_loss > prev;
        prev = mt.critic_loss;
    }
    print_message("%s: critic loss %.4g -> %.4g, q_mean %.4f, %d rises\n", extra ? extra : "defaults", first,
                  mt.critic_loss, mt.q_mean, rises);
    assert_true(first > 0.5);
    assert_true(mt.critic_loss < 0.05 * first);
    CLOSE(mt.q_mean, 1.0, 0.1);
    assert_true(rises < 20); /* a steady descent */
    mpo_destroy(&m);
}

static void test_critic_regression(void **state) {
    (void)state;
    s_critic_regression(NULL);
    s_critic_regression("critic_layer_norm=1");
}

/* The gaussian policy type runs, with the action-penalty temperature in play */
static void test_gaussian_policy(void **state) {
    (void)state;
    config_t c;
    const char *extra[] = {"policy=gaussian"};
    s_config(&c, extra, 1);
    mpo_t *m = s_new(&c, &s_spec);
    batch_t bt;
    mpo_metrics_t mt;
    for (int i = 0; i < 20; i++) {
        s_batch(&bt, S_DIM, A_DIM, 200 + i);
        mpo_update(m, &bt.b, &mt);
        s_assert_finite(&mt);
        assert_true(mt.temperature_penalty > 0);
        if (i == 0)
            CLOSE(mt.temperature_penalty, 10.000045398899218, 1e-6);
    }
    /* deterministic gaussian acting is the unsquashed mean: equal to policy_act on the parameters */
    float obs[2 * S_DIM] = {0.5f, -1, 0.25f, 2, 0, 0, 0, 0};
    float x[2 * A_DIM], ref[2 * A_DIM];
    const mlp_t *net = mpo_actor_layout(m);
    float *acts = malloc(mlp_acts_floats(net, 2) * sizeof(float));
    mpo_act(m, x, obs, 2, true, NULL);
    policy_act(ref, net, mpo_actor_params(m), obs, 2, POLICY_GAUSSIAN, (float)c.min_std, true, NULL, acts);
    for (int i = 0; i < 2 * A_DIM; i++)
        CLOSE(x[i], ref[i], 1e-6);
    free(acts);
    mpo_destroy(&m);
}

/* Acting on more observations than the batch size (mpo_act works in chunks of it) gives the same
 * deterministic actions as the policy head on the actor parameters, all in [-1, 1] */
static void test_act_chunks(void **state) {
    (void)state;
    config_t c;
    s_config(&c, NULL, 0);
    mpo_t *m = s_new(&c, &s_spec);
    enum { K = 3 * BATCH + 5 };
    float obs[K * S_DIM], x[K * A_DIM], ref[K * A_DIM];
    rng_t rng;
    rng_seed(&rng, 9);
    for (int i = 0; i < K * S_DIM; i++)
        obs[i] = (float)(2 * rng_normal(&rng));
    mpo_act(m, x, obs, K, true, NULL);
    const mlp_t *net = mpo_actor_layout(m);
    float *acts = malloc(mlp_acts_floats(net, K) * sizeof(float));
    policy_act(ref, net, mpo_actor_params(m), obs, K, POLICY_SQUASHED, (float)c.min_std, true, NULL, acts);
    for (int i = 0; i < K * A_DIM; i++) {
        CLOSE(x[i], ref[i], 1e-6);
        assert_true(x[i] >= -1.0f && x[i] <= 1.0f);
    }
    /* sampled actions are in range too, and not all equal to the mean */
    float y[K * A_DIM];
    mpo_act(m, y, obs, K, false, &rng);
    int differ = 0;
    for (int i = 0; i < K * A_DIM; i++) {
        assert_true(y[i] >= -1.0f && y[i] <= 1.0f);
        differ += y[i] != x[i];
    }
    assert_true(differ > K * A_DIM / 2);
    free(acts);
    mpo_destroy(&m);
}

/* One state, 64 actions spread over [-1, 1] (policy space), done = 1, reward r(a): the critic learns
 * Q(s, a) = r(a) and the learner's deterministic action at s moves toward the better actions (a
 * sign error in the E-step weights or the M-step would drive it away). A looser trust region and
 * faster targets than the defaults let a few hundred updates show it. Returns the action before
 * and after. */
static void s_one_step_problem(double (*reward)(double), int updates, float *before, float *after,
                               mpo_metrics_t *mt) {
    config_t c;
    const char *extra[] = {"batch_size=64", "learning_rate=1e-3", "epsilon_mean=0.05", "tau=0.05",
                           "init_log_alpha_mean=1"};
    s_config(&c, extra, 5);
    env_spec_t spec = s_spec;
    spec.obs_dim = 2;
    spec.act_dim = 1;
    mpo_t *m = s_new(&c, &spec);
    enum { BB = 64 };
    float obs[BB * 2], act[BB], rew[BB], done[BB], next[BB * 2];
    for (int i = 0; i < BB; i++) {
        obs[2 * i] = next[2 * i] = 0.3f;
        obs[2 * i + 1] = next[2 * i + 1] = -0.7f;
        act[i] = -1.0f + 2.0f * (i + 0.5f) / BB;
        rew[i] = (float)reward(act[i]);
        done[i] = 1.0f;
    }
    transition_batch_t b = {obs, act, rew, done, next, BB};
    mpo_act(m, before, obs, 1, true, NULL);
    for (int i = 0; i < updates; i++)
        mpo_update(m, &b, mt);
    s_assert_finite(mt);
    mpo_act(m, after, obs, 1, true, NULL);
    mpo_destroy(&m);
}

static double s_r_up(double a) { return 2.0 * a; }
static double s_r_down(double a) { return -2.0 * a; }
static double s_r_peak(double a) { return -4.0 * (a - 0.5) * (a - 0.5); }

static void test_policy_improves(void **state) {
    (void)state;
    float a0, a1;
    mpo_metrics_t mt;
    /* reward increasing in a: the action climbs toward 1 */
    s_one_step_problem(s_r_up, 700, &a0, &a1, &mt);
    print_message("r = 2a: action %.3f -> %.3f (critic loss %.3g)\n", a0, a1, mt.critic_loss);
    assert_true(fabs(a0) < 0.3);
    assert_true(a1 > 0.75);
    /* decreasing: toward -1 */
    s_one_step_problem(s_r_down, 700, &a0, &a1, &mt);
    print_message("r = -2a: action %.3f -> %.3f\n", a0, a1);
    assert_true(a1 < -0.75);
    /* a peak at 0.5. MPO maximises E_{u ~ N(mu, sigma)} exp(Q(tanh u) / eta) in u = atanh(a) space,
     * not Q at the mean, and Q(tanh u) is flat for large u but falls steeply for small u, so with
     * sigma ~ 0.69 (held by the stddev trust region) and eta ~ 0.8 the fixed point is tanh(0.84) =
     * 0.69 (python3, numerical integration), not 0.5. The action goes there, not to either end. */
    s_one_step_problem(s_r_peak, 1500, &a0, &a1, &mt);
    print_message("r = -4 (a - 0.5)^2: action %.3f -> %.3f (eta %.3g)\n", a0, a1, mt.temperature);
    assert_true(a1 > 0.4 && a1 < 0.8);
}

static void test_flops(void **state) {
    (void)state;
    config_t c5, c10;
    const char *n10[] = {"n_action_samples=10"};
    s_config(&c5, NULL, 0);
    s_config(&c10, n10, 1);
    mpo_t *a = s_new(&c5, &s_spec), *b = s_new(&c10, &s_spec);
    double f5 = mpo_flops_per_update(a, BATCH), f10 = mpo_flops_per_update(b, BATCH);
    assert_true(f5 > 0);
    assert_true(f10 > f5);
    assert_true(mpo_flops_per_update(a, 2 * BATCH) > f5);
    /* at least the E-step's 2 B N target-critic forwards of the hidden layers (32 x 32) */
    assert_true(f10 - f5 >= 2.0 * BATCH * 5 * 2 * 32 * 32);
    mpo_destroy(&a);
    mpo_destroy(&b);

    /* docs/algorithm.md's figure: about 1.86 GFLOP at batch 256, N 20, hidden 256, sizes 17/6 */
    config_t c;
    config_defaults(&c);
    env_spec_t hc = s_spec;
    hc.obs_dim = 17;
    hc.act_dim = 6;
    for (int k = 0; k < 6; k++)
        hc.act_low[k] = -1, hc.act_high[k] = 1;
    mpo_t *h = s_new(&c, &hc);
    /* Worked by hand (python3) for what mpo_update executes, multiply-adds as 2, with the
     * actor 17-256-256-12 and critics 23-256-256-1:
     *   target actor on 2B rows                        74,711,040
     *   2 target critics on (s', a'), split, M = 1     73,400,320
     *   2 online critics forward + backward (no dinp) 214,171,648
     *   2 target critics on B*N = 5120 rows, split  1,383,333,888  (the E-step, 75%)
     *   actor forward + backward (M-step)             109,838,336
     *   total                                       1,855,455,232
     * The "about 1.95 GFLOP" often quoted is the same count without the split first layer
     * (1,940,127,744): the split saves the state half of the first layer for N - 1 of N rows. */
    double f = mpo_flops_per_update(h, 256);
    print_message("HalfCheetah sizes: %.10g FLOP per update\n", f);
    CLOSE(f, 1855455232.0, 1.0);
    mpo_destroy(&h);
}

/* the update is the same bits at any thread count: params, targets, moments, duals and every metric
 * after several updates with 1, 2 and 3 threads (tasks write disjoint memory, BLAS runs on one
 * thread per call, every sum in one order) */
static void test_threads_same_bits(void **state) {
    (void)state;
    /* the default, the gaussian policy, LayerNorm critics */
    const char *extra[] = {NULL, "policy=gaussian", "critic_layer_norm=1"};
    for (int variant = 0; variant < 3; variant++) {
        mpo_t *ref = NULL;
        mpo_metrics_t ref_m;
        for (int threads = 1; threads <= 3; threads++) {
            config_t c;
            s_config(&c, extra + variant, variant > 0);
            c.threads = threads;
            mpo_t *m = s_new(&c, &s_spec);
            assert_int_equal(mpo_threads(m), threads);
            mpo_metrics_t mt;
            for (int k = 0; k < 4; k++) {
                batch_t bt;
                s_batch(&bt, S_DIM, A_DIM, 100 + k);
                mpo_update(m, &bt.b, &mt);
            }
            if (!ref) {
                ref = m;
                ref_m = mt;
                continue;
            }
            mpo_state_t a = mpo_state(ref), b = mpo_state(m);
            assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
            assert_memory_equal(a.target, b.target, a.n_params * sizeof(float));
            assert_memory_equal(a.adam_m, b.adam_m, a.n_params * sizeof(float));
            assert_memory_equal(a.adam_v, b.adam_v, a.n_params * sizeof(float));
            assert_memory_equal(a.duals, b.duals, a.n_duals * sizeof(float));
            assert_memory_equal(&ref_m, &mt, sizeof mt);
            mpo_destroy(&m);
        }
        mpo_destroy(&ref);
    }
}

/* the sigma figures are the online policy's sigma on the batch, as the policy head gives it from the
 * actor's parameters before the update */
static void test_sigma_metrics(void **state) {
    (void)state;
    config_t c;
    s_config(&c, NULL, 0);
    mpo_t *m = s_new(&c, &s_spec);
    batch_t bt;
    s_batch(&bt, S_DIM, A_DIM, 5);
    const mlp_t *net = mpo_actor_layout(m);
    float *params = malloc(mpo_actor_floats(m) * sizeof(float));
    memcpy(params, mpo_actor_params(m), mpo_actor_floats(m) * sizeof(float));
    float *acts = malloc(mlp_acts_floats(net, BATCH) * sizeof(float));
    mlp_forward_ref(net, acts, params, bt.obs, BATCH);
    float mu[BATCH * A_DIM], sigma[BATCH * A_DIM];
    policy_head(mu, sigma, mlp_output(net, acts, BATCH), BATCH, A_DIM, (float)c.min_std);
    double sum = 0, lo = 1e30, hi = 0, act = 0;
    for (int i = 0; i < BATCH * A_DIM; i++) {
        sum += sigma[i];
        lo = sigma[i] < lo ? sigma[i] : lo;
        hi = sigma[i] > hi ? sigma[i] : hi;
        double t = tanh(mu[i]);
        act += sigma[i] * (1 - t * t) * 0.5 * (s_spec.act_high[i % A_DIM] - s_spec.act_low[i % A_DIM]);
    }
    mpo_metrics_t mt;
    mpo_update(m, &bt.b, &mt);
    CLOSE(mt.sigma_mean, sum / (BATCH * A_DIM), 1e-5);
    CLOSE(mt.sigma_min, lo, 1e-5);
    CLOSE(mt.sigma_max, hi, 1e-5);
    CLOSE(mt.sigma_action, act / (BATCH * A_DIM), 1e-5);
    assert_true(mt.sigma_min > 0 && mt.sigma_min < mt.sigma_max);
    free(params);
    free(acts);
    mpo_destroy(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_sigma_metrics),
        cmocka_unit_test(test_new_and_first_update),
        cmocka_unit_test(test_params_and_bad_sizes),
        cmocka_unit_test(test_update_changes_params),
        cmocka_unit_test(test_targets_move_by_tau),
        cmocka_unit_test(test_target_hard_copies),
        cmocka_unit_test(test_init_stddev),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_critic_regression),
        cmocka_unit_test(test_gaussian_policy),
        cmocka_unit_test(test_act_chunks),
        cmocka_unit_test(test_policy_improves),
        cmocka_unit_test(test_flops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
