#include "replay/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/error.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/zap.h"

struct router_s {
    void *ctx, *sock;
    size_t max_bytes;
    zmq_msg_t id, body;   /* reused for every message */
    wire_decoder_t *decoder; /* every body is decoded into it: no allocation per message */
    zap_t *zap;              /* with CURVE: who may connect */
    uint64_t dropped;        /* replies to a full queue */
};

router_t *router_new(const char *endpoint, size_t max_message_bytes, const curve_t *curve, char *err,
                     size_t errlen) {
    router_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "replay: %s", mpo_strerror(MPO_ENOMEM));
        return NULL;
    }
    self->max_bytes = max_message_bytes;
    zmq_msg_init(&self->id);
    zmq_msg_init(&self->body);
    self->decoder = wire_decoder_new(max_message_bytes);
    if (!self->decoder) {
        snprintf(err, errlen, "replay: %s", mpo_strerror(MPO_ENOMEM));
        router_destroy(&self);
        return NULL;
    }
    const sock_opt_t opts[] = {
        {ZMQ_LINGER, 0, NULL},
        {ZMQ_ROUTER_MANDATORY, 1, NULL},
        {ZMQ_SNDHWM, ROUTER_SNDHWM, NULL},
        {ZMQ_RCVHWM, ROUTER_RCVHWM, NULL},
        {ZMQ_MAXMSGSIZE, (int64_t)max_message_bytes + ROUTER_SIZE_MARGIN, NULL},
        SOCK_OPTS_END,
    };
    self->ctx = zmq_ctx_new();
    /* the ZAP handler is bound before the socket: a CURVE server without one lets everyone in */
    if (curve && curve->on && !(self->zap = zap_new(self->ctx, "replay", curve, err, errlen))) {
        router_destroy(&self);
        return NULL;
    }
    sock_opt_t curve_opts[CURVE_OPTS_MAX], all[SOCK_OPTS_MAX];
    self->sock = sock_open(self->ctx, ZMQ_ROUTER, "replay: ROUTER",
                           sock_opts_join(all, SOCK_OPTS_MAX, opts, curve_server_opts(curve, curve_opts)), endpoint,
                           NULL, err, errlen);
    if (!self->sock || (self->zap && zap_start(self->zap, self->sock, err, errlen) != 0))
        router_destroy(&self);
    return self;
}

uint64_t router_refused(const router_t *self) { return zap_refused(self->zap); }

uint64_t router_dropped(const router_t *self) { return self->dropped; }

void router_destroy(router_t **self_p) {
    router_t *self = *self_p;
    if (!self)
        return;
    zmq_msg_close(&self->id);
    zmq_msg_close(&self->body);
    wire_decoder_destroy(&self->decoder);
    sock_close(&self->sock);
    zap_destroy(&self->zap);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

void *router_socket(router_t *self) { return self->sock; }

size_t router_bytes(const router_t *self) { return wire_decoder_bytes(self->decoder); }

void router_rid_set(router_rid_t *r, const void *rid, size_t len) {
    MPO_ASSERT(len >= 1 && len <= ROUTER_RID_MAX); /* router_recv refuses other lengths */
    r->rid_len = (uint8_t)len;
    memcpy(r->rid, rid, len);
}

int router_rid_eq(const router_rid_t *a, const router_rid_t *b) {
    return a->rid_len == b->rid_len && memcmp(a->rid, b->rid, a->rid_len) == 0;
}

static int s_refuse(router_in_t *in, wire_rejection_t why, int reply) {
    in->why = why;
    in->reply = reply;
    return 1;
}

int router_recv(router_t *self, router_in_t *in) {
    in->from.rid_len = 0;
    in->msg = NULL;
    in->why = WIRE_OK;
    in->reply = 0;
    in->reason[0] = '\0';
    if (zmq_msg_recv(&self->id, self->sock, ZMQ_DONTWAIT) < 0)
        return 0;
    size_t rlen = zmq_msg_size(&self->id);
    if (!zmq_msg_more(&self->id) || rlen == 0 || rlen > ROUTER_RID_MAX) {
        snprintf(in->reason, sizeof in->reason, "a message without a body frame");
        return s_refuse(in, WIRE_MALFORMED, 0);
    }
    router_rid_set(&in->from, zmq_msg_data(&self->id), rlen);
    /* the rest of a multi-part message is already here: ZeroMQ delivers them atomically */
    if (zmq_msg_recv(&self->body, self->sock, ZMQ_DONTWAIT) < 0)
        return 1;
    int frames = 1;
    while (zmq_msg_more(&self->body)) {
        zmq_msg_close(&self->body);
        zmq_msg_init(&self->body);
        if (zmq_msg_recv(&self->body, self->sock, ZMQ_DONTWAIT) < 0)
            break;
        frames++;
    }
    if (frames != 1) {
        snprintf(in->reason, sizeof in->reason, "a message of %d frames (every message is exactly one frame)", frames);
        return s_refuse(in, WIRE_MALFORMED, 1);
    }
    size_t len = zmq_msg_size(&self->body);
    if (len > self->max_bytes) {
        snprintf(in->reason, sizeof in->reason, "a %zu-byte message (max_message_bytes %zu)", len, self->max_bytes);
        return s_refuse(in, WIRE_TOO_LARGE, 1);
    }
    wire_rejection_t why;
    in->msg = wire_decode_into(self->decoder, zmq_msg_data(&self->body), len, &why, in->reason, sizeof in->reason);
    return in->msg ? 1 : s_refuse(in, why, 1);
}

/* a send that failed: EAGAIN is a full queue (the peer stopped reading), counted; EHOSTUNREACH a
 * peer that has gone */
static void s_not_sent(router_t *self, const char *what) {
    int e = errno;
    if (e == EAGAIN && (++self->dropped <= 3 || self->dropped % 1000 == 0))
        log_warn("replay: a peer is not reading its replies: %s dropped (%llu so far)", what,
                 (unsigned long long)self->dropped);
    else
        log_debug("replay: %s not sent: %s", what, zmq_strerror(e));
}

void router_send(router_t *self, const router_rid_t *to, Mpo__Message *msg) {
    /* DONTWAIT: a peer that stopped reading loses replies, it never stalls the server */
    if (wire_send(self->sock, to->rid, to->rid_len, msg, ZMQ_DONTWAIT) != 0)
        s_not_sent(self, "reply");
}

void router_send_error(router_t *self, const router_rid_t *to, wire_rejection_t code, const char *reason) {
    if (wire_send_error(self->sock, to->rid, to->rid_len, code, reason) != 0)
        s_not_sent(self, "error reply");
}
