#include "nn/optim.h"

#include <math.h>

#include "nn/simd.h"

adam_config_t adam_defaults(float lr) {
    return (adam_config_t){.lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
}

MPO_SIMD_CLONES
double grad_norm(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return sqrt(s);
}

float grad_clip_scale(double norm, double max_norm) {
    return max_norm > 0 && norm > max_norm ? (float)(max_norm / (norm + 1e-6)) : 1.0f;
}

MPO_SIMD_CLONES
void adam_polyak_step(float *restrict p, float *restrict m, float *restrict v, const float *restrict g, float g_scale,
                      float *restrict target, float tau, size_t n, const adam_config_t *cfg, int64_t t) {
    float b1 = cfg->beta1, b2 = cfg->beta2;
    /* bias corrections folded into the step size, as PyTorch does */
    float bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
    float step = cfg->lr / bc1, bc2_sqrt = sqrtf(bc2);
    float eps = cfg->eps;
    /* two loops rather than a test per element, so each vectorises */
#define S_ADAM(i)                                                   \
    do {                                                            \
        float gi = g[i] * g_scale;                                  \
        m[i] = b1 * m[i] + (1.0f - b1) * gi;                        \
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;                   \
        p[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);       \
    } while (0)
    if (target)
        for (size_t i = 0; i < n; i++) {
            S_ADAM(i);
            target[i] += tau * (p[i] - target[i]);
        }
    else
        for (size_t i = 0; i < n; i++)
            S_ADAM(i);
#undef S_ADAM
}

void adam_step(float *p, float *m, float *v, const float *g, size_t n, const adam_config_t *cfg, int64_t t) {
    adam_polyak_step(p, m, v, g, 1.0f, NULL, 0.0f, n, cfg, t);
}
