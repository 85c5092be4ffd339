/* gemm: oneDNN's or OpenBLAS's sgemm behind one call (nn/gemm.h) */
#include "nn/gemm.h"

#include "common/log.h"

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_names[GEMM_BACKEND_COUNT] = {"onednn", "openblas"};
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static gemm_backend_t s_backend;
/* oneDNN (Debian's build uses OpenMP) runs a product on omp_get_max_threads() threads, which is
 * per calling thread and starts at the CPU count: every thread that multiplies sets it to 1 once. */
static _Thread_local int s_thread_ready;

static void s_choose(void) {
    s_backend = GEMM_ONEDNN;
    const char *want = getenv("MPO_GEMM");
    if (want && *want) {
        int b = gemm_backend_parse(want);
        if (b < 0)
            log_warn("MPO_GEMM=%s: not one of onednn, openblas; using %s", want, s_names[s_backend]);
        else
            s_backend = (gemm_backend_t)b;
    }
}

gemm_backend_t gemm_backend(void) {
    pthread_once(&s_once, s_choose);
    return s_backend;
}

void gemm_set_backend(gemm_backend_t backend) {
    pthread_once(&s_once, s_choose);
    if (backend >= 0 && backend < GEMM_BACKEND_COUNT)
        s_backend = backend;
}

const char *gemm_backend_name(gemm_backend_t backend) {
    return backend >= 0 && backend < GEMM_BACKEND_COUNT ? s_names[backend] : "unknown";
}

int gemm_backend_parse(const char *name) {
    for (int b = 0; b < GEMM_BACKEND_COUNT; b++)
        if (name && !strcmp(name, s_names[b]))
            return b;
    return -1;
}

int gemm_limit_isa(int vector_bytes) {
    dnnl_cpu_isa_t isa = vector_bytes <= 16 ? dnnl_cpu_isa_sse41 : vector_bytes <= 32 ? dnnl_cpu_isa_avx2 : dnnl_cpu_isa_all;
    return dnnl_set_max_cpu_isa(isa) == dnnl_success ? 0 : -1;
}

void gemm_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc) {
    gemm_sgemm_with(gemm_backend(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_sgemm_with(gemm_backend_t backend, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (backend == GEMM_OPENBLAS) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                    lda, B, ldb, beta, C, ldc);
        return;
    }
    if (!s_thread_ready) {
        omp_set_num_threads(1);
        s_thread_ready = 1;
    }
    /* oneDNN checks only what cblas would: shapes and strides this module's callers always pass right */
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (st != dnnl_success) {
        log_error("dnnl_sgemm(%c%c, %d x %d x %d) failed with status %d", ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K,
                  (int)st);
        abort();
    }
}
