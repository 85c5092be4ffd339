#!/bin/sh
# An actor rides through a replay server restart: the server is killed (SIGKILL, no goodbye) and a
# new one starts on the same endpoint; the actor sees its connection come back, says Hello again at
# once (well before its ack_timeout of 30 s), resends its unacknowledged batches, and goes on
# inserting; nothing is refused or stored twice; SIGTERM then stops it with status 0.
set -u
MPO=${MPO_BIN:-build/mpo}
dir=$(mktemp -d /tmp/mpo-test-restart.XXXXXX)
. "$(dirname "$0")/lib.sh" # free_ports
# ports the kernel says are free: a port picked from the pid could be some connection's ephemeral
# port at that moment, and then the first server could not bind
set -- $(free_ports 2)
ep="tcp://127.0.0.1:$1" lep="tcp://127.0.0.1:$2"
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
fail=0
replay() { "$MPO" replay --bind "$ep" --set samples_per_insert=0 --set log_level=warn >"$dir/replay$1.log" 2>&1 & }
stat_of() { "$MPO" stat "$ep" --json --timeout 3 2>/dev/null | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }

replay a
ra=$!
pids="$ra"
sleep 0.5
"$MPO" actor --replay "$ep" --learner "$lep" --id restart-actor \
    --set ack_timeout=30 --set log_level=info --set log_interval=1 >"$dir/actor.log" 2>&1 &
actor=$!
pids="$pids $actor"
sleep 2
before=$(stat_of inserts_total)
[ "${before:-0}" -gt 0 ] || { echo "FAIL: nothing inserted before the restart"; fail=1; }
kill -9 "$ra"
sleep 1
replay b
rb=$!
pids="$pids $rb"
sleep 5
after=$(stat_of inserts_total)
dups=$(stat_of duplicates_total)
rejected=$(stat_of rejected_total)
no_hello=$(stat_of no_hello)
kill -0 "$actor" 2>/dev/null || { echo "FAIL: the actor died with the server"; fail=1; }
[ "${after:-0}" -gt 0 ] || { echo "FAIL: the actor inserted nothing into the new server"; fail=1; }
[ "${dups:-x}" = 0 ] || { echo "FAIL: $dups duplicates"; fail=1; }
# A batch the actor sent as the old server died can reach the new one before the actor's Hello:
# the server answers no_hello, which is how the actor learns of the restart (it says Hello and
# resends). At most actor_credit (2) such batches, plus one; any other refusal fails.
other=$(( ${rejected:-999} - ${no_hello:-0} ))
[ "$other" = 0 ] && [ "${no_hello:-0}" -le 3 ] ||
    { echo "FAIL: $rejected messages refused by the new server: $("$MPO" stat "$ep" --json --timeout 3 2>/dev/null |
        grep -o '"rejected":{[^}]*}')"; fail=1; }
grep -q "saying hello again" "$dir/actor.log" || { echo "FAIL: the actor did not say hello again"; fail=1; }
grep -q "connected to the replay server again" "$dir/actor.log" ||
    { echo "FAIL: the actor did not see its connection come back"; fail=1; }
kill -TERM "$actor"
rc=0
wait "$actor" || rc=$?
[ $rc = 0 ] || { echo "FAIL: the actor exited with $rc on SIGTERM"; fail=1; }
kill -TERM "$rb"
wait "$rb" || { echo "FAIL: the replay server exited non-zero on SIGTERM"; fail=1; }
[ $fail = 0 ] && echo "replay restart: $before transitions before, $after after, 0 duplicates, $rejected refused (no_hello, the restart's signal)"
[ $fail = 0 ] || { echo "--- actor log"; tail -5 "$dir/actor.log"; }
exit $fail
