#!/bin/bash
# The learner's /metrics, live: a replay server, a learner with metrics_port and an actor for two
# seconds on loopback. Every figure of learner/learner_stats.h is served as mpo_learner_NAME (the
# names dashboards use stay: updates_total, weights_version, batches_total, …, one gauge per update
# metric), the learner has learnt something, and `promtool check metrics` finds nothing to say
# (that part is skipped when promtool is not installed).
set -u
MPO=${MPO_BIN:-build/mpo}
tmp=$(mktemp -d /tmp/mpo_test_learner_metrics_XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

. "$(dirname "$0")/lib.sh" # http_get, free_ports

set -- $(free_ports 3) # ports the kernel says are free (test_replay_restart.sh says why)
zport=$1 wport=$2 mport=$3
small="--set hidden=32 --set batch_size=32 --set n_action_samples=5 --set log_level=warn"
"$MPO" replay --bind "tcp://127.0.0.1:$zport" --set buffer_size=5000 --set learning_starts=200 \
    --set log_level=warn >"$tmp/replay.log" 2>&1 &
pids="$pids $!"
# shellcheck disable=SC2086
"$MPO" learner --replay "tcp://127.0.0.1:$zport" --weights-bind "tcp://127.0.0.1:$wport" \
    --set metrics_port=$mport --set checkpoint_dir= $small >"$tmp/learner.log" 2>&1 &
pids="$pids $!"
up=0
for _ in $(seq 50); do
    if http_get $mport /healthz >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
done
if [ $up = 0 ]; then
    echo "FAIL: mpo learner does not serve /metrics on metrics_port (log: $(head -c 300 "$tmp/learner.log"))"
    exit 1
fi
timeout -s INT -k 5 2 "$MPO" actor --replay "tcp://127.0.0.1:$zport" --learner "tcp://127.0.0.1:$wport" \
    --set log_level=warn >"$tmp/actor.log" 2>&1 # killed 5 s later if it does not stop
sleep 1 # one more render (every 0.5 s)
http_get $mport /metrics >"$tmp/learner.prom" || { echo "FAIL: the learner's /metrics did not answer 200"; exit 1; }

value() { awk -v n="$1" '$1 == n { print $2; exit }' "$tmp/learner.prom"; }
for name in updates_total update_rate batches_total samples_total sample_wait_seconds_total weights_version \
    publications_total checkpoints_total stale_batches_total rejected_total reissues_total \
    critic_loss policy_loss temperature kl_mean kl_stddev q_mean actor_grad_norm critic_grad_norm; do
    if [ -z "$(value "mpo_learner_$name")" ]; then
        echo "FAIL: no mpo_learner_$name in the learner's /metrics"
        fail=1
    fi
done
u=$(value mpo_learner_updates_total)
if ! awk -v u="${u:-0}" -v b="$(value mpo_learner_batches_total)" 'BEGIN { exit !(u > 0 && u == b) }'; then
    echo "FAIL: updates_total '$u', batches_total '$(value mpo_learner_batches_total)': expected equal and > 0"
    fail=1
fi
if command -v promtool >/dev/null 2>&1; then
    if ! out=$(promtool check metrics <"$tmp/learner.prom" 2>&1) || [ -n "$out" ]; then
        echo "FAIL: promtool check metrics on the learner's /metrics: $out"
        fail=1
    else
        echo "the learner's /metrics: promtool check metrics clean"
    fi
else
    echo "promtool not installed (apt-get install prometheus): format check skipped"
fi
[ $fail = 0 ] && echo "learner metrics checks passed: $(grep -vc '^#' "$tmp/learner.prom") figures, $u updates"
exit $fail
