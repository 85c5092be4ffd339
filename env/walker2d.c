/* Walker2d-v4, as Gymnasium's: a planar biped rewarded for walking forward (+x) and for staying
 * up; the episode terminates when it falls (docs/environments.md). MuJoCo state in double,
 * observation in float.
 *
 * The model is env/models/walker2d.xml, embedded in the binary by the build or read from
 * $MPO_MODEL_DIR/walker2d.xml when that variable is set. The step, reward and reset are
 * env/mujoco_task.h's; this file holds the facts. */
#include "env/env.h"
#include "env/mujoco_task.h"

#define WALKER2D_NQ 9
#define WALKER2D_NV 9
#define WALKER2D_NU 6
#define WALKER2D_QVEL_CLIP 10.0
/* the health check (strict, on the state after the step); no state-range check */
#define WALKER2D_MIN_Z 0.8         /* torso height qpos[1] */
#define WALKER2D_MAX_Z 2.0
#define WALKER2D_MAX_ANGLE 1.0     /* |torso pitch qpos[2]| */

/* generated from env/models/walker2d.xml by the Makefile */
extern const unsigned char walker2d_xml[];
extern const unsigned int walker2d_xml_len;

static double s_position(const mjModel *m, const mjData *d) {
    (void)m;
    return d->qpos[0]; /* rootx */
}

/* 0.8 < z < 2 and -1 < pitch < 1 (a NaN fails) */
static bool s_healthy(const mjModel *m, const mjData *d) {
    (void)m;
    double z = d->qpos[1], angle = d->qpos[2];
    return WALKER2D_MIN_Z < z && z < WALKER2D_MAX_Z && -WALKER2D_MAX_ANGLE < angle && angle < WALKER2D_MAX_ANGLE;
}

static double s_clip(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* obs (17) = qpos[1:9] (rootz, rooty, 6 joint angles) then clip(qvel[0:9], -10, 10) */
static void s_observe(const mjModel *m, const mjData *d, float *obs) {
    (void)m;
    int k = 0;
    for (int i = 1; i < WALKER2D_NQ; i++)
        obs[k++] = (float)d->qpos[i];
    for (int i = 0; i < WALKER2D_NV; i++)
        obs[k++] = (float)s_clip(d->qvel[i], -WALKER2D_QVEL_CLIP, WALKER2D_QVEL_CLIP);
}

const mujoco_task_t walker2d_task = {
    .spec =
        {
            .name = "Walker2d-v4",
            .obs_dim = WALKER2D_NQ - 1 + WALKER2D_NV,
            .act_dim = WALKER2D_NU,
            .act_low = {-1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f},
            .act_high = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f},
            .max_episode_steps = 1000,
            .summary = "MuJoCo planar biped walks forward; terminates when it falls; obs 17, 6 torques in [-1, 1]",
        },
    .file = "walker2d.xml",
    .xml = walker2d_xml,
    .xml_len = &walker2d_xml_len,
    .nq = WALKER2D_NQ,
    .nv = WALKER2D_NV,
    .nu = WALKER2D_NU,
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

static void *s_create(char *err, size_t errlen) { return mujoco_task_new(&walker2d_task, err, errlen); }

const env_ops_t walker2d_ops = MUJOCO_TASK_OPS(walker2d_task, s_create);
