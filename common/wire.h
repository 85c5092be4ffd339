/* wire: sending, receiving and checking the protocol's messages (proto/mpo.proto).
 *
 * Every message is one ZeroMQ frame holding one encoded Mpo__Message. Receivers decode with
 * wire_decode, which refuses anything that is not a well-formed Message of our version, and then
 * check each body against the sizes agreed in the Hello with the wire_check_* functions before
 * touching any array. Each refusal has a code from the table below, named in stats by its
 * reason string. */
#ifndef MPO_WIRE_H
#define MPO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "proto/mpo.pb-c.h"

#define WIRE_VERSION MPO__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT

/* the refusal codes are the first entries of common/error.h's table */
typedef mpo_error_t wire_rejection_t;

/* "malformed", …; "ok" for WIRE_OK */
const char *wire_rejection_name(wire_rejection_t code);
Mpo__ErrorCode wire_rejection_proto(wire_rejection_t code);

/* Decode one frame. NULL when it is not a Message of our version: *why gets WIRE_MALFORMED or
 * WIRE_WRONG_VERSION and reason a one-line explanation. Free with wire_free. */
Mpo__Message *wire_decode(const void *data, size_t len, wire_rejection_t *why, char *reason, size_t reasonlen);
/* The same with protobuf-c's allocator hook (NULL: malloc), e.g. an arena reused message after
 * message (learner/learner_io.c); such a message is freed the allocator's way, not with wire_free. */
Mpo__Message *wire_decode_with(const void *data, size_t len, ProtobufCAllocator *alloc, wire_rejection_t *why,
                               char *reason, size_t reasonlen);
void wire_free(Mpo__Message *msg);

/* Encode msg (its version is set here) and send it as one frame, optionally after a routing-id
 * frame (ROUTER sockets). zmq flags apply to the last frame (ZMQ_DONTWAIT). 0 or -1 (errno). */
int wire_send(void *socket, const void *routing_id, size_t id_len, Mpo__Message *msg, int flags);
/* Receive one frame without waiting and decode it. NULL when nothing is waiting (*why = WIRE_OK)
 * or when the frame is refused (*why and reason say why). */
Mpo__Message *wire_recv(void *socket, wire_rejection_t *why, char *reason, size_t reasonlen);
/* Say Hello: role, environment name and sizes (NULL/0 for a stats client), our id. */
int wire_send_hello(void *socket, Mpo__Role role, const char *env, int obs_dim, int act_dim, const char *id);
/* Ask for stats (a StatsRequest). */
int wire_send_stats_request(void *socket);
/* Send an Error. */
int wire_send_error(void *socket, const void *routing_id, size_t id_len, wire_rejection_t code, const char *reason);

/* Bounds on what one message may carry. */
#define WIRE_MAX_BATCH 65536    /* transitions in one TransitionBatch or SampleBatch */
#define WIRE_MAX_EPISODES 4096  /* finished episodes in one TransitionBatch */

#define WIRE_MAX_STATS 64      /* figures in one stats list a peer reports */
#define WIRE_STAT_NAME_MAX 64  /* bytes of a figure's name, NUL included */

/* Checks; each returns WIRE_OK or a code with a one-line reason. */
wire_rejection_t wire_check_hello(const Mpo__Hello *h, const char *env, int obs_dim, int act_dim, char *reason,
                                  size_t reasonlen);
wire_rejection_t wire_check_transitions(const Mpo__TransitionBatch *b, int obs_dim, int act_dim, char *reason,
                                        size_t reasonlen);
/* a peer's own stats list (TransitionBatch.stats, SampleRequest.stats): at most WIRE_MAX_STATS
 * figures, names of 1..WIRE_STAT_NAME_MAX-1 bytes of [a-z0-9_], finite values */
wire_rejection_t wire_check_stats(Mpo__Stat *const *stats, size_t n, char *reason, size_t reasonlen);
wire_rejection_t wire_check_sample_batch(const Mpo__SampleBatch *b, int obs_dim, int act_dim, char *reason,
                                         size_t reasonlen);

/* Message body constructors on caller storage (no allocation): the arrays are borrowed. */
void wire_init_message(Mpo__Message *msg);

#endif
