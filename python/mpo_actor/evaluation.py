"""Deterministic evaluation of the learner's published weights in a Python environment.

The C roles evaluate in the C environments; a Python environment can only be evaluated here.
Both ways subscribe to the learner's weights socket and run the policy's mean action, no noise,
episode e reset with seed + e:

- evaluate(): once, with the first weights that pass the actor's checks (version >= min_version),
  returning the mean return; `python3 -m mpo_actor --eval-episodes N`.
- run_evaluator(): actor/evaluator.c in Python: says Hello as EVALUATOR, inserts nothing, and each
  time the newest weights were taken `every` or more learner updates after the last evaluated,
  evaluates them and sends an EvalResult to the replay server, which shows it in `mpo stat` and
  relays it to the learner's eval.csv; `python3 -m mpo_actor --evaluate`.
"""
import logging
import time

import numpy as np
import zmq

from . import wire
from .actor import Refused, make_id
from .policy import check_weights
from .vec_env import VecEnv, first_obs

log = logging.getLogger("mpo_actor")

EVALUATE_SEED_OFFSET = 1000003   # env/evaluate.h: evaluation seeds apart from the training ones


def _weights_socket(ctx, learner, curve=None):
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        curve.client(sub, curve.weights_key, "curve_weights_key")
    sub.setsockopt(zmq.CONFLATE, 1)   # before connect: only the newest weights wait
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(learner)
    return sub


def _recv_policy(sub, env_name, S, A):
    """(Policy or None, reason) for the weights message waiting on sub."""
    msg, why = wire.parse(sub.recv())
    if msg is None:
        return None, why
    w = msg.weights if msg.WhichOneof("body") == "weights" else None
    return check_weights(w, env_name, S, A)


def episodes_return(policy, venv, episodes, seed, max_steps=100000):
    """(mean, std) of the returns of `episodes` deterministic episodes of venv's first environment."""
    env = venv.envs[0]
    returns = []
    for e in range(episodes):
        obs = np.asarray(first_obs(env.reset(seed=seed + e)), np.float32).reshape(1, -1)
        total = 0.0
        for _ in range(max_steps):
            o, r, terminated, truncated, _ = env.step(venv.to_env(policy.act(obs, deterministic=True))[0])
            total += float(r)
            obs = np.asarray(o, np.float32).reshape(1, -1)
            if terminated or truncated:
                break
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns))


def wait_for_weights(learner, env_name, obs_dim, act_dim, min_version=1, timeout=60.0, curve=None):
    """The newest checked Policy the learner at `learner` publishes; TimeoutError after timeout."""
    ctx = zmq.Context()
    sub = _weights_socket(ctx, learner, curve)
    deadline = time.monotonic() + timeout
    reason = "no weights"
    try:
        while time.monotonic() < deadline:
            if sub.poll(100):
                policy, reason = _recv_policy(sub, env_name, obs_dim, act_dim)
                if policy is not None and policy.version >= min_version:
                    return policy
        raise TimeoutError("no usable weights from %s within %.0f s (last: %s)" % (learner, timeout, reason))
    finally:
        sub.close(linger=0)
        ctx.term()


def evaluate(env_fn, learner="tcp://127.0.0.1:5556", env_name="Pendulum-v1", episodes=10, seed=0,
             max_steps=100000, timeout=60.0, min_version=1, obs_dim=None, act_dim=None,
             action_low=None, action_high=None, curve=None):
    """(mean return, std, weights version) of `episodes` deterministic episodes of env_fn();
    curve: a curve.Curve when the learner uses CURVE."""
    venv = VecEnv(env_fn, 1, seed, obs_dim, act_dim, action_low, action_high)
    policy = wait_for_weights(learner, env_name, venv.S, venv.A, min_version, timeout, curve)
    mean, std = episodes_return(policy, venv, episodes, seed, max_steps)
    return mean, std, policy.version


def _send(dealer, data):
    try:
        dealer.send(data, zmq.NOBLOCK)
        return True
    except zmq.Again:
        return False


def run_evaluator(env_fn, replay="tcp://127.0.0.1:5555", learner="tcp://127.0.0.1:5556", env_name="Pendulum-v1",
                  every=10000, episodes=10, seed=42, stop=None, seconds=0.0, actor_id="", obs_dim=None,
                  act_dim=None, action_low=None, action_high=None, max_steps=100000, curve=None):
    """Evaluate the learner's weights every `every` updates and report each result to the replay
    server, until stop() is true or `seconds` pass. Returns how many evaluations it sent. Raises
    Refused when the replay server refuses it for good (another environment or sizes)."""
    venv = VecEnv(env_fn, 1, seed, obs_dim, act_dim, action_low, action_high)
    ctx = zmq.Context()
    sub = _weights_socket(ctx, learner, curve)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        curve.client(dealer, curve.replay_key, "curve_replay_key")
    dealer.connect(replay)
    # an evaluator has no incarnation: it inserts nothing, so there is nothing to dedup
    hello = wire.hello(env_name, venv.S, venv.A, actor_id or make_id(), 0, role=wire.pb.ROLE_EVALUATOR)
    _send(dealer, hello)
    every = max(1, every)
    next_at, evals, started = every, 0, time.monotonic()
    log.info("evaluator: %s, %d episodes every %d learner updates; replay %s, weights %s", env_name, episodes,
             every, replay, learner)
    try:
        while not (stop and stop()) and not (seconds and time.monotonic() - started >= seconds):
            while dealer.poll(0):   # acks of our hellos, or why the replay server refuses us
                msg, _ = wire.parse(dealer.recv_multipart()[-1])
                if msg is not None and msg.WhichOneof("body") == "error":
                    if msg.error.code in (wire.pb.ERROR_WRONG_ENV, wire.pb.ERROR_WRONG_SIZES,
                                          wire.pb.ERROR_WRONG_VERSION):
                        raise Refused("the replay server refuses this evaluator: %s" % msg.error.reason)
                    log.warning("the replay server refused a message: %s", msg.error.reason)
            if not sub.poll(100):
                continue
            policy, reason = _recv_policy(sub, env_name, venv.S, venv.A)
            if policy is None:
                log.warning("refusing weights: %s", reason)
                continue
            if policy.learner_step < next_at:
                continue
            t0 = time.monotonic()
            mean, std = episodes_return(policy, venv, episodes, seed + EVALUATE_SEED_OFFSET, max_steps)
            next_at = (policy.learner_step // every + 1) * every
            evals += 1
            log.info("evaluation of weights v%d (%d updates): return %.2f ± %.2f over %d episodes in %.1f s",
                     policy.version, policy.learner_step, mean, std, episodes, time.monotonic() - t0)
            result = wire.pb.EvalResult(policy_version=policy.version, learner_step=policy.learner_step,
                                        mean_return=mean, std_return=std, episodes=episodes)
            # Hello first every time: a replay server restarted since the last one knows us again
            if not (_send(dealer, hello) and _send(dealer, wire.message(eval_result=result).SerializeToString())):
                log.warning("evaluation not sent to the replay server: its queue is full")
    finally:
        sub.close(linger=0)
        dealer.close(linger=0)
        ctx.term()
    return evals
