/* policy_file and `mpo export` / `mpo play`: a learner's checkpoint exported to a policy file holds
 * the actor's parameters bit for bit with its layout and bounds; play runs it to the same returns
 * as evaluating the learner itself; a damaged, truncated, padded, non-finite or foreign file is
 * refused with a reason. MPO_BIN names the program (build/mpo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "env/env.h"
#include "env/evaluate.h"
#include "learner/checkpoint.h"
#include "learner/mpo.h"
#include "nn/policy_file.h"

static char s_dir[64];
static const char *s_bin;

/* a Pendulum learner (hidden 16) after a few updates on random data; critic_layer_norm as given */
static mpo_t *s_learner_ln(int layer_norm) {
    config_t c;
    char err[256];
    config_defaults(&c);
    const char *kv[] = {"hidden=16", "batch_size=8", "n_action_samples=4", "seed=5", "threads=1",
                        layer_norm ? "critic_layer_norm=1" : "critic_layer_norm=0"};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        assert_int_equal(config_set_pair(&c, kv[i], err, sizeof err), 0);
    mpo_params_t p;
    assert_int_equal(mpo_params_from_config(&c, env_find("Pendulum-v1")->spec, &p, err, sizeof err), 0);
    mpo_t *m = mpo_new(&p, err, sizeof err);
    assert_non_null(m);
    float obs[8 * 3], act[8], rew[8], done[8] = {0}, next[8 * 3];
    for (int i = 0; i < 8 * 3; i++)
        obs[i] = (float)sin(i), next[i] = (float)cos(i);
    for (int i = 0; i < 8; i++)
        act[i] = (float)sin(3 * i), rew[i] = -(float)i;
    transition_batch_t b = {obs, act, rew, done, next, 8};
    for (int i = 0; i < 5; i++)
        assert_int_equal(mpo_update(m, &b, NULL), 0);
    return m;
}

static mpo_t *s_learner(void) { return s_learner_ln(0); }

/* m's checkpoint and a learner.state of run in s_dir, as a learner leaves them */
static void s_save_run(mpo_t *m, const checkpoint_run_t *run) {
    char err[512], path[128];
    snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, s_dir);
    assert_int_equal(checkpoint_save(m, path, err, sizeof err), 0);
    checkpoint_counters_t c = {.updates = 5};
    assert_int_equal(checkpoint_counters_save(s_dir, &c, run, err, sizeof err), 0);
}

static void s_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void *s_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *d = malloc(*n + 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, *n, f), *n);
    fclose(f);
    return d;
}

static void s_refused(const char *path, const void *data, size_t n, const char *expect) {
    policy_file_t p;
    char err[512] = "";
    s_write_file(path, data, n);
    assert_int_equal(policy_file_read(path, &p, err, sizeof err), -1);
    if (!strstr(err, expect))
        fail_msg("reason '%s' does not say '%s'", err, expect);
    assert_null(p.params);
}

static void test_export_and_play(void **state) {
    (void)state;
    mpo_t *m = s_learner();
    char err[512], cmd[512], out[128];
    snprintf(out, sizeof out, "%s/pendulum.policy", s_dir);
    s_save_run(m, &(checkpoint_run_t){.env = "Pendulum-v1", .min_std = 0.01});
    snprintf(cmd, sizeof cmd, "%s export %s -o %s >/dev/null", s_bin, s_dir, out);
    assert_int_equal(system(cmd), 0);

    policy_file_t p;
    assert_int_equal(policy_file_read(out, &p, err, sizeof err), 0);
    assert_string_equal(p.env, "Pendulum-v1");
    assert_int_equal(p.obs_dim, 3);
    assert_int_equal(p.act_dim, 1);
    assert_int_equal(p.hidden, 16);
    assert_int_equal(p.layers, 2);
    assert_int_equal(p.policy, POLICY_SQUASHED);
    assert_true(p.min_std == 0.01f);
    assert_true(p.act_low[0] == -2.0f && p.act_high[0] == 2.0f);
    assert_int_equal(p.net.n_params, mpo_actor_floats(m));
    assert_memory_equal(p.params, mpo_actor_params(m), p.net.n_params * sizeof(float));

    /* play's returns are the learner's own evaluation with the same seeds */
    double expect = 0;
    assert_int_equal(evaluate_policy(&expect, NULL, "Pendulum-v1", mpo_actor_layout(m), mpo_actor_params(m),
                                     POLICY_SQUASHED, 1, 7, err, sizeof err),
                     0);
    snprintf(cmd, sizeof cmd, "%s play %s --episodes 1 --seed 7", s_bin, out);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[256];
    double got = NAN;
    while (fgets(line, sizeof line, f))
        sscanf(line, "episode 0 (seed 7): return %lf", &got);
    assert_int_equal(pclose(f), 0);
    assert_true(fabs(got - expect) < 0.01);

    /* damage of every kind is refused */
    size_t n;
    unsigned char *good = s_read_file(out, &n);
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.policy", s_dir);
    unsigned char *x = malloc(n + 8);
    assert_non_null(x);
    memcpy(x, good, n);
    x[n - 3] ^= 0x40; /* a flipped bit in the parameters */
    s_refused(bad, x, n, "checksum");
    s_refused(bad, good, n - 4, "truncated");
    memcpy(x, good, n);
    x[n] = 0;
    s_refused(bad, x, n + 1, "after the parameters");
    s_refused(bad, "mpo-policy 2\n", 13, "version");
    s_refused(bad, "MPOCKPT", 7, "not an mpo policy file");
    memcpy(x, good, n);
    char *params_line = strstr((char *)x, "params ");
    assert_non_null(params_line);
    params_line[7] = '9'; /* another parameter count */
    s_refused(bad, x, n, "parameter count");
    /* a NaN with a matching checksum: written by hand, still refused */
    p.params[3] = NAN;
    assert_int_equal(policy_file_write(bad, &p, err, sizeof err), 0);
    policy_file_t q;
    assert_int_equal(policy_file_read(bad, &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "not finite"));
    free(x);
    free(good);
    policy_file_free(&p);
    mpo_destroy(&m);
}

/* export says what is missing in one line and fails */
static void test_export_refusals(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s export %s/nowhere -o %s/x.policy 2>/dev/null", s_bin, s_dir, s_dir);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s play %s/nowhere.policy 2>/dev/null", s_bin, s_dir);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s play 2>/dev/null", s_bin);
    assert_int_not_equal(system(cmd), 0);
}

/* an `external` environment's checkpoint: the sizes come from the checkpoint, the bounds from the
 * learner.state its learner wrote; without recorded bounds it is refused with the reason */
static void test_export_external(void **state) {
    (void)state;
    mpo_t *m = s_learner_ln(1); /* with LayerNorm critics: export tells them from the parameter count */
    char err[512], cmd[512], path[128], out[128];
    snprintf(out, sizeof out, "%s/external.policy", s_dir);
    checkpoint_run_t run = {.env = "external", .min_std = 0.02, .n_bounds = 1, .act_low = {-0.5f}, .act_high = {0.75f}};
    s_save_run(m, &run);
    snprintf(cmd, sizeof cmd, "%s export %s -o %s >/dev/null", s_bin, s_dir, out);
    assert_int_equal(system(cmd), 0);
    policy_file_t p;
    assert_int_equal(policy_file_read(out, &p, err, sizeof err), 0);
    assert_string_equal(p.env, "external");
    assert_int_equal(p.obs_dim, 3);
    assert_int_equal(p.act_dim, 1);
    assert_true(p.act_low[0] == -0.5f && p.act_high[0] == 0.75f);
    assert_true(p.min_std == 0.02f);
    assert_memory_equal(p.params, mpo_actor_params(m), mpo_actor_floats(m) * sizeof(float));
    policy_file_free(&p);

    run.n_bounds = 0; /* as a learner before the bounds were recorded wrote it */
    s_save_run(m, &run);
    snprintf(cmd, sizeof cmd, "%s export %s -o %s.2 2>%s/err.txt", s_bin, s_dir, out, s_dir);
    assert_int_not_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/err.txt", s_dir);
    size_t n;
    char *text = s_read_file(path, &n);
    text[n] = 0;
    if (!strstr(text, "action bounds"))
        fail_msg("export said '%s'", text);
    free(text);
    mpo_destroy(&m);
}

static int s_setup(void **state) {
    (void)state;
    s_bin = getenv("MPO_BIN") ? getenv("MPO_BIN") : "build/mpo";
    snprintf(s_dir, sizeof s_dir, "/tmp/mpo-test-policy-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_and_play),
        cmocka_unit_test(test_export_refusals),
        cmocka_unit_test(test_export_external),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
