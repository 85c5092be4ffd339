#!/bin/bash
# The Python actor's overhead against the C actor (make bench BENCH=actor-overhead): env steps/s
# of one actor, each with a trivial environment of Pendulum-v1's sizes (obs 3, act 1) or as near as
# each side has one (C: Pendulum-v1 itself, a few hundred ns a step; Python: an environment whose
# step returns zeros, bench/trivial_env.py), acting on published weights (hidden 256 x 2: the
# policy forward is part of what an actor costs) with K = 1 and 8 environments.
#   1. A learner trains a few hundred updates and checkpoints, so that there are weights.
#   2. A replay server that never serves samples (learning_starts = buffer_size, 30 M: more than the actors below store) and keeps no ratio
#      (samples_per_insert 0), and that learner resumed: it publishes its weights and waits.
#   3. Each actor for SECONDS (default 20): its transitions stored per second, from the replay's
#      actor table before and after.
set -u
. "$(dirname "$0")/../tests/lib.sh" # free_ports
MPO=${MPO:-build/mpo}
secs=${BENCH_SECONDS:-20}
out=${BENCH_OUT:-build/bench/actor-overhead}
py=${PY:-python3}
mkdir -p "$out"
pids=""
cleanup() { for p in $pids; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
read -r rport wport <<<"$(PY="$py" free_ports 2)"
rep="tcp://127.0.0.1:$rport" wts="tcp://127.0.0.1:$wport"
export PYTHONPATH=python:bench MPO_PB2_DIR="$(dirname "$MPO")/python"

# 1: weights to publish
rm -rf "$out/ckpt"
"$MPO" replay --bind "$rep" --set learning_starts=300 --set samples_per_insert=0 --log-level warn >"$out/replay1.log" 2>&1 &
r1=$!
"$MPO" learner --replay "$rep" --weights-bind "$wts" --set learning_starts=300 --threads 1 --checkpoint-dir "$out/ckpt" \
    --log-level warn >"$out/learner1.log" 2>&1 &
l1=$!
"$MPO" actor --replay "$rep" --learner "$wts" --log-level warn >"$out/actor1.log" 2>&1 &
a1=$!
sleep 8 # the actor stores, the learner updates on it (no ratio to keep)
kill -TERM "$a1" "$l1" "$r1"
wait "$a1" "$l1" "$r1" 2>/dev/null
grep -q '^updates [1-9]' "$out/ckpt/learner.state" 2>/dev/null ||
    { echo "actor overhead: no trained checkpoint to publish (see $out/learner1.log, $out/actor1.log)"; exit 1; }

# 2: a replay that only stores, the learner that only publishes
"$MPO" replay --bind "$rep" --set learning_starts=30000000 --set samples_per_insert=0 --set buffer_size=30000000 \
    --log-level warn >"$out/replay.log" 2>&1 &
pids="$!"
"$MPO" learner --replay "$rep" --weights-bind "$wts" --resume "$out/ckpt" --threads 1 --set weight_publish_interval=0.5 \
    --log-level warn >"$out/learner.log" 2>&1 &
pids="$pids $!"
sleep 2
for p in $pids; do
    kill -0 "$p" 2>/dev/null || { echo "actor overhead: a server did not start:"; tail -n 2 "$out/replay.log" "$out/learner.log"; exit 1; }
done

stored() { # actor id: its transitions in the replay's table, and the weights version it acts with
    "$MPO" stat "$rep" --json --timeout 3 | "$py" -c 'import json, sys
d = json.load(sys.stdin)
a = [a for a in d["actors"] if a["id"] == sys.argv[1]]
print(a[0]["transitions"], a[0]["policy_version"]) if a else print(0, 0)' "$1"
}
measure() { # label id command...
    local label=$1 id=$2
    shift 2
    "$@" >"$out/$id.log" 2>&1 &
    local p=$!
    sleep 3 # connected, weights in hand
    local a t0 b t1 v
    read -r a v <<<"$(stored "$id")"
    t0=$(date +%s.%N)
    sleep "$secs"
    read -r b v <<<"$(stored "$id")"
    t1=$(date +%s.%N)
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    [ "${v:-0}" -gt 0 ] || { echo "$label: it never acted on published weights (see $out/$id.log)"; return; }
    awk -v l="$label" -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v v="$v" \
        'BEGIN { printf "%-40s %10.0f env steps/s (weights v%d)\n", l, (b - a) / (t1 - t0), v }'
}
echo "## one actor's env steps/s, acting on published weights (hidden 256 x 2), $secs s each"
for k in 1 8; do
    measure "C actor, Pendulum-v1, K=$k" "c-$k" "$MPO" actor --replay "$rep" --learner "$wts" --id "c-$k" \
        --num-envs "$k" --log-level warn
    measure "Python actor, trivial env, K=$k" "py-$k" "$py" -m mpo_actor --replay "$rep" --learner "$wts" \
        --id "py-$k" --num-envs "$k" --env trivial_env:Trivial --obs-dim 3 --act-dim 1 --action-low -2 \
        --action-high 2 --log-level warn
    measure "Python actor, its Pendulum-v1, K=$k" "pyp-$k" "$py" -m mpo_actor --replay "$rep" --learner "$wts" \
        --id "pyp-$k" --num-envs "$k" --log-level warn
done
