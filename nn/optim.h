/* optim: Adam with optional global gradient-norm clipping and Polyak averaging of a target copy,
 * in one loop over a flat buffer (any network or group of networks laid out contiguously). */
#ifndef MPO_OPTIM_H
#define MPO_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float lr, beta1, beta2, eps;
} adam_config_t;

/* PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8 */
adam_config_t adam_defaults(float lr);

/* Euclidean norm of g (n), accumulated in double; and its square */
double grad_norm(const float *g, size_t n);
double grad_sum_squares(const float *g, size_t n);

/* The factor that brings a gradient of this norm down to max_norm (1 when it is within it, or when
 * max_norm <= 0); adam_polyak_step applies it as it reads the gradient. */
float grad_clip_scale(double norm, double max_norm);

/* One Adam step at step count t (1 for the first step): m, v updated in place, p -= update. */
void adam_step(float *p, float *m, float *v, const float *g, size_t n, const adam_config_t *cfg, int64_t t);
/* The same step on the gradient g * g_scale, then target <- (1 - tau) target + tau p, in one pass
 * over the buffers (the learner's update: clipping, Adam and Polyak of one network group). */
void adam_polyak_step(float *p, float *m, float *v, const float *g, float g_scale, float *target, float tau,
                      size_t n, const adam_config_t *cfg, int64_t t);

#endif
