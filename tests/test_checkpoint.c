/* checkpoint: a saved learner loads into a fresh one and the two then update bit for bit alike
 * (networks, targets, Adam moments, duals, update count and RNG all came back); a truncated file,
 * a file for other sizes, a file that is no checkpoint and a missing file are refused with a reason
 * and leave the learner as it was; the write is atomic (no .tmp left, a failed write leaves the
 * old file); the counters file round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"
#include "common/rng.h"
#include "learner/checkpoint.h"
#include "learner/mpo.h"

#define S_DIM 3
#define A_DIM 2
#define BATCH 8

static const env_spec_t s_spec = {
    .name = "Test-v0",
    .obs_dim = S_DIM,
    .act_dim = A_DIM,
    .act_low = {-1.0f, -2.0f},
    .act_high = {1.0f, 3.0f},
    .max_episode_steps = 100,
    .summary = "test",
};

static char s_dir[64];

static int s_setup(void **state) {
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/mpo_test_checkpoint_XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state) {
    (void)state;
    const char *names[] = {CHECKPOINT_FILE, CHECKPOINT_FILE ".tmp", CHECKPOINT_STATE_FILE, "other", "short", "junk"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", s_dir, names[i]);
        unlink(path);
    }
    rmdir(s_dir);
    return 0;
}

static void s_path(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", s_dir, name); }

/* a learner of hidden H and policy type, seed 3, batch BATCH, N 4 */
static mpo_t *s_new(int hidden, const char *policy) {
    config_t c;
    char err[256], kv[64];
    config_defaults(&c);
    const char *keys[] = {"batch_size=8", "n_action_samples=4", "seed=3"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(config_set_pair(&c, keys[i], err, sizeof err), 0);
    snprintf(kv, sizeof kv, "hidden=%d", hidden);
    assert_int_equal(config_set_pair(&c, kv, err, sizeof err), 0);
    snprintf(kv, sizeof kv, "policy=%s", policy);
    assert_int_equal(config_set_pair(&c, kv, err, sizeof err), 0);
    mpo_params_t p;
    assert_int_equal(mpo_params_from_config(&c, &s_spec, &p, err, sizeof err), 0);
    mpo_t *m = mpo_new(&p, err, sizeof err);
    if (!m)
        fail_msg("mpo_new: %s", err);
    return m;
}

typedef struct {
    float obs[BATCH * S_DIM], action[BATCH * A_DIM], reward[BATCH], done[BATCH], next_obs[BATCH * S_DIM];
    transition_batch_t b;
} batch_t;

static void s_batch(batch_t *bt, uint64_t seed) {
    rng_t rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < BATCH * S_DIM; i++) {
        bt->obs[i] = (float)rng_normal(&rng);
        bt->next_obs[i] = (float)rng_normal(&rng);
    }
    for (int i = 0; i < BATCH * A_DIM; i++)
        bt->action[i] = (float)rng_uniform_range(&rng, -1, 1);
    for (int i = 0; i < BATCH; i++) {
        bt->reward[i] = (float)rng_normal(&rng);
        bt->done[i] = i % 3 == 0 ? 1.0f : 0.0f;
    }
    bt->b = (transition_batch_t){bt->obs, bt->action, bt->reward, bt->done, bt->next_obs, BATCH};
}

static void s_train(mpo_t *m, int updates, uint64_t seed) {
    batch_t bt;
    for (int i = 0; i < updates; i++) {
        s_batch(&bt, seed + (uint64_t)i);
        mpo_update(m, &bt.b, NULL);
    }
}

/* every buffer of the state, and the counters, equal */
static void s_assert_same_state(mpo_t *a, mpo_t *b) {
    mpo_state_t x = mpo_state(a), y = mpo_state(b);
    assert_int_equal(x.n_params, y.n_params);
    assert_int_equal(x.n_duals, y.n_duals);
    size_t P = x.n_params * sizeof(float), D = x.n_duals * sizeof(float);
    assert_memory_equal(x.params, y.params, P);
    assert_memory_equal(x.target, y.target, P);
    assert_memory_equal(x.adam_m, y.adam_m, P);
    assert_memory_equal(x.adam_v, y.adam_v, P);
    assert_memory_equal(x.duals, y.duals, D);
    assert_memory_equal(x.dual_m, y.dual_m, D);
    assert_memory_equal(x.dual_v, y.dual_v, D);
    assert_int_equal(*x.updates, *y.updates);
    assert_memory_equal(x.rng, y.rng, sizeof *x.rng);
}

static long s_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* save after some updates, load into a fresh learner: the same state, and the same next updates */
static void test_round_trip(void **state) {
    (void)state;
    const char *policies[] = {"squashed", "gaussian"};
    for (int k = 0; k < 2; k++) {
        char path[128], tmp[160], err[512] = "";
        s_path(path, sizeof path, CHECKPOINT_FILE);
        mpo_t *a = s_new(16, policies[k]), *b = s_new(16, policies[k]);
        s_train(a, 7, 100);
        assert_int_equal(checkpoint_save(a, path, err, sizeof err), 0);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        assert_int_equal(s_file_size(tmp), -1); /* renamed into place, nothing left behind */
        mpo_state_t st = mpo_state(a);
        /* the format: a header, then 4 buffers of n_params and 3 of n_duals floats */
        long floats = (long)(4 * st.n_params + 3 * st.n_duals) * (long)sizeof(float);
        assert_true(s_file_size(path) > floats && s_file_size(path) < floats + 256);

        /* b differs (no updates yet) until it loads */
        assert_int_equal(mpo_updates(b), 0);
        assert_int_equal(checkpoint_load(b, path, err, sizeof err), 0);
        assert_int_equal(mpo_updates(b), 7);
        s_assert_same_state(a, b);
        /* the RNG and Adam's step count came back too: the next updates agree bit for bit */
        s_train(a, 3, 500);
        s_train(b, 3, 500);
        s_assert_same_state(a, b);
        mpo_destroy(&a);
        mpo_destroy(&b);
    }
}

/* truncated, other sizes, other policy, not a checkpoint, missing: refused with a reason naming the
 * file, and the learner is unchanged */
static void test_refusals(void **state) {
    (void)state;
    char path[128], other[128], shortp[128], junk[128], missing[128], err[512];
    s_path(path, sizeof path, CHECKPOINT_FILE);
    s_path(other, sizeof other, "other");
    s_path(shortp, sizeof shortp, "short");
    s_path(junk, sizeof junk, "junk");
    s_path(missing, sizeof missing, "missing");
    mpo_t *saved = s_new(16, "squashed"), *big = s_new(24, "squashed"), *gauss = s_new(16, "gaussian");
    s_train(saved, 2, 1);
    s_train(big, 2, 1);
    assert_int_equal(checkpoint_save(saved, path, err, sizeof err), 0);
    assert_int_equal(checkpoint_save(big, other, err, sizeof err), 0);

    /* a copy of the good file less its last 10 bytes */
    long size = s_file_size(path);
    char *bytes = malloc((size_t)size);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    f = fopen(shortp, "wb");
    assert_int_equal(fwrite(bytes, 1, (size_t)size - 10, f), (size_t)size - 10);
    fclose(f);
    f = fopen(junk, "wb");
    fputs("not a checkpoint, but long enough to fill a header of the checkpoint format......", f);
    fclose(f);
    free(bytes);

    mpo_t *fresh = s_new(16, "squashed"), *ref = s_new(16, "squashed");
    err[0] = 0;
    assert_int_equal(checkpoint_load(fresh, shortp, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, "truncated"));
    assert_non_null(strstr(err, shortp));

    err[0] = 0;
    assert_int_equal(checkpoint_load(fresh, other, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, "hidden 24"));
    assert_non_null(strstr(err, "hidden 16"));

    err[0] = 0;
    assert_int_equal(checkpoint_load(gauss, path, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, "policy squashed"));
    assert_non_null(strstr(err, "policy gaussian"));

    err[0] = 0;
    assert_int_equal(checkpoint_load(fresh, junk, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, "not an mpo checkpoint"));

    err[0] = 0;
    assert_int_equal(checkpoint_load(fresh, missing, err, sizeof err), -MPO_EIO);
    assert_non_null(strstr(err, missing));

    /* after all the refusals, fresh is still a fresh learner */
    s_assert_same_state(fresh, ref);
    /* and the good file still loads */
    assert_int_equal(checkpoint_load(fresh, path, err, sizeof err), 0);
    s_assert_same_state(fresh, saved);
    mpo_destroy(&fresh);
    mpo_destroy(&ref);
    mpo_destroy(&saved);
    mpo_destroy(&big);
    mpo_destroy(&gauss);
}

/* what loaded silently before: a flipped byte, appended junk, NaN weights and a negative update
 * count are each refused, and the learner is left as it was */
static void test_damage_refused(void **state) {
    (void)state;
    char path[128], junk[128], err[512];
    s_path(path, sizeof path, CHECKPOINT_FILE);
    s_path(junk, sizeof junk, "junk");
    mpo_t *saved = s_new(16, "squashed"), *fresh = s_new(16, "squashed"), *ref = s_new(16, "squashed");
    s_train(saved, 2, 1);
    assert_int_equal(checkpoint_save(saved, path, err, sizeof err), 0);
    long size = s_file_size(path);
    unsigned char *bytes = malloc((size_t)size);
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    /* each damaged copy into `junk`: which byte, or appended bytes */
    const struct {
        long at;      /* byte to flip; -1: append instead */
        const char *why;
    } cases[] = {{size / 2, "checksum"}, {size - 20, "checksum"}, {-1, "bytes after its end"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        f = fopen(junk, "wb");
        if (cases[c].at >= 0) {
            bytes[cases[c].at] ^= 0x10;
            fwrite(bytes, 1, (size_t)size, f);
            bytes[cases[c].at] ^= 0x10;
        } else {
            fwrite(bytes, 1, (size_t)size, f);
            fputs("junk", f);
        }
        fclose(f);
        err[0] = 0;
        assert_int_equal(checkpoint_load(fresh, junk, err, sizeof err), -MPO_EFORMAT);
        if (!strstr(err, cases[c].why))
            fail_msg("case %zu: '%s' does not say '%s'", c, err, cases[c].why);
        s_assert_same_state(fresh, ref);
    }
    /* NaN weights, written with a valid checksum: refused for the value */
    mpo_state_t st = mpo_state(saved);
    float keep = st.params[3];
    st.params[3] = NAN;
    assert_int_equal(checkpoint_save(saved, junk, err, sizeof err), 0);
    st.params[3] = keep;
    assert_int_equal(checkpoint_load(fresh, junk, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, "not finite"));
    /* a negative update count, likewise */
    int64_t updates = *st.updates;
    *st.updates = -5;
    assert_int_equal(checkpoint_save(saved, junk, err, sizeof err), 0);
    *st.updates = updates;
    assert_int_equal(checkpoint_load(fresh, junk, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, "negative"));
    s_assert_same_state(fresh, ref);
    /* and the good one loads */
    assert_int_equal(checkpoint_load(fresh, path, err, sizeof err), 0);
    s_assert_same_state(fresh, saved);
    free(bytes);
    mpo_destroy(&fresh);
    mpo_destroy(&ref);
    mpo_destroy(&saved);
}

/* a write that cannot happen leaves what was there */
static void test_failed_save_keeps_old(void **state) {
    (void)state;
    char path[128], err[512];
    s_path(path, sizeof path, CHECKPOINT_FILE);
    mpo_t *m = s_new(16, "squashed");
    assert_int_equal(checkpoint_save(m, path, err, sizeof err), 0);
    long before = s_file_size(path);
    err[0] = 0;
    assert_int_equal(checkpoint_save(m, "/nonexistent-dir/" CHECKPOINT_FILE, err, sizeof err), -MPO_EIO);
    assert_non_null(strstr(err, "/nonexistent-dir/"));
    assert_int_equal(s_file_size(path), before);
    mpo_destroy(&m);
}

/* checkpoint_keep 3: four saves leave the newest three (learner.ckpt, .1, .2), each the state it
 * was saved from; a damaged newest one is passed over for .1 with the reason, and a missing one
 * too; with every file damaged the load fails with the newest's reason and the learner unchanged. */
static void test_kept_series(void **state) {
    (void)state;
    char path[128], name[160], err[512];
    s_path(path, sizeof path, "kept.ckpt");
    for (int k = 0; k < 5; k++) {
        snprintf(name, sizeof name, k ? "%s.%d" : "%s", path, k);
        unlink(name);
    }
    mpo_t *m = s_new(16, "squashed");
    for (int i = 1; i <= 4; i++) {
        s_train(m, 1, 100 + (uint64_t)i);
        assert_int_equal(checkpoint_save_kept(m, path, 3, err, sizeof err), 0);
    }
    snprintf(name, sizeof name, "%s.3", path);
    assert_true(s_file_size(name) < 0); /* the oldest went */
    int used = -1;
    for (int k = 0; k < 3; k++) { /* .k holds the state after 4 - k updates */
        snprintf(name, sizeof name, k ? "%s.%d" : "%s", path, k);
        mpo_t *f = s_new(16, "squashed");
        assert_int_equal(checkpoint_load(f, name, err, sizeof err), 0);
        assert_int_equal(mpo_updates(f), 4 - k);
        mpo_destroy(&f);
    }
    /* damage the newest: the series falls back to .1 and says why */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 200, SEEK_SET);
    fputc(0x55 ^ fgetc(fp), fp);
    fclose(fp);
    mpo_t *f = s_new(16, "squashed");
    assert_int_equal(checkpoint_load_newest(f, path, &used, err, sizeof err), 0);
    assert_int_equal(used, 1);
    assert_int_equal(mpo_updates(f), 3);
    assert_non_null(strstr(err, path));
    mpo_destroy(&f);
    /* a gap (a crash inside the rotation) is skipped too */
    unlink(path);
    snprintf(name, sizeof name, "%s.1", path);
    unlink(name);
    f = s_new(16, "squashed");
    assert_int_equal(checkpoint_load_newest(f, path, &used, err, sizeof err), 0);
    assert_int_equal(used, 2);
    assert_int_equal(mpo_updates(f), 2);
    mpo_destroy(&f);
    /* nothing loadable: the newest file's reason, the learner as it was */
    snprintf(name, sizeof name, "%s.2", path);
    fp = fopen(name, "ab");
    assert_non_null(fp);
    fputc('x', fp); /* trailing junk */
    fclose(fp);
    f = s_new(16, "squashed");
    assert_int_equal(checkpoint_load_newest(f, path, &used, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, name));
    assert_int_equal(mpo_updates(f), 0);
    mpo_destroy(&f);
    unlink(name);
    assert_int_equal(checkpoint_load_newest(m, path, &used, err, sizeof err), -MPO_EIO);
    mpo_destroy(&m);
}

static void test_counters_round_trip(void **state) {
    (void)state;
    char err[512], path[128], line[128];
    checkpoint_counters_t c = {.updates = 12345, .weights_version = 67, .batches = 12000, .rejected = 3}, back;
    checkpoint_run_t run = {.env = "Pendulum-v1", .min_std = 0.05, .n_bounds = 2, .act_low = {-2, -0.5f},
                            .act_high = {2, 1.25f}};
    assert_int_equal(checkpoint_counters_save(s_dir, &c, &run, err, sizeof err), 0);
    assert_int_equal(checkpoint_counters_load(s_dir, &back, err, sizeof err), 0);
    assert_memory_equal(&c, &back, sizeof c);
    /* the file is `key value` lines, the counters, then env and min_std (tests, operators and
     * `mpo export` read it) */
    s_path(path, sizeof path, CHECKPOINT_STATE_FILE);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    const char *want[] = {"updates 12345\n", "weights_version 67\n", "batches 12000\n", "rejected 3\n",
                          "env Pendulum-v1\n", "min_std 0.05\n", "act_low -2,-0.5\n", "act_high 2,1.25\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_non_null(fgets(line, sizeof line, f));
        assert_string_equal(line, want[i]);
    }
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    checkpoint_run_t back_run = {0};
    assert_int_equal(checkpoint_run_load(s_dir, &back_run, err, sizeof err), 0);
    assert_memory_equal(&back_run, &run, sizeof run);
    /* a directory without one */
    err[0] = 0;
    assert_int_equal(checkpoint_counters_load("/nonexistent-dir", &back, err, sizeof err), -MPO_EIO);
    assert_non_null(strstr(err, "/nonexistent-dir/" CHECKPOINT_STATE_FILE));
    assert_true(back.weights_version == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_damage_refused),
        cmocka_unit_test(test_failed_save_keeps_old),
        cmocka_unit_test(test_kept_series),
        cmocka_unit_test(test_counters_round_trip),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
