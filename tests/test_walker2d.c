/* Walker2d-v4 against the facts (docs/environments.md): the compiled model's check values (the v4
 * file's left-foot friction 1.9 included), the reset ranges and the observation's layout (qvel
 * clipped, x left out), each reward term on a hand-set state, the health check's bounds from just
 * inside and just outside (and no state-range check), the healthy reward on the terminating step,
 * and termination kept apart from the 1000-step time limit. */
#include "tests/test_util.h"

#include <stdlib.h>

#include "tests/test_mujoco_util.h"

#define NQ 9
#define NV 9
#define NU 6
#define OBS 17
#define DT 0.008

static const double s_qpos0[NQ] = {0, 1.25, 0, 0, 0, 0, 0, 0, 0};
static const mjt_facts_t s_facts = {.dt = DT, .reset_noise = 5e-3, .qvel_noise = MUJOCO_QVEL_UNIFORM,
                                    .forward_weight = 1.0, .ctrl_cost_weight = 1e-3, .healthy_reward = 1.0};

static void test_model(void **state) {
    (void)state;
    void *st = mjt_make(&walker2d_task);
    const mjModel *m = mjt_model(st);
    assert_int_equal(m->nq, NQ);
    assert_int_equal(m->nv, NV);
    assert_int_equal(m->nu, NU);
    assert_int_equal(m->nbody, 8);
    assert_int_equal(m->ngeom, 8);
    assert_true(m->opt.timestep == 0.002);
    assert_int_equal(m->opt.integrator, mjINT_RK4);
    assert_int_equal(m->opt.solver, mjSOL_NEWTON);
    assert_int_equal(m->opt.iterations, 100);
    static const mjt_mass_t masses[] = {
        {"torso", 3.665191},      {"thigh", 4.057891},    {"leg", 2.781357},      {"foot", 3.166725},
        {"thigh_left", 4.057891}, {"leg_left", 2.781357}, {"foot_left", 3.166725},
    };
    mjt_check_masses(m, masses, 7, 23.677137);
    static const double foot_inertia[3] = {0.0239977, 0.0239977, 0.00537439};
    for (int i = 0; i < 3; i++) {
        CLOSE(m->body_inertia[3 * mj_name2id(m, mjOBJ_BODY, "foot") + i], foot_inertia[i], 1e-7);
        CLOSE(m->body_inertia[3 * mj_name2id(m, mjOBJ_BODY, "foot_left") + i], foot_inertia[i], 1e-7);
    }
    for (int i = 0; i < NQ; i++)
        CLOSE(m->qpos0[i], s_qpos0[i], 0);
    /* joints in qpos order: rootx, rootz, rooty, then right and left thigh, leg, foot */
    static const double lo[3] = {-2.617994, -2.617994, -0.785398}, hi[3] = {0, 0, 0.785398};
    for (int j = 0; j < NV; j++) {
        assert_int_equal(m->jnt_limited[j], j >= 3);
        CLOSE(m->dof_armature[j], j >= 3 ? 0.01 : 0.0, 0);
        CLOSE(m->dof_damping[j], j >= 3 ? 0.1 : 0.0, 0);
        CLOSE(m->jnt_stiffness[j], 0.0, 0);
        if (j >= 3) {
            CLOSE(m->jnt_range[2 * j], lo[(j - 3) % 3], 1e-6);
            CLOSE(m->jnt_range[2 * j + 1], hi[(j - 3) % 3], 1e-6);
        }
    }
    /* contacts: friction (0.9 | 1.9 on the left foot | the floor's 0.7, 0.1, 0.1), condim 3, the
     * walker's geoms conaffinity 0 (floor only), margin 0, MuJoCo's solref/solimp */
    static const double slide[8] = {0.7, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 1.9};
    for (int g = 0; g < 8; g++) {
        CLOSE(m->geom_friction[3 * g], slide[g], 0);
        CLOSE(m->geom_friction[3 * g + 1], 0.1, 0);
        CLOSE(m->geom_friction[3 * g + 2], 0.1, 0);
        assert_int_equal(m->geom_condim[g], 3);
        assert_int_equal(m->geom_contype[g], 1);
        assert_int_equal(m->geom_conaffinity[g], g == 0);
        CLOSE(m->geom_margin[g], 0.0, 0);
        static const double solimp[5] = {0.9, 0.95, 0.001, 0.5, 2};
        for (int i = 0; i < 5; i++)
            CLOSE(m->geom_solimp[5 * g + i], solimp[i], 0);
        CLOSE(m->geom_solref[2 * g], 0.02, 0);
    }
    assert_int_equal(mj_name2id(m, mjOBJ_GEOM, "foot_left_geom"), 7);
    static const char *const joints[] = {"thigh_joint",      "leg_joint",      "foot_joint",
                                         "thigh_left_joint", "leg_left_joint", "foot_left_joint"};
    static const double gears[] = {100, 100, 100, 100, 100, 100};
    mjt_check_actuators(m, &walker2d_task.spec, joints, gears, -1, 1);
    assert_string_equal(walker2d_ops.spec->name, "Walker2d-v4");
    assert_int_equal(walker2d_ops.spec->obs_dim, OBS);
    assert_int_equal(walker2d_ops.spec->max_episode_steps, 1000);
    /* at qpos0 both feet are 0.04 m above the floor, spanning x 0 .. 0.2 */
    mjt_set_state(st, s_qpos0, NULL);
    const mjData *d = mjt_data(st);
    for (int g = 4; g <= 7; g += 3) {
        CLOSE(d->geom_xpos[3 * g + 2] - m->geom_size[3 * g], 0.04, 1e-12);
        CLOSE(d->geom_xpos[3 * g + 0], 0.1, 1e-12);
        CLOSE(m->geom_size[3 * g + 1], 0.1, 1e-12);
    }
    assert_int_equal(d->ncon, 0);
    mjt_check_file_matches(&walker2d_task, m);
    mujoco_task_destroy(st);
}

static void test_reset(void **state) {
    (void)state;
    mjt_check_reset_ranges(&walker2d_task, &s_facts, -1);
}

/* obs = qpos[1:9] then clip(qvel, -10, 10); qpos[0] never appears */
static void test_observation(void **state) {
    (void)state;
    void *st = mjt_make(&walker2d_task);
    const double qpos[NQ] = {77.0, 1.1, 0.05, -0.3, -0.4, 0.2, -1.0, -0.5, 0.1};
    const double qvel[NV] = {15.0, -12.0, 9.5, -10.0, 10.5, 0.25, -30, 1, 2};
    mjt_set_state(st, qpos, qvel);
    float obs[OBS];
    walker2d_task.observe(mjt_model(st), mjt_data(st), obs);
    const float want[OBS] = {1.1f, 0.05f, -0.3f, -0.4f, 0.2f, -1.0f, -0.5f, 0.1f, 10.0f,
                             -10.0f, 9.5f, -10.0f, 10.0f, 0.25f, -10.0f, 1.0f, 2.0f};
    assert_memory_equal(obs, want, sizeof want);
    mujoco_task_destroy(st);
}

/* forward: in the air, at rest but for a known x velocity, x advances v * dt; control cost
 * 1e-3 * sum(a^2) on the action as passed */
static void test_reward_terms(void **state) {
    (void)state;
    void *st = mjt_make(&walker2d_task);
    const mjData *d = mjt_data(st);
    const double air[NQ] = {-0.4, 1.6, 0, 0, 0, 0, 0, 0, 0};
    double v[NV] = {-2.0};
    const float zero[NU] = {0};
    float r;
    bool term;
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, air, v, zero, &r, &term);
    CLOSE(d->qpos[0], -0.4 - 2.0 * DT, 1e-12);
    CLOSE(t.velocity, -2.0, 1e-9);
    CLOSE(r, -2.0 + 1.0, 1e-6);
    assert_false(term);
    /* 1 + 0.25 + 0 + 0.09 + 0.49 + 2.25 = 4.08 (the last beyond ctrlrange: counted as passed) */
    const float a[NU] = {1.0f, -0.5f, 0.0f, 0.3f, -0.7f, 1.5f};
    t = mjt_step_from(st, &s_facts, s_qpos0, NULL, a, &r, &term);
    double cost = 0;
    for (int i = 0; i < NU; i++)
        cost += (double)a[i] * a[i];
    CLOSE(cost, 4.08, 1e-6);
    CLOSE(t.ctrl_cost, cost, 0);
    CLOSE(r, t.velocity + 1.0 - 1e-3 * cost, 1e-6);
    CLOSE(d->qfrc_actuator[8], 100.0, 1e-9); /* foot_left: the clamped force, 100 * 1 */
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
    return walker2d_task.healthy(mjt_model(st), mjt_data(st));
}

static void test_health(void **state) {
    (void)state;
    void *st = mjt_make(&walker2d_task);
    const double eps = 1e-9;
    assert_true(s_healthy_with(st, -1, 0, -1, 0));
    /* 0.8 < z < 2.0 */
    assert_true(s_healthy_with(st, 1, 0.8 + eps, -1, 0));
    assert_false(s_healthy_with(st, 1, 0.8, -1, 0));
    assert_true(s_healthy_with(st, 1, 2.0 - eps, -1, 0));
    assert_false(s_healthy_with(st, 1, 2.0, -1, 0));
    assert_false(s_healthy_with(st, 1, NAN, -1, 0));
    /* -1 < angle < 1 */
    assert_true(s_healthy_with(st, 2, 1.0 - eps, -1, 0));
    assert_true(s_healthy_with(st, 2, -1.0 + eps, -1, 0));
    assert_false(s_healthy_with(st, 2, 1.0, -1, 0));
    assert_false(s_healthy_with(st, 2, -1.0, -1, 0));
    /* no state-range check: huge joint angles and velocities stay healthy */
    assert_true(s_healthy_with(st, 5, 500.0, -1, 0));
    for (int i = 0; i < NV; i++)
        assert_true(s_healthy_with(st, -1, 0, i, 1e6));
    assert_true(s_healthy_with(st, 0, -1e6, -1, 0));
    mujoco_task_destroy(st);
}

static const double s_tilted[NQ] = {0, 1.25, 1.5, 0, 0, 0, 0, 0, 0};

static void test_terminating_step(void **state) {
    (void)state;
    void *st = mjt_make(&walker2d_task);
    const float a[NU] = {0.5f};
    float r;
    bool term;
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, s_tilted, NULL, a, &r, &term);
    assert_true(term);
    assert_false(t.healthy);
    CLOSE(r, t.velocity + 1.0 - 1e-3 * 0.25, 1e-6);
    mujoco_task_destroy(st);
}

static void test_episodes_terminate(void **state) {
    (void)state;
    void *st = mjt_make(&walker2d_task);
    const mjData *d = mjt_data(st);
    rng_t rng;
    rng_seed(&rng, 5);
    float obs[OBS], a[NU];
    for (int ep = 0; ep < 6; ep++) {
        mujoco_task_reset(st, 200 + ep, obs);
        bool term = false;
        int t = 0;
        while (!term && t < 1000) {
            for (int i = 0; i < NU; i++)
                a[i] = ep < 3 ? 0.0f : (float)rng_uniform_range(&rng, -1, 1);
            mujoco_task_step(st, a, obs, &term);
            t++;
            bool facts = 0.8 < d->qpos[1] && d->qpos[1] < 2.0 && fabs(d->qpos[2]) < 1.0;
            assert_int_equal(term, !facts);
        }
        if (!term)
            fail_msg("episode %d: the walker did not fall in 1000 steps", ep);
    }
    mujoco_task_destroy(st);
}

static void test_time_limit(void **state) {
    (void)state;
    mjt_check_time_limit(&walker2d_task, s_qpos0, s_tilted);
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
