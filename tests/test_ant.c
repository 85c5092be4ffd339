/* Ant-v4 against the facts (docs/environments.md): the compiled model's check values (body order,
 * ankle axes and ranges, the actuator order that is not the joint order, 4 active ankle limits at
 * qpos0), the reset ranges with the free joint's quaternion normalised, the 27-float observation
 * (no contact forces by default, nothing clipped), the forward reward from the torso body's xpos,
 * the control cost, the inclusive height band and the finiteness check, the healthy reward on the
 * terminating step, and termination kept apart from the 1000-step time limit. */
#include "tests/test_util.h"

#include <stdlib.h>

#include "tests/test_mujoco_util.h"

#define NQ 15
#define NV 14
#define NU 8
#define OBS 27
#define DT 0.05

static const double s_qpos0[NQ] = {0, 0, 0.75, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const mjt_facts_t s_facts = {.dt = DT, .reset_noise = 0.1, .qvel_noise = MUJOCO_QVEL_NORMAL,
                                    .forward_weight = 1.0, .ctrl_cost_weight = 0.5, .healthy_reward = 1.0};

static void test_model(void **state) {
    (void)state;
    void *st = mjt_make(&ant_task);
    const mjModel *m = mjt_model(st);
    assert_int_equal(m->nq, NQ);
    assert_int_equal(m->nv, NV);
    assert_int_equal(m->nu, NU);
    assert_int_equal(m->nbody, 14);
    assert_int_equal(m->njnt, 9);
    assert_int_equal(m->ngeom, 14);
    assert_true(m->opt.timestep == 0.01);
    assert_int_equal(m->opt.integrator, mjINT_RK4);
    assert_int_equal(m->opt.solver, mjSOL_NEWTON);
    assert_int_equal(m->opt.iterations, 100);
    /* body order (the cfrc_ext layout): world, torso, then per leg hip segment, aux, foot */
    static const char *const bodies[14] = {"world", "torso", "front_left_leg", "aux_1", NULL,
                                           "front_right_leg", "aux_2", NULL, "back_leg", "aux_3",
                                           NULL, "right_back_leg", "aux_4", NULL};
    for (int b = 0; b < 14; b++) {
        const char *name = mj_id2name(m, mjOBJ_BODY, b);
        if (bodies[b] ? !name || strcmp(name, bodies[b]) : name && name[0])
            fail_msg("body %d is '%s', expected '%s'", b, name ? name : "", bodies[b] ? bodies[b] : "");
        double mass = b == 0 ? 0 : b == 1 ? 0.327249 : (b - 1) % 3 == 0 ? 0.067592 : 0.039158;
        CLOSE(m->body_mass[b], mass, 1e-6);
    }
    static const mjt_mass_t torso[] = {{"torso", 0.327249}};
    mjt_check_masses(m, torso, 1, 0.910880);
    for (int i = 0; i < 3; i++)
        CLOSE(m->body_inertia[3 + i], 0.00818123, 1e-8);
    for (int i = 0; i < NQ; i++)
        CLOSE(m->qpos0[i], s_qpos0[i], 0);
    /* hinges in joint order hip_1, ankle_1, ..., hip_4, ankle_4: axes, ranges, armature, damping */
    const double r = sqrt(0.5), h = 0.523599, a = 1.221730;
    static const char *const hinges[8] = {"hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4"};
    const double axis[8][3] = {{0, 0, 1}, {-r, r, 0}, {0, 0, 1}, {r, r, 0}, {0, 0, 1}, {-r, r, 0}, {0, 0, 1}, {r, r, 0}};
    const double range[8][2] = {{-h, h}, {h, a}, {-h, h}, {-a, -h}, {-h, h}, {-a, -h}, {-h, h}, {h, a}};
    assert_int_equal(m->jnt_type[0], mjJNT_FREE);
    assert_int_equal(m->jnt_limited[0], 0);
    for (int i = 0; i < 6; i++) {
        CLOSE(m->dof_armature[i], 0.0, 0);
        CLOSE(m->dof_damping[i], 0.0, 0);
    }
    for (int j = 0; j < 8; j++) {
        assert_string_equal(mj_id2name(m, mjOBJ_JOINT, j + 1), hinges[j]);
        assert_int_equal(m->jnt_limited[j + 1], 1);
        for (int i = 0; i < 3; i++)
            CLOSE(m->jnt_axis[3 * (j + 1) + i], axis[j][i], 1e-12);
        CLOSE(m->jnt_range[2 * (j + 1)], range[j][0], 1e-6);
        CLOSE(m->jnt_range[2 * (j + 1) + 1], range[j][1], 1e-6);
        CLOSE(m->dof_armature[6 + j], 1.0, 0);
        CLOSE(m->dof_damping[6 + j], 1.0, 0);
    }
    /* contacts: friction (1, 0.5, 0.5), condim 3, margin 0.01; ant geoms touch only the floor */
    for (int g = 0; g < 14; g++) {
        CLOSE(m->geom_friction[3 * g], 1.0, 0);
        CLOSE(m->geom_friction[3 * g + 1], 0.5, 0);
        CLOSE(m->geom_friction[3 * g + 2], 0.5, 0);
        assert_int_equal(m->geom_condim[g], 3);
        assert_int_equal(m->geom_contype[g], 1);
        assert_int_equal(m->geom_conaffinity[g], g == 0);
        CLOSE(m->geom_margin[g], 0.01, 0);
    }
    assert_int_equal(mj_name2id(m, mjOBJ_GEOM, "fourth_ankle_geom"), 13);
    static const char *const joints[NU] = {"hip_4", "ankle_4", "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3"};
    static const double gears[NU] = {150, 150, 150, 150, 150, 150, 150, 150};
    mjt_check_actuators(m, &ant_task.spec, joints, gears, -1, 1);
    assert_string_equal(ant_ops.spec->name, "Ant-v4");
    assert_int_equal(ant_ops.spec->obs_dim, OBS);
    assert_int_equal(ant_ops.spec->max_episode_steps, 1000);
    assert_false(ant_task.contact_forces); /* v4's default: no contact forces, no contact cost */
    /* at qpos0 every ankle sits outside its range: 4 limit constraints, no contact */
    mjt_set_state(st, s_qpos0, NULL);
    assert_int_equal(mjt_data(st)->nefc, 4);
    assert_int_equal(mjt_data(st)->ncon, 0);
    mjt_check_file_matches(&ant_task, m);
    mujoco_task_destroy(st);
}

/* qpos0 + U(-0.1, 0.1) on all 15 entries, qvel 0.1 N(0, 1); mj_forward normalises the quaternion */
static void test_reset(void **state) {
    (void)state;
    mjt_check_reset_ranges(&ant_task, &s_facts, 3);
    void *st = mjt_make(&ant_task);
    const mjData *d = mjt_data(st);
    float obs[OBS];
    for (int s = 1; s <= 50; s++) {
        mujoco_task_reset(st, (uint64_t)s, obs);
        const double *q = d->qpos + 3;
        CLOSE(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3], 1.0, 1e-12);
        /* (1 + u0, u1, u2, u3) / norm with |u| <= 0.1: norm in [0.9, 1.12] */
        assert_true(q[0] > 0.9 / 1.12);
        for (int i = 1; i < 4; i++)
            assert_true(fabs(q[i]) <= 0.1 / 0.9);
        for (int i = 1; i <= 4; i++)
            assert_true(obs[i] == (float)q[i - 1]);
    }
    mujoco_task_destroy(st);
}

/* obs = qpos[2:15] then qvel[0:14], nothing clipped; x and y never appear */
static void test_observation(void **state) {
    (void)state;
    void *st = mjt_make(&ant_task);
    double qpos[NQ], qvel[NV];
    for (int i = 0; i < NQ; i++)
        qpos[i] = 0.01 * i;
    qpos[0] = 55, qpos[1] = -66, qpos[3] = 1, qpos[4] = qpos[5] = qpos[6] = 0;
    for (int i = 0; i < NV; i++)
        qvel[i] = 3.0 * i - 20; /* -20 .. 19: beyond the walkers' clip of 10 */
    mjt_set_state(st, qpos, qvel);
    float obs[OBS];
    ant_task.observe(mjt_model(st), mjt_data(st), obs);
    for (int i = 0; i < 13; i++)
        assert_true(obs[i] == (float)qpos[i + 2]);
    for (int i = 0; i < NV; i++)
        assert_true(obs[13 + i] == (float)qvel[i]);
    mujoco_task_destroy(st);
}

/* In free flight with every ankle inside its range and no action, the ant moves rigidly: the
 * torso's x advances v * dt and the forward reward is v (the y velocity is not rewarded). */
static void test_reward_terms(void **state) {
    (void)state;
    void *st = mjt_make(&ant_task);
    const mjData *d = mjt_data(st);
    const double air[NQ] = {0.2, 0.1, 0.9, 1, 0, 0, 0, 0, 0.8, 0, -0.8, 0, -0.8, 0, 0.8};
    const double v[NV] = {1.2, 0.7};
    const float zero[NU] = {0};
    float r;
    bool term;
    mjt_set_state(st, air, NULL);
    assert_int_equal(mjt_data(st)->nefc, 0);
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, air, v, zero, &r, &term);
    CLOSE(d->qpos[0], 0.2 + 1.2 * DT, 1e-12);
    CLOSE(t.velocity, 1.2, 1e-9);
    CLOSE(r, 1.2 + 1.0, 1e-6);
    assert_false(term);
    /* control cost 0.5 * sum(a^2) = 0.5 * (1 + 1 + 0.25 + 0.25 + 0.01 + 0.01 + 0.09 + 0.09) = 0.5 * 2.7 */
    const float a[NU] = {1.0f, -1.0f, 0.5f, -0.5f, 0.1f, -0.1f, 0.3f, -0.3f};
    t = mjt_step_from(st, &s_facts, s_qpos0, NULL, a, &r, &term);
    CLOSE(t.ctrl_cost, 2.7, 1e-6);
    CLOSE(r, t.velocity + 1.0 - 0.5 * t.ctrl_cost, 1e-6);
    mujoco_task_destroy(st);
}

/* x is the torso body's data.xpos as mj_step left it, not qpos[0]: on a walking ant the two give
 * different velocities (RK4 leaves xpos at its last stage) and the reward follows xpos */
static void test_forward_is_xpos(void **state) {
    (void)state;
    void *st = mjt_make(&ant_task);
    const mjData *d = mjt_data(st);
    rng_t rng;
    rng_seed(&rng, 9);
    float obs[OBS], a[NU];
    mujoco_task_reset(st, 4, obs);
    int differ = 0;
    for (int t = 0; t < 60; t++) {
        for (int i = 0; i < NU; i++)
            a[i] = (float)rng_uniform_range(&rng, -1, 1);
        double x0 = d->xpos[3], q0 = d->qpos[0];
        bool term;
        mujoco_task_step(st, a, obs, &term);
        double v = mujoco_task_terms(st).velocity;
        CLOSE(v, (d->xpos[3] - x0) / DT, 1e-12);
        differ += fabs(v - (d->qpos[0] - q0) / DT) > 1e-6;
        if (term)
            mujoco_task_reset(st, 100 + t, obs);
    }
    assert_true(differ > 0);
    mujoco_task_destroy(st);
}

static bool s_healthy_with(void *st, int qpos_i, double qpos_v, int qvel_i, double qvel_v) {
    double qpos[NQ], qvel[NV] = {0};
    memcpy(qpos, s_qpos0, sizeof qpos);
    if (qpos_i >= 0)
        qpos[qpos_i] = qpos_v;
    if (qvel_i >= 0)
        qvel[qvel_i] = qvel_v;
    mjt_set_state(st, qpos, qvel);
    return ant_task.healthy(mjt_model(st), mjt_data(st));
}

static void test_health(void **state) {
    (void)state;
    void *st = mjt_make(&ant_task);
    const double eps = 1e-9;
    assert_true(s_healthy_with(st, -1, 0, -1, 0));
    /* 0.2 <= z <= 1.0, both ends included */
    assert_true(s_healthy_with(st, 2, 0.2, -1, 0));
    assert_false(s_healthy_with(st, 2, 0.2 - eps, -1, 0));
    assert_true(s_healthy_with(st, 2, 1.0, -1, 0));
    assert_false(s_healthy_with(st, 2, 1.0 + eps, -1, 0));
    /* every qpos and qvel entry finite; large finite values are fine */
    for (int i = 0; i < NQ; i++)
        if (i != 2 && !(i >= 3 && i < 7))
            assert_false(s_healthy_with(st, i, NAN, -1, 0));
    assert_false(s_healthy_with(st, 9, INFINITY, -1, 0));
    for (int i = 0; i < NV; i++) {
        assert_false(s_healthy_with(st, -1, 0, i, NAN));
        assert_false(s_healthy_with(st, -1, 0, i, -INFINITY));
        assert_true(s_healthy_with(st, -1, 0, i, 1e6));
    }
    assert_true(s_healthy_with(st, 0, 1e6, -1, 0));
    mujoco_task_destroy(st);
}

static const double s_high[NQ] = {0, 0, 1.5, 1, 0, 0, 0, 0, 0.8, 0, -0.8, 0, -0.8, 0, 0.8};

static void test_terminating_step(void **state) {
    (void)state;
    void *st = mjt_make(&ant_task);
    const float a[NU] = {0, 0, 0.5f};
    float r;
    bool term;
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, s_high, NULL, a, &r, &term);
    assert_true(term);
    assert_false(t.healthy);
    CLOSE(r, t.velocity + 1.0 - 0.5 * 0.25, 1e-6);
    mujoco_task_destroy(st);
}

static void test_episodes(void **state) {
    (void)state;
    void *st = mjt_make(&ant_task);
    const mjData *d = mjt_data(st);
    rng_t rng;
    rng_seed(&rng, 5);
    float obs[OBS], a[NU];
    int terminated = 0;
    for (int ep = 0; ep < 4; ep++) {
        mujoco_task_reset(st, 300 + ep, obs);
        bool term = false;
        for (int t = 0; t < 300 && !term; t++) {
            for (int i = 0; i < NU; i++)
                a[i] = (float)rng_uniform_range(&rng, -1, 1);
            mujoco_task_step(st, a, obs, &term);
            bool facts = 0.2 <= d->qpos[2] && d->qpos[2] <= 1.0;
            assert_int_equal(term, !facts);
        }
        terminated += term;
    }
    print_message("%d of 4 random-action ant episodes terminated within 300 steps\n", terminated);
    mujoco_task_destroy(st);
}

static void test_time_limit(void **state) {
    (void)state;
    mjt_check_time_limit(&ant_task, s_qpos0, s_high);
}

int main(void) {
    unsetenv("MPO_MODEL_DIR");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),           cmocka_unit_test(test_reset),
        cmocka_unit_test(test_observation),     cmocka_unit_test(test_reward_terms),
        cmocka_unit_test(test_forward_is_xpos), cmocka_unit_test(test_health),
        cmocka_unit_test(test_terminating_step), cmocka_unit_test(test_episodes),
        cmocka_unit_test(test_time_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
