/* nstep: n-step transitions from the one-step transitions of K environments.
 *
 * The transition from s_t keeps a_t, the discounted sum R = sum_{i<n} gamma^i r_{t+i}, and the
 * state s_{t+n} it bootstraps from with gamma^n (the learner's discount for n-step transitions).
 * An episode that terminates within the window ends it: its transitions carry the sum up to the
 * terminal reward and d = 1, with nothing to bootstrap. An episode that is truncated (a time limit)
 * ends its open windows too, with d = 0: their last k < n transitions bootstrap from the final state
 * with gamma^n where gamma^k would be exact (a transition cannot carry its own discount). That is
 * n-1 transitions of each truncated episode, each off by a fraction 1 - gamma^(n-k) of one value
 * (3% for n = 3, gamma 0.99, k = 1); dropping them instead would lose the episode's last steps and
 * the row its record rides on. With n = 1 every transition passes through unchanged. */
#ifndef MPO_NSTEP_H
#define MPO_NSTEP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/transition.h"
#include "env/vec_env.h"

#define NSTEP_MAX 64

typedef struct nstep_s nstep_t;

/* n in 1..NSTEP_MAX. NULL with a reason. */
nstep_t *nstep_new(int n, int K, int obs_dim, int act_dim, double gamma, char *err, size_t errlen);
void nstep_destroy(nstep_t **self_p);

/* the most rows one push can emit: K * n */
int nstep_max_out(const nstep_t *self);
/* Take one step of the K environments; write the transitions it completes into rows out->n ..
 * of out (which has room for nstep_max_out more) and add them to out->n. Returns how many. For each
 * row written, env (may be NULL) gets its environment and last (may be NULL) whether it is the last
 * transition of an episode that ended at this step. */
int nstep_push(nstep_t *self, const vec_env_step_t *step, transition_batch_t *out, int *env, bool *last);

#endif
