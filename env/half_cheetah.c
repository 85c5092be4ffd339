/* HalfCheetah-v4, as Gymnasium's: MuJoCo state in double, observation in float.
 *
 * The model is env/models/half_cheetah.xml, embedded in the binary by the build (the byte array
 * half_cheetah_xml, generated into build/gen/) or read from $MPO_MODEL_DIR/half_cheetah.xml when
 * that variable is set. The step, reward and reset are env/mujoco_task.h's; this file holds the
 * facts (docs/environments.md). */
#include "env/env.h"
#include "env/mujoco_task.h"

#define HALF_CHEETAH_NQ 9
#define HALF_CHEETAH_NV 9
#define HALF_CHEETAH_NU 6

/* generated from env/models/half_cheetah.xml by the Makefile */
extern const unsigned char half_cheetah_xml[];
extern const unsigned int half_cheetah_xml_len;

static double s_position(const mjModel *m, const mjData *d) {
    (void)m;
    return d->qpos[0]; /* rootx */
}

/* obs (17) = qpos[1:9] (rootz, rooty, 6 joint angles) then qvel[0:9]; x is left out */
static void s_observe(const mjModel *m, const mjData *d, float *obs) {
    (void)m;
    int k = 0;
    for (int i = 1; i < HALF_CHEETAH_NQ; i++)
        obs[k++] = (float)d->qpos[i];
    for (int i = 0; i < HALF_CHEETAH_NV; i++)
        obs[k++] = (float)d->qvel[i];
}

const mujoco_task_t half_cheetah_task = {
    .spec =
        {
            .name = "HalfCheetah-v4",
            .obs_dim = HALF_CHEETAH_NQ - 1 + HALF_CHEETAH_NV,
            .act_dim = HALF_CHEETAH_NU,
            .act_low = {-1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f},
            .act_high = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f},
            .max_episode_steps = 1000,
            .summary = "MuJoCo planar cheetah runs forward; obs 17 (qpos[1:] and qvel), 6 torques in [-1, 1]",
        },
    .file = "half_cheetah.xml",
    .xml = half_cheetah_xml,
    .xml_len = &half_cheetah_xml_len,
    .nq = HALF_CHEETAH_NQ,
    .nv = HALF_CHEETAH_NV,
    .nu = HALF_CHEETAH_NU,
    .frame_skip = 5,
    .reset_noise = 0.1, /* qpos += U(-0.1, 0.1); qvel = 0.1 * N(0, 1) */
    .qvel_noise = MUJOCO_QVEL_NORMAL,
    .forward_weight = 1.0,
    .ctrl_cost_weight = 0.1,
    .healthy_reward = 0.0,
    .position = s_position,
    .healthy = NULL, /* never terminates */
    .observe = s_observe,
};

static void *s_create(char *err, size_t errlen) { return mujoco_task_new(&half_cheetah_task, err, errlen); }

const env_ops_t half_cheetah_ops = MUJOCO_TASK_OPS(half_cheetah_task, s_create);
