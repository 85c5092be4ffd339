#include "env/evaluate.h"

#include <math.h>
#include <stdlib.h>

#include "env/env.h"

int evaluate_policy(double *mean_out, double *std_out, const char *env_name, const mlp_t *net,
                    const float *params, policy_type_t type, int episodes, uint64_t seed, char *err,
                    size_t errlen) {
    env_t *env = env_new(env_name, err, errlen);
    if (!env)
        return -1;
    const env_spec_t *spec = env_spec(env);
    float obs[ENV_MAX_OBS], a[ENV_MAX_ACT], ea[ENV_MAX_ACT];
    float *acts = malloc(mlp_acts_floats(net, 1) * sizeof(float));
    double sum = 0, sum2 = 0;
    for (int e = 0; e < episodes; e++) {
        env_reset(env, seed + (uint64_t)e, obs);
        double ret = 0;
        bool term = false, trunc = false;
        while (!term && !trunc) {
            /* min_std and rng are unused for the mean action */
            policy_act(a, net, params, obs, 1, type, 0.0f, true, NULL, acts);
            policy_to_env(ea, a, spec->act_low, spec->act_high, spec->act_dim);
            ret += env_step(env, ea, obs, &term, &trunc);
        }
        sum += ret;
        sum2 += ret * ret;
    }
    free(acts);
    env_destroy(&env);
    double mean = episodes ? sum / episodes : 0;
    *mean_out = mean;
    if (std_out)
        *std_out = episodes ? sqrt(fmax(0.0, sum2 / episodes - mean * mean)) : 0;
    return 0;
}
