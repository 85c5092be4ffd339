/* actor: the actor role (`mpo actor`): num_envs environments, one batched policy forward for all,
 * transitions to the replay server under credit-based flow control, weights from the learner. */
#ifndef MPO_ACTOR_H
#define MPO_ACTOR_H

#include "common/config.h"

/* Run until *stop becomes non-zero. 0 on a clean stop, or a negative code from common/error.h after
 * logging why (-MPO_EREFUSED: the replay server refuses this actor for good). */
int actor_run(const config_t *cfg, volatile int *stop);

#endif
