/* evaluate: deterministic evaluation of an actor (mean action), on its own environment instances
 * and seeds, so evaluating never disturbs a training run's random streams. */
#ifndef MPO_EVALUATE_H
#define MPO_EVALUATE_H

#include <stdint.h>

#include "nn/mlp.h"
#include "nn/policy.h"

/* evaluation's seeds are a stream of their own, this far from the training run's seed (the sync
 * trainer's periodic evaluations and `mpo train`'s final one use the same) */
#define EVALUATE_SEED_OFFSET 1000003ULL

/* Mean return over `episodes` episodes of env_name with the mean action; episode e is reset with
 * seed + e. std_out (may be NULL) gets the standard deviation. 0, or -1 with a reason. */
int evaluate_policy(double *mean_out, double *std_out, const char *env_name, const mlp_t *net,
                    const float *params, policy_type_t type, int episodes, uint64_t seed, char *err,
                    size_t errlen);

#endif
