/* evaluator: what an actor started with `--evaluate` (config evaluator = 1) does instead of
 * training. It says Hello as EVALUATOR, inserts nothing, and whenever the newest weights were taken
 * evaluator_every or more learner updates after the last ones it evaluated, runs eval_episodes
 * deterministic episodes (the mean action, the same seeds as the sync trainer's evaluations) and
 * sends the result to the replay server, which shows it in its stats and /metrics and relays it to
 * the learner for its eval.csv: distributed, compose and multi-host runs get evaluated as
 * `mpo train --sync` does. */
#ifndef MPO_ACTOR_EVALUATOR_H
#define MPO_ACTOR_EVALUATOR_H

#include <stdint.h>

#include "common/config.h"
#include "nn/mlp.h"
#include "nn/policy.h"

typedef struct {
    uint64_t every;   /* learner updates between evaluations */
    uint64_t next_at; /* the learner step the next evaluation waits for */
    uint64_t evals;
    double last_return;
} evaluator_t;

void evaluator_init(evaluator_t *self, uint64_t every);
/* New weights (version, taken after learner_step updates) were adopted: when due, evaluate them
 * and send an EvalResult on dealer. 1 when it evaluated, 0 when not due, -1 after logging why. */
int evaluator_on_weights(evaluator_t *self, void *dealer, const config_t *cfg, const mlp_t *net, const float *params,
                         policy_type_t type, uint64_t version, uint64_t learner_step);

#endif
