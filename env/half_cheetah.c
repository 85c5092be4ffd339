/* HalfCheetah-v4, as Gymnasium's: MuJoCo state in double, observation in float.
 *
 * The model is env/models/half_cheetah.xml, embedded in the binary by the build (the byte array
 * half_cheetah_xml, generated into build/gen/) or read from $MPO_MODEL_DIR/half_cheetah.xml when
 * that variable is set. */
#include "env/env.h"
#include "env/mujoco_env.h"

#include <stdio.h>
#include <stdlib.h>

#define HALF_CHEETAH_FRAME_SKIP 5
#define HALF_CHEETAH_FORWARD_WEIGHT 1.0
#define HALF_CHEETAH_CTRL_COST_WEIGHT 0.1
#define HALF_CHEETAH_RESET_NOISE 0.1 /* qpos += U(-0.1, 0.1); qvel = 0.1 * N(0, 1) */
#define HALF_CHEETAH_NQ 9
#define HALF_CHEETAH_NV 9
#define HALF_CHEETAH_NU 6
#define HALF_CHEETAH_OBS (HALF_CHEETAH_NQ - 1 + HALF_CHEETAH_NV)

/* generated from env/models/half_cheetah.xml by the Makefile */
extern const unsigned char half_cheetah_xml[];
extern const unsigned int half_cheetah_xml_len;

typedef struct {
    mujoco_env_t mj;
} half_cheetah_t;

static const env_spec_t s_spec = {
    .name = "HalfCheetah-v4",
    .obs_dim = HALF_CHEETAH_OBS,
    .act_dim = HALF_CHEETAH_NU,
    .act_low = {-1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f},
    .act_high = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f},
    .max_episode_steps = 1000,
    .summary = "MuJoCo planar cheetah runs forward; obs 17 (qpos[1:] and qvel), 6 torques in [-1, 1]",
};

static void s_destroy(void *state) {
    half_cheetah_t *self = state;
    if (!self)
        return;
    mujoco_env_free(&self->mj);
    free(self);
}

static void *s_create(char *err, size_t errlen) {
    half_cheetah_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory creating HalfCheetah-v4");
        return NULL;
    }
    const mujoco_env_source_t src = {
        .file = "half_cheetah.xml",
        .xml = half_cheetah_xml,
        .xml_len = half_cheetah_xml_len,
    };
    char why[512];
    if (mujoco_env_init(&self->mj, &src, HALF_CHEETAH_FRAME_SKIP, why, sizeof why) != 0) {
        snprintf(err, errlen, "HalfCheetah-v4: %s", why);
        free(self);
        return NULL;
    }
    const mjModel *m = self->mj.model;
    if (m->nq != HALF_CHEETAH_NQ || m->nv != HALF_CHEETAH_NV || m->nu != HALF_CHEETAH_NU) {
        snprintf(err, errlen,
                 "HalfCheetah-v4: model %s has nq=%d nv=%d nu=%d, expected nq=%d nv=%d nu=%d",
                 self->mj.source, m->nq, m->nv, m->nu, HALF_CHEETAH_NQ, HALF_CHEETAH_NV,
                 HALF_CHEETAH_NU);
        s_destroy(self);
        return NULL;
    }
    return self;
}

/* obs (17) = qpos[1:9] (rootz, rooty, 6 joint angles) then qvel[0:9]; x is left out */
static void s_observe(const half_cheetah_t *self, float *obs) {
    const mjData *d = self->mj.data;
    int k = 0;
    for (int i = 1; i < HALF_CHEETAH_NQ; i++)
        obs[k++] = (float)d->qpos[i];
    for (int i = 0; i < HALF_CHEETAH_NV; i++)
        obs[k++] = (float)d->qvel[i];
}

static void s_reset_next(void *state, float *obs) {
    half_cheetah_t *self = state;
    mujoco_env_reset(&self->mj, HALF_CHEETAH_RESET_NOISE, HALF_CHEETAH_RESET_NOISE);
    s_observe(self, obs);
}

static void s_reset(void *state, uint64_t seed, float *obs) {
    half_cheetah_t *self = state;
    mujoco_env_reset_seeded(&self->mj, seed, HALF_CHEETAH_RESET_NOISE, HALF_CHEETAH_RESET_NOISE);
    s_observe(self, obs);
}

static float s_step(void *state, const float *action, float *obs, bool *terminated) {
    half_cheetah_t *self = state;
    double x_before = self->mj.data->qpos[0];
    mujoco_env_step(&self->mj, action);
    double x_after = self->mj.data->qpos[0];
    double forward = (x_after - x_before) / self->mj.dt;
    double ctrl_cost = 0.0; /* on the action as passed, before MuJoCo clamps ctrl */
    for (int i = 0; i < HALF_CHEETAH_NU; i++)
        ctrl_cost += (double)action[i] * (double)action[i];
    s_observe(self, obs);
    *terminated = false;
    return (float)(HALF_CHEETAH_FORWARD_WEIGHT * forward - HALF_CHEETAH_CTRL_COST_WEIGHT * ctrl_cost);
}

const mjModel *half_cheetah_model(const void *state) {
    return ((const half_cheetah_t *)state)->mj.model;
}

const mjData *half_cheetah_data(const void *state) {
    return ((const half_cheetah_t *)state)->mj.data;
}

const env_ops_t half_cheetah_ops = {
    .spec = &s_spec,
    .create = s_create,
    .destroy = s_destroy,
    .reset = s_reset,
    .reset_next = s_reset_next,
    .step = s_step,
};
