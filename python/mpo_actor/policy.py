"""The policy the learner publishes, checked and run in numpy.

A PolicyWeights message carries the actor network as one flat float array in the layout of
nn/mlp.h: for each layer l, W_l of shape (out, in) row-major, then b_l (out); ReLU after every
layer but the last. The output has 2A columns: the mean mu, then a raw scale with
sigma = softplus(raw) + min_std (nn/policy.h). A "squashed" policy acts with a = tanh(u),
u ~ N(mu, sigma); a "gaussian" one with a = u. Actions stay in this policy space ([-1, 1] when
squashed) on the wire; only the environment sees them scaled to its bounds.

check_weights is actor/weights_check.c in Python: weights for another environment, other sizes,
an unknown policy type, a shape whose parameter count does not match, a bad min_std or any
non-finite parameter are refused with a reason, and the actor keeps what it holds.
"""
import math

import numpy as np

HIDDEN_MAX = 8192    # CONFIG_HIDDEN_MAX
MAX_LAYERS = 8       # MLP_MAX_LAYERS: linear layers, so at most 7 hidden ones
POLICY_TYPES = ("squashed", "gaussian")


def layer_sizes(obs_dim, hidden, layers, act_dim):
    """[in, hidden × layers, 2A]: the sizes mlp_init gives the actor network, or None."""
    if layers < 0 or layers + 1 > MAX_LAYERS or (layers > 0 and hidden < 1):
        return None
    return [obs_dim] + [hidden] * layers + [2 * act_dim]


def n_params(sizes):
    return sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:]))


def softplus(x):
    """log(1 + e^x) as policy_softplus: x itself above 20, where float32 would overflow."""
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


class Policy:
    """One version of the actor network: acts on a batch of observations."""

    def __init__(self, version, sizes, params, policy_type, min_std, learner_step=0):
        self.version = version
        self.learner_step = learner_step
        self.sizes = sizes
        self.policy_type = policy_type
        self.min_std = np.float32(min_std)
        self.act_dim = sizes[-1] // 2
        self.layers = []
        off = 0
        for i, o in zip(sizes[:-1], sizes[1:]):
            w = params[off:off + o * i].reshape(o, i)
            off += o * i
            b = params[off:off + o]
            off += o
            # W transposed once here, so each forward is x @ W^T as one contiguous matmul
            self.layers.append((np.ascontiguousarray(w.T), b))

    def forward(self, obs):
        """The network's output (K, 2A) for observations (K, obs_dim), in float32."""
        x = np.asarray(obs, dtype=np.float32)
        last = len(self.layers) - 1
        for l, (wt, b) in enumerate(self.layers):
            x = x @ wt + b
            if l < last:
                np.maximum(x, 0.0, out=x)
        return x

    def act(self, obs, rng=None, deterministic=False):
        """Policy-space actions (K, A): sampled with rng, or the mean when deterministic."""
        out = self.forward(obs)
        A = self.act_dim
        u = out[:, :A]
        if not deterministic:
            sigma = softplus(out[:, A:]) + self.min_std
            u = u + sigma * rng.standard_normal(u.shape, dtype=np.float32)
        return np.tanh(u) if self.policy_type == "squashed" else u


def check_weights(w, env_name, obs_dim, act_dim):
    """(Policy, "") for a PolicyWeights this actor can act with, else (None, reason)."""
    if w is None or not w.HasField("layout"):
        return None, "not a PolicyWeights with a layout"
    lay = w.layout
    if lay.env != env_name:
        return None, "weights for '%.64s', this actor runs '%s'" % (lay.env, env_name)
    if lay.obs_dim != obs_dim or lay.act_dim != act_dim:
        return None, "weights for obs %d act %d, this actor has obs %d act %d" % (
            lay.obs_dim, lay.act_dim, obs_dim, act_dim)
    if lay.policy not in POLICY_TYPES:
        return None, "unknown policy type '%.32s'" % lay.policy
    sizes = layer_sizes(obs_dim, lay.hidden, lay.layers, act_dim)
    if lay.hidden < 1 or lay.hidden > HIDDEN_MAX or sizes is None:
        return None, "bad network shape hidden %d layers %d" % (lay.hidden, lay.layers)
    need = n_params(sizes)
    if len(w.params) != need:
        return None, "%d parameters, the layout needs %d" % (len(w.params), need)
    if not (lay.min_std > 0) or not math.isfinite(lay.min_std):
        return None, "min_std %g" % lay.min_std
    params = np.array(w.params, dtype=np.float32)
    bad = np.flatnonzero(~np.isfinite(params))
    if bad.size:
        return None, "weights v%d: parameter %d is not finite" % (w.version, bad[0])
    return Policy(w.version, sizes, params, lay.policy, lay.min_std, w.learner_step), ""
