#include "learner/mpo.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/pool.h"
#include "learner/mpo_inspect.h"
#include "learner/mpo_internal.h"
#include "learner/mpo_loss.h"
#include "nn/optim.h"

#define DUAL_MIN (-18.0f) /* free parameters of the duals are clamped below here */
/* The update's tasks are cut the same way at every thread count (so the bits do not depend on it):
 * the target actor in 2 row slices, each target critic's scoring in 4 slices of the batch's states
 * (8 tasks: enough for 8 threads; mlp_forward_split multiplies 256-row chunks in either case). */
#define TARGET_ACTOR_SLICES 2
#define SPLIT_SLICES 4
#define SPLIT_TASKS (2 * SPLIT_SLICES)
/* the samples are drawn in slices of states too, each slice from its own stream seeded by one draw
 * of the learner's generator per update: SAMPLE_SLICES for the E-step, one for the critic target */
#define SAMPLE_SLICES 4
#define SAMPLE_TASKS (SAMPLE_SLICES + 1)


#define MPO_METRIC_ROW(name, unit, help) {#name, unit, help, offsetof(mpo_metrics_t, name)},
static const mpo_metric_info_t s_metric_info[] = {MPO_METRICS(MPO_METRIC_ROW)};

const mpo_metric_info_t *mpo_metric_info(size_t *count) {
    *count = sizeof s_metric_info / sizeof s_metric_info[0];
    return s_metric_info;
}

/* a size the update is not built for: the reason, or NULL */
static const char *s_check_params(const mpo_params_t *p) {
    if (p->obs_dim < 1 || p->obs_dim > ENV_MAX_OBS)
        return "obs_dim out of range";
    if (p->act_dim < 1 || p->act_dim > ENV_MAX_ACT)
        return "act_dim out of range";
    if (p->hidden < 1 || p->hidden > CONFIG_HIDDEN_MAX)
        return "hidden out of range";
    if (p->batch_size < 1 || p->n_samples < 1 || p->critic_samples < 1)
        return "batch_size, n_action_samples and critic_action_samples must be at least 1";
    if (p->policy != POLICY_SQUASHED && p->policy != POLICY_GAUSSIAN)
        return "unknown policy type";
    return NULL;
}

/* Every view starts on a cache line: the widest SIMD loads (AVX-512) never straddle two. */
#define S_ALIGN_FLOATS 16

/* one float buffer of the learner: its name (for the out-of-memory reason), the struct member that
 * views it, and its length */
typedef struct {
    const char *name;
    float **view;
    size_t floats;
} s_buffer_t;

#define S_BUF(member, n) {#member, &self->member, (n)}

/* Point every buffer of the table into one zeroed allocation. 0, or -MPO_ENOMEM with the total. */
static int s_allocate(mpo_t *self, char *err, size_t errlen) {
    size_t S = (size_t)self->S, A = (size_t)self->A, B = (size_t)self->B, N = (size_t)self->N,
           M = (size_t)self->M, P = self->n_params, D = (size_t)self->n_duals;
    size_t width = (size_t)(self->actor.max_width > self->critic.max_width ? self->actor.max_width
                                                                            : self->critic.max_width);
    const s_buffer_t table[] = {
        S_BUF(params, P), S_BUF(grads, P), S_BUF(adam_m, P), S_BUF(adam_v, P), S_BUF(target, P),
        S_BUF(duals, D), S_BUF(dual_grads, D), S_BUF(dual_m, D), S_BUF(dual_v, D),
        S_BUF(xsa, B * (S + A)),
        S_BUF(tgt_in, 2 * B * S),
        S_BUF(tgt_acts, mlp_acts_floats(&self->actor, 2 * (int)B)),
        S_BUF(mu_t, 2 * B * A), S_BUF(sigma_t, 2 * B * A),
        S_BUF(eps, B * N * A), S_BUF(eps_next, B * M * A),
        S_BUF(u, B * N * A), S_BUF(a, B * N * A),
        S_BUF(u_next, B * M * A), S_BUF(a_next, B * M * A), S_BUF(q_next, B * M), S_BUF(q_next2, B * M),
        S_BUF(split_scratch, SPLIT_TASKS * self->split_scratch_floats),
        S_BUF(q, B * N), S_BUF(q_other, B * N), S_BUF(y, B),
        S_BUF(q1_acts, mlp_acts_floats(&self->critic, (int)B)), S_BUF(q2_acts, mlp_acts_floats(&self->critic, (int)B)),
        S_BUF(dq1, B), S_BUF(dq2, B),
        S_BUF(w, B * N), S_BUF(w_pen, B * N), S_BUF(cost, B * N),
        S_BUF(actor_acts, mlp_acts_floats(&self->actor, (int)B)), S_BUF(dactor, B * 2 * A),
        S_BUF(mu, B * A), S_BUF(sigma, B * A), S_BUF(dmu, B * A), S_BUF(dsigma, B * A),
        S_BUF(scratch, 3 * self->scratch_floats),
    };
    (void)width;
    const size_t n = sizeof table / sizeof table[0];
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (table[i].floats + S_ALIGN_FLOATS - 1) / S_ALIGN_FLOATS * S_ALIGN_FLOATS;
    void *block = NULL;
    if (posix_memalign(&block, S_ALIGN_FLOATS * sizeof(float), (total ? total : 1) * sizeof(float)) != 0) {
        snprintf(err, errlen, "out of memory for the learner's buffers (%.1f MiB)",
                 (double)total * sizeof(float) / (1 << 20));
        return -MPO_ENOMEM;
    }
    memset(block, 0, total * sizeof(float));
    self->block = block;
    float *at = self->block;
    for (size_t i = 0; i < n; i++) {
        *table[i].view = at;
        at += (table[i].floats + S_ALIGN_FLOATS - 1) / S_ALIGN_FLOATS * S_ALIGN_FLOATS;
    }
    return 0;
}

mpo_t *mpo_new(const mpo_params_t *p, char *err, size_t errlen) {
    const char *bad = s_check_params(p);
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return NULL;
    }
    mpo_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int S = self->S = p->obs_dim, A = self->A = p->act_dim;
    self->B = p->batch_size;
    self->N = p->n_samples;
    self->M = p->critic_samples;
    self->type = p->policy;
    memcpy(self->act_low, p->act_low, sizeof self->act_low);
    memcpy(self->act_high, p->act_high, sizeof self->act_high);
    self->min_std = (float)p->min_std;
    /* the discount of the bootstrap: transitions of n steps carry their own discounted reward sum */
    self->gamma = (float)pow(p->gamma, p->n_step > 1 ? p->n_step : 1);
    self->target_update_period = p->target_update_period > 0 ? p->target_update_period : 0;
    self->tau = self->target_update_period ? 0.0f : (float)p->tau;
    self->grad_clip = (float)p->grad_clip;
    self->epsilon = p->epsilon;
    self->epsilon_mean = p->epsilon_mean;
    self->epsilon_stddev = p->epsilon_stddev;
    self->epsilon_penalty = p->epsilon_penalty;
    self->adam = adam_defaults((float)p->learning_rate);
    self->dual_adam = adam_defaults((float)p->dual_lr);
    rng_seed(&self->rng, p->seed ^ 0x6d706f6c6561726eULL); /* "mpolearn" */

    if (mlp_init(&self->actor, S, p->hidden, p->layers, 2 * A) ||
        mlp_init_ln(&self->critic, S + A, p->hidden, p->layers, 1, p->critic_layer_norm)) {
        snprintf(err, errlen, "layers %d out of range", p->layers);
        free(self);
        return NULL;
    }
    self->n_actor = self->actor.n_params;
    self->n_critic = self->critic.n_params;
    self->q1_off = self->n_actor;
    self->q2_off = self->n_actor + self->n_critic;
    self->n_params = self->n_actor + 2 * self->n_critic;
    self->n_duals = 2 + 2 * A;
    int width = self->actor.max_width > self->critic.max_width ? self->actor.max_width : self->critic.max_width;
    self->scratch_floats = (2 * (size_t)self->B * (size_t)width + S_ALIGN_FLOATS - 1) / S_ALIGN_FLOATS * S_ALIGN_FLOATS;
    self->split_scratch_floats = (mlp_split_scratch_floats(&self->critic, self->B) + S_ALIGN_FLOATS - 1) /
                                 S_ALIGN_FLOATS * S_ALIGN_FLOATS;
    if (s_allocate(self, err, errlen) != 0) {
        free(self);
        return NULL;
    }
    /* the update's own threads; BLAS runs on whichever thread calls it */
    int threads = p->threads > 0 ? p->threads : 1;
    openblas_set_num_threads(1);
    self->pool = pool_new(threads, err, errlen);
    if (!self->pool) {
        mpo_destroy(&self);
        return NULL;
    }

    mlp_init_params(&self->actor, self->params, &self->rng);
    if (p->init_stddev > p->min_std) {
        /* the sigma half of the last layer's biases at softplus^-1(init_stddev - min_std); the
         * weights' random part stays, so sigma varies a little from state to state as before */
        float *b = self->params + self->actor.b_off[self->actor.n_layers - 1] + A;
        float raw = (float)log(expm1(p->init_stddev - p->min_std));
        for (int k = 0; k < A; k++)
            b[k] = raw;
    }
    mlp_init_params(&self->critic, self->params + self->q1_off, &self->rng);
    mlp_init_params(&self->critic, self->params + self->q2_off, &self->rng);
    memcpy(self->target, self->params, self->n_params * sizeof(float));
    self->duals[0] = (float)p->init_log_temperature;
    self->duals[1] = (float)p->init_log_temperature;
    for (int k = 0; k < A; k++) {
        self->duals[2 + k] = (float)p->init_log_alpha_mean;
        self->duals[2 + A + k] = (float)p->init_log_alpha_stddev;
    }
    return self;
}

void mpo_destroy(mpo_t **self_p) {
    if (!self_p || !*self_p)
        return;
    pool_destroy(&(*self_p)->pool);
    free((*self_p)->block);
    free(*self_p);
    *self_p = NULL;
}

static double s_dual(const mpo_t *self, int i) { return policy_softplus_d(self->duals[i]) + 1e-8; }

/* ---------------------------------------------------------------- the update's tasks
 *
 * One update is five runs of the pool:
 *   1. the target actor on [next_obs; obs], in row slices;
 *   2. the samples: the E-step's u ~ pi'(s) in slices of states, the critic target's a' ~ pi'(s');
 *   3. the target critics: each critic scores the E-step's samples and the critic target's samples,
 *      its batch of states cut in SPLIT_SLICES slices (the bulk of the update's FLOPs);
 *   4. three independent steps: the whole policy step (E-step weights, duals, M-step, Adam) and
 *      critic 1 and critic 2 (forward, loss gradient, backward, sum of squares of the gradient);
 *   5. clipping, Adam and Polyak of each critic with the norm of both, and the policy's Adam steps
 *      (the actor's with Polyak, the duals'), only when every loss, norm and dual gradient is
 *      finite.
 * Every random number comes from streams seeded by one draw of the learner's generator per update,
 * one stream per slice of the samples, so they too are the same at any thread count. */

typedef struct {
    mpo_t *self;
    const transition_batch_t *batch;
    mpo_metrics_t *m;
    double sse[2], ss[2]; /* per critic: sum of squared errors, of squared gradients */
    float clip;
    uint64_t sample_seed;
} s_update_t;

/* Slice `task` of the samples: E-step u ~ pi'(s) (N per state) for tasks 0..SAMPLE_SLICES-1, the
 * critic target's a' ~ pi'(s') (M per state) for the last */
static void s_task_sample(void *ctx, int task) {
    s_update_t *u = ctx;
    mpo_t *self = u->self;
    int B = u->batch->n, A = self->A;
    rng_t rng;
    rng_seed(&rng, u->sample_seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(task + 1)));
    if (task == SAMPLE_SLICES) {
        int M = self->M;
        rng_normal_fill(&rng, self->eps_next, B * M * A);
        policy_sample(self->u_next, self->a_next, self->mu_t, self->sigma_t, self->eps_next, B, M, A, self->type);
        return;
    }
    int N = self->N, s0 = B * task / SAMPLE_SLICES, s1 = B * (task + 1) / SAMPLE_SLICES;
    size_t o = (size_t)s0 * N * A;
    rng_normal_fill(&rng, self->eps + o, (s1 - s0) * N * A);
    policy_sample(self->u + o, self->a + o, self->mu_t + (size_t)(B + s0) * A, self->sigma_t + (size_t)(B + s0) * A,
                  self->eps + o, s1 - s0, N, A, self->type);
}

static void s_task_target_actor(void *ctx, int task) {
    s_update_t *u = ctx;
    mpo_t *self = u->self;
    int rows = 2 * u->batch->n;
    int r0 = rows * task / TARGET_ACTOR_SLICES, r1 = rows * (task + 1) / TARGET_ACTOR_SLICES;
    /* each slice has its own rows of the activation cache: mlp_forward is row-wise */
    mlp_forward_rows(&self->actor, self->tgt_acts, self->target, self->tgt_in + (size_t)r0 * self->S, rows, r0,
                     r1 - r0);
    int A = self->A;
    const float *out = mlp_output(&self->actor, self->tgt_acts, rows);
    policy_head(self->mu_t + (size_t)r0 * A, self->sigma_t + (size_t)r0 * A, out + (size_t)r0 * 2 * A, r1 - r0, A,
                self->min_std);
}

static void s_task_target_critic(void *ctx, int task) {
    s_update_t *u = ctx;
    mpo_t *self = u->self;
    const transition_batch_t *batch = u->batch;
    int B = batch->n, S = self->S, A = self->A, N = self->N, M = self->M;
    int critic = task % 2, slice = task / 2;
    int s0 = B * slice / SPLIT_SLICES, s1 = B * (slice + 1) / SPLIT_SLICES;
    if (s1 <= s0)
        return;
    const float *params = self->target + (critic ? self->q2_off : self->q1_off);
    float *scratch = self->split_scratch + (size_t)task * self->split_scratch_floats;
    float *q = critic ? self->q_other : self->q, *qn = critic ? self->q_next2 : self->q_next;
    mlp_forward_split(&self->critic, q + (size_t)s0 * N, scratch, params, batch->obs + (size_t)s0 * S, S,
                      self->a + (size_t)s0 * N * A, s1 - s0, N);
    mlp_forward_split(&self->critic, qn + (size_t)s0 * M, scratch, params, batch->next_obs + (size_t)s0 * S, S,
                      self->a_next + (size_t)s0 * M * A, s1 - s0, M);
}

/* 4. Critic k: clipped double-Q regression on y, its gradient into its part of grads */
static void s_critic_gradient(s_update_t *u, int k) {
    mpo_t *self = u->self;
    int B = u->batch->n;
    float *p = self->params + (k ? self->q2_off : self->q1_off), *g = self->grads + (k ? self->q2_off : self->q1_off);
    float *acts = k ? self->q2_acts : self->q1_acts, *dq = k ? self->dq2 : self->dq1;
    mlp_forward(&self->critic, acts, p, self->xsa, B);
    u->sse[k] = mpo_critic_grad(dq, mlp_output(&self->critic, acts, B), self->y, B);
    memset(g, 0, self->n_critic * sizeof(float));
    mlp_backward(&self->critic, NULL, g, dq, self->xsa, acts, p, self->scratch + (size_t)k * self->scratch_floats, B);
    u->ss[k] = grad_sum_squares(g, self->n_critic);
}

static void s_policy_step(mpo_t *self, const transition_batch_t *batch, mpo_metrics_t *m, float *scratch);

/* the policy step first: it is the longest, and the two critics then share the other threads */
static void s_task_steps(void *ctx, int task) {
    s_update_t *u = ctx;
    if (task > 0)
        s_critic_gradient(u, task - 1);
    else
        s_policy_step(u->self, u->batch, u->m, u->self->scratch + 2 * u->self->scratch_floats);
}

static void s_policy_apply(mpo_t *self, const mpo_metrics_t *m);

/* 5. clip, Adam and Polyak of critic k in one pass: nothing reads the target critics after this
 * (they scored their samples in run 3); task 2 is the policy's Adam steps */
static void s_task_critic_adam(void *ctx, int k) {
    s_update_t *u = ctx;
    mpo_t *self = u->self;
    if (k == 2) {
        s_policy_apply(self, u->m);
        return;
    }
    size_t off = k ? self->q2_off : self->q1_off;
    adam_polyak_step(self->params + off, self->adam_m + off, self->adam_v + off, self->grads + off, u->clip,
                     self->target + off, self->tau, self->n_critic, &self->adam, self->updates + 1);
}

/* Action-penalty cost of a sample (gaussian policy): -|a_env - clip(a_env)|, a_env unclipped */
static float s_penalty_cost(const mpo_t *self, const float *u) {
    double s = 0;
    for (int k = 0; k < self->A; k++) {
        float lo = self->act_low[k], hi = self->act_high[k];
        float x = lo + (u[k] + 1.0f) * 0.5f * (hi - lo);
        float c = x < lo ? lo : x > hi ? hi : x;
        s += (double)(x - c) * (x - c);
    }
    return (float)-sqrt(s);
}

/* sigma of the online policy on the batch, and in action units: the squashed policy's action
 * moves by sigma * (1 - tanh(mu)^2) * (high - low) / 2 for a small step of u, the gaussian's by
 * sigma * (high - low) / 2 */
static void s_sigma_metrics(const mpo_t *self, mpo_metrics_t *m, int B) {
    int A = self->A;
    double sum = 0, lo = INFINITY, hi = 0, act = 0;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < A; k++) {
            double s = self->sigma[(size_t)b * A + k], half = 0.5 * (self->act_high[k] - self->act_low[k]);
            double slope = 1;
            if (self->type == POLICY_SQUASHED) {
                double t = tanh(self->mu[(size_t)b * A + k]);
                slope = 1 - t * t;
            }
            sum += s;
            lo = s < lo ? s : lo;
            hi = s > hi ? s : hi;
            act += s * slope * half;
        }
    m->sigma_mean = sum / ((double)B * A);
    m->sigma_min = lo;
    m->sigma_max = hi;
    m->sigma_action = act / ((double)B * A);
}

/* The M-step loss of the actor at params on the E-step's weighted samples (self->w, u, the target
 * policy's mu_t and sigma_t), and its gradient into g (n_actor, overwritten); the KLs and the alphas
 * it used. Leaves the online policy's mu and sigma on the batch in self->mu, self->sigma. */
static double s_mstep_gradient(mpo_t *self, const float *params, const transition_batch_t *batch, float *g,
                               float *scratch, double *kl_mean, double *kl_std, double *alpha_mean,
                               double *alpha_std) {
    int B = batch->n, A = self->A, N = self->N;
    const float *mu_t = self->mu_t + (size_t)B * A, *sigma_t = self->sigma_t + (size_t)B * A;
    mlp_forward(&self->actor, self->actor_acts, params, batch->obs, B);
    const float *out = mlp_output(&self->actor, self->actor_acts, B);
    policy_head(self->mu, self->sigma, out, B, A, self->min_std);
    for (int k = 0; k < A; k++) {
        alpha_mean[k] = s_dual(self, 2 + k);
        alpha_std[k] = s_dual(self, 2 + A + k);
    }
    double loss = mpo_mstep_loss(self->dmu, self->dsigma, kl_mean, kl_std, self->w, self->u, self->mu, self->sigma,
                                 mu_t, sigma_t, alpha_mean, alpha_std, B, N, A);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < A; k++) {
            size_t j = (size_t)b * A + k;
            self->dactor[(size_t)b * 2 * A + k] = self->dmu[j];
            /* sigma = softplus(raw) + min_std */
            self->dactor[(size_t)b * 2 * A + A + k] = self->dsigma[j] * policy_sigmoid(out[(size_t)b * 2 * A + A + k]);
        }
    memset(g, 0, self->n_actor * sizeof(float));
    mlp_backward(&self->actor, NULL, g, self->dactor, batch->obs, self->actor_acts, params, scratch, B);
    return loss;
}

double mpo_actor_loss_grad(mpo_t *self, const float *actor_params, const transition_batch_t *batch, float *grad) {
    double km[ENV_MAX_ACT], ks[ENV_MAX_ACT], am[ENV_MAX_ACT], as[ENV_MAX_ACT];
    return s_mstep_gradient(self, actor_params, batch, grad, self->scratch, km, ks, am, as);
}


/* 4. The policy step: E-step weights, temperature dual, decoupled M-step and its duals */
static void s_policy_step(mpo_t *self, const transition_batch_t *batch, mpo_metrics_t *m, float *scratch) {
    int B = batch->n, A = self->A, N = self->N;
    double eta = s_dual(self, 0);
    m->temperature = eta;
    m->kl_estep = mpo_estep_weights(self->w, self->q, B, N, eta);
    double dg;
    mpo_temperature_dual(&dg, self->q, B, N, eta, self->epsilon);
    memset(self->dual_grads, 0, self->n_duals * sizeof(float));
    self->dual_grads[0] = (float)(dg * policy_sigmoid_d(self->duals[0]));
    double wmax = 0;
    for (int b = 0; b < B; b++) {
        float mx = 0;
        for (int i = 0; i < N; i++)
            mx = self->w[b * N + i] > mx ? self->w[b * N + i] : mx;
        wmax += mx;
    }
    m->max_weight = wmax / B;
    m->temperature_penalty = 0;
    if (self->type == POLICY_GAUSSIAN) {
        /* MO-MPO: a second objective with its own temperature; its weights add to the Q weights */
        double eta_p = s_dual(self, 1);
        m->temperature_penalty = eta_p;
        for (int r = 0; r < B * N; r++)
            self->cost[r] = s_penalty_cost(self, self->u + (size_t)r * A);
        mpo_estep_weights(self->w_pen, self->cost, B, N, eta_p);
        double dgp;
        mpo_temperature_dual(&dgp, self->cost, B, N, eta_p, self->epsilon_penalty);
        self->dual_grads[1] = (float)(dgp * policy_sigmoid_d(self->duals[1]));
        for (int r = 0; r < B * N; r++)
            self->w[r] += self->w_pen[r];
    }

    /* M-step */
    double alpha_mean[ENV_MAX_ACT], alpha_std[ENV_MAX_ACT], kl_mean[ENV_MAX_ACT], kl_std[ENV_MAX_ACT];
    float *g = self->grads;
    m->policy_loss = s_mstep_gradient(self, self->params, batch, g, scratch, kl_mean, kl_std, alpha_mean, alpha_std);
    s_sigma_metrics(self, m, B);
    m->actor_grad_norm = grad_norm(g, self->n_actor);

    /* KL duals: loss sum_k alpha_k (eps - sg(KL_k)), so dL/dalpha_k = eps - KL_k */
    double am = 0, as = 0, km = 0, ks = 0;
    for (int k = 0; k < A; k++) {
        self->dual_grads[2 + k] = (float)((self->epsilon_mean - kl_mean[k]) * policy_sigmoid_d(self->duals[2 + k]));
        self->dual_grads[2 + A + k] =
            (float)((self->epsilon_stddev - kl_std[k]) * policy_sigmoid_d(self->duals[2 + A + k]));
        am += alpha_mean[k];
        as += alpha_std[k];
        km += kl_mean[k];
        ks += kl_std[k];
    }
    m->alpha_mean = am / A;
    m->alpha_stddev = as / A;
    m->kl_mean = km / A;
    m->kl_stddev = ks / A;
}

/* 5. the policy step's Adam steps, once the whole update is known to be finite: the actor's (with
 * Polyak of the target actor) and the duals' */
static void s_policy_apply(mpo_t *self, const mpo_metrics_t *m) {
    adam_polyak_step(self->params, self->adam_m, self->adam_v, self->grads,
                     grad_clip_scale(m->actor_grad_norm, self->grad_clip), self->target, self->tau, self->n_actor,
                     &self->adam, self->updates + 1);
    adam_step(self->duals, self->dual_m, self->dual_v, self->dual_grads, self->n_duals, &self->dual_adam,
              self->updates + 1);
    for (int i = 0; i < self->n_duals; i++)
        if (self->duals[i] < DUAL_MIN)
            self->duals[i] = DUAL_MIN;
}

/* every figure the update's steps use: a NaN or an infinity anywhere (an extreme batch, a
 * diverged critic) shows in a loss, a gradient norm or a dual's gradient */
static bool s_update_finite(const mpo_t *self, const mpo_metrics_t *m) {
    if (!isfinite(m->critic_loss) || !isfinite(m->policy_loss) || !isfinite(m->critic_grad_norm) ||
        !isfinite(m->actor_grad_norm) || !isfinite(m->q_mean))
        return false;
    for (int i = 0; i < self->n_duals; i++)
        if (!isfinite(self->dual_grads[i]))
            return false;
    return true;
}

int mpo_update(mpo_t *self, const transition_batch_t *batch, mpo_metrics_t *metrics) {
    int B = batch->n, S = self->S, A = self->A, N = self->N, M = self->M;
    mpo_metrics_t m;
    memset(&m, 0, sizeof m);
    s_update_t u = {.self = self, .batch = batch, .m = &m};
    /* 1. the target actor on [next_obs; obs] in row slices: the critic target and the E-step need it */
    memcpy(self->tgt_in, batch->next_obs, (size_t)B * S * sizeof(float));
    memcpy(self->tgt_in + (size_t)B * S, batch->obs, (size_t)B * S * sizeof(float));
    pool_run(self->pool, TARGET_ACTOR_SLICES, s_task_target_actor, &u);

    /* 2-3. the samples: E-step u ~ pi'(s) (N per state), critic target a' ~ pi'(s') (M per state),
     * scored by both target critics. The targets change only by Polyak at the end of each
     * network's step, so scoring first lets each step fold Polyak into its Adam pass. */
    u.sample_seed = rng_next(&self->rng);
    pool_run(self->pool, SAMPLE_TASKS, s_task_sample, &u);
    pool_run(self->pool, SPLIT_TASKS, s_task_target_critic, &u);
    for (int i = 0; i < B * N; i++)
        self->q[i] = self->q[i] < self->q_other[i] ? self->q[i] : self->q_other[i];
    for (int i = 0; i < B * M; i++)
        self->q_next[i] = self->q_next[i] < self->q_next2[i] ? self->q_next[i] : self->q_next2[i];

    /* y = r + gamma^n (1 - d) mean_j min Q'(s', a'_j) (self->gamma holds gamma^n_step); the critics'
     * input [obs | action] */
    for (int b = 0; b < B; b++) {
        double mean = 0;
        for (int j = 0; j < M; j++)
            mean += self->q_next[b * M + j];
        mean /= M;
        self->y[b] = (float)(batch->reward[b] + self->gamma * (1.0 - batch->done[b]) * mean);
        memcpy(self->xsa + (size_t)b * (S + A), batch->obs + (size_t)b * S, S * sizeof(float));
        memcpy(self->xsa + (size_t)b * (S + A) + S, batch->action + (size_t)b * A, A * sizeof(float));
    }

    /* 4. the policy step and the two critics' gradients, side by side */
    pool_run(self->pool, 3, s_task_steps, &u);
    m.critic_loss = (u.sse[0] + u.sse[1]) / B;
    const float *q1 = mlp_output(&self->critic, self->q1_acts, B), *q2 = mlp_output(&self->critic, self->q2_acts, B);
    double qm = 0;
    for (int b = 0; b < B; b++)
        qm += 0.5 * ((double)q1[b] + q2[b]);
    m.q_mean = qm / B;

    /* 5. one norm for both critics, then each critic's Adam and Polyak and the policy's Adam steps;
     * none of them when anything is not finite: the networks, targets, moments and duals stay as
     * they were */
    m.critic_grad_norm = sqrt(u.ss[0] + u.ss[1]);
    u.clip = grad_clip_scale(m.critic_grad_norm, self->grad_clip);
    if (metrics)
        *metrics = m;
    if (!s_update_finite(self, &m))
        return -MPO_EINVAL;
    pool_run(self->pool, 3, s_task_critic_adam, &u);
    self->updates++;
    /* Acme's alternative to Polyak: the E-step samples from a target that is at most a period old */
    if (self->target_update_period && self->updates % self->target_update_period == 0)
        memcpy(self->target, self->params, self->n_params * sizeof(float));
    return 0;
}

bool mpo_params_finite(const mpo_t *self) {
    for (size_t i = 0; i < self->n_params; i++)
        if (!isfinite(self->params[i]) || !isfinite(self->target[i]))
            return false;
    for (int i = 0; i < self->n_duals; i++)
        if (!isfinite(self->duals[i]))
            return false;
    return true;
}

void mpo_act(mpo_t *self, float *action, const float *obs, int K, bool deterministic, rng_t *rng) {
    /* the actor cache holds batch_size rows; act in chunks of that */
    for (int i = 0; i < K; i += self->B) {
        int k = K - i < self->B ? K - i : self->B;
        policy_act(action + (size_t)i * self->A, &self->actor, self->params, obs + (size_t)i * self->S, k,
                   self->type, self->min_std, deterministic, rng, self->actor_acts);
    }
}
