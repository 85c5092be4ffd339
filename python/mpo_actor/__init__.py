"""mpo_actor: an mpo actor in Python, for environments written in Python.

It speaks the C actor's protocol (docs/protocol.md) to a C replay server (`mpo replay`) and takes
weights from a C learner (`mpo learner`), so any object with Gymnasium's reset/step API can feed
the learner, several instances at once with one batched numpy forward. docs/python.md has a
complete example.

    import mpo_actor
    from mpo_actor.pendulum import Pendulum
    mpo_actor.run(Pendulum, replay="tcp://127.0.0.1:5555", learner="tcp://127.0.0.1:5556",
                  env_name="Pendulum-v1", num_envs=4)

Only Debian's python3-zmq, python3-protobuf and python3-numpy are needed; the protocol module
comes from proto/mpo.proto (`make python`).
"""
from .actor import Actor, Refused, run
from .evaluation import evaluate, run_evaluator
from .vec_env import Box

__all__ = ["Actor", "Box", "Refused", "evaluate", "run", "run_evaluator"]
