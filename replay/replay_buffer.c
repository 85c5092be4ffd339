#include "replay/replay_buffer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/error.h"

/* One record of transition_floats floats per slot, obs | action | reward | done | next_obs, so a
 * random transition is one place in memory (3 to 4 cache lines, one page) rather than five: the
 * sampler's cost is the memory latency of its random reads, and it drew 5 to 7 cache misses and as
 * many TLB misses per transition from five separate arrays. */
struct replay_buffer_s {
    size_t capacity, size, next; /* next: slot written next */
    uint64_t inserted;
    int obs_dim, act_dim;
    size_t per;  /* floats per record */
    float *ring; /* capacity records */
};

#define REPLAY_HUGE_PAGE (2u << 20)
#define REPLAY_SAMPLE_CHUNK 256 /* indices drawn ahead of their copies */
#define REPLAY_PREFETCH 8       /* records fetched ahead of the one being copied */

/* A large ring on 2 MiB boundaries with transparent huge pages asked for (where the kernel has
 * them: madvise mode or always), so random reads across it miss the TLB far less. */
static float *s_ring_alloc(size_t bytes) {
#ifdef MADV_HUGEPAGE
    if (bytes >= 2 * REPLAY_HUGE_PAGE) {
        size_t rounded = (bytes + REPLAY_HUGE_PAGE - 1) / REPLAY_HUGE_PAGE * REPLAY_HUGE_PAGE;
        void *p = NULL;
        if (posix_memalign(&p, REPLAY_HUGE_PAGE, rounded) != 0)
            return NULL;
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without it the ring works the same */
        return p;
    }
#endif
    return malloc(bytes);
}

replay_buffer_t *replay_buffer_new(size_t capacity, int obs_dim, int act_dim) {
    if (capacity == 0 || obs_dim <= 0 || act_dim <= 0)
        return NULL;
    replay_buffer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->obs_dim = obs_dim;
    self->act_dim = act_dim;
    self->per = transition_floats(obs_dim, act_dim);
    if (capacity <= SIZE_MAX / sizeof(float) / self->per)
        self->ring = s_ring_alloc(capacity * self->per * sizeof(float));
    if (!self->ring)
        replay_buffer_destroy(&self);
    return self;
}

void replay_buffer_destroy(replay_buffer_t **self_p) {
    if (!self_p || !*self_p)
        return;
    replay_buffer_t *self = *self_p;
    free(self->ring);
    free(self);
    *self_p = NULL;
}

size_t replay_buffer_size(const replay_buffer_t *self) { return self->size; }
size_t replay_buffer_capacity(const replay_buffer_t *self) { return self->capacity; }
uint64_t replay_buffer_inserted(const replay_buffer_t *self) { return self->inserted; }
int replay_buffer_obs_dim(const replay_buffer_t *self) { return self->obs_dim; }
int replay_buffer_act_dim(const replay_buffer_t *self) { return self->act_dim; }
size_t replay_buffer_bytes(const replay_buffer_t *self) {
    return self->capacity * (2 * (size_t)self->obs_dim + self->act_dim + 2) * sizeof(float);
}

void replay_buffer_add(replay_buffer_t *self, const float *obs, const float *action, float reward,
                       float done, const float *next_obs) {
    size_t S = self->obs_dim, A = self->act_dim;
    float *r = self->ring + self->next * self->per;
    memcpy(r, obs, S * sizeof(float));
    memcpy(r + S, action, A * sizeof(float));
    r[S + A] = reward;
    r[S + A + 1] = done;
    memcpy(r + S + A + 2, next_obs, S * sizeof(float));
    self->next = self->next + 1 == self->capacity ? 0 : self->next + 1;
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
    const float *r = self->ring + slot * self->per;
    memcpy(out->obs + j * S, r, S * sizeof(float));
    memcpy(out->action + j * A, r + S, A * sizeof(float));
    out->reward[j] = r[S + A];
    out->done[j] = r[S + A + 1];
    memcpy(out->next_obs + j * S, r + S + A + 2, S * sizeof(float));
}

/* Prefetch the record in SLOT: its first three cache lines and its last, so every line of a record
 * of up to 4 lines (HalfCheetah's 168 bytes span 3 or 4); the hardware streams the rest of a larger
 * one. A macro on purpose: GCC 12 finds a function that only prefetches "const" and drops the calls. */
#define S_PREFETCH(self, slot)                                                  \
    do {                                                                        \
        const char *r_ = (const char *)((self)->ring + (slot) * (self)->per);   \
        size_t last_ = (self)->per * sizeof(float) - 1;                         \
        __builtin_prefetch(r_);                                                 \
        __builtin_prefetch(r_ + (last_ < 64 ? last_ : 64));                     \
        __builtin_prefetch(r_ + (last_ < 128 ? last_ : 128));                   \
        __builtin_prefetch(r_ + last_);                                         \
    } while (0)

int replay_buffer_sample(const replay_buffer_t *self, rng_t *rng, transition_batch_t *out) {
    return replay_buffer_sample_aged(self, rng, out, NULL);
}

int replay_buffer_sample_aged(const replay_buffer_t *self, rng_t *rng, transition_batch_t *out, uint64_t *age_sum) {
    if (self->size == 0)
        return -1;
    uint64_t ages = 0;
    /* the same draws in the same order as one at a time; drawn ahead so that the records' cache
     * misses overlap instead of following one another */
    size_t slot[REPLAY_SAMPLE_CHUNK];
    for (int j0 = 0; j0 < out->n; j0 += REPLAY_SAMPLE_CHUNK) {
        int m = out->n - j0 < REPLAY_SAMPLE_CHUNK ? out->n - j0 : REPLAY_SAMPLE_CHUNK;
        for (int k = 0; k < m; k++) {
            slot[k] = (size_t)rng_below(rng, self->size);
            if (k < REPLAY_PREFETCH)
                S_PREFETCH(self, slot[k]);
        }
        for (int k = 0; k < m; k++) {
            if (k + REPLAY_PREFETCH < m)
                S_PREFETCH(self, slot[k + REPLAY_PREFETCH]);
            s_copy(self, slot[k], out, j0 + k);
            /* inserts since this slot was written: slot next - 1 is the newest (age 0) */
            ages += (self->next + self->capacity - 1 - slot[k]) % self->capacity;
        }
    }
    if (age_sum)
        *age_sum = ages;
    return 0;
}

void replay_buffer_get(const replay_buffer_t *self, size_t i, transition_batch_t *out, int j) {
    size_t oldest = self->size < self->capacity ? 0 : self->next;
    s_copy(self, (oldest + i) % self->capacity, out, j);
}

size_t replay_buffer_run(const replay_buffer_t *self, int k, const float **records) {
    size_t oldest = self->size < self->capacity ? 0 : self->next;
    size_t first = self->size < self->capacity - oldest ? self->size : self->capacity - oldest;
    if (k == 0) {
        *records = self->ring + oldest * self->per;
        return first;
    }
    *records = self->ring; /* a full ring wraps: the newest records are at its start */
    return k == 1 ? self->size - first : 0;
}

void replay_buffer_append(replay_buffer_t *self, const float *records, size_t n) {
    while (n > 0) { /* one copy per stretch up to the ring's end */
        size_t m = self->capacity - self->next < n ? self->capacity - self->next : n;
        memcpy(self->ring + self->next * self->per, records, m * self->per * sizeof(float));
        records += m * self->per;
        n -= m;
        self->next = self->next + m == self->capacity ? 0 : self->next + m;
        self->size = self->size + m < self->capacity ? self->size + m : self->capacity;
        self->inserted += m;
    }
}

void replay_buffer_set_inserted(replay_buffer_t *self, uint64_t inserted) {
    MPO_ASSERT(inserted >= self->size);
    self->inserted = inserted;
}

void replay_buffer_clear(replay_buffer_t *self) { self->size = self->next = self->inserted = 0; }
