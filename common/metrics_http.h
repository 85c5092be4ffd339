/* metrics_http: a Prometheus /metrics endpoint (text exposition format 0.0.4) served by
 * libmicrohttpd in its own thread.
 *
 * The HTTP thread never calls into the role. The role's own loop renders its metrics into a text
 * snapshot and publishes it; the HTTP thread serves the latest snapshot, copied under a mutex. Two
 * ways to feed it, both on the role's thread:
 *   - metrics_http_publish(self, text, len): hand over text rendered however the role likes;
 *   - a render callback given to metrics_http_new, run by metrics_http_poll(self) at most every
 *     METRICS_HTTP_INTERVAL seconds (call poll from the main loop as often as you like), and
 *     once inside metrics_http_new so the first scrape already has data.
 *
 *   GET /metrics  200, Content-Type `text/plain; version=0.0.4; charset=utf-8`, the snapshot
 *                 (503 until the first snapshot is published)
 *   GET /healthz  200 "ok\n" (the HTTP thread is alive)
 *   other paths   404;  methods other than GET and HEAD: 405
 *
 * It listens on every IPv4 interface (containers scrape it across their network). Every function
 * accepts self == NULL and then does nothing, so a role can call them unconditionally whether the
 * endpoint is on or off. */
#ifndef MPO_METRICS_HTTP_H
#define MPO_METRICS_HTTP_H

#include <stddef.h>

/* seconds between renders by metrics_http_poll */
#define METRICS_HTTP_INTERVAL 0.5

/* METRICS_HTTP_ANY_PORT for metrics_http_new: the kernel picks a free port (tests);
 * metrics_http_port says which */
#define METRICS_HTTP_ANY_PORT (-1)

/* A growable text buffer the exposition is written into. It never fails halfway: an allocation
 * failure sets oom, and further appends do nothing (publishing such a buffer is refused). */
typedef struct {
    char *data; /* NUL-terminated; NULL while empty */
    size_t len;
    size_t cap;
    int oom;
} metrics_http_buf_t;

/* a label pair for a sample line; the value is escaped (\\, \", \n) when written */
typedef struct {
    const char *name;
    const char *value;
} metrics_http_label_t;

void metrics_http_buf_init(metrics_http_buf_t *b);
void metrics_http_buf_free(metrics_http_buf_t *b);
/* empty it, keeping the memory */
void metrics_http_buf_reset(metrics_http_buf_t *b);
void metrics_http_buf_append(metrics_http_buf_t *b, const char *text, size_t len);
void metrics_http_buf_printf(metrics_http_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `# HELP name help` (help escaped: \\ and \n) */
void metrics_http_help(metrics_http_buf_t *b, const char *name, const char *help);
/* `# TYPE name type`; type: counter, gauge, untyped, summary or histogram */
void metrics_http_type(metrics_http_buf_t *b, const char *name, const char *type);
/* HELP and TYPE lines together: the start of a metric family */
void metrics_http_family(metrics_http_buf_t *b, const char *name, const char *type, const char *help);
/* `name{l1="v1",...} value`; nlabels may be 0 (labels then unused). Values: NaN, +Inf, -Inf, or
 * the shortest decimal that reads back to the same double. Metric and label names must be valid
 * Prometheus names (asserted: they come from our code, not from data). */
void metrics_http_sample(metrics_http_buf_t *b, const char *name, const metrics_http_label_t *labels,
                         size_t nlabels, double value);
/* a label value escaped as in the text format, into out (always NUL-terminated; truncated to
 * outlen - 1 bytes, never in the middle of an escape). Returns the full escaped length. */
size_t metrics_http_escape_label(char *out, size_t outlen, const char *value);
/* 1 when name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), 0 otherwise */
int metrics_http_valid_name(const char *name);

/* render(ctx, buf) appends the whole exposition to buf (empty on entry); runs on the thread that
 * calls metrics_http_new / metrics_http_poll, never on the HTTP thread */
typedef void (*metrics_http_render_fn)(void *ctx, metrics_http_buf_t *buf);

typedef struct metrics_http_t metrics_http_t;

/* Start serving on port (1..65535, or METRICS_HTTP_ANY_PORT). port 0: the endpoint is off, and the
 * result is NULL with err set to "" (not an error). render may be NULL (publish-only). NULL with a
 * one-line reason in err when the port cannot be listened on. */
metrics_http_t *metrics_http_new(int port, metrics_http_render_fn render, void *ctx, char *err, size_t errlen);
/* The same, listening on one IPv4 address (NULL or "": every interface) */
metrics_http_t *metrics_http_new_at(const char *host, int port, metrics_http_render_fn render, void *ctx, char *err,
                                    size_t errlen);
/* The address a role's bind endpoint listens on, for its /metrics to listen on the same one:
 * "tcp://127.0.0.1:5555" -> "127.0.0.1", "tcp://localhost:…" -> "127.0.0.1", a star for the host -> "" (every
 * interface). 0; -1 with host "" when the endpoint names an interface or host name instead. */
int metrics_http_bind_host(const char *endpoint, char *host, size_t hostlen);
/* A role's endpoint on the address its bind endpoint uses (a loopback role gets a loopback
 * /metrics), then one log line "ROLE: metrics on http://HOST:PORT/metrics". 0 with *out set (NULL
 * when port is 0: off), or -MPO_ESOCKET with a reason in err. */
int metrics_http_start(const char *role, const char *bind_endpoint, int port, metrics_http_render_fn render,
                       void *ctx, metrics_http_t **out, char *err, size_t errlen);
/* stop the HTTP thread (waits for it), free everything, set *self_p to NULL */
void metrics_http_destroy(metrics_http_t **self_p);
/* replace the snapshot with a copy of text[0..len) (thread-safe); 0, or -1 when out of memory
 * (the previous snapshot stays) */
int metrics_http_publish(metrics_http_t *self, const char *text, size_t len);
/* with a render callback: render and publish when METRICS_HTTP_INTERVAL has passed since the last
 * render. Returns 1 when it rendered, 0 otherwise. */
int metrics_http_poll(metrics_http_t *self);
/* render and publish now, whatever the time */
void metrics_http_render_now(metrics_http_t *self);
/* the port it listens on (useful with METRICS_HTTP_ANY_PORT); 0 for NULL */
int metrics_http_port(const metrics_http_t *self);
/* /metrics requests served so far (thread-safe) */
unsigned long metrics_http_scrapes(const metrics_http_t *self);

/* v as Prometheus writes a sample: NaN, +Inf, -Inf, or the shortest of %.15g, %.16g, %.17g that
 * reads back to the same double (`mpo stat --json` writes its numbers the same way) */
void metrics_http_format_value(char *out, size_t outlen, double v);

#endif
