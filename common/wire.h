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

#include "proto/mpo.pb-c.h"

#define WIRE_VERSION MPO__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT

/* X(code, name, proto error code): why a message was refused */
#define WIRE_REJECTIONS(X)                                   \
    X(WIRE_MALFORMED, "malformed", MPO__ERROR_CODE__ERROR_MALFORMED)        \
    X(WIRE_WRONG_VERSION, "wrong_version", MPO__ERROR_CODE__ERROR_WRONG_VERSION) \
    X(WIRE_WRONG_ENV, "wrong_env", MPO__ERROR_CODE__ERROR_WRONG_ENV)        \
    X(WIRE_WRONG_SIZES, "wrong_sizes", MPO__ERROR_CODE__ERROR_WRONG_SIZES)  \
    X(WIRE_BAD_LENGTHS, "bad_lengths", MPO__ERROR_CODE__ERROR_BAD_LENGTHS)  \
    X(WIRE_TOO_LARGE, "too_large", MPO__ERROR_CODE__ERROR_TOO_LARGE)        \
    X(WIRE_NO_HELLO, "no_hello", MPO__ERROR_CODE__ERROR_NO_HELLO)           \
    X(WIRE_UNEXPECTED, "unexpected", MPO__ERROR_CODE__ERROR_UNEXPECTED)     \
    X(WIRE_BAD_VALUE, "bad_value", MPO__ERROR_CODE__ERROR_BAD_VALUE)

#define WIRE_ENUM(code, name, proto) code,
typedef enum { WIRE_OK = 0, WIRE_REJECTIONS(WIRE_ENUM) WIRE_REJECTION_COUNT } wire_rejection_t;

/* "malformed", …; "ok" for WIRE_OK */
const char *wire_rejection_name(wire_rejection_t code);
Mpo__ErrorCode wire_rejection_proto(wire_rejection_t code);

/* Decode one frame. NULL when it is not a Message of our version: *why gets WIRE_MALFORMED or
 * WIRE_WRONG_VERSION and reason a one-line explanation. Free with wire_free. */
Mpo__Message *wire_decode(const void *data, size_t len, wire_rejection_t *why, char *reason, size_t reasonlen);
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

/* Checks; each returns WIRE_OK or a code with a one-line reason. */
wire_rejection_t wire_check_hello(const Mpo__Hello *h, const char *env, int obs_dim, int act_dim, char *reason,
                                  size_t reasonlen);
wire_rejection_t wire_check_transitions(const Mpo__TransitionBatch *b, int obs_dim, int act_dim, char *reason,
                                        size_t reasonlen);
wire_rejection_t wire_check_sample_batch(const Mpo__SampleBatch *b, int obs_dim, int act_dim, char *reason,
                                         size_t reasonlen);

/* Message body constructors on caller storage (no allocation): the arrays are borrowed. */
void wire_init_message(Mpo__Message *msg);

#endif
