/* weights_watch: the subscriptions the learner's weights socket (an XPUB) passes up.
 *
 * Weights go to the empty topic, which is all an actor subscribes to. Any other topic is a
 * stranger's, and ZeroMQ keeps it (10-15 bytes of trie per byte) for as long as its connection
 * lasts, with no way to drop one connection. So the topics are counted, and past
 * WEIGHTS_WATCH_FOREIGN_BYTES of them since the last time the socket is unbound and bound again,
 * which closes every connection: actors reconnect and subscribe again within ZeroMQ's reconnect
 * interval (0.1 s). The socket must be an XPUB with ZMQ_XPUB_VERBOSE, so that every subscription
 * is seen. */
#ifndef MPO_LEARNER_WEIGHTS_WATCH_H
#define MPO_LEARNER_WEIGHTS_WATCH_H

#include <stdint.h>

#define WEIGHTS_WATCH_FOREIGN_BYTES (1u << 20)

typedef struct {
    void *sock;             /* the XPUB, borrowed */
    char endpoint[256];     /* where it is bound (the port a wildcard bind was given) */
    uint64_t foreign_bytes; /* topic bytes of subscriptions other than "" since the last reset */
} weights_watch_t;

/* watch sock, bound at bind (its last endpoint is read back for the rebinds) */
void weights_watch_init(weights_watch_t *self, void *sock, const char *bind);
/* Take the subscriptions waiting (at most 1024): adds the foreign ones to *foreign; 1 when the
 * socket was reset (said in the log), else 0. */
int weights_watch_drain(weights_watch_t *self, uint64_t *foreign);

#endif
