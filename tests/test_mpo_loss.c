/* mpo_loss: every piece of the MPO update on small hand-worked cases (B = 2 states, N = 3 samples,
 * A = 2 action dimensions; the numbers in the comments were worked in double with python3 from the
 * formulas of docs/algorithm.md, independently of the C code) and by finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <math.h>
#include <string.h>

#include "nn/optim.h"
#include "nn/policy.h"
#include "common/rng.h"
#include "learner/mpo_loss.h"

#define B 2
#define N 3
#define A 2

/* The E-step case: q (B, N) and eta 1.5. */
static const float s_q[B * N] = {1.0f, 2.0f, 3.0f, 0.5f, -1.0f, 4.0f};
#define ETA 1.5
#define EPSILON 0.1

/* ---- critic ---- */

/* q1 = [1, 2], q2 = [0.5, 3], y = [1.5, 1]:
 *   L = ((1-1.5)^2 + (0.5-1.5)^2 + (2-1)^2 + (3-1)^2) / 2 = (0.25 + 1 + 1 + 4) / 2 = 3.125
 *   dq1 = 2 (q1 - y) / B = [-0.5, 1], dq2 = [-1, 2] */
static void test_critic_loss_hand(void **state) {
    (void)state;
    const float q1[B] = {1.0f, 2.0f}, q2[B] = {0.5f, 3.0f}, y[B] = {1.5f, 1.0f};
    float dq1[B], dq2[B];
    CLOSE(mpo_critic_loss(dq1, dq2, q1, q2, y, B), 3.125, 1e-12);
    CLOSE(dq1[0], -0.5, 1e-7);
    CLOSE(dq1[1], 1.0, 1e-7);
    CLOSE(dq2[0], -1.0, 1e-7);
    CLOSE(dq2[1], 2.0, 1e-7);
}

static void test_critic_loss_fd(void **state) {
    (void)state;
    enum { BB = 7 };
    rng_t rng;
    rng_seed(&rng, 21);
    float q1[BB], q2[BB], y[BB], dq1[BB], dq2[BB], t1[BB], t2[BB];
    for (int b = 0; b < BB; b++) {
        q1[b] = (float)rng_normal(&rng);
        q2[b] = (float)rng_normal(&rng);
        y[b] = (float)rng_normal(&rng);
    }
    mpo_critic_loss(dq1, dq2, q1, q2, y, BB);
    for (int b = 0; b < BB; b++)
        for (int which = 0; which < 2; which++) {
            float *x = which ? &q2[b] : &q1[b], save = *x;
            *x = save + 1e-2f;
            double hi = *x, lp = mpo_critic_loss(t1, t2, q1, q2, y, BB);
            *x = save - 1e-2f;
            double lo = *x, lm = mpo_critic_loss(t1, t2, q1, q2, y, BB);
            *x = save;
            double fd = (lp - lm) / (hi - lo); /* exact for a quadratic */
            CLOSE(which ? dq2[b] : dq1[b], fd, 1e-5);
        }
    /* zero at the targets */
    CLOSE(mpo_critic_loss(dq1, dq2, y, y, y, BB), 0.0, 0);
    for (int b = 0; b < BB; b++)
        assert_true(dq1[b] == 0.0f && dq2[b] == 0.0f);
}

/* ---- E-step ---- */

/* softmax_i(q_{b,i} / 1.5), one per state:
 *   w_0 = [0.148337098059, 0.288921215442, 0.562741686499]
 *   w_1 = [0.085615427226, 0.031496155523, 0.882888417251]
 *   KL(w_b || uniform) = [0.133280775331, 0.669299319255], mean 0.401290047293
 * Pooling all six into one softmax (the pitfall) would give
 *   [0.066178768184, 0.128898639586, 0.251060268168, 0.047419159499, 0.017444533897, 0.488998630667] */
static void test_estep_weights_hand(void **state) {
    (void)state;
    const double w_exp[B * N] = {0.148337098059, 0.288921215442, 0.562741686499,
                                 0.085615427226, 0.031496155523, 0.882888417251};
    const double pooled[B * N] = {0.066178768184, 0.128898639586, 0.251060268168,
                                  0.047419159499, 0.017444533897, 0.488998630667};
    float w[B * N];
    double kl = mpo_estep_weights(w, s_q, B, N, ETA);
    CLOSE(kl, 0.401290047293, 1e-9);
    for (int j = 0; j < B * N; j++)
        CLOSE(w[j], w_exp[j], 1e-7);
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int i = 0; i < N; i++)
            s += w[b * N + i];
        CLOSE(s, 1.0, 1e-6); /* each state's weights sum to one */
    }
    /* not the pooled softmax: state 0's weights differ by more than 0.08 from it */
    for (int i = 0; i < N; i++)
        assert_true(fabs(w[i] - pooled[i]) > 0.08);

    /* per state: adding a constant to one state's q leaves its weights unchanged (a pooled
     * softmax would shift all weight to that state) */
    float q2[B * N];
    memcpy(q2, s_q, sizeof q2);
    for (int i = 0; i < N; i++)
        q2[N + i] += 100.0f;
    float w2[B * N];
    double kl2 = mpo_estep_weights(w2, q2, B, N, ETA);
    CLOSE(kl2, kl, 1e-6);
    for (int j = 0; j < B * N; j++)
        CLOSE(w2[j], w[j], 1e-6);
}

/* extreme temperatures: no overflow, uniform as eta -> inf, one-hot as eta -> 0 */
static void test_estep_weights_extremes(void **state) {
    (void)state;
    float w[B * N];
    double kl = mpo_estep_weights(w, s_q, B, N, 1e6);
    CLOSE(kl, 0.0, 1e-9);
    for (int j = 0; j < B * N; j++)
        CLOSE(w[j], 1.0 / 3, 1e-5);
    kl = mpo_estep_weights(w, s_q, B, N, 1e-4);
    CLOSE(kl, log(3.0), 1e-6); /* KL of a one-hot from uniform */
    CLOSE(w[2], 1.0, 1e-6);
    CLOSE(w[5], 1.0, 1e-6);
    for (int j = 0; j < B * N; j++)
        assert_true(isfinite(w[j]));
}

/* g(eta) = eta eps + eta mean_b [logsumexp_i(q/eta) - log N]; dg/deta = eps - mean KL:
 *   at eta 1.5, eps 0.1: g = 2.526699836827, dg/deta = 0.1 - 0.401290047293 = -0.301290047293 */
static void test_temperature_dual_hand(void **state) {
    (void)state;
    double dg = 0;
    CLOSE(mpo_temperature_dual(&dg, s_q, B, N, ETA, EPSILON), 2.526699836827, 1e-9);
    CLOSE(dg, -0.301290047293, 1e-9);
    /* NULL derivative pointer is allowed */
    CLOSE(mpo_temperature_dual(NULL, s_q, B, N, ETA, EPSILON), 2.526699836827, 1e-9);
}

static void test_temperature_dual_fd(void **state) {
    (void)state;
    rng_t rng;
    rng_seed(&rng, 22);
    enum { BB = 5, NN = 7 };
    float q[BB * NN];
    for (int j = 0; j < BB * NN; j++)
        q[j] = (float)(3.0 * rng_normal(&rng));
    const double etas[] = {0.3, 1.0, 2.5, 10.0, 100.0};
    for (size_t e = 0; e < sizeof etas / sizeof etas[0]; e++) {
        double eta = etas[e], h = 1e-5 * eta, dg;
        mpo_temperature_dual(&dg, q, BB, NN, eta, EPSILON);
        double fd = (mpo_temperature_dual(NULL, q, BB, NN, eta + h, EPSILON) -
                     mpo_temperature_dual(NULL, q, BB, NN, eta - h, EPSILON)) / (2 * h);
        CLOSE(dg, fd, 1e-6 * (1 + fabs(fd)));
    }
    /* the hand case too */
    double dg, h = 1e-6;
    mpo_temperature_dual(&dg, s_q, B, N, ETA, EPSILON);
    double fd = (mpo_temperature_dual(NULL, s_q, B, N, ETA + h, EPSILON) -
                 mpo_temperature_dual(NULL, s_q, B, N, ETA - h, EPSILON)) / (2 * h);
    CLOSE(dg, fd, 1e-7);
}

/* When the weights are too sharp (KL above epsilon) the derivative is negative, so a gradient step
 * raises eta; when too flat, positive. At eta 0.5 the KL is 0.874190 (> 0.1), at eta 100 it is
 * 0.000127 (< 0.1). */
static void test_temperature_dual_direction(void **state) {
    (void)state;
    double dg;
    float w[B * N];
    double kl = mpo_estep_weights(w, s_q, B, N, 0.5);
    CLOSE(kl, 0.874190, 1e-6);
    mpo_temperature_dual(&dg, s_q, B, N, 0.5, EPSILON);
    assert_true(dg < 0);
    CLOSE(dg, EPSILON - kl, 1e-9);
    kl = mpo_estep_weights(w, s_q, B, N, 100.0);
    CLOSE(kl, 0.000127, 1e-6);
    mpo_temperature_dual(&dg, s_q, B, N, 100.0, EPSILON);
    assert_true(dg > 0);
    CLOSE(dg, EPSILON - kl, 1e-9);
}

/* Adam on the free parameter x of eta = softplus(x) + 1e-8 (as the learner does, lr 0.1) pulls
 * KL(w || uniform) to epsilon from either side: 200 steps from eta 0.5 (KL 0.874) and from eta 8
 * (KL 0.021) both end at eta ~3.58, KL 0.1000 (python3 simulation of the same loop). */
static void test_temperature_adam_moves_kl_to_epsilon(void **state) {
    (void)state;
    const double eta0s[2] = {0.5, 8.0};
    adam_config_t cfg = adam_defaults(0.1f);
    for (int s = 0; s < 2; s++) {
        float x = (float)log(expm1(eta0s[s])), m = 0, v = 0, g;
        float w[B * N];
        double kl0 = mpo_estep_weights(w, s_q, B, N, policy_softplus_d(x) + 1e-8), kl = kl0;
        double prev_gap = fabs(kl0 - EPSILON);
        for (int t = 1; t <= 200; t++) {
            double eta = policy_softplus_d(x) + 1e-8, dg;
            mpo_temperature_dual(&dg, s_q, B, N, eta, EPSILON);
            g = (float)(dg * policy_sigmoid_d(x));
            float x_before = x;
            adam_step(&x, &m, &v, &g, 1, &cfg, t);
            if (t == 1) /* the first step goes the right way */
                assert_true(s == 0 ? x > x_before : x < x_before);
            kl = mpo_estep_weights(w, s_q, B, N, policy_softplus_d(x) + 1e-8);
            if (t == 30) { /* well on the way */
                assert_true(fabs(kl - EPSILON) < 0.8 * prev_gap);
            }
        }
        CLOSE(kl, EPSILON, 0.01 * prev_gap + 1e-3);
        CLOSE(policy_softplus_d(x), 3.58, 0.05);
    }
}

/* ---- M-step ---- */

/* online mu, sigma and target mu_t, sigma_t, (B, A) */
static const float s_mu[B * A] = {0.1f, -0.2f, 0.5f, 0.3f};
static const float s_sigma[B * A] = {0.5f, 1.0f, 0.8f, 0.2f};
static const float s_mu_t[B * A] = {0.0f, 0.0f, 0.4f, 0.5f};
static const float s_sigma_t[B * A] = {0.6f, 0.9f, 0.8f, 0.3f};

/* kl_mean[k] = mean_b (mu - mu_t)^2 / (2 sigma_t^2) = [0.010850694444, 0.123456790123]
 * kl_std[k]  = mean_b [log(sigma/sigma_t) + sigma_t^2/(2 sigma^2) - 1/2] = [0.018839221603, 0.114947703775] */
static void test_kl_decoupled_hand(void **state) {
    (void)state;
    double km[A], ks[A];
    mpo_kl_decoupled(km, ks, s_mu, s_sigma, s_mu_t, s_sigma_t, B, A);
    CLOSE(km[0], 0.010850694444, 1e-7);
    CLOSE(km[1], 0.123456790123, 1e-7);
    CLOSE(ks[0], 0.018839221603, 1e-7);
    CLOSE(ks[1], 0.114947703775, 1e-7);
    /* zero when online == target */
    mpo_kl_decoupled(km, ks, s_mu, s_sigma, s_mu, s_sigma, B, A);
    for (int k = 0; k < A; k++) {
        CLOSE(km[k], 0.0, 0);
        CLOSE(ks[k], 0.0, 1e-15);
    }
    /* the mean KL ignores sigma, the stddev KL ignores mu */
    mpo_kl_decoupled(km, ks, s_mu, s_sigma_t, s_mu_t, s_sigma_t, B, A);
    CLOSE(km[0], 0.010850694444, 1e-7);
    CLOSE(ks[0], 0.0, 1e-15);
    mpo_kl_decoupled(km, ks, s_mu_t, s_sigma, s_mu_t, s_sigma_t, B, A);
    CLOSE(km[1], 0.0, 0);
    CLOSE(ks[1], 0.114947703775, 1e-7);
}

/* KL_sigma >= 0 for any sigma vs sigma_t (it is a KL of two Gaussians with the same mean) */
static void test_kl_std_nonnegative(void **state) {
    (void)state;
    rng_t rng;
    rng_seed(&rng, 23);
    enum { BB = 64, AA = 3 };
    float mu[BB * AA], s[BB * AA], mt[BB * AA], st[BB * AA];
    double km[AA], ks[AA];
    for (int trial = 0; trial < 50; trial++) {
        for (int j = 0; j < BB * AA; j++) {
            mu[j] = (float)rng_normal(&rng);
            mt[j] = (float)rng_normal(&rng);
            s[j] = (float)exp(2 * rng_normal(&rng));
            st[j] = trial % 2 ? s[j] * (float)(1 + 1e-3 * rng_normal(&rng)) : (float)exp(2 * rng_normal(&rng));
        }
        mpo_kl_decoupled(km, ks, mu, s, mt, st, BB, AA);
        for (int k = 0; k < AA; k++) {
            assert_true(ks[k] >= 0.0);
            assert_true(km[k] >= 0.0);
        }
    }
}

/* The M-step case: w (B, N), u (B*N, A), alpha_mean = [1.5, 0.7], alpha_std = [20, 3].
 *   - mean_b sum_i w [log N(u; mu, sigma_t) + log N(u; mu_t, sigma)] = 4.051221202021
 *   L = 4.051221202021 + 1.5*0.010850694444 + 0.7*0.123456790123 + 20*0.018839221603 + 3*0.114947703775
 *     = 4.875544540160
 *   dmu    = [[0.347222222222, -0.456790123457], [-0.023437500000, 0.722222222222]]
 *   dsigma = [[-7.920000000000,  0.570000000000], [ 0.474609375000, -24.937500000000]] */
static const float s_w[B * N] = {0.2f, 0.5f, 0.3f, 0.6f, 0.1f, 0.3f};
static const float s_u[B * N * A] = {0.3f, -0.5f, 0.0f, 0.4f, -0.2f, 1.0f,
                                     0.9f, 0.1f, 0.2f, 0.6f, 0.4f, -0.3f};
static const double s_alpha_mean[A] = {1.5, 0.7}, s_alpha_std[A] = {20.0, 3.0};

static void test_mstep_loss_hand(void **state) {
    (void)state;
    float dmu[B * A], dsigma[B * A];
    double km[A], ks[A];
    double L = mpo_mstep_loss(dmu, dsigma, km, ks, s_w, s_u, s_mu, s_sigma, s_mu_t, s_sigma_t,
                              s_alpha_mean, s_alpha_std, B, N, A);
    CLOSE(L, 4.875544540160, 1e-6);
    const double dmu_exp[B * A] = {0.347222222222, -0.456790123457, -0.0234375, 0.722222222222};
    const double ds_exp[B * A] = {-7.92, 0.57, 0.474609375, -24.9375};
    for (int j = 0; j < B * A; j++) {
        CLOSE(dmu[j], dmu_exp[j], 1e-5 * (1 + fabs(dmu_exp[j])));
        CLOSE(dsigma[j], ds_exp[j], 1e-5 * (1 + fabs(ds_exp[j])));
    }
    CLOSE(km[0], 0.010850694444, 1e-7);
    CLOSE(km[1], 0.123456790123, 1e-7);
    CLOSE(ks[0], 0.018839221603, 1e-7);
    CLOSE(ks[1], 0.114947703775, 1e-7);

    /* with the alphas at zero the loss is the weighted NLL alone */
    const double zero[A] = {0, 0};
    CLOSE(mpo_mstep_loss(dmu, dsigma, km, ks, s_w, s_u, s_mu, s_sigma, s_mu_t, s_sigma_t, zero, zero,
                         B, N, A),
          4.051221202021, 1e-6);
}

/* dmu, dsigma against central differences of the returned loss (alphas fixed), on the hand case
 * and on random larger cases */
static void s_mstep_fd(const float *w, const float *u, float *mu, float *sigma, const float *mu_t,
                       const float *sigma_t, const double *am, const double *as, int BB, int NN, int AA) {
    float dmu[64 * 4], dsigma[64 * 4], t1[64 * 4], t2[64 * 4];
    double km[4], ks[4];
    assert_true(BB * AA <= 64 * 4 && AA <= 4);
    mpo_mstep_loss(dmu, dsigma, km, ks, w, u, mu, sigma, mu_t, sigma_t, am, as, BB, NN, AA);
    for (int j = 0; j < BB * AA; j++)
        for (int which = 0; which < 2; which++) {
            float *x = which ? &sigma[j] : &mu[j], save = *x;
            float h = 1e-3f * (which ? save : 1.0f);
            *x = save + h;
            double hi = *x;
            double lp = mpo_mstep_loss(t1, t2, km, ks, w, u, mu, sigma, mu_t, sigma_t, am, as, BB, NN, AA);
            *x = save - h;
            double lo = *x;
            double lm = mpo_mstep_loss(t1, t2, km, ks, w, u, mu, sigma, mu_t, sigma_t, am, as, BB, NN, AA);
            *x = save;
            double fd = (lp - lm) / (hi - lo), an = which ? dsigma[j] : dmu[j];
            if (!(fabs(an - fd) <= 1e-3 * fabs(fd) + 1e-4))
                fail_msg("d/d%s[%d]: analytic %.8g, finite difference %.8g", which ? "sigma" : "mu", j,
                         an, fd);
        }
}

static void test_mstep_loss_fd(void **state) {
    (void)state;
    float mu[B * A], sigma[B * A];
    memcpy(mu, s_mu, sizeof mu);
    memcpy(sigma, s_sigma, sizeof sigma);
    s_mstep_fd(s_w, s_u, mu, sigma, s_mu_t, s_sigma_t, s_alpha_mean, s_alpha_std, B, N, A);

    rng_t rng;
    rng_seed(&rng, 24);
    enum { BB = 6, NN = 5, AA = 3 };
    float w[BB * NN], u[BB * NN * AA], mu2[BB * AA], s2[BB * AA], mt[BB * AA], st[BB * AA];
    double am[AA], as[AA];
    for (int trial = 0; trial < 5; trial++) {
        for (int b = 0; b < BB; b++) {
            double sum = 0;
            for (int i = 0; i < NN; i++)
                sum += w[b * NN + i] = (float)rng_uniform(&rng);
            for (int i = 0; i < NN; i++)
                w[b * NN + i] = (float)(w[b * NN + i] / sum);
        }
        for (int j = 0; j < BB * AA; j++) {
            mu2[j] = (float)rng_normal(&rng);
            mt[j] = (float)rng_normal(&rng);
            s2[j] = (float)(0.2 + rng_uniform(&rng));
            st[j] = (float)(0.2 + rng_uniform(&rng));
        }
        for (int j = 0; j < BB * NN * AA; j++)
            u[j] = (float)(2 * rng_normal(&rng));
        for (int k = 0; k < AA; k++) {
            am[k] = 5 * rng_uniform(&rng);
            as[k] = 50 * rng_uniform(&rng);
        }
        s_mstep_fd(w, u, mu2, s2, mt, st, am, as, BB, NN, AA);
    }
}

/* The weighted maximum-likelihood fit: with the alphas at zero the gradient vanishes at
 * mu = sum_i w_i u_i and sigma^2 = sum_i w_i (u_i - mu_t)^2 (per state and dimension), and the
 * loss is lowest there. Case: w uniform, u = mu_t +- d, so sigma* = d and mu* = mu_t. */
static void test_mstep_weighted_mle(void **state) {
    (void)state;
    /* B = 2, N = 3 samples u = mu_t + {-d, 0, +d} * sqrt(3/2) so sum_i w_i (u - mu_t)^2 = d^2 */
    const float mu_t[B * A] = {0.3f, -1.0f, 2.0f, 0.5f};
    const float d[B * A] = {0.4f, 1.5f, 0.25f, 0.8f};
    const float w[B * N] = {1.0f / 3, 1.0f / 3, 1.0f / 3, 1.0f / 3, 1.0f / 3, 1.0f / 3};
    float u[B * N * A];
    const float off[N] = {-1.0f, 0.0f, 1.0f};
    for (int b = 0; b < B; b++)
        for (int i = 0; i < N; i++)
            for (int k = 0; k < A; k++)
                u[(b * N + i) * A + k] = mu_t[b * A + k] + off[i] * d[b * A + k] * sqrtf(1.5f);
    const double zero[A] = {0, 0};
    float mu[B * A], sigma[B * A], dmu[B * A], dsigma[B * A];
    double km[A], ks[A];
    memcpy(mu, mu_t, sizeof mu);
    memcpy(sigma, d, sizeof sigma);
    /* sigma_t is arbitrary here (it only scales the mean term) */
    const float sigma_t[B * A] = {0.7f, 0.2f, 1.1f, 0.4f};
    double L0 = mpo_mstep_loss(dmu, dsigma, km, ks, w, u, mu, sigma, mu_t, sigma_t, zero, zero, B, N, A);
    for (int j = 0; j < B * A; j++) {
        CLOSE(dmu[j], 0.0, 1e-5);
        CLOSE(dsigma[j], 0.0, 1e-5 / d[j]);
    }
    /* any move away raises the loss */
    for (int j = 0; j < B * A; j++)
        for (int which = 0; which < 4; which++) {
            float *x = which < 2 ? &mu[j] : &sigma[j], save = *x;
            if (which < 2)
                *x = save + (which ? 0.05f : -0.05f);
            else
                *x = save * (which == 3 ? 1.05f : 0.95f);
            double L = mpo_mstep_loss(dmu, dsigma, km, ks, w, u, mu, sigma, mu_t, sigma_t, zero, zero, B, N, A);
            *x = save;
            assert_true(L > L0);
        }
    /* and a sigma too small has a negative gradient (loss falls as sigma grows) */
    sigma[0] = 0.5f * d[0];
    mpo_mstep_loss(dmu, dsigma, km, ks, w, u, mu, sigma, mu_t, sigma_t, zero, zero, B, N, A);
    assert_true(dsigma[0] < 0);
    /* a mean below the weighted mean of u has a negative gradient */
    sigma[0] = d[0];
    mu[0] = mu_t[0] - 0.1f;
    mpo_mstep_loss(dmu, dsigma, km, ks, w, u, mu, sigma, mu_t, sigma_t, zero, zero, B, N, A);
    assert_true(dmu[0] < 0);
}

/* The trust region: at mu = mu_t, sigma = sigma_t the KL terms and their gradients vanish, and with
 * a huge alpha the gradient points back to the target */
static void test_mstep_trust_region(void **state) {
    (void)state;
    float dmu[B * A], dsigma[B * A], dmu0[B * A], dsigma0[B * A];
    double km[A], ks[A];
    const double zero[A] = {0, 0}, big[A] = {1e4, 1e4};
    mpo_mstep_loss(dmu0, dsigma0, km, ks, s_w, s_u, s_mu_t, s_sigma_t, s_mu_t, s_sigma_t, zero, zero, B, N, A);
    mpo_mstep_loss(dmu, dsigma, km, ks, s_w, s_u, s_mu_t, s_sigma_t, s_mu_t, s_sigma_t, big, big, B, N, A);
    for (int k = 0; k < A; k++) {
        CLOSE(km[k], 0.0, 0);
        CLOSE(ks[k], 0.0, 1e-12);
    }
    for (int j = 0; j < B * A; j++) {
        CLOSE(dmu[j], dmu0[j], 1e-3);
        CLOSE(dsigma[j], dsigma0[j], 1e-3);
    }
    /* away from the target with huge alphas: the gradient sign is that of (mu - mu_t), (sigma - sigma_t) */
    mpo_mstep_loss(dmu, dsigma, km, ks, s_w, s_u, s_mu, s_sigma, s_mu_t, s_sigma_t, big, big, B, N, A);
    for (int j = 0; j < B * A; j++) {
        assert_true((dmu[j] > 0) == (s_mu[j] > s_mu_t[j]));
        if (s_sigma[j] != s_sigma_t[j])
            assert_true((dsigma[j] > 0) == (s_sigma[j] > s_sigma_t[j]));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_critic_loss_hand),
        cmocka_unit_test(test_critic_loss_fd),
        cmocka_unit_test(test_estep_weights_hand),
        cmocka_unit_test(test_estep_weights_extremes),
        cmocka_unit_test(test_temperature_dual_hand),
        cmocka_unit_test(test_temperature_dual_fd),
        cmocka_unit_test(test_temperature_dual_direction),
        cmocka_unit_test(test_temperature_adam_moves_kl_to_epsilon),
        cmocka_unit_test(test_kl_decoupled_hand),
        cmocka_unit_test(test_kl_std_nonnegative),
        cmocka_unit_test(test_mstep_loss_hand),
        cmocka_unit_test(test_mstep_loss_fd),
        cmocka_unit_test(test_mstep_weighted_mle),
        cmocka_unit_test(test_mstep_trust_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
