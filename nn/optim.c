#include "nn/optim.h"

#include <math.h>

#include "nn/simd.h"

adam_config_t adam_defaults(float lr) {
    return (adam_config_t){.lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
}

double grad_sum_squares(const float *g, size_t n) { return simd_kernels()->sum_squares(g, n); }
double grad_norm(const float *g, size_t n) { return sqrt(grad_sum_squares(g, n)); }

float grad_clip_scale(double norm, double max_norm) {
    return max_norm > 0 && norm > max_norm ? (float)(max_norm / (norm + 1e-6)) : 1.0f;
}

void adam_polyak_step(float *p, float *m, float *v, const float *g, float g_scale, float *target, float tau, size_t n,
                      const adam_config_t *cfg, int64_t t) {
    float b1 = cfg->beta1, b2 = cfg->beta2;
    /* bias corrections folded into the step size, as PyTorch does */
    float bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
    simd_kernels()->adam_polyak(p, m, v, g, g_scale, target, tau, n, b1, b2, cfg->lr / bc1, sqrtf(bc2), cfg->eps);
}

void adam_step(float *p, float *m, float *v, const float *g, size_t n, const adam_config_t *cfg, int64_t t) {
    adam_polyak_step(p, m, v, g, 1.0f, NULL, 0.0f, n, cfg, t);
}
