#include "replay/held.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"

struct held_s {
    int obs_dim, act_dim;
    held_insert_t inserts[HELD_MAX_INSERTS]; /* ring: ins_count entries from ins_head */
    size_t ins_head, ins_count, bytes;
    held_sample_t samples[HELD_MAX_SAMPLES]; /* ring: smp_count entries from smp_head */
    size_t smp_head, smp_count;
    /* wall time each ring was not empty: since when (now) and the total of the spans ended */
    double ins_busy_since, ins_busy_total, smp_busy_since, smp_busy_total;
};

held_t *held_new(int obs_dim, int act_dim) {
    held_t *self = calloc(1, sizeof *self);
    if (self) {
        self->obs_dim = obs_dim;
        self->act_dim = act_dim;
    }
    return self;
}

void held_destroy(held_t **self_p) {
    held_t *self = *self_p;
    if (!self)
        return;
    while (self->ins_count)
        held_pop_insert(self);
    free(self);
    *self_p = NULL;
}

int held_push_insert(held_t *self, const router_rid_t *rid, int actor, uint32_t gen, const Mpo__TransitionBatch *b,
                     double now) {
    size_t per = transition_floats(self->obs_dim, self->act_dim);
    size_t bytes = ((size_t)b->n * per + b->n_episodes) * sizeof(float);
    if (self->ins_count == HELD_MAX_INSERTS || self->bytes + bytes > HELD_MAX_BYTES)
        return -MPO_ENOMEM;
    float *d = malloc(bytes ? bytes : sizeof(float));
    if (!d)
        return -MPO_ENOMEM;
    size_t S = (size_t)self->obs_dim * b->n, A = (size_t)self->act_dim * b->n, o = 0;
    memcpy(d + o, b->obs, S * sizeof(float)), o += S;
    memcpy(d + o, b->action, A * sizeof(float)), o += A;
    memcpy(d + o, b->reward, b->n * sizeof(float)), o += b->n;
    memcpy(d + o, b->done, b->n * sizeof(float)), o += b->n;
    memcpy(d + o, b->next_obs, S * sizeof(float)), o += S;
    for (size_t i = 0; i < b->n_episodes; i++)
        d[o + i] = b->episodes[i]->episode_return;
    held_insert_t *h = &self->inserts[(self->ins_head + self->ins_count) % HELD_MAX_INSERTS];
    h->rid = *rid;
    h->actor = actor;
    h->gen = gen;
    h->seq = b->seq;
    h->policy_version = b->policy_version;
    h->n = b->n;
    h->n_episodes = (uint32_t)b->n_episodes;
    h->data = d;
    h->bytes = bytes;
    h->since = now;
    if (self->ins_count == 0)
        self->ins_busy_since = now;
    self->ins_count++;
    self->bytes += bytes;
    return 0;
}

held_insert_t *held_find_insert(held_t *self, int actor, uint32_t gen, uint64_t seq) {
    for (size_t k = 0; k < self->ins_count; k++) {
        held_insert_t *h = &self->inserts[(self->ins_head + k) % HELD_MAX_INSERTS];
        if (h->actor == actor && h->gen == gen && h->seq == seq)
            return h;
    }
    return NULL;
}

const held_insert_t *held_insert_at(const held_t *self, size_t k) {
    MPO_ASSERT(k < self->ins_count);
    return &self->inserts[(self->ins_head + k) % HELD_MAX_INSERTS];
}

held_insert_t *held_insert_head(held_t *self) { return self->ins_count ? &self->inserts[self->ins_head] : NULL; }

transition_batch_t held_insert_view(const held_t *self, const held_insert_t *h, const float **returns) {
    *returns = h->data + (size_t)h->n * transition_floats(self->obs_dim, self->act_dim);
    return transition_batch_view(h->data, (int)h->n, self->obs_dim, self->act_dim);
}

void held_pop_insert(held_t *self) {
    MPO_ASSERT(self->ins_count > 0);
    held_insert_t *h = &self->inserts[self->ins_head];
    self->bytes -= h->bytes;
    free(h->data);
    h->data = NULL;
    self->ins_head = (self->ins_head + 1) % HELD_MAX_INSERTS;
    self->ins_count--;
}

int held_push_sample(held_t *self, const router_rid_t *rid, uint64_t id, uint32_t batch_size, double now) {
    if (self->smp_count == HELD_MAX_SAMPLES)
        return -MPO_ENOMEM;
    held_sample_t *h = &self->samples[(self->smp_head + self->smp_count) % HELD_MAX_SAMPLES];
    h->rid = *rid;
    h->id = id;
    h->batch_size = batch_size;
    h->since = now;
    if (self->smp_count == 0)
        self->smp_busy_since = now;
    self->smp_count++;
    return 0;
}

held_sample_t *held_sample_head(held_t *self) { return self->smp_count ? &self->samples[self->smp_head] : NULL; }

void held_pop_sample(held_t *self) {
    MPO_ASSERT(self->smp_count > 0);
    self->smp_head = (self->smp_head + 1) % HELD_MAX_SAMPLES;
    self->smp_count--;
}

void held_serve(held_t *self, rate_limiter_t *limiter, const replay_buffer_t *buffer, double now,
                const held_serve_t *to) {
    size_t had_inserts = self->ins_count, had_samples = self->smp_count;
    int progress = 1;
    while (progress) {
        progress = 0;
        held_insert_t *hi = held_insert_head(self);
        rate_limiter_verdict_t v;
        if (hi && (v = rate_limiter_admit(limiter, RATE_LIMITER_INSERT, hi->n, replay_buffer_size(buffer), hi->since,
                                          now)) != RATE_LIMITER_HOLD) {
            const float *returns;
            transition_batch_t b = held_insert_view(self, hi, &returns);
            to->insert(to->ctx, hi, &b, returns);
            if (v == RATE_LIMITER_TIMEOUT)
                log_debug("replay: a batch held %.1f s was stored anyway (rate_limit_timeout)", now - hi->since);
            held_pop_insert(self);
            progress = 1;
        }
        held_sample_t *hs = held_sample_head(self);
        if (hs && (v = rate_limiter_admit(limiter, RATE_LIMITER_SAMPLE, hs->batch_size, replay_buffer_size(buffer),
                                          hs->since, now)) != RATE_LIMITER_HOLD) {
            to->sample(to->ctx, hs);
            if (v == RATE_LIMITER_TIMEOUT)
                log_debug("replay: a sample held %.1f s was served anyway (rate_limit_timeout)", now - hs->since);
            held_pop_sample(self);
            progress = 1;
        }
    }
    if (had_inserts && !self->ins_count)
        self->ins_busy_total += now - self->ins_busy_since;
    if (had_samples && !self->smp_count)
        self->smp_busy_total += now - self->smp_busy_since;
}

double held_busy_seconds(const held_t *self, int samples, double now) {
    if (samples)
        return self->smp_busy_total + (self->smp_count ? now - self->smp_busy_since : 0);
    return self->ins_busy_total + (self->ins_count ? now - self->ins_busy_since : 0);
}

size_t held_inserts(const held_t *self) { return self->ins_count; }
size_t held_samples(const held_t *self) { return self->smp_count; }
size_t held_bytes(const held_t *self) { return self->bytes; }
