/* vec_env: K environments stepped together, the way an actor steps them.
 *
 * One step is one batched policy forward over the K current observations (or uniform random
 * actions while there is no policy), each policy-space action mapped into its environment's units,
 * then every instance steps. An episode that ends (terminated or truncated) is recorded (return,
 * length, the recent-episodes ring) and its instance reset at once, continuing its own RNG stream,
 * so the next step acts on the first observation of the next episode. The step reports K
 * transitions (s, a, r, d, s') in which d is 1 only for a true terminal state and s' is the state
 * the step reached, never the reset's: a truncated episode's last transition still bootstraps.
 *
 * Used by the actor role (K = num_envs), `mpo train --sync` (K = 1), `mpo bench env` and
 * evaluation (K = 1, the mean action, an explicit seed per episode). A run is a pure function of
 * its two seeds: environment k starts from env_seed + k * VEC_ENV_SEED_STRIDE, and the action
 * noise is one rng_t seeded with action_seed ^ VEC_ENV_ACTION_SALT. */
#ifndef MPO_VEC_ENV_H
#define MPO_VEC_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/transition.h"
#include "env/env.h"
#include "nn/mlp.h"
#include "nn/policy.h"

/* episodes in the recent-returns ring behind the progress lines' "return (last n)" */
#define VEC_ENV_RECENT_EPISODES 10
/* salt of the action-noise stream ("actor" in ASCII): keeps it apart from the environments' seeds */
#define VEC_ENV_ACTION_SALT 0x6163746f72ULL
/* distance between the reset seeds of neighbouring environments */
#define VEC_ENV_SEED_STRIDE 1000ULL

/* how to act; a NULL policy acts uniformly at random in [-1, 1) policy space */
typedef struct {
    const mlp_t *net;      /* the actor network's layout (nn/policy.h) */
    const float *params;   /* its flat parameters */
    policy_type_t type;
    float min_std;
    bool deterministic;    /* the mean action (evaluation): no random numbers are drawn */
} vec_env_policy_t;

/* What one step did, as views into the vec_env, valid until its next step or reset. */
typedef struct {
    transition_batch_t t;          /* n = K rows: obs acted on, policy-space action, reward, done, next_obs */
    const bool *ended;             /* (K) the episode ended here (terminated or truncated) and was reset */
    const double *episode_return;  /* (K) where ended: the finished episode's return */
    const int *episode_length;     /* (K) where ended: its length in steps */
    int n_ended;                   /* how many ended */
} vec_env_step_t;

typedef struct vec_env_s vec_env_t;

/* K (>= 1) instances of env_name, environment k reset with env_seed + k * VEC_ENV_SEED_STRIDE.
 * NULL with a one-line reason in err (unknown environment, failed model load, out of memory). */
vec_env_t *vec_env_new(const char *env_name, int K, uint64_t env_seed, uint64_t action_seed, char *err,
                       size_t errlen);
void vec_env_destroy(vec_env_t **self_p);

const env_spec_t *vec_env_spec(const vec_env_t *self);
int vec_env_num(const vec_env_t *self);
/* (K, obs_dim): what the next step acts on */
const float *vec_env_obs(const vec_env_t *self);

/* Grow the forward's scratch for net now (the actor, when new weights arrive), so that acting with
 * it cannot fail later. 0, or -MPO_ENOMEM (the scratch stays as it was). */
int vec_env_reserve(vec_env_t *self, const mlp_t *net);
/* Choose the K actions of the next step (policy forward, or random). 0, or -MPO_ENOMEM when the
 * forward's scratch cannot grow to a larger network. */
int vec_env_act(vec_env_t *self, const vec_env_policy_t *policy);
/* Step every instance with the chosen actions, record and reset ended episodes, describe it in out. */
void vec_env_advance(vec_env_t *self, vec_env_step_t *out);
/* vec_env_act then vec_env_advance (the two apart let `mpo bench env` time the forward alone) */
int vec_env_step(vec_env_t *self, const vec_env_policy_t *policy, vec_env_step_t *out);

/* Restart environment k's episode from an explicit seed (evaluation's seed per episode); the
 * unfinished episode is dropped, not recorded. */
void vec_env_reset(vec_env_t *self, int k, uint64_t seed);

/* environment steps taken (K per step) and episodes finished, since vec_env_new */
uint64_t vec_env_steps(const vec_env_t *self);
uint64_t vec_env_episodes(const vec_env_t *self);
/* mean return of the last min(episodes, VEC_ENV_RECENT_EPISODES) episodes (0 when none); *n
 * (may be NULL) gets how many */
double vec_env_recent_mean(const vec_env_t *self, int *n);

#endif
