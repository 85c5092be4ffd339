/* transition: the batch of transitions (s, a, r, d, s') that crosses the wire, and the one helper
 * that points a batch into a flat block. d is 1 only for a true terminal state; a truncated
 * episode stores d = 0. Actions are policy-space actions (see nn/policy.h). */
#ifndef MPO_TRANSITION_H
#define MPO_TRANSITION_H

#include <stddef.h>

/* A batch of transitions: views into caller-owned arrays. */
typedef struct {
    float *obs;      /* (n, obs_dim) */
    float *action;   /* (n, act_dim) */
    float *reward;   /* (n) */
    float *done;     /* (n) 1 for terminal */
    float *next_obs; /* (n, obs_dim) */
    int n;
} transition_batch_t;

/* floats one transition takes in a flat block */
static inline size_t transition_floats(int obs_dim, int act_dim) { return 2 * (size_t)obs_dim + (size_t)act_dim + 2; }

/* A batch of n transitions over block, laid out obs | action | reward | done | next_obs
 * (n * transition_floats floats). What follows next_obs is the caller's. */
static inline transition_batch_t transition_batch_view(float *block, int n, int obs_dim, int act_dim) {
    size_t S = (size_t)obs_dim * (size_t)n, A = (size_t)act_dim * (size_t)n;
    transition_batch_t b = {.obs = block,
                            .action = block + S,
                            .reward = block + S + A,
                            .done = block + S + A + (size_t)n,
                            .next_obs = block + S + A + 2 * (size_t)n,
                            .n = n};
    return b;
}

#endif
