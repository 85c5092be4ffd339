/* mpo_views: what learner/mpo.h and learner/mpo_inspect.h show of the learner's state, and the
 * FLOPs of its update */
#include <stdbool.h>

#include "learner/mpo.h"
#include "learner/mpo_inspect.h"
#include "learner/mpo_internal.h"

mpo_inspect_t mpo_inspect(const mpo_t *self) {
    mpo_inspect_t v = {.y = self->y, .eps = self->eps, .u = self->u, .a = self->a, .q = self->q, .w = self->w,
                       .eps_next = self->eps_next, .u_next = self->u_next, .a_next = self->a_next,
                       .mu_t = self->mu_t, .sigma_t = self->sigma_t, .n_samples = self->N,
                       .critic_samples = self->M, .gamma_n = self->gamma};
    return v;
}

const mlp_t *mpo_actor_layout(const mpo_t *self) { return &self->actor; }
const float *mpo_actor_params(const mpo_t *self) { return self->params; }
size_t mpo_actor_floats(const mpo_t *self) { return self->n_actor; }
int64_t mpo_updates(const mpo_t *self) { return self->updates; }
int mpo_threads(const mpo_t *self) { return pool_threads(self->pool); }

mpo_state_t mpo_state(mpo_t *self) {
    mpo_state_t st = {.obs_dim = self->S,
                      .act_dim = self->A,
                      .hidden = self->actor.sizes[1],
                      .layers = self->actor.n_layers - 1,
                      .policy = self->type,
                      .n_params = self->n_params,
                      .n_duals = (size_t)self->n_duals,
                      .params = self->params,
                      .target = self->target,
                      .adam_m = self->adam_m,
                      .adam_v = self->adam_v,
                      .duals = self->duals,
                      .dual_m = self->dual_m,
                      .dual_v = self->dual_v,
                      .updates = &self->updates,
                      .rng = &self->rng};
    return st;
}

static double s_split_flops(const mlp_t *c, int S_rows, int R, int state_dim) {
    int H = c->sizes[1], rows = S_rows * R;
    return 2.0 * S_rows * state_dim * H + 2.0 * rows * (c->sizes[0] - state_dim) * H +
           mlp_forward_flops(c, rows) - 2.0 * rows * c->sizes[0] * H;
}

/* backward: dW equals the forward's products; dinp of every layer but the first */
static double s_backward_flops(const mlp_t *n, int B) {
    return 2.0 * mlp_forward_flops(n, B) - 2.0 * B * n->sizes[0] * n->sizes[1];
}

double mpo_flops_per_update(const mpo_t *self, int B) {
    double f = mlp_forward_flops(&self->actor, 2 * B);                  /* target actor on s', s */
    f += 2 * s_split_flops(&self->critic, B, self->M, self->S);         /* target critics, y */
    f += 2 * (mlp_forward_flops(&self->critic, B) + s_backward_flops(&self->critic, B)); /* online critics */
    f += 2 * s_split_flops(&self->critic, B, self->N, self->S);         /* E-step */
    f += mlp_forward_flops(&self->actor, B) + s_backward_flops(&self->actor, B); /* M-step */
    return f;
}
