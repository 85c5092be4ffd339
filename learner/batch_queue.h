/* batch_queue: the handoff of sample batches from the learner's I/O thread (the producer) to its
 * update loop (the consumer) over a fixed set of slots, so nothing is allocated per batch. The
 * queue hands out slot numbers; the buffers they stand for are the caller's (learner/learner_io.c).
 *
 * A slot is free, then acquired by the producer while it fills it, then ready (ready slots are
 * popped in the order they were pushed), then popped by the consumer while it updates on it, then
 * released: free again. One producer and one consumer thread; a mutex guards the states and a
 * condition variable on the monotonic clock lets the consumer wait for a ready slot. The producer
 * never waits here: it asks for a free slot when its socket has data, and the consumer's caller
 * tells it (learner_io's eventfd) when a release may have freed one. Using a slot in a state it is
 * not in is our bug (MPO_ASSERT). */
#ifndef MPO_BATCH_QUEUE_H
#define MPO_BATCH_QUEUE_H

#include <stddef.h>

#define BATCH_QUEUE_MAX_SLOTS 64

typedef struct batch_queue_s batch_queue_t;

/* slots 1..BATCH_QUEUE_MAX_SLOTS, all free. NULL with a reason. */
batch_queue_t *batch_queue_new(int slots, char *err, size_t errlen);
void batch_queue_destroy(batch_queue_t **self_p);
int batch_queue_slots(const batch_queue_t *self);

/* producer: a free slot to fill (the lowest free one), or -1 when none is free; never waits */
int batch_queue_acquire(batch_queue_t *self);
/* producer: the acquired slot is filled; it becomes ready, after the ones pushed before it */
void batch_queue_push(batch_queue_t *self, int slot);

/* consumer: the oldest ready slot, waiting up to timeout_s (0: not at all) for one; -1 when none
 * came or batch_queue_wake was called */
int batch_queue_pop(batch_queue_t *self, double timeout_s);
/* consumer: done with a popped slot; it is free again. Returns the slots ready now (the consumer's
 * caller wakes the producer only when that runs low). */
int batch_queue_release(batch_queue_t *self, int slot);
/* end a wait in batch_queue_pop now (from any thread) */
void batch_queue_wake(batch_queue_t *self);

/* slots ready now, and free now (each a snapshot under the lock) */
int batch_queue_ready(batch_queue_t *self);
int batch_queue_free(batch_queue_t *self);

#endif
