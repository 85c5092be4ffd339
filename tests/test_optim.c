/* optim: Adam against hand-computed PyTorch steps, gradient-norm clipping, Polyak averaging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/test_util.h"

#include <math.h>
#include <string.h>

#include "nn/optim.h"

static void test_adam_defaults(void **state) {
    (void)state;
    adam_config_t c = adam_defaults(3e-4f);
    assert_true(c.lr == 3e-4f);
    assert_true(c.beta1 == 0.9f);
    assert_true(c.beta2 == 0.999f);
    assert_true(c.eps == 1e-8f);
}

/* Three steps of torch.optim.Adam(lr=0.1) worked in double (python3, the textbook form
 * m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t), p -= lr * m_hat / (sqrt(v_hat) + eps)):
 *   p0 = [1, -2, 0.5]; g1 = [0.5, -1, 1e-8], g2 = [0.1, 2, 1e-8], g3 = [-0.3, 0, 1e-8]
 *   t=1: p = [0.9000000020, -1.9000000010, 0.45]  m = [0.05, -0.1, 1e-9]  v = [2.5e-4, 1e-3, 1e-19]
 *   t=2: p = [0.8196959064, -1.9366103535, 0.40]  m = [0.055, 0.11, 1.9e-9] v = [2.5975e-4, 4.999e-3, 1.999e-19]
 *   t=3: p = [0.7986246118, -1.9649102620, 0.35]  m = [0.0195, 0.099, 2.71e-9] v = [3.4949025e-4, 4.994001e-3, 2.997001e-19]
 * The third coordinate's gradient 1e-8 equals eps: sqrt(v_hat) = 1e-8, so each step is
 * lr * 1e-8 / (1e-8 + 1e-8) = lr / 2 exactly when eps is added to sqrt(v_hat) (it would be ~1e-5
 * with eps inside the square root, and lr without eps or bias correction). */
static void test_adam_hand_steps(void **state) {
    (void)state;
    float p[3] = {1.0f, -2.0f, 0.5f}, m[3] = {0}, v[3] = {0};
    const float g[3][3] = {{0.5f, -1.0f, 1e-8f}, {0.1f, 2.0f, 1e-8f}, {-0.3f, 0.0f, 1e-8f}};
    const double p_exp[3][3] = {{0.9000000020, -1.9000000010, 0.45},
                                {0.8196959064, -1.9366103535, 0.40},
                                {0.7986246118, -1.9649102620, 0.35}};
    const double m_exp[3][3] = {{0.05, -0.1, 1e-9}, {0.055, 0.11, 1.9e-9}, {0.0195, 0.099, 2.71e-9}};
    const double v_exp[3][3] = {{2.5e-4, 1e-3, 1e-19}, {2.5975e-4, 4.999e-3, 1.999e-19},
                                {3.4949025e-4, 4.994001e-3, 2.997001e-19}};
    adam_config_t c = adam_defaults(0.1f);
    for (int t = 1; t <= 3; t++) {
        adam_step(p, m, v, g[t - 1], 3, &c, t);
        for (int i = 0; i < 3; i++) {
            CLOSE(p[i], p_exp[t - 1][i], 2e-6);
            CLOSE(m[i], m_exp[t - 1][i], 1e-6 * fabs(m_exp[t - 1][i]) + 1e-12);
            /* 1 - 0.999f is 0.00099998713 in float: v carries a relative 1.3e-5 */
            CLOSE(v[i], v_exp[t - 1][i], 5e-5 * fabs(v_exp[t - 1][i]));
        }
    }
}

/* The first step of Adam moves every coordinate by lr * sign(g) (up to eps), whatever |g|. */
static void test_adam_first_step_is_lr_sign(void **state) {
    (void)state;
    float p[4] = {0, 0, 0, 0}, m[4] = {0}, v[4] = {0};
    const float g[4] = {1e-3f, -50.0f, 7.0f, -0.25f};
    adam_config_t c = adam_defaults(0.01f);
    adam_step(p, m, v, g, 4, &c, 1);
    for (int i = 0; i < 4; i++)
        CLOSE(p[i], g[i] > 0 ? -0.01 : 0.01, 3e-7);
}

static void test_grad_norm(void **state) {
    (void)state;
    const float g[4] = {3.0f, -4.0f, 0.0f, 12.0f};
    CLOSE(grad_norm(g, 4), 13.0, 1e-12);
    CLOSE(grad_norm(g, 0), 0.0, 0);
}

/* g * grad_clip_scale(|g|, max) has norm max when |g| > max, and is g itself otherwise */
static void test_grad_clip_scale(void **state) {
    (void)state;
    float g[4] = {3.0f, -4.0f, 0.0f, 12.0f}; /* norm 13 */
    float scale = grad_clip_scale(grad_norm(g, 4), 6.5);
    for (int i = 0; i < 4; i++)
        g[i] *= scale;
    CLOSE(grad_norm(g, 4), 6.5, 6.5 * 1e-6);
    /* direction kept: each coordinate halved */
    CLOSE(g[0], 1.5, 1e-5);
    CLOSE(g[1], -2.0, 1e-5);
    CLOSE(g[2], 0.0, 0);
    CLOSE(g[3], 6.0, 1e-5);
    /* below the bound, 0 (off) and negative (off): no scaling */
    assert_true(grad_clip_scale(13.0, 20.0) == 1.0f);
    assert_true(grad_clip_scale(13.0, 0.0) == 1.0f);
    assert_true(grad_clip_scale(13.0, -1.0) == 1.0f);
}

/* adam_polyak_step on g with g_scale is adam_step on g * g_scale, bit for bit */
static void test_adam_polyak_scaled_gradient(void **state) {
    (void)state;
    adam_config_t cfg = adam_defaults(1e-3f);
    float g[5] = {0.3f, -2.0f, 1e-8f, 7.0f, -0.01f}, gs[5];
    float p1[5] = {1, 2, 3, 4, 5}, m1[5] = {0}, v1[5] = {0};
    float p2[5] = {1, 2, 3, 4, 5}, m2[5] = {0}, v2[5] = {0};
    for (int t = 1; t <= 3; t++) {
        for (int i = 0; i < 5; i++)
            gs[i] = g[i] * 0.25f;
        adam_step(p1, m1, v1, gs, 5, &cfg, t);
        adam_polyak_step(p2, m2, v2, g, 0.25f, NULL, 0.0f, 5, &cfg, t);
    }
    assert_memory_equal(p1, p2, sizeof p1);
    assert_memory_equal(m1, m2, sizeof m1);
    assert_memory_equal(v1, v2, sizeof v1);
}

/* Polyak inside adam_polyak_step: with a zero gradient and zero moments the parameters stay put
 * and the target moves by tau toward them */
static void s_polyak(float *t, const float *online, size_t n, float tau) {
    float p[8], m[8] = {0}, v[8] = {0}, g[8] = {0};
    adam_config_t cfg = adam_defaults(1e-3f);
    memcpy(p, online, n * sizeof(float));
    adam_polyak_step(p, m, v, g, 1.0f, t, tau, n, &cfg, 1);
    assert_memory_equal(p, online, n * sizeof(float));
}

static void test_polyak(void **state) {
    (void)state;
    const float online[3] = {1.0f, -2.0f, 10.0f};
    float t[3];
    const float t0[3] = {3.0f, 4.0f, -6.0f};

    memcpy(t, t0, sizeof t);
    s_polyak(t, online, 3, 0.0f);
    assert_memory_equal(t, t0, sizeof t);

    memcpy(t, t0, sizeof t);
    s_polyak(t, online, 3, 1.0f);
    assert_memory_equal(t, online, sizeof t);

    memcpy(t, t0, sizeof t);
    s_polyak(t, online, 3, 0.5f);
    CLOSE(t[0], 2.0, 1e-6);
    CLOSE(t[1], 1.0, 1e-6);
    CLOSE(t[2], 2.0, 1e-6);

    /* tau 0.005, twice: t <- t + tau (o - t), geometric approach */
    memcpy(t, t0, sizeof t);
    s_polyak(t, online, 3, 0.005f);
    s_polyak(t, online, 3, 0.005f);
    for (int i = 0; i < 3; i++)
        CLOSE(t[i], online[i] + (t0[i] - online[i]) * 0.995 * 0.995, 1e-5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_defaults),
        cmocka_unit_test(test_adam_hand_steps),
        cmocka_unit_test(test_adam_first_step_is_lr_sign),
        cmocka_unit_test(test_grad_norm),
        cmocka_unit_test(test_grad_clip_scale),
        cmocka_unit_test(test_adam_polyak_scaled_gradient),
        cmocka_unit_test(test_polyak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
