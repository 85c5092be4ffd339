#include "actor/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/wire.h"

typedef enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_READY, SLOT_SENT, SLOT_ACKED } s_slot_state_t;

typedef struct {
    s_slot_state_t state;
    outbox_batch_t b;        /* seq, policy version, the transitions and episodes as sent */
    float *block;            /* batch * transition_floats, transition_batch_view layout */
    Mpo__Episode *episodes;  /* (per_batch) */
} s_slot_t;

struct outbox_s {
    int S, A, B, credit;
    int per_batch;       /* episodes a batch can carry: min(B, WIRE_MAX_EPISODES) */
    s_slot_t *slots;
    int nslots, head, count; /* count slots in use, from head */
    int in_flight;           /* slots SENT */
    uint64_t next_seq;
    double last_ack;         /* the last ack, or when the oldest unacknowledged batch went out */
    uint64_t sent, acked, resent;
};

outbox_t *outbox_new(const outbox_config_t *c, char *err, size_t errlen) {
    if (c->obs_dim < 1 || c->act_dim < 1 || c->batch < 1 || c->batch > WIRE_MAX_BATCH || c->credit < 1 ||
        c->step_size < 1) {
        snprintf(err, errlen, "outbox: obs %d, act %d, batch %d, credit %d, step %d out of range", c->obs_dim,
                 c->act_dim, c->batch, c->credit, c->step_size);
        return NULL;
    }
    outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    self->S = c->obs_dim;
    self->A = c->act_dim;
    self->B = c->batch;
    self->credit = c->credit;
    self->per_batch = c->batch < WIRE_MAX_EPISODES ? c->batch : WIRE_MAX_EPISODES;
    self->nslots = c->credit + (c->step_size + self->per_batch - 1) / self->per_batch + 1;
    self->next_seq = 1;
    self->slots = calloc((size_t)self->nslots, sizeof *self->slots);
    if (!self->slots)
        goto oom;
    for (int i = 0; i < self->nslots; i++) {
        s_slot_t *sl = &self->slots[i];
        sl->block = malloc((size_t)self->B * transition_floats(self->S, self->A) * sizeof(float));
        sl->episodes = calloc((size_t)self->per_batch, sizeof *sl->episodes);
        sl->b.episodes = calloc((size_t)self->per_batch, sizeof *sl->b.episodes);
        if (!sl->block || !sl->episodes || !sl->b.episodes)
            goto oom;
        for (int e = 0; e < self->per_batch; e++) {
            mpo__episode__init(&sl->episodes[e]);
            sl->b.episodes[e] = &sl->episodes[e];
        }
    }
    return self;
oom:
    snprintf(err, errlen, "outbox: out of memory for %d batches of %d transitions", self ? self->nslots : 0, c->batch);
    outbox_destroy(&self);
    return NULL;
}

void outbox_destroy(outbox_t **self_p) {
    outbox_t *self = *self_p;
    if (!self)
        return;
    if (self->slots)
        for (int i = 0; i < self->nslots; i++) {
            free(self->slots[i].block);
            free(self->slots[i].episodes);
            free(self->slots[i].b.episodes);
        }
    free(self->slots);
    free(self);
    *self_p = NULL;
}

/* the i-th slot in use, oldest first */
static s_slot_t *s_slot(const outbox_t *self, int i) { return &self->slots[(self->head + i) % self->nslots]; }

/* full slots not yet acknowledged: the filling one aside */
static int s_held(const outbox_t *self) {
    int held = self->count;
    if (held > 0 && s_slot(self, held - 1)->state == SLOT_FILLING)
        held--;
    return held;
}

bool outbox_can_step(const outbox_t *self) { return s_held(self) < self->credit; }

/* The slot taking transitions; a new one at the tail, with the next seq, when there is none. */
static s_slot_t *s_filling(outbox_t *self) {
    if (self->count > 0) {
        s_slot_t *last = s_slot(self, self->count - 1);
        if (last->state == SLOT_FILLING)
            return last;
    }
    /* the step gate (held < credit) and the ring size (outbox.h) make this hold */
    MPO_ASSERT(self->count < self->nslots);
    s_slot_t *sl = s_slot(self, self->count++);
    sl->state = SLOT_FILLING;
    sl->b.seq = self->next_seq++;
    sl->b.t = transition_batch_view(sl->block, self->B, self->S, self->A);
    sl->b.t.n = 0;
    sl->b.n_episodes = 0;
    return sl;
}

void outbox_add(outbox_t *self, const transition_batch_t *from, int i, uint64_t policy_version, bool ended,
                double episode_return, int episode_length) {
    int S = self->S, A = self->A;
    s_slot_t *sl = s_filling(self);
    transition_batch_t *t = &sl->b.t;
    int j = t->n++;
    memcpy(t->obs + (size_t)j * S, from->obs + (size_t)i * S, (size_t)S * sizeof(float));
    memcpy(t->action + (size_t)j * A, from->action + (size_t)i * A, (size_t)A * sizeof(float));
    memcpy(t->next_obs + (size_t)j * S, from->next_obs + (size_t)i * S, (size_t)S * sizeof(float));
    t->reward[j] = from->reward[i];
    t->done[j] = from->done[i];
    sl->b.policy_version = policy_version;
    if (ended) {
        /* the episode travels with the batch holding its last transition */
        Mpo__Episode *e = &sl->episodes[sl->b.n_episodes++];
        e->episode_return = (float)episode_return;
        e->length = (uint32_t)episode_length;
    }
    if (t->n == self->B || sl->b.n_episodes == (size_t)self->per_batch)
        sl->state = SLOT_READY;
}

int outbox_flush(outbox_t *self, outbox_send_fn send, void *ctx, double now) {
    int went = 0;
    for (int i = 0; i < self->count && self->in_flight < self->credit; i++) {
        s_slot_t *sl = s_slot(self, i);
        if (sl->state != SLOT_READY)
            continue;
        if (send(ctx, &sl->b) != 0)
            break; /* stays READY, tried again on the next flush; order is kept */
        if (self->in_flight == 0)
            self->last_ack = now; /* the ack clock starts with the first unacknowledged batch */
        sl->state = SLOT_SENT;
        self->in_flight++;
        self->sent++;
        went++;
    }
    return went;
}

int outbox_resend(outbox_t *self, outbox_send_fn send, void *ctx, double now) {
    int went = 0;
    self->last_ack = now;
    for (int i = 0; i < self->count; i++) {
        s_slot_t *sl = s_slot(self, i);
        if (sl->state == SLOT_SENT && send(ctx, &sl->b) == 0)
            went++;
    }
    self->resent += (uint64_t)went;
    return went;
}

int outbox_ack(outbox_t *self, uint64_t seq, double now) {
    int matched = 0;
    for (int i = 0; i < self->count; i++) {
        s_slot_t *sl = s_slot(self, i);
        if (sl->state == SLOT_SENT && sl->b.seq == seq) {
            sl->state = SLOT_ACKED;
            self->in_flight--;
            self->acked++;
            self->last_ack = now;
            matched = 1;
            break;
        }
    }
    /* free from the oldest: an ack out of order waits for the ones before it */
    while (self->count > 0 && s_slot(self, 0)->state == SLOT_ACKED) {
        s_slot(self, 0)->state = SLOT_FREE;
        self->head = (self->head + 1) % self->nslots;
        self->count--;
    }
    return matched;
}

bool outbox_overdue(const outbox_t *self, double now, double timeout) {
    return self->in_flight > 0 && now - self->last_ack > timeout;
}

void outbox_counts(const outbox_t *self, outbox_counts_t *out) {
    out->in_flight = self->in_flight;
    out->held = s_held(self);
    out->sent = self->sent;
    out->acked = self->acked;
    out->resent = self->resent;
}

int outbox_slots(const outbox_t *self) { return self->nslots; }
