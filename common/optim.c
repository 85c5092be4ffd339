#include "optim.h"

#include <math.h>

#include "simd.h"

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

double grad_clip(float *g, size_t n, double max_norm) {
    double norm = grad_norm(g, n);
    if (max_norm > 0 && norm > max_norm) {
        float scale = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < n; i++)
            g[i] *= scale;
    }
    return norm;
}

MPO_SIMD_CLONES
void adam_step(float *p, float *m, float *v, const float *g, size_t n, const adam_config_t *cfg, int64_t t) {
    float b1 = cfg->beta1, b2 = cfg->beta2;
    /* bias corrections folded into the step size, as PyTorch does */
    float bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
    float step = cfg->lr / bc1, bc2_sqrt = sqrtf(bc2);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + cfg->eps);
    }
}

MPO_SIMD_CLONES
void polyak_update(float *target, const float *online, size_t n, float tau) {
    for (size_t i = 0; i < n; i++)
        target[i] += tau * (online[i] - target[i]);
}
