/* optim: Adam with optional global gradient-norm clipping, and Polyak averaging, each one loop
 * over a flat buffer (any network or group of networks laid out contiguously). */
#ifndef MPO_OPTIM_H
#define MPO_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float lr, beta1, beta2, eps;
} adam_config_t;

/* PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8 */
adam_config_t adam_defaults(float lr);

/* Euclidean norm of g (n), accumulated in double. */
double grad_norm(const float *g, size_t n);
/* Scale g so its norm is at most max_norm (no-op for max_norm <= 0). Returns the norm before. */
double grad_clip(float *g, size_t n, double max_norm);

/* One Adam step at step count t (1 for the first step): m, v updated in place, p -= update. */
void adam_step(float *p, float *m, float *v, const float *g, size_t n, const adam_config_t *cfg, int64_t t);

/* target <- (1 - tau) * target + tau * online */
void polyak_update(float *target, const float *online, size_t n, float tau);

#endif
