#include "learner/mpo_loss.h"

#include <math.h>

#include "env/env.h"

double mpo_critic_loss(float *dq1, float *dq2, const float *q1, const float *q2, const float *y, int B) {
    double loss = 0;
    for (int b = 0; b < B; b++) {
        double e1 = (double)q1[b] - y[b], e2 = (double)q2[b] - y[b];
        loss += e1 * e1 + e2 * e2;
        dq1[b] = (float)(2.0 * e1 / B);
        dq2[b] = (float)(2.0 * e2 / B);
    }
    return loss / B;
}

double mpo_critic_grad(float *dq, const float *q, const float *y, int B) {
    double sse = 0;
    for (int b = 0; b < B; b++) {
        double e = (double)q[b] - y[b];
        sse += e * e;
        dq[b] = (float)(2.0 * e / B);
    }
    return sse;
}

/* logsumexp_i(q_i / eta) of one state, and optionally its softmax into w */
static double s_logsumexp(float *w, const float *q, int N, double eta) {
    double mx = -INFINITY;
    for (int i = 0; i < N; i++)
        if (q[i] / eta > mx)
            mx = q[i] / eta;
    double s = 0;
    for (int i = 0; i < N; i++)
        s += exp(q[i] / eta - mx);
    double lse = mx + log(s);
    if (w)
        for (int i = 0; i < N; i++)
            w[i] = (float)exp(q[i] / eta - lse);
    return lse;
}

/* KL(w || uniform) = sum_i w_i (q_i/eta - lse) + log N */
static double s_kl_uniform(const float *q, int N, double eta, double lse) {
    double kl = log((double)N);
    for (int i = 0; i < N; i++) {
        double lw = q[i] / eta - lse;
        kl += exp(lw) * lw;
    }
    return kl;
}

double mpo_estep_weights(float *w, const float *q, int B, int N, double eta) {
    double kl = 0;
    for (int b = 0; b < B; b++) {
        double lse = s_logsumexp(w + (size_t)b * N, q + (size_t)b * N, N, eta);
        kl += s_kl_uniform(q + (size_t)b * N, N, eta, lse);
    }
    return kl / B;
}

double mpo_temperature_dual(double *dg_deta, const float *q, int B, int N, double eta, double epsilon) {
    double mean_lse = 0, mean_kl = 0, log_n = log((double)N);
    for (int b = 0; b < B; b++) {
        double lse = s_logsumexp(NULL, q + (size_t)b * N, N, eta);
        mean_lse += lse - log_n;
        mean_kl += s_kl_uniform(q + (size_t)b * N, N, eta, lse);
    }
    mean_lse /= B;
    mean_kl /= B;
    if (dg_deta)
        *dg_deta = epsilon - mean_kl;
    return eta * epsilon + eta * mean_lse;
}

void mpo_kl_decoupled(double *kl_mean, double *kl_std, const float *mu, const float *sigma,
                      const float *mu_t, const float *sigma_t, int B, int A) {
    for (int k = 0; k < A; k++)
        kl_mean[k] = kl_std[k] = 0;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < A; k++) {
            size_t j = (size_t)b * A + k;
            double st2 = (double)sigma_t[j] * sigma_t[j], s = sigma[j];
            double dm = (double)mu[j] - mu_t[j];
            kl_mean[k] += dm * dm / (2.0 * st2);
            kl_std[k] += log(s / sigma_t[j]) + st2 / (2.0 * s * s) - 0.5;
        }
    for (int k = 0; k < A; k++) {
        kl_mean[k] /= B;
        kl_std[k] /= B;
    }
}

double mpo_mstep_loss(float *dmu, float *dsigma, double *kl_mean, double *kl_std, const float *w,
                      const float *u, const float *mu, const float *sigma, const float *mu_t,
                      const float *sigma_t, const double *alpha_mean, const double *alpha_std, int B,
                      int N, int A) {
    /* Per state, with W = sum_i w_i:
     *   -sum_i w_i [log N(u_i; mu, st) + log N(u_i; mu_t, s)]
     *     = sum_k [ sum_i w_i (u_i - mu)^2 / (2 st^2) + sum_i w_i (u_i - mu_t)^2 / (2 s^2)
     *               + W (log st + log s + log 2pi) ]
     * so the logs are taken once per state and dimension, not once per sample. */
    const double log_2pi = 1.83787706640934548356;
    double nll = 0;
    for (int b = 0; b < B; b++) {
        const float *mub = mu + (size_t)b * A, *sb = sigma + (size_t)b * A;
        const float *mutb = mu_t + (size_t)b * A, *stb = sigma_t + (size_t)b * A;
        double W = 0, sum_dm[ENV_MAX_ACT] = {0}, sum_dm2[ENV_MAX_ACT] = {0}, sum_dt2[ENV_MAX_ACT] = {0};
        for (int i = 0; i < N; i++) {
            double wi = w[(size_t)b * N + i];
            const float *ui = u + ((size_t)b * N + i) * A;
            W += wi;
            for (int k = 0; k < A; k++) {
                double dm = (double)ui[k] - mub[k], dt = (double)ui[k] - mutb[k];
                sum_dm[k] += wi * dm;
                sum_dm2[k] += wi * dm * dm;
                sum_dt2[k] += wi * dt * dt;
            }
        }
        for (int k = 0; k < A; k++) {
            double st = stb[k], s = sb[k];
            nll += sum_dm2[k] / (2.0 * st * st) + sum_dt2[k] / (2.0 * s * s) + W * (log(st) + log(s) + log_2pi);
            /* d/dmu of -log N(u; mu, st) = -(u - mu)/st^2 ; d/dsigma of -log N(u; mu_t, s) = 1/s - dt^2/s^3 */
            dmu[(size_t)b * A + k] = (float)(-sum_dm[k] / (st * st));
            dsigma[(size_t)b * A + k] = (float)(W / s - sum_dt2[k] / (s * s * s));
        }
    }
    mpo_kl_decoupled(kl_mean, kl_std, mu, sigma, mu_t, sigma_t, B, A);
    double loss = nll / B;
    for (int k = 0; k < A; k++)
        loss += alpha_mean[k] * kl_mean[k] + alpha_std[k] * kl_std[k];
    for (int b = 0; b < B; b++)
        for (int k = 0; k < A; k++) {
            size_t j = (size_t)b * A + k;
            double st = sigma_t[j], s = sigma[j];
            double dkl_mu = ((double)mu[j] - mu_t[j]) / (st * st);
            double dkl_s = 1.0 / s - st * st / (s * s * s);
            dmu[j] = (float)(dmu[j] / B + alpha_mean[k] * dkl_mu / B);
            dsigma[j] = (float)(dsigma[j] / B + alpha_std[k] * dkl_s / B);
        }
    return loss;
}
