#include "env/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

struct env_s {
    const env_ops_t *ops;
    void *state;
    int elapsed; /* steps in the current episode, for the time limit */
};

static const env_ops_t *const s_registry[] = {
    &pendulum_ops,
    &half_cheetah_ops,
    &hopper_ops,
    &walker2d_ops,
    &ant_ops,
    &humanoid_ops,
    NULL,
};

const env_ops_t *const *env_registry(void) { return s_registry; }

const env_ops_t *env_find(const char *name) {
    for (int i = 0; s_registry[i]; i++)
        if (strcmp(s_registry[i]->spec->name, name) == 0)
            return s_registry[i];
    return NULL;
}

int env_sizes(const char *name, int *obs_dim, int *act_dim, char *err, size_t errlen) {
    size_t plen = strlen(ENV_BENCH_PREFIX);
    if (strncmp(name, ENV_BENCH_PREFIX, plen) == 0) {
        int obs, act;
        char tail; /* anything after ACT makes the name wrong, not silently shorter */
        if (sscanf(name + plen, "%d:%d%c", &obs, &act, &tail) != 2 || obs < 1 || act < 1 || obs > ENV_BENCH_MAX_DIM ||
            act > ENV_BENCH_MAX_DIM) {
            snprintf(err, errlen, "env '%s': the bench form is bench:OBS:ACT with positive sizes", name);
            return -MPO_EINVAL;
        }
        *obs_dim = obs;
        *act_dim = act;
        return 0;
    }
    const env_ops_t *ops = env_find(name);
    if (!ops) {
        snprintf(err, errlen, "unknown environment '%s' (`mpo envs` lists them)", name);
        return -MPO_ENOENV;
    }
    *obs_dim = ops->spec->obs_dim;
    *act_dim = ops->spec->act_dim;
    return 0;
}

env_t *env_new(const char *name, char *err, size_t errlen) {
    const env_ops_t *ops = env_find(name);
    if (!ops) {
        char known[256] = "";
        for (int i = 0; s_registry[i]; i++) {
            if (i)
                strncat(known, ", ", sizeof known - strlen(known) - 1);
            strncat(known, s_registry[i]->spec->name, sizeof known - strlen(known) - 1);
        }
        snprintf(err, errlen, "unknown environment '%s' (known: %s)", name, known);
        return NULL;
    }
    void *state = ops->create(err, errlen);
    if (!state)
        return NULL;
    env_t *self = calloc(1, sizeof *self);
    if (!self) {
        ops->destroy(state);
        snprintf(err, errlen, "out of memory creating environment '%s'", name);
        return NULL;
    }
    self->ops = ops;
    self->state = state;
    return self;
}

void env_destroy(env_t **self_p) {
    if (!self_p || !*self_p)
        return;
    env_t *self = *self_p;
    self->ops->destroy(self->state);
    free(self);
    *self_p = NULL;
}

const env_spec_t *env_spec(const env_t *self) { return self->ops->spec; }

void env_reset(env_t *self, uint64_t seed, float *obs) {
    self->elapsed = 0;
    self->ops->reset(self->state, seed, obs);
}

void env_reset_next(env_t *self, float *obs) {
    self->elapsed = 0;
    self->ops->reset_next(self->state, obs);
}

float env_step(env_t *self, const float *action, float *obs, bool *terminated, bool *truncated) {
    bool term = false;
    float r = self->ops->step(self->state, action, obs, &term);
    self->elapsed++;
    *terminated = term;
    /* A time limit is a truncation, never a terminal state: the learner bootstraps through it. The
     * two are independent, as in Gymnasium: a state that fails its health check at the time limit
     * is both (and terminal: d = 1 follows terminated alone). */
    *truncated = self->elapsed >= self->ops->spec->max_episode_steps;
    return r;
}

int env_elapsed(const env_t *self) { return self->elapsed; }

void *env_state(env_t *self) { return self->state; }
