/* held: what the rate limiter keeps waiting, in two FIFO rings of fixed length. First in, first
 * out, so one actor's batches keep their order and the learner's requests are answered in the
 * order asked.
 *   - inserts: transition batches copied out of their frames (the frame is freed at once), at most
 *     HELD_MAX_INSERTS batches and HELD_MAX_BYTES bytes;
 *   - samples: sample requests (who asked, how many), at most HELD_MAX_SAMPLES.
 * A full ring takes nothing more: the caller counts the overflow and does not answer, and the peer
 * sends again after its own timeout, when there may be room. held_serve lets the heads go as the
 * rate limiter admits them (or their rate_limit_timeout passes); what going means is the caller's. */
#ifndef MPO_REPLAY_HELD_H
#define MPO_REPLAY_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "common/transition.h"
#include "proto/mpo.pb-c.h"
#include "replay/rate_limiter.h"
#include "replay/replay_buffer.h"
#include "replay/router.h"

#define HELD_MAX_INSERTS 1024
#define HELD_MAX_SAMPLES 1024
#define HELD_MAX_BYTES (1ull << 30)

/* a batch waiting for the rate limiter */
typedef struct {
    router_rid_t rid; /* acked here when stored: the actor's newest connection */
    int actor;       /* its actor entry and that entry's generation (replay/peers.h) */
    uint32_t gen;
    uint64_t seq, policy_version;
    uint32_t n, n_episodes;
    float *data; /* obs | action | reward | done | next_obs | episode returns */
    size_t bytes;
    double since;
} held_insert_t;

/* a sample request waiting for data or for the rate limiter */
typedef struct {
    router_rid_t rid;
    uint64_t id;
    uint32_t batch_size;
    double since;
} held_sample_t;

typedef struct held_s held_t;

/* rings for transitions of these sizes; NULL when out of memory */
held_t *held_new(int obs_dim, int act_dim);
/* frees every held batch too */
void held_destroy(held_t **self_p);

/* Copy batch b (checked by wire_check_transitions) to the end of the insert ring. 0, or
 * -MPO_ENOMEM when the ring is full (batches or bytes) or the copy cannot be allocated. */
int held_push_insert(held_t *self, const router_rid_t *rid, int actor, uint32_t gen, const Mpo__TransitionBatch *b,
                     double now);
/* the held batch of this actor and seq (a resend of a batch still waiting), or NULL */
held_insert_t *held_find_insert(held_t *self, int actor, uint32_t gen, uint64_t seq);
/* the k-th oldest held batch (k < held_inserts), for reports */
const held_insert_t *held_insert_at(const held_t *self, size_t k);
/* the oldest held batch, NULL when none */
held_insert_t *held_insert_head(held_t *self);
/* a held batch's transitions and its episode returns (h->n_episodes of them) */
transition_batch_t held_insert_view(const held_t *self, const held_insert_t *h, const float **returns);
/* free the oldest held batch; the ring must not be empty */
void held_pop_insert(held_t *self);

/* Append a request to the sample ring: 0, or -MPO_ENOMEM when it is full. */
int held_push_sample(held_t *self, const router_rid_t *rid, uint64_t id, uint32_t batch_size, double now);
/* the oldest held request, NULL when none */
held_sample_t *held_sample_head(held_t *self);
/* drop the oldest held request; the ring must not be empty */
void held_pop_sample(held_t *self);

/* what the caller does with an item the rate limiter let go: store the batch and ack it, or serve
 * the request; the item is dropped from its ring afterwards */
typedef struct {
    void (*insert)(void *ctx, const held_insert_t *h, const transition_batch_t *batch, const float *returns);
    void (*sample)(void *ctx, const held_sample_t *h);
    void *ctx;
} held_serve_t;

/* Let the heads of both rings go while the limiter admits them at the buffer's size. Alternating
 * the two sides lets one side's progress unblock the other within one call. */
void held_serve(held_t *self, rate_limiter_t *limiter, const replay_buffer_t *buffer, double now,
                const held_serve_t *to);

size_t held_inserts(const held_t *self); /* batches held */
size_t held_samples(const held_t *self); /* requests held */
size_t held_bytes(const held_t *self);   /* bytes of the held batches */
/* wall seconds up to now during which the insert ring (samples 0) or the sample ring (samples 1)
 * held something; a ring's span ends when held_serve empties it */
double held_busy_seconds(const held_t *self, int samples, double now);

#endif
