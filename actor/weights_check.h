/* weights_check: whether a PolicyWeights message is one this actor can act with: its layout names
 * our environment and sizes, a known policy type and a network shape whose parameter count it
 * carries, a positive min_std, and every parameter finite (a diverged or hostile learner's weights
 * are refused, and the actor keeps acting with what it holds). */
#ifndef MPO_ACTOR_WEIGHTS_CHECK_H
#define MPO_ACTOR_WEIGHTS_CHECK_H

#include <stddef.h>

#include "env/env.h"
#include "nn/mlp.h"
#include "nn/policy.h"
#include "proto/mpo.pb-c.h"

/* 0 with *net and *type set from the layout; -1 with a one-line reason */
int weights_check(const Mpo__PolicyWeights *w, const env_spec_t *spec, mlp_t *net, policy_type_t *type, char *reason,
                  size_t reasonlen);

#endif
