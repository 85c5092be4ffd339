#include "replay/sampler.h"

#include <stdlib.h>

#include "common/error.h"
#include "common/rng.h"
#include "common/transition.h"

struct sampler_s {
    int obs_dim, act_dim;
    rng_t rng;
    float *data; /* cap transitions, laid out as transition_batch_view says */
    size_t cap;
    double last_age; /* the last batch's mean age, in inserts */
};

sampler_t *sampler_new(int obs_dim, int act_dim, uint64_t seed) {
    sampler_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->obs_dim = obs_dim;
    self->act_dim = act_dim;
    rng_seed(&self->rng, seed);
    return self;
}

void sampler_destroy(sampler_t **self_p) {
    sampler_t *self = *self_p;
    if (!self)
        return;
    free(self->data);
    free(self);
    *self_p = NULL;
}

int sampler_draw(sampler_t *self, const replay_buffer_t *buffer, uint64_t request_id, uint32_t n,
                 Mpo__SampleBatch *sb) {
    size_t per = transition_floats(self->obs_dim, self->act_dim);
    if (n > self->cap) {
        float *grown = realloc(self->data, (size_t)n * per * sizeof(float));
        if (!grown)
            return -MPO_ENOMEM;
        self->data = grown;
        self->cap = n;
    }
    transition_batch_t out = transition_batch_view(self->data, (int)n, self->obs_dim, self->act_dim);
    uint64_t ages = 0;
    if (replay_buffer_sample_aged(buffer, &self->rng, &out, &ages) != 0)
        return -MPO_EINVAL;
    self->last_age = (double)ages / n;
    mpo__sample_batch__init(sb);
    sb->request_id = request_id;
    sb->n = n;
    sb->n_obs = sb->n_next_obs = (size_t)self->obs_dim * n;
    sb->n_action = (size_t)self->act_dim * n;
    sb->n_reward = sb->n_done = n;
    sb->obs = out.obs;
    sb->action = out.action;
    sb->reward = out.reward;
    sb->done = out.done;
    sb->next_obs = out.next_obs;
    return 0;
}

double sampler_last_age(const sampler_t *self) { return self->last_age; }

size_t sampler_bytes(const sampler_t *self) {
    return self->cap * transition_floats(self->obs_dim, self->act_dim) * sizeof(float);
}
