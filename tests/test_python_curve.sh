#!/bin/bash
# The Python actor with CURVE (python/mpo_actor/curve.py) against a keyed mpo replay and learner on
# two free loopback ports, keys made by `mpo keygen`:
#   1. with its key pair listed by both servers, and their public keys, its transitions are stored
#      and it acts on the published weights (policy_version > 0);
#   2. without keys it is told the replay requires CURVE and exits 1, or, when ZeroMQ reports only a
#      failed handshake, says to set curve_key_file while it tries again;
#   3. with a key pair neither server lists it is refused, says which key to list, and exits 1;
#   4. a server key given without a key pair is a configuration error (exit 1, one line).
# Everything it starts stops by itself (the actors after 90 s at most, each wait is bounded; a
# refusal gets 20 s: a loaded 2-core CI machine starts Python slowly).
set -u
. "$(dirname "$0")/lib.sh" # python_for_actor, free_ports
MPO=${MPO_BIN:-build/mpo}
py=$(python_for_actor) || { echo "skipped: no python3 with zmq, protobuf and numpy (make deps: install-deps.sh --test)"; exit 77; }
"$py" -c 'import sys, zmq; sys.exit(0 if zmq.has("curve") else 1)' ||
    { echo "skipped: this pyzmq's libzmq has no CURVE"; exit 77; }
export PYTHONPATH=python MPO_PB2_DIR="$(dirname "$MPO")/python"
[ -f "$MPO_PB2_DIR/mpo_pb2.py" ] || { echo "FAIL: no $MPO_PB2_DIR/mpo_pb2.py (make python)"; exit 1; }
dir=$(mktemp -d /tmp/mpo-test-pycurve.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
read -r rport wport <<<"$(PY="$py" free_ports 2)"
rep="tcp://127.0.0.1:$rport" wts="tcp://127.0.0.1:$wport"
fail=0
for k in replay learner actor stranger; do
    "$MPO" keygen "$dir/$k" >/dev/null || { echo "FAIL: mpo keygen $k"; exit 1; }
done
cat "$dir/learner.pub" "$dir/actor.pub" >"$dir/replay-clients"

"$MPO" replay --bind "$rep" --set samples_per_insert=0 --set learning_starts=200 --set batch_size=64 \
    --set curve_key_file="$dir/replay.key" --set curve_authorized_keys="$dir/replay-clients" \
    --set log_level=warn >"$dir/replay.log" 2>&1 &
servers="$!"
"$MPO" learner --replay "$rep" --weights-bind "$wts" --set hidden=32 --set batch_size=64 --set learning_starts=200 \
    --set weight_sync_period=5 --set weight_publish_interval=0.5 --set sample_prefetch=1 --threads 1 \
    --set curve_key_file="$dir/learner.key" --set curve_replay_key="$dir/replay.pub" \
    --set curve_authorized_keys="$dir/actor.pub" --set log_level=warn >"$dir/learner.log" 2>&1 &
servers="$servers $!"
pids="$servers"
"$py" -m mpo_actor --replay "$rep" --learner "$wts" --id py-curve --seconds 90 \
    --curve-key-file "$dir/actor.key" --curve-replay-key "$dir/replay.pub" \
    --curve-weights-key "$(cut -d' ' -f1 "$dir/learner.pub")" >"$dir/actor.log" 2>&1 &
actor=$!
pids="$pids $actor"

# 1: stored and acting, as `mpo stat` with a listed key sees it
stat() {
    "$MPO" stat "$rep" --json --timeout 3 --set curve_key_file="$dir/learner.key" \
        --set curve_replay_key="$dir/replay.pub" 2>/dev/null | "$py" -c 'import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("0 0"); sys.exit()
a = [a for a in d["actors"] if a["id"] == "py-curve"]
print(a[0]["transitions"], a[0]["policy_version"]) if a else print("0 0")'
}
i=0
while [ $i -lt 40 ]; do
    read -r trans version <<<"$(stat)"
    [ "${trans:-0}" -gt 0 ] && [ "${version:-0}" -gt 0 ] && break
    sleep 0.5
    i=$((i + 1))
done
[ "${trans:-0}" -gt 0 ] || { echo "FAIL: the keyed replay stored no transition of the keyed Python actor"; fail=1; }
[ "${version:-0}" -gt 0 ] || { echo "FAIL: the keyed Python actor never acted on the learner's weights"; fail=1; }

# 2 and 3: refused for good, each with its line, within 20 s
refused() { # name, expected words, actor options...
    local name=$1 want=$2
    shift 2
    timeout 20 "$py" -m mpo_actor --replay "$rep" --learner "$wts" --id "$name" --seconds 30 "$@" \
        >"$dir/$name.log" 2>&1
    local rc=$?
    [ $rc = 1 ] || { echo "FAIL: the $name actor exited $rc, not 1"; fail=1; }
    grep -q "$want" "$dir/$name.log" || { echo "FAIL: the $name actor did not say '$want':"; tail -3 "$dir/$name.log"; fail=1; }
}
# ZeroMQ reports a plain client's mismatch with a CURVE server only when the client reads the
# server's greeting before the server hangs up: the actor either stops with it, or says what to
# check while ZeroMQ tries again (tests/test_curve.c, the same for the C actor)
timeout 20 "$py" -m mpo_actor --replay "$rep" --learner "$wts" --id plain --seconds 30 >"$dir/plain.log" 2>&1
rc=$?
if [ $rc = 1 ]; then
    grep -q "requires CURVE: set curve_key_file (docs/security.md)" "$dir/plain.log" ||
        { echo "FAIL: the plain actor exited 1 without saying why"; fail=1; }
elif [ $rc = 124 ]; then
    grep -q "if it requires CURVE: set curve_key_file" "$dir/plain.log" || { echo "FAIL: the plain actor kept trying in silence"; tail -3 "$dir/plain.log"; fail=1; }
else
    echo "FAIL: the plain actor exited $rc"; fail=1
fi
refused stranger "refused this process's CURVE key" --curve-key-file "$dir/stranger.key" \
    --curve-replay-key "$dir/replay.pub" --curve-weights-key "$dir/learner.pub"
# 4: a server key without a key pair
refused halfkeyed "need curve_key_file" --curve-replay-key "$dir/replay.pub"

kill -0 "$actor" 2>/dev/null || { echo "FAIL: the keyed actor stopped early"; tail -3 "$dir/actor.log"; fail=1; }
kill -TERM "$actor" 2>/dev/null
wait "$actor"
rc=$?
[ $rc = 0 ] || { echo "FAIL: the keyed actor exited $rc on SIGTERM"; fail=1; }
kill -TERM $servers 2>/dev/null
wait $servers 2>/dev/null
if [ $fail = 0 ]; then
    echo "Python actor with CURVE: $trans transitions stored at weights v$version; plain, unlisted and half-keyed actors refused"
fi
exit $fail
