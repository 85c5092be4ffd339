/* simd: the element-wise kernels of the update, compiled once per x86-64 instruction set and
 * picked once per process.
 *
 * The build targets baseline x86-64 (SSE2) so one binary runs on every machine. nn/simd_kernels.inc
 * is compiled three times (SSE2, AVX2, AVX-512) with the register width of each, so every copy keeps
 * its accumulators in that instruction set's registers: one copy written for 64-byte vectors ran
 * through the stack on AVX2 and took a quarter of an update there. The widest the CPU has is used,
 * unless MPO_ISA=sse2|avx2|avx512 (or simd_set_isa, `mpo bench update --isa`) asks for a narrower
 * one, so an AVX-512 machine can measure its AVX2 path too. Floating-point contraction is off
 * (-std=c11), so all three give the same bits. Elsewhere (another architecture or compiler, or
 * the sanitizer build) only the portable copy exists. */
#ifndef MPO_SIMD_H
#define MPO_SIMD_H

#include <stddef.h>

typedef enum { SIMD_SSE2 = 0, SIMD_AVX2, SIMD_AVX512, SIMD_ISA_COUNT } simd_isa_t;

typedef struct {
    /* rows (B, OC) += b per row, then ReLU when relu */
    void (*bias_act)(float *out, const float *b, int B, int OC, int relu);
    /* the split first layer for n rows from r0 (nn/mlp.c, mlp_forward_split): row = [ReLU](state_pre
     * of the row's state (rows / R) + action (act_dim) · wa_t (act_dim, h)) */
    void (*split_rows)(float *x, const float *state_pre, const float *wa_t, const float *action, int r0, int n,
                       int R, int h, int act_dim, int relu);
    /* db (oc) += column sums of d (B, oc) */
    void (*bias_grad)(float *db, const float *d, int B, int oc);
    /* d (n) = 0 where the ReLU's output out was 0 */
    void (*relu_mask)(float *d, const float *out, size_t n);
    /* sum of g[i]^2 in double */
    double (*sum_squares)(const float *g, size_t n);
    /* Adam on g * g_scale with the bias corrections folded in (step = lr / bc1), then Polyak of
     * target when it is not NULL (nn/optim.h, adam_polyak_step) */
    void (*adam_polyak)(float *p, float *m, float *v, const float *g, float g_scale, float *target, float tau,
                        size_t n, float b1, float b2, float step, float bc2_sqrt, float eps);
    /* y (n, h) <- ReLU(g * LayerNorm(z) + beta) row by row (y == z allowed), LayerNorm's variance
     * plus eps under the root; xhat (n, h) and rstd (n) keep what the backward needs, or are NULL */
    void (*layer_norm_relu)(float *y, const float *z, const float *g, const float *beta, int n, int h, float eps,
                            float *xhat, float *rstd);
    /* the gradient d (n, h) of LayerNorm's output (before g, beta) into its input's, in place; dg and
     * dbeta (h) accumulate */
    void (*layer_norm_backward)(float *d, const float *xhat, const float *rstd, const float *g, float *dg,
                                float *dbeta, int n, int h);
} simd_kernels_t;

/* the kernels in use (chosen on first call) */
const simd_kernels_t *simd_kernels(void);
/* the instruction set in use, and the widest this CPU and build have */
simd_isa_t simd_isa(void);
simd_isa_t simd_isa_best(void);
/* use this instruction set from now on: 0, or -MPO_EINVAL with a reason when the CPU or the build
 * lacks it */
int simd_set_isa(simd_isa_t isa, char *err, size_t errlen);
/* "sse2" | "avx2" | "avx512"; and back (-1 for another name) */
const char *simd_isa_name(simd_isa_t isa);
int simd_isa_parse(const char *name);

#endif
