"""python3 -m mpo_actor: the Python actor from the command line (or, with --eval-episodes, a
deterministic evaluation of the learner's newest weights). The environment is any callable named
as MODULE:NAME that returns a Gymnasium-style environment; the default is this package's
Pendulum-v1."""
import argparse
import importlib
import logging
import os
import signal
import sys
import time


def _floats(text):
    return [float(x) for x in text.split(",")]


def _load(spec):
    """MODULE:NAME -> the object (a class or factory function making one environment)."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise argparse.ArgumentTypeError("--env wants MODULE:NAME, e.g. mpo_actor.pendulum:Pendulum")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def parser():
    p = argparse.ArgumentParser(
        prog="python3 -m mpo_actor",
        description="An mpo actor in Python: steps NUM_ENVS instances of a Python environment "
                    "(Gymnasium's reset/step API) with the learner's published weights and sends the "
                    "transitions to an mpo replay server (docs/python.md).")
    a = p.add_argument
    a("--replay", default="tcp://127.0.0.1:5555", help="the replay server (default %(default)s)")
    a("--learner", default="tcp://127.0.0.1:5556", help="the learner's weights endpoint (default %(default)s)")
    a("--env", default="mpo_actor.pendulum:Pendulum", type=_load,
      help="MODULE:NAME of a class or function that makes one environment (default %(default)s)")
    a("--env-name", default="Pendulum-v1",
      help="the environment's name on the wire: the replay server's and the learner's env (default %(default)s)")
    a("--num-envs", type=int, default=1, help="environments stepped together with one batched forward")
    a("--seed", type=int, default=42, help="seed of the environments and the action noise (default %(default)s)")
    a("--id", default="", help="actor id (default actor-<host>-<pid>-<random>)")
    a("--batch", type=int, default=64, help="transitions per message, actor_batch (default %(default)s)")
    a("--credit", type=int, default=2, help="batches unacknowledged at once, actor_credit (default %(default)s)")
    a("--ack-timeout", type=float, default=30.0, help="seconds without an ack before resending (default %(default)s)")
    a("--n-step", type=int, default=1, help="steps per transition; must be the learner's n_step (default 1)")
    a("--gamma", type=float, default=0.99, help="discount of n-step sums; the learner's gamma (default %(default)s)")
    a("--obs-dim", type=int, help="observation size, when the environment has no observation_space")
    a("--act-dim", type=int, help="action size, when the environment has no action_space")
    a("--action-low", type=_floats, help="comma-separated action lower bounds (without an action_space)")
    a("--action-high", type=_floats, help="comma-separated action upper bounds (without an action_space)")
    a("--total-steps", type=int, default=0, help="stop after this many env steps are stored (0: run until stopped)")
    a("--seconds", type=float, default=0, help="stop after this many seconds (0: no limit)")
    a("--log-level", default="info", choices=["error", "warn", "info", "debug"])
    a("--log-interval", type=float, default=5.0, help="seconds between progress lines (default %(default)s)")
    a("--eval-episodes", type=int, default=0,
      help="without --evaluate: insert nothing, wait for the learner's weights, run this many deterministic "
           "episodes (seeds SEED, SEED+1, ...), print 'Mean reward: X' and exit; with --evaluate: episodes per "
           "evaluation (default 10)")
    a("--play", metavar="FILE",
      help="run a policy file (mpo export) in the environment: --eval-episodes deterministic episodes "
           "(default 10; seeds SEED, SEED+1, ...), each return and their mean; needs no replay or learner")
    a("--evaluate", action="store_true",
      help="be an evaluator: insert nothing, evaluate the newest weights every --evaluator-every learner "
           "updates and report the result to the replay server (mpo stat, the learner's eval.csv)")
    a("--curve-key-file", default=os.environ.get("MPO_CURVE_KEY_FILE"),
      help="this process's CURVE key pair (NAME.key of `mpo keygen NAME`): both sockets use CURVE "
           "(docs/security.md; default $MPO_CURVE_KEY_FILE)")
    a("--curve-replay-key", default=os.environ.get("MPO_CURVE_REPLAY_KEY"),
      help="the replay server's public key, or a file holding it (default $MPO_CURVE_REPLAY_KEY)")
    a("--curve-weights-key", default=os.environ.get("MPO_CURVE_WEIGHTS_KEY"),
      help="the learner's public key, or a file holding it (default $MPO_CURVE_WEIGHTS_KEY)")
    a("--evaluator-every", type=int, default=10000,
      help="learner updates between evaluations with --evaluate (default %(default)s)")
    return p


def _play(args, env_opts, evaluation):
    """--play FILE: the policy file's mean action in the Python environment."""
    from . import policy_file
    from .vec_env import VecEnv
    try:
        pf = policy_file.load(args.play)
        opts = dict(env_opts, obs_dim=pf.obs_dim, act_dim=pf.act_dim)
        for key, value in (("action_low", pf.act_low), ("action_high", pf.act_high)):
            opts[key] = value if opts[key] is None else opts[key]
        venv = VecEnv(args.env, 1, args.seed, **opts)
    except ValueError as e:
        logging.getLogger("mpo_actor").error("%s", e)
        return 1
    episodes = args.eval_episodes or 10
    returns = [evaluation.episodes_return(pf.policy, venv, 1, args.seed + e)[0] for e in range(episodes)]
    for e, r in enumerate(returns):
        print("episode %d (seed %d): return %.2f" % (e, args.seed + e, r))
    print("mean return %.2f ± %.2f over %d episodes (%s, trained on %s)" % (
        sum(returns) / episodes, float(__import__("numpy").std(returns)), episodes, args.play, pf.env))
    return 0


def main(argv=None):
    args = parser().parse_args(argv)
    level = {"warn": logging.WARNING}.get(args.log_level, getattr(logging, args.log_level.upper(), logging.INFO))
    logging.basicConfig(level=level, format="%(asctime)s.%(msecs)03d pyactor %(levelname)s: %(message)s",
                        datefmt="%H:%M:%S")
    logging.Formatter.converter = time.gmtime
    from . import actor, curve, evaluation   # after logging is set: importing the protocol may run protoc
    env_opts = dict(obs_dim=args.obs_dim, act_dim=args.act_dim, action_low=args.action_low,
                    action_high=args.action_high)
    try:
        keys = curve.from_options(args.curve_key_file, args.curve_replay_key, args.curve_weights_key)
    except curve.CurveKeyError as e:
        logging.getLogger("mpo_actor").error("%s", e)
        return 1
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):   # the handler only sets a flag
        signal.signal(sig, lambda *_: stopping.append(1))
    if args.play:
        return _play(args, env_opts, evaluation)
    if args.evaluate:
        try:
            evaluation.run_evaluator(args.env, args.replay, args.learner, args.env_name, args.evaluator_every,
                                     args.eval_episodes or 10, args.seed, stop=lambda: bool(stopping),
                                     seconds=args.seconds, actor_id=args.id, curve=keys, **env_opts)
        except (actor.Refused, curve.CurveKeyError) as e:
            logging.getLogger("mpo_actor").error("%s", e)
            return 1
        return 0
    if args.eval_episodes > 0:
        mean, std, version = evaluation.evaluate(args.env, args.learner, args.env_name, args.eval_episodes,
                                               args.seed, curve=keys, **env_opts)
        print("eval of weights v%d: mean return %.2f ± %.2f over %d episodes" % (version, mean, std,
                                                                                  args.eval_episodes))
        print("Mean reward: %.2f" % mean)
        return 0
    try:
        actor.run(args.env, args.replay, args.learner, args.env_name, num_envs=args.num_envs,
                  total_steps=args.total_steps, seconds=args.seconds, stop=lambda: bool(stopping),
                  seed=args.seed, actor_id=args.id, actor_batch=args.batch, actor_credit=args.credit,
                  ack_timeout=args.ack_timeout, n_step=args.n_step, gamma=args.gamma,
                  log_interval=args.log_interval, curve=keys, **env_opts)
    except (actor.Refused, curve.CurveKeyError) as e:
        logging.getLogger("mpo_actor").error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
