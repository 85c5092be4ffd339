/* env_config: the environment a run's configuration names, as the learner and the replay server
 * need it (sizes, action bounds), whether mpo can step it or not:
 *   - a registered environment (`mpo envs`): its own facts; obs_dim and act_dim, when set, must
 *     agree with them;
 *   - env = external: an environment only an outside actor has (python/, docs/python.md), from
 *     the keys obs_dim, act_dim, act_low and act_high; every actor's Hello must then say
 *     "external" with those sizes;
 *   - bench:OBS:ACT: sizes only, actions in [-1, 1], for benchmarks and tests. */
#ifndef MPO_ENV_CONFIG_H
#define MPO_ENV_CONFIG_H

#include <stddef.h>

#include "common/config.h"
#include "env/env.h"

#define ENV_EXTERNAL "external"

/* 0 with *out filled (out->name points into cfg), or -1 with a one-line reason. */
int env_spec_from_config(const config_t *cfg, env_spec_t *out, char *err, size_t errlen);

#endif
