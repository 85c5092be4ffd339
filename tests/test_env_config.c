/* env_config: the environment a configuration names. A registered one gives its own facts and
 * refuses sizes that disagree; env = external takes obs_dim, act_dim and the bounds (one number
 * for all actions, or one each) and refuses what is missing or inconsistent; bench:OBS:ACT gives
 * sizes with actions in [-1, 1]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "env/env_config.h"
#include "env/presets.h"

static void s_cfg(config_t *c, const char *const *kv) {
    char err[256];
    config_defaults(c);
    for (int i = 0; kv[i]; i++)
        if (config_set_pair(c, kv[i], err, sizeof err) != 0)
            fail_msg("%s: %s", kv[i], err);
}

static void s_refused(const char *const *kv, const char *expect) {
    config_t c;
    env_spec_t s;
    char err[256] = "";
    s_cfg(&c, kv);
    assert_int_equal(env_spec_from_config(&c, &s, err, sizeof err), -1);
    if (!strstr(err, expect))
        fail_msg("reason '%s' does not say '%s'", err, expect);
}

static void test_external(void **state) {
    (void)state;
    config_t c;
    env_spec_t s;
    char err[256];
    s_cfg(&c, (const char *[]){"env=external", "obs_dim=5", "act_dim=3", "act_low=-2", "act_high=1,2,3", NULL});
    assert_int_equal(env_spec_from_config(&c, &s, err, sizeof err), 0);
    assert_string_equal(s.name, "external");
    assert_int_equal(s.obs_dim, 5);
    assert_int_equal(s.act_dim, 3);
    for (int k = 0; k < 3; k++) {
        assert_true(s.act_low[k] == -2.0f);
        assert_true(s.act_high[k] == (float)(k + 1));
    }
    s_refused((const char *[]){"env=external", NULL}, "needs obs_dim and act_dim");
    s_refused((const char *[]){"env=external", "obs_dim=5", "act_dim=2", "act_low=-1,-1,-1", NULL}, "act_low has 3");
    s_refused((const char *[]){"env=external", "obs_dim=5", "act_dim=1", "act_high=x", NULL}, "not a number");
    s_refused((const char *[]){"env=external", "obs_dim=5", "act_dim=1", "act_low=1", NULL}, "not below");
    s_refused((const char *[]){"env=external", "obs_dim=5", "act_dim=2", "act_low=-1;-1", NULL}, "commas");
}

static void test_named_and_bench(void **state) {
    (void)state;
    config_t c;
    env_spec_t s;
    char err[256];
    s_cfg(&c, (const char *[]){"env=Pendulum-v1", NULL});
    assert_int_equal(env_spec_from_config(&c, &s, err, sizeof err), 0);
    assert_int_equal(s.obs_dim, 3);
    assert_true(s.act_high[0] == 2.0f);
    s_cfg(&c, (const char *[]){"env=Pendulum-v1", "obs_dim=3", "act_dim=1", NULL});
    assert_int_equal(env_spec_from_config(&c, &s, err, sizeof err), 0);
    s_refused((const char *[]){"env=Pendulum-v1", "obs_dim=4", NULL}, "obs_dim 4");
    s_cfg(&c, (const char *[]){"env=bench:17:6", NULL});
    assert_int_equal(env_spec_from_config(&c, &s, err, sizeof err), 0);
    assert_int_equal(s.obs_dim, 17);
    assert_int_equal(s.act_dim, 6);
    assert_true(s.act_low[5] == -1.0f && s.act_high[5] == 1.0f);
    s_refused((const char *[]){"env=Nowhere-v0", NULL}, "unknown environment");
}

/* every preset names a registered environment, says where its evidence is, and sets only keys
 * the configuration takes, each to a value other than the default */
static void test_presets(void **state) {
    (void)state;
    for (const env_preset_t *p = env_presets(); p->env; p++) {
        assert_non_null(env_find(p->env));
        assert_non_null(p->why);
        assert_non_null(p->pairs[0]);
        config_t c, d;
        char err[256] = "", v[CONFIG_STR_MAX], dv[CONFIG_STR_MAX];
        config_defaults(&c), config_defaults(&d);
        if (env_preset_apply(p, &c, err, sizeof err) != 0)
            fail_msg("preset of %s: %s", p->env, err);
        for (int i = 0; i < ENV_PRESET_MAX && p->pairs[i]; i++) {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)strcspn(p->pairs[i], "="), p->pairs[i]);
            const config_key_t *k = config_find(key);
            assert_non_null(k);
            config_get(&c, k, v, sizeof v);
            config_get(&d, k, dv, sizeof dv);
            assert_string_not_equal(v, dv);
        }
    }
    assert_null(env_preset_find("Pendulum-v1"));
    assert_null(env_preset_find(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_external), cmocka_unit_test(test_named_and_bench),
                                       cmocka_unit_test(test_presets)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
