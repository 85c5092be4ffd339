/* Pendulum-v1, exactly as Gymnasium's: state in double, observation in float. */
#include "env/env.h"
#include "common/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PENDULUM_MAX_SPEED 8.0
#define PENDULUM_MAX_TORQUE 2.0
#define PENDULUM_DT 0.05
#define PENDULUM_G 10.0
#define PENDULUM_M 1.0
#define PENDULUM_L 1.0

typedef struct {
    double theta, theta_dot;
    rng_t rng;
} pendulum_t;

static const env_spec_t s_spec = {
    .name = "Pendulum-v1",
    .obs_dim = 3,
    .act_dim = 1,
    .act_low = {-2.0f},
    .act_high = {2.0f},
    .max_episode_steps = 200,
    .summary = "swing a pendulum upright; obs [cos, sin, theta_dot], torque in [-2, 2]",
};

static void *s_create(char *err, size_t errlen) {
    pendulum_t *self = calloc(1, sizeof *self);
    if (!self)
        snprintf(err, errlen, "out of memory creating Pendulum-v1");
    else
        rng_seed(&self->rng, 0);
    return self;
}

static void s_destroy(void *state) { free(state); }

static void s_observe(const pendulum_t *self, float *obs) {
    obs[0] = (float)cos(self->theta);
    obs[1] = (float)sin(self->theta);
    obs[2] = (float)self->theta_dot;
}

static void s_reset_next(void *state, float *obs) {
    pendulum_t *self = state;
    self->theta = rng_uniform_range(&self->rng, -M_PI, M_PI);
    self->theta_dot = rng_uniform_range(&self->rng, -1.0, 1.0);
    s_observe(self, obs);
}

static void s_reset(void *state, uint64_t seed, float *obs) {
    pendulum_t *self = state;
    rng_seed(&self->rng, seed);
    s_reset_next(self, obs);
}

static double s_clip(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ((x + pi) mod 2pi) - pi with a non-negative modulo, as Python's % */
static double s_angle_normalize(double x) {
    double m = fmod(x + M_PI, 2.0 * M_PI);
    if (m < 0)
        m += 2.0 * M_PI;
    return m - M_PI;
}

static float s_step(void *state, const float *action, float *obs, bool *terminated) {
    pendulum_t *self = state;
    double u = s_clip((double)action[0], -PENDULUM_MAX_TORQUE, PENDULUM_MAX_TORQUE);
    double th = self->theta, thdot = self->theta_dot;
    double an = s_angle_normalize(th);
    double cost = an * an + 0.1 * thdot * thdot + 0.001 * u * u;
    double g = PENDULUM_G, m = PENDULUM_M, l = PENDULUM_L;
    double new_thdot = thdot + (3.0 * g / (2.0 * l) * sin(th) + 3.0 / (m * l * l) * u) * PENDULUM_DT;
    new_thdot = s_clip(new_thdot, -PENDULUM_MAX_SPEED, PENDULUM_MAX_SPEED);
    self->theta = th + new_thdot * PENDULUM_DT;
    self->theta_dot = new_thdot;
    s_observe(self, obs);
    *terminated = false;
    return (float)-cost;
}

const env_ops_t pendulum_ops = {
    .spec = &s_spec,
    .create = s_create,
    .destroy = s_destroy,
    .reset = s_reset,
    .reset_next = s_reset_next,
    .step = s_step,
};
