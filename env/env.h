/* env: the environment interface every environment implements (Gymnasium's reset/step).
 *
 * An environment is an opaque env_t made by name from the registry. Each instance owns its state
 * and its own RNG, so K instances can step side by side in one actor. Observations are float; the
 * action passed to env_step is in the environment's own units (within spec->act_low/act_high; the
 * environment clips where its facts say so). Time limits are the environment's job: env_step sets
 * truncated at max_episode_steps, never terminated for a time limit; terminated (a terminal state,
 * e.g. a MuJoCo walker that fell) is the implementation's, and both can be set by one step. */
#ifndef MPO_ENV_H
#define MPO_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENV_MAX_OBS 512
#define ENV_MAX_ACT 64

typedef struct {
    const char *name;          /* "Pendulum-v1" */
    int obs_dim;               /* observation floats */
    int act_dim;               /* action floats */
    float act_low[ENV_MAX_ACT];  /* action bounds, environment units */
    float act_high[ENV_MAX_ACT];
    int max_episode_steps;     /* truncation horizon */
    const char *summary;       /* one line for `mpo envs` */
} env_spec_t;

typedef struct env_s env_t;

/* What an environment implementation provides (see pendulum.c). `state` is the implementation's. */
typedef struct {
    const env_spec_t *spec;
    /* make one instance; on failure return NULL and write a one-line reason into err */
    void *(*create)(char *err, size_t errlen);
    void (*destroy)(void *state);
    /* start an episode: reseed the instance's RNG from seed, draw the start state, write obs */
    void (*reset)(void *state, uint64_t seed, float *obs);
    /* start an episode continuing the instance's RNG stream */
    void (*reset_next)(void *state, float *obs);
    /* one step; returns the reward, writes obs and terminated (time limit handled by env.c) */
    float (*step)(void *state, const float *action, float *obs, bool *terminated);
} env_ops_t;

/* Make an environment by name. NULL and a one-line reason in err for an unknown name or a failed
 * model load. */
env_t *env_new(const char *name, char *err, size_t errlen);
void env_destroy(env_t **self_p);
const env_spec_t *env_spec(const env_t *self);

/* Reset with an explicit seed (reproducible start state). */
void env_reset(env_t *self, uint64_t seed, float *obs);
/* Reset continuing this instance's own RNG (the next episode of a run). */
void env_reset_next(env_t *self, float *obs);
/* Step with an action in environment units. Returns the reward. */
float env_step(env_t *self, const float *action, float *obs, bool *terminated, bool *truncated);
/* Steps taken in the current episode. */
int env_elapsed(const env_t *self);
/* The implementation's state (what its ops->create returned), for tests that set a state by hand. */
void *env_state(env_t *self);

/* The registry: NULL-terminated list of every environment's ops, for `mpo envs` and env_new. */
const env_ops_t *const *env_registry(void);
const env_ops_t *env_find(const char *name);

/* The observation and action sizes an environment name stands for, without making one: a
 * registered environment's, or those of the synthetic form "bench:OBS:ACT" (e.g. "bench:17:6"), a
 * sizes-only environment for benchmarks and tests (`mpo bench replay`) that cannot be stepped:
 * env_new does not know it, only a replay server holding transitions of those sizes does.
 * 0 with the sizes set; -MPO_EINVAL for a bench name that is not bench:OBS:ACT with sizes of
 * 1..ENV_BENCH_MAX_DIM, -MPO_ENOENV for any other unknown name, each with a one-line reason. */
#define ENV_BENCH_PREFIX "bench:"
#define ENV_BENCH_MAX_DIM (1 << 20)
int env_sizes(const char *name, int *obs_dim, int *act_dim, char *err, size_t errlen);

/* Implementations (one file each). */
extern const env_ops_t pendulum_ops;
extern const env_ops_t half_cheetah_ops;
extern const env_ops_t hopper_ops;
extern const env_ops_t walker2d_ops;
extern const env_ops_t ant_ops;
extern const env_ops_t humanoid_ops;

#endif
