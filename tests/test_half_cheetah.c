/* HalfCheetah-v4 and the MuJoCo environment layer: the model compiles to the listed masses, the
 * reward is forward velocity minus the control cost, resets are seeded, x never reaches the
 * observation, episodes truncate at 1000 steps, and a bad model file is one line of error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/env.h"
#include "env/mujoco_env.h"
#include "env/mujoco_task.h"

#define OBS 17
#define ACT 6

/* Body masses (kg) the facts list for Gymnasium's model. */
static const struct {
    const char *name;
    double mass;
} s_masses[] = {
    {"torso", 6.2502}, {"bthigh", 1.5435}, {"bshin", 1.5874}, {"bfoot", 1.0954},
    {"fthigh", 1.4381}, {"fshin", 1.2008}, {"ffoot", 0.8845},
};

static const mjModel *half_cheetah_model(void *state) { return mujoco_task_sim(state)->model; }
static const mjData *half_cheetah_data(void *state) { return mujoco_task_sim(state)->data; }

static void *s_make(void) {
    char err[512] = "";
    void *st = half_cheetah_ops.create(err, sizeof err);
    if (!st)
        fail_msg("create failed: %s", err);
    return st;
}

static void s_check_masses(const mjModel *m) {
    double total = 0;
    for (size_t i = 0; i < sizeof s_masses / sizeof s_masses[0]; i++) {
        int id = mj_name2id(m, mjOBJ_BODY, s_masses[i].name);
        assert_true(id > 0);
        if (fabs(m->body_mass[id] - s_masses[i].mass) > 1e-3)
            fail_msg("%s mass %.6f, expected %.4f", s_masses[i].name, m->body_mass[id],
                     s_masses[i].mass);
        total += m->body_mass[id];
    }
    assert_true(fabs(total - 14.0) < 1e-9);
    assert_int_equal(m->nbody, 8); /* world + 7 */
}

/* every listed body mass, in the embedded model and in the shipped file */
static void test_model_masses(void **state) {
    (void)state;
    void *st = s_make();
    s_check_masses(half_cheetah_model(st));
    half_cheetah_ops.destroy(st);

    char err[512] = "";
    mjModel *m = mujoco_env_load_path("env/models/half_cheetah.xml", err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    s_check_masses(m);
    mj_deleteModel(m);
}

static void test_dimensions(void **state) {
    (void)state;
    void *st = s_make();
    const mjModel *m = half_cheetah_model(st);
    assert_int_equal(m->nq, 9);
    assert_int_equal(m->nv, 9);
    assert_int_equal(m->nu, 6);
    assert_true(m->opt.timestep == 0.01);
    assert_int_equal(m->opt.integrator, mjINT_EULER);
    const env_spec_t *spec = half_cheetah_ops.spec;
    assert_string_equal(spec->name, "HalfCheetah-v4");
    assert_int_equal(spec->obs_dim, OBS);
    assert_int_equal(spec->act_dim, ACT);
    assert_int_equal(spec->max_episode_steps, 1000);
    for (int i = 0; i < ACT; i++) {
        assert_true(spec->act_low[i] == -1.0f && spec->act_high[i] == 1.0f);
        assert_true(m->actuator_ctrlrange[2 * i] == -1.0 && m->actuator_ctrlrange[2 * i + 1] == 1.0);
    }
    /* gears in action order bthigh, bshin, bfoot, fthigh, fshin, ffoot */
    static const double gear[ACT] = {120, 90, 60, 120, 60, 30};
    for (int i = 0; i < ACT; i++)
        assert_true(m->actuator_gear[6 * i] == gear[i]);
    /* a second instance shares the model and has its own data */
    void *st2 = s_make();
    assert_ptr_equal(half_cheetah_model(st2), m);
    assert_ptr_not_equal(half_cheetah_data(st2), half_cheetah_data(st));
    half_cheetah_ops.destroy(st2);
    half_cheetah_ops.destroy(st);
}

/* reward = (x_after - x_before)/0.05 - 0.1 * sum(a^2), from qpos[0] read around the step */
static void test_reward(void **state) {
    (void)state;
    void *st = s_make();
    float obs[OBS];
    half_cheetah_ops.reset(st, 3, obs);
    const mjData *d = half_cheetah_data(st);
    rng_t rng;
    rng_seed(&rng, 11);
    bool term = true;
    for (int t = 0; t < 200; t++) {
        float a[ACT];
        for (int i = 0; i < ACT; i++)
            a[i] = (float)rng_uniform_range(&rng, -1.0, 1.0);
        if (t % 50 == 7)
            a[t % ACT] = 1.7f; /* outside ctrlrange: the cost still uses the action as passed */
        double x0 = d->qpos[0];
        float r = half_cheetah_ops.step(st, a, obs, &term);
        double x1 = d->qpos[0];
        double cost = 0;
        for (int i = 0; i < ACT; i++)
            cost += (double)a[i] * a[i];
        double want = (x1 - x0) / 0.05 - 0.1 * cost;
        if (fabs(r - want) > 1e-5 * (1 + fabs(want)))
            fail_msg("step %d: reward %.7f, want %.7f", t, r, want);
        assert_false(term);
    }
    /* zero action: no control cost; the reward is the velocity alone */
    float zero[ACT] = {0};
    double x0 = d->qpos[0];
    float r = half_cheetah_ops.step(st, zero, obs, &term);
    assert_true(fabs(r - (d->qpos[0] - x0) / 0.05) < 1e-5 * (1 + fabs(r)));
    half_cheetah_ops.destroy(st);
}

/* the observation is qpos[1:9] then qvel, as float */
static void s_check_layout(const mjData *d, const float *obs) {
    for (int i = 0; i < 8; i++)
        assert_true(obs[i] == (float)d->qpos[i + 1]);
    for (int i = 0; i < 9; i++)
        assert_true(obs[8 + i] == (float)d->qvel[i]);
}

static void test_reset_seeded(void **state) {
    (void)state;
    void *a = s_make(), *b = s_make();
    float oa[OBS], ob[OBS], oc[OBS];
    half_cheetah_ops.reset(a, 42, oa);
    /* b takes some steps first: a reset must not depend on what came before */
    half_cheetah_ops.reset(b, 7, ob);
    float act[ACT] = {1, -1, 1, -1, 1, -1};
    bool term;
    for (int t = 0; t < 20; t++)
        half_cheetah_ops.step(b, act, ob, &term);
    half_cheetah_ops.reset(b, 42, ob);
    assert_memory_equal(oa, ob, sizeof oa);
    const mjData *da = half_cheetah_data(a), *db = half_cheetah_data(b);
    assert_memory_equal(da->qpos, db->qpos, 9 * sizeof(mjtNum));
    assert_memory_equal(da->qvel, db->qvel, 9 * sizeof(mjtNum));
    assert_true(da->time == 0.0);
    s_check_layout(da, oa);
    /* the start-state noise: qpos within 0.1 of zero, qvel 0.1 * N(0, 1), neither all zero */
    double qv = 0, qp = 0;
    for (int i = 0; i < 9; i++) {
        assert_true(fabs(da->qpos[i]) <= 0.1);
        qp += fabs(da->qpos[i]);
        qv += da->qvel[i] * da->qvel[i];
    }
    assert_true(qp > 0 && qv > 0 && qv < 9 * 0.25); /* |N(0,1)| < 5 in every element */

    half_cheetah_ops.reset(b, 43, oc);
    assert_memory_not_equal(oa, oc, sizeof oa);
    /* reset_next continues the stream: a new start, reproducible from the seed */
    half_cheetah_ops.reset_next(a, oc);
    assert_memory_not_equal(oa, oc, sizeof oa);
    half_cheetah_ops.reset(b, 42, ob);
    half_cheetah_ops.reset_next(b, ob);
    assert_memory_equal(oc, ob, sizeof oc);
    half_cheetah_ops.destroy(a);
    half_cheetah_ops.destroy(b);
}

/* after the cheetah has travelled, no observation element is its x position */
static void test_obs_excludes_x(void **state) {
    (void)state;
    void *st = s_make();
    const mjData *d = half_cheetah_data(st);
    float obs[OBS];
    bool term;
    half_cheetah_ops.reset(st, 5, obs);
    double max_abs_x = 0;
    for (int t = 0; t < 400; t++) {
        /* an open-loop gait: thighs and feet swinging out of phase */
        float a[ACT];
        for (int i = 0; i < ACT; i++)
            a[i] = (float)sin(0.5 * t + (i < 3 ? 0.0 : M_PI) + 0.7 * i);
        half_cheetah_ops.step(st, a, obs, &term);
        s_check_layout(d, obs);
        float x = (float)d->qpos[0];
        if (fabs(d->qpos[0]) > 0.5)
            for (int i = 0; i < OBS; i++)
                assert_true(obs[i] != x);
        if (fabs(d->qpos[0]) > max_abs_x)
            max_abs_x = fabs(d->qpos[0]);
    }
    if (max_abs_x < 1.0)
        fail_msg("the cheetah only moved %.3f m; the test needs it to travel", max_abs_x);
    for (int i = 0; i < OBS; i++)
        assert_true(isfinite(obs[i]));
    half_cheetah_ops.destroy(st);
}

/* through env.h: 1000 steps, truncated at the last, never terminated */
static void test_time_limit(void **state) {
    (void)state;
    char err[512] = "";
    env_t *env = env_new("HalfCheetah-v4", err, sizeof err);
    if (!env)
        fail_msg("%s", err);
    float obs[OBS], a[ACT] = {0};
    env_reset(env, 1, obs);
    for (int t = 1; t <= 1000; t++) {
        bool term = true, trunc = true;
        a[t % ACT] = (float)((t % 7) - 3) / 3.0f;
        env_step(env, a, obs, &term, &trunc);
        assert_false(term);
        if (trunc != (t == 1000))
            fail_msg("step %d: truncated=%d", t, trunc);
    }
    assert_int_equal(env_elapsed(env), 1000);
    env_reset_next(env, obs);
    assert_int_equal(env_elapsed(env), 0);
    env_destroy(&env);
    assert_null(env);
}

/* a one-line error: not empty, no line break, names the path */
static void s_check_error(const char *err, const char *path) {
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\r'));
    if (!strstr(err, path))
        fail_msg("error does not name '%s': %s", path, err);
}

static void s_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_bad_model_file(void **state) {
    (void)state;
    char err[512], path[256];
    mujoco_env_t mj;

    snprintf(path, sizeof path, "/tmp/mpo-test-hc-%d-missing.xml", (int)getpid());
    unlink(path);
    mujoco_env_source_t src = {.file = "half_cheetah.xml", .path = path};
    err[0] = '\0';
    assert_int_equal(mujoco_env_init(&mj, &src, 5, err, sizeof err), -1);
    s_check_error(err, path);
    assert_non_null(strstr(err, "No such file"));
    assert_null(mj.model);
    assert_null(mj.data);
    mujoco_env_free(&mj); /* harmless on a failed init */
    err[0] = '\0';
    assert_null(mujoco_env_load_path(path, err, sizeof err));
    s_check_error(err, path);

    /* not XML at all, then XML that MuJoCo's compiler rejects */
    static const char *bad[] = {
        "<mujoco><worldbody><body><geom type='capsule' size='x'/>",
        "<mujoco><worldbody><body><joint type='hinge' limited='true' range='1 0'/>"
        "<geom size='0.1'/></body></worldbody></mujoco>",
    };
    static const char *mj_says[] = {"XML", "range"};
    snprintf(path, sizeof path, "/tmp/mpo-test-hc-%d-bad.xml", (int)getpid());
    for (int i = 0; i < 2; i++) {
        s_write(path, bad[i]);
        err[0] = '\0';
        assert_int_equal(mujoco_env_init(&mj, &src, 5, err, sizeof err), -1);
        s_check_error(err, path);
        if (!strstr(err, mj_says[i])) /* MuJoCo's own reason is in the line */
            fail_msg("error lacks MuJoCo's reason '%s': %s", mj_says[i], err);
        err[0] = '\0';
        assert_null(mujoco_env_load_path(path, err, sizeof err));
        s_check_error(err, path);
    }
    unlink(path);

    /* in-memory XML fails the same way */
    err[0] = '\0';
    assert_null(mujoco_env_load_xml("broken.xml", bad[0], strlen(bad[0]), err, sizeof err));
    s_check_error(err, "broken.xml");
}

/* MPO_MODEL_DIR: a directory without the model (or with a broken one) fails cleanly; pointing it
 * at env/models loads the same model as the embedded copy */
static void test_model_dir(void **state) {
    (void)state;
    char dir[] = "/tmp/mpo-test-hc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300], err[512] = "";
    snprintf(path, sizeof path, "%s/half_cheetah.xml", dir);
    assert_int_equal(setenv("MPO_MODEL_DIR", dir, 1), 0);

    env_t *env = env_new("HalfCheetah-v4", err, sizeof err);
    assert_null(env);
    s_check_error(err, path);

    s_write(path, "<mujoco><worldbody>");
    err[0] = '\0';
    env = env_new("HalfCheetah-v4", err, sizeof err);
    assert_null(env);
    s_check_error(err, path);
    unlink(path);
    rmdir(dir);

    float o1[OBS], o2[OBS], a[ACT] = {0.5f, -0.5f, 0.2f, 0.9f, -0.3f, 0.1f};
    bool term, trunc;
    assert_int_equal(setenv("MPO_MODEL_DIR", "env/models", 1), 0);
    err[0] = '\0';
    env = env_new("HalfCheetah-v4", err, sizeof err);
    if (!env)
        fail_msg("%s", err);
    env_reset(env, 9, o1);
    float r1 = env_step(env, a, o1, &term, &trunc);
    env_destroy(&env);

    assert_int_equal(unsetenv("MPO_MODEL_DIR"), 0);
    env = env_new("HalfCheetah-v4", err, sizeof err);
    if (!env)
        fail_msg("%s", err);
    env_reset(env, 9, o2);
    float r2 = env_step(env, a, o2, &term, &trunc);
    env_destroy(&env);
    assert_memory_equal(o1, o2, sizeof o1);
    assert_true(r1 == r2);
}

int main(void) {
    unsetenv("MPO_MODEL_DIR");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_masses),   cmocka_unit_test(test_dimensions),
        cmocka_unit_test(test_reward),         cmocka_unit_test(test_reset_seeded),
        cmocka_unit_test(test_obs_excludes_x), cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_bad_model_file), cmocka_unit_test(test_model_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
