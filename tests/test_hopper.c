/* Hopper-v4 against the facts (docs/environments.md): the compiled model's check values, the reset
 * ranges and the observation's layout (qvel clipped, x left out), each reward term on a hand-set
 * state, every bound of the health check from just inside and just outside, the healthy reward on
 * the terminating step, and termination kept apart from the 1000-step time limit. */
#include "tests/test_util.h"

#include <stdlib.h>

#include "tests/test_mujoco_util.h"

#define NQ 6
#define NV 6
#define OBS 11
#define DT 0.008

static const double s_qpos0[NQ] = {0, 1.25, 0, 0, 0, 0};
static const mjt_facts_t s_facts = {.dt = DT, .reset_noise = 5e-3, .qvel_noise = MUJOCO_QVEL_UNIFORM,
                                    .forward_weight = 1.0, .ctrl_cost_weight = 1e-3, .healthy_reward = 1.0};

static void test_model(void **state) {
    (void)state;
    void *st = mjt_make(&hopper_task);
    const mjModel *m = mjt_model(st);
    assert_int_equal(m->nq, NQ);
    assert_int_equal(m->nv, NV);
    assert_int_equal(m->nu, 3);
    assert_int_equal(m->nbody, 5);
    assert_int_equal(m->ngeom, 5);
    assert_true(m->opt.timestep == 0.002);
    assert_int_equal(m->opt.integrator, mjINT_RK4);
    assert_int_equal(m->opt.solver, mjSOL_NEWTON);
    assert_int_equal(m->opt.iterations, 100);
    CLOSE(mujoco_task_sim(st)->dt, DT, 1e-15);
    static const mjt_mass_t masses[] = {{"torso", 3.665191}, {"thigh", 4.057891}, {"leg", 2.781357}, {"foot", 5.315575}};
    mjt_check_masses(m, masses, 4, 15.820013);
    /* principal inertias, body order torso, thigh, leg, foot */
    static const double inertia[4][3] = {{0.0692459, 0.0692459, 0.00445059},
                                         {0.0932988, 0.0932988, 0.00494146},
                                         {0.0723025, 0.0723025, 0.00218219},
                                         {0.103523, 0.103523, 0.00924231}};
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 3; i++)
            CLOSE(m->body_inertia[3 * (b + 1) + i], inertia[b][i], 1e-6);
    for (int i = 0; i < NQ; i++)
        CLOSE(m->qpos0[i], s_qpos0[i], 0);
    /* joints: the roots free of armature, damping and limits; the leg joints' ranges in radians */
    static const double lo[NV] = {0, 0, 0, -2.617994, -2.617994, -0.785398}, hi[NV] = {0, 0, 0, 0, 0, 0.785398};
    for (int j = 0; j < NV; j++) {
        assert_int_equal(m->jnt_limited[j], j >= 3);
        CLOSE(m->dof_armature[j], j >= 3 ? 1.0 : 0.0, 0);
        CLOSE(m->dof_damping[j], j >= 3 ? 1.0 : 0.0, 0);
        CLOSE(m->jnt_stiffness[j], 0.0, 0);
        CLOSE(m->jnt_range[2 * j], lo[j], 1e-6);
        CLOSE(m->jnt_range[2 * j + 1], hi[j], 1e-6);
    }
    /* contacts: the floor condim 3, the parts condim 1 and colliding with each other; friction
     * (0.9 | 2.0 on the foot, 0.005, 0.0001), the floor MuJoCo's (1, 0.005, 0.0001) */
    static const double slide[5] = {1.0, 0.9, 0.9, 0.9, 2.0};
    for (int g = 0; g < 5; g++) {
        CLOSE(m->geom_friction[3 * g], slide[g], 0);
        CLOSE(m->geom_friction[3 * g + 1], 0.005, 0);
        CLOSE(m->geom_friction[3 * g + 2], 0.0001, 0);
        assert_int_equal(m->geom_condim[g], g == 0 ? 3 : 1);
        assert_int_equal(m->geom_contype[g], 1);
        assert_int_equal(m->geom_conaffinity[g], 1);
        CLOSE(m->geom_margin[g], 0.001, 0);
        static const double solimp[5] = {0.8, 0.8, 0.01, 0.5, 2};
        for (int i = 0; i < 5; i++)
            CLOSE(m->geom_solimp[5 * g + i], solimp[i], 0);
        CLOSE(m->geom_solref[2 * g], 0.02, 0);
        CLOSE(m->geom_solref[2 * g + 1], 1.0, 0);
    }
    static const char *const joints[] = {"thigh_joint", "leg_joint", "foot_joint"};
    static const double gears[] = {200, 200, 200};
    mjt_check_actuators(m, &hopper_task.spec, joints, gears, -1, 1);
    const env_spec_t *spec = hopper_ops.spec;
    assert_string_equal(spec->name, "Hopper-v4");
    assert_int_equal(spec->obs_dim, OBS);
    assert_int_equal(spec->max_episode_steps, 1000);
    /* at qpos0 the foot is 0.04 m above the floor and nothing touches */
    mjt_set_state(st, s_qpos0, NULL);
    const mjData *d = mjt_data(st);
    int foot = mj_name2id(m, mjOBJ_GEOM, "foot_geom");
    CLOSE(d->geom_xpos[3 * foot + 2] - m->geom_size[3 * foot], 0.04, 1e-12);
    assert_int_equal(d->ncon, 0);
    mjt_check_file_matches(&hopper_task, m);
    mujoco_task_destroy(st);
}

static void test_reset(void **state) {
    (void)state;
    mjt_check_reset_ranges(&hopper_task, &s_facts, -1);
}

/* obs = qpos[1:6] then clip(qvel, -10, 10); qpos[0] never appears */
static void test_observation(void **state) {
    (void)state;
    void *st = mjt_make(&hopper_task);
    const double qpos[NQ] = {123.0, 1.1, 0.05, -0.3, -0.4, 0.2};
    const double qvel[NV] = {15.0, -12.0, 9.5, -10.0, 10.5, 0.25};
    mjt_set_state(st, qpos, qvel);
    float obs[OBS];
    hopper_task.observe(mjt_model(st), mjt_data(st), obs);
    const float want[OBS] = {1.1f, 0.05f, -0.3f, -0.4f, 0.2f, 10.0f, -10.0f, 9.5f, -10.0f, 10.0f, 0.25f};
    assert_memory_equal(obs, want, sizeof want);
    mujoco_task_destroy(st);
}

/* forward: in the air at rest but for a known x velocity, the hopper moves rigidly: x advances
 * v * dt and the forward reward is v; control cost 1e-3 * sum(a^2) on the action as passed */
static void test_reward_terms(void **state) {
    (void)state;
    void *st = mjt_make(&hopper_task);
    const mjData *d = mjt_data(st);
    const double air[NQ] = {0.3, 1.5, 0, 0, 0, 0}; /* foot 0.29 m above the floor */
    const double v[NV] = {1.5, 0, 0, 0, 0, 0};
    const float zero[3] = {0, 0, 0};
    float r;
    bool term;
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, air, v, zero, &r, &term);
    CLOSE(d->qpos[0], 0.3 + 1.5 * DT, 1e-12);
    CLOSE(t.velocity, 1.5, 1e-9);
    CLOSE(r, 1.5 + 1.0, 1e-6);
    assert_false(term);

    /* a known action: cost 1e-3 * (0.25 + 1 + 0.0625) = 1.3125e-3 */
    const float a[3] = {0.5f, -1.0f, 0.25f};
    t = mjt_step_from(st, &s_facts, s_qpos0, NULL, a, &r, &term);
    CLOSE(t.ctrl_cost, 1.3125, 0);
    CLOSE(r, t.velocity + 1.0 - 1.3125e-3, 1e-6);
    /* outside ctrlrange: the cost uses 1.7 (2.89), MuJoCo applies the clamped force 200 N m */
    const float big[3] = {1.7f, 0, 0};
    t = mjt_step_from(st, &s_facts, s_qpos0, NULL, big, &r, &term);
    CLOSE(t.ctrl_cost, (double)1.7f * 1.7f, 0);
    CLOSE(d->qfrc_actuator[3], 200.0, 1e-9);
    mujoco_task_destroy(st);
}

/* one state, changed in one place */
static bool s_healthy_with(void *st, int qpos_i, double qpos_v, int qvel_i, double qvel_v) {
    double qpos[NQ], qvel[NV] = {0};
    memcpy(qpos, s_qpos0, sizeof qpos);
    if (qpos_i >= 0)
        qpos[qpos_i] = qpos_v;
    if (qvel_i >= 0)
        qvel[qvel_i] = qvel_v;
    mjt_set_state(st, qpos, qvel);
    return hopper_task.healthy(mjt_model(st), mjt_data(st));
}

static void test_health(void **state) {
    (void)state;
    void *st = mjt_make(&hopper_task);
    const double eps = 1e-9;
    assert_true(s_healthy_with(st, -1, 0, -1, 0));
    /* torso height: 0.7 < z, no upper bound (z is not in the state range); +inf fails */
    assert_true(s_healthy_with(st, 1, 0.7 + eps, -1, 0));
    assert_false(s_healthy_with(st, 1, 0.7, -1, 0));
    assert_false(s_healthy_with(st, 1, 0.7 - eps, -1, 0));
    assert_true(s_healthy_with(st, 1, 150.0, -1, 0));
    assert_false(s_healthy_with(st, 1, INFINITY, -1, 0));
    /* pitch: -0.2 < angle < 0.2 */
    assert_true(s_healthy_with(st, 2, 0.2 - eps, -1, 0));
    assert_true(s_healthy_with(st, 2, -0.2 + eps, -1, 0));
    assert_false(s_healthy_with(st, 2, 0.2, -1, 0));
    assert_false(s_healthy_with(st, 2, -0.2, -1, 0));
    /* the state range (-100, 100) on qpos[2:6] and unclipped qvel[0:6]; x is not in it */
    for (int i = 3; i < NQ; i++) {
        assert_true(s_healthy_with(st, i, 100 - 1e-6, -1, 0));
        assert_true(s_healthy_with(st, i, -100 + 1e-6, -1, 0));
        assert_false(s_healthy_with(st, i, 100, -1, 0));
        assert_false(s_healthy_with(st, i, -100, -1, 0));
    }
    for (int i = 0; i < NV; i++) {
        assert_true(s_healthy_with(st, -1, 0, i, 100 - 1e-6));
        assert_true(s_healthy_with(st, -1, 0, i, -100 + 1e-6));
        assert_false(s_healthy_with(st, -1, 0, i, 100));
        assert_false(s_healthy_with(st, -1, 0, i, -100));
    }
    assert_true(s_healthy_with(st, 0, 1e6, -1, 0));
    assert_false(s_healthy_with(st, -1, 0, 4, NAN));
    mujoco_task_destroy(st);
}

/* tilted past 0.2 rad: the step terminates and still pays the healthy reward (v4) */
static const double s_tilted[NQ] = {0, 1.25, 0.5, 0, 0, 0};

static void test_terminating_step(void **state) {
    (void)state;
    void *st = mjt_make(&hopper_task);
    const float a[3] = {0.1f, 0.2f, -0.3f};
    float r;
    bool term;
    mujoco_task_terms_t t = mjt_step_from(st, &s_facts, s_tilted, NULL, a, &r, &term);
    assert_true(term);
    assert_false(t.healthy);
    CLOSE(r, t.velocity + 1.0 - 1e-3 * 0.14, 1e-6);
    mujoco_task_destroy(st);
}

/* The facts' health check, written again here, on every state of real episodes: terminated
 * exactly when it fails, and a hopper left without torques falls before the time limit. */
static bool s_facts_healthy(const mjData *d) {
    bool ok = 0.7 < d->qpos[1] && -0.2 < d->qpos[2] && d->qpos[2] < 0.2;
    for (int i = 2; i < NQ; i++)
        ok = ok && fabs(d->qpos[i]) < 100;
    for (int i = 0; i < NV; i++)
        ok = ok && fabs(d->qvel[i]) < 100;
    return ok;
}

static void test_episodes_terminate(void **state) {
    (void)state;
    void *st = mjt_make(&hopper_task);
    const mjData *d = mjt_data(st);
    rng_t rng;
    rng_seed(&rng, 3);
    float obs[OBS], a[3];
    for (int ep = 0; ep < 6; ep++) {
        mujoco_task_reset(st, 100 + ep, obs);
        bool term = false;
        int t = 0;
        while (!term && t < 1000) {
            for (int i = 0; i < 3; i++)
                a[i] = ep < 3 ? 0.0f : (float)rng_uniform_range(&rng, -1, 1);
            mujoco_task_step(st, a, obs, &term);
            t++;
            assert_int_equal(term, !s_facts_healthy(d));
        }
        if (!term)
            fail_msg("episode %d: the hopper did not fall in 1000 steps", ep);
    }
    mujoco_task_destroy(st);
}

static void test_time_limit(void **state) {
    (void)state;
    mjt_check_time_limit(&hopper_task, s_qpos0, s_tilted);
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
