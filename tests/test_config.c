/* config: the documented defaults, config_set's errors (unknown key with a suggestion, range,
 * number, integer, choice), key=value pairs, INI files (written here with mkstemp), MPO_<KEY>
 * environment variables, and config_write reloading to the same values. */
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
#include "common/error.h"

#define CONTAINS(hay, needle)                                                                 \
    do {                                                                                      \
        if (!strstr((hay), (needle)))                                                         \
            fail_msg("'%s' does not contain '%s'", (hay), (needle));                          \
    } while (0)

/* a temporary file with the given text; the path is written into path (PATH_MAX-ish) */
static void s_write_tmp(char *path, size_t len, const char *text) {
    snprintf(path, len, "/tmp/mpo_test_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* the documented defaults of the update (docs/algorithm.md, the README's configuration table) */
static void test_defaults(void **state) {
    (void)state;
    config_t c;
    config_defaults(&c);
    assert_true(c.learning_rate == 3e-4);
    assert_int_equal(c.buffer_size, 1000000);
    assert_int_equal(c.batch_size, 256);
    assert_true(c.gamma == 0.99);
    assert_true(c.tau == 0.005);
    assert_int_equal(c.n_action_samples, 20);
    assert_true(c.epsilon == 0.1);
    assert_true(c.epsilon_penalty == 0.001);
    assert_true(c.dual_lr == 1e-2);
    assert_int_equal(c.hidden, 256);
    assert_int_equal(c.learning_starts, 1000);
    /* and the defaults chosen beyond those (docs/algorithm.md, "Defaults chosen by measurement") */
    assert_string_equal(c.env, "Pendulum-v1");
    assert_string_equal(c.policy, "squashed");
    assert_true(c.epsilon_stddev == 1e-6);
    assert_true(c.init_log_temperature == 10);
    assert_true(c.init_log_alpha_mean == 10);
    assert_true(c.init_log_alpha_stddev == 1000);
    assert_true(c.grad_clip == 40);
    assert_int_equal(c.critic_action_samples, 1);
}

static void test_table(void **state) {
    (void)state;
    size_t n = 0;
    const config_key_t *keys = config_keys(&n);
    assert_true(n >= 11);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(config_find(keys[i].name), &keys[i]);
        assert_non_null(keys[i].help);
        assert_true(strlen(keys[i].help) > 0);
        for (size_t j = 0; j < i; j++)
            assert_true(strcmp(keys[i].name, keys[j].name) != 0);
    }
    assert_null(config_find("learning_rat"));
    const config_key_t *k = config_find("batch_size");
    assert_non_null(k);
    assert_int_equal(k->type, CONFIG_INT);
    assert_int_equal(config_find("policy")->type, CONFIG_CHOICE);

    /* the help lists every key */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print_help(f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        CONTAINS(buf, keys[i].name);
    free(buf);
}

static void test_set_ok(void **state) {
    (void)state;
    config_t c;
    char err[256] = "";
    config_defaults(&c);
    assert_int_equal(config_set(&c, "learning_rate", "1e-3", err, sizeof err), 0);
    assert_true(c.learning_rate == 1e-3);
    assert_int_equal(config_set(&c, "batch_size", "64", err, sizeof err), 0);
    assert_int_equal(c.batch_size, 64);
    assert_int_equal(config_set(&c, "buffer_size", "1e5", err, sizeof err), 0); /* integral */
    assert_int_equal(c.buffer_size, 100000);
    assert_int_equal(config_set(&c, "policy", "gaussian", err, sizeof err), 0);
    assert_string_equal(c.policy, "gaussian");
    assert_int_equal(config_set(&c, "env", "HalfCheetah-v4", err, sizeof err), 0);
    assert_string_equal(c.env, "HalfCheetah-v4");
    assert_int_equal(config_set(&c, "gamma", "1", err, sizeof err), 0); /* bounds are inclusive */
    assert_true(c.gamma == 1.0);
    assert_int_equal(config_set(&c, "gamma", "0", err, sizeof err), 0);
    assert_true(c.gamma == 0.0);
    assert_int_equal(config_set(&c, "seed", "4000000000000000000", err, sizeof err), 0);
    assert_true(c.seed == 4000000000000000000LL);
}

static void test_set_unknown_key(void **state) {
    (void)state;
    config_t c;
    char err[256] = "";
    config_defaults(&c);
    assert_int_equal(config_set(&c, "learning_rat", "1e-3", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "learning_rat");
    CONTAINS(err, "'learning_rate'");
    assert_null(strchr(err, '\n'));
    assert_int_equal(config_set(&c, "batchsize", "3", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "batchsize");
    CONTAINS(err, "batch_size");
    assert_int_equal(config_set(&c, "n_action_sample", "3", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "n_action_samples");
}

static void test_set_bad_values(void **state) {
    (void)state;
    config_t c, d;
    char err[256] = "";
    config_defaults(&c);
    config_defaults(&d);

    /* out of range: the error names the key and the range */
    assert_int_equal(config_set(&c, "gamma", "1.5", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "gamma");
    CONTAINS(err, "[0, 1]");
    assert_int_equal(config_set(&c, "batch_size", "0", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "batch_size");
    CONTAINS(err, "[1, 65536]");
    assert_int_equal(config_set(&c, "tau", "-0.1", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "[0, 1]");

    /* not a number */
    const char *bad[] = {"abc", "", "3e-4x", "1,5", "nan", "inf", "0x", " "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        if (config_set(&c, "learning_rate", bad[i], err, sizeof err) != -MPO_EINVAL)
            fail_msg("learning_rate='%s' accepted", bad[i]);
        CONTAINS(err, "learning_rate");
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(config_set(&c, "learning_rate", "abc", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "not a number");

    /* not an integer */
    assert_int_equal(config_set(&c, "batch_size", "12.5", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "batch_size");
    CONTAINS(err, "integer");
    assert_int_equal(config_set(&c, "hidden", "abc", err, sizeof err), -MPO_EINVAL);

    /* a choice outside its list names the choices */
    assert_int_equal(config_set(&c, "policy", "tanh", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "policy");
    CONTAINS(err, "tanh");
    CONTAINS(err, "squashed");
    CONTAINS(err, "gaussian");
    assert_int_equal(config_set(&c, "policy", "gauss", err, sizeof err), -MPO_EINVAL);
    assert_int_equal(config_set(&c, "policy", "gaussian2", err, sizeof err), -MPO_EINVAL);
    assert_int_equal(config_set(&c, "policy", "", err, sizeof err), -MPO_EINVAL);

    /* a string too long for its field */
    char big[CONFIG_STR_MAX + 10];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(config_set(&c, "run_dir", big, err, sizeof err), -MPO_EINVAL);

    /* a failed set changes nothing */
    assert_memory_equal(&c, &d, sizeof c);
    /* a short error buffer is fine */
    char tiny[8];
    assert_int_equal(config_set(&c, "learning_rat", "1", tiny, sizeof tiny), -MPO_EINVAL);
    assert_true(strlen(tiny) < sizeof tiny);
}

static void test_set_pair(void **state) {
    (void)state;
    config_t c;
    char err[256] = "";
    config_defaults(&c);
    assert_int_equal(config_set_pair(&c, "batch_size=64", err, sizeof err), 0);
    assert_int_equal(c.batch_size, 64);
    assert_int_equal(config_set_pair(&c, "run_dir=/tmp/a=b", err, sizeof err), 0);
    assert_string_equal(c.run_dir, "/tmp/a=b"); /* split at the first '=' */
    assert_int_equal(config_set_pair(&c, "batch_size", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "batch_size");
    assert_int_equal(config_set_pair(&c, "=64", err, sizeof err), -MPO_EINVAL);
    assert_int_equal(config_set_pair(&c, "learning_rat=1e-3", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "learning_rate");
    assert_int_equal(config_set_pair(&c, "gamma=2", err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "[0, 1]");
    assert_int_equal(c.batch_size, 64);
}

static void test_load_file(void **state) {
    (void)state;
    config_t c;
    char err[512] = "", path[64];
    config_defaults(&c);
    s_write_tmp(path, sizeof path,
                "# a comment\n"
                "; another\n"
                "batch_size = 64\n"
                "gamma=0.95\n"
                "\n"
                "[mpo]\n"
                "hidden = 32\n"
                "policy = gaussian\n"
                "env = HalfCheetah-v4\n");
    if (config_load_file(&c, path, err, sizeof err) != 0)
        fail_msg("load: %s", err);
    assert_int_equal(c.batch_size, 64);
    assert_true(c.gamma == 0.95);
    assert_int_equal(c.hidden, 32);
    assert_string_equal(c.policy, "gaussian");
    assert_string_equal(c.env, "HalfCheetah-v4");
    assert_true(c.learning_rate == 3e-4); /* untouched keys keep their values */
    unlink(path);
}

static void test_load_file_errors(void **state) {
    (void)state;
    config_t c;
    char err[512] = "", path[64], want[96];
    config_defaults(&c);

    /* a key set twice: an error on the second line, not last-wins */
    s_write_tmp(path, sizeof path, "batch_size = 64\nhidden = 32\n[mpo]\nbatch_size = 128\n");
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -MPO_EINVAL);
    snprintf(want, sizeof want, "%s:4:", path);
    CONTAINS(err, want);
    CONTAINS(err, "'batch_size' is set twice");
    unlink(path);
    config_defaults(&c);

    /* a directory is not a config file */
    assert_int_equal(config_load_file(&c, "/tmp", err, sizeof err), -MPO_EIO);
    CONTAINS(err, "not a regular file");

    /* unknown key on line 3 */
    s_write_tmp(path, sizeof path, "batch_size = 64\n# x\nlearning_rat = 1e-3\nhidden = 32\n");
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -MPO_EINVAL);
    snprintf(want, sizeof want, "%s:3:", path);
    CONTAINS(err, want);
    CONTAINS(err, "learning_rat");
    CONTAINS(err, "learning_rate");
    assert_null(strchr(err, '\n'));
    unlink(path);

    /* out of range on line 2 */
    config_defaults(&c);
    s_write_tmp(path, sizeof path, "[mpo]\ngamma = 7\n");
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -MPO_EINVAL);
    snprintf(want, sizeof want, "%s:2:", path);
    CONTAINS(err, want);
    CONTAINS(err, "[0, 1]");
    unlink(path);

    /* another section is rejected, and named */
    config_defaults(&c);
    s_write_tmp(path, sizeof path, "batch_size = 64\n[learner]\nhidden = 32\n");
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, path);
    CONTAINS(err, "learner");
    assert_int_equal(c.hidden, 256);
    unlink(path);

    /* a line that is not key = value */
    config_defaults(&c);
    s_write_tmp(path, sizeof path, "batch_size = 64\nthis is not a pair\n");
    assert_int_equal(config_load_file(&c, path, err, sizeof err), -MPO_EINVAL);
    snprintf(want, sizeof want, "%s:2:", path);
    CONTAINS(err, want);
    unlink(path);

    /* a missing file names the path */
    const char *missing = "/tmp/mpo_test_config_does_not_exist.ini";
    unlink(missing);
    assert_int_equal(config_load_file(&c, missing, err, sizeof err), -MPO_EIO);
    CONTAINS(err, missing);
}

static void test_load_env(void **state) {
    (void)state;
    config_t c;
    char err[512] = "";
    config_defaults(&c);
    setenv("MPO_BATCH_SIZE", "64", 1);
    setenv("MPO_POLICY", "gaussian", 1);
    setenv("MPO_LEARNING_RATE", "0.002", 1);
    assert_int_equal(config_load_env(&c, err, sizeof err), 0);
    assert_int_equal(c.batch_size, 64);
    assert_string_equal(c.policy, "gaussian");
    assert_true(c.learning_rate == 0.002);
    assert_int_equal(c.hidden, 256);
    unsetenv("MPO_POLICY");
    unsetenv("MPO_LEARNING_RATE");

    setenv("MPO_BATCH_SIZE", "lots", 1);
    assert_int_equal(config_load_env(&c, err, sizeof err), -MPO_EINVAL);
    CONTAINS(err, "MPO_BATCH_SIZE");
    CONTAINS(err, "lots");
    unsetenv("MPO_BATCH_SIZE");

    /* nothing set: nothing changes */
    config_t d;
    config_defaults(&c);
    config_defaults(&d);
    assert_int_equal(config_load_env(&c, err, sizeof err), 0);
    assert_memory_equal(&c, &d, sizeof c);
}

/* config_write's lines, loaded over the defaults, give back the same config. (Values here have at
 * most 9 significant digits: config_write prints FLOAT keys with %.9g, so a double with more digits,
 * e.g. tau = 0.00512345678901, comes back rounded; see the report.) */
static void test_write_round_trip(void **state) {
    (void)state;
    config_t c, d;
    char err[512] = "", path[64];
    config_defaults(&c);
    const char *pairs[] = {"learning_rate=0.000123456789", "batch_size=48", "gamma=0.97",
                           "tau=0.0125", "policy=gaussian", "env=HalfCheetah-v4",
                           "run_dir=/tmp/some run", "seed=123456789012", "epsilon_stddev=2.5e-7",
                           "init_log_alpha_stddev=-3.25", "log_level=debug", "hidden=64"};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (config_set_pair(&c, pairs[i], err, sizeof err) != 0)
            fail_msg("%s: %s", pairs[i], err);

    snprintf(path, sizeof path, "/tmp/mpo_test_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    config_write(&c, f);
    fclose(f);
    config_defaults(&d);
    if (config_load_file(&d, path, err, sizeof err) != 0)
        fail_msg("reload: %s", err);
    unlink(path);

    size_t n;
    const config_key_t *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char a[CONFIG_STR_MAX], b[CONFIG_STR_MAX];
        config_get(&c, &keys[i], a, sizeof a);
        config_get(&d, &keys[i], b, sizeof b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: wrote %s, read back %s", keys[i].name, a, b);
    }
    assert_memory_equal(&c, &d, sizeof c);

    /* the defaults too, and the written file has one line per key */
    config_defaults(&c);
    char *buf = NULL;
    size_t len = 0;
    f = open_memstream(&buf, &len);
    config_write(&c, f);
    fclose(f);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    assert_int_equal(lines, n);
    CONTAINS(buf, "batch_size = 256\n");
    CONTAINS(buf, "policy = squashed\n");
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_set_ok),
        cmocka_unit_test(test_set_unknown_key),
        cmocka_unit_test(test_set_bad_values),
        cmocka_unit_test(test_set_pair),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_load_env),
        cmocka_unit_test(test_write_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
