#include "actor/evaluator.h"

#include <inttypes.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "env/evaluate.h"

void evaluator_init(evaluator_t *self, uint64_t every) {
    *self = (evaluator_t){.every = every ? every : 1, .next_at = every};
}

int evaluator_on_weights(evaluator_t *self, void *dealer, const config_t *cfg, const mlp_t *net, const float *params,
                         policy_type_t type, uint64_t version, uint64_t learner_step) {
    if (learner_step < self->next_at)
        return 0;
    char err[512];
    double mean = 0, std = 0, t0 = clock_now();
    if (evaluate_policy(&mean, &std, cfg->env, net, params, type, (int)cfg->eval_episodes,
                        (uint64_t)cfg->seed + EVALUATE_SEED_OFFSET, err, sizeof err) != 0) {
        log_error("evaluation: %s", err);
        return -1;
    }
    self->next_at = (learner_step / self->every + 1) * self->every;
    self->evals++;
    self->last_return = mean;
    log_info("evaluation of weights v%" PRIu64 " (%" PRIu64 " updates): return %.2f ± %.2f over %lld episodes "
             "in %.1f s",
             version, learner_step, mean, std, cfg->eval_episodes, clock_now() - t0);
    Mpo__EvalResult e = MPO__EVAL_RESULT__INIT;
    e.policy_version = version;
    e.learner_step = learner_step;
    e.mean_return = (float)mean;
    e.std_return = (float)std;
    e.episodes = (uint32_t)cfg->eval_episodes;
    Mpo__Message m;
    wire_init_message(&m);
    m.body_case = MPO__MESSAGE__BODY_EVAL_RESULT;
    m.eval_result = &e;
    if (wire_send(dealer, NULL, 0, &m, ZMQ_DONTWAIT) != 0)
        log_warn("evaluation not sent to the replay server: %s", zmq_strerror(zmq_errno()));
    return 1;
}
