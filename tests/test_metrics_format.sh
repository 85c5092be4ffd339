#!/bin/bash
# The /metrics text is valid Prometheus exposition format, as Prometheus' own checker reads it:
# `promtool check metrics` (Debian package prometheus) on
#   1. a sample of every kind of line common/metrics_http.c writes (label escaping, NaN, ±Inf),
#      printed by `test_metrics_http --print-sample`;
#   2. what a live `mpo replay --set metrics_port=P` serves, fetched over HTTP — once the replay
#      server serves metrics (until then that part says so and is skipped); a parse error fails,
#      lint notes on metric names (promtool's exit 3) are printed.
# Exit 77 (skip) when promtool is not installed.
set -u
MPO=${MPO_BIN:-build/mpo}
if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool not installed (apt-get install prometheus); skipped"
    exit 77
fi
sample_bin=$(dirname "$MPO")/tests/test_metrics_http
if [ ! -x "$sample_bin" ]; then
    echo "FAIL: $sample_bin not built"
    exit 1
fi
fail=0
tmp=$(mktemp -d /tmp/mpo_test_metrics_XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# promtool prints nothing and exits 0 for a clean file; parse errors and lint problems exit non-zero
"$sample_bin" --print-sample >"$tmp/sample.prom"
if ! out=$(promtool check metrics <"$tmp/sample.prom" 2>&1) || [ -n "$out" ]; then
    echo "FAIL: promtool check metrics on the sample exposition: $out"
    fail=1
else
    echo "sample exposition: promtool check metrics clean ($(grep -vc '^#' "$tmp/sample.prom") samples)"
fi

. "$(dirname "$0")/lib.sh" # http_get, free_ports

set -- $(free_ports 3) # ports the kernel says are free (test_replay_restart.sh says why)
zport=$1 mport=$2 lport=$3
"$MPO" replay --bind "tcp://127.0.0.1:$zport" --set metrics_port=$mport --set log_level=warn \
    --set buffer_size=1000 >"$tmp/replay.log" 2>&1 &
pid=$!
up=0
for _ in $(seq 50); do
    if http_get $mport /healthz >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ $up = 0 ]; then
    echo "FAIL: mpo replay does not serve /metrics on metrics_port (log: $(head -c 300 "$tmp/replay.log"))"
    fail=1
else
    # some traffic, then quiet: an actor with random actions inserts for two seconds and stops, and
    # once the rates have fallen to zero /metrics and `mpo stat --json` must tell the same figures
    timeout -s INT 2 "$MPO" actor --replay "tcp://127.0.0.1:$zport" --learner "tcp://127.0.0.1:$lport" \
        --id metrics-actor --set log_level=warn --set actor_batch=16 >"$tmp/actor.log" 2>&1
    sleep 2.5
    http_get $mport /metrics >"$tmp/live.prom" || { echo "FAIL: mpo replay's /metrics did not answer 200"; fail=1; }
    "$MPO" stat "tcp://127.0.0.1:$zport" --json >"$tmp/stat.json" 2>&1 || { echo "FAIL: mpo stat --json"; fail=1; }
    out=$(promtool check metrics <"$tmp/live.prom" 2>&1)
    prc=$?
    n=$(grep -vc '^#' "$tmp/live.prom")
    if [ $prc = 0 ]; then
        echo "mpo replay /metrics: promtool check metrics clean ($n samples)"
    else
        echo "FAIL: promtool check metrics on mpo replay's /metrics (exit $prc): $out"
        fail=1
    fi
    # every stat of the table, the per-reason rejections and the actor's counts, both ways
    json=$(cat "$tmp/stat.json")
    jv() { printf '%s' "$json" | grep -o "\"$1\":[-0-9.e+]*" | head -n 1 | cut -d: -f2; }
    mv_() { awk -v n="$1" '$1 == n { print $2; exit }' "$tmp/live.prom"; }
    same() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 == b + 0) }'; }
    compared=0
    for name in $(grep -o '^mpo_replay_[a-z_]* ' "$tmp/live.prom" | sed 's/^mpo_replay_//'); do
        case $name in uptime_seconds) continue ;; esac # a clock, read at two moments
        if ! same "$(mv_ "mpo_replay_$name")" "$(jv "$name")"; then
            echo "FAIL: $name: /metrics $(mv_ "mpo_replay_$name"), mpo stat $(jv "$name")"
            fail=1
        fi
        compared=$((compared + 1))
    done
    for reason in malformed wrong_version wrong_env wrong_sizes bad_lengths too_large no_hello unexpected bad_value; do
        if ! same "$(mv_ "mpo_replay_rejected_by_reason_total{reason=\"$reason\"}")" "$(jv "$reason")"; then
            echo "FAIL: rejections for $reason differ"; fail=1
        fi
        compared=$((compared + 1))
    done
    t=$(mv_ 'mpo_replay_actor_transitions_total{actor="metrics-actor"}')
    if [ "${t:-0}" = 0 ] || ! same "$t" "$(jv transitions)" || ! same "$t" "$(jv inserts_total)"; then
        echo "FAIL: the actor's transitions: /metrics '$t', mpo stat $(jv transitions), inserts $(jv inserts_total)"
        fail=1
    fi
    [ $fail = 0 ] && echo "mpo replay /metrics equals mpo stat --json: $compared figures and $t transitions from one actor"
fi
[ $fail = 0 ] && echo "metrics format checks passed"
exit $fail
