#!/bin/bash
# The Python actor's pure parts (python/tests/test_units.py): outbox under credit, n-step windows,
# the weights checks and the numpy forward against a slow reference of the parameter layout, the
# termination/truncation rules of its environments, and its Pendulum against Pendulum-v1's facts.
set -u
. "$(dirname "$0")/lib.sh" # python_for_actor
MPO=${MPO_BIN:-build/mpo}
py=$(python_for_actor) || { echo "skipped: no python3 with zmq, protobuf and numpy (make deps: install-deps.sh --test)"; exit 77; }
[ -f "$(dirname "$MPO")/python/mpo_pb2.py" ] || { echo "FAIL: no $(dirname "$MPO")/python/mpo_pb2.py (make python)"; exit 1; }
PYTHONPATH=python MPO_PB2_DIR="$(dirname "$MPO")/python" "$py" -m unittest discover -s python/tests 2>&1
