#include "env/evaluate.h"

#include <math.h>
#include <stdio.h>

#include "common/error.h"
#include "env/vec_env.h"

int evaluate_policy(double *mean_out, double *std_out, const char *env_name, const mlp_t *net,
                    const float *params, policy_type_t type, int episodes, uint64_t seed, char *err,
                    size_t errlen) {
    /* one environment, one episode after another: a batch of one keeps each forward the same
     * matrix product whatever the number of episodes, so the figures do not depend on it */
    vec_env_t *venv = vec_env_new(env_name, 1, seed, 0, err, errlen);
    if (!venv)
        return -1;
    /* min_std is unused for the mean action, and no random number is drawn */
    vec_env_policy_t policy = {.net = net, .params = params, .type = type, .min_std = 0.0f, .deterministic = true};
    double sum = 0, sum2 = 0;
    int rc = 0;
    for (int e = 0; e < episodes && rc == 0; e++) {
        vec_env_reset(venv, 0, seed + (uint64_t)e);
        vec_env_step_t st = {.n_ended = 0};
        while (rc == 0 && st.n_ended == 0)
            rc = vec_env_step(venv, &policy, &st);
        double ret = st.n_ended ? st.episode_return[0] : 0;
        sum += ret;
        sum2 += ret * ret;
    }
    vec_env_destroy(&venv);
    if (rc != 0) {
        snprintf(err, errlen, "%s for the policy forward", mpo_strerror(rc));
        return -1;
    }
    double mean = episodes ? sum / episodes : 0;
    *mean_out = mean;
    if (std_out)
        *std_out = episodes ? sqrt(fmax(0.0, sum2 / episodes - mean * mean)) : 0;
    return 0;
}
