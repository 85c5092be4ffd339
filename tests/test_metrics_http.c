/* metrics_http: the text-format helpers (HELP/TYPE lines, label escaping, values) and the HTTP
 * endpoint on a free loopback port, read with a plain socket client: /metrics serves exactly the
 * published snapshot with the Prometheus content type, /healthz, 404, 405, 503 before the first
 * snapshot, the render-callback mode, a port already taken, publishing while another thread
 * scrapes, and a clean destroy (ASan in the sanitizer run).
 *
 * `test_metrics_http --print-sample` writes a sample exposition to stdout instead (checked by
 * tests/test_metrics_format.sh with promtool). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/metrics_http.h"

#define CONTAINS(hay, needle)                                                                 \
    do {                                                                                      \
        if (!strstr((hay), (needle)))                                                         \
            fail_msg("'%s' does not contain '%s'", (hay), (needle));                          \
    } while (0)

typedef struct {
    int status;
    char content_type[128];
    char body[8192];
    size_t body_len;
} s_reply_t;

/* one request over a fresh connection to 127.0.0.1:port; 0, or -1 when the exchange failed */
static int s_http(int port, const char *method, const char *path, s_reply_t *r) {
    memset(r, 0, sizeof *r);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", method,
                     path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    static char raw[65536];
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, raw + got, sizeof raw - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == sizeof raw - 1)
            break;
    }
    close(fd);
    raw[got] = '\0';
    if (sscanf(raw, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    char *end = strstr(raw, "\r\n\r\n");
    if (!end)
        return -1;
    *end = '\0';
    for (char *line = strstr(raw, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (!strncasecmp(line + 2, "Content-Type:", 13)) {
            const char *v = line + 2 + 13;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            if (len >= sizeof r->content_type)
                len = sizeof r->content_type - 1;
            memcpy(r->content_type, v, len);
        }
    }
    const char *body = end + 4;
    r->body_len = got - (size_t)(body - raw);
    if (r->body_len >= sizeof r->body)
        return -1;
    memcpy(r->body, body, r->body_len);
    return 0;
}

/* ------------------------------------------------------------------ format helpers */

static void test_label_escaping(void **state) {
    (void)state;
    char out[64];
    size_t n = metrics_http_escape_label(out, sizeof out, "a\\b\"c\nd");
    assert_string_equal(out, "a\\\\b\\\"c\\nd");
    assert_int_equal(n, strlen("a\\\\b\\\"c\\nd"));
    /* truncation never splits an escape, and still reports the full length */
    n = metrics_http_escape_label(out, 3, "\"\"");
    assert_string_equal(out, "\\\"");
    assert_int_equal(n, 4);
    assert_int_equal(metrics_http_escape_label(out, sizeof out, NULL), 0);
    assert_string_equal(out, "");
    /* UTF-8 passes through untouched */
    metrics_http_escape_label(out, sizeof out, "h\xc3\xb6st");
    assert_string_equal(out, "h\xc3\xb6st");

    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    metrics_http_label_t l[2] = {{"actor", "a\\b\"c\nd"}, {"env", "Pendulum-v1"}};
    metrics_http_sample(&b, "mpo_x", l, 2, 1);
    assert_string_equal(b.data, "mpo_x{actor=\"a\\\\b\\\"c\\nd\",env=\"Pendulum-v1\"} 1\n");
    metrics_http_buf_free(&b);
}

static void test_help_type_values(void **state) {
    (void)state;
    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    metrics_http_family(&b, "mpo_replay_size", "gauge", "transitions held\nback\\slash");
    metrics_http_sample(&b, "mpo_replay_size", NULL, 0, 12345);
    metrics_http_sample(&b, "a", NULL, 0, 0.1);
    metrics_http_sample(&b, "b", NULL, 0, NAN);
    metrics_http_sample(&b, "c", NULL, 0, INFINITY);
    metrics_http_sample(&b, "d", NULL, 0, -INFINITY);
    metrics_http_sample(&b, "e", NULL, 0, -2.5e-300);
    metrics_http_sample(&b, "f", NULL, 0, 1.0 / 3.0);
    assert_string_equal(b.data, "# HELP mpo_replay_size transitions held\\nback\\\\slash\n"
                                "# TYPE mpo_replay_size gauge\n"
                                "mpo_replay_size 12345\n"
                                "a 0.1\n"
                                "b NaN\n"
                                "c +Inf\n"
                                "d -Inf\n"
                                "e -2.5e-300\n"
                                "f 0.3333333333333333\n");
    metrics_http_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    /* growth well past the first allocation, through printf's long path */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 20; i++)
        metrics_http_buf_printf(&b, "%s%d\n", big, i);
    assert_int_equal(b.len, 20 * 999 + 10 * 2 + 10 * 3);
    assert_false(b.oom);
    metrics_http_buf_free(&b);
    assert_null(b.data);

    assert_true(metrics_http_valid_name("mpo_replay:x_1"));
    assert_false(metrics_http_valid_name("1abc"));
    assert_false(metrics_http_valid_name("a-b"));
    assert_false(metrics_http_valid_name(""));
}

/* ------------------------------------------------------------------ the endpoint */

static void test_off_and_null(void **state) {
    (void)state;
    char err[256] = "junk";
    metrics_http_t *m = metrics_http_new(0, NULL, NULL, err, sizeof err);
    assert_null(m);
    assert_string_equal(err, "");
    /* every call takes NULL */
    assert_int_equal(metrics_http_publish(NULL, "x", 1), 0);
    assert_int_equal(metrics_http_poll(NULL), 0);
    metrics_http_render_now(NULL);
    assert_int_equal(metrics_http_port(NULL), 0);
    assert_int_equal(metrics_http_scrapes(NULL), 0);
    metrics_http_destroy(&m);
    metrics_http_destroy(NULL);
    m = metrics_http_new(70000, NULL, NULL, err, sizeof err);
    assert_null(m);
    CONTAINS(err, "70000");
}

static void test_serve_snapshot(void **state) {
    (void)state;
    char err[256];
    metrics_http_t *m = metrics_http_new(METRICS_HTTP_ANY_PORT, NULL, NULL, err, sizeof err);
    assert_non_null(m);
    int port = metrics_http_port(m);
    assert_true(port > 0 && port < 65536);
    s_reply_t r;

    /* nothing published yet */
    assert_int_equal(s_http(port, "GET", "/metrics", &r), 0);
    assert_int_equal(r.status, 503);

    assert_int_equal(s_http(port, "GET", "/healthz", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");

    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    metrics_http_family(&b, "mpo_replay_inserts_total", "counter", "transitions stored");
    metrics_http_sample(&b, "mpo_replay_inserts_total", NULL, 0, 4242);
    metrics_http_label_t l = {"actor", "host-1/\"q\""};
    metrics_http_family(&b, "mpo_actor_inserts_total", "counter", "per actor");
    metrics_http_sample(&b, "mpo_actor_inserts_total", &l, 1, 7);
    assert_int_equal(metrics_http_publish(m, b.data, b.len), 0);

    assert_int_equal(s_http(port, "GET", "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(r.body_len, b.len);
    assert_memory_equal(r.body, b.data, b.len);
    assert_int_equal(metrics_http_scrapes(m), 1);

    /* a query string is fine; the newest snapshot wins */
    metrics_http_buf_reset(&b);
    metrics_http_sample(&b, "mpo_up", NULL, 0, 1);
    metrics_http_publish(m, b.data, b.len);
    assert_int_equal(s_http(port, "GET", "/metrics?x=1", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "mpo_up 1\n");

    /* HEAD: the headers without the body */
    assert_int_equal(s_http(port, "HEAD", "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);

    assert_int_equal(s_http(port, "GET", "/nope", &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(s_http(port, "GET", "/", &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(s_http(port, "GET", "/metrics/x", &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(s_http(port, "POST", "/metrics", &r), 0);
    assert_int_equal(r.status, 405);
    assert_int_equal(s_http(port, "DELETE", "/healthz", &r), 0);
    assert_int_equal(r.status, 405);

    /* an empty snapshot is served as an empty 200 */
    metrics_http_publish(m, "", 0);
    assert_int_equal(s_http(port, "GET", "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);

    metrics_http_buf_free(&b);
    metrics_http_destroy(&m);
    assert_null(m);
    /* the port is closed once destroyed */
    assert_int_not_equal(s_http(port, "GET", "/healthz", &r), 0);
}

static void test_port_in_use(void **state) {
    (void)state;
    char err[256];
    metrics_http_t *a = metrics_http_new(METRICS_HTTP_ANY_PORT, NULL, NULL, err, sizeof err);
    assert_non_null(a);
    int port = metrics_http_port(a);
    metrics_http_t *b = metrics_http_new(port, NULL, NULL, err, sizeof err);
    assert_null(b);
    char want[32];
    snprintf(want, sizeof want, "port %d", port);
    CONTAINS(err, want);
    CONTAINS(err, "in use"); /* the reason libmicrohttpd gave, not some other message */
    assert_null(strchr(err, '\n'));
    metrics_http_destroy(&a);
    /* the fixed port can be used again at once */
    b = metrics_http_new(port, NULL, NULL, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(metrics_http_port(b), port);
    metrics_http_destroy(&b);
}

typedef struct {
    int renders;
    double value;
} s_role_t;

static void s_render(void *ctx, metrics_http_buf_t *buf) {
    s_role_t *role = ctx;
    role->renders++;
    metrics_http_family(buf, "mpo_learner_updates_total", "counter", "updates");
    metrics_http_sample(buf, "mpo_learner_updates_total", NULL, 0, role->value);
}

static void test_render_callback(void **state) {
    (void)state;
    char err[256];
    s_role_t role = {0, 5};
    metrics_http_t *m = metrics_http_new(METRICS_HTTP_ANY_PORT, s_render, &role, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(role.renders, 1); /* once at start: the first scrape has data */
    s_reply_t r;
    assert_int_equal(s_http(metrics_http_port(m), "GET", "/metrics", &r), 0);
    assert_int_equal(r.status, 200);
    CONTAINS(r.body, "mpo_learner_updates_total 5\n");
    /* render_now renders at once; poll at most every METRICS_HTTP_INTERVAL after the last render
     * (the two calls back to back: no wait on a loaded machine can come between them) */
    role.value = 6;
    metrics_http_render_now(m);
    assert_int_equal(metrics_http_poll(m), 0);
    assert_int_equal(role.renders, 2);
    assert_int_equal(s_http(metrics_http_port(m), "GET", "/metrics", &r), 0);
    CONTAINS(r.body, "mpo_learner_updates_total 6\n");
    role.value = 7;
    usleep((useconds_t)(METRICS_HTTP_INTERVAL * 1e6) + 50000);
    assert_int_equal(metrics_http_poll(m), 1);
    assert_int_equal(role.renders, 3);
    assert_int_equal(s_http(metrics_http_port(m), "GET", "/metrics", &r), 0);
    CONTAINS(r.body, "mpo_learner_updates_total 7\n");
    metrics_http_destroy(&m);
}

/* a scraper thread while the main thread publishes snapshots of changing size: every body read
 * is one whole snapshot (ASan/UBSan run this too) */
typedef struct {
    int port;
    int bad;
    _Atomic int done;
} s_scraper_t;

static void *s_scrape_loop(void *arg) {
    s_scraper_t *s = arg;
    for (int i = 0; i < 40; i++) {
        s_reply_t r;
        if (s_http(s->port, "GET", "/metrics", &r) != 0 || r.status != 200) {
            s->bad++;
            continue;
        }
        /* a snapshot is "n_lines N\n" followed by N lines "x K\n" */
        int n = -1;
        if (sscanf(r.body, "n_lines %d", &n) != 1) {
            s->bad++;
            continue;
        }
        int lines = 0;
        for (const char *p = r.body; *p; p++)
            lines += *p == '\n';
        if (lines != n + 1)
            s->bad++;
    }
    s->done = 1;
    return NULL;
}

static void test_publish_while_scraping(void **state) {
    (void)state;
    char err[256];
    metrics_http_t *m = metrics_http_new(METRICS_HTTP_ANY_PORT, NULL, NULL, err, sizeof err);
    assert_non_null(m);
    metrics_http_publish(m, "n_lines 0\n", 10);
    s_scraper_t s = {metrics_http_port(m), 0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_scrape_loop, &s), 0);
    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    for (int k = 0; !s.done && k < 200000; k++) {
        int n = k % 300;
        metrics_http_buf_reset(&b);
        metrics_http_buf_printf(&b, "n_lines %d\n", n);
        for (int i = 0; i < n; i++)
            metrics_http_buf_printf(&b, "x %d\n", i);
        assert_int_equal(metrics_http_publish(m, b.data, b.len), 0);
        if (k % 50 == 0)
            usleep(100);
    }
    pthread_join(t, NULL);
    assert_int_equal(s.bad, 0);
    assert_true(metrics_http_scrapes(m) >= 40);
    metrics_http_buf_free(&b);
    metrics_http_destroy(&m);
}

/* a sample exposition of every kind of line we write, for promtool */
static void s_print_sample(void) {
    metrics_http_buf_t b;
    metrics_http_buf_init(&b);
    metrics_http_family(&b, "mpo_replay_inserts_total", "counter", "transitions stored");
    metrics_http_sample(&b, "mpo_replay_inserts_total", NULL, 0, 123456);
    metrics_http_family(&b, "mpo_replay_size", "gauge", "transitions held; a \\ backslash\nand a newline");
    metrics_http_sample(&b, "mpo_replay_size", NULL, 0, 1000);
    metrics_http_family(&b, "mpo_replay_samples_per_insert_actual", "gauge", "ratio");
    metrics_http_sample(&b, "mpo_replay_samples_per_insert_actual", NULL, 0, NAN);
    metrics_http_family(&b, "mpo_replay_actor_inserts_total", "counter", "transitions per actor");
    metrics_http_label_t l1[2] = {{"actor", "host-1:\"pid\" 12\\n"}, {"env", "Pendulum-v1"}};
    metrics_http_label_t l2[2] = {{"actor", "line\nbreak"}, {"env", "HalfCheetah-v4"}};
    metrics_http_sample(&b, "mpo_replay_actor_inserts_total", l1, 2, 64);
    metrics_http_sample(&b, "mpo_replay_actor_inserts_total", l2, 2, 0.5);
    metrics_http_family(&b, "mpo_learner_q_max", "gauge", "largest Q");
    metrics_http_sample(&b, "mpo_learner_q_max", NULL, 0, INFINITY);
    metrics_http_family(&b, "mpo_learner_q_min", "gauge", "smallest Q");
    metrics_http_sample(&b, "mpo_learner_q_min", NULL, 0, -1.0 / 3.0);
    fwrite(b.data, 1, b.len, stdout);
    metrics_http_buf_free(&b);
}

/* /metrics listens where its role does: a loopback role on loopback only */
static void test_bind_host(void **state) {
    (void)state;
    char host[64], err[256];
    assert_int_equal(metrics_http_bind_host("tcp://127.0.0.1:5555", host, sizeof host), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(metrics_http_bind_host("tcp://localhost:5555", host, sizeof host), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(metrics_http_bind_host("tcp://*:5555", host, sizeof host), 0);
    assert_string_equal(host, "");
    assert_int_equal(metrics_http_bind_host("tcp://eth0:5555", host, sizeof host), -1);
    assert_string_equal(host, "");
    assert_int_equal(metrics_http_bind_host("ipc:///tmp/x", host, sizeof host), 0);
    assert_string_equal(host, "");
    /* on 127.0.0.1 it answers there; an address that is not IPv4 is refused with a reason */
    metrics_http_t *m = metrics_http_new_at("127.0.0.1", METRICS_HTTP_ANY_PORT, NULL, NULL, err, sizeof err);
    assert_non_null(m);
    assert_true(metrics_http_port(m) > 0);
    metrics_http_destroy(&m);
    assert_null(metrics_http_new_at("not-an-address", METRICS_HTTP_ANY_PORT, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "not an IPv4 address"));
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--print-sample")) {
        s_print_sample();
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_host),
        cmocka_unit_test(test_label_escaping),   cmocka_unit_test(test_help_type_values),
        cmocka_unit_test(test_off_and_null),     cmocka_unit_test(test_serve_snapshot),
        cmocka_unit_test(test_port_in_use),      cmocka_unit_test(test_render_callback),
        cmocka_unit_test(test_publish_while_scraping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
