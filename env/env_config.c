#include "env/env_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "x" (all of them) or "x1,x2,…" (exactly n) into v */
static int s_bounds(const char *key, const char *text, int n, float *v, char *err, size_t errlen) {
    const char *s = text;
    int k = 0;
    while (k < ENV_MAX_ACT) {
        char *end;
        double x = strtod(s, &end);
        if (end == s || !isfinite(x)) {
            snprintf(err, errlen, "%s = '%s': not a number at '%s'", key, text, s);
            return -1;
        }
        v[k++] = (float)x;
        while (*end == ' ')
            end++;
        if (*end == 0)
            break;
        if (*end != ',') {
            snprintf(err, errlen, "%s = '%s': numbers separated by commas", key, text);
            return -1;
        }
        s = end + 1;
    }
    if (k == 1)
        for (int i = 1; i < n; i++)
            v[i] = v[0];
    else if (k != n) {
        snprintf(err, errlen, "%s has %d numbers, act_dim is %d (give one for all, or act_dim)", key, k, n);
        return -1;
    }
    return 0;
}

static int s_external(const config_t *cfg, env_spec_t *out, char *err, size_t errlen) {
    if (cfg->obs_dim < 1 || cfg->act_dim < 1) {
        snprintf(err, errlen, "env external needs obs_dim and act_dim (its actors bring the environment)");
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->name = cfg->env;
    out->obs_dim = (int)cfg->obs_dim;
    out->act_dim = (int)cfg->act_dim;
    out->summary = "an environment an outside actor brings (obs_dim, act_dim, act_low, act_high)";
    if (s_bounds("act_low", cfg->act_low, out->act_dim, out->act_low, err, errlen) != 0 ||
        s_bounds("act_high", cfg->act_high, out->act_dim, out->act_high, err, errlen) != 0)
        return -1;
    for (int k = 0; k < out->act_dim; k++)
        if (!(out->act_low[k] < out->act_high[k])) {
            snprintf(err, errlen, "action %d: act_low %g is not below act_high %g", k, out->act_low[k],
                     out->act_high[k]);
            return -1;
        }
    return 0;
}

int env_spec_from_config(const config_t *cfg, env_spec_t *out, char *err, size_t errlen) {
    if (strcmp(cfg->env, ENV_EXTERNAL) == 0)
        return s_external(cfg, out, err, errlen);
    const env_ops_t *ops = env_find(cfg->env);
    if (ops) {
        *out = *ops->spec;
        if ((cfg->obs_dim && cfg->obs_dim != out->obs_dim) || (cfg->act_dim && cfg->act_dim != out->act_dim)) {
            snprintf(err, errlen, "env %s has obs %d act %d; the configuration says obs_dim %lld act_dim %lld",
                     out->name, out->obs_dim, out->act_dim, cfg->obs_dim, cfg->act_dim);
            return -1;
        }
        return 0;
    }
    int S, A;
    if (env_sizes(cfg->env, &S, &A, err, errlen) != 0)
        return -1;
    if (S > ENV_MAX_OBS || A > ENV_MAX_ACT) {
        snprintf(err, errlen, "env '%s': at most %d observations and %d actions", cfg->env, ENV_MAX_OBS, ENV_MAX_ACT);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->name = cfg->env;
    out->obs_dim = S;
    out->act_dim = A;
    out->max_episode_steps = 1000;
    for (int k = 0; k < A; k++) {
        out->act_low[k] = -1;
        out->act_high[k] = 1;
    }
    return 0;
}
