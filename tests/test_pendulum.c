/* Pendulum-v1 through the env interface: spec, seeded resets, the dynamics and reward against the
 * facts of Gymnasium's Pendulum-v1 (docs/environments.md) worked in double here, torque and speed clipping, the
 * 200-step truncation, and the registry's error for an unknown name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "env/env.h"

#define MIN_REWARD (-16.2736044) /* -(pi^2 + 0.1 * 8^2 + 0.001 * 2^2) */

static env_t *s_new(void) {
    char err[256] = "";
    env_t *e = env_new("Pendulum-v1", err, sizeof err);
    if (!e)
        fail_msg("env_new: %s", err);
    return e;
}

/* The facts, in double: one step from (theta, theta_dot) with torque u. */
static double s_angle_normalize(double x) {
    double m = fmod(x + M_PI, 2 * M_PI);
    if (m < 0)
        m += 2 * M_PI;
    return m - M_PI;
}
static double s_expected_step(double *th, double *thdot, double u) {
    const double g = 10.0, m = 1.0, l = 1.0, dt = 0.05;
    u = u < -2 ? -2 : u > 2 ? 2 : u;
    double an = s_angle_normalize(*th);
    double cost = an * an + 0.1 * *thdot * *thdot + 0.001 * u * u;
    double nd = *thdot + (3 * g / (2 * l) * sin(*th) + 3.0 / (m * l * l) * u) * dt;
    nd = nd < -8 ? -8 : nd > 8 ? 8 : nd;
    *th = *th + nd * dt;
    *thdot = nd;
    return -cost;
}

static void test_spec(void **state) {
    (void)state;
    env_t *e = s_new();
    const env_spec_t *s = env_spec(e);
    assert_string_equal(s->name, "Pendulum-v1");
    assert_int_equal(s->obs_dim, 3);
    assert_int_equal(s->act_dim, 1);
    assert_true(s->act_low[0] == -2.0f);
    assert_true(s->act_high[0] == 2.0f);
    assert_int_equal(s->max_episode_steps, 200);
    assert_non_null(env_find("Pendulum-v1"));
    env_destroy(&e);
    assert_null(e);
    env_destroy(&e); /* NULL is fine */
}

static void test_reset_seeded(void **state) {
    (void)state;
    env_t *e = s_new(), *f = s_new();
    float a[3], b[3], c[3];
    env_reset(e, 5, a);
    env_reset(f, 5, b);
    assert_memory_equal(a, b, sizeof a); /* two instances, same seed */
    env_reset(e, 5, c);
    assert_memory_equal(a, c, sizeof a); /* the same instance again */
    env_reset(f, 6, b);
    assert_memory_not_equal(a, b, sizeof a);

    /* the start distribution: theta ~ U[-pi, pi], theta_dot ~ U[-1, 1] */
    double th_min = 10, th_max = -10, td_min = 10, td_max = -10, th_sum = 0;
    for (uint64_t seed = 0; seed < 500; seed++) {
        float o[3];
        env_reset(e, seed, o);
        CLOSE(o[0] * o[0] + o[1] * o[1], 1.0, 1e-6);
        double th = atan2(o[1], o[0]);
        assert_true(th >= -M_PI && th <= M_PI);
        assert_true(o[2] >= -1.0f && o[2] <= 1.0f);
        th_min = fmin(th_min, th), th_max = fmax(th_max, th);
        td_min = fmin(td_min, o[2]), td_max = fmax(td_max, o[2]);
        th_sum += th;
    }
    assert_true(th_min < -2.9 && th_max > 2.9); /* the whole circle, not e.g. [0, pi] */
    assert_true(td_min < -0.9 && td_max > 0.9);
    assert_true(fabs(th_sum / 500) < 0.4);
    env_destroy(&e);
    env_destroy(&f);
}

/* Each step's reward and observation against the facts applied to the previous observation
 * (theta recovered as atan2(sin, cos), theta_dot from obs[2]; the float observation limits the
 * agreement to ~1e-6). */
static void test_step_dynamics(void **state) {
    (void)state;
    env_t *e = s_new();
    float obs[3], next[3];
    bool term, trunc;
    const float actions[] = {0.0f, 1.0f, -2.0f, 0.5f, 2.0f, -0.7f, 1.9f, -1.3f, 0.0f, 0.25f};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        env_reset(e, seed, obs);
        for (int t = 0; t < 40; t++) {
            float u = actions[t % 10];
            double th = atan2(obs[1], obs[0]), thd = obs[2];
            double r_exp = s_expected_step(&th, &thd, u);
            float r = env_step(e, &u, next, &term, &trunc);
            CLOSE(r, r_exp, 2e-5);
            CLOSE(next[0], cos(th), 2e-6);
            CLOSE(next[1], sin(th), 2e-6);
            CLOSE(next[2], thd, 2e-5);
            memcpy(obs, next, sizeof obs);
        }
    }
    env_destroy(&e);
}

/* Two steps worked out in full from the start state, in double, compared with the rewards and
 * observations: cost on the state before the update, theta_dot updated first, theta with the new
 * theta_dot. */
static void test_two_steps_from_reset(void **state) {
    (void)state;
    env_t *e = s_new();
    float obs[3];
    env_reset(e, 123, obs);
    double th0 = atan2(obs[1], obs[0]), td0 = obs[2];
    /* step 1, u = 1.5 */
    double cost1 = th0 * th0 + 0.1 * td0 * td0 + 0.001 * 1.5 * 1.5;
    double td1 = td0 + (15.0 * sin(th0) + 3.0 * 1.5) * 0.05;
    double th1 = th0 + td1 * 0.05;
    /* step 2, u = -0.5 */
    double an1 = s_angle_normalize(th1);
    double cost2 = an1 * an1 + 0.1 * td1 * td1 + 0.001 * 0.25;
    double td2 = td1 + (15.0 * sin(th1) - 1.5) * 0.05;
    double th2 = th1 + td2 * 0.05;
    bool term, trunc;
    float u = 1.5f, o1[3], o2[3];
    float r1 = env_step(e, &u, o1, &term, &trunc);
    u = -0.5f;
    float r2 = env_step(e, &u, o2, &term, &trunc);
    CLOSE(r1, -cost1, 1e-5);
    CLOSE(r2, -cost2, 1e-5);
    CLOSE(o1[2], td1, 1e-5);
    CLOSE(o2[2], td2, 1e-5);
    CLOSE(atan2(o2[1], o2[0]), s_angle_normalize(th2), 1e-5);
    /* the reward uses the state before the update: with theta_dot kept, the cost of step 1 does
     * not depend on the action beyond 0.001 u^2 */
    env_reset(e, 123, obs);
    u = -1.5f;
    float r1b = env_step(e, &u, o1, &term, &trunc);
    CLOSE(r1b, r1, 1e-6);
    env_destroy(&e);
}

/* actions beyond +-2 act as +-2, bit for bit */
static void test_torque_clipping(void **state) {
    (void)state;
    env_t *e = s_new(), *f = s_new();
    float oe[3], of[3];
    bool term, trunc;
    env_reset(e, 9, oe);
    env_reset(f, 9, of);
    for (int t = 0; t < 30; t++) {
        float big = t % 3 ? 5.0f : -100.0f, clipped = t % 3 ? 2.0f : -2.0f;
        float re = env_step(e, &big, oe, &term, &trunc);
        float rf = env_step(f, &clipped, of, &term, &trunc);
        assert_true(re == rf);
        assert_memory_equal(oe, of, sizeof oe);
    }
    /* and the clipped torque is not the unclipped one: 2 differs from 1.9 */
    float u = 1.9f;
    env_reset(e, 9, oe);
    env_reset(f, 9, of);
    float two = 2.0f;
    env_step(e, &u, oe, &term, &trunc);
    env_step(f, &two, of, &term, &trunc);
    assert_true(oe[2] != of[2]);
    env_destroy(&e);
    env_destroy(&f);
}

/* Pumping energy (torque along theta_dot) spins the pole up to the speed limit: |theta_dot| never
 * exceeds 8 and reaches it; every reward matches the facts (cost on the wrapped angle, which
 * matters once theta has gone round) and lies in [-16.2736044, 0]. */
static void test_speed_clip_and_reward_range(void **state) {
    (void)state;
    env_t *e = s_new();
    float obs[3], next[3];
    bool term, trunc;
    env_reset(e, 3, obs);
    int at_limit = 0;
    double min_r = 0;
    for (int t = 0; t < 190; t++) {
        float u = obs[2] >= 0 ? 2.0f : -2.0f;
        double th = atan2(obs[1], obs[0]), thd = obs[2];
        double r_exp = s_expected_step(&th, &thd, u);
        float r = env_step(e, &u, next, &term, &trunc);
        CLOSE(r, r_exp, 2e-5);
        assert_true(r <= 0.0f && r >= MIN_REWARD);
        min_r = fmin(min_r, r);
        assert_true(fabs(next[2]) <= 8.0f);
        if (fabs(next[2]) == 8.0f)
            at_limit++;
        memcpy(obs, next, sizeof obs);
    }
    assert_true(at_limit > 10);
    assert_true(min_r < -8.0); /* it went through the bottom fast: costly states were visited */
    env_destroy(&e);
}

static void test_truncation(void **state) {
    (void)state;
    env_t *e = s_new();
    float obs[3];
    bool term = true, trunc = true;
    uint64_t x = 12345;
    for (int episode = 0; episode < 2; episode++) {
        if (episode == 0)
            env_reset(e, 4, obs);
        else
            env_reset_next(e, obs);
        assert_int_equal(env_elapsed(e), 0);
        for (int t = 1; t <= 200; t++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            float u = (float)((double)(x >> 11) / 9007199254740992.0 * 4.0 - 2.0);
            float r = env_step(e, &u, obs, &term, &trunc);
            assert_true(r <= 0.0f && r >= MIN_REWARD);
            assert_false(term);
            assert_int_equal(env_elapsed(e), t);
            if (t < 200)
                assert_false(trunc);
            else
                assert_true(trunc);
        }
    }
    env_destroy(&e);
}

/* reset_next continues the instance's stream: successive starts differ, and the sequence is a
 * function of the last seed */
static void test_reset_next(void **state) {
    (void)state;
    env_t *e = s_new(), *f = s_new();
    float a0[3], a1[3], a2[3], b0[3], b1[3], b2[3];
    env_reset(e, 77, a0);
    env_reset_next(e, a1);
    env_reset_next(e, a2);
    assert_memory_not_equal(a0, a1, sizeof a0);
    assert_memory_not_equal(a1, a2, sizeof a1);
    env_reset(f, 77, b0);
    float u = 1.0f, o[3];
    bool term, trunc;
    env_step(f, &u, o, &term, &trunc); /* stepping does not consume the start-state stream */
    env_reset_next(f, b1);
    env_reset_next(f, b2);
    assert_memory_equal(a0, b0, sizeof a0);
    assert_memory_equal(a1, b1, sizeof a1);
    assert_memory_equal(a2, b2, sizeof a2);
    for (int i = 0; i < 3; i++) {
        const float *o2 = i == 0 ? a0 : i == 1 ? a1 : a2;
        assert_true(o2[2] >= -1.0f && o2[2] <= 1.0f);
    }
    env_destroy(&e);
    env_destroy(&f);
}

static void test_unknown_name(void **state) {
    (void)state;
    char err[256] = "";
    env_t *e = env_new("Pendulum-v0", err, sizeof err);
    assert_null(e);
    assert_non_null(strstr(err, "Pendulum-v0"));
    assert_null(strchr(err, '\n'));
    assert_true(strlen(err) > strlen("Pendulum-v0"));
    assert_null(env_find("Pendulum-v0"));
    assert_null(env_find(""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_reset_seeded),
        cmocka_unit_test(test_step_dynamics),
        cmocka_unit_test(test_two_steps_from_reset),
        cmocka_unit_test(test_torque_clipping),
        cmocka_unit_test(test_speed_clip_and_reward_range),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_reset_next),
        cmocka_unit_test(test_unknown_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
