/* Humanoid-v4 against the facts (docs/environments.md): the compiled model's check values (masses,
 * the torso's inertia and centre of mass, every hinge's axis, range, stiffness, damping and
 * armature, the two tendons, PGS with 50 iterations, contact parameters, actuator order and gears),
 * the reset ranges with the quaternion normalised, the 376-float observation block by block
 * (cfrc_ext zero at reset, then what mj_rnePostConstraint gives), the forward reward from the
 * whole-body centre of mass, the control cost on the unclipped action, the health band, the
 * healthy reward on the terminating step, and termination kept apart from the time limit. */
#include "tests/test_util.h"

#include <stdlib.h>

#include "tests/test_mujoco_util.h"

#define NQ 24
#define NV 23
#define NU 17
#define NBODY 14
#define OBS 376
#define DT 0.015
#define DEG (M_PI / 180.0)

static double s_qpos0[NQ] = {0, 0, 1.4, 1};
static const mjt_facts_t s_facts = {.dt = DT, .reset_noise = 1e-2, .qvel_noise = MUJOCO_QVEL_UNIFORM,
                                    .forward_weight = 1.25, .ctrl_cost_weight = 0.1, .healthy_reward = 5.0};

/* hinges in qpos order: name, axis (before normalising), pos, range (degrees), stiffness, damping,
 * armature */
static const struct {
    const char *name;
    double axis[3], pos[3], lo, hi, stiffness, damping, armature;
} s_hinges[17] = {
    {"abdomen_z", {0, 0, 1}, {0, 0, 0.065}, -45, 45, 20, 5, 0.02},
    {"abdomen_y", {0, 1, 0}, {0, 0, 0.065}, -75, 30, 10, 5, 0.02},
    {"abdomen_x", {1, 0, 0}, {0, 0, 0.1}, -35, 35, 10, 5, 0.02},
    {"right_hip_x", {1, 0, 0}, {0, 0, 0}, -25, 5, 10, 5, 0.01},
    {"right_hip_z", {0, 0, 1}, {0, 0, 0}, -60, 35, 10, 5, 0.01},
    {"right_hip_y", {0, 1, 0}, {0, 0, 0}, -110, 20, 20, 5, 0.008},
    {"right_knee", {0, -1, 0}, {0, 0, 0.02}, -160, -2, 0, 1, 0.006},
    {"left_hip_x", {-1, 0, 0}, {0, 0, 0}, -25, 5, 10, 5, 0.01},
    {"left_hip_z", {0, 0, -1}, {0, 0, 0}, -60, 35, 10, 5, 0.01},
    {"left_hip_y", {0, 1, 0}, {0, 0, 0}, -110, 20, 20, 5, 0.01},
    {"left_knee", {0, -1, 0}, {0, 0, 0.02}, -160, -2, 1, 1, 0.006},
    {"right_shoulder1", {2, 1, 1}, {0, 0, 0}, -85, 60, 1, 1, 0.0068},
    {"right_shoulder2", {0, -1, 1}, {0, 0, 0}, -85, 60, 1, 1, 0.0051},
    {"right_elbow", {0, -1, 1}, {0, 0, 0}, -90, 50, 0, 1, 0.0028},
    {"left_shoulder1", {2, -1, 1}, {0, 0, 0}, -60, 85, 1, 1, 0.0068},
    {"left_shoulder2", {0, 1, 1}, {0, 0, 0}, -60, 85, 1, 1, 0.0051},
    {"left_elbow", {0, -1, -1}, {0, 0, 0}, -90, 50, 0, 1, 0.0028},
};

static void test_model(void **state) {
    (void)state;
    void *st = mjt_make(&humanoid_task);
    const mjModel *m = mjt_model(st);
    assert_int_equal(m->nq, NQ);
    assert_int_equal(m->nv, NV);
    assert_int_equal(m->nu, NU);
    assert_int_equal(m->nbody, NBODY);
    assert_int_equal(m->njnt, 18);
    assert_int_equal(m->ngeom, 18);
    assert_int_equal(m->ntendon, 2);
    assert_true(m->opt.timestep == 0.003);
    assert_int_equal(m->opt.integrator, mjINT_RK4);
    assert_int_equal(m->opt.solver, mjSOL_PGS);
    assert_int_equal(m->opt.iterations, 50);
    static const mjt_mass_t masses[] = {
        {"torso", 8.907462},          {"lwaist", 2.261947},         {"pelvis", 6.616194},
        {"right_thigh", 4.751751},    {"right_shin", 2.755696},     {"right_foot", 1.767146},
        {"left_thigh", 4.751751},     {"left_shin", 2.755696},      {"left_foot", 1.767146},
        {"right_upper_arm", 1.661080}, {"right_lower_arm", 1.229540}, {"left_upper_arm", 1.661080},
        {"left_lower_arm", 1.229540},
    };
    mjt_check_masses(m, masses, 13, 42.116030);
    for (int b = 1; b < NBODY; b++) /* the body order is the list's: it fixes cinert, cvel, cfrc_ext */
        assert_string_equal(mj_id2name(m, mjOBJ_BODY, b), masses[b - 1].name);
    static const double torso_inertia[3] = {0.173242, 0.15401, 0.0411192}, torso_com[3] = {-0.002539, 0, 0.034663};
    for (int i = 0; i < 3; i++) {
        CLOSE(m->body_inertia[3 + i], torso_inertia[i], 1e-6);
        CLOSE(m->body_ipos[3 + i], torso_com[i], 1e-6);
    }
    for (int i = 0; i < NQ; i++)
        CLOSE(m->qpos0[i], s_qpos0[i], 0);
    assert_int_equal(m->jnt_type[0], mjJNT_FREE);
    for (int i = 0; i < 6; i++)
        CLOSE(m->dof_armature[i] + m->dof_damping[i], 0.0, 0);
    for (int j = 0; j < 17; j++) {
        int id = j + 1, dof = 6 + j;
        assert_string_equal(mj_id2name(m, mjOBJ_JOINT, id), s_hinges[j].name);
        const double *ax = s_hinges[j].axis;
        double n = sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
        for (int i = 0; i < 3; i++) {
            CLOSE(m->jnt_axis[3 * id + i], ax[i] / n, 1e-12);
            CLOSE(m->jnt_pos[3 * id + i], s_hinges[j].pos[i], 1e-12);
        }
        assert_int_equal(m->jnt_limited[id], 1);
        CLOSE(m->jnt_range[2 * id], s_hinges[j].lo * DEG, 1e-12);
        CLOSE(m->jnt_range[2 * id + 1], s_hinges[j].hi * DEG, 1e-12);
        CLOSE(m->jnt_stiffness[id], s_hinges[j].stiffness, 0);
        CLOSE(m->dof_damping[dof], s_hinges[j].damping, 0);
        CLOSE(m->dof_armature[dof], s_hinges[j].armature, 0);
        CLOSE(m->qpos_spring[7 + j], 0.0, 0);
    }
    /* tendons: -1 hip_y + 1 knee, nothing else */
    static const char *const tendons[2][3] = {{"left_hipknee", "left_hip_y", "left_knee"},
                                              {"right_hipknee", "right_hip_y", "right_knee"}};
    for (int t = 0; t < 2; t++) {
        assert_string_equal(mj_id2name(m, mjOBJ_TENDON, t), tendons[t][0]);
        assert_int_equal(m->tendon_num[t], 2);
        int w = m->tendon_adr[t];
        assert_int_equal(m->wrap_objid[w], mj_name2id(m, mjOBJ_JOINT, tendons[t][1]));
        assert_int_equal(m->wrap_objid[w + 1], mj_name2id(m, mjOBJ_JOINT, tendons[t][2]));
        CLOSE(m->wrap_prm[w], -1.0, 0);
        CLOSE(m->wrap_prm[w + 1], 1.0, 0);
        CLOSE(m->tendon_stiffness[t] + m->tendon_damping[t] + m->tendon_frictionloss[t], 0.0, 0);
        assert_int_equal(m->tendon_limited[t], 0);
    }
    /* contacts: the floor condim 3, friction (1, 0.1, 0.1); body geoms condim 1, MuJoCo's
     * friction; all margin 0.001 and colliding */
    static const char *const geoms[18] = {"floor", "torso1", "head", "uwaist", "lwaist", "butt",
                                          "right_thigh1", "right_shin1", "right_foot", "left_thigh1",
                                          "left_shin1", "left_foot", "right_uarm1", "right_larm",
                                          "right_hand", "left_uarm1", "left_larm", "left_hand"};
    for (int g = 0; g < 18; g++) {
        assert_string_equal(mj_id2name(m, mjOBJ_GEOM, g), geoms[g]);
        CLOSE(m->geom_friction[3 * g], 1.0, 0);
        CLOSE(m->geom_friction[3 * g + 1], g ? 0.005 : 0.1, 0);
        CLOSE(m->geom_friction[3 * g + 2], g ? 0.0001 : 0.1, 0);
        assert_int_equal(m->geom_condim[g], g ? 1 : 3);
        assert_int_equal(m->geom_contype[g], 1);
        assert_int_equal(m->geom_conaffinity[g], 1);
        CLOSE(m->geom_margin[g], 0.001, 0);
    }
    static const char *const joints[NU] = {"abdomen_y", "abdomen_z", "abdomen_x", "right_hip_x", "right_hip_z",
                                           "right_hip_y", "right_knee", "left_hip_x", "left_hip_z", "left_hip_y",
                                           "left_knee", "right_shoulder1", "right_shoulder2", "right_elbow",
                                           "left_shoulder1", "left_shoulder2", "left_elbow"};
    static const double gears[NU] = {100, 100, 100, 100, 100, 300, 200, 100, 100, 300, 200, 25, 25, 25, 25, 25, 25};
    mjt_check_actuators(m, &humanoid_task.spec, joints, gears, -0.4, 0.4);
    assert_string_equal(humanoid_ops.spec->name, "Humanoid-v4");
    assert_int_equal(humanoid_ops.spec->obs_dim, OBS);
    assert_int_equal(humanoid_ops.spec->max_episode_steps, 1000);
    /* at qpos0: both knees outside their limits (nefc 2), the feet 0.107 m above the floor */
    mjt_set_state(st, s_qpos0, NULL);
    const mjData *d = mjt_data(st);
    assert_int_equal(d->nefc, 2);
    assert_int_equal(d->ncon, 0);
    for (int g = 8; g <= 11; g += 3)
        CLOSE(d->geom_xpos[3 * g + 2] - m->geom_size[3 * g], 0.107, 1e-3);
    mjt_check_file_matches(&humanoid_task, m);
    mujoco_task_destroy(st);
}

static void test_reset(void **state) {
    (void)state;
    mjt_check_reset_ranges(&humanoid_task, &s_facts, 3);
    void *st = mjt_make(&humanoid_task);
    const mjData *d = mjt_data(st);
    float obs[OBS];
    for (int s = 1; s <= 50; s++) {
        mujoco_task_reset(st, (uint64_t)s, obs);
        const double *q = d->qpos + 3;
        CLOSE(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3], 1.0, 1e-12);
        for (int i = 1; i < 4; i++)
            assert_true(fabs(q[i]) <= 0.01 / 0.99);
        for (int i = 292; i < OBS; i++) /* no mj_rnePostConstraint at reset: cfrc_ext all zero */
            assert_true(obs[i] == 0.0f);
    }
    mujoco_task_destroy(st);
}

/* obs block by block against the data; the world's rows and the free joint's actuator forces 0 */
static void s_check_obs(const mjData *d, const float *obs) {
    int k = 0;
    for (int i = 2; i < NQ; i++)
        assert_true(obs[k++] == (float)d->qpos[i]);
    assert_int_equal(k, 22);
    for (int i = 0; i < NV; i++)
        assert_true(obs[k++] == (float)d->qvel[i]);
    assert_int_equal(k, 45);
    for (int i = 0; i < 10 * NBODY; i++)
        assert_true(obs[k++] == (float)d->cinert[i]);
    assert_int_equal(k, 185);
    for (int i = 0; i < 6 * NBODY; i++)
        assert_true(obs[k++] == (float)d->cvel[i]);
    assert_int_equal(k, 269);
    for (int i = 0; i < NV; i++)
        assert_true(obs[k++] == (float)d->qfrc_actuator[i]);
    assert_int_equal(k, 292);
    for (int i = 0; i < 6 * NBODY; i++)
        assert_true(obs[k++] == (float)d->cfrc_ext[i]);
    assert_int_equal(k, OBS);
    for (int i = 0; i < 10; i++)
        assert_true(obs[45 + i] == 0.0f);
    for (int i = 0; i < 6; i++)
        assert_true(obs[185 + i] == 0.0f && obs[269 + i] == 0.0f && obs[292 + i] == 0.0f);
}

/* Falling onto the floor: after every step the observation is the data as mj_step and one
 * mj_rnePostConstraint left it (a copy given mj_rnePostConstraint again changes nothing), and the
 * contact forces show up once the feet touch. */
static void test_observation(void **state) {
    (void)state;
    void *st = mjt_make(&humanoid_task);
    const mjModel *m = mjt_model(st);
    const mjData *d = mjt_data(st);
    mjData *copy = mj_makeData(m);
    assert_non_null(copy);
    float obs[OBS];
    mujoco_task_reset(st, 11, obs);
    s_check_obs(d, obs);
    float a[NU] = {0};
    int touched = 0;
    for (int t = 0; t < 20; t++) {
        a[t % NU] = 0.3f;
        bool term;
        mujoco_task_step(st, a, obs, &term);
        s_check_obs(d, obs);
        mj_copyData(copy, m, d);
        mj_rnePostConstraint(m, copy);
        assert_memory_equal(copy->cfrc_ext, d->cfrc_ext, sizeof(mjtNum) * 6 * NBODY);
        double f = 0;
        for (int i = 292; i < OBS; i++)
            f += fabs(obs[i]);
        touched += d->ncon > 0 && f > 0;
    }
    assert_true(touched > 0);
    mj_deleteData(copy);
    mujoco_task_destroy(st);
}

static double s_com_x(const mjModel *m, const mjData *d) {
    double mx = 0, mass = 0;
    for (int b = 0; b < m->nbody; b++)
        mx += m->body_mass[b] * d->xipos[3 * b], mass += m->body_mass[b];
    return mx / mass;
}

/* forward: the whole-body centre of mass. In free flight with a known x velocity and nothing
 * acting along x, it moves v * dt (the limbs may shift inside, not the centre of mass). Control
 * cost 0.1 * sum(a^2) on the action as passed; MuJoCo applies the clamped force. */
static void test_reward_terms(void **state) {
    (void)state;
    void *st = mjt_make(&humanoid_task);
    const mjModel *m = mjt_model(st);
    const mjData *d = mjt_data(st);
    double air[NQ] = {0.5, -0.2, 1.7, 1};
    air[7 + 6] = air[7 + 10] = -0.5; /* knees inside their range */
    double v[NV] = {0.8};
    const float zero[NU] = {0};
    float r;
    bool term;
    mjt_set_state(st, air, v);
    double c0 = s_com_x(m, d);
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, air, v, zero, &r, &term);
    CLOSE(t.velocity, (s_com_x(m, d) - c0) / DT, 1e-9);
    CLOSE(t.velocity, 0.8, 1e-6);
    CLOSE(r, 1.25 * 0.8 + 5.0, 1e-5);
    assert_false(term);
    /* 0.7 on abdomen_y (beyond 0.4): cost 0.49 + 0.04 + 0.01 = 0.54, force 100 * 0.4 on its dof */
    float a[NU] = {0.7f, -0.2f, 0.1f};
    t = mjt_step_from(st, &s_facts, s_qpos0, NULL, a, &r, &term);
    CLOSE(t.ctrl_cost, 0.54, 1e-6);
    CLOSE(d->qfrc_actuator[7], 40.0, 1e-5);
    CLOSE(r, 1.25 * t.velocity + 5.0 - 0.1 * t.ctrl_cost, 1e-5);
    mujoco_task_destroy(st);
}

static bool s_healthy_with(void *st, int qpos_i, double qpos_v) {
    double qpos[NQ];
    memcpy(qpos, s_qpos0, sizeof qpos);
    if (qpos_i >= 0)
        qpos[qpos_i] = qpos_v;
    mjt_set_state(st, qpos, NULL);
    return humanoid_task.healthy(mjt_model(st), mjt_data(st));
}

static void test_health(void **state) {
    (void)state;
    void *st = mjt_make(&humanoid_task);
    const double eps = 1e-9;
    assert_true(s_healthy_with(st, -1, 0));
    assert_true(s_healthy_with(st, 2, 1.0 + eps));
    assert_false(s_healthy_with(st, 2, 1.0));
    assert_true(s_healthy_with(st, 2, 2.0 - eps));
    assert_false(s_healthy_with(st, 2, 2.0));
    /* a NaN height fails (set without mj_forward: NaN geometry would fill the contact buffer) */
    mjt_set_state(st, s_qpos0, NULL);
    mjt_data(st)->qpos[2] = NAN;
    assert_false(humanoid_task.healthy(mjt_model(st), mjt_data(st)));
    /* nothing else is checked */
    assert_true(s_healthy_with(st, 0, 1e6));
    assert_true(s_healthy_with(st, 10, 50.0));
    mujoco_task_destroy(st);
}

static double s_high[NQ] = {0, 0, 2.5, 1};

static void test_terminating_step(void **state) {
    (void)state;
    void *st = mjt_make(&humanoid_task);
    const float a[NU] = {0, 0.2f};
    float r;
    bool term;
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, s_high, NULL, a, &r, &term);
    assert_true(term);
    assert_false(t.healthy);
    CLOSE(r, 1.25 * t.velocity + 5.0 - 0.1 * 0.04, 1e-5);
    mujoco_task_destroy(st);
}

static void test_episodes_terminate(void **state) {
    (void)state;
    void *st = mjt_make(&humanoid_task);
    const mjData *d = mjt_data(st);
    rng_t rng;
    rng_seed(&rng, 5);
    float obs[OBS], a[NU];
    for (int ep = 0; ep < 4; ep++) {
        mujoco_task_reset(st, 400 + ep, obs);
        bool term = false;
        int t = 0;
        while (!term && t < 1000) {
            for (int i = 0; i < NU; i++)
                a[i] = ep < 2 ? 0.0f : (float)rng_uniform_range(&rng, -0.4, 0.4);
            mujoco_task_step(st, a, obs, &term);
            t++;
            assert_int_equal(term, !(1.0 < d->qpos[2] && d->qpos[2] < 2.0));
        }
        if (!term)
            fail_msg("episode %d: the humanoid did not fall in 1000 steps", ep);
    }
    mujoco_task_destroy(st);
}

static void test_time_limit(void **state) {
    (void)state;
    mjt_check_time_limit(&humanoid_task, s_qpos0, s_high);
}

int main(void) {
    unsetenv("MPO_MODEL_DIR");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_observation),  cmocka_unit_test(test_reward_terms),
        cmocka_unit_test(test_health),       cmocka_unit_test(test_terminating_step),
        cmocka_unit_test(test_episodes_terminate), cmocka_unit_test(test_time_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
