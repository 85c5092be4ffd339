#include "actor/weights_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"

int weights_check(const Mpo__PolicyWeights *w, const env_spec_t *spec, mlp_t *net, policy_type_t *type, char *reason,
                  size_t reasonlen) {
    const Mpo__PolicyLayout *l = w ? w->layout : NULL;
    int S = spec->obs_dim, A = spec->act_dim, t = -1;
    if (!w || !l)
        snprintf(reason, reasonlen, "not a PolicyWeights with a layout");
    else if (!l->env || strcmp(l->env, spec->name) != 0)
        snprintf(reason, reasonlen, "weights for '%.64s', this actor runs '%s'", l->env ? l->env : "", spec->name);
    else if ((int)l->obs_dim != S || (int)l->act_dim != A)
        snprintf(reason, reasonlen, "weights for obs %u act %u, this actor has obs %d act %d", l->obs_dim,
                 l->act_dim, S, A);
    else if ((t = policy_type_parse(l->policy ? l->policy : "")) < 0)
        snprintf(reason, reasonlen, "unknown policy type '%.32s'", l->policy ? l->policy : "");
    else if (l->hidden < 1 || l->hidden > CONFIG_HIDDEN_MAX || mlp_init(net, S, (int)l->hidden, (int)l->layers, 2 * A) != 0)
        snprintf(reason, reasonlen, "bad network shape hidden %u layers %u", l->hidden, l->layers);
    else if (w->n_params != net->n_params)
        snprintf(reason, reasonlen, "%zu parameters, the layout needs %zu", w->n_params, net->n_params);
    else if (!(l->min_std > 0) || !isfinite(l->min_std))
        snprintf(reason, reasonlen, "min_std %g", l->min_std);
    else {
        for (size_t i = 0; i < w->n_params; i++)
            if (!isfinite(w->params[i])) {
                snprintf(reason, reasonlen, "weights v%llu: parameter %zu is not finite",
                         (unsigned long long)w->version, i);
                return -1;
            }
        *type = (policy_type_t)t;
        return 0;
    }
    return -1;
}
