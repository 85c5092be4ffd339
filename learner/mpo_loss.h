/* mpo_loss: the pieces of the MPO update as pure functions of arrays, so each can be checked on
 * hand-worked cases and by finite differences (docs/algorithm.md, "One update", has the formulas).
 * B states, N action samples per state, A action dimensions; arrays row-major. */
#ifndef MPO_LOSS_H
#define MPO_LOSS_H

/* Critic: L = mean_b [(q1_b - y_b)^2 + (q2_b - y_b)^2]; dq1, dq2 (B) = dL/dq. Returns L. */
double mpo_critic_loss(float *dq1, float *dq2, const float *q1, const float *q2, const float *y, int B);
/* One critic's part of it: dq (B) = 2 (q - y) / B, and the sum over the batch of (q - y)^2 (the
 * update runs the two critics on two threads; loss = (sse1 + sse2) / B) */
double mpo_critic_grad(float *dq, const float *q, const float *y, int B);

/* E-step weights: w (B, N) = softmax_i(q_{b,i} / eta) per state. Returns the mean over states of
 * KL(w_b || uniform), the quantity the temperature dual holds at epsilon. */
double mpo_estep_weights(float *w, const float *q, int B, int N, double eta);

/* Temperature dual g(eta) = eta*eps + eta * mean_b [logsumexp_i(q_{b,i}/eta) - log N], and its
 * derivative dg/deta = eps - mean_b KL(w_b || uniform) written to *dg_deta. Returns g. */
double mpo_temperature_dual(double *dg_deta, const float *q, int B, int N, double eta, double epsilon);

/* Decoupled KLs per action dimension k over B states (online mu, sigma; target mu_t, sigma_t):
 * kl_mean[k] = mean_b (mu - mu_t)^2 / (2 sigma_t^2)
 * kl_std[k]  = mean_b [log(sigma / sigma_t) + sigma_t^2 / (2 sigma^2) - 1/2] */
void mpo_kl_decoupled(double *kl_mean, double *kl_std, const float *mu, const float *sigma,
                      const float *mu_t, const float *sigma_t, int B, int A);

/* M-step policy loss
 *   L = - mean_b sum_i w_{b,i} [log N(u_{b,i}; mu_b, sigma_t_b) + log N(u_{b,i}; mu_t_b, sigma_b)]
 *       + sum_k alpha_mean[k] * kl_mean[k] + sum_k alpha_std[k] * kl_std[k]
 * with the alphas held fixed (stop-gradient). w (B, N), u (B*N, A), the rest (B, A).
 * Writes dmu, dsigma (B, A) = dL/dmu, dL/dsigma and kl_mean, kl_std (A). Returns L. */
double mpo_mstep_loss(float *dmu, float *dsigma, double *kl_mean, double *kl_std, const float *w,
                      const float *u, const float *mu, const float *sigma, const float *mu_t,
                      const float *sigma_t, const double *alpha_mean, const double *alpha_std, int B,
                      int N, int A);

#endif
