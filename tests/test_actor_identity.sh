#!/bin/sh
# One actor id, several processes (real ones, on loopback):
#   1. an actor with a fixed id is killed (SIGKILL) and restarted at once with the same id: the
#      new process (its seqs from 1 again) is refused while the old one could still be alive, then
#      takes the id over at its next try after 2 x ack_timeout of silence (within 10 s); its batches are stored, none of them
#      acked as a duplicate of the old process's;
#   2. a second live process with that id is refused (id_in_use, counted) and never acked, while
#      the holder goes on inserting.
set -u
MPO=${MPO_BIN:-build/mpo}
dir=$(mktemp -d /tmp/mpo-test-identity.XXXXXX)
. "$(dirname "$0")/lib.sh" # free_ports
set -- $(free_ports 2) # ports the kernel says are free (test_replay_restart.sh says why)
ep="tcp://127.0.0.1:$1" lep="tcp://127.0.0.1:$2"
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
fail=0
stat_json() { "$MPO" stat "$ep" --json --timeout 3 2>/dev/null; }
field() { printf '%s' "$1" | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2; }
# ack_timeout 1: an id is free after 2 s of silence; samples_per_insert 0: inserts are not throttled
actor() {
    "$MPO" actor --replay "$ep" --learner "$lep" --id fixed-id \
        --set ack_timeout=1 --set log_level=info --set log_interval=1 >"$dir/actor$1.log" 2>&1 &
}

"$MPO" replay --bind "$ep" --set samples_per_insert=0 --set ack_timeout=1 --set log_level=info \
    >"$dir/replay.log" 2>&1 &
replay=$!
pids="$replay"
sleep 0.5
actor a
a=$!
pids="$pids $a"
sleep 1.5
kill -9 "$a"
actor b
b=$!
pids="$pids $b"
sleep 1
s=$(stat_json)
refused=$(printf '%s' "$s" | grep -o '"id_in_use":[0-9]*' | cut -d: -f2)
[ "${refused:-0}" -ge 1 ] || { echo "FAIL: the restarted process was not refused while the old one could be alive"; fail=1; }
# the refused process asks again every 5 s; the id is free 2 s after the kill
i=0
while [ $i -lt 100 ] && ! grep -q "holds it now" "$dir/actorb.log"; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
s=$(stat_json)
before=$(field "$s" inserts_total)
sleep 1
s=$(stat_json)
after=$(field "$s" inserts_total)
dups=$(field "$s" duplicates_total)
[ "${after:-0}" -gt "${before:-0}" ] || { echo "FAIL: the restarted process stores nothing ($before then $after)"; fail=1; }
[ "${dups:-x}" = 0 ] || { echo "FAIL: $dups batches of the new process taken for duplicates"; fail=1; }
grep -q "taking over" "$dir/replay.log" || { echo "FAIL: the replay did not log the takeover"; fail=1; }
grep -q "holds it now" "$dir/actorb.log" || { echo "FAIL: the restarted actor did not say it holds its id"; fail=1; }

# a second live process with the same id
actor c
c=$!
pids="$pids $c"
sleep 2
s=$(stat_json)
refused2=$(printf '%s' "$s" | grep -o '"id_in_use":[0-9]*' | cut -d: -f2)
[ "${refused2:-0}" -gt "${refused:-0}" ] || { echo "FAIL: a second live process was not refused"; fail=1; }
grep -q "refuses us for now" "$dir/actorc.log" || { echo "FAIL: the refused actor did not say why"; fail=1; }
grep -q "holds it now" "$dir/actorc.log" && { echo "FAIL: the second process took the id of a live one"; fail=1; }
before=$(field "$s" inserts_total)
sleep 1
s=$(stat_json)
[ "$(field "$s" inserts_total)" -gt "${before:-0}" ] || { echo "FAIL: the holder stopped inserting"; fail=1; }
[ "$(field "$s" duplicates_total)" = 0 ] || { echo "FAIL: duplicates with two live processes"; fail=1; }
n_actors=$(printf '%s' "$s" | grep -o '"id":"fixed-id"' | wc -l)
[ "$n_actors" = 1 ] || { echo "FAIL: $n_actors actor entries for one id"; fail=1; }

for p in $b $c; do
    kill -TERM "$p"
    rc=0
    wait "$p" || rc=$?
    [ $rc = 0 ] || { echo "FAIL: an actor exited with $rc on SIGTERM"; fail=1; }
done
kill -TERM "$replay"
wait "$replay" || { echo "FAIL: the replay server exited non-zero on SIGTERM"; fail=1; }
[ $fail = 0 ] && echo "actor identity: restart refused ${refused}x then took over, second live process refused, 0 duplicates"
[ $fail = 0 ] || { echo "--- replay log"; tail -5 "$dir/replay.log"; echo "--- actor c log"; tail -3 "$dir/actorc.log"; }
exit $fail
