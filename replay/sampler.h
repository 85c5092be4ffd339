/* sampler: the learner's minibatches, drawn from the replay buffer uniformly with replacement
 * into one scratch block that is grown to the largest batch asked for and then reused: serving a
 * sample allocates only the first time a larger batch is asked for. Its own random stream, so the
 * draws of a run depend on its seed alone. */
#ifndef MPO_REPLAY_SAMPLER_H
#define MPO_REPLAY_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/mpo.pb-c.h"
#include "replay/replay_buffer.h"

typedef struct sampler_s sampler_t;

/* NULL when out of memory */
sampler_t *sampler_new(int obs_dim, int act_dim, uint64_t seed);
void sampler_destroy(sampler_t **self_p);

/* Draw n transitions from buffer into *sb, a SampleBatch answering request_id whose arrays are the
 * scratch block (valid until the next draw). 0; -MPO_ENOMEM when the block cannot grow to n;
 * -MPO_EINVAL when the buffer is empty. */
int sampler_draw(sampler_t *self, const replay_buffer_t *buffer, uint64_t request_id, uint32_t n,
                 Mpo__SampleBatch *sb);
/* the mean age of the last batch drawn: how many transitions were stored after each, on average */
double sampler_last_age(const sampler_t *self);
/* bytes of the scratch block */
size_t sampler_bytes(const sampler_t *self);

#endif
