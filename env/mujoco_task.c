#include "env/mujoco_task.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    mujoco_env_t mj;
    const mujoco_task_t *task;
    mujoco_task_terms_t terms; /* of the last step */
} s_instance_t;

void mujoco_task_destroy(void *state) {
    s_instance_t *self = state;
    if (!self)
        return;
    mujoco_env_free(&self->mj);
    free(self);
}

void *mujoco_task_new(const mujoco_task_t *task, char *err, size_t errlen) {
    const char *name = task->spec.name;
    s_instance_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory creating %s", name);
        return NULL;
    }
    self->task = task;
    const mujoco_env_source_t src = {.file = task->file, .xml = task->xml, .xml_len = *task->xml_len};
    char why[512];
    if (mujoco_env_init(&self->mj, &src, task->frame_skip, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", name, why);
        free(self);
        return NULL;
    }
    self->mj.contact_forces = task->contact_forces;
    const mjModel *m = self->mj.model;
    if (m->nq != task->nq || m->nv != task->nv || m->nu != task->nu || (task->nbody && m->nbody != task->nbody)) {
        char body[64] = "";
        if (task->nbody)
            snprintf(body, sizeof body, " nbody=%d (expected %d)", m->nbody, task->nbody);
        snprintf(err, errlen, "%s: model %s has nq=%d nv=%d nu=%d, expected nq=%d nv=%d nu=%d%s", name,
                 self->mj.source, m->nq, m->nv, m->nu, task->nq, task->nv, task->nu, body);
        mujoco_task_destroy(self);
        return NULL;
    }
    return self;
}

void mujoco_task_reset_next(void *state, float *obs) {
    s_instance_t *self = state;
    mujoco_env_reset(&self->mj, self->task->reset_noise, self->task->qvel_noise);
    self->task->observe(self->mj.model, self->mj.data, obs);
}

void mujoco_task_reset(void *state, uint64_t seed, float *obs) {
    s_instance_t *self = state;
    mujoco_env_reset_seeded(&self->mj, seed, self->task->reset_noise, self->task->qvel_noise);
    self->task->observe(self->mj.model, self->mj.data, obs);
}

float mujoco_task_step(void *state, const float *action, float *obs, bool *terminated) {
    s_instance_t *self = state;
    const mujoco_task_t *task = self->task;
    const mjModel *m = self->mj.model;
    const mjData *d = self->mj.data;
    double p0 = task->position(m, d);
    mujoco_env_step(&self->mj, action);
    double p1 = task->position(m, d);
    double ctrl_cost = 0.0; /* on the action as passed, before MuJoCo clamps the force */
    for (int i = 0; i < task->nu; i++)
        ctrl_cost += (double)action[i] * (double)action[i];
    task->observe(m, d, obs);
    bool healthy = task->healthy ? task->healthy(m, d) : true;
    self->terms = (mujoco_task_terms_t){
        .velocity = (p1 - p0) / self->mj.dt,
        .ctrl_cost = ctrl_cost,
        .healthy_reward = task->healthy_reward,
        .healthy = healthy,
    };
    *terminated = !healthy;
    /* Gymnasium's order: (forward + healthy) - control cost */
    return (float)(task->forward_weight * self->terms.velocity + task->healthy_reward -
                   task->ctrl_cost_weight * ctrl_cost);
}

mujoco_env_t *mujoco_task_sim(void *state) { return &((s_instance_t *)state)->mj; }

mujoco_task_terms_t mujoco_task_terms(const void *state) { return ((const s_instance_t *)state)->terms; }
