/* mpo_internal: the learner's state, shared by the files of learner/ that implement mpo.h (the
 * update in mpo.c, the views and FLOP count in mpo_views.c). Nothing outside learner/mpo*.c
 * includes it: everyone else sees the opaque mpo_t of learner/mpo.h. */
#ifndef MPO_INTERNAL_H
#define MPO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/pool.h"
#include "common/rng.h"
#include "env/env.h"
#include "learner/mpo.h"
#include "nn/mlp.h"
#include "nn/optim.h"
#include "nn/policy.h"

struct mpo_s {
    int S, A, B, N, M;
    policy_type_t type;
    float act_low[ENV_MAX_ACT], act_high[ENV_MAX_ACT];
    float min_std, gamma, tau, grad_clip;
    int target_update_period; /* > 0: the targets are copies, refreshed this often (tau is 0) */
    double epsilon, epsilon_mean, epsilon_stddev, epsilon_penalty;
    adam_config_t adam, dual_adam;

    mlp_t actor, critic;
    size_t n_actor, n_critic, n_params; /* n_params = n_actor + 2 n_critic */
    size_t q1_off, q2_off;
    /* one layout: [actor | critic 1 | critic 2] */
    float *params, *grads, *adam_m, *adam_v, *target;
    /* duals: [eta, eta_penalty, alpha_mean (A), alpha_stddev (A)] */
    int n_duals;
    float *duals, *dual_grads, *dual_m, *dual_v;
    int64_t updates;
    rng_t rng;
    pool_t *pool;

    /* scratch, sized once for B, N, M */
    float *xsa;                  /* (B, S+A) [obs | action] */
    float *tgt_in, *tgt_acts;    /* (2B, S) [next_obs; obs], actor cache of 2B rows */
    float *mu_t, *sigma_t;       /* (2B, A): first B rows for next_obs, next B for obs */
    float *eps, *eps_next;       /* (B*N, A), (B*M, A) standard normals */
    float *u, *a;                /* (B*N, A) E-step samples: pre-squash, policy space */
    float *u_next, *a_next;      /* (B*M, A) target-policy samples at next_obs */
    float *q_next, *q_next2;     /* (B*M) their target Q: min, and the second critic's */
    float *split_scratch;        /* mlp_forward_split's scratch for B states, one per split task */
    size_t split_scratch_floats;
    float *q, *q_other;          /* (B*N) the E-step's target Q: min, and the second critic's */
    float *y;                    /* (B) */
    float *q1_acts, *q2_acts;    /* online critic caches of B rows */
    float *dq1, *dq2;            /* (B) */
    float *w, *w_pen, *cost;     /* (B, N) */
    float *actor_acts, *dactor;  /* actor cache of B rows; (B, 2A) */
    float *mu, *sigma, *dmu, *dsigma; /* (B, A) */
    float *scratch;              /* 2 * max(B rows) * max_width, one per backward task (Q1, Q2, actor) */
    size_t scratch_floats;
    float *block;                /* the one allocation every buffer above is a view into */
};

#endif
