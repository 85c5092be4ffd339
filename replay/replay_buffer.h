/* replay_buffer: a ring of transitions (s, a, r, d, s') in flat float arrays, uniform sampling
 * with replacement. d is 1 only for a true terminal state; a truncated episode stores d = 0.
 * Actions are policy-space actions (see nn/policy.h). */
#ifndef MPO_REPLAY_BUFFER_H
#define MPO_REPLAY_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "common/transition.h"

typedef struct replay_buffer_s replay_buffer_t;

/* NULL when the memory cannot be had (capacity * transition size) */
replay_buffer_t *replay_buffer_new(size_t capacity, int obs_dim, int act_dim);
void replay_buffer_destroy(replay_buffer_t **self_p);

size_t replay_buffer_size(const replay_buffer_t *self);
size_t replay_buffer_capacity(const replay_buffer_t *self);
uint64_t replay_buffer_inserted(const replay_buffer_t *self); /* all time */
size_t replay_buffer_bytes(const replay_buffer_t *self);
int replay_buffer_obs_dim(const replay_buffer_t *self);
int replay_buffer_act_dim(const replay_buffer_t *self);

/* Append n transitions, overwriting the oldest once full. */
void replay_buffer_insert(replay_buffer_t *self, const transition_batch_t *batch);
/* One transition. */
void replay_buffer_add(replay_buffer_t *self, const float *obs, const float *action, float reward,
                       float done, const float *next_obs);
/* Fill out (out->n transitions) uniformly with replacement. -1 when empty. */
int replay_buffer_sample(const replay_buffer_t *self, rng_t *rng, transition_batch_t *out);
/* the same, with *age_sum (may be NULL) the sum over the batch of each transition's age: the
 * transitions stored after it (0 for the newest) */
int replay_buffer_sample_aged(const replay_buffer_t *self, rng_t *rng, transition_batch_t *out, uint64_t *age_sum);
/* Copy transition i (0 = oldest held) into slot j of out; for tests and checkpoints. */
void replay_buffer_get(const replay_buffer_t *self, size_t i, transition_batch_t *out, int j);

/* For snapshots (replay/snapshot.h). A record is one transition as the ring holds it:
 * transition_floats(obs_dim, act_dim) floats, obs | action | reward | done | next_obs. */
/* The held records, oldest first, as at most two runs of the ring: run k (0, then 1) starts at
 * *records and holds the returned count (0: no such run). Written out as they lie, without a copy. */
size_t replay_buffer_run(const replay_buffer_t *self, int k, const float **records);
/* Append n records, overwriting the oldest once full; they count as inserted. */
void replay_buffer_append(replay_buffer_t *self, const float *records, size_t n);
/* Set the all-time count after a restore; at least the size held. */
void replay_buffer_set_inserted(replay_buffer_t *self, uint64_t inserted);
/* Empty, with nothing inserted: a snapshot refused after some of its records went in. */
void replay_buffer_clear(replay_buffer_t *self);

#endif
