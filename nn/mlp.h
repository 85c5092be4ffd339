/* mlp: a fully connected ReLU network over row-major batches (llm.c style).
 *
 * The layout (sizes, offsets) is a small value struct; the parameters live in a caller-owned flat
 * float buffer of mlp->n_params floats, so gradients, Adam moments and target copies use the same
 * layout and every whole-network operation is one loop. Layer l maps sizes[l] -> sizes[l+1] with
 * W_l (sizes[l+1], sizes[l]) row-major and b_l (sizes[l+1]); ReLU after every layer but the last.
 *
 * With layer_norm, every hidden layer is ReLU(LayerNorm(W x + b)), LayerNorm(z) = g * (z - mean) /
 * sqrt(var + MLP_LN_EPS) + beta over the layer's units of one row, with g and beta (ones and zeros at
 * the start) after every W and b in the flat buffer, so the linear layers' offsets do not move.
 *
 * Activations cache: acts holds, for each layer, its (B, sizes[l+1]) output, post-ReLU for hidden
 * layers, one after another, then with layer_norm each hidden layer's normalised values (B, units)
 * and 1/sqrt(var + eps) (B) for the backward: mlp_acts_floats(mlp, B) floats. The network output is
 * mlp_output(mlp, acts, B). */
#ifndef MPO_MLP_H
#define MPO_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"

#define MLP_MAX_LAYERS 8
#define MLP_LN_EPS 1e-5f

typedef struct {
    int n_layers;                    /* linear layers */
    int sizes[MLP_MAX_LAYERS + 1];   /* sizes[0] input, sizes[n_layers] output */
    size_t w_off[MLP_MAX_LAYERS];    /* offset of W_l in the flat buffer */
    size_t b_off[MLP_MAX_LAYERS];    /* offset of b_l */
    size_t act_off[MLP_MAX_LAYERS];  /* per-row offset of layer l's output in the cache */
    size_t n_params;
    int max_width;                   /* widest layer output */
    int width_sum;                   /* floats per row of the activation cache */
    int layer_norm;                  /* hidden layers normalised (see above) */
    size_t ln_off[MLP_MAX_LAYERS];   /* hidden layer l's g (its units), then its beta */
    size_t xhat_off[MLP_MAX_LAYERS]; /* per-row offset of its normalised values in the cache */
    size_t rstd_off[MLP_MAX_LAYERS]; /* and of its 1/sqrt(var + eps), one float per row */
} mlp_t;

/* in -> `depth` hidden layers of `hidden` units -> out. 0, or -1 when depth is out of range. */
int mlp_init(mlp_t *self, int in, int hidden, int depth, int out);
/* the same with LayerNorm in every hidden layer when layer_norm is 1 */
int mlp_init_ln(mlp_t *self, int in, int hidden, int depth, int out, int layer_norm);
/* PyTorch's nn.Linear initialisation: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); LayerNorm's g 1
 * and beta 0 (no random draw: the linear layers draw as without it). */
void mlp_init_params(const mlp_t *self, float *params, rng_t *rng);

static inline size_t mlp_acts_floats(const mlp_t *self, int B) { return (size_t)B * self->width_sum; }
static inline float *mlp_output(const mlp_t *self, float *acts, int B) {
    return acts + (size_t)B * self->act_off[self->n_layers - 1];
}
/* FLOPs (multiply-adds counted as 2) of the matrix products in a forward of B rows. */
double mlp_forward_flops(const mlp_t *self, int B);

/* acts (B, width_sum) <- network(inp (B, sizes[0])) */
void mlp_forward(const mlp_t *self, float *acts, const float *params, const float *inp, int B);
/* Rows r0 .. r0+n-1 of the same forward: inp is those n rows, acts the whole cache of B rows. Rows
 * are independent, so slices of a batch may run on different threads. */
void mlp_forward_rows(const mlp_t *self, float *acts, const float *params, const float *inp, int B, int r0,
                      int n);

/* The same network, output only, on rows that pair one of S states with R actions each, the input
 * being [state | action] with the state first: the state half of the first layer, W_s·s + b, is
 * computed once per state and shared by its R rows, and the rows go through the layers in chunks
 * of MLP_SPLIT_CHUNK so activations stay in cache. out (S*R, sizes[n]); row s*R + r is (state s,
 * action s*R + r). scratch holds mlp_split_scratch_floats(self, S) floats. */
#define MLP_SPLIT_CHUNK 256
size_t mlp_split_scratch_floats(const mlp_t *self, int S);
void mlp_forward_split(const mlp_t *self, float *out, float *scratch, const float *params,
                       const float *state, int state_dim, const float *action, int S, int R);

/* Backward of mlp_forward. dparams (n_params) += gradient; dinp (B, sizes[0]) = gradient with
 * respect to the input, or NULL to skip it; dout (B, sizes[n]) is the gradient of the output and
 * is used as scratch (clobbered); scratch holds 2 * B * max_width floats. */
void mlp_backward(const mlp_t *self, float *dinp, float *dparams, float *dout, const float *inp,
                  const float *acts, const float *params, float *scratch, int B);

/* Slow, obvious references of the same two functions, for the tests. */
void mlp_forward_ref(const mlp_t *self, float *acts, const float *params, const float *inp, int B);
void mlp_backward_ref(const mlp_t *self, float *dinp, float *dparams, const float *dout,
                      const float *inp, const float *acts, const float *params, int B);

#endif
