#include "nn/mlp.h"

#include "nn/gemm.h"
#include "nn/simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int mlp_init(mlp_t *self, int in, int hidden, int depth, int out) { return mlp_init_ln(self, in, hidden, depth, out, 0); }

int mlp_init_ln(mlp_t *self, int in, int hidden, int depth, int out, int layer_norm) {
    if (depth < 0 || depth + 1 > MLP_MAX_LAYERS || in <= 0 || out <= 0 || (depth > 0 && hidden <= 0))
        return -1;
    memset(self, 0, sizeof *self);
    self->n_layers = depth + 1;
    self->sizes[0] = in;
    for (int l = 1; l <= depth; l++)
        self->sizes[l] = hidden;
    self->sizes[depth + 1] = out;
    size_t off = 0, act = 0;
    for (int l = 0; l < self->n_layers; l++) {
        int c = self->sizes[l], oc = self->sizes[l + 1];
        self->w_off[l] = off;
        off += (size_t)oc * c;
        self->b_off[l] = off;
        off += (size_t)oc;
        self->act_off[l] = act;
        act += (size_t)oc;
        if (oc > self->max_width)
            self->max_width = oc;
    }
    self->layer_norm = layer_norm && depth > 0;
    for (int l = 0; self->layer_norm && l < self->n_layers - 1; l++) {
        int oc = self->sizes[l + 1];
        self->ln_off[l] = off;
        off += 2 * (size_t)oc;
        self->xhat_off[l] = act;
        act += (size_t)oc;
        self->rstd_off[l] = act;
        act += 1;
    }
    self->n_params = off;
    self->width_sum = (int)act;
    return 0;
}

void mlp_init_params(const mlp_t *self, float *params, rng_t *rng) {
    for (int l = 0; l < self->n_layers; l++) {
        int c = self->sizes[l], oc = self->sizes[l + 1];
        double bound = 1.0 / sqrt((double)c);
        float *w = params + self->w_off[l], *b = params + self->b_off[l];
        for (size_t i = 0; i < (size_t)oc * c; i++)
            w[i] = (float)rng_uniform_range(rng, -bound, bound);
        for (int i = 0; i < oc; i++)
            b[i] = (float)rng_uniform_range(rng, -bound, bound);
    }
    for (int l = 0; self->layer_norm && l < self->n_layers - 1; l++) {
        int oc = self->sizes[l + 1];
        for (int i = 0; i < oc; i++) {
            params[self->ln_off[l] + i] = 1.0f;
            params[self->ln_off[l] + oc + i] = 0.0f;
        }
    }
}

/* LayerNorm and its ReLU, and its backward: nn/simd.h's kernels (per instruction set) */
static void s_layer_norm_relu(float *y, const float *z, const float *g, const float *beta, int n, int h,
                              float *xhat, float *rstd) {
    simd_kernels()->layer_norm_relu(y, z, g, beta, n, h, MLP_LN_EPS, xhat, rstd);
}

static void s_layer_norm_backward(float *d, const float *xhat, const float *rstd, const float *g, float *dg,
                                  float *dbeta, int n, int h) {
    simd_kernels()->layer_norm_backward(d, xhat, rstd, g, dg, dbeta, n, h);
}

double mlp_forward_flops(const mlp_t *self, int B) {
    double f = 0;
    for (int l = 0; l < self->n_layers; l++)
        f += 2.0 * B * self->sizes[l] * self->sizes[l + 1];
    return f;
}

/* out (B, OC) = inp (B, C) · W^T + b, then ReLU when relu; W is (OC, C) with row stride ldw. The
 * bias and the ReLU are one pass over out right after the product, while it is still in cache. */
static void s_linear_forward(float *out, const float *inp, const float *w, int ldw, const float *b,
                             int B, int C, int OC, int relu) {
    gemm_sgemm(0, 1, B, OC, C, 1.0f, inp, C, w, ldw, 0.0f, out, OC);
    simd_kernels()->bias_act(out, b, B, OC, relu);
}

void mlp_forward_rows(const mlp_t *self, float *acts, const float *params, const float *inp, int B, int r0,
                      int n) {
    for (int l = 0; l < self->n_layers; l++) {
        int c = self->sizes[l], oc = self->sizes[l + 1], hidden = l < self->n_layers - 1;
        const float *in = l == 0 ? inp : acts + (size_t)B * self->act_off[l - 1] + (size_t)r0 * c;
        float *out = acts + (size_t)B * self->act_off[l] + (size_t)r0 * oc;
        s_linear_forward(out, in, params + self->w_off[l], c, params + self->b_off[l], n, c, oc,
                         hidden && !self->layer_norm);
        if (hidden && self->layer_norm)
            s_layer_norm_relu(out, out, params + self->ln_off[l], params + self->ln_off[l] + oc, n, oc,
                              acts + (size_t)B * self->xhat_off[l] + (size_t)r0 * oc,
                              acts + (size_t)B * self->rstd_off[l] + r0);
    }
}

void mlp_forward(const mlp_t *self, float *acts, const float *params, const float *inp, int B) {
    mlp_forward_rows(self, acts, params, inp, B, 0, B);
}

size_t mlp_split_scratch_floats(const mlp_t *self, int S) {
    int act_dim = self->sizes[0] - 1; /* upper bound; the split point is the caller's */
    return (size_t)S * self->sizes[1] + (size_t)act_dim * self->sizes[1] +
           (size_t)2 * MLP_SPLIT_CHUNK * self->max_width;
}

void mlp_forward_split(const mlp_t *self, float *out, float *scratch, const float *params,
                       const float *state, int state_dim, const float *action, int S, int R) {
    int c = self->sizes[0], h = self->sizes[1], act_dim = c - state_dim, L = self->n_layers;
    int n_out = self->sizes[L];
    const float *w = params + self->w_off[0], *b = params + self->b_off[0];
    float *state_pre = scratch, *wa_t = scratch + (size_t)S * h, *buf[2];
    buf[0] = wa_t + (size_t)act_dim * h;
    buf[1] = buf[0] + (size_t)MLP_SPLIT_CHUNK * self->max_width;
    int rows = S * R;
    /* state half once per state: (S, h) = state (S, state_dim) · W_s^T + b */
    s_linear_forward(state_pre, state, w, c, b, S, state_dim, h, 0);
    /* the action half has only act_dim columns: a product that narrow is a few axpys per row,
     * done here against W_a transposed (act_dim, h) and fused with the state half and the ReLU */
    for (int k = 0; k < act_dim; k++)
        for (int j = 0; j < h; j++)
            wa_t[(size_t)k * h + j] = w[(size_t)j * c + state_dim + k];
    /* the rest chunk by chunk, so each layer's output is still in cache for the next layer */
    for (int r0 = 0; r0 < rows; r0 += MLP_SPLIT_CHUNK) {
        int n = rows - r0 < MLP_SPLIT_CHUNK ? rows - r0 : MLP_SPLIT_CHUNK;
        float *x = L == 1 ? out + (size_t)r0 * n_out : buf[0];
        int ln = self->layer_norm;
        simd_kernels()->split_rows(x, state_pre, wa_t, action, r0, n, R, h, act_dim, L > 1 && !ln);
        if (L > 1 && ln)
            s_layer_norm_relu(x, x, params + self->ln_off[0], params + self->ln_off[0] + h, n, h, NULL, NULL);
        for (int l = 1; l < L; l++) {
            int oc = self->sizes[l + 1], hidden = l < L - 1;
            float *y = l == L - 1 ? out + (size_t)r0 * n_out : buf[l & 1];
            s_linear_forward(y, x, params + self->w_off[l], self->sizes[l], params + self->b_off[l], n,
                             self->sizes[l], oc, hidden && !ln);
            if (hidden && ln)
                s_layer_norm_relu(y, y, params + self->ln_off[l], params + self->ln_off[l] + oc, n, oc, NULL, NULL);
            x = y;
        }
    }
}

void mlp_backward(const mlp_t *self, float *dinp, float *dparams, float *dout, const float *inp,
                  const float *acts, const float *params, float *scratch, int B) {
    float *d = dout; /* gradient of the current layer's output */
    float *buf[2] = {scratch, scratch + (size_t)B * self->max_width};
    for (int l = self->n_layers - 1; l >= 0; l--) {
        int c = self->sizes[l], oc = self->sizes[l + 1];
        const float *in = l == 0 ? inp : acts + (size_t)B * self->act_off[l - 1];
        const float *w = params + self->w_off[l];
        float *dw = dparams + self->w_off[l], *db = dparams + self->b_off[l];
        /* dW (oc, c) += d^T (oc, B) · in (B, c) */
        gemm_sgemm(1, 0, oc, c, B, 1.0f, d, oc, in, c, 1.0f, dw, c);
        simd_kernels()->bias_grad(db, d, B, oc);
        if (l == 0 && !dinp)
            break;
        /* din (B, c) = d (B, oc) · W (oc, c) */
        float *din = l == 0 ? dinp : buf[l & 1];
        gemm_sgemm(0, 0, B, c, oc, 1.0f, d, oc, w, c, 0.0f, din, c);
        if (l > 0) /* through the ReLU of layer l-1: its output is `in` */
            simd_kernels()->relu_mask(din, in, (size_t)B * c);
        if (l > 0 && self->layer_norm) /* and through its LayerNorm */
            s_layer_norm_backward(din, acts + (size_t)B * self->xhat_off[l - 1], acts + (size_t)B * self->rstd_off[l - 1],
                                  params + self->ln_off[l - 1], dparams + self->ln_off[l - 1],
                                  dparams + self->ln_off[l - 1] + c, B, c);
        d = din;
    }
}

/* row i of layer l's pre-activation z = W in + b, in double (for the references) */
static void s_ref_pre(const mlp_t *self, double *z, const float *params, const float *in, int l, int i) {
    int c = self->sizes[l], oc = self->sizes[l + 1];
    const float *w = params + self->w_off[l], *b = params + self->b_off[l];
    for (int o = 0; o < oc; o++) {
        double s = b[o];
        for (int k = 0; k < c; k++)
            s += (double)in[(size_t)i * c + k] * w[(size_t)o * c + k];
        z[o] = s;
    }
}

/* LayerNorm of one row in double: z becomes x-hat; the returned value is 1/sqrt(var + eps) */
static double s_ref_normalise(double *z, int h) {
    double mean = 0, var = 0;
    for (int j = 0; j < h; j++)
        mean += z[j];
    mean /= h;
    for (int j = 0; j < h; j++)
        var += (z[j] - mean) * (z[j] - mean);
    double r = 1.0 / sqrt(var / h + (double)MLP_LN_EPS);
    for (int j = 0; j < h; j++)
        z[j] = (z[j] - mean) * r;
    return r;
}

void mlp_forward_ref(const mlp_t *self, float *acts, const float *params, const float *inp, int B) {
    double *z = malloc((size_t)self->max_width * sizeof *z);
    for (int l = 0; l < self->n_layers; l++) {
        int oc = self->sizes[l + 1], hidden = l < self->n_layers - 1;
        const float *in = l == 0 ? inp : acts + (size_t)B * self->act_off[l - 1];
        float *out = acts + (size_t)B * self->act_off[l];
        for (int i = 0; i < B; i++) {
            s_ref_pre(self, z, params, in, l, i);
            if (hidden && self->layer_norm) {
                double r = s_ref_normalise(z, oc);
                acts[(size_t)B * self->rstd_off[l] + i] = (float)r;
                for (int o = 0; o < oc; o++) {
                    acts[(size_t)B * self->xhat_off[l] + (size_t)i * oc + o] = (float)z[o];
                    z[o] = params[self->ln_off[l] + o] * z[o] + params[self->ln_off[l] + oc + o];
                }
            }
            for (int o = 0; o < oc; o++)
                out[(size_t)i * oc + o] = (float)(hidden && z[o] < 0 ? 0 : z[o]);
        }
    }
    free(z);
}

void mlp_backward_ref(const mlp_t *self, float *dinp, float *dparams, const float *dout,
                      const float *inp, const float *acts, const float *params, int B) {
    int L = self->n_layers;
    float *d = malloc((size_t)B * self->sizes[L] * sizeof(float));
    memcpy(d, dout, (size_t)B * self->sizes[L] * sizeof(float));
    for (int l = L - 1; l >= 0; l--) {
        int c = self->sizes[l], oc = self->sizes[l + 1];
        const float *in = l == 0 ? inp : acts + (size_t)B * self->act_off[l - 1];
        const float *w = params + self->w_off[l];
        for (int i = 0; i < B; i++)
            for (int o = 0; o < oc; o++) {
                float g = d[(size_t)i * oc + o];
                dparams[self->b_off[l] + o] += g;
                for (int k = 0; k < c; k++)
                    dparams[self->w_off[l] + (size_t)o * c + k] += g * in[(size_t)i * c + k];
            }
        float *din = calloc((size_t)B * c, sizeof(float));
        double *z = malloc((size_t)c * sizeof *z), *dy = malloc((size_t)c * sizeof *dy);
        for (int i = 0; i < B; i++) {
            for (int k = 0; k < c; k++) {
                double s = 0;
                for (int o = 0; o < oc; o++)
                    s += (double)d[(size_t)i * oc + o] * w[(size_t)o * c + k];
                dy[k] = (l > 0 && in[(size_t)i * c + k] <= 0.0f) ? 0.0 : s;
            }
            if (l > 0 && self->layer_norm) {
                /* layer l-1's LayerNorm, recomputed from its own input: dz = r (g dy - mean(g dy) -
                 * xhat mean(g dy xhat)); dg += dy xhat, dbeta += dy */
                const float *in2 = l == 1 ? inp : acts + (size_t)B * self->act_off[l - 2];
                s_ref_pre(self, z, params, in2, l - 1, i);
                double r = s_ref_normalise(z, c), m1 = 0, m2 = 0;
                const float *g = params + self->ln_off[l - 1];
                for (int k = 0; k < c; k++) {
                    dparams[self->ln_off[l - 1] + k] += (float)(dy[k] * z[k]);
                    dparams[self->ln_off[l - 1] + c + k] += (float)dy[k];
                    m1 += g[k] * dy[k];
                    m2 += g[k] * dy[k] * z[k];
                }
                m1 /= c, m2 /= c;
                for (int k = 0; k < c; k++)
                    dy[k] = r * (g[k] * dy[k] - m1 - z[k] * m2);
            }
            for (int k = 0; k < c; k++)
                din[(size_t)i * c + k] = (float)dy[k];
        }
        free(z), free(dy);
        free(d);
        d = din;
    }
    if (dinp)
        memcpy(dinp, d, (size_t)B * self->sizes[0] * sizeof(float));
    free(d);
}
