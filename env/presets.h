/* presets: an environment's own defaults, where measurement found values better than the general
 * ones for it (docs/benchmarks.md holds the evidence, three seeds at least). They sit between the
 * defaults and everything a user sets: defaults < preset < config file < MPO_* variables < flags.
 * `mpo config --env E` shows them. */
#ifndef MPO_ENV_PRESETS_H
#define MPO_ENV_PRESETS_H

#include "common/config.h"

#define ENV_PRESET_MAX 8

typedef struct {
    const char *env;
    const char *pairs[ENV_PRESET_MAX]; /* key=value, NULL-terminated */
    const char *why;                   /* where the evidence is */
} env_preset_t;

/* the preset of environment env, or NULL when it has none */
const env_preset_t *env_preset_find(const char *env);
/* every preset, ended by one whose env is NULL */
const env_preset_t *env_presets(void);
/* Set cfg's keys from the preset: 0, or -1 with a reason (a table entry config refuses: our bug). */
int env_preset_apply(const env_preset_t *preset, config_t *cfg, char *err, size_t errlen);

#endif
