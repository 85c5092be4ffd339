/* gemm: the one matrix product every network layer uses, C = alpha op(A) op(B) + beta C, row-major.
 *
 * Two libraries can do it, picked once per process: oneDNN's sgemm (the default) or OpenBLAS's.
 * On the update's shapes (256-row products with 256, 23 or 17 columns) oneDNN ran 1.2x
 * OpenBLAS's speed on Cascade Lake (docs/benchmarks.md), where OpenBLAS reached only 0.7 of its
 * own 1024^3 rate. MPO_GEMM=onednn|openblas (or gemm_set_backend, `mpo bench update --gemm`)
 * picks one, so either can be measured on any machine. Both are single-threaded here: the
 * learner runs its own threads (learner/mpo.c), each calling gemm_sgemm on its own rows. */
#ifndef MPO_GEMM_H
#define MPO_GEMM_H

#include <stddef.h>

typedef enum { GEMM_ONEDNN = 0, GEMM_OPENBLAS, GEMM_BACKEND_COUNT } gemm_backend_t;

/* C (M, N) = alpha op(A) (M, K) . op(B) (K, N) + beta C; op transposes when ta / tb. lda, ldb and
 * ldc are the row strides of A, B and C as stored. */
void gemm_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc);
/* the same with a given library, whichever is in use (the benchmarks' reference rates) */
void gemm_sgemm_with(gemm_backend_t backend, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* the library in use (chosen on first call: MPO_GEMM, else oneDNN) */
gemm_backend_t gemm_backend(void);
/* use this library from now on; call before any product */
void gemm_set_backend(gemm_backend_t backend);
/* "onednn" | "openblas"; and back (-1 for another name) */
const char *gemm_backend_name(gemm_backend_t backend);
int gemm_backend_parse(const char *name);
/* oneDNN's kernels no wider than vectors of this many bytes (16: SSE4.1, 32: AVX2), for `--isa`
 * measurements; call before any product. 0, or -1 when oneDNN refuses (it was already used). */
int gemm_limit_isa(int vector_bytes);

#endif
