/* mpo_params: the update's parameters from the configuration (learner/mpo.h) */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/pool.h"
#include "learner/mpo.h"

int mpo_params_from_config(const config_t *cfg, const env_spec_t *spec, mpo_params_t *out, char *err,
                           size_t errlen) {
    int policy = policy_type_parse(cfg->policy);
    if (policy < 0) {
        snprintf(err, errlen, "unknown policy type '%s'", cfg->policy);
        return -MPO_EINVAL;
    }
    memset(out, 0, sizeof *out);
    out->obs_dim = spec->obs_dim;
    out->act_dim = spec->act_dim;
    memcpy(out->act_low, spec->act_low, sizeof out->act_low);
    memcpy(out->act_high, spec->act_high, sizeof out->act_high);
    out->hidden = (int)cfg->hidden;
    out->layers = (int)cfg->layers;
    out->critic_layer_norm = (int)cfg->critic_layer_norm;
    out->policy = (policy_type_t)policy;
    out->min_std = cfg->min_std;
    if (cfg->init_stddev != 0 && !(cfg->init_stddev > cfg->min_std)) {
        snprintf(err, errlen, "init_stddev %g must be above min_std %g (or 0)", cfg->init_stddev, cfg->min_std);
        return -MPO_EINVAL;
    }
    out->init_stddev = cfg->init_stddev;
    out->learning_rate = cfg->learning_rate;
    out->dual_lr = cfg->dual_lr;
    out->epsilon = cfg->epsilon;
    out->epsilon_mean = cfg->epsilon_mean;
    out->epsilon_stddev = cfg->epsilon_stddev;
    out->epsilon_penalty = cfg->epsilon_penalty;
    out->init_log_temperature = cfg->init_log_temperature;
    out->init_log_alpha_mean = cfg->init_log_alpha_mean;
    out->init_log_alpha_stddev = cfg->init_log_alpha_stddev;
    out->gamma = cfg->gamma;
    out->tau = cfg->tau;
    out->target_update_period = (int)cfg->target_update_period;
    out->grad_clip = cfg->grad_clip;
    out->n_samples = (int)cfg->n_action_samples;
    out->critic_samples = (int)cfg->critic_action_samples;
    out->batch_size = (int)cfg->batch_size;
    out->seed = (uint64_t)cfg->seed;
    out->n_step = (int)cfg->n_step;
    out->threads = cfg->threads > 0 ? (int)cfg->threads : pool_available_cpus();
    return 0;
}
