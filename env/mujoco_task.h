/* mujoco_task: what Gymnasium's MuJoCo locomotion environments (HalfCheetah-v4, Hopper-v4,
 * Walker2d-v4, Ant-v4, Humanoid-v4) have in common, so each environment's file holds only its
 * facts: the model, the reset noise, the reward weights, the position the forward reward
 * differentiates, the health check and the observation.
 *
 * One step, as Gymnasium's v4 environments do it:
 *   p0 = position(state); ctrl = action; mj_step x frame_skip (then mj_rnePostConstraint when the
 *   task reads contact forces); p1 = position(state);
 *   reward = forward_weight * (p1 - p0) / dt + healthy_reward - ctrl_cost_weight * sum(action^2)
 *   terminated = the task has a health check and the new state fails it.
 * The healthy reward is paid on every step, the terminating one included (v4's
 * healthy_reward * (is_healthy or terminate_when_unhealthy), with terminate_when_unhealthy true);
 * the control cost is on the action as passed, before MuJoCo clamps the force. A time limit is
 * env.c's job (truncated, never terminated).
 *
 * A reset is mujoco_env_reset with the task's noise, then the observation. */
#ifndef MPO_MUJOCO_TASK_H
#define MPO_MUJOCO_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "env/mujoco_env.h"

typedef struct {
    env_spec_t spec;
    const char *file;                /* "hopper.xml": the name under MPO_MODEL_DIR */
    const unsigned char *xml;        /* the embedded copy (generated from env/models/<file>) */
    const unsigned int *xml_len;
    int nq, nv, nu;                  /* what a model for this task must have */
    int nbody;                       /* the same, when the observation depends on it; 0: any */
    int frame_skip;
    double reset_noise;              /* qpos += U(-noise, noise); qvel as qvel_noise says */
    mujoco_qvel_noise_t qvel_noise;
    bool contact_forces;             /* read cfrc_ext: mj_rnePostConstraint after every step */
    double forward_weight, ctrl_cost_weight, healthy_reward;
    /* the coordinate whose change over dt is the forward velocity (qpos[0], a body's x, ...) */
    double (*position)(const mjModel *m, const mjData *d);
    /* whether the state is healthy; NULL: the task never terminates */
    bool (*healthy)(const mjModel *m, const mjData *d);
    /* the observation (spec.obs_dim floats) of the state */
    void (*observe)(const mjModel *m, const mjData *d, float *obs);
} mujoco_task_t;

/* The terms of the reward of an instance's last step (zero before its first). */
typedef struct {
    double velocity;       /* (p1 - p0) / dt, before the forward weight */
    double ctrl_cost;      /* sum(action^2), before the weight */
    double healthy_reward; /* paid on every step */
    bool healthy;          /* the health check on the new state (true without one) */
} mujoco_task_terms_t;

/* An instance (the state behind an env_ops_t): loads or shares the model, checks its sizes against
 * the task's. NULL with one line "<name>: <reason>" in err. */
void *mujoco_task_new(const mujoco_task_t *task, char *err, size_t errlen);
void mujoco_task_destroy(void *state);
void mujoco_task_reset(void *state, uint64_t seed, float *obs);
void mujoco_task_reset_next(void *state, float *obs);
float mujoco_task_step(void *state, const float *action, float *obs, bool *terminated);

/* The instance's simulation (tests set states by hand through it) and its last step's terms. */
mujoco_env_t *mujoco_task_sim(void *state);
mujoco_task_terms_t mujoco_task_terms(const void *state);

/* The env_ops_t of a task, given its create function (env_ops_t's create takes no argument:
 * each environment's file wraps mujoco_task_new(&its_task, ...)). */
#define MUJOCO_TASK_OPS(task, create_fn)                                                                   \
    {                                                                                                      \
        .spec = &(task).spec, .create = (create_fn), .destroy = mujoco_task_destroy,                       \
        .reset = mujoco_task_reset, .reset_next = mujoco_task_reset_next, .step = mujoco_task_step,        \
    }

/* The tasks (one file each), for tests: their health checks and observations on hand-set states. */
extern const mujoco_task_t half_cheetah_task;
extern const mujoco_task_t hopper_task;
extern const mujoco_task_t walker2d_task;
extern const mujoco_task_t ant_task;
extern const mujoco_task_t humanoid_task;

#endif
