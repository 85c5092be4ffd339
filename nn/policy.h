/* policy: the Gaussian policy head shared by the learner and the actors.
 *
 * The actor network outputs (B, 2A): the mean mu in the first A columns and a raw scale in the
 * last A, with sigma = softplus(raw) + min_std. Samples u ~ N(mu, sigma) live in "pre-squash"
 * space; the policy-space action is a = tanh(u) for the squashed type (always in [-1, 1]) and
 * a = u for the plain Gaussian type (unbounded; clipped only when turned into an environment
 * action). Replay stores policy-space actions; the environment gets
 * low + (a + 1)(high - low)/2, clipped to [low, high]. Log-probabilities and KLs are those of the
 * Gaussian over u (tanh is a bijection whose Jacobian does not depend on the parameters). */
#ifndef MPO_POLICY_H
#define MPO_POLICY_H

#include <stdbool.h>
#include <math.h>
#include <stddef.h>

#include "nn/mlp.h"
#include "common/rng.h"

typedef enum { POLICY_SQUASHED = 0, POLICY_GAUSSIAN = 1 } policy_type_t;

/* "squashed" / "gaussian" -> type; -1 for anything else */
int policy_type_parse(const char *name);
const char *policy_type_name(policy_type_t type);

static inline float policy_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
static inline float policy_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
/* double versions, for the duals whose free parameters start at 1000 */
double policy_softplus_d(double x);
double policy_sigmoid_d(double x);

/* mu (B, A), sigma (B, A) from a network output (B, 2A) */
void policy_head(float *mu, float *sigma, const float *out, int B, int A, float min_std);

/* log N(u; mu, sigma) summed over the A dimensions */
double policy_gaussian_log_prob(const float *u, const float *mu, const float *sigma, int A);

/* For each of B states, R samples: u (B*R, A) = mu_b + sigma_b * eps, a (B*R, A) its policy-space
 * action. eps (B*R, A) holds standard normals (the caller draws them, so the update's noise is
 * one rng_normal_fill). */
void policy_sample(float *u, float *a, const float *mu, const float *sigma, const float *eps, int B,
                   int R, int A, policy_type_t type);

/* policy-space action (A) -> environment action (A) within [low, high] */
void policy_to_env(float *env_action, const float *a, const float *low, const float *high, int A);
/* environment action -> policy space (the inverse affine map); used for data that arrives in
 * environment units */
void policy_from_env(float *a, const float *env_action, const float *low, const float *high, int A);

/* Acting: for K observations (K, obs_dim) write K policy-space actions (K, A), sampled, or the
 * mean action when deterministic. acts is scratch of mlp_acts_floats(net, K) floats. */
void policy_act(float *action, const mlp_t *net, const float *params, const float *obs, int K,
                policy_type_t type, float min_std, bool deterministic, rng_t *rng, float *acts);

#endif
