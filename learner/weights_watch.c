#include "learner/weights_watch.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/log.h"

void weights_watch_init(weights_watch_t *self, void *sock, const char *bind) {
    self->sock = sock;
    self->foreign_bytes = 0;
    size_t len = sizeof self->endpoint;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, self->endpoint, &len) != 0)
        snprintf(self->endpoint, sizeof self->endpoint, "%s", bind);
}

/* Close every connection: unbind and bind the same address again. ZeroMQ's I/O thread lets the
 * port go a little later, so the bind is tried again for up to a second. */
static void s_reset(weights_watch_t *self) {
    if (zmq_unbind(self->sock, self->endpoint) != 0)
        log_warn("weights socket: unbind %s: %s", self->endpoint, zmq_strerror(zmq_errno()));
    double t0 = clock_now();
    int rc;
    while ((rc = zmq_bind(self->sock, self->endpoint)) != 0 && zmq_errno() == EADDRINUSE && clock_now() - t0 < 1.0)
        usleep(5000);
    if (rc != 0)
        log_error("weights socket: cannot bind %s again: %s; actors get no weights until the learner restarts",
                  self->endpoint, zmq_strerror(zmq_errno()));
}

int weights_watch_drain(weights_watch_t *self, uint64_t *foreign) {
    for (int k = 0; k < 1024; k++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return 0;
        }
        /* [1 | topic] subscribes, [0 | topic] unsubscribes */
        const unsigned char *d = zmq_msg_data(&m);
        size_t n = zmq_msg_size(&m);
        if (n > 1 && d[0] == 1) {
            (*foreign)++;
            self->foreign_bytes += n - 1;
        }
        zmq_msg_close(&m);
        if (self->foreign_bytes > WEIGHTS_WATCH_FOREIGN_BYTES) {
            log_warn("weights socket: %llu bytes of subscriptions to topics other than the weights' (\"\"): "
                     "every subscriber is disconnected to free them; actors come back at once "
                     "(a stranger on %s? docs/security.md)",
                     (unsigned long long)self->foreign_bytes, self->endpoint);
            s_reset(self);
            self->foreign_bytes = 0;
            return 1;
        }
    }
    return 0;
}
