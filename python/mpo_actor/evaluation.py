"""Deterministic evaluation of the learner's newest published weights in a Python environment.

The C roles evaluate the learner's checkpoint in the C environment; a Python environment can only
be evaluated here. This subscribes to the learner's weights socket, takes the first weights that
pass the actor's checks (policy.check_weights) with version >= min_version, and runs the policy's
mean action, no noise, for `episodes` episodes, episode e reset with seed + e.
"""
import time

import numpy as np
import zmq

from . import wire
from .policy import check_weights
from .vec_env import VecEnv, first_obs


def wait_for_weights(learner, env_name, obs_dim, act_dim, min_version=1, timeout=60.0):
    """The newest checked Policy the learner at `learner` publishes; TimeoutError after timeout."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.CONFLATE, 1)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(learner)
    deadline = time.monotonic() + timeout
    reason = "no weights"
    try:
        while time.monotonic() < deadline:
            if not sub.poll(100):
                continue
            msg, why = wire.parse(sub.recv())
            w = msg.weights if msg is not None and msg.WhichOneof("body") == "weights" else None
            policy, reason = check_weights(w, env_name, obs_dim, act_dim) if msg is not None else (None, why)
            if policy is not None and policy.version >= min_version:
                return policy
        raise TimeoutError("no usable weights from %s within %.0f s (last: %s)" % (learner, timeout, reason))
    finally:
        sub.close(linger=0)
        ctx.term()


def evaluate(env_fn, learner="tcp://127.0.0.1:5556", env_name="Pendulum-v1", episodes=10, seed=0,
             max_steps=100000, timeout=60.0, min_version=1, obs_dim=None, act_dim=None,
             action_low=None, action_high=None):
    """(mean return, std, weights version) of `episodes` deterministic episodes of env_fn()."""
    venv = VecEnv(env_fn, 1, seed, obs_dim, act_dim, action_low, action_high)
    env = venv.envs[0]
    policy = wait_for_weights(learner, env_name, venv.S, venv.A, min_version, timeout)
    returns = []
    for e in range(episodes):
        obs = np.asarray(first_obs(env.reset(seed=seed + e)), np.float32).reshape(1, -1)
        total = 0.0
        for _ in range(max_steps):
            a = venv.to_env(policy.act(obs, deterministic=True))[0]
            o, r, terminated, truncated, _ = env.step(a)
            total += float(r)
            obs = np.asarray(o, np.float32).reshape(1, -1)
            if terminated or truncated:
                break
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns)), policy.version
