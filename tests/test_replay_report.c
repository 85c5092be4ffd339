/* replay_report: the replay's views of itself over real parts (peers, held rings, buffer, rate
 * limiter) without a socket. The peers' own stats lists on /metrics (one family per name, every
 * actor's sample under it, ids escaped, the learner's list left to the learner's own /metrics),
 * the well-formedness of the whole exposition (every sample under its own TYPE, no family twice),
 * how a stored list is replaced, and the same lists in the StatsReply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics_http.h"
#include "tests/test_util.h"
#include "replay/held.h"
#include "replay/peers.h"
#include "replay/rate_limiter.h"
#include "replay/replay_buffer.h"
#include "replay/replay_report.h"
#include "replay/router.h"

#define CONTAINS(hay, needle)                                                                 \
    do {                                                                                      \
        if (!strstr((hay), (needle)))                                                         \
            fail_msg("the exposition does not contain '%s':\n%s", (needle), (hay));           \
    } while (0)

typedef struct {
    peers_t *peers;
    held_t *held;
    replay_buffer_t *buffer;
    rate_limiter_t *limiter;
    replay_counts_t counts;
    replay_view_t view;
} fixture_t;

static int s_setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    rate_limiter_config_t rl = {.samples_per_insert = 0, .min_size = 1, .tolerance = 0, .timeout_s = 1,
                                .max_insert = 5, .max_sample = 8, .capacity = 100};
    f->peers = peers_new();
    f->held = held_new(3, 1);
    f->buffer = replay_buffer_new(100, 3, 1);
    f->limiter = rate_limiter_new(&rl, err, sizeof err);
    assert_true(f->peers && f->held && f->buffer && f->limiter);
    f->view = (replay_view_t){.env = "Pendulum-v1",
                              .buffer = f->buffer,
                              .limiter = f->limiter,
                              .peers = f->peers,
                              .held = f->held,
                              .counts = &f->counts,
                              .learning_starts = 1};
    *state = f;
    return 0;
}

static int s_teardown(void **state) {
    fixture_t *f = *state;
    peers_destroy(&f->peers);
    held_destroy(&f->held);
    replay_buffer_destroy(&f->buffer);
    rate_limiter_destroy(&f->limiter);
    free(f);
    return 0;
}

/* an actor said Hello on connection `conn` */
static peers_actor_t *s_actor(fixture_t *f, const char *conn, const char *id) {
    router_rid_t rid;
    router_rid_set(&rid, conn, strlen(conn));
    double silent = 0;
    peers_actor_t *a =
        peers_actor(f->peers, peers_hello(f->peers, &rid, MPO__ROLE__ROLE_ACTOR, id, 1, 0.0, 60.0, &silent));
    assert_non_null(a);
    return a;
}

/* store name = value pairs (NULL-terminated) as a peer's list */
static void s_report(peers_stats_t *s, ...) {
    Mpo__Stat st[8], *p[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, s);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL; n++) {
        assert_true(n < 8);
        mpo__stat__init(&st[n]);
        st[n].name = (char *)name;
        st[n].value = va_arg(ap, double);
        p[n] = &st[n];
    }
    va_end(ap);
    peers_stats_set(s, p, n); /* copies: st and p may go */
}

static size_t s_count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* every sample line belongs to the family of the TYPE line above it, and no family comes twice */
static void s_check_families(const char *text) {
    char family[256] = "", seen[4096] = " ";
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        size_t len = strcspn(line, "\n");
        if (!strncmp(line, "# TYPE ", 7)) {
            size_t k = strcspn(line + 7, " ");
            snprintf(family, sizeof family, "%.*s", (int)k, line + 7);
            char key[300];
            snprintf(key, sizeof key, " %s ", family);
            if (strstr(seen, key))
                fail_msg("family %s comes twice", family);
            strncat(seen, key + 1, sizeof seen - strlen(seen) - 1);
        } else if (line[0] != '#') {
            size_t k = strcspn(line, "{ ");
            if (strlen(family) != k || strncmp(line, family, k) != 0)
                fail_msg("sample '%.*s' is not under its own TYPE (last TYPE: %s)", (int)len, line, family);
        }
        if (!line[len])
            break;
    }
}

static void test_actor_lists_on_metrics(void **state) {
    fixture_t *f = *state;
    s_report(&s_actor(f, "A", "actor-a")->stats, "env_steps_per_s", 250.0, "episodes", 3.0, NULL);
    s_report(&s_actor(f, "B", "actor-b")->stats, "only_b", 1.0, "env_steps_per_s", 7.5, NULL);
    s_report(&s_actor(f, "C", "say \"hi\"")->stats, "env_steps_per_s", 1.0, NULL);
    s_actor(f, "D", "actor-d"); /* says nothing of itself */
    s_report(&f->counts.learner_stats, "updates_per_s", 12.0, NULL);
    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    replay_report_metrics(&f->view, 1.0, &b);
    assert_false(b.oom);
    const char *t = b.data;
    s_check_families(t);
    assert_int_equal(s_count(t, "# TYPE mpo_actor_env_steps_per_s untyped\n"), 1);
    CONTAINS(t, "# HELP mpo_actor_env_steps_per_s as reported by the actor\n");
    /* one family, its samples together, in the actors' table order */
    CONTAINS(t, "# TYPE mpo_actor_env_steps_per_s untyped\n"
                "mpo_actor_env_steps_per_s{actor=\"actor-a\"} 250\n"
                "mpo_actor_env_steps_per_s{actor=\"actor-b\"} 7.5\n"
                "mpo_actor_env_steps_per_s{actor=\"say \\\"hi\\\"\"} 1\n");
    CONTAINS(t, "mpo_actor_episodes{actor=\"actor-a\"} 3\n");
    CONTAINS(t, "# TYPE mpo_actor_only_b untyped\nmpo_actor_only_b{actor=\"actor-b\"} 1\n");
    assert_int_equal(s_count(t, "{actor=\"actor-d\"}"), 6); /* the replay's own 6 series: d lists nothing */
    assert_int_equal(s_count(t, "mpo_actor_"), 3 * 2 + 5); /* HELP and TYPE of 3 families, 5 samples */
    assert_null(strstr(t, "learner_reported")); /* the learner's list is on the learner's /metrics */
    assert_null(strstr(t, "updates_per_s"));
    metrics_http_buf_free(&b);
}

static void test_list_replaced_whole(void **state) {
    fixture_t *f = *state;
    peers_stats_t *s = &s_actor(f, "A", "actor-a")->stats;
    s_report(s, "a", 1.0, "b", 2.0, NULL);
    assert_int_equal(s->n, 2);
    s_report(s, NULL); /* an empty list: nothing to say this time, the last list stays */
    assert_int_equal(s->n, 2);
    s_report(s, "b", 3.0, "b", 4.0, "c", 5.0, NULL); /* a name twice keeps its last value */
    assert_int_equal(s->n, 2);
    assert_string_equal(s->name[0], "b");
    assert_true(s->value[0] == 4.0);
    assert_string_equal(s->name[1], "c");
    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    replay_report_metrics(&f->view, 1.0, &b);
    assert_int_equal(s_count(b.data, "mpo_actor_b{actor=\"actor-a\"} 4\n"), 1);
    assert_null(strstr(b.data, "mpo_actor_a{"));
    /* an actor forgotten for newer ones (the table is full) takes its list with it */
    for (int i = 0; i < PEERS_MAX_ACTORS; i++) {
        char conn[16], id[32];
        snprintf(conn, sizeof conn, "c%d", i);
        snprintf(id, sizeof id, "newer-%d", i);
        router_rid_t rid;
        router_rid_set(&rid, conn, strlen(conn));
        double silent = 0;
        peers_hello(f->peers, &rid, MPO__ROLE__ROLE_ACTOR, id, 1, 1.0 + i, 60.0, &silent);
    }
    metrics_http_buf_reset(&b);
    replay_report_metrics(&f->view, 2000.0, &b);
    assert_null(strstr(b.data, "actor-a"));
    assert_null(strstr(b.data, "mpo_actor_"));
    metrics_http_buf_free(&b);
}

static void test_lists_in_stats_reply(void **state) {
    fixture_t *f = *state;
    s_report(&s_actor(f, "A", "actor-a")->stats, "env_steps_per_s", 250.0, NULL);
    s_actor(f, "B", "actor-b");
    s_report(&s_actor(f, "C", "actor-c")->stats, "x", 1.0, "y", 2.0, NULL);
    s_report(&f->counts.learner_stats, "updates_per_s", 12.0, "critic_loss", 0.5, NULL);
    replay_reply_t *reply = replay_reply_new(&f->view, 1.0);
    assert_non_null(reply);
    const Mpo__StatsReply *r = replay_reply_msg(reply)->stats_reply;
    assert_int_equal(r->n_learner_stats, 2);
    assert_string_equal(r->learner_stats[1]->name, "critic_loss");
    assert_true(r->learner_stats[1]->value == 0.5);
    assert_int_equal(r->n_actors, 3);
    assert_int_equal(r->actors[0]->n_stats, 1);
    assert_true(r->actors[0]->stats[0]->value == 250);
    assert_int_equal(r->actors[1]->n_stats, 0);
    assert_int_equal(r->actors[2]->n_stats, 2);
    assert_string_equal(r->actors[2]->stats[1]->name, "y");
    /* it packs and reads back: the storage is whole */
    size_t len = mpo__message__get_packed_size(replay_reply_msg(reply));
    uint8_t *buf = malloc(len);
    mpo__message__pack(replay_reply_msg(reply), buf);
    Mpo__Message *back = mpo__message__unpack(NULL, len, buf);
    assert_non_null(back);
    assert_int_equal(back->stats_reply->actors[2]->n_stats, 2);
    assert_true(back->stats_reply->actors[2]->stats[1]->value == 2.0);
    mpo__message__free_unpacked(back, NULL);
    free(buf);
    replay_reply_destroy(&reply);
    assert_null(reply);
}

static void s_ignore_insert(void *ctx, const held_insert_t *h, const transition_batch_t *b, const float *r) {
    (void)ctx, (void)h, (void)b, (void)r;
}
static void s_ignore_sample(void *ctx, const held_sample_t *h) { (void)ctx, (void)h; }

/* the held fractions: a sample request waits from t = 0 until the buffer has data at t = 3; over
 * the first 4 s the learner was held 3/4 of the time, and 30 s later the window has forgotten it;
 * the insert side never held anything */
static void test_held_fractions(void **state) {
    fixture_t *f = *state;
    router_rid_t rid;
    router_rid_set(&rid, "L", 1);
    assert_int_equal(held_push_sample(f->held, &rid, 1, 8, 0.0), 0);
    held_serve_t to = {.insert = s_ignore_insert, .sample = s_ignore_sample};
    held_serve(f->held, f->limiter, f->buffer, 0.5, &to); /* empty buffer, within the timeout: held */
    assert_int_equal(held_samples(f->held), 1);
    CLOSE(held_busy_seconds(f->held, 1, 2.0), 2.0, 1e-12);
    float obs[3] = {0}, act[1] = {0};
    replay_buffer_add(f->buffer, obs, act, 0.0f, 0.0f, obs); /* min_size 1, the limiter off: it goes */
    held_serve(f->held, f->limiter, f->buffer, 3.0, &to);
    assert_int_equal(held_samples(f->held), 0);
    CLOSE(held_busy_seconds(f->held, 1, 10.0), 3.0, 1e-12);
    CLOSE(held_busy_seconds(f->held, 0, 10.0), 0.0, 1e-12);

    /* rates over the last 30 s: samples at 0 and 4 s measure [0, 4]; at 34 s, [4, 34] */
    double x[REPLAY_STAT_COUNT];
    replay_counts_rates(&f->counts, 0, 0, 0.0, 0.0, 0.0);
    replay_report_values(&f->view, 0.0, x);
    CLOSE(x[REPLAY_STAT_learner_held_fraction_30s], 0.0, 1e-12); /* one sample: no rate yet */
    replay_counts_rates(&f->counts, 40, 8, held_busy_seconds(f->held, 0, 4.0), held_busy_seconds(f->held, 1, 4.0), 4.0);
    replay_report_values(&f->view, 4.0, x);
    CLOSE(x[REPLAY_STAT_learner_held_fraction_30s], 0.75, 1e-12);
    CLOSE(x[REPLAY_STAT_actors_held_fraction_30s], 0.0, 1e-12);
    CLOSE(x[REPLAY_STAT_insert_rate_30s], 10.0, 1e-12);
    CLOSE(x[REPLAY_STAT_sample_rate_30s], 2.0, 1e-12);
    CLOSE(x[REPLAY_STAT_samples_per_insert_30s], 0.2, 1e-12);
    for (int t = 5; t <= 34; t++) /* once a second; 30 more inserts a second from 4 s on */
        replay_counts_rates(&f->counts, 40 + 30 * (uint64_t)(t - 4), 8, held_busy_seconds(f->held, 0, t),
                            held_busy_seconds(f->held, 1, t), t);
    replay_report_values(&f->view, 34.0, x);
    CLOSE(x[REPLAY_STAT_learner_held_fraction_30s], 0.0, 1e-12); /* the wait is out of the window */
    CLOSE(x[REPLAY_STAT_insert_rate_30s], 30.0, 1e-12);          /* and so is the first burst */
    CLOSE(x[REPLAY_STAT_sample_rate_30s], 0.0, 1e-12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_actor_lists_on_metrics, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_replaced_whole, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lists_in_stats_reply, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_held_fractions, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
