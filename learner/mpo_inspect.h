/* mpo_inspect: views into the learner's last update, for the tests that pin how the update wires
 * the losses together (the bootstrap target, where the E-step samples come from, the actor's
 * gradient end to end). Not for the roles: they use learner/mpo.h only. */
#ifndef MPO_INSPECT_H
#define MPO_INSPECT_H

#include "common/transition.h"
#include "learner/mpo.h"

/* valid until the next update; B is the last batch's size */
typedef struct {
    const float *y;                     /* (B) the critics' regression target */
    const float *eps_next, *u_next, *a_next; /* (B*M, A) the critic target's samples at next_obs */
    const float *eps, *u, *a;           /* (B*N, A) the E-step's samples at obs */
    const float *q;                     /* (B*N) their min target Q */
    const float *w;                     /* (B*N) their E-step weights */
    const float *mu_t, *sigma_t;        /* (2B, A) the target policy: next_obs rows, then obs rows */
    int n_samples, critic_samples;      /* N, M */
    float gamma_n;                      /* the bootstrap's discount, gamma^n_step */
} mpo_inspect_t;

mpo_inspect_t mpo_inspect(const mpo_t *self);

/* The M-step loss at actor_params (n_actor floats, the actor's layout) on the last update's
 * weighted samples and the current duals, and its gradient into grad (n_actor): the path the
 * update takes, for finite differences. */
double mpo_actor_loss_grad(mpo_t *self, const float *actor_params, const transition_batch_t *batch, float *grad);

#endif
