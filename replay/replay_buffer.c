#include "replay/replay_buffer.h"

#include <stdlib.h>
#include <string.h>

struct replay_buffer_s {
    size_t capacity, size, next; /* next: slot written next */
    uint64_t inserted;
    int obs_dim, act_dim;
    float *obs, *action, *reward, *done, *next_obs;
};

replay_buffer_t *replay_buffer_new(size_t capacity, int obs_dim, int act_dim) {
    if (capacity == 0 || obs_dim <= 0 || act_dim <= 0)
        return NULL;
    replay_buffer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->obs_dim = obs_dim;
    self->act_dim = act_dim;
    self->obs = malloc(capacity * obs_dim * sizeof(float));
    self->next_obs = malloc(capacity * obs_dim * sizeof(float));
    self->action = malloc(capacity * act_dim * sizeof(float));
    self->reward = malloc(capacity * sizeof(float));
    self->done = malloc(capacity * sizeof(float));
    if (!self->obs || !self->next_obs || !self->action || !self->reward || !self->done)
        replay_buffer_destroy(&self);
    return self;
}

void replay_buffer_destroy(replay_buffer_t **self_p) {
    if (!self_p || !*self_p)
        return;
    replay_buffer_t *self = *self_p;
    free(self->obs);
    free(self->next_obs);
    free(self->action);
    free(self->reward);
    free(self->done);
    free(self);
    *self_p = NULL;
}

size_t replay_buffer_size(const replay_buffer_t *self) { return self->size; }
size_t replay_buffer_capacity(const replay_buffer_t *self) { return self->capacity; }
uint64_t replay_buffer_inserted(const replay_buffer_t *self) { return self->inserted; }
size_t replay_buffer_bytes(const replay_buffer_t *self) {
    return self->capacity * (2 * (size_t)self->obs_dim + self->act_dim + 2) * sizeof(float);
}

void replay_buffer_add(replay_buffer_t *self, const float *obs, const float *action, float reward,
                       float done, const float *next_obs) {
    size_t i = self->next, S = self->obs_dim, A = self->act_dim;
    memcpy(self->obs + i * S, obs, S * sizeof(float));
    memcpy(self->next_obs + i * S, next_obs, S * sizeof(float));
    memcpy(self->action + i * A, action, A * sizeof(float));
    self->reward[i] = reward;
    self->done[i] = done;
    self->next = (i + 1) % self->capacity;
    if (self->size < self->capacity)
        self->size++;
    self->inserted++;
}

void replay_buffer_insert(replay_buffer_t *self, const transition_batch_t *batch) {
    size_t S = self->obs_dim, A = self->act_dim;
    for (int j = 0; j < batch->n; j++)
        replay_buffer_add(self, batch->obs + j * S, batch->action + j * A, batch->reward[j],
                          batch->done[j], batch->next_obs + j * S);
}

static void s_copy(const replay_buffer_t *self, size_t slot, transition_batch_t *out, int j) {
    size_t S = self->obs_dim, A = self->act_dim;
    memcpy(out->obs + j * S, self->obs + slot * S, S * sizeof(float));
    memcpy(out->next_obs + j * S, self->next_obs + slot * S, S * sizeof(float));
    memcpy(out->action + j * A, self->action + slot * A, A * sizeof(float));
    out->reward[j] = self->reward[slot];
    out->done[j] = self->done[slot];
}

int replay_buffer_sample(const replay_buffer_t *self, rng_t *rng, transition_batch_t *out) {
    if (self->size == 0)
        return -1;
    for (int j = 0; j < out->n; j++)
        s_copy(self, (size_t)rng_below(rng, self->size), out, j);
    return 0;
}

void replay_buffer_get(const replay_buffer_t *self, size_t i, transition_batch_t *out, int j) {
    size_t oldest = self->size < self->capacity ? 0 : self->next;
    s_copy(self, (oldest + i) % self->capacity, out, j);
}
