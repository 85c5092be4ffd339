/* test_mujoco_util: what the tests of the MuJoCo locomotion environments (test_hopper.c,
 * test_walker2d.c, test_ant.c, test_humanoid.c) share: making an instance, setting a state by
 * hand, and the checks that read the same for every task (compiled model against the facts'
 * check values, reset ranges, the reward identity, the time limit). Include after
 * tests/test_util.h. */
#ifndef MPO_TEST_MUJOCO_UTIL_H
#define MPO_TEST_MUJOCO_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/rng.h"
#include "env/env.h"
#include "env/mujoco_env.h"
#include "env/mujoco_task.h"
#include "tests/test_util.h"

#define MJT_RESETS 400 /* resets drawn to check the noise ranges */

typedef struct {
    const char *name;
    double mass;
} mjt_mass_t;

/* A task's facts as the test writes them down (not read from the task under test). */
typedef struct {
    double dt;
    double reset_noise;
    mujoco_qvel_noise_t qvel_noise;
    double forward_weight, ctrl_cost_weight, healthy_reward;
} mjt_facts_t;

static void *mjt_make(const mujoco_task_t *task) {
    char err[512] = "";
    void *st = mujoco_task_new(task, err, sizeof err);
    if (!st)
        fail_msg("create %s failed: %s", task->spec.name, err);
    return st;
}

static const mjModel *mjt_model(void *st) { return mujoco_task_sim(st)->model; }
static mjData *mjt_data(void *st) { return mujoco_task_sim(st)->data; }

/* qpos, qvel (NULL: zero) set by hand, then mj_forward, as Gymnasium's set_state */
static void mjt_set_state(void *st, const double *qpos, const double *qvel) {
    const mjModel *m = mjt_model(st);
    mjData *d = mjt_data(st);
    memcpy(d->qpos, qpos, sizeof(mjtNum) * (size_t)m->nq);
    if (qvel)
        memcpy(d->qvel, qvel, sizeof(mjtNum) * (size_t)m->nv);
    else
        memset(d->qvel, 0, sizeof(mjtNum) * (size_t)m->nv);
    mj_forward(m, d);
}

/* every listed body's mass (1e-6 kg, the facts' precision) and the total over all bodies */
static void mjt_check_masses(const mjModel *m, const mjt_mass_t *list, int n, double total) {
    for (int i = 0; i < n; i++) {
        int id = mj_name2id(m, mjOBJ_BODY, list[i].name);
        if (id <= 0)
            fail_msg("no body '%s'", list[i].name);
        if (fabs(m->body_mass[id] - list[i].mass) > 1e-6)
            fail_msg("%s mass %.7f, expected %.6f", list[i].name, m->body_mass[id], list[i].mass);
    }
    double sum = 0;
    for (int b = 0; b < m->nbody; b++)
        sum += m->body_mass[b];
    CLOSE(sum, total, 1e-6);
    CLOSE(m->body_mass[0], 0.0, 0);
}

/* actuator k drives joint joints[k] with gear gears[k], ctrllimited to [lo, hi]; the spec's action
 * bounds are the same */
static void mjt_check_actuators(const mjModel *m, const env_spec_t *spec, const char *const *joints,
                                const double *gears, double lo, double hi) {
    assert_int_equal(m->nu, spec->act_dim);
    for (int k = 0; k < m->nu; k++) {
        assert_int_equal(m->actuator_trntype[k], mjTRN_JOINT);
        const char *j = mj_id2name(m, mjOBJ_JOINT, m->actuator_trnid[2 * k]);
        if (!j || strcmp(j, joints[k]) != 0)
            fail_msg("actuator %d drives %s, expected %s", k, j ? j : "(unnamed)", joints[k]);
        CLOSE(m->actuator_gear[6 * k], gears[k], 0);
        assert_int_equal(m->actuator_ctrllimited[k], 1);
        CLOSE(m->actuator_ctrlrange[2 * k], lo, 0);
        CLOSE(m->actuator_ctrlrange[2 * k + 1], hi, 0);
        CLOSE(spec->act_low[k], (float)lo, 0);
        CLOSE(spec->act_high[k], (float)hi, 0);
    }
}

/* the embedded model and env/models/<file> compile to the same sizes and masses */
static void mjt_check_file_matches(const mujoco_task_t *task, const mjModel *embedded) {
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "env/models/%s", task->file);
    mjModel *m = mujoco_env_load_path(path, err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    assert_int_equal(m->nq, embedded->nq);
    assert_int_equal(m->nv, embedded->nv);
    assert_int_equal(m->nu, embedded->nu);
    assert_int_equal(m->nbody, embedded->nbody);
    assert_int_equal(m->ngeom, embedded->ngeom);
    for (int b = 0; b < m->nbody; b++)
        CLOSE(m->body_mass[b], embedded->body_mass[b], 0);
    mj_deleteModel(m);
}

/* Resets over MJT_RESETS seeds: qpos - qpos0 within [-noise, noise] (entries in skip_qpos, a free
 * joint's quaternion, are checked by the caller) and reaching near both ends; qvel uniform in
 * [-noise, noise] the same way, or noise * N(0, 1) (mean ~0, std ~noise); time 0; the same seed
 * gives the same start and the observation is observe() of it. */
static void mjt_check_reset_ranges(const mujoco_task_t *task, const mjt_facts_t *facts, int quat_adr) {
    void *st = mjt_make(task);
    const mjModel *m = mjt_model(st);
    const mjData *d = mjt_data(st);
    double noise = facts->reset_noise;
    CLOSE(mujoco_task_sim(st)->dt, facts->dt, 1e-15);
    double lo_p = 0, hi_p = 0, lo_v = 0, hi_v = 0, sum_v = 0, sum_v2 = 0;
    long n_v = 0;
    float obs[ENV_MAX_OBS], again[ENV_MAX_OBS], want[ENV_MAX_OBS];
    for (int s = 0; s < MJT_RESETS; s++) {
        mujoco_task_reset(st, (uint64_t)s + 1, obs);
        assert_true(d->time == 0.0);
        for (int i = 0; i < m->nq; i++) {
            if (quat_adr >= 0 && i >= quat_adr && i < quat_adr + 4)
                continue;
            double u = d->qpos[i] - m->qpos0[i];
            if (!(fabs(u) <= noise * (1 + 1e-12)))
                fail_msg("seed %d: qpos[%d] - qpos0 = %g outside +-%g", s + 1, i, u, noise);
            lo_p = fmin(lo_p, u), hi_p = fmax(hi_p, u);
        }
        for (int i = 0; i < m->nv; i++) {
            double v = d->qvel[i];
            if (facts->qvel_noise == MUJOCO_QVEL_UNIFORM && !(fabs(v) <= noise))
                fail_msg("seed %d: qvel[%d] = %g outside +-%g", s + 1, i, v, noise);
            lo_v = fmin(lo_v, v), hi_v = fmax(hi_v, v);
            sum_v += v, sum_v2 += v * v, n_v++;
        }
        task->observe(m, d, want);
        assert_memory_equal(obs, want, sizeof(float) * (size_t)task->spec.obs_dim);
    }
    /* the draws cover the range: the scale is the facts', not a smaller one */
    assert_true(lo_p < -0.95 * noise && hi_p > 0.95 * noise);
    if (facts->qvel_noise == MUJOCO_QVEL_UNIFORM) {
        assert_true(lo_v < -0.95 * noise && hi_v > 0.95 * noise);
        CLOSE(sqrt(sum_v2 / n_v), noise / sqrt(3.0), 0.05 * noise); /* U(-a, a): std a/sqrt(3) */
    } else {
        CLOSE(sum_v / n_v, 0.0, 0.05 * noise);
        CLOSE(sqrt(sum_v2 / n_v), noise, 0.05 * noise);
    }
    /* reproducible from the seed, whatever came before; reset_next draws a new start */
    mujoco_task_reset(st, 7, obs);
    mujoco_task_reset_next(st, again);
    assert_memory_not_equal(obs, again, sizeof(float) * (size_t)task->spec.obs_dim);
    mujoco_task_reset(st, 7, again);
    assert_memory_equal(obs, again, sizeof(float) * (size_t)task->spec.obs_dim);
    mujoco_task_destroy(st);
}

/* after a step from a hand-set state (qvel NULL: zero) with action a: the reward is
 * forward_weight * velocity + healthy_reward - ctrl_cost_weight * sum(a^2) with the facts'
 * weights, the terms are those, ctrl holds the action as passed; returns the terms */
static mujoco_task_terms_t mjt_step_from(void *st, const mjt_facts_t *facts, const double *qpos, const double *qvel,
                                         const float *a, float *reward, bool *terminated) {
    float obs[ENV_MAX_OBS];
    mjt_set_state(st, qpos, qvel);
    *reward = mujoco_task_step(st, a, obs, terminated);
    mujoco_task_terms_t t = mujoco_task_terms(st);
    double cost = 0;
    for (int i = 0; i < mjt_model(st)->nu; i++) {
        cost += (double)a[i] * (double)a[i];
        CLOSE(mjt_data(st)->ctrl[i], a[i], 0); /* not clipped by the env, nor by MuJoCo */
    }
    CLOSE(t.ctrl_cost, cost, 0);
    CLOSE(t.healthy_reward, facts->healthy_reward, 0);
    double want = facts->forward_weight * t.velocity + facts->healthy_reward - facts->ctrl_cost_weight * cost;
    CLOSE(*reward, want, 1e-6 * (1 + fabs(want)));
    assert_int_equal(*terminated, !t.healthy);
    return t;
}

/* Through env.h: a state kept healthy by hand runs 1000 steps, truncated at the last and never
 * terminated; a state that fails the check at step 1000 is both terminated and truncated; one that
 * fails earlier is terminated only. healthy_qpos is re-set (at rest) before every step. */
static void mjt_check_time_limit(const mujoco_task_t *task, const double *healthy_qpos, const double *unhealthy_qpos) {
    char err[512] = "";
    env_t *env = env_new(task->spec.name, err, sizeof err);
    if (!env)
        fail_msg("%s", err);
    float obs[ENV_MAX_OBS], a[ENV_MAX_ACT] = {0};
    env_reset(env, 1, obs);
    void *st = env_state(env); /* the task instance env.c steps */
    for (int t = 1; t <= 1000; t++) {
        mjt_set_state(st, healthy_qpos, NULL);
        bool term = true, trunc = true;
        env_step(env, a, obs, &term, &trunc);
        if (term || trunc != (t == 1000))
            fail_msg("step %d: terminated=%d truncated=%d", t, term, trunc);
    }
    assert_int_equal(env_elapsed(env), 1000);
    /* the same, failing the check at the last step: both */
    env_reset(env, 2, obs);
    for (int t = 1; t <= 1000; t++) {
        mjt_set_state(st, t == 1000 ? unhealthy_qpos : healthy_qpos, NULL);
        bool term, trunc;
        env_step(env, a, obs, &term, &trunc);
        if (term != (t == 1000) || trunc != (t == 1000))
            fail_msg("step %d: terminated=%d truncated=%d", t, term, trunc);
    }
    /* failing at step 10: terminated, not truncated */
    env_reset_next(env, obs);
    assert_int_equal(env_elapsed(env), 0);
    for (int t = 1; t <= 10; t++) {
        mjt_set_state(st, t == 10 ? unhealthy_qpos : healthy_qpos, NULL);
        bool term, trunc;
        env_step(env, a, obs, &term, &trunc);
        assert_int_equal(term, t == 10);
        assert_false(trunc);
    }
    env_destroy(&env);
}

#endif
