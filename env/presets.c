#include "env/presets.h"

#include <string.h>

static const env_preset_t s_presets[] = {
    {NULL, {NULL}, NULL},
};

const env_preset_t *env_presets(void) { return s_presets; }

const env_preset_t *env_preset_find(const char *env) {
    for (const env_preset_t *p = s_presets; env && p->env; p++)
        if (!strcmp(p->env, env))
            return p;
    return NULL;
}

int env_preset_apply(const env_preset_t *preset, config_t *cfg, char *err, size_t errlen) {
    for (int i = 0; preset && i < ENV_PRESET_MAX && preset->pairs[i]; i++)
        if (config_set_pair(cfg, preset->pairs[i], err, errlen) != 0)
            return -1;
    return 0;
}
