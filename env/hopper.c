/* Hopper-v4, as Gymnasium's: a one-legged planar hopper rewarded for hopping forward (+x) and for
 * staying up; the episode terminates when it falls (docs/environments.md). MuJoCo state in double,
 * observation in float.
 *
 * The model is env/models/hopper.xml, embedded in the binary by the build or read from
 * $MPO_MODEL_DIR/hopper.xml when that variable is set. The step, reward and reset are
 * env/mujoco_task.h's; this file holds the facts. */
#include "env/env.h"
#include "env/mujoco_task.h"

#include <math.h>

#define HOPPER_NQ 6
#define HOPPER_NV 6
#define HOPPER_NU 3
#define HOPPER_QVEL_CLIP 10.0
/* the health check (all strict, on the state after the step) */
#define HOPPER_MIN_Z 0.7           /* torso height qpos[1] */
#define HOPPER_MAX_Z HUGE_VAL      /* (+inf itself fails, as in Gymnasium) */
#define HOPPER_MAX_ANGLE 0.2       /* |torso pitch qpos[2]| */
#define HOPPER_MAX_STATE 100.0     /* |qpos[2:6]| and |qvel[0:6]| */

/* generated from env/models/hopper.xml by the Makefile */
extern const unsigned char hopper_xml[];
extern const unsigned int hopper_xml_len;

static double s_position(const mjModel *m, const mjData *d) {
    (void)m;
    return d->qpos[0]; /* rootx */
}

static bool s_inside(double v, double lo, double hi) { return lo < v && v < hi; } /* NaN: false */

/* 0.7 < z < inf; -0.2 < pitch < 0.2; qpos[2:6] and qvel[0:6] (unclipped) strictly inside (-100, 100) */
static bool s_healthy(const mjModel *m, const mjData *d) {
    (void)m;
    for (int i = 2; i < HOPPER_NQ; i++)
        if (!s_inside(d->qpos[i], -HOPPER_MAX_STATE, HOPPER_MAX_STATE))
            return false;
    for (int i = 0; i < HOPPER_NV; i++)
        if (!s_inside(d->qvel[i], -HOPPER_MAX_STATE, HOPPER_MAX_STATE))
            return false;
    return s_inside(d->qpos[1], HOPPER_MIN_Z, HOPPER_MAX_Z) && s_inside(d->qpos[2], -HOPPER_MAX_ANGLE, HOPPER_MAX_ANGLE);
}

static double s_clip(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* obs (11) = qpos[1:6] (rootz, rooty, thigh, leg, foot) then clip(qvel[0:6], -10, 10) */
static void s_observe(const mjModel *m, const mjData *d, float *obs) {
    (void)m;
    int k = 0;
    for (int i = 1; i < HOPPER_NQ; i++)
        obs[k++] = (float)d->qpos[i];
    for (int i = 0; i < HOPPER_NV; i++)
        obs[k++] = (float)s_clip(d->qvel[i], -HOPPER_QVEL_CLIP, HOPPER_QVEL_CLIP);
}

const mujoco_task_t hopper_task = {
    .spec =
        {
            .name = "Hopper-v4",
            .obs_dim = HOPPER_NQ - 1 + HOPPER_NV,
            .act_dim = HOPPER_NU,
            .act_low = {-1.0f, -1.0f, -1.0f},
            .act_high = {1.0f, 1.0f, 1.0f},
            .max_episode_steps = 1000,
            .summary = "MuJoCo planar one-legged hopper; terminates when it falls; obs 11, 3 torques in [-1, 1]",
        },
    .file = "hopper.xml",
    .xml = hopper_xml,
    .xml_len = &hopper_xml_len,
    .nq = HOPPER_NQ,
    .nv = HOPPER_NV,
    .nu = HOPPER_NU,
    .frame_skip = 4, /* timestep 0.002: dt 0.008 */
    .reset_noise = 5e-3, /* qpos += U(-0.005, 0.005); qvel = U(-0.005, 0.005) */
    .qvel_noise = MUJOCO_QVEL_UNIFORM,
    .forward_weight = 1.0,
    .ctrl_cost_weight = 1e-3,
    .healthy_reward = 1.0,
    .position = s_position,
    .healthy = s_healthy,
    .observe = s_observe,
};

static void *s_create(char *err, size_t errlen) { return mujoco_task_new(&hopper_task, err, errlen); }

const env_ops_t hopper_ops = MUJOCO_TASK_OPS(hopper_task, s_create);
