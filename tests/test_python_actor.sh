#!/bin/bash
# The Python actor (python/mpo_actor, its Pendulum, 2 environments) against a real mpo replay and
# mpo learner (Pendulum-v1, small settings) on two free loopback ports:
#   1. its transitions are stored: its id in the replay's actor table with transitions > 0, its
#      own figures beside them, and nothing refused;
#   2. it acts on the published weights: its policy_version > 0 in that table;
#   3. it rides through a replay restart: the replay is killed (SIGKILL) and a new one starts on
#      the same port; the actor sees its connection come back, says Hello again and resends, and
#      inserts resume within a few seconds, with 0 duplicates and no refusal but the restart's
#      no_hello;
#   4. a second live process started with its id is refused (id_in_use) and says why;
#   5. a Python evaluator (--evaluate) beside it reports evaluations the replay counts;
#   6. SIGTERM stops the actor and the evaluator with status 0;
#   7. the learner's checkpoint exported as a policy file plays in the Python Pendulum with the
#      returns `mpo play` gets in the C one.
# Everything it starts stops by itself (the actor after 50 s at most, each wait is bounded).
set -u
. "$(dirname "$0")/lib.sh" # python_for_actor, free_ports
MPO=${MPO_BIN:-build/mpo}
py=$(python_for_actor) || { echo "skipped: no python3 with zmq, protobuf and numpy (make deps: install-deps.sh --test)"; exit 77; }
export PYTHONPATH=python MPO_PB2_DIR="$(dirname "$MPO")/python"
[ -f "$MPO_PB2_DIR/mpo_pb2.py" ] || { echo "FAIL: no $MPO_PB2_DIR/mpo_pb2.py (make python)"; exit 1; }
dir=$(mktemp -d /tmp/mpo-test-python.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
read -r rport wport <<<"$(PY="$py" free_ports 2)"
rep="tcp://127.0.0.1:$rport" wts="tcp://127.0.0.1:$wport"
fail=0
t0=$SECONDS
# samples_per_insert 0: neither side waits for the other; learning_starts 200: weights come soon
replay() {
    "$MPO" replay --bind "$rep" --set samples_per_insert=0 --set learning_starts=200 --set batch_size=64 \
        --set log_level=warn >"$dir/replay$1.log" 2>&1 &
}
# one line: inserts rejected duplicates no_hello, then the actor's transitions, policy version and
# its own env_steps_total (0 0 0 when it is not in the table), then evals_total
stat() {
    "$MPO" stat "$rep" --json --timeout 3 2>/dev/null | "$py" -c 'import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("0 0 0 0 0 0 0 0"); sys.exit()
a = [a for a in d["actors"] if a["id"] == "py-actor"]
a = a[0] if a else {"transitions": 0, "policy_version": 0, "stats": {}}
print(d["inserts_total"], d["rejected_total"], d["duplicates_total"], d["rejected"].get("no_hello", 0),
      a["transitions"], a["policy_version"], int(a["stats"].get("env_steps_total", 0)), d["evals_total"])'
}

replay a
ra=$!
pids="$ra"
"$MPO" learner --replay "$rep" --weights-bind "$wts" --set hidden=32 --set batch_size=64 --set learning_starts=200 \
    --set weight_sync_period=5 --set weight_publish_interval=0.5 --set sample_prefetch=1 --threads 1 \
    --checkpoint-dir "$dir/ckpt" --set log_level=warn >"$dir/learner.log" 2>&1 &
learner=$!
pids="$pids $learner"
"$py" -m mpo_actor --replay "$rep" --learner "$wts" --id py-actor --num-envs 2 --seconds 50 --log-interval 1 \
    >"$dir/actor.log" 2>&1 &
actor=$!
pids="$pids $actor"
"$py" -m mpo_actor --replay "$rep" --learner "$wts" --evaluate --evaluator-every 20 --eval-episodes 1 --seconds 50 \
    >"$dir/evaluator.log" 2>&1 &
evaluator=$!
pids="$pids $evaluator"

# 1 and 2: stored, and acting with weights
i=0
while [ $i -lt 40 ]; do
    read -r inserts rejected dups no_hello trans version steps evals <<<"$(stat)"
    [ "${trans:-0}" -gt 0 ] && [ "${version:-0}" -gt 0 ] && [ "${steps:-0}" -gt 0 ] && [ "${evals:-0}" -gt 0 ] && break
    sleep 0.5
    i=$((i + 1))
done
[ "${trans:-0}" -gt 0 ] || { echo "FAIL: the replay stored no transition of py-actor"; fail=1; }
[ "${version:-0}" -gt 0 ] || { echo "FAIL: py-actor never acted with published weights (policy_version 0)"; fail=1; }
[ "${steps:-0}" -gt 0 ] || { echo "FAIL: py-actor's own figures did not reach the replay"; fail=1; }
[ "${evals:-0}" -gt 0 ] || { echo "FAIL: the Python evaluator reported no evaluation"; fail=1; }
[ "${rejected:-x}" = 0 ] || { echo "FAIL: $rejected messages refused before the restart"; fail=1; }
before=$trans

# 3: the replay restarted on the same port
kill -9 "$ra"
wait "$ra" 2>/dev/null
sleep 0.5
replay b
rb=$!
pids="$pids $rb"
i=0
while [ $i -lt 16 ]; do
    sleep 0.5
    read -r inserts rejected dups no_hello trans version steps evals <<<"$(stat)"
    [ "${trans:-0}" -gt 0 ] && break
    i=$((i + 1))
done
waited_ms=$(((i + 1) * 500))
kill -0 "$actor" 2>/dev/null || { echo "FAIL: the actor died with the server"; fail=1; }
[ "${trans:-0}" -gt 0 ] || { echo "FAIL: py-actor inserted nothing into the new server within 8 s"; fail=1; }
[ "${dups:-x}" = 0 ] || { echo "FAIL: $dups duplicates after the restart"; fail=1; }
[ "${version:-0}" -gt 0 ] || { echo "FAIL: py-actor's batches to the new server carry policy_version 0"; fail=1; }
# Batches sent as the old server died can reach the new one before the actor's Hello (at most
# actor_credit + 1), and so can the learner's request in flight (sample_prefetch 1) and an
# evaluation whose Hello went to the old server: no_hello is how they learn of the restart. Any
# other refusal fails.
other=$((${rejected:-999} - ${no_hello:-0}))
[ "$other" = 0 ] && [ "${no_hello:-0}" -le 5 ] ||
    { echo "FAIL: the new server refused $rejected messages ($no_hello no_hello)"; fail=1; }
grep -q "connected to the replay server again" "$dir/actor.log" ||
    { echo "FAIL: the actor did not see its connection come back"; fail=1; }
grep -q "saying hello again" "$dir/actor.log" || { echo "FAIL: the actor did not say hello again"; fail=1; }

# a second live process with the same id is refused (id_in_use) and keeps asking, never acked
"$py" -m mpo_actor --replay "$rep" --learner "$wts" --id py-actor --seconds 3 >"$dir/actor2.log" 2>&1 &
second=$!
pids="$pids $second"
i=0
while kill -0 "$second" 2>/dev/null && [ $i -lt 80 ]; do sleep 0.1; i=$((i + 1)); done
in_use=$("$MPO" stat "$rep" --json --timeout 3 2>/dev/null | "$py" -c 'import json, sys; print(json.load(sys.stdin)["rejected"]["id_in_use"])')
[ "${in_use:-0}" -ge 1 ] || { echo "FAIL: a second live process with the actor's id was not refused"; fail=1; }
grep -q "refuses us for now" "$dir/actor2.log" || { echo "FAIL: the refused process did not say why"; fail=1; }
grep -q "holds it now" "$dir/actor2.log" && { echo "FAIL: the second process took the id of a live one"; fail=1; }

# 6: SIGTERM
kill -TERM "$actor" "$evaluator"
for p in $actor $evaluator; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    rc=0
    wait "$p" || rc=$?
    [ $rc = 0 ] || { echo "FAIL: process $p (actor $actor, evaluator $evaluator) exited with $rc on SIGTERM"; fail=1; }
done
kill -TERM "$learner" "$rb"
wait "$learner" "$rb" 2>/dev/null

# 7: the learner's final checkpoint as a policy file: the Python actor loads it and, in its
# Pendulum (the C environment's start states and dynamics), gets the returns mpo play gets
"$MPO" export "$dir/ckpt" -o "$dir/p.policy" >/dev/null 2>&1 || { echo "FAIL: mpo export of the learner's checkpoint"; fail=1; }
c_play=$("$MPO" play "$dir/p.policy" --episodes 3 --seed 11 2>&1 | sed -n 's/^episode [0-9]* (seed [0-9]*): return //p' | tr '\n' ' ' | sed 's/ $//')
py_play=$("$py" -m mpo_actor --play "$dir/p.policy" --eval-episodes 3 --seed 11 2>&1 |
    sed -n 's/^episode [0-9]* (seed [0-9]*): return //p' | tr '\n' ' ' | sed 's/ $//')
"$py" -c 'import sys
c, p = [[float(x) for x in a.split()] for a in sys.argv[1:3]]
sys.exit(0 if len(c) == 3 and len(p) == 3 and all(abs(x - y) <= 0.01 * abs(x) + 0.1 for x, y in zip(c, p)) else 1)' \
    "$c_play" "$py_play" || { echo "FAIL: the policy file's returns: mpo play '$c_play', Python '$py_play'"; fail=1; }
[ $fail = 0 ] && echo "python actor: $before transitions stored, weights v$version acting, replay restart:" \
    "$trans stored within ${waited_ms} ms, 0 duplicates, $no_hello no_hello; same id refused ${in_use}x; evaluator reported;" \
    "policy file returns $py_play (C: $c_play); $((SECONDS - t0)) s"
[ $fail = 0 ] || { echo "--- actor log"; tail -8 "$dir/actor.log"; echo "--- learner log"; tail -3 "$dir/learner.log"; }
exit $fail
