/* mlp: layout, the fast forward/backward against the slow references and against central finite
 * differences, accumulation into dparams, and the split first-layer forward. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/mlp.h"
#include "common/rng.h"

typedef struct {
    int in, hidden, depth, out;
} shape_t;

static const shape_t s_shapes[] = {
    {3, 8, 1, 2},   /* depth 1 */
    {5, 6, 3, 3},   /* depth 3 */
    {4, 0, 0, 3},   /* a single linear layer */
    {17, 32, 2, 12},
};
#define N_SHAPES (int)(sizeof s_shapes / sizeof s_shapes[0])

static void *s_xalloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    assert_non_null(p);
    return p;
}
#define FALLOC(n) ((float *)s_xalloc((size_t)(n) * sizeof(float)))

static void s_normals(rng_t *rng, float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(rng));
}

/* max |a - b| <= atol + rtol * max|b| over the array */
static void s_assert_close_arr(const float *a, const float *b, size_t n, double atol, double rtol,
                               const char *what) {
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= atol + rtol * scale))
            fail_msg("%s[%zu] = %.8g, expected %.8g (scale %.3g)", what, i, a[i], b[i], scale);
}

static void test_init_layout(void **state) {
    (void)state;
    mlp_t m;
    assert_int_equal(mlp_init(&m, 3, 5, 2, 4), 0);
    assert_int_equal(m.n_layers, 3);
    const int sizes[4] = {3, 5, 5, 4};
    for (int l = 0; l < 4; l++)
        assert_int_equal(m.sizes[l], sizes[l]);
    /* W0 (5,3) at 0, b0 (5) at 15, W1 (5,5) at 20, b1 at 45, W2 (4,5) at 50, b2 (4) at 70 */
    const size_t w_off[3] = {0, 20, 50}, b_off[3] = {15, 45, 70}, act_off[3] = {0, 5, 10};
    for (int l = 0; l < 3; l++) {
        assert_int_equal(m.w_off[l], w_off[l]);
        assert_int_equal(m.b_off[l], b_off[l]);
        assert_int_equal(m.act_off[l], act_off[l]);
    }
    assert_int_equal(m.n_params, 74);
    assert_int_equal(m.max_width, 5);
    assert_int_equal(m.width_sum, 14);
    assert_int_equal(mlp_acts_floats(&m, 7), 7 * 14);
    /* forward FLOPs: 2 B (3*5 + 5*5 + 5*4) */
    assert_true(mlp_forward_flops(&m, 7) == 2.0 * 7 * 60);

    /* depth 0: one linear layer 3 -> 2 */
    assert_int_equal(mlp_init(&m, 3, 0, 0, 2), 0);
    assert_int_equal(m.n_layers, 1);
    assert_int_equal(m.n_params, 8);
    assert_int_equal(m.b_off[0], 6);
    assert_int_equal(m.width_sum, 2);

    /* max_width is the widest output, here the last layer */
    assert_int_equal(mlp_init(&m, 2, 4, 1, 9), 0);
    assert_int_equal(m.max_width, 9);
    assert_int_equal(m.n_params, 2 * 4 + 4 + 4 * 9 + 9);

    /* the deepest allowed, and out of range */
    assert_int_equal(mlp_init(&m, 3, 4, MLP_MAX_LAYERS - 1, 1), 0);
    assert_int_equal(m.n_layers, MLP_MAX_LAYERS);
    assert_int_equal(mlp_init(&m, 3, 4, MLP_MAX_LAYERS, 1), -1);
    assert_int_equal(mlp_init(&m, 3, 4, -1, 1), -1);
    assert_int_equal(mlp_init(&m, 0, 4, 1, 1), -1);
    assert_int_equal(mlp_init(&m, 3, 4, 1, 0), -1);
    assert_int_equal(mlp_init(&m, 3, 0, 1, 1), -1);
}

/* nn.Linear's init: every W_l and b_l in [-1/sqrt(fan_in), 1/sqrt(fan_in)], spread over it */
static void test_init_params_bounds(void **state) {
    (void)state;
    mlp_t m;
    assert_int_equal(mlp_init(&m, 16, 64, 2, 3), 0);
    float *p = FALLOC(m.n_params);
    rng_t rng;
    rng_seed(&rng, 7);
    mlp_init_params(&m, p, &rng);
    for (int l = 0; l < m.n_layers; l++) {
        double bound = 1.0 / sqrt((double)m.sizes[l]);
        size_t nw = (size_t)m.sizes[l] * m.sizes[l + 1];
        double mx = 0, sum = 0;
        for (size_t i = 0; i < nw; i++) {
            double x = p[m.w_off[l] + i];
            assert_true(fabs(x) <= bound * (1 + 1e-6));
            mx = fmax(mx, fabs(x));
            sum += x;
        }
        assert_true(mx > 0.9 * bound); /* uses the whole range */
        assert_true(fabs(sum / nw) < 0.2 * bound);
        for (int i = 0; i < m.sizes[l + 1]; i++)
            assert_true(fabs(p[m.b_off[l] + i]) <= bound * (1 + 1e-6));
    }
    free(p);
}

/* the tests below run without LayerNorm, then (the _ln variants) with it in every hidden layer */
static int s_ln;

/* with LayerNorm, g and beta away from their start (1 and 0), so that their gradients mean something */
static void s_init(const mlp_t *m, float *p, rng_t *rng) {
    mlp_init_params(m, p, rng);
    for (int l = 0; m->layer_norm && l < m->n_layers - 1; l++) {
        int oc = m->sizes[l + 1];
        s_normals(rng, p + m->ln_off[l], 2 * (size_t)oc, 0.3);
        for (int i = 0; i < oc; i++)
            p[m->ln_off[l] + i] += 1.0f;
    }
}

static void test_forward_matches_ref(void **state) {
    (void)state;
    rng_t rng;
    rng_seed(&rng, 11);
    const int Bs[] = {1, 7, 300};
    for (int s = 0; s < N_SHAPES; s++)
        for (size_t bi = 0; bi < sizeof Bs / sizeof Bs[0]; bi++) {
            const shape_t *sh = &s_shapes[s];
            int B = Bs[bi];
            mlp_t m;
            assert_int_equal(mlp_init_ln(&m, sh->in, sh->hidden, sh->depth, sh->out, s_ln), 0);
            float *p = FALLOC(m.n_params), *x = FALLOC(B * sh->in);
            float *a = FALLOC(mlp_acts_floats(&m, B)), *r = FALLOC(mlp_acts_floats(&m, B));
            s_init(&m, p, &rng);
            s_normals(&rng, x, (size_t)B * sh->in, 1.0);
            mlp_forward(&m, a, p, x, B);
            mlp_forward_ref(&m, r, p, x, B);
            /* the whole cache, hidden layers included */
            s_assert_close_arr(a, r, mlp_acts_floats(&m, B), 1e-6, 1e-5, "acts");
            /* the output is not all zeros (the comparison means something) */
            double norm = 0;
            const float *o = mlp_output(&m, a, B);
            for (int i = 0; i < B * sh->out; i++)
                norm += fabs(o[i]);
            assert_true(norm > 0);
            free(p), free(x), free(a), free(r);
        }
}

/* A hand-checkable network: 2 -> 2 (ReLU) -> 1 */
static void test_forward_hand(void **state) {
    (void)state;
    mlp_t m;
    assert_int_equal(mlp_init(&m, 2, 2, 1, 1), 0);
    /* W0 = [[1, 2], [-1, 1]], b0 = [0.5, -3], W1 = [[2, -1]], b1 = [0.25] */
    float p[9] = {1, 2, -1, 1, 0.5f, -3, 2, -1, 0.25f};
    float x[4] = {1, 1, -2, 3};
    float acts[2 * 3], ref[2 * 3];
    mlp_forward(&m, acts, p, x, 2);
    mlp_forward_ref(&m, ref, p, x, 2);
    /* row 0: h = relu([3.5, -3]) = [3.5, 0], out = 7.25; row 1: h = relu([4.5, 2]) = [4.5, 2], out = 7.25 */
    const float h_exp[4] = {3.5f, 0, 4.5f, 2}, o_exp[2] = {7.25f, 7.25f};
    for (int i = 0; i < 4; i++) {
        assert_true(acts[i] == h_exp[i]);
        assert_true(ref[i] == h_exp[i]);
    }
    for (int i = 0; i < 2; i++) {
        assert_true(mlp_output(&m, acts, 2)[i] == o_exp[i]);
        assert_true(mlp_output(&m, ref, 2)[i] == o_exp[i]);
    }
}

/* the fast backward equals the reference, dinp and dparams, and both accumulate into dparams */
static void test_backward_matches_ref(void **state) {
    (void)state;
    rng_t rng;
    rng_seed(&rng, 12);
    const int Bs[] = {1, 7, 300};
    for (int s = 0; s < N_SHAPES; s++)
        for (size_t bi = 0; bi < sizeof Bs / sizeof Bs[0]; bi++) {
            const shape_t *sh = &s_shapes[s];
            int B = Bs[bi];
            mlp_t m;
            assert_int_equal(mlp_init_ln(&m, sh->in, sh->hidden, sh->depth, sh->out, s_ln), 0);
            size_t P = m.n_params, nout = (size_t)B * sh->out, nin = (size_t)B * sh->in;
            float *p = FALLOC(P), *x = FALLOC(nin), *a = FALLOC(mlp_acts_floats(&m, B));
            float *dout = FALLOC(nout), *dtmp = FALLOC(nout), *scratch = FALLOC(2 * B * m.max_width);
            float *dp = FALLOC(P), *dp_ref = FALLOC(P), *dp_noin = FALLOC(P);
            float *dx = FALLOC(nin), *dx_ref = FALLOC(nin);
            s_init(&m, p, &rng);
            s_normals(&rng, x, nin, 1.0);
            s_normals(&rng, dout, nout, 1.0);
            mlp_forward(&m, a, p, x, B);

            memcpy(dtmp, dout, nout * sizeof(float));
            mlp_backward(&m, dx, dp, dtmp, x, a, p, scratch, B);
            mlp_backward_ref(&m, dx_ref, dp_ref, dout, x, a, p, B);
            s_assert_close_arr(dp, dp_ref, P, 1e-6, 1e-5, "dparams");
            s_assert_close_arr(dx, dx_ref, nin, 1e-6, 1e-5, "dinp");

            /* dinp NULL: the same parameter gradient */
            memcpy(dtmp, dout, nout * sizeof(float));
            mlp_backward(&m, NULL, dp_noin, dtmp, x, a, p, scratch, B);
            s_assert_close_arr(dp_noin, dp, P, 1e-7, 1e-6, "dparams (dinp NULL)");

            /* a second call adds the same gradient again: dparams doubles */
            memcpy(dtmp, dout, nout * sizeof(float));
            mlp_backward(&m, dx, dp, dtmp, x, a, p, scratch, B);
            for (size_t i = 0; i < P; i++)
                dp_ref[i] *= 2.0f;
            s_assert_close_arr(dp, dp_ref, P, 1e-6, 1e-5, "dparams twice");
            /* dinp is written, not accumulated */
            mlp_backward_ref(&m, dx_ref, dp_noin, dout, x, a, p, B);
            s_assert_close_arr(dx, dx_ref, nin, 1e-6, 1e-5, "dinp second call");
            free(p), free(x), free(a), free(dout), free(dtmp), free(scratch);
            free(dp), free(dp_ref), free(dp_noin), free(dx), free(dx_ref);
        }
}

/* L = sum(out * R) in double from the reference forward; also the ReLU pattern of the cache */
static double s_loss(const mlp_t *m, float *acts, const float *p, const float *x, const float *R,
                     int B, unsigned char *mask) {
    mlp_forward_ref(m, acts, p, x, B);
    const float *o = mlp_output(m, acts, B);
    double L = 0;
    for (int i = 0; i < B * m->sizes[m->n_layers]; i++)
        L += (double)o[i] * R[i];
    size_t nh = (size_t)B * m->act_off[m->n_layers - 1]; /* hidden part of the cache */
    for (size_t i = 0; i < nh; i++)
        mask[i] = acts[i] > 0.0f;
    return L;
}

/* One coordinate: central difference of L, skipped (returns 0) when a ReLU changes state between
 * the two points (a kink: the function is piecewise linear in one coordinate, so without a change
 * the difference is exact up to rounding). */
static int s_fd(double *out, const mlp_t *m, float *acts, float *p, float *x, const float *R, int B,
                float *coord, double eps, const unsigned char *mask0, unsigned char *mask) {
    size_t nh = (size_t)B * m->act_off[m->n_layers - 1];
    float save = *coord;
    *coord = (float)(save + eps);
    double hi_eps = (double)*coord - save;
    double Lp = s_loss(m, acts, p, x, R, B, mask);
    int kink = memcmp(mask, mask0, nh) != 0;
    *coord = (float)(save - eps);
    double lo_eps = save - (double)*coord;
    double Lm = s_loss(m, acts, p, x, R, B, mask);
    kink |= memcmp(mask, mask0, nh) != 0;
    *coord = save;
    if (kink)
        return 0;
    *out = (Lp - Lm) / (hi_eps + lo_eps);
    return 1;
}

static void test_backward_finite_differences(void **state) {
    (void)state;
    rng_t rng;
    rng_seed(&rng, 13);
    const int Bs[] = {1, 7};
    const double eps = 5e-3;
    for (int s = 0; s < 3; s++) /* the three small shapes */
        for (size_t bi = 0; bi < sizeof Bs / sizeof Bs[0]; bi++) {
            const shape_t *sh = &s_shapes[s];
            int B = Bs[bi];
            mlp_t m;
            assert_int_equal(mlp_init_ln(&m, sh->in, sh->hidden, sh->depth, sh->out, s_ln), 0);
            size_t P = m.n_params, nout = (size_t)B * sh->out, nin = (size_t)B * sh->in;
            size_t nh = (size_t)B * m.width_sum;
            float *p = FALLOC(P), *x = FALLOC(nin), *a = FALLOC(mlp_acts_floats(&m, B));
            float *R = FALLOC(nout), *dout = FALLOC(nout), *scratch = FALLOC(2 * B * m.max_width);
            float *dp = FALLOC(P), *dx = FALLOC(nin), *dp_ref = FALLOC(P), *dx_ref = FALLOC(nin);
            unsigned char *mask0 = s_xalloc(nh), *mask = s_xalloc(nh);
            s_init(&m, p, &rng);
            s_normals(&rng, x, nin, 1.0);
            s_normals(&rng, R, nout, 1.0);
            s_loss(&m, a, p, x, R, B, mask0);
            mlp_forward(&m, a, p, x, B);
            memcpy(dout, R, nout * sizeof(float)); /* dL/dout = R */
            mlp_backward(&m, dx, dp, dout, x, a, p, scratch, B);
            mlp_backward_ref(&m, dx_ref, dp_ref, R, x, a, p, B);

            double gscale = 0;
            for (size_t i = 0; i < P; i++)
                gscale = fmax(gscale, fabs(dp[i]));
            int checked = 0, skipped = 0;
            for (size_t i = 0; i < P + nin; i++) {
                float *coord = i < P ? &p[i] : &x[i - P];
                double an = i < P ? dp[i] : dx[i - P], an_ref = i < P ? dp_ref[i] : dx_ref[i - P];
                double fd;
                if (!s_fd(&fd, &m, a, p, x, R, B, coord, eps, mask0, mask)) {
                    skipped++;
                    continue;
                }
                checked++;
                double tol = 1e-2 * fabs(fd) + 1e-4 * (gscale + 1);
                if (!(fabs(an - fd) <= tol && fabs(an_ref - fd) <= tol))
                    fail_msg("shape %d B %d %s %zu: backward %.7g, ref %.7g, finite difference %.7g",
                             s, B, i < P ? "param" : "input", i < P ? i : i - P, an, an_ref, fd);
            }
            print_message("shape %d B %d: %d checked, %d skipped\n", s, B, checked, skipped);
            /* kinks are rare: most coordinates were compared */
            assert_true(checked >= 4 * (checked + skipped) / 5);
            free(p), free(x), free(a), free(R), free(dout), free(scratch);
            free(dp), free(dx), free(dp_ref), free(dx_ref), free(mask0), free(mask);
        }
}

/* rows pairing S states with R actions each, against mlp_forward on [state | action] rows */
static void s_check_split(rng_t *rng, int state_dim, int act_dim, int hidden, int depth, int out,
                          int S, int R) {
    mlp_t m;
    assert_int_equal(mlp_init_ln(&m, state_dim + act_dim, hidden, depth, out, s_ln), 0);
    int rows = S * R, c = state_dim + act_dim;
    float *p = FALLOC(m.n_params), *st = FALLOC(S * state_dim), *ac = FALLOC(rows * act_dim);
    float *xin = FALLOC(rows * c), *acts = FALLOC(mlp_acts_floats(&m, rows));
    size_t nscr = mlp_split_scratch_floats(&m, S);
    float *scr = FALLOC(nscr), *o = FALLOC(rows * out + 1);
    s_init(&m, p, rng);
    s_normals(rng, st, (size_t)S * state_dim, 1.0);
    s_normals(rng, ac, (size_t)rows * act_dim, 1.0);
    for (int i = 0; i < rows; i++) {
        memcpy(xin + (size_t)i * c, st + (size_t)(i / R) * state_dim, state_dim * sizeof(float));
        memcpy(xin + (size_t)i * c + state_dim, ac + (size_t)i * act_dim, act_dim * sizeof(float));
    }
    o[rows * out] = 12345.0f; /* sentinel: nothing written past the output */
    mlp_forward_split(&m, o, scr, p, st, state_dim, ac, S, R);
    mlp_forward(&m, acts, p, xin, rows);
    assert_true(o[rows * out] == 12345.0f);
    char what[96];
    snprintf(what, sizeof what, "split out (S %d R %d depth %d)", S, R, depth);
    s_assert_close_arr(o, mlp_output(&m, acts, rows), (size_t)rows * out, 1e-5, 1e-5, what);
    free(p), free(st), free(ac), free(xin), free(acts), free(scr), free(o);
}

static void test_forward_split(void **state) {
    (void)state;
    rng_t rng;
    rng_seed(&rng, 14);
    /* a critic: 5 state + 3 action -> 16 -> 16 -> 1 */
    s_check_split(&rng, 5, 3, 16, 2, 1, 37, 9);   /* 333 rows: a partial chunk, a state across chunks */
    s_check_split(&rng, 5, 3, 16, 2, 1, 5, 1);    /* R = 1 */
    s_check_split(&rng, 5, 3, 16, 2, 1, 1, 1);
    s_check_split(&rng, 5, 3, 16, 2, 1, 256, 1);  /* exactly one chunk */
    s_check_split(&rng, 5, 3, 16, 2, 1, 16, 32);  /* exactly two chunks */
    s_check_split(&rng, 17, 6, 32, 3, 2, 37, 9);  /* depth 3, two outputs */
    s_check_split(&rng, 3, 1, 24, 1, 1, 300, 1);  /* depth 1 */
    s_check_split(&rng, 3, 2, 0, 0, 4, 37, 9);    /* a single linear layer */
}

static void test_layer_norm_layout(void **state) {
    (void)state;
    mlp_t m, n;
    assert_int_equal(mlp_init(&m, 3, 5, 2, 4), 0);
    assert_int_equal(mlp_init_ln(&n, 3, 5, 2, 4, 1), 0);
    /* the linear layers where they were; g and beta of the two hidden layers after them */
    assert_memory_equal(m.w_off, n.w_off, sizeof m.w_off);
    assert_memory_equal(m.b_off, n.b_off, sizeof m.b_off);
    assert_int_equal(n.ln_off[0], m.n_params);
    assert_int_equal(n.ln_off[1], m.n_params + 2 * 5);
    assert_int_equal(n.n_params, m.n_params + 4 * 5);
    assert_int_equal(n.width_sum, m.width_sum + 2 * (5 + 1));
    /* the same draws for the linear layers; g 1 and beta 0 */
    float *p = FALLOC(m.n_params), *q = FALLOC(n.n_params);
    rng_t r1, r2;
    rng_seed(&r1, 3), rng_seed(&r2, 3);
    mlp_init_params(&m, p, &r1);
    mlp_init_params(&n, q, &r2);
    assert_memory_equal(p, q, m.n_params * sizeof(float));
    for (int i = 0; i < 5; i++)
        assert_true(q[n.ln_off[1] + i] == 1.0f && q[n.ln_off[1] + 5 + i] == 0.0f);
    /* no hidden layer, nothing to normalise */
    assert_int_equal(mlp_init_ln(&n, 3, 0, 0, 2, 1), 0);
    assert_int_equal(n.layer_norm, 0);
    free(p), free(q);
}

#define S_LN(name)                                                                                 \
    static void name##_ln(void **state) {                                                          \
        s_ln = 1;                                                                                   \
        name(state);                                                                                \
        s_ln = 0;                                                                                   \
    }
S_LN(test_forward_matches_ref)
S_LN(test_backward_matches_ref)
S_LN(test_backward_finite_differences)
S_LN(test_forward_split)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_layout),
        cmocka_unit_test(test_init_params_bounds),
        cmocka_unit_test(test_forward_hand),
        cmocka_unit_test(test_forward_matches_ref),
        cmocka_unit_test(test_backward_matches_ref),
        cmocka_unit_test(test_backward_finite_differences),
        cmocka_unit_test(test_forward_split),
        cmocka_unit_test(test_layer_norm_layout),
        cmocka_unit_test(test_forward_matches_ref_ln),
        cmocka_unit_test(test_backward_matches_ref_ln),
        cmocka_unit_test(test_backward_finite_differences_ln),
        cmocka_unit_test(test_forward_split_ln),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
