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
void wire_free(Mpo__Message *msg);

/* A decoder: wire_decode into a block of its own that is reused from message to message (an arena,
 * common/arena.h, behind protobuf-c's allocator hook), so that receiving makes no heap allocation
 * once the block has grown to the largest message seen. It grows only when a larger message comes,
 * and to at most max_message_bytes + WIRE_DECODE_SLACK bytes: every array of a message of
 * max_message_bytes, plus the structures of WIRE_MAX_EPISODES episodes and WIRE_MAX_STATS stats. A
 * frame above max_message_bytes, or one that would decode to more than that (only a message not
 * packed as mpo.proto says could: unknown fields, unpacked arrays), is refused as WIRE_TOO_LARGE.
 * One decoder per socket and thread. */
typedef struct wire_decoder_s wire_decoder_t;
#define WIRE_DECODE_SLACK (1u << 20)
/* NULL when out of memory */
wire_decoder_t *wire_decoder_new(size_t max_message_bytes);
void wire_decoder_destroy(wire_decoder_t **self_p);
/* As wire_decode, with the same refusals (and the two above), into the decoder: the message lives
 * until the next wire_decode_into or wire_recv_into on this decoder. Never wire_free it. */
Mpo__Message *wire_decode_into(wire_decoder_t *d, const void *data, size_t len, wire_rejection_t *why, char *reason,
                               size_t reasonlen);
/* bytes the decoder holds */
size_t wire_decoder_bytes(const wire_decoder_t *d);

/* Encode msg (its version is set here) and send it as one frame, optionally after a routing-id
 * frame (ROUTER sockets). zmq flags apply to the last frame (ZMQ_DONTWAIT). 0 or -1 (errno). */
int wire_send(void *socket, const void *routing_id, size_t id_len, Mpo__Message *msg, int flags);
/* Receive one frame without waiting and decode it. NULL when nothing is waiting (*why = WIRE_OK)
 * or when the frame is refused (*why and reason say why). */
Mpo__Message *wire_recv(void *socket, wire_rejection_t *why, char *reason, size_t reasonlen);
/* As wire_recv, decoding into d (see wire_decode_into). */
Mpo__Message *wire_recv_into(void *socket, wire_decoder_t *d, wire_rejection_t *why, char *reason, size_t reasonlen);
/* Say Hello: role, environment name and sizes (NULL/0 for a stats client), our id, and for an
 * actor its process's incarnation (wire_incarnation; 0 for other roles). */
int wire_send_hello(void *socket, Mpo__Role role, const char *env, int obs_dim, int act_dim, const char *id,
                    uint64_t incarnation);
/* a random nonzero 64-bit number for this process's Hello (getrandom, else time and pid) */
uint64_t wire_incarnation(void);
/* Ask for stats (a StatsRequest). */
int wire_send_stats_request(void *socket);
/* Send an Error. */
int wire_send_error(void *socket, const void *routing_id, size_t id_len, wire_rejection_t code, const char *reason);

/* Bounds on what one message may carry. */
#define WIRE_MAX_BATCH 65536    /* transitions in one TransitionBatch or SampleBatch */
#define WIRE_MAX_EPISODES 4096  /* finished episodes in one TransitionBatch */

#define WIRE_ID_MAX 128        /* bytes of a peer's id, NUL included: printable ASCII only */
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
/* every observation, action and reward of a checked batch within [-max_abs, max_abs] (0: no bound):
 * finite extremes (3e38) pass wire_check_transitions but overflow the learner's products */
wire_rejection_t wire_check_magnitude(const Mpo__TransitionBatch *b, double max_abs, char *reason, size_t reasonlen);
wire_rejection_t wire_check_sample_batch(const Mpo__SampleBatch *b, int obs_dim, int act_dim, char *reason,
                                         size_t reasonlen);

/* Message body constructors on caller storage (no allocation): the arrays are borrowed. */
void wire_init_message(Mpo__Message *msg);

#endif
