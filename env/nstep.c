#include "env/nstep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* per environment, a ring of the last (up to n) steps not yet emitted */
struct nstep_s {
    int n, K, S, A;
    double gamma;
    float *obs, *action, *reward; /* (K, n, S), (K, n, A), (K, n) */
    int *head, *count;            /* (K) */
};

void nstep_destroy(nstep_t **self_p) {
    nstep_t *self = *self_p;
    if (!self)
        return;
    free(self->obs);
    free(self->action);
    free(self->reward);
    free(self->head);
    free(self->count);
    free(self);
    *self_p = NULL;
}

nstep_t *nstep_new(int n, int K, int obs_dim, int act_dim, double gamma, char *err, size_t errlen) {
    if (n < 1 || n > NSTEP_MAX || K < 1) {
        snprintf(err, errlen, "n_step %d out of range [1, %d]", n, NSTEP_MAX);
        return NULL;
    }
    nstep_t *self = calloc(1, sizeof *self);
    if (self) {
        self->n = n, self->K = K, self->S = obs_dim, self->A = act_dim, self->gamma = gamma;
        self->obs = malloc(sizeof(float) * (size_t)K * n * obs_dim);
        self->action = malloc(sizeof(float) * (size_t)K * n * act_dim);
        self->reward = malloc(sizeof(float) * (size_t)K * n);
        self->head = calloc((size_t)K, sizeof(int));
        self->count = calloc((size_t)K, sizeof(int));
    }
    if (!self || !self->obs || !self->action || !self->reward || !self->head || !self->count) {
        nstep_destroy(&self);
        snprintf(err, errlen, "%s for n-step windows", mpo_strerror(MPO_ENOMEM));
        return NULL;
    }
    return self;
}

int nstep_max_out(const nstep_t *self) { return self->K * self->n; }

/* emit env k's oldest pending step with the sum of its window, then drop it */
static void s_emit(nstep_t *self, int k, const float *next_obs, float done, transition_batch_t *out) {
    int n = self->n, S = self->S, A = self->A, slot = k * n + self->head[k];
    int row = out->n++;
    memcpy(out->obs + (size_t)row * S, self->obs + (size_t)slot * S, sizeof(float) * S);
    memcpy(out->action + (size_t)row * A, self->action + (size_t)slot * A, sizeof(float) * A);
    if (n == 1) {
        out->reward[row] = self->reward[slot];
    } else {
        double sum = 0, disc = 1;
        for (int i = 0; i < self->count[k]; i++) {
            sum += disc * self->reward[k * n + (self->head[k] + i) % n];
            disc *= self->gamma;
        }
        out->reward[row] = (float)sum;
    }
    out->done[row] = done;
    memcpy(out->next_obs + (size_t)row * S, next_obs, sizeof(float) * S);
    self->head[k] = (self->head[k] + 1) % n;
    self->count[k]--;
}

int nstep_push(nstep_t *self, const vec_env_step_t *step, transition_batch_t *out, int *env, bool *last) {
    int n = self->n, S = self->S, A = self->A, before = out->n;
    MPO_ASSERT(step->t.n == self->K);
    for (int k = 0; k < self->K; k++) {
        int slot = k * n + (self->head[k] + self->count[k]) % n;
        memcpy(self->obs + (size_t)slot * S, step->t.obs + (size_t)k * S, sizeof(float) * S);
        memcpy(self->action + (size_t)slot * A, step->t.action + (size_t)k * A, sizeof(float) * A);
        self->reward[slot] = step->t.reward[k];
        self->count[k]++;
        const float *next = step->t.next_obs + (size_t)k * S;
        float done = step->t.done[k];
        int first = out->n;
        if (self->count[k] == n)
            s_emit(self, k, next, done, out);
        bool ended = done != 0.0f || (step->ended && step->ended[k]);
        while (ended && self->count[k] > 0) /* the episode ended: every window still open ends here */
            s_emit(self, k, next, done, out);
        for (int r = first; r < out->n; r++) {
            if (env)
                env[r - before] = k;
            if (last)
                last[r - before] = ended && r == out->n - 1;
        }
    }
    return out->n - before;
}
