/* Humanoid-v4, as Gymnasium's: a 3-D humanoid rewarded for moving its centre of mass forward (+x)
 * and for staying up; the episode terminates when the torso leaves the healthy height band
 * (docs/environments.md). MuJoCo state in double, observation in float.
 *
 * The observation reads cinert, cvel, qfrc_actuator and cfrc_ext, so every step ends with
 * mj_rnePostConstraint (cfrc_ext); a reset does not call it, so the reset observation's contact
 * forces are zero, as in Gymnasium. v4 has no contact cost. The model is env/models/humanoid.xml,
 * embedded in the binary by the build or read from $MPO_MODEL_DIR/humanoid.xml when that variable
 * is set. The step, reward and reset are env/mujoco_task.h's; this file holds the facts. */
#include "env/env.h"
#include "env/mujoco_task.h"

#define HUMANOID_NQ 24
#define HUMANOID_NV 23
#define HUMANOID_NU 17
#define HUMANOID_NBODY 14
/* qpos[2:] + qvel + cinert + cvel + qfrc_actuator + cfrc_ext */
#define HUMANOID_OBS (HUMANOID_NQ - 2 + HUMANOID_NV + 10 * HUMANOID_NBODY + 6 * HUMANOID_NBODY + HUMANOID_NV + \
                      6 * HUMANOID_NBODY)
/* the health check (strict, on the state after the step) */
#define HUMANOID_MIN_Z 1.0 /* torso height qpos[2] */
#define HUMANOID_MAX_Z 2.0

/* generated from env/models/humanoid.xml by the Makefile */
extern const unsigned char humanoid_xml[];
extern const unsigned int humanoid_xml_len;

/* the x of the whole-body centre of mass, sum_b m_b * xipos_b / sum_b m_b over every body (the
 * world's mass is 0), from data.xipos as the last mj_step left it */
static double s_position(const mjModel *m, const mjData *d) {
    double mx = 0, mass = 0;
    for (int b = 0; b < m->nbody; b++) {
        mx += m->body_mass[b] * d->xipos[3 * b + 0];
        mass += m->body_mass[b];
    }
    return mx / mass;
}

/* 1 < z < 2 (a NaN fails) */
static bool s_healthy(const mjModel *m, const mjData *d) {
    (void)m;
    double z = d->qpos[2];
    return HUMANOID_MIN_Z < z && z < HUMANOID_MAX_Z;
}

static int s_copy(float *obs, const mjtNum *src, int n) {
    for (int i = 0; i < n; i++)
        obs[i] = (float)src[i];
    return n;
}

/* obs (376) = qpos[2:24] (torso z, torso quaternion, 17 joint angles), qvel (23), cinert (14 x 10),
 * cvel (14 x 6), qfrc_actuator (23), cfrc_ext (14 x 6), bodies in model order (the world first) */
static void s_observe(const mjModel *m, const mjData *d, float *obs) {
    int k = 0;
    k += s_copy(obs + k, d->qpos + 2, HUMANOID_NQ - 2);
    k += s_copy(obs + k, d->qvel, HUMANOID_NV);
    k += s_copy(obs + k, d->cinert, 10 * m->nbody);
    k += s_copy(obs + k, d->cvel, 6 * m->nbody);
    k += s_copy(obs + k, d->qfrc_actuator, HUMANOID_NV);
    s_copy(obs + k, d->cfrc_ext, 6 * m->nbody);
}

const mujoco_task_t humanoid_task = {
    .spec =
        {
            .name = "Humanoid-v4",
            .obs_dim = HUMANOID_OBS,
            .act_dim = HUMANOID_NU,
            .act_low = {-0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f, -0.4f,
                        -0.4f, -0.4f, -0.4f, -0.4f},
            .act_high = {0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f,
                         0.4f, 0.4f},
            .max_episode_steps = 1000,
            .summary = "MuJoCo 3-D humanoid walks forward; terminates outside torso z (1, 2); obs 376, 17 torques in [-0.4, 0.4]",
        },
    .file = "humanoid.xml",
    .xml = humanoid_xml,
    .xml_len = &humanoid_xml_len,
    .nq = HUMANOID_NQ,
    .nv = HUMANOID_NV,
    .nu = HUMANOID_NU,
    .nbody = HUMANOID_NBODY, /* the observation's size depends on it */
    .frame_skip = 5, /* timestep 0.003: dt 0.015 */
    .reset_noise = 1e-2, /* qpos += U(-0.01, 0.01), the quaternion included; qvel = U(-0.01, 0.01) */
    .qvel_noise = MUJOCO_QVEL_UNIFORM,
    .contact_forces = true,
    .forward_weight = 1.25,
    .ctrl_cost_weight = 0.1,
    .healthy_reward = 5.0,
    .position = s_position,
    .healthy = s_healthy,
    .observe = s_observe,
};

static void *s_create(char *err, size_t errlen) { return mujoco_task_new(&humanoid_task, err, errlen); }

const env_ops_t humanoid_ops = MUJOCO_TASK_OPS(humanoid_task, s_create);
