#include "env/vec_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"

struct vec_env_s {
    const env_spec_t *spec;
    int K, S, A;
    env_t **envs;          /* (K) */
    float *cur;            /* (K, S) what the next step acts on: next_obs, or a reset's first obs */
    float *block;          /* the last step's transitions, transition_batch_view layout */
    transition_batch_t t;  /* its view, n = K */
    bool *ended;           /* (K) */
    double *ep_return;     /* (K) of the running episode */
    int *ep_length;        /* (K) */
    double *done_return;   /* (K) of the episode that ended in the last step */
    int *done_length;      /* (K) */
    rng_t rng;             /* action noise */
    float *acts;           /* forward scratch, mlp_acts_floats(net, K) */
    size_t acts_cap;
    uint64_t steps, episodes;
    double recent[VEC_ENV_RECENT_EPISODES];
};

vec_env_t *vec_env_new(const char *env_name, int K, uint64_t env_seed, uint64_t action_seed, char *err,
                       size_t errlen) {
    const env_ops_t *ops = env_find(env_name);
    if (!ops) {
        snprintf(err, errlen, "unknown environment '%s' (`mpo envs` lists them)", env_name);
        return NULL;
    }
    if (K < 1) {
        snprintf(err, errlen, "%d environments (at least 1)", K);
        return NULL;
    }
    vec_env_t *self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    self->spec = ops->spec;
    self->K = K;
    int S = self->S = ops->spec->obs_dim, A = self->A = ops->spec->act_dim;
    self->envs = calloc((size_t)K, sizeof *self->envs);
    self->cur = malloc((size_t)K * S * sizeof(float));
    self->block = malloc((size_t)K * transition_floats(S, A) * sizeof(float));
    self->ended = calloc((size_t)K, sizeof *self->ended);
    self->ep_return = calloc((size_t)K, sizeof(double));
    self->ep_length = calloc((size_t)K, sizeof(int));
    self->done_return = calloc((size_t)K, sizeof(double));
    self->done_length = calloc((size_t)K, sizeof(int));
    if (!self->envs || !self->cur || !self->block || !self->ended || !self->ep_return || !self->ep_length ||
        !self->done_return || !self->done_length)
        goto oom;
    self->t = transition_batch_view(self->block, K, S, A);
    rng_seed(&self->rng, action_seed ^ VEC_ENV_ACTION_SALT);
    for (int k = 0; k < K; k++) {
        if (!(self->envs[k] = env_new(env_name, err, errlen))) {
            vec_env_destroy(&self);
            return NULL;
        }
        env_reset(self->envs[k], env_seed + (uint64_t)k * VEC_ENV_SEED_STRIDE, self->cur + (size_t)k * S);
    }
    return self;
oom:
    snprintf(err, errlen, "out of memory for %d x %s", K, env_name);
    vec_env_destroy(&self);
    return NULL;
}

void vec_env_destroy(vec_env_t **self_p) {
    vec_env_t *self = *self_p;
    if (!self)
        return;
    if (self->envs)
        for (int k = 0; k < self->K; k++)
            env_destroy(&self->envs[k]);
    free(self->envs);
    free(self->cur);
    free(self->block);
    free(self->ended);
    free(self->ep_return);
    free(self->ep_length);
    free(self->done_return);
    free(self->done_length);
    free(self->acts);
    free(self);
    *self_p = NULL;
}

const env_spec_t *vec_env_spec(const vec_env_t *self) { return self->spec; }
int vec_env_num(const vec_env_t *self) { return self->K; }
const float *vec_env_obs(const vec_env_t *self) { return self->cur; }
uint64_t vec_env_steps(const vec_env_t *self) { return self->steps; }
uint64_t vec_env_episodes(const vec_env_t *self) { return self->episodes; }

int vec_env_reserve(vec_env_t *self, const mlp_t *net) {
    size_t need = mlp_acts_floats(net, self->K);
    if (need > self->acts_cap) {
        /* only when the network grows: once per run in practice */
        float *a = realloc(self->acts, need * sizeof(float));
        if (!a)
            return -MPO_ENOMEM;
        self->acts = a;
        self->acts_cap = need;
    }
    return 0;
}

int vec_env_act(vec_env_t *self, const vec_env_policy_t *policy) {
    int K = self->K;
    float *obs = self->t.obs, *action = self->t.action;
    /* the rows acted on are kept as the transitions' s: cur is overwritten by the step */
    memcpy(obs, self->cur, (size_t)K * self->S * sizeof(float));
    if (!policy) {
        for (int i = 0; i < K * self->A; i++)
            action[i] = (float)rng_uniform_range(&self->rng, -1.0, 1.0);
        return 0;
    }
    int rc = vec_env_reserve(self, policy->net);
    if (rc != 0)
        return rc;
    policy_act(action, policy->net, policy->params, obs, K, policy->type, policy->min_std, policy->deterministic,
               &self->rng, self->acts);
    return 0;
}

void vec_env_advance(vec_env_t *self, vec_env_step_t *out) {
    int S = self->S, A = self->A, K = self->K;
    const env_spec_t *spec = self->spec;
    transition_batch_t *t = &self->t;
    int n_ended = 0;
    for (int k = 0; k < K; k++) {
        float ea[ENV_MAX_ACT];
        float *no = t->next_obs + (size_t)k * S, *cur = self->cur + (size_t)k * S;
        policy_to_env(ea, t->action + (size_t)k * A, spec->act_low, spec->act_high, A);
        bool term, trunc;
        float r = env_step(self->envs[k], ea, no, &term, &trunc);
        t->reward[k] = r;
        t->done[k] = term ? 1.0f : 0.0f; /* truncation is not a terminal state */
        self->ep_return[k] += r;
        self->ep_length[k]++;
        self->ended[k] = term || trunc;
        if (self->ended[k]) {
            self->done_return[k] = self->ep_return[k];
            self->done_length[k] = self->ep_length[k];
            self->recent[self->episodes % VEC_ENV_RECENT_EPISODES] = self->ep_return[k];
            self->episodes++;
            self->ep_return[k] = 0;
            self->ep_length[k] = 0;
            n_ended++;
            env_reset_next(self->envs[k], cur);
        } else {
            memcpy(cur, no, (size_t)S * sizeof(float));
        }
    }
    self->steps += (uint64_t)K;
    out->t = *t;
    out->ended = self->ended;
    out->episode_return = self->done_return;
    out->episode_length = self->done_length;
    out->n_ended = n_ended;
}

int vec_env_step(vec_env_t *self, const vec_env_policy_t *policy, vec_env_step_t *out) {
    int rc = vec_env_act(self, policy);
    if (rc != 0)
        return rc;
    vec_env_advance(self, out);
    return 0;
}

void vec_env_reset(vec_env_t *self, int k, uint64_t seed) {
    MPO_ASSERT(k >= 0 && k < self->K);
    env_reset(self->envs[k], seed, self->cur + (size_t)k * self->S);
    self->ep_return[k] = 0;
    self->ep_length[k] = 0;
}

double vec_env_recent_mean(const vec_env_t *self, int *n_out) {
    int n = self->episodes < VEC_ENV_RECENT_EPISODES ? (int)self->episodes : VEC_ENV_RECENT_EPISODES;
    double mean = 0;
    for (int i = 0; i < n; i++)
        mean += self->recent[i];
    mean = n ? mean / n : 0;
    if (n_out)
        *n_out = n;
    return mean;
}
