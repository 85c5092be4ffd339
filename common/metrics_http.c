/* metrics_http: the Prometheus /metrics endpoint (see metrics_http.h). libmicrohttpd runs the HTTP
 * side in its own thread; this file holds the latest snapshot under a mutex and the helpers that
 * write the text exposition format. */
#include "common/metrics_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http_t {
    struct MHD_Daemon *daemon;
    int port;
    metrics_http_render_fn render;
    void *ctx;
    metrics_http_buf_t scratch; /* what render writes into (role's thread only) */
    double last_render;         /* monotonic seconds; role's thread only */
    pthread_mutex_t lock;       /* guards snapshot, have_snapshot, scrapes */
    char *snapshot;
    size_t snapshot_len;
    size_t snapshot_cap;
    int have_snapshot;
    unsigned long scrapes;
    char start_err[256]; /* the first message libmicrohttpd logs while starting */
    _Atomic int started; /* read by the logger, which may run on the HTTP thread */
};

/* ---------------------------------------------------------------- the text buffer and format */

void metrics_http_buf_init(metrics_http_buf_t *b) { memset(b, 0, sizeof *b); }

void metrics_http_buf_free(metrics_http_buf_t *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

void metrics_http_buf_reset(metrics_http_buf_t *b) {
    b->len = 0;
    b->oom = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* room for n more bytes plus the NUL; 0, or -1 (and oom set) */
static int s_reserve(metrics_http_buf_t *b, size_t n) {
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void metrics_http_buf_append(metrics_http_buf_t *b, const char *text, size_t len) {
    if (s_reserve(b, len) != 0)
        return;
    memcpy(b->data + b->len, text, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void s_putc(metrics_http_buf_t *b, char c) { metrics_http_buf_append(b, &c, 1); }
static void s_puts(metrics_http_buf_t *b, const char *s) { metrics_http_buf_append(b, s, strlen(s)); }

void metrics_http_buf_printf(metrics_http_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        metrics_http_buf_append(b, small, (size_t)n);
        return;
    }
    if (s_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int metrics_http_valid_name(const char *name) {
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                 (p != name && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static int s_valid_label_name(const char *name) {
    return metrics_http_valid_name(name) && !strchr(name, ':');
}

void metrics_http_help(metrics_http_buf_t *b, const char *name, const char *help) {
    assert(metrics_http_valid_name(name));
    s_puts(b, "# HELP ");
    s_puts(b, name);
    s_putc(b, ' ');
    for (const char *p = help ? help : ""; *p; p++) {
        if (*p == '\\')
            s_puts(b, "\\\\");
        else if (*p == '\n')
            s_puts(b, "\\n");
        else
            s_putc(b, *p);
    }
    s_putc(b, '\n');
}

void metrics_http_type(metrics_http_buf_t *b, const char *name, const char *type) {
    assert(metrics_http_valid_name(name));
    assert(!strcmp(type, "counter") || !strcmp(type, "gauge") || !strcmp(type, "untyped") ||
           !strcmp(type, "summary") || !strcmp(type, "histogram"));
    metrics_http_buf_printf(b, "# TYPE %s %s\n", name, type);
}

void metrics_http_family(metrics_http_buf_t *b, const char *name, const char *type, const char *help) {
    metrics_http_help(b, name, help);
    metrics_http_type(b, name, type);
}

size_t metrics_http_escape_label(char *out, size_t outlen, const char *value) {
    size_t full = 0, w = 0;
    for (const char *p = value ? value : ""; *p; p++) {
        const char *rep = NULL;
        char one[2] = {*p, '\0'};
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '"')
            rep = "\\\"";
        else if (*p == '\n')
            rep = "\\n";
        else
            rep = one;
        size_t n = strlen(rep);
        if (out && outlen > 0 && w + n <= outlen - 1 && w == full) {
            memcpy(out + w, rep, n);
            w += n;
        }
        full += n;
    }
    if (out && outlen > 0)
        out[w] = '\0';
    return full;
}

void metrics_http_format_value(char *out, size_t outlen, double v) {
    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

void metrics_http_sample(metrics_http_buf_t *b, const char *name, const metrics_http_label_t *labels,
                         size_t nlabels, double value) {
    assert(metrics_http_valid_name(name));
    s_puts(b, name);
    if (nlabels > 0) {
        s_putc(b, '{');
        for (size_t i = 0; i < nlabels; i++) {
            assert(s_valid_label_name(labels[i].name));
            if (i)
                s_putc(b, ',');
            s_puts(b, labels[i].name);
            s_puts(b, "=\"");
            size_t n = metrics_http_escape_label(NULL, 0, labels[i].value);
            if (s_reserve(b, n) == 0) {
                metrics_http_escape_label(b->data + b->len, n + 1, labels[i].value);
                b->len += n;
            }
            s_putc(b, '"');
        }
        s_putc(b, '}');
    }
    char num[64];
    metrics_http_format_value(num, sizeof num, value);
    s_putc(b, ' ');
    s_puts(b, num);
    s_putc(b, '\n');
}

/* ---------------------------------------------------------------- the HTTP side */

static void s_logger(void *cls, const char *fmt, va_list ap) {
    metrics_http_t *self = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (!self->started) {
        /* "Failed to bind to port 0: Address already in use": the port it names is the unused
         * argument (we pass a socket address), so keep only the reason */
        const char *colon = strrchr(msg, ':');
        const char *reason = strstr(msg, "bind") && colon && colon[1] == ' ' && colon[2] ? colon + 2 : msg;
        if (!self->start_err[0])
            snprintf(self->start_err, sizeof self->start_err, "%s", reason);
        return;
    }
    log_debug("metrics http: %s", msg);
}

static enum MHD_Result s_respond(struct MHD_Connection *conn, unsigned status, const char *type, const char *body) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **req_cls) {
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    metrics_http_t *self = cls;
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, "method not allowed (GET only)\n");
    if (!strcmp(url, "/healthz"))
        return s_respond(conn, MHD_HTTP_OK, text, "ok\n");
    if (strcmp(url, "/metrics") != 0)
        return s_respond(conn, MHD_HTTP_NOT_FOUND, text, "not found (try /metrics or /healthz)\n");
    /* copy the snapshot under the lock: the role may publish a new one at any time */
    pthread_mutex_lock(&self->lock);
    if (!self->have_snapshot) {
        pthread_mutex_unlock(&self->lock);
        return s_respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, "no metrics published yet\n");
    }
    self->scrapes++;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(self->snapshot_len, self->snapshot_len ? self->snapshot : (void *)"",
                                        MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&self->lock);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, S_CONTENT_TYPE);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

metrics_http_t *metrics_http_new(int port, metrics_http_render_fn render, void *ctx, char *err, size_t errlen) {
    return metrics_http_new_at(NULL, port, render, ctx, err, errlen);
}

int metrics_http_bind_host(const char *endpoint, char *host, size_t hostlen) {
    host[0] = 0;
    const char *p = endpoint && strncmp(endpoint, "tcp://", 6) == 0 ? endpoint + 6 : NULL;
    const char *colon = p ? strrchr(p, ':') : NULL;
    if (!colon || colon == p || (size_t)(colon - p) >= hostlen)
        return 0;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    if (strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0) {
        host[0] = 0;
        return 0;
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostlen, "127.0.0.1");
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1) { /* an interface or host name: every interface, said once */
        host[0] = 0;
        return -1;
    }
    return 0;
}

metrics_http_t *metrics_http_new_at(const char *host, int port, metrics_http_render_fn render, void *ctx, char *err,
                                    size_t errlen) {
    struct in_addr listen_on = {.s_addr = htonl(INADDR_ANY)};
    if (host && host[0] && inet_pton(AF_INET, host, &listen_on) != 1) {
        if (err)
            snprintf(err, errlen, "metrics endpoint: '%s' is not an IPv4 address", host);
        return NULL;
    }
    if (err && errlen)
        err[0] = '\0';
    if (port == 0)
        return NULL;
    if (port != METRICS_HTTP_ANY_PORT && (port < 1 || port > 65535)) {
        if (err)
            snprintf(err, errlen, "metrics port %d out of range 1 … 65535 (0: off)", port);
        return NULL;
    }
    metrics_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        if (err)
            snprintf(err, errlen, "metrics endpoint: out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    metrics_http_buf_init(&self->scratch);
    self->render = render;
    self->ctx = ctx;
    /* the first snapshot before the first request can arrive */
    if (render)
        metrics_http_render_now(self);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr = listen_on;
    addr.sin_port = htons((uint16_t)(port == METRICS_HTTP_ANY_PORT ? 0 : port));
    /* libmicrohttpd's default sets SO_REUSEADDR (a restart binds at once) but not SO_REUSEPORT (a
     * second process on the same port is refused) */
    self->daemon = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                    0, NULL, NULL, s_handler, self,
                                    /* the logger first, or libmicrohttpd complains about its place */
                                    MHD_OPTION_EXTERNAL_LOGGER, s_logger, self,
                                    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                    /* idle connections are dropped after 3 s, so a few dozen of them
                                     * neither lock scrapes out for long nor hold up a shutdown */
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)3,
                                    MHD_OPTION_END);
    if (!self->daemon) {
        if (err)
            snprintf(err, errlen, "metrics endpoint: cannot listen on port %d: %s", port,
                     self->start_err[0] ? self->start_err : "libmicrohttpd refused to start");
        metrics_http_buf_free(&self->scratch);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    self->started = 1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int)info->port : port;
    return self;
}

void metrics_http_destroy(metrics_http_t **self_p) {
    if (!self_p || !*self_p)
        return;
    metrics_http_t *self = *self_p;
    MHD_stop_daemon(self->daemon); /* joins the HTTP thread; no handler runs after this */
    free(self->snapshot);
    metrics_http_buf_free(&self->scratch);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int metrics_http_publish(metrics_http_t *self, const char *text, size_t len) {
    if (!self)
        return 0;
    pthread_mutex_lock(&self->lock);
    if (len + 1 > self->snapshot_cap) {
        size_t cap = self->snapshot_cap ? self->snapshot_cap : 4096;
        while (cap < len + 1)
            cap *= 2;
        char *p = realloc(self->snapshot, cap);
        if (!p) {
            pthread_mutex_unlock(&self->lock);
            return -1;
        }
        self->snapshot = p;
        self->snapshot_cap = cap;
    }
    if (len)
        memcpy(self->snapshot, text, len);
    self->snapshot[len] = '\0';
    self->snapshot_len = len;
    self->have_snapshot = 1;
    pthread_mutex_unlock(&self->lock);
    return 0;
}

void metrics_http_render_now(metrics_http_t *self) {
    if (!self || !self->render)
        return;
    self->last_render = clock_now();
    metrics_http_buf_reset(&self->scratch);
    self->render(self->ctx, &self->scratch);
    if (self->scratch.oom) {
        log_warn("metrics http: out of memory rendering the metrics; serving the previous snapshot");
        return;
    }
    if (metrics_http_publish(self, self->scratch.data ? self->scratch.data : "", self->scratch.len) != 0)
        log_warn("metrics http: out of memory publishing the metrics; serving the previous snapshot");
}

int metrics_http_poll(metrics_http_t *self) {
    if (!self || !self->render)
        return 0;
    if (clock_now() - self->last_render < METRICS_HTTP_INTERVAL)
        return 0;
    metrics_http_render_now(self);
    return 1;
}

int metrics_http_port(const metrics_http_t *self) { return self ? self->port : 0; }

unsigned long metrics_http_scrapes(const metrics_http_t *self) {
    if (!self)
        return 0;
    metrics_http_t *m = (metrics_http_t *)self;
    pthread_mutex_lock(&m->lock);
    unsigned long n = m->scrapes;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int metrics_http_start(const char *role, const char *bind_endpoint, int port, metrics_http_render_fn render,
                       void *ctx, metrics_http_t **out, char *err, size_t errlen) {
    char host[64];
    if (metrics_http_bind_host(bind_endpoint, host, sizeof host) != 0 && port != 0)
        log_warn("%s: metrics on every interface: %s names no IPv4 address to listen on", role, bind_endpoint);
    err[0] = 0;
    *out = metrics_http_new_at(host, port, render, ctx, err, errlen);
    if (!*out && err[0])
        return -MPO_ESOCKET;
    if (*out)
        log_info("%s: metrics on http://%s:%d/metrics", role, host[0] ? host : "*", metrics_http_port(*out));
    return 0;
}
