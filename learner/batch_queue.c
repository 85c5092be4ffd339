#include "learner/batch_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

typedef enum { S_FREE = 0, S_FILLING, S_READY, S_IN_USE } s_state_t;

struct batch_queue_s {
    int slots;
    pthread_mutex_t mu;
    pthread_cond_t ready_cv;
    s_state_t state[BATCH_QUEUE_MAX_SLOTS];
    int ring[BATCH_QUEUE_MAX_SLOTS]; /* ready slots, oldest at head */
    int head, n_ready, n_free;
    unsigned wakes; /* batch_queue_wake calls: a waiting pop returns when it moves */
    int cv_ready, mu_ready;
};

batch_queue_t *batch_queue_new(int slots, char *err, size_t errlen) {
    if (slots < 1 || slots > BATCH_QUEUE_MAX_SLOTS) {
        snprintf(err, errlen, "batch queue: %d slots, expected 1..%d", slots, BATCH_QUEUE_MAX_SLOTS);
        return NULL;
    }
    batch_queue_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "batch queue: out of memory");
        return NULL;
    }
    self->slots = self->n_free = slots;
    pthread_condattr_t attr;
    int rc = pthread_mutex_init(&self->mu, NULL);
    self->mu_ready = rc == 0;
    if (rc == 0 && (rc = pthread_condattr_init(&attr)) == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&self->ready_cv, &attr);
        self->cv_ready = rc == 0;
        pthread_condattr_destroy(&attr);
    }
    if (rc != 0) {
        snprintf(err, errlen, "batch queue: %s", strerror(rc));
        batch_queue_destroy(&self);
    }
    return self;
}

void batch_queue_destroy(batch_queue_t **self_p) {
    batch_queue_t *self = *self_p;
    if (!self)
        return;
    if (self->cv_ready)
        pthread_cond_destroy(&self->ready_cv);
    if (self->mu_ready)
        pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

int batch_queue_slots(const batch_queue_t *self) { return self->slots; }

int batch_queue_acquire(batch_queue_t *self) {
    int slot = -1;
    pthread_mutex_lock(&self->mu);
    for (int i = 0; i < self->slots && slot < 0; i++)
        if (self->state[i] == S_FREE)
            slot = i;
    if (slot >= 0) {
        self->state[slot] = S_FILLING;
        self->n_free--;
    }
    pthread_mutex_unlock(&self->mu);
    return slot;
}

void batch_queue_push(batch_queue_t *self, int slot) {
    pthread_mutex_lock(&self->mu);
    MPO_ASSERT(slot >= 0 && slot < self->slots && self->state[slot] == S_FILLING);
    self->state[slot] = S_READY;
    self->ring[(self->head + self->n_ready) % self->slots] = slot;
    self->n_ready++;
    pthread_cond_signal(&self->ready_cv);
    pthread_mutex_unlock(&self->mu);
}

int batch_queue_pop(batch_queue_t *self, double timeout_s) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_s > 0) {
        double end = (double)until.tv_sec + (double)until.tv_nsec * 1e-9 + timeout_s;
        until.tv_sec = (time_t)end;
        until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
    }
    int slot = -1;
    pthread_mutex_lock(&self->mu);
    unsigned wakes = self->wakes;
    while (self->n_ready == 0 && timeout_s > 0 && self->wakes == wakes)
        if (pthread_cond_timedwait(&self->ready_cv, &self->mu, &until) == ETIMEDOUT)
            break;
    if (self->n_ready > 0) {
        slot = self->ring[self->head];
        self->head = (self->head + 1) % self->slots;
        self->n_ready--;
        MPO_ASSERT(self->state[slot] == S_READY);
        self->state[slot] = S_IN_USE;
    }
    pthread_mutex_unlock(&self->mu);
    return slot;
}

int batch_queue_release(batch_queue_t *self, int slot) {
    pthread_mutex_lock(&self->mu);
    MPO_ASSERT(slot >= 0 && slot < self->slots && self->state[slot] == S_IN_USE);
    self->state[slot] = S_FREE;
    self->n_free++;
    int ready = self->n_ready;
    pthread_mutex_unlock(&self->mu);
    return ready;
}

void batch_queue_wake(batch_queue_t *self) {
    pthread_mutex_lock(&self->mu);
    self->wakes++;
    pthread_cond_broadcast(&self->ready_cv);
    pthread_mutex_unlock(&self->mu);
}

int batch_queue_ready(batch_queue_t *self) {
    pthread_mutex_lock(&self->mu);
    int n = self->n_ready;
    pthread_mutex_unlock(&self->mu);
    return n;
}

int batch_queue_free(batch_queue_t *self) {
    pthread_mutex_lock(&self->mu);
    int n = self->n_free;
    pthread_mutex_unlock(&self->mu);
    return n;
}
