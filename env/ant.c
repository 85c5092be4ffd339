/* Ant-v4, as Gymnasium's (default options): a four-legged walker with a free torso, rewarded for
 * moving forward (+x) and for staying up; the episode terminates when the torso leaves the
 * healthy height band (docs/environments.md). MuJoCo state in double, observation in float.
 *
 * v4's defaults: no contact forces in the observation and no contact cost (use_contact_forces
 * False). The model is env/models/ant.xml, embedded in the binary by the build or read from
 * $MPO_MODEL_DIR/ant.xml when that variable is set. The step, reward and reset are
 * env/mujoco_task.h's; this file holds the facts. */
#include "env/env.h"
#include "env/mujoco_task.h"

#include <math.h>

#define ANT_NQ 15
#define ANT_NV 14
#define ANT_NU 8
#define ANT_TORSO 1        /* the torso's body id */
/* the health check (inclusive, on the state after the step) */
#define ANT_MIN_Z 0.2      /* torso height qpos[2] */
#define ANT_MAX_Z 1.0

/* generated from env/models/ant.xml by the Makefile */
extern const unsigned char ant_xml[];
extern const unsigned int ant_xml_len;

/* the torso body's x as the last mj_step left data.xpos (not qpos[0]: with RK4 the two differ
 * inside a step) */
static double s_position(const mjModel *m, const mjData *d) {
    (void)m;
    return d->xpos[3 * ANT_TORSO + 0];
}

/* every qpos and qvel entry finite, and 0.2 <= z <= 1.0 */
static bool s_healthy(const mjModel *m, const mjData *d) {
    (void)m;
    for (int i = 0; i < ANT_NQ; i++)
        if (!isfinite(d->qpos[i]))
            return false;
    for (int i = 0; i < ANT_NV; i++)
        if (!isfinite(d->qvel[i]))
            return false;
    double z = d->qpos[2];
    return ANT_MIN_Z <= z && z <= ANT_MAX_Z;
}

/* obs (27) = qpos[2:15] (torso z, torso quaternion w x y z, 8 joint angles in joint order) then
 * qvel[0:14] (torso linear velocity, angular velocity, 8 joint velocities); not clipped */
static void s_observe(const mjModel *m, const mjData *d, float *obs) {
    (void)m;
    int k = 0;
    for (int i = 2; i < ANT_NQ; i++)
        obs[k++] = (float)d->qpos[i];
    for (int i = 0; i < ANT_NV; i++)
        obs[k++] = (float)d->qvel[i];
}

const mujoco_task_t ant_task = {
    .spec =
        {
            .name = "Ant-v4",
            .obs_dim = ANT_NQ - 2 + ANT_NV,
            .act_dim = ANT_NU,
            .act_low = {-1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f},
            .act_high = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f},
            .max_episode_steps = 1000,
            .summary = "MuJoCo four-legged ant walks forward; terminates outside torso z [0.2, 1]; obs 27, 8 torques in [-1, 1]",
        },
    .file = "ant.xml",
    .xml = ant_xml,
    .xml_len = &ant_xml_len,
    .nq = ANT_NQ,
    .nv = ANT_NV,
    .nu = ANT_NU,
    .frame_skip = 5, /* timestep 0.01: dt 0.05 */
    .reset_noise = 0.1, /* qpos += U(-0.1, 0.1), the quaternion included; qvel = 0.1 * N(0, 1) */
    .qvel_noise = MUJOCO_QVEL_NORMAL,
    .forward_weight = 1.0,
    .ctrl_cost_weight = 0.5,
    .healthy_reward = 1.0,
    .position = s_position,
    .healthy = s_healthy,
    .observe = s_observe,
};

static void *s_create(char *err, size_t errlen) { return mujoco_task_new(&ant_task, err, errlen); }

const env_ops_t ant_ops = MUJOCO_TASK_OPS(ant_task, s_create);
