#include "common/stats_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/sock.h"
#include "common/wire.h"

#define STATS_CLIENT_SLICE_MS 50          /* an interrupt is seen within this */
#define STATS_CLIENT_MAX_BYTES (256 << 20) /* a StatsReply with 1024 actors is well below this */

struct stats_client_s {
    void *ctx, *sock;
    Mpo__Message *reply;
};

void stats_client_destroy(stats_client_t **self_p) {
    stats_client_t *self = *self_p;
    if (!self)
        return;
    wire_free(self->reply);
    sock_close(&self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

stats_client_t *stats_client_new(const char *endpoint, const char *id, const char *env, const curve_t *curve,
                                 char *err, size_t errlen) {
    stats_client_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "%s", mpo_strerror(MPO_ENOMEM));
        return NULL;
    }
    self->ctx = zmq_ctx_new();
    const sock_opt_t opts[] = {{ZMQ_LINGER, 0, NULL}, {ZMQ_MAXMSGSIZE, STATS_CLIENT_MAX_BYTES, NULL}, SOCK_OPTS_END};
    sock_opt_t curve_opts[CURVE_OPTS_MAX], all[SOCK_OPTS_MAX];
    self->sock = sock_open(self->ctx, ZMQ_DEALER, "stats client",
                           sock_opts_join(all, SOCK_OPTS_MAX, opts,
                                          curve_client_opts(curve, curve ? curve->replay_key : NULL, curve_opts)),
                           NULL, endpoint, err, errlen);
    if (!self->sock || wire_send_hello(self->sock, MPO__ROLE__ROLE_STAT, env, 0, 0, id, 0) != 0) {
        if (self->sock)
            snprintf(err, errlen, "stats client: cannot say Hello to %s: %s", endpoint, zmq_strerror(errno));
        stats_client_destroy(&self);
        return NULL;
    }
    return self;
}

int stats_client_request(stats_client_t *self, char *err, size_t errlen) {
    /* EAGAIN: the connection is not up yet; ZeroMQ queues nothing, the caller asks again */
    if (wire_send_stats_request(self->sock) != 0 && errno != EAGAIN) {
        snprintf(err, errlen, "cannot send a stats request: %s", zmq_strerror(errno));
        return -MPO_ESOCKET;
    }
    return 0;
}

int stats_client_poll(stats_client_t *self, double timeout_s, char *err, size_t errlen) {
    double deadline = clock_now() + timeout_s;
    for (;;) {
        wire_rejection_t why;
        char reason[256];
        Mpo__Message *got;
        while ((got = wire_recv(self->sock, &why, reason, sizeof reason)) != NULL) {
            if (got->body_case == MPO__MESSAGE__BODY_STATS_REPLY) {
                wire_free(self->reply);
                self->reply = got;
                return 1;
            }
            if (got->body_case == MPO__MESSAGE__BODY_ERROR) {
                snprintf(err, errlen, "the server refused: %s", got->error->reason ? got->error->reason : "");
                wire_free(got);
                return -MPO_EREFUSED;
            }
            wire_free(got); /* the Ack to our Hello */
        }
        double left = deadline - clock_now();
        if (left <= 0)
            return 0;
        zmq_pollitem_t it = {.socket = self->sock, .events = ZMQ_POLLIN};
        int ms = (int)(left * 1000) + 1;
        if (zmq_poll(&it, 1, ms < STATS_CLIENT_SLICE_MS ? ms : STATS_CLIENT_SLICE_MS) < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", zmq_strerror(errno));
            return -MPO_ESOCKET;
        }
        if (timeout_s <= 0)
            return 0;
    }
}

int stats_client_ask(stats_client_t *self, double timeout_s, volatile int *interrupted, char *err, size_t errlen) {
    int rc = stats_client_request(self, err, errlen);
    if (rc != 0)
        return rc;
    double deadline = clock_now() + timeout_s;
    while (!(interrupted && *interrupted)) {
        double left = deadline - clock_now();
        if (left <= 0)
            break;
        double slice = STATS_CLIENT_SLICE_MS / 1000.0;
        rc = stats_client_poll(self, left < slice ? left : slice, err, errlen);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    if (interrupted && *interrupted) {
        snprintf(err, errlen, "interrupted");
        return -MPO_EINTR;
    }
    snprintf(err, errlen, "no answer within %g s", timeout_s);
    return -MPO_ETIMEOUT;
}

const Mpo__StatsReply *stats_client_reply(const stats_client_t *self) {
    return self->reply ? self->reply->stats_reply : NULL;
}

double stats_reply_value(const Mpo__StatsReply *reply, const char *name, double missing) {
    for (size_t i = 0; reply && i < reply->n_stats; i++)
        if (reply->stats[i]->name && strcmp(reply->stats[i]->name, name) == 0)
            return reply->stats[i]->value;
    return missing;
}

unsigned long long stats_reply_rejected(const Mpo__StatsReply *reply, const char *reason) {
    for (size_t i = 0; reply && i < reply->n_rejected; i++)
        if (reply->rejected[i]->reason && strcmp(reply->rejected[i]->reason, reason) == 0)
            return (unsigned long long)reply->rejected[i]->count;
    return 0;
}
