"""Policy files (docs/policy-file.md): a trained policy that runs without the learner.

`mpo export CHECKPOINT -o FILE` writes one; load() reads it into the same Policy the actor builds
from published weights, with the environment's name and action bounds, so a Python program can
act with a trained policy without a replay server or a learner (`python3 -m mpo_actor --play
FILE`). The reader makes nn/policy_file.c's checks, in its order: the magic and format version,
every header line, a network shape and parameter count that fit, finite bounds, the size, the
FNV-1a 64 checksum of the parameter bytes, and finite parameters.
"""
import math

import numpy as np

from .policy import HIDDEN_MAX, POLICY_TYPES, Policy, layer_sizes, n_params

MAGIC = "mpo-policy"
VERSION = 1
MAX_ACT = 64   # POLICY_FILE_MAX_ACT


class PolicyFile:
    """What a policy file holds: the environment's name, the policy, the action bounds."""

    def __init__(self, env, policy, act_low, act_high):
        self.env, self.policy, self.act_low, self.act_high = env, policy, act_low, act_high

    @property
    def obs_dim(self):
        return self.policy.sizes[0]

    @property
    def act_dim(self):
        return self.policy.act_dim


def fnv1a64(data):
    """FNV-1a 64 of the bytes, as common/fnv.h."""
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class _Header:
    """The header's lines, one at a time, each 'name VALUE...' ending in a newline."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def line(self, name=None):
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise ValueError("a truncated header")
        text = self.data[self.pos:end].decode("ascii", "replace")
        self.pos = end + 1
        if name is None:
            return text
        head, _, value = text.partition(" ")
        if head != name or not value:
            raise ValueError("a bad %s line" % name)
        return value


def _int(value, what, lo, hi):
    try:
        x = int(value.split()[0])
    except ValueError:
        raise ValueError("a bad %s" % what) from None
    if not lo <= x <= hi:
        raise ValueError("a bad %s" % what)
    return x


def _bounds(value, A):
    try:
        v = np.array([float(x) for x in value.split()[:A]], np.float32)
    except ValueError:
        raise ValueError("bad action bounds") from None
    if v.size != A or not np.all(np.isfinite(v)):
        raise ValueError("bad action bounds")
    return v


def load(path):
    """The PolicyFile at path; ValueError naming the file and the problem."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        return _parse(data)
    except (OSError, ValueError) as e:
        raise ValueError("policy file '%s': %s" % (path, e)) from None


def _parse(data):
    h = _Header(data)
    magic = h.line().split()
    if len(magic) != 2 or magic[0] != MAGIC:
        raise ValueError("not an mpo policy file")
    if magic[1] != str(VERSION):
        raise ValueError("another format version")
    env = h.line("env").split()[0]
    S = _int(h.line("obs_dim"), "obs_dim", 1, 1 << 20)
    A = _int(h.line("act_dim"), "act_dim", 1, MAX_ACT)
    hidden = _int(h.line("hidden"), "network shape", 0, HIDDEN_MAX)
    layers = _int(h.line("layers"), "network shape", 0, 1 << 20)
    sizes = layer_sizes(S, hidden, layers, A)
    if sizes is None:
        raise ValueError("a bad network shape")
    policy_type = h.line("policy").split()[0]
    if policy_type not in POLICY_TYPES:
        raise ValueError("an unknown policy type")
    try:
        min_std = float(h.line("min_std").split()[0])
    except ValueError:
        raise ValueError("a bad min_std") from None
    if not (min_std > 0) or not math.isfinite(min_std):
        raise ValueError("a bad min_std")
    low, high = _bounds(h.line("act_low"), A), _bounds(h.line("act_high"), A)
    n = _int(h.line("params"), "parameter count", 0, 1 << 40)
    if n != n_params(sizes):
        raise ValueError("a parameter count that does not fit the layout")
    try:
        checksum = int(h.line("fnv1a64").split()[0], 16)
    except ValueError:
        raise ValueError("a bad header end") from None
    if h.line() != "end":
        raise ValueError("a bad header end")
    body = data[h.pos:]
    if len(body) < 4 * n:
        raise ValueError("a truncated file")
    if len(body) > 4 * n:
        raise ValueError("bytes after the parameters")
    if fnv1a64(body) != checksum:
        raise ValueError("a checksum that does not match (a damaged file)")
    params = np.frombuffer(body, "<f4").astype(np.float32)
    if not np.all(np.isfinite(params)):
        raise ValueError("a parameter that is not finite")
    return PolicyFile(env, Policy(0, sizes, params, policy_type, min_std), low, high)
