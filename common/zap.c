#include "common/zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/error.h"
#include "common/log.h"
#include "common/sock.h"

#define S_REQUEST_FRAMES 8 /* version, id, domain, address, identity, mechanism, credentials (+1 spare) */
#define S_MONITOR_EVENTS (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)

struct zap_s {
    char role[32];
    void *ctx, *handler, *monitor;
    char monitor_ep[64];
    uint8_t *keys; /* n × CURVE_KEY_BYTES: the file's, then the server's own */
    size_t n;
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_uint_fast64_t refused;
};

zap_t *zap_new(void *ctx, const char *role, const curve_t *curve, char *err, size_t errlen) {
    zap_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "%s: %s", role, mpo_strerror(MPO_ENOMEM));
        return NULL;
    }
    snprintf(self->role, sizeof self->role, "%s", role);
    self->ctx = ctx;
    char why[512];
    if (curve->authorized_keys[0] &&
        curve_read_keys(curve->authorized_keys, "curve_authorized_keys", &self->keys, &self->n, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", role, why);
        zap_destroy(&self);
        return NULL;
    }
    /* the server's own key: whoever holds its secret is this server already (mpo stat beside it) */
    uint8_t *k = realloc(self->keys, (self->n + 1) * CURVE_KEY_BYTES);
    if (!k) {
        snprintf(err, errlen, "%s: %s", role, mpo_strerror(MPO_ENOMEM));
        zap_destroy(&self);
        return NULL;
    }
    self->keys = k;
    memcpy(self->keys + self->n++ * CURVE_KEY_BYTES, curve->public_key, CURVE_KEY_BYTES);
    const sock_opt_t opts[] = {{ZMQ_LINGER, 0, NULL}, SOCK_OPTS_END};
    char what[64];
    snprintf(what, sizeof what, "%s: ZAP handler", role);
    self->handler = sock_open(ctx, ZMQ_REP, what, opts, ZAP_ENDPOINT, NULL, err, errlen);
    if (!self->handler)
        zap_destroy(&self);
    return self;
}

static int s_authorized(const zap_t *self, const uint8_t *key) {
    for (size_t i = 0; i < self->n; i++)
        if (memcmp(self->keys + i * CURVE_KEY_BYTES, key, CURVE_KEY_BYTES) == 0)
            return 1;
    return 0;
}

/* one refusal: counted, and logged when it is among the first few or a thousandth */
static void s_refuse(zap_t *self, const char *why) {
    uint64_t n = atomic_fetch_add(&self->refused, 1) + 1;
    if (n <= 5 || n % 1000 == 0)
        log_warn("%s: refused a client at the CURVE handshake (%llu so far): %s", self->role, (unsigned long long)n,
                 why);
    else
        log_debug("%s: refused a client at the CURVE handshake: %s", self->role, why);
}

static int s_frame_is(zmq_msg_t *m, const char *text) {
    size_t len = strlen(text);
    return zmq_msg_size(m) == len && memcmp(zmq_msg_data(m), text, len) == 0;
}

/* Take one ZAP request and answer it (REP: every request gets exactly one reply). */
static void s_answer(zap_t *self) {
    zmq_msg_t f[S_REQUEST_FRAMES];
    int n = 0, more = 1;
    while (more && n < S_REQUEST_FRAMES) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], self->handler, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f[n]);
            break;
        }
        more = zmq_msg_more(&f[n++]);
    }
    while (more) { /* frames beyond a request's: read and dropped */
        zmq_msg_t m;
        zmq_msg_init(&m);
        more = zmq_msg_recv(&m, self->handler, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    if (n == 0)
        return; /* nothing was waiting */
    const char *status = "400", *text = "client key not authorized";
    char user[CURVE_Z85_LEN + 1] = "", why[160], addr[64] = "?";
    int curve = n >= 7 && s_frame_is(&f[5], "CURVE") && zmq_msg_size(&f[6]) == CURVE_KEY_BYTES;
    if (n >= 4)
        snprintf(addr, sizeof addr, "%.*s", (int)(zmq_msg_size(&f[3]) < 60 ? zmq_msg_size(&f[3]) : 60),
                 (const char *)zmq_msg_data(&f[3]));
    if (n < 6 || !s_frame_is(&f[0], "1.0")) {
        status = "500", text = "malformed ZAP request";
        snprintf(why, sizeof why, "a malformed ZAP request (%d frames)", n);
    } else if (!curve) {
        text = "CURVE required";
        snprintf(why, sizeof why, "%s: mechanism %.*s, not CURVE", addr, (int)(zmq_msg_size(&f[5]) < 16 ? zmq_msg_size(&f[5]) : 16),
                 (const char *)zmq_msg_data(&f[5]));
    } else {
        zmq_z85_encode(user, zmq_msg_data(&f[6]), CURVE_KEY_BYTES);
        if (s_authorized(self, zmq_msg_data(&f[6])))
            status = "200", text = "OK";
        else
            snprintf(why, sizeof why, "%s: key %s is not in curve_authorized_keys", addr, user);
    }
    /* version, request id (echoed), status code, status text, user id, metadata */
    int sent = zmq_send(self->handler, "1.0", 3, ZMQ_SNDMORE) == 3;
    if (n >= 2)
        sent &= zmq_send(self->handler, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE) >= 0;
    else
        sent &= zmq_send(self->handler, "", 0, ZMQ_SNDMORE) == 0;
    sent &= zmq_send(self->handler, status, 3, ZMQ_SNDMORE) == 3;
    sent &= zmq_send(self->handler, text, strlen(text), ZMQ_SNDMORE) >= 0;
    sent &= zmq_send(self->handler, user, strlen(user), ZMQ_SNDMORE) >= 0;
    sent &= zmq_send(self->handler, "", 0, 0) == 0;
    if (!sent)
        log_warn("%s: ZAP reply not sent: %s", self->role, zmq_strerror(errno));
    if (status[0] != '2')
        s_refuse(self, why);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

/* one monitor event: a handshake that failed before ZAP was asked */
static void s_event(zap_t *self) {
    uint32_t value;
    int event = sock_event(self->monitor, &value);
    if (!(event & S_MONITOR_EVENTS))
        return;
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        s_refuse(self, "a client without CURVE (plain ZeroMQ)");
    else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        s_refuse(self, "a client that expects another server key (its hello does not open)");
    else {
        char why[64];
        snprintf(why, sizeof why, "handshake error 0x%08x", (unsigned)value);
        s_refuse(self, why);
    }
}

static void *s_thread(void *arg) {
    zap_t *self = arg;
    zmq_pollitem_t items[2] = {{self->handler, 0, ZMQ_POLLIN, 0}, {self->monitor, 0, ZMQ_POLLIN, 0}};
    while (!atomic_load(&self->stop)) {
        int n = zmq_poll(items, 2, ZAP_POLL_MS);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            /* without its handler every CURVE handshake fails (libzmq: no reply): closed, not open */
            log_error("%s: ZAP handler stopped: %s", self->role, zmq_strerror(zmq_errno()));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_answer(self);
        if (items[1].revents & ZMQ_POLLIN)
            s_event(self);
    }
    return NULL;
}

int zap_start(zap_t *self, void *server_sock, char *err, size_t errlen) {
    char what[64];
    snprintf(self->monitor_ep, sizeof self->monitor_ep, "inproc://mpo-zap-monitor-%p", (void *)self);
    snprintf(what, sizeof what, "%s: server socket", self->role);
    self->monitor = sock_watch(self->ctx, server_sock, what, self->monitor_ep, S_MONITOR_EVENTS, NULL, err, errlen);
    if (!self->monitor)
        return -MPO_ESOCKET;
    int rc = pthread_create(&self->thread, NULL, s_thread, self);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot start the ZAP thread: %s", self->role, strerror(rc));
        return -MPO_ESOCKET;
    }
    pthread_setname_np(self->thread, "mpo-zap");
    self->started = 1;
    return 0;
}

uint64_t zap_refused(const zap_t *self) { return self ? atomic_load(&((zap_t *)self)->refused) : 0; }

size_t zap_keys(const zap_t *self) { return self ? self->n : 0; }

void zap_destroy(zap_t **self_p) {
    zap_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        atomic_store(&self->stop, 1);
        pthread_join(self->thread, NULL);
    }
    sock_close(&self->monitor);
    sock_close(&self->handler);
    free(self->keys);
    free(self);
    *self_p = NULL;
}
