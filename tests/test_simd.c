/* The kernels of every instruction set this CPU has give the same bits as the portable copy, on
 * sizes that are and are not multiples of the register width, and the choice of instruction set
 * refuses what the CPU lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "nn/simd.h"

static void s_fill(float *x, size_t n, rng_t *rng) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_uniform_range(rng, -1, 1);
}

/* run every kernel with the given instruction set on copies of the same inputs */
typedef struct {
    float *split, *bias, *bgrad, *mask, *p, *m, *v, *t;
    float *ln_y, *ln_xhat, *ln_rstd, *ln_d, *ln_dg, *ln_inplace;
    double ss;
} s_out_t;

enum { S_ROWS = 45, S_R = 7, S_ACT = 6, S_N = 1003 };

static void s_run(simd_isa_t isa, int h, s_out_t *o) {
    char err[128];
    assert_int_equal(simd_set_isa(isa, err, sizeof err), 0);
    const simd_kernels_t *k = simd_kernels();
    rng_t rng;
    rng_seed(&rng, 7);
    int states = (S_ROWS + S_R - 1) / S_R;
    float *sp = malloc(sizeof(float) * states * h), *wa = malloc(sizeof(float) * S_ACT * h);
    float *act = malloc(sizeof(float) * S_ROWS * S_ACT), *b = malloc(sizeof(float) * h);
    float *g = malloc(sizeof(float) * S_N);
    s_fill(sp, (size_t)states * h, &rng);
    s_fill(wa, (size_t)S_ACT * h, &rng);
    s_fill(act, (size_t)S_ROWS * S_ACT, &rng);
    s_fill(b, (size_t)h, &rng);
    s_fill(g, S_N, &rng);
    o->split = malloc(sizeof(float) * S_ROWS * h);
    k->split_rows(o->split, sp, wa, act, 0, S_ROWS, S_R, h, S_ACT, 1);
    o->bias = malloc(sizeof(float) * S_ROWS * h);
    memcpy(o->bias, o->split, sizeof(float) * S_ROWS * h);
    k->split_rows(o->bias, sp, wa, act, 0, S_ROWS, S_R, h, S_ACT, 0); /* without ReLU: negatives too */
    k->bias_act(o->bias, b, S_ROWS, h, 1);
    o->bgrad = calloc((size_t)h, sizeof(float));
    k->bias_grad(o->bgrad, o->split, S_ROWS, h);
    o->mask = malloc(sizeof(float) * S_ROWS * h);
    memcpy(o->mask, o->bias, sizeof(float) * S_ROWS * h);
    k->split_rows(o->split + 0, sp, wa, act, 0, S_ROWS, S_R, h, S_ACT, 1);
    k->relu_mask(o->mask, o->split, (size_t)S_ROWS * h);
    o->ss = k->sum_squares(g, S_N);
    o->p = calloc(S_N, sizeof(float));
    o->m = calloc(S_N, sizeof(float));
    o->v = calloc(S_N, sizeof(float));
    o->t = calloc(S_N, sizeof(float));
    for (int step = 0; step < 3; step++)
        k->adam_polyak(o->p, o->m, o->v, g, 0.5f, o->t, 0.01f, S_N, 0.9f, 0.999f, 1e-3f, 0.1f, 1e-8f);
    /* LayerNorm + ReLU with what the backward keeps, then its backward (dg and dbeta side by side);
     * and in place without them, as the E-step calls it */
    size_t nh = (size_t)S_ROWS * h;
    float *z = malloc(sizeof(float) * nh), *lg = malloc(sizeof(float) * 2 * h);
    s_fill(z, nh, &rng);
    s_fill(lg, 2 * (size_t)h, &rng);
    o->ln_y = malloc(sizeof(float) * nh);
    o->ln_xhat = malloc(sizeof(float) * nh);
    o->ln_rstd = malloc(sizeof(float) * S_ROWS);
    k->layer_norm_relu(o->ln_y, z, lg, lg + h, S_ROWS, h, 1e-5f, o->ln_xhat, o->ln_rstd);
    o->ln_d = malloc(sizeof(float) * nh);
    s_fill(o->ln_d, nh, &rng);
    o->ln_dg = calloc(2 * (size_t)h, sizeof(float));
    k->layer_norm_backward(o->ln_d, o->ln_xhat, o->ln_rstd, lg, o->ln_dg, o->ln_dg + h, S_ROWS, h);
    o->ln_inplace = z;
    k->layer_norm_relu(z, z, lg, lg + h, S_ROWS, h, 1e-5f, NULL, NULL);
    free(lg);
    free(sp);
    free(wa);
    free(act);
    free(b);
    free(g);
}

static void s_free(s_out_t *o) {
    free(o->split);
    free(o->bias);
    free(o->bgrad);
    free(o->mask);
    free(o->p);
    free(o->m);
    free(o->v);
    free(o->t);
    free(o->ln_y);
    free(o->ln_xhat);
    free(o->ln_rstd);
    free(o->ln_d);
    free(o->ln_dg);
    free(o->ln_inplace);
}

static void test_every_isa_same_bits(void **state) {
    (void)state;
    simd_isa_t best = simd_isa_best();
    printf("   this CPU and build: up to %s\n", simd_isa_name(best));
    const int widths[] = {256, 37, 100, 64, 1};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        int h = widths[w];
        size_t n = (size_t)S_ROWS * h;
        s_out_t ref;
        s_run(SIMD_SSE2, h, &ref);
        int relu_zeroes = 0;
        for (size_t i = 0; i < n; i++)
            relu_zeroes += ref.split[i] == 0.0f;
        assert_true(h < 8 || relu_zeroes > 0); /* the ReLU did something */
        for (int isa = SIMD_SSE2 + 1; isa <= (int)best; isa++) {
            s_out_t o;
            s_run((simd_isa_t)isa, h, &o);
            assert_memory_equal(o.split, ref.split, n * sizeof(float));
            assert_memory_equal(o.bias, ref.bias, n * sizeof(float));
            assert_memory_equal(o.bgrad, ref.bgrad, (size_t)h * sizeof(float));
            assert_memory_equal(o.mask, ref.mask, n * sizeof(float));
            assert_memory_equal(o.p, ref.p, S_N * sizeof(float));
            assert_memory_equal(o.t, ref.t, S_N * sizeof(float));
            assert_memory_equal(o.ln_y, ref.ln_y, n * sizeof(float));
            assert_memory_equal(o.ln_xhat, ref.ln_xhat, n * sizeof(float));
            assert_memory_equal(o.ln_rstd, ref.ln_rstd, S_ROWS * sizeof(float));
            assert_memory_equal(o.ln_d, ref.ln_d, n * sizeof(float));
            assert_memory_equal(o.ln_dg, ref.ln_dg, 2 * (size_t)h * sizeof(float));
            assert_memory_equal(o.ln_inplace, ref.ln_y, n * sizeof(float)); /* in place: the same */
            /* a sum in another order: equal to rounding */
            assert_true(o.ss > 0 && (o.ss - ref.ss) / ref.ss < 1e-12 && (ref.ss - o.ss) / ref.ss < 1e-12);
            s_free(&o);
        }
        s_free(&ref);
    }
}

/* the split rows against the plain formula, so all copies are not wrong together */
static void test_split_rows_formula(void **state) {
    (void)state;
    s_out_t o;
    s_run(SIMD_SSE2, 37, &o);
    rng_t rng;
    rng_seed(&rng, 7);
    int h = 37, states = (S_ROWS + S_R - 1) / S_R;
    float *sp = malloc(sizeof(float) * states * h), *wa = malloc(sizeof(float) * S_ACT * h);
    float *act = malloc(sizeof(float) * S_ROWS * S_ACT);
    s_fill(sp, (size_t)states * h, &rng);
    s_fill(wa, (size_t)S_ACT * h, &rng);
    s_fill(act, (size_t)S_ROWS * S_ACT, &rng);
    for (int i = 0; i < S_ROWS; i++)
        for (int j = 0; j < h; j++) {
            double v = sp[(i / S_R) * h + j];
            for (int k = 0; k < S_ACT; k++)
                v += (double)act[i * S_ACT + k] * wa[k * h + j];
            double want = v > 0 ? v : 0;
            assert_true(o.split[i * h + j] - want < 1e-5 && want - o.split[i * h + j] < 1e-5);
        }
    free(sp);
    free(wa);
    free(act);
    s_free(&o);
}

static void test_choice(void **state) {
    (void)state;
    char err[128];
    simd_isa_t best = simd_isa_best();
    assert_int_equal(simd_isa_parse("avx2"), SIMD_AVX2);
    assert_int_equal(simd_isa_parse("avx1024"), -1);
    assert_string_equal(simd_isa_name(SIMD_AVX512), "avx512");
    assert_int_equal(simd_set_isa(SIMD_SSE2, err, sizeof err), 0);
    assert_int_equal(simd_isa(), SIMD_SSE2);
    if (best < SIMD_AVX512) {
        assert_true(simd_set_isa(SIMD_AVX512, err, sizeof err) < 0);
        assert_non_null(strstr(err, "at most"));
        assert_int_equal(simd_isa(), SIMD_SSE2); /* unchanged */
    }
    assert_true(simd_set_isa((simd_isa_t)SIMD_ISA_COUNT, err, sizeof err) < 0);
    assert_int_equal(simd_set_isa(best, err, sizeof err), 0);
    assert_int_equal(simd_isa(), best);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_isa_same_bits),
        cmocka_unit_test(test_split_rows_formula),
        cmocka_unit_test(test_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
