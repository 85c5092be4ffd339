#include "common/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define POOL_MAX_THREADS 256

struct pool_s {
    int threads;
    pthread_t workers[POOL_MAX_THREADS];
    int n_workers;

    pthread_mutex_t mu;
    pthread_cond_t start, finish;
    unsigned long generation; /* a new run: workers wake when it moves */
    int stopping;

    /* the current run */
    pool_fn_t fn;
    void *ctx;
    int n;
    atomic_int next;    /* the next task to hand out */
    int busy;           /* workers still inside this run (under mu) */
};

/* take tasks of the current run until none is left */
static void s_drain(pool_t *self) {
    for (;;) {
        int t = atomic_fetch_add(&self->next, 1);
        if (t >= self->n)
            return;
        self->fn(self->ctx, t);
    }
}

static void *s_worker(void *arg) {
    pool_t *self = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&self->mu);
    for (;;) {
        while (!self->stopping && self->generation == seen)
            pthread_cond_wait(&self->start, &self->mu);
        if (self->stopping)
            break;
        seen = self->generation;
        pthread_mutex_unlock(&self->mu);
        s_drain(self);
        pthread_mutex_lock(&self->mu);
        if (--self->busy == 0)
            pthread_cond_signal(&self->finish);
    }
    pthread_mutex_unlock(&self->mu);
    return NULL;
}

int pool_available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        return n > 0 ? n : 1;
    }
    return 1;
}

pool_t *pool_new(int threads, char *err, size_t errlen) {
    if (threads < 1 || threads > POOL_MAX_THREADS) {
        snprintf(err, errlen, "threads %d out of range [1, %d]", threads, POOL_MAX_THREADS);
        return NULL;
    }
    pool_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "%s", mpo_strerror(MPO_ENOMEM));
        return NULL;
    }
    self->threads = threads;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->start, NULL);
    pthread_cond_init(&self->finish, NULL);
    atomic_init(&self->next, 0);
    for (int i = 0; i < threads - 1; i++) {
        int rc = pthread_create(&self->workers[i], NULL, s_worker, self);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker thread %d of %d: %s", i + 1, threads - 1, strerror(rc));
            pool_destroy(&self);
            return NULL;
        }
        self->n_workers++;
    }
    return self;
}

void pool_destroy(pool_t **self_p) {
    pool_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->mu);
    self->stopping = 1;
    pthread_cond_broadcast(&self->start);
    pthread_mutex_unlock(&self->mu);
    for (int i = 0; i < self->n_workers; i++)
        pthread_join(self->workers[i], NULL);
    pthread_mutex_destroy(&self->mu);
    pthread_cond_destroy(&self->start);
    pthread_cond_destroy(&self->finish);
    free(self);
    *self_p = NULL;
}

int pool_threads(const pool_t *self) { return self ? self->threads : 1; }

void pool_run(pool_t *self, int n, pool_fn_t fn, void *ctx) {
    if (!self || self->n_workers == 0 || n <= 1) {
        for (int t = 0; t < n; t++)
            fn(ctx, t);
        return;
    }
    pthread_mutex_lock(&self->mu);
    self->fn = fn;
    self->ctx = ctx;
    self->n = n;
    atomic_store(&self->next, 0);
    self->busy = self->n_workers;
    self->generation++;
    pthread_cond_broadcast(&self->start);
    pthread_mutex_unlock(&self->mu);
    s_drain(self);
    pthread_mutex_lock(&self->mu);
    while (self->busy > 0)
        pthread_cond_wait(&self->finish, &self->mu);
    pthread_mutex_unlock(&self->mu);
}
