#include "nn/policy.h"

#include "common/fastmath.h"

#include <math.h>
#include <string.h>

int policy_type_parse(const char *name) {
    if (strcmp(name, "squashed") == 0)
        return POLICY_SQUASHED;
    if (strcmp(name, "gaussian") == 0)
        return POLICY_GAUSSIAN;
    return -1;
}

const char *policy_type_name(policy_type_t type) {
    return type == POLICY_GAUSSIAN ? "gaussian" : "squashed";
}

double policy_softplus_d(double x) { return x > 30.0 ? x : log1p(exp(x)); }
double policy_sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

void policy_head(float *mu, float *sigma, const float *out, int B, int A, float min_std) {
    for (int b = 0; b < B; b++)
        for (int k = 0; k < A; k++) {
            mu[b * A + k] = out[(size_t)b * 2 * A + k];
            sigma[b * A + k] = policy_softplus(out[(size_t)b * 2 * A + A + k]) + min_std;
        }
}

double policy_gaussian_log_prob(const float *u, const float *mu, const float *sigma, int A) {
    const double half_log_2pi = 0.91893853320467274178;
    double lp = 0;
    for (int k = 0; k < A; k++) {
        double z = ((double)u[k] - mu[k]) / sigma[k];
        lp += -0.5 * z * z - log((double)sigma[k]) - half_log_2pi;
    }
    return lp;
}

void policy_sample(float *u, float *a, const float *mu, const float *sigma, const float *eps, int B,
                   int R, int A, policy_type_t type) {
    for (int b = 0; b < B; b++)
        for (int r = 0; r < R; r++) {
            size_t row = ((size_t)b * R + r) * A;
            for (int k = 0; k < A; k++)
                u[row + k] = mu[b * A + k] + sigma[b * A + k] * eps[row + k];
        }
    size_t n = (size_t)B * R * A;
    if (type == POLICY_SQUASHED) /* one flat loop, so that it vectorises (common/fastmath.h) */
        for (size_t i = 0; i < n; i++)
            a[i] = fm_tanh(u[i]);
    else
        memcpy(a, u, n * sizeof *a);
}

void policy_to_env(float *env_action, const float *a, const float *low, const float *high, int A) {
    for (int k = 0; k < A; k++) {
        float x = low[k] + (a[k] + 1.0f) * 0.5f * (high[k] - low[k]);
        env_action[k] = x < low[k] ? low[k] : x > high[k] ? high[k] : x;
    }
}

void policy_from_env(float *a, const float *env_action, const float *low, const float *high, int A) {
    for (int k = 0; k < A; k++)
        a[k] = 2.0f * (env_action[k] - low[k]) / (high[k] - low[k]) - 1.0f;
}

void policy_act(float *action, const mlp_t *net, const float *params, const float *obs, int K,
                policy_type_t type, float min_std, bool deterministic, rng_t *rng, float *acts) {
    int A = net->sizes[net->n_layers] / 2;
    mlp_forward(net, acts, params, obs, K);
    const float *out = mlp_output(net, acts, K);
    for (int i = 0; i < K; i++)
        for (int k = 0; k < A; k++) {
            float mu = out[(size_t)i * 2 * A + k];
            float x = mu;
            if (!deterministic) {
                float sigma = policy_softplus(out[(size_t)i * 2 * A + A + k]) + min_std;
                x = mu + sigma * (float)rng_normal(rng);
            }
            action[(size_t)i * A + k] = type == POLICY_SQUASHED ? tanhf(x) : x;
        }
}
