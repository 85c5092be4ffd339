/* zap: the gatekeeper of a role's CURVE server socket (common/curve.h).
 *
 * A thread answers ZeroMQ's authentication requests (ZAP, ZeroMQ RFC 27) on
 * inproc://zeromq.zap.01 of the role's context: a CURVE client whose public key is listed in
 * curve_authorized_keys, or is the server's own, gets 200; any other gets 400 and is refused. The
 * same thread watches the server socket's handshakes (zmq_socket_monitor) for the strangers
 * refused before ZAP is asked: a client without CURVE, or one that expects another server key
 * (the server cannot open its hello). Each refusal is counted (zap_refused) and logged (the first
 * five, then every 1000th). A refused client's ZeroMQ may try again on a new connection, and each
 * try counts: the count is of connections, not peers.
 *
 * Order: zap_new binds the handler before the server socket binds (a CURVE server with no handler
 * lets every client in), zap_start watches the socket and starts the thread, zap_destroy comes
 * after the socket is closed and before zmq_ctx_term. One per context: ZeroMQ has one ZAP endpoint
 * per context. */
#ifndef MPO_ZAP_H
#define MPO_ZAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/curve.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_POLL_MS 50 /* the stop flag is seen within this */

typedef struct zap_s zap_t;

/* Load curve->authorized_keys (a file of key lines; empty: none) and bind the handler on ctx.
 * `role` names the server in logs ("replay"). NULL with a one-line reason. */
zap_t *zap_new(void *ctx, const char *role, const curve_t *curve, char *err, size_t errlen);
/* Watch server_sock's handshakes and start answering. 0, or -MPO_ESOCKET with a reason. */
int zap_start(zap_t *self, void *server_sock, char *err, size_t errlen);
/* clients refused so far (each connection attempt); 0 for NULL */
uint64_t zap_refused(const zap_t *self);
/* keys authorized (the server's own included); 0 for NULL */
size_t zap_keys(const zap_t *self);
/* stop the thread, close the handler's sockets, set *self_p to NULL; NULL is fine */
void zap_destroy(zap_t **self_p);

#endif
