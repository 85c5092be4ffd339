/* Both sgemm libraries (nn/gemm.h) compute C = alpha op(A) op(B) + beta C, row-major, with every
 * transposition and row strides wider than the matrices, against a double-precision loop; both
 * give the same bits from one call to the next and from threads of their own; the library is
 * picked by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "nn/gemm.h"

enum { M = 37, N = 29, K = 53, PAD = 3 };

static void s_fill(float *x, size_t n, rng_t *rng) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_uniform_range(rng, -1, 1);
}

/* A is (M, K) or stored (K, M) when ta; B is (K, N) or stored (N, K) when tb; each row padded */
static double s_at(const float *x, int ld, int t, int r, int c) {
    return t ? x[(size_t)c * ld + r] : x[(size_t)r * ld + c];
}

static void s_check(gemm_backend_t backend, int ta, int tb, float alpha, float beta) {
    rng_t rng;
    rng_seed(&rng, 11 + 2 * ta + tb);
    int lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD, ldc = N + PAD;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
    float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb), *c = malloc(sizeof(float) * nc);
    float *c0 = malloc(sizeof(float) * nc);
    s_fill(a, na, &rng);
    s_fill(b, nb, &rng);
    s_fill(c, nc, &rng);
    memcpy(c0, c, sizeof(float) * nc);
    gemm_sgemm_with(backend, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= N) { /* the padding is never written */
                assert_true(c[at] == c0[at]);
                continue;
            }
            double want = beta * (double)c0[at];
            for (int k = 0; k < K; k++)
                want += alpha * s_at(a, lda, ta, i, k) * s_at(b, ldb, tb, k, j);
            if (fabs(c[at] - want) > 1e-4 * (1 + fabs(want)))
                fail_msg("%s ta %d tb %d: C[%d][%d] = %.7g, want %.7g", gemm_backend_name(backend), ta, tb, i, j,
                         (double)c[at], want);
        }
    free(a), free(b), free(c), free(c0);
}

static void test_products(void **state) {
    (void)state;
    for (int backend = 0; backend < GEMM_BACKEND_COUNT; backend++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                s_check((gemm_backend_t)backend, ta, tb, 1.0f, 0.0f);
                s_check((gemm_backend_t)backend, ta, tb, 0.5f, 1.0f); /* accumulate, as dW does */
            }
}

/* the same product on the calling thread and on another one: the learner's threads each call
 * gemm_sgemm, and its bits must not depend on which thread ran a task (docs/algorithm.md) */
typedef struct {
    const float *a, *b;
    float *c;
} s_job_t;

static void *s_job(void *arg) {
    s_job_t *j = arg;
    gemm_sgemm(0, 1, 256, 256, 256, 1.0f, j->a, 256, j->b, 256, 0.0f, j->c, 256);
    return NULL;
}

static void test_same_bits_any_thread(void **state) {
    (void)state;
    const size_t n = 256 * 256;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    float *c[3] = {malloc(sizeof(float) * n), malloc(sizeof(float) * n), malloc(sizeof(float) * n)};
    rng_t rng;
    rng_seed(&rng, 5);
    s_fill(a, n, &rng);
    s_fill(b, n, &rng);
    for (int backend = 0; backend < GEMM_BACKEND_COUNT; backend++) {
        gemm_set_backend((gemm_backend_t)backend);
        assert_int_equal(gemm_backend(), backend);
        s_job_t j0 = {a, b, c[0]}, j1 = {a, b, c[1]}, j2 = {a, b, c[2]};
        s_job(&j0);
        pthread_t t1, t2;
        assert_int_equal(pthread_create(&t1, NULL, s_job, &j1), 0);
        assert_int_equal(pthread_create(&t2, NULL, s_job, &j2), 0);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        assert_memory_equal(c[0], c[1], sizeof(float) * n);
        assert_memory_equal(c[0], c[2], sizeof(float) * n);
    }
    gemm_set_backend(GEMM_ONEDNN);
    free(a), free(b), free(c[0]), free(c[1]), free(c[2]);
}

static void test_names(void **state) {
    (void)state;
    assert_int_equal(gemm_backend_parse("onednn"), GEMM_ONEDNN);
    assert_int_equal(gemm_backend_parse("openblas"), GEMM_OPENBLAS);
    assert_int_equal(gemm_backend_parse("mkl"), -1);
    assert_int_equal(gemm_backend_parse(NULL), -1);
    assert_string_equal(gemm_backend_name(GEMM_OPENBLAS), "openblas");
    assert_string_equal(gemm_backend_name((gemm_backend_t)7), "unknown");
}

int main(void) {
    /* MPO_GEMM picks the default; this test sets the library itself */
    unsetenv("MPO_GEMM");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products),
        cmocka_unit_test(test_same_bits_any_thread),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
