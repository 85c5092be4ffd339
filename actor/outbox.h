/* outbox: an actor's batches of transitions from the moment they are filled until the replay
 * server acknowledges them, under credit-based flow control, as pure logic: it owns no socket and
 * no clock (the caller passes a send function and the time), so a test drives it by hand.
 *
 * Batches live in a small ring of slots, oldest first. A slot is FILLING (taking transitions),
 * READY (full, waiting for credit), SENT (on the wire, unacknowledged) or ACKED (acknowledged but
 * behind an older unacknowledged slot; freed when everything before it is). At most `credit` slots
 * are SENT, and the actor steps only while fewer than `credit` slots are full
 * (outbox_can_step), so a replay server that delays its acks (its rate limiter) or is gone stops
 * the actor instead of filling its memory. Each batch gets its seq (1, 2, …) when its slot opens
 * and keeps it across resends: the slots keep the raw arrays, so a resend after an ack timeout or a
 * server restart is the same message, and the server's (actor id, seq) dedup makes it idempotent.
 *
 * Ring size: a step starts with at most credit - 1 full slots and one FILLING, and a slot is full
 * after at most per_batch = min(batch, WIRE_MAX_EPISODES) transitions (each transition ends at most
 * one episode), so a step of step_size transitions opens at most ceil(step_size / per_batch) more:
 * credit + ceil(step_size / per_batch) + 1 slots always suffice, one to spare. Opening a slot
 * asserts it (MPO_ASSERT): running out would be our bug, not the peer's. */
#ifndef MPO_OUTBOX_H
#define MPO_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/transition.h"
#include "proto/mpo.pb-c.h"

typedef struct {
    int obs_dim, act_dim;
    int batch;     /* transitions per batch (actor_batch), 1..WIRE_MAX_BATCH */
    int credit;    /* batches unacknowledged at once (actor_credit), >= 1 */
    int step_size; /* transitions one step adds after outbox_can_step said yes (num_envs), >= 1 */
} outbox_config_t;

/* one batch as it goes on the wire: views into the outbox, valid while the batch is held */
typedef struct {
    uint64_t seq;
    uint64_t policy_version;   /* the weights that acted on its newest transition */
    transition_batch_t t;      /* t.n transitions */
    Mpo__Episode **episodes;   /* the episodes that ended in it */
    size_t n_episodes;
} outbox_batch_t;

/* put one batch on the wire: 0 when it went, non-zero when it could not (high-water mark, no
 * peer yet); a batch that could not go is tried again later */
typedef int (*outbox_send_fn)(void *ctx, const outbox_batch_t *batch);

typedef struct {
    int in_flight;   /* batches SENT and unacknowledged */
    int held;        /* full batches not yet acknowledged (READY, SENT, or ACKED behind one) */
    uint64_t sent;   /* batches sent the first time */
    uint64_t acked;  /* batches acknowledged */
    uint64_t resent; /* batches sent again by outbox_resend */
} outbox_counts_t;

typedef struct outbox_s outbox_t;

/* NULL with a one-line reason in err for sizes out of range or no memory */
outbox_t *outbox_new(const outbox_config_t *config, char *err, size_t errlen);
void outbox_destroy(outbox_t **self_p);

/* fewer than credit full batches: the actor may take one more step */
bool outbox_can_step(const outbox_t *self);
/* Row i of `from`, acted on by weights policy_version, into the filling batch (opening one with the
 * next seq when there is none). ended: the episode finished with this transition; its return and
 * length travel with the batch holding it. The batch is READY once full. */
void outbox_add(outbox_t *self, const transition_batch_t *from, int i, uint64_t policy_version, bool ended,
                double episode_return, int episode_length);
/* Send READY batches, oldest first, while fewer than credit are on the wire; stops at the first
 * that cannot go. The ack clock starts when a batch goes out with none before it unacknowledged.
 * Returns how many went. */
int outbox_flush(outbox_t *self, outbox_send_fn send, void *ctx, double now);
/* Send every SENT batch again, same seq, oldest first, and restart the ack clock (after an ack
 * timeout, or when the server no longer knows us). Returns how many went again. */
int outbox_resend(outbox_t *self, outbox_send_fn send, void *ctx, double now);
/* The server stored batch seq: 1 when that acknowledged a batch on the wire (its credit comes
 * back; slots free from the oldest), 0 for a seq not on the wire (a duplicate ack after a resend,
 * a batch not yet sent, a seq never given). */
int outbox_ack(outbox_t *self, uint64_t seq, double now);
/* a batch is on the wire and no ack has come for longer than timeout seconds */
bool outbox_overdue(const outbox_t *self, double now, double timeout);

void outbox_counts(const outbox_t *self, outbox_counts_t *out);
/* slots in the ring (the bound above) */
int outbox_slots(const outbox_t *self);

#endif
