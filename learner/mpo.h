/* mpo: the learner's state and one MPO update (docs/algorithm.md, "One update").
 *
 * Every network lives in one flat buffer laid out [actor | critic 1 | critic 2]; gradients, Adam
 * moments and the target copies use the same layout, so Polyak averaging and checkpoints are
 * single loops or writes, and the weights the actors need are the first mpo_actor_floats(). The
 * duals (free parameters of eta, eta_penalty, alpha_mean[A], alpha_stddev[A]) are a second flat
 * buffer with their own Adam moments. */
#ifndef MPO_MPO_H
#define MPO_MPO_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "env/env.h"
#include "nn/mlp.h"
#include "nn/policy.h"
#include "common/transition.h"

/* X(name, unit, help): what one update reports (progress.csv columns, the learner's stats) */
#define MPO_METRICS(X)                                                                              \
    X(critic_loss, "loss", "mean over the batch of (Q1 - y)^2 + (Q2 - y)^2")                         \
    X(policy_loss, "loss", "M-step loss: weighted negative log-likelihood plus the KL terms")        \
    X(temperature, "dual", "E-step temperature eta")                                                \
    X(temperature_penalty, "dual", "action-penalty temperature (gaussian policy)")                   \
    X(alpha_mean, "dual", "mean over action dimensions of the mean-KL duals")                       \
    X(alpha_stddev, "dual", "mean over action dimensions of the stddev-KL duals")                   \
    X(kl_mean, "nats", "mean over action dimensions of KL_mu")                                      \
    X(kl_stddev, "nats", "mean over action dimensions of KL_sigma")                                 \
    X(kl_estep, "nats", "mean KL of the E-step weights from uniform (held near epsilon)")           \
    X(q_mean, "return", "mean online Q over the batch")                                              \
    X(max_weight, "weight", "mean over states of the largest E-step weight")                        \
    X(actor_grad_norm, "norm", "actor gradient norm before clipping")                               \
    X(critic_grad_norm, "norm", "critic gradient norm before clipping")                             \
    X(sigma_mean, "stddev", "the online policy's sigma on the batch (before any squashing): mean")   \
    X(sigma_min, "stddev", "the online policy's sigma on the batch: smallest")                      \
    X(sigma_max, "stddev", "the online policy's sigma on the batch: largest")                       \
    X(sigma_action, "action units",                                                                 \
      "mean of sigma in the environment's action units at the mean action (sigma * d action/d u)")

#define MPO_METRIC_FIELD(name, unit, help) double name;
typedef struct {
    MPO_METRICS(MPO_METRIC_FIELD)
} mpo_metrics_t;

typedef struct {
    const char *name;
    const char *unit;
    const char *help;
    size_t offset;
} mpo_metric_info_t;
const mpo_metric_info_t *mpo_metric_info(size_t *count);

/* What the update needs and nothing else: sizes, network shape and the loss's constants. A caller
 * with a config_t gets one from mpo_params_from_config; a test or a benchmark may fill it by hand
 * (start from mpo_params_from_config on config_defaults for the defaults). */
typedef struct {
    int obs_dim, act_dim;
    float act_low[ENV_MAX_ACT], act_high[ENV_MAX_ACT]; /* the environment's bounds (action penalty) */
    int hidden, layers;                                 /* per network: actor and both critics */
    int critic_layer_norm;                              /* LayerNorm in the critics' hidden layers */
    policy_type_t policy;
    double min_std;
    double init_stddev; /* > min_std: sigma's head starts there (its biases); 0: like every bias */
    double learning_rate, dual_lr;                      /* Adam step of the networks, of the duals */
    double epsilon, epsilon_mean, epsilon_stddev, epsilon_penalty;
    double init_log_temperature, init_log_alpha_mean, init_log_alpha_stddev; /* free parameters */
    double gamma, tau, grad_clip;
    int target_update_period; /* > 0: hard copies to the targets this often, tau unused; 0: Polyak */
    int n_samples;      /* N: E-step action samples per state */
    int critic_samples; /* M: target-policy samples per next state */
    int batch_size;     /* the most transitions one update takes (scratch is sized for it) */
    uint64_t seed;
    int n_step;         /* transitions span this many steps: the bootstrap discount is gamma^n_step */
    int threads;        /* threads of the update (its own pool; each BLAS call runs on one); 0: 1 */
} mpo_params_t;

/* The learner's keys of cfg and the sizes and bounds of spec (threads 0: the CPUs this process
 * may use). 0, or -MPO_EINVAL with a reason (an
 * unknown policy type). */
int mpo_params_from_config(const config_t *cfg, const env_spec_t *spec, mpo_params_t *out, char *err,
                           size_t errlen);

typedef struct mpo_s mpo_t;

/* A learner with these parameters (copied). NULL and a reason when a size is out of range or
 * memory runs out. */
mpo_t *mpo_new(const mpo_params_t *params, char *err, size_t errlen);
void mpo_destroy(mpo_t **self_p);

/* One update on batch (batch->n <= batch_size transitions, policy-space actions). The same bits at
 * any thread count: the work is split into tasks that write disjoint memory, each BLAS call runs on
 * one thread, and every sum is taken in the same order. 0; or -MPO_EINVAL when a loss, a gradient
 * norm or a dual's gradient is not finite (NaN, infinity: an extreme batch, a diverged critic),
 * and then nothing is changed, not the networks, the targets, the moments, the duals nor the update
 * count. metrics (may be NULL) gets the update's figures either way. */
int mpo_update(mpo_t *self, const transition_batch_t *batch, mpo_metrics_t *metrics);
/* every parameter, target and dual is finite (what may be published or checkpointed) */
bool mpo_params_finite(const mpo_t *self);

void mpo_act(mpo_t *self, float *action, const float *obs, int K, bool deterministic, rng_t *rng);

const mlp_t *mpo_actor_layout(const mpo_t *self);
const float *mpo_actor_params(const mpo_t *self);
size_t mpo_actor_floats(const mpo_t *self);
int64_t mpo_updates(const mpo_t *self);
int mpo_threads(const mpo_t *self);
/* The learner's whole state as views into its own buffers: what a checkpoint must hold to resume
 * bit for bit (learner/checkpoint.c). Writing through the views changes the learner. */
typedef struct {
    int obs_dim, act_dim, hidden, layers;
    policy_type_t policy;
    size_t n_params, n_duals;
    float *params, *target, *adam_m, *adam_v; /* (n_params) each, laid out [actor | Q1 | Q2] */
    float *duals, *dual_m, *dual_v;           /* (n_duals) each, [eta, eta_penalty, alpha_mean (A), alpha_stddev (A)] */
    int64_t *updates;
    rng_t *rng;
} mpo_state_t;
mpo_state_t mpo_state(mpo_t *self);

/* FLOPs of the matrix products of one update at batch size B (what mpo_update executes) */
double mpo_flops_per_update(const mpo_t *self, int B);

#endif
