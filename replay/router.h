/* router: the replay server's one ROUTER socket. Every peer is a DEALER; each message arrives as
 * the routing-id frame and exactly one frame holding one encoded Message (docs/protocol.md).
 *
 * Its options, and why:
 *   ZMQ_MAXMSGSIZE  max_message_bytes + ROUTER_SIZE_MARGIN: ZeroMQ disconnects a peer above it
 *                   without telling anyone; between the two the message is taken and refused as
 *                   too_large, so a slightly-too-big sender learns why;
 *   ZMQ_SNDHWM      ROUTER_SNDHWM replies queued per peer: with the server's cap on one reply's
 *                   size (max_peer_queue_bytes / ROUTER_SNDHWM) this bounds what a peer that stops
 *                   reading can make the server hold, in bytes; past it its replies are dropped
 *                   and counted (router_dropped), never queued;
 *   ZMQ_RCVHWM      ROUTER_RCVHWM messages per peer waiting to be read;
 *   ZMQ_ROUTER_MANDATORY  1: a full queue is an error (EAGAIN), so it can be counted; a reply to a
 *                   peer that has gone (EHOSTUNREACH) is dropped quietly;
 *   ZMQ_LINGER      0: stopping never waits for unsent replies;
 *   with CURVE      ZMQ_CURVE_SERVER, its secret key and ZAP domain (common/curve.h).
 * Every send is ZMQ_DONTWAIT: nothing a peer does can block the server. */
#ifndef MPO_REPLAY_ROUTER_H
#define MPO_REPLAY_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/curve.h"
#include "common/wire.h"
#include "proto/mpo.pb-c.h"

#define ROUTER_RID_MAX 255                /* ZeroMQ routing ids are 1..255 bytes */
#define ROUTER_SIZE_MARGIN (64 * 1024)    /* ZMQ_MAXMSGSIZE above max_message_bytes */
#define ROUTER_SNDHWM 64   /* replies queued per peer: an honest peer has a handful in flight */
#define ROUTER_RCVHWM 1000 /* messages per peer not yet read */

/* a peer's routing id, copied out of its frame */
typedef struct {
    uint8_t rid[ROUTER_RID_MAX];
    uint8_t rid_len;
} router_rid_t;

/* what one router_recv took */
typedef struct {
    router_rid_t from;    /* rid_len 0 when the routing id itself was bad */
    Mpo__Message *msg;    /* the message, or NULL; it lives in the router's decoder until the next
                           * router_recv (never wire_free it) */
    wire_rejection_t why; /* with msg NULL: why it was refused (WIRE_OK: nothing to do) */
    int reply;            /* whether a refusal may be answered */
    char reason[256];
} router_in_t;

typedef struct router_s router_t;

/* Bind a ROUTER at endpoint on its own context; with curve on, a CURVE server whose clients
 * common/zap.h admits (curve may be NULL: plain). NULL with a one-line reason. */
router_t *router_new(const char *endpoint, size_t max_message_bytes, const curve_t *curve, char *err,
                     size_t errlen);
void router_destroy(router_t **self_p);
/* the socket, for zmq_poll */
void *router_socket(router_t *self);
/* clients refused at the CURVE handshake so far (common/zap.h); 0 when plain */
uint64_t router_refused(const router_t *self);
/* replies dropped because their peer's queue was full (it stopped reading) */
uint64_t router_dropped(const router_t *self);
/* bytes the router holds for decoding (its decoder's block) */
size_t router_bytes(const router_t *self);

/* r = rid[0..len); len must be 1..ROUTER_RID_MAX */
void router_rid_set(router_rid_t *r, const void *rid, size_t len);
int router_rid_eq(const router_rid_t *a, const router_rid_t *b);

/* Take one message without waiting: 0 when none was waiting, 1 when one was taken (see *in). A
 * message of other than one frame, above max_message_bytes or not a Message of our version is
 * taken and refused (in->msg NULL, in->why set). Decoding reuses the router's wire_decoder_t, so
 * it makes no heap allocation once the decoder has grown to the largest message seen. */
int router_recv(router_t *self, router_in_t *in);
/* send msg to `to` without waiting; a reply that cannot go now is dropped (logged at debug) */
void router_send(router_t *self, const router_rid_t *to, Mpo__Message *msg);
/* send an Error, the same way */
void router_send_error(router_t *self, const router_rid_t *to, wire_rejection_t code, const char *reason);

#endif
