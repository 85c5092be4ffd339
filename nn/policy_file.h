/* policy_file: a trained policy as one small file that `mpo play`, the Python package and anyone
 * else can load without the learner: the network's layout, the action bounds and the actor's
 * parameters (docs/policy-file.md has the format byte by byte).
 *
 *   mpo-policy 1                 magic and format version
 *   env HalfCheetah-v4           the environment it was trained on
 *   obs_dim 17
 *   act_dim 6
 *   hidden 256                   units per hidden layer
 *   layers 2                     hidden layers
 *   policy squashed              squashed | gaussian
 *   min_std 0.001
 *   act_low -1 -1 …              act_dim numbers
 *   act_high 1 1 …
 *   params 73484                 float32 count
 *   fnv1a64 0123456789abcdef     FNV-1a 64 of the parameter bytes
 *   end
 *   <params: float32, little-endian, the layout of nn/mlp.h>
 */
#ifndef MPO_POLICY_FILE_H
#define MPO_POLICY_FILE_H

#include <stddef.h>

#include "nn/mlp.h"
#include "nn/policy.h"

#define POLICY_FILE_VERSION 1
#define POLICY_FILE_MAX_ACT 64
#define POLICY_FILE_ENV_MAX 128

typedef struct {
    char env[POLICY_FILE_ENV_MAX];
    int obs_dim, act_dim, hidden, layers;
    policy_type_t policy;
    float min_std;
    float act_low[POLICY_FILE_MAX_ACT], act_high[POLICY_FILE_MAX_ACT];
    mlp_t net;     /* from the sizes above; net.n_params floats in params */
    float *params; /* owned: policy_file_free */
} policy_file_t;

/* Write p (its net and params) to path, through a temporary file and a rename. 0, or -1 with a reason. */
int policy_file_write(const char *path, const policy_file_t *p, char *err, size_t errlen);
/* Read path into *p (params allocated). 0, or -1 with a reason naming the file and the problem: not
 * a policy file, another format version, a bad field, a truncated file, trailing bytes, a checksum
 * that does not match, a non-finite parameter. */
int policy_file_read(const char *path, policy_file_t *p, char *err, size_t errlen);
void policy_file_free(policy_file_t *p);

#endif
