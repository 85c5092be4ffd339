"""The wire protocol: mpo_pb2 (generated from proto/mpo.proto) and the messages an actor sends.

The protocol module is generated, not shipped, so that the Python actor can never drift from the
.proto the C roles are built from: `make python` runs Debian's protoc into build/python/. This
module finds it there (or in $MPO_PB2_DIR), and when it is missing but this is a checkout with
protoc on the PATH, generates it the same way, so `python3 -m mpo_actor` works from a fresh
checkout after `make` alone.
"""
import importlib.util
import os
import shutil
import subprocess
import sys

PROTOCOL_VERSION = 1  # PROTOCOL_VERSION_CURRENT
MAX_EPISODES = 4096   # WIRE_MAX_EPISODES: episodes one TransitionBatch may carry
MAX_BATCH = 65536     # WIRE_MAX_BATCH: transitions one TransitionBatch may carry

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _candidates():
    env = os.environ.get("MPO_PB2_DIR")
    if env:
        yield env
    yield os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(_REPO, "build", "python")


def _generate():
    """protoc proto/mpo.proto into build/python/, as `make python` does; the path or None."""
    proto = os.path.join(_REPO, "proto", "mpo.proto")
    protoc = shutil.which("protoc")
    if not protoc or not os.path.exists(proto):
        return None
    out = os.path.join(_REPO, "build", "python")
    os.makedirs(out, exist_ok=True)
    subprocess.run([protoc, "--python_out=" + out, "-I" + os.path.dirname(proto), proto], check=True)
    return os.path.join(out, "mpo_pb2.py")


def _load():
    # one module for the process: the descriptor goes into protobuf's default pool once
    if "mpo_pb2" in sys.modules:
        return sys.modules["mpo_pb2"]
    path = next((os.path.join(d, "mpo_pb2.py") for d in _candidates()
                 if os.path.exists(os.path.join(d, "mpo_pb2.py"))), None)
    if path is None:
        path = _generate()
    if path is None:
        raise ImportError("mpo_actor: no mpo_pb2.py (run `make python` in the mpo checkout, or set "
                          "MPO_PB2_DIR to the folder holding it)")
    spec = importlib.util.spec_from_file_location("mpo_pb2", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mpo_pb2"] = module
    spec.loader.exec_module(module)
    return module


pb = _load()


def message(**body):
    """A Message of our protocol version with one body, e.g. message(hello=pb.Hello(...))."""
    msg = pb.Message(version=PROTOCOL_VERSION)
    for name, value in body.items():
        getattr(msg, name).CopyFrom(value)
    return msg


def hello(env_name, obs_dim, act_dim, actor_id, incarnation, role=None):
    """An actor's (or evaluator's) Hello, encoded."""
    h = pb.Hello(role=pb.ROLE_ACTOR if role is None else role, env=env_name, obs_dim=obs_dim,
                 act_dim=act_dim, id=actor_id, incarnation=incarnation)
    return message(hello=h).SerializeToString()


def transition_batch(batch, stats=None):
    """One outbox batch (outbox.Batch) as an encoded TransitionBatch; stats: [(name, value)]."""
    n = batch.n
    tb = pb.TransitionBatch(seq=batch.seq, n=n, policy_version=batch.policy_version)
    # tolist() hands protobuf plain floats, far faster than iterating numpy scalars
    tb.obs.extend(batch.obs[:n].ravel().tolist())
    tb.action.extend(batch.action[:n].ravel().tolist())
    tb.reward.extend(batch.reward[:n].tolist())
    tb.done.extend(batch.done[:n].tolist())
    tb.next_obs.extend(batch.next_obs[:n].ravel().tolist())
    for ret, length in batch.episodes:
        tb.episodes.add(episode_return=ret, length=length)
    for name, value in stats or ():
        tb.stats.add(name=name, value=value)
    return message(transitions=tb).SerializeToString()


def parse(data):
    """A received frame as a Message; (None, reason) when it is not one of ours."""
    msg = pb.Message()
    try:
        msg.ParseFromString(data)
    except Exception as e:  # DecodeError; the C extension may raise others on garbage
        return None, "not a protobuf Message (%s)" % e
    if msg.version != PROTOCOL_VERSION:
        return None, "protocol version %d, this side speaks %d" % (msg.version, PROTOCOL_VERSION)
    if msg.WhichOneof("body") is None:
        return None, "a message with no body"
    return msg, ""
