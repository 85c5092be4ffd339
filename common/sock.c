#include "common/sock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "common/error.h"

static const struct {
    int name;
    const char *text;
    int int64; /* the option takes an int64_t, not an int */
    int bytes; /* the option takes bytes */
} s_opts[] = {
    {ZMQ_LINGER, "ZMQ_LINGER", 0, 0},
    {ZMQ_SNDHWM, "ZMQ_SNDHWM", 0, 0},
    {ZMQ_RCVHWM, "ZMQ_RCVHWM", 0, 0},
    {ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE", 1, 0},
    {ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY", 0, 0},
    {ZMQ_CONFLATE, "ZMQ_CONFLATE", 0, 0},
    {ZMQ_XPUB_VERBOSE, "ZMQ_XPUB_VERBOSE", 0, 0},
    {ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE", 0, 1},
    {ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", 0, 1},
    {ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE", 0, 0},
    {ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO", 0, 0},
    {ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO", 0, 0},
    {ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", 0, 0},
    {ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", 0, 1},
    {ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", 0, 1},
    {ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", 0, 1},
    {ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", 0, 1},
};
#define S_N_OPTS (sizeof s_opts / sizeof s_opts[0])

const char *sock_opt_name(int name) {
    for (size_t i = 0; i < S_N_OPTS; i++)
        if (s_opts[i].name == name)
            return s_opts[i].text;
    return "an option mpo does not know";
}

int sock_set(void *sock, const char *what, const sock_opt_t *opts, char *err, size_t errlen) {
    for (const sock_opt_t *o = opts; o && o->name >= 0; o++) {
        size_t k = 0;
        while (k < S_N_OPTS && s_opts[k].name != o->name)
            k++;
        MPO_ASSERT(k < S_N_OPTS); /* an option this table does not describe is our bug */
        int rc;
        if (s_opts[k].bytes) {
            rc = zmq_setsockopt(sock, o->name, o->bytes, (size_t)o->value);
        } else if (s_opts[k].int64) {
            int64_t v = o->value;
            rc = zmq_setsockopt(sock, o->name, &v, sizeof v);
        } else {
            int v = (int)o->value;
            rc = zmq_setsockopt(sock, o->name, &v, sizeof v);
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s: cannot set %s: %s", what, s_opts[k].text, zmq_strerror(errno));
            return -MPO_ESOCKET;
        }
    }
    return 0;
}

const sock_opt_t *sock_opts_join(sock_opt_t *out, size_t cap, const sock_opt_t *opts, const sock_opt_t *more) {
    const sock_opt_t *tables[2] = {opts, more};
    size_t n = 0;
    for (int k = 0; k < 2; k++)
        for (const sock_opt_t *o = tables[k]; o && o->name >= 0; o++) {
            MPO_ASSERT(n + 1 < cap); /* a table too small for its socket's options is our bug */
            out[n++] = *o;
        }
    MPO_ASSERT(n < cap);
    out[n] = (sock_opt_t)SOCK_OPTS_END;
    return out;
}

void *sock_open(void *ctx, int type, const char *what, const sock_opt_t *opts, const char *bind,
                const char *connect, char *err, size_t errlen) {
    void *sock = ctx ? zmq_socket(ctx, type) : NULL;
    if (!sock) {
        snprintf(err, errlen, "%s: cannot make a socket: %s", what, zmq_strerror(errno));
        return NULL;
    }
    if (sock_set(sock, what, opts, err, errlen) != 0)
        goto fail;
    if (bind && zmq_bind(sock, bind) != 0) {
        snprintf(err, errlen, "%s: cannot bind %s: %s", what, bind, zmq_strerror(errno));
        goto fail;
    }
    if (connect && zmq_connect(sock, connect) != 0) {
        snprintf(err, errlen, "%s: cannot connect to %s: %s", what, connect, zmq_strerror(errno));
        goto fail;
    }
    return sock;
fail:
    sock_close(&sock);
    return NULL;
}

void *sock_watch(void *ctx, void *sock, const char *what, const char *monitor_ep, int events, const char *connect,
                 char *err, size_t errlen) {
    if (zmq_socket_monitor(sock, monitor_ep, events) != 0) {
        snprintf(err, errlen, "%s: cannot watch its events: %s", what, zmq_strerror(errno));
        return NULL;
    }
    const sock_opt_t opts[] = {{ZMQ_LINGER, 0, NULL}, SOCK_OPTS_END};
    void *pair = sock_open(ctx, ZMQ_PAIR, what, opts, NULL, monitor_ep, err, errlen);
    if (pair && connect && zmq_connect(sock, connect) != 0) {
        snprintf(err, errlen, "%s: cannot connect to %s: %s", what, connect, zmq_strerror(errno));
        sock_close(&pair);
    }
    return pair;
}

int sock_event(void *monitor, uint32_t *value) {
    /* two frames: [u16 event, u32 value] in host order, then the endpoint */
    zmq_msg_t m;
    zmq_msg_init(&m);
    int got = zmq_msg_recv(&m, monitor, ZMQ_DONTWAIT);
    uint16_t event = 0;
    *value = 0;
    if (got >= 6) {
        memcpy(&event, zmq_msg_data(&m), sizeof event);
        memcpy(value, (const char *)zmq_msg_data(&m) + sizeof event, sizeof *value);
    }
    while (got >= 0 && zmq_msg_more(&m))
        got = zmq_msg_recv(&m, monitor, ZMQ_DONTWAIT);
    zmq_msg_close(&m);
    return event;
}

void sock_close(void **sock_p) {
    if (*sock_p)
        zmq_close(*sock_p);
    *sock_p = NULL;
}
