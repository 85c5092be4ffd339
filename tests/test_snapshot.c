/* snapshot: a replay server's parts (a wrapped ring, counters, the newest evaluation, recent
 * returns, the rate limiter's counts, actors with their dedup state) written and read back into
 * fresh parts come back the same, and an actor that says Hello again with its incarnation carries
 * on with its last_seq; a smaller ring keeps the newest transitions; another rate-limiter window
 * leaves the limiter at zero. Every damaged or foreign file is refused with one line naming the
 * file and the problem, and leaves the parts as they were: missing, not a snapshot, another
 * version, another env, other sizes, too short, bytes after the end, a flipped byte, a value that
 * is not finite (checksum made right), an impossible count, an actor listed twice. A failed write
 * leaves the older snapshot whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fnv.h"
#include "common/wire.h"
#include "replay/snapshot.h"

#define OBS 3
#define ACT 1
#define CAP 50
#define N_INSERTED 73 /* wraps the ring of CAP */

/* the header's fields the tests damage (replay/snapshot.c's s_header_t) */
#define OFF_VERSION 8
#define OFF_N_ACTORS 28

static char s_dir[64], s_path[128];

/* a server's parts, owned */
typedef struct {
    char env[64];
    replay_buffer_t *buffer;
    peers_t *peers;
    replay_counts_t counts;
    rate_limiter_t *limiter;
    snapshot_parts_t parts;
} s_server_t;

static s_server_t *s_server_new(const char *env, size_t cap, int obs, double spi) {
    s_server_t *s = calloc(1, sizeof *s);
    snprintf(s->env, sizeof s->env, "%s", env);
    s->buffer = replay_buffer_new(cap, obs, ACT);
    s->peers = peers_new();
    char err[256];
    rate_limiter_config_t rl = {.samples_per_insert = spi, .min_size = 10, .tolerance = 100, .timeout_s = 60,
                                .max_insert = 8, .max_sample = 8, .capacity = cap};
    s->limiter = rate_limiter_new(&rl, err, sizeof err);
    assert_non_null(s->buffer);
    assert_non_null(s->peers);
    assert_non_null(s->limiter);
    s->parts = (snapshot_parts_t){s->env, s->buffer, s->peers, &s->counts, s->limiter};
    return s;
}

static void s_server_destroy(s_server_t **s) {
    replay_buffer_destroy(&(*s)->buffer);
    peers_destroy(&(*s)->peers);
    rate_limiter_destroy(&(*s)->limiter);
    free(*s);
    *s = NULL;
}

/* transition k: every float of it names k */
static void s_insert(s_server_t *s, int k) {
    float obs[OBS], act[ACT] = {-(float)k}, next[OBS];
    for (int i = 0; i < OBS; i++) {
        obs[i] = (float)k + 0.25f * (float)i;
        next[i] = obs[i] + 1000;
    }
    replay_buffer_add(s->buffer, obs, act, (float)k / 10, (float)(k % 2), next);
}

/* the oldest-first transition i of the buffer: which k it is (-1 when its fields disagree) */
static int s_which(const replay_buffer_t *b, size_t i) {
    float obs[OBS], act[ACT], r, d, next[OBS];
    transition_batch_t t = {obs, act, &r, &d, next, 1};
    replay_buffer_get(b, i, &t, 0);
    int k = (int)obs[0];
    return act[0] == -(float)k && r == (float)k / 10 && d == (float)(k % 2) && next[2] == obs[2] + 1000 ? k : -1;
}

/* a server with a wrapped ring, counters, returns, a limiter that counted, and two actors */
static s_server_t *s_filled(double now) {
    s_server_t *s = s_server_new("Pendulum-v1", CAP, OBS, 2.0);
    for (int k = 0; k < N_INSERTED; k++)
        s_insert(s, k);
    replay_counts_t *c = &s->counts;
    c->duplicates = 3;
    c->resent_held = 4;
    c->dropped = 5;
    c->episodes = 6;
    c->sample_batches = 7;
    c->learner_updates = 8;
    c->learner_version = 9;
    c->rejected[WIRE_BAD_VALUE] = 11;
    c->evals = 4; /* the newest evaluation: a negative return is a value, not a damaged count */
    c->eval_return = -123.5f;
    c->eval_std = 4.25f;
    c->eval_episodes = 10;
    c->eval_version = 12;
    c->eval_learner_step = 3000;
    c->eval_env_steps = 60;
    for (int i = 0; i < 130; i++) /* more than the ring of returns keeps */
        replay_counts_return(c, (float)i);
    assert_int_equal(rate_limiter_admit(s->limiter, RATE_LIMITER_INSERT, 40, 0, now - 2, now), RATE_LIMITER_ALLOW);
    assert_int_equal(rate_limiter_admit(s->limiter, RATE_LIMITER_SAMPLE, 8, 40, now - 1, now), RATE_LIMITER_ALLOW);
    router_rid_t rid = {.rid_len = 1, .rid = {1}};
    double silent;
    peers_peer_t *p = peers_hello(s->peers, &rid, MPO__ROLE__ROLE_ACTOR, "actor-a", 0xabc, now - 5, 60, &silent);
    peers_actor_t *a = peers_actor(s->peers, p);
    a->last_seq = 42;
    a->transitions = 100;
    a->batches = 10;
    a->episodes = 2;
    a->policy_version = 17;
    rid.rid[0] = 2;
    p = peers_hello(s->peers, &rid, MPO__ROLE__ROLE_ACTOR, "actor-b", 0xdef, now - 1, 60, &silent);
    peers_actor(s->peers, p)->last_seq = 7;
    return s;
}

static const peers_actor_t *s_actor_named(const peers_t *peers, const char *id) {
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
        const peers_actor_t *a = peers_actor_at(peers, i);
        if (a && strcmp(a->id, id) == 0)
            return a;
    }
    return NULL;
}

static int s_setup(void **state) {
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/mpo_test_snapshot_XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_path, sizeof s_path, "%s/" SNAPSHOT_FILE, s_dir);
    return 0;
}

static int s_teardown(void **state) {
    (void)state;
    char p[192];
    snprintf(p, sizeof p, "%s.tmp", s_path);
    rmdir(p); /* the failed-write test makes it a directory */
    unlink(p);
    unlink(s_path);
    rmdir(s_dir);
    return 0;
}

static void s_save(s_server_t *s, double now) {
    char err[512];
    snapshot_info_t info;
    if (snapshot_save(&s->parts, s_dir, now, 1000.0, &info, err, sizeof err) != 0)
        fail_msg("save: %s", err);
    assert_int_equal(info.size, replay_buffer_size(s->buffer));
}

/* ---------------------------------------------------------------- round trips */

static void test_round_trip(void **state) {
    (void)state;
    double now = 500.0;
    s_server_t *a = s_filled(now);
    s_save(a, now);
    char tmp[192];
    snprintf(tmp, sizeof tmp, "%s.tmp", s_path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed into place */

    s_server_t *b = s_server_new("Pendulum-v1", CAP, OBS, 2.0);
    char err[512];
    snapshot_info_t info;
    /* restarted 30 s of wall clock after the snapshot, on a monotonic clock that started afresh */
    int rc = snapshot_load(&b->parts, s_path, 10.0, 1030.0, &info, err, sizeof err);
    if (rc != 0)
        fail_msg("load: %s", err);
    assert_int_equal(info.size, CAP);
    assert_int_equal(info.restored, CAP);
    assert_int_equal(info.inserted, N_INSERTED);
    assert_int_equal(info.actors, 2);
    assert_true(info.limiter_restored);
    assert_int_equal(replay_buffer_size(b->buffer), CAP);
    assert_int_equal(replay_buffer_inserted(b->buffer), N_INSERTED);
    for (size_t i = 0; i < CAP; i++) /* oldest first: the CAP newest of 0 .. N_INSERTED-1 */
        assert_int_equal(s_which(b->buffer, i), N_INSERTED - CAP + (int)i);
    /* the restored ring goes on in order */
    s_insert(b, N_INSERTED);
    assert_int_equal(s_which(b->buffer, CAP - 1), N_INSERTED);
    assert_int_equal(s_which(b->buffer, 0), N_INSERTED - CAP + 1);

    const replay_counts_t *c = &b->counts;
    assert_int_equal(c->duplicates, 3);
    assert_int_equal(c->resent_held, 4);
    assert_int_equal(c->dropped, 5);
    assert_int_equal(c->episodes, 6);
    assert_int_equal(c->sample_batches, 7);
    assert_int_equal(c->learner_updates, 8);
    assert_int_equal(c->learner_version, 9);
    assert_int_equal(c->rejected[WIRE_BAD_VALUE], 11);
    assert_int_equal(c->evals, 4);
    assert_true(c->eval_return == -123.5f && c->eval_std == 4.25f);
    assert_int_equal(c->eval_episodes, 10);
    assert_int_equal(c->eval_version, 12);
    assert_int_equal(c->eval_learner_step, 3000);
    assert_int_equal(c->eval_env_steps, 60);
    assert_int_equal(c->returns_count, REPLAY_RECENT_RETURNS);
    uint32_t n;
    CLOSE(replay_counts_recent_mean(c, &n), replay_counts_recent_mean(&a->counts, &n), 1e-9);
    for (size_t i = 0; i < REPLAY_RECENT_RETURNS; i++) /* the newest 100 of 0..129, oldest first */
        CLOSE(c->returns[(c->returns_next + i) % REPLAY_RECENT_RETURNS], 30 + (double)i, 0);
    assert_int_equal(rate_limiter_inserts(b->limiter), 40);
    assert_int_equal(rate_limiter_samples(b->limiter), 8);
    CLOSE(rate_limiter_held_seconds(b->limiter, RATE_LIMITER_INSERT), 2.0, 1e-12);

    const peers_actor_t *x = s_actor_named(b->peers, "actor-a");
    assert_non_null(x);
    assert_int_equal(x->incarnation, 0xabc);
    assert_int_equal(x->last_seq, 42);
    assert_int_equal(x->transitions, 100);
    assert_int_equal(x->batches, 10);
    assert_int_equal(x->episodes, 2);
    assert_int_equal(x->policy_version, 17);
    CLOSE(x->last_seen, 10.0 - 5 - 30, 1e-9); /* silent 5 s at the snapshot, then 30 s down */
    assert_int_equal(s_actor_named(b->peers, "actor-b")->last_seq, 7);

    /* the same process says Hello on a new connection: its dedup state is there */
    router_rid_t rid = {.rid_len = 1, .rid = {9}};
    double silent = 0;
    peers_peer_t *p = peers_hello(b->peers, &rid, MPO__ROLE__ROLE_ACTOR, "actor-a", 0xabc, 11.0, 60, &silent);
    assert_non_null(p);
    assert_int_equal(peers_actor(b->peers, p)->last_seq, 42);
    /* another process with the id takes it over at once: the old one has been silent 36 s > 30 s */
    rid.rid[0] = 10;
    p = peers_hello(b->peers, &rid, MPO__ROLE__ROLE_ACTOR, "actor-b", 0x999, 11.0, 30, &silent);
    assert_non_null(p);
    assert_int_equal(peers_actor(b->peers, p)->last_seq, 0);
    s_server_destroy(&a);
    s_server_destroy(&b);
}

static void test_empty_round_trip(void **state) {
    (void)state;
    s_server_t *a = s_server_new("Pendulum-v1", CAP, OBS, 0);
    s_save(a, 1.0);
    s_server_t *b = s_server_new("Pendulum-v1", CAP, OBS, 0);
    char err[512];
    snapshot_info_t info;
    assert_int_equal(snapshot_load(&b->parts, s_path, 1.0, 1000.0, &info, err, sizeof err), 0);
    assert_int_equal(replay_buffer_size(b->buffer), 0);
    assert_int_equal(info.actors, 0);
    s_server_destroy(&a);
    s_server_destroy(&b);
}

static void test_smaller_ring_keeps_newest(void **state) {
    (void)state;
    s_server_t *a = s_filled(100.0);
    s_save(a, 100.0);
    s_server_t *b = s_server_new("Pendulum-v1", 20, OBS, 2.0);
    char err[512];
    snapshot_info_t info;
    assert_int_equal(snapshot_load(&b->parts, s_path, 1.0, 1000.0, &info, err, sizeof err), 0);
    assert_int_equal(info.size, CAP);
    assert_int_equal(info.restored, 20);
    assert_int_equal(replay_buffer_inserted(b->buffer), N_INSERTED);
    for (size_t i = 0; i < 20; i++)
        assert_int_equal(s_which(b->buffer, i), N_INSERTED - 20 + (int)i);
    s_server_destroy(&a);
    s_server_destroy(&b);
}

static void test_other_window_leaves_limiter(void **state) {
    (void)state;
    s_server_t *a = s_filled(100.0);
    s_save(a, 100.0);
    s_server_t *b = s_server_new("Pendulum-v1", CAP, OBS, 4.0); /* samples_per_insert changed */
    char err[512];
    snapshot_info_t info;
    assert_int_equal(snapshot_load(&b->parts, s_path, 1.0, 1000.0, &info, err, sizeof err), 0);
    assert_false(info.limiter_restored);
    assert_int_equal(rate_limiter_inserts(b->limiter), 0);
    assert_int_equal(rate_limiter_samples(b->limiter), 0);
    assert_int_equal(replay_buffer_size(b->buffer), CAP); /* the rest is restored */
    s_server_destroy(&a);
    s_server_destroy(&b);
}

/* ---------------------------------------------------------------- refusals */

/* where the file holds this text (an actor's id): the tests damage what lies around it */
static long s_find(const char *text) {
    FILE *f = fopen(s_path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f), len = strlen(text) + 1;
    fclose(f);
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(buf + i, text, len) == 0)
            return (long)i;
    fail_msg("'%s' is not in the snapshot's first %zu bytes", text, n);
    return -1;
}

static long s_file_len(void) {
    struct stat st;
    assert_int_equal(stat(s_path, &st), 0);
    return (long)st.st_size;
}

static void s_poke(long off, const void *data, size_t n) {
    FILE *f = fopen(s_path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* the checksum made right again after a poke: only the check under test can refuse the file */
static void s_rehash(void) {
    long len = s_file_len();
    unsigned char *buf = malloc((size_t)len);
    FILE *f = fopen(s_path, "rb");
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    uint64_t sum = fnv1a(FNV_OFFSET, buf, (size_t)len - 8);
    free(buf);
    s_poke(len - 8, &sum, sizeof sum);
}

/* a fresh good snapshot of s_filled */
static void s_fresh(void) {
    s_server_t *a = s_filled(100.0);
    s_save(a, 100.0);
    s_server_destroy(&a);
}

/* load into fresh Pendulum parts (or env/obs): refused with rc, one line naming the file and
 * `phrase`, the parts as they were */
static void s_refused(const char *env, int obs, int rc_want, const char *phrase) {
    s_server_t *b = s_server_new(env, CAP, obs, 2.0);
    char err[512] = "";
    snapshot_info_t info;
    int rc = snapshot_load(&b->parts, s_path, 1.0, 1000.0, &info, err, sizeof err);
    if (rc != rc_want || !strstr(err, phrase) || !strstr(err, s_path) || strchr(err, '\n'))
        fail_msg("expected %s with '%s', got %s: '%s'", mpo_error_name(rc_want), phrase, mpo_error_name(rc), err);
    assert_int_equal(replay_buffer_size(b->buffer), 0);
    assert_int_equal(replay_buffer_inserted(b->buffer), 0);
    assert_int_equal(b->counts.episodes, 0);
    assert_int_equal(b->counts.returns_count, 0);
    assert_int_equal(rate_limiter_inserts(b->limiter), 0);
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++)
        assert_null(peers_actor_at(b->peers, i));
    s_server_destroy(&b);
}

static void test_refuses_missing(void **state) {
    (void)state;
    unlink(s_path);
    s_refused("Pendulum-v1", OBS, -MPO_EIO, "No such file");
}

static void test_refuses_not_a_snapshot(void **state) {
    (void)state;
    FILE *f = fopen(s_path, "wb");
    for (int i = 0; i < 100; i++)
        fputs("key = value\n", f);
    fclose(f);
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "not an mpo replay snapshot");
    f = fopen(s_path, "wb");
    fputs("short", f);
    fclose(f);
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "truncated");
}

static void test_refuses_other_version(void **state) {
    (void)state;
    s_fresh();
    uint32_t v = SNAPSHOT_VERSION + 1;
    s_poke(OFF_VERSION, &v, sizeof v);
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "format version 2");
}

static void test_refuses_other_env_or_sizes(void **state) {
    (void)state;
    s_fresh();
    s_refused("Other-v0", OBS, -MPO_EFORMAT, "holds Pendulum-v1 (obs 3, act 1); this server is Other-v0");
    s_refused("Pendulum-v1", OBS + 1, -MPO_EFORMAT, "this server is Pendulum-v1 (obs 4, act 1)");
}

static void test_refuses_truncated_and_trailing(void **state) {
    (void)state;
    s_fresh();
    long len = s_file_len();
    assert_int_equal(truncate(s_path, len - 1), 0);
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "is truncated");
    s_fresh();
    FILE *f = fopen(s_path, "ab");
    fputc('x', f);
    fclose(f);
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "has 1 bytes after its end");
}

static void test_refuses_flipped_byte(void **state) {
    (void)state;
    s_fresh();
    long offsets[] = {0, 0, 0}; /* an actor's incarnation; a record; the checksum */
    offsets[0] = s_find("actor-a") + PEERS_ACTOR_ID_MAX + 2;
    offsets[1] = s_file_len() - 8 - 100;
    offsets[2] = s_file_len() - 3;
    for (size_t i = 0; i < 3; i++) {
        s_fresh();
        unsigned char byte;
        FILE *f = fopen(s_path, "rb");
        fseek(f, offsets[i], SEEK_SET);
        assert_int_equal(fread(&byte, 1, 1, f), 1);
        fclose(f);
        byte ^= 0x10;
        s_poke(offsets[i], &byte, 1);
        s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "fails its checksum (damaged)");
    }
}

static void test_refuses_not_finite(void **state) {
    (void)state;
    s_fresh();
    float nan = NAN;
    s_poke(s_file_len() - 8 - 4, &nan, sizeof nan); /* the newest transition's last float */
    s_rehash();
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "transition value that is not finite");
}

static void test_refuses_impossible_counts(void **state) {
    (void)state;
    s_fresh();
    uint32_t n = PEERS_MAX_ACTORS + 1;
    s_poke(OFF_N_ACTORS, &n, sizeof n);
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "impossible header");
    /* an actor listed twice: the second's id made the first's */
    s_fresh();
    char id[PEERS_ACTOR_ID_MAX] = "actor-a";
    s_poke(s_find("actor-b"), id, sizeof id);
    s_rehash();
    s_refused("Pendulum-v1", OBS, -MPO_EFORMAT, "lists actor 'actor-a' twice");
}

/* a write that fails leaves the older snapshot whole and loadable */
static void test_failed_write_keeps_older(void **state) {
    (void)state;
    s_fresh();
    char tmp[192], err[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", s_path);
    assert_int_equal(mkdir(tmp, 0755), 0); /* the temporary file cannot be made */
    s_server_t *a = s_server_new("Pendulum-v1", CAP, OBS, 2.0);
    snapshot_info_t info;
    int rc = snapshot_save(&a->parts, s_dir, 1.0, 1000.0, &info, err, sizeof err);
    assert_int_equal(rc, -MPO_EIO);
    assert_non_null(strstr(err, "cannot write snapshot"));
    rmdir(tmp);
    s_server_t *b = s_server_new("Pendulum-v1", CAP, OBS, 2.0);
    assert_int_equal(snapshot_load(&b->parts, s_path, 1.0, 1000.0, &info, err, sizeof err), 0);
    assert_int_equal(info.inserted, N_INSERTED);
    s_server_destroy(&a);
    s_server_destroy(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_round_trip),
        cmocka_unit_test(test_smaller_ring_keeps_newest),
        cmocka_unit_test(test_other_window_leaves_limiter),
        cmocka_unit_test(test_refuses_missing),
        cmocka_unit_test(test_refuses_not_a_snapshot),
        cmocka_unit_test(test_refuses_other_version),
        cmocka_unit_test(test_refuses_other_env_or_sizes),
        cmocka_unit_test(test_refuses_truncated_and_trailing),
        cmocka_unit_test(test_refuses_flipped_byte),
        cmocka_unit_test(test_refuses_not_finite),
        cmocka_unit_test(test_refuses_impossible_counts),
        cmocka_unit_test(test_failed_write_keeps_older),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
