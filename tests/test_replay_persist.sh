#!/bin/sh
# Replay persistence (replay_dir), with the real programs:
#   1. SIGTERM: a replay filled by an actor stops with a final snapshot; a new one on the same
#      directory shows the same size, inserts_total and episodes_total in `mpo stat --json`;
#   2. SIGKILL: a replay that wrote a periodic snapshot (by its forked writer) and is then killed
#      without a goodbye comes back with that snapshot's contents;
#   3. damage: a snapshot with one byte changed stops the next replay at once with one line naming
#      the file and the problem, unless replay_start_empty=1: then it serves, empty, and the file is
#      kept as replay.snap.refused.
set -u
MPO=${MPO_BIN:-build/mpo}
dir=$(mktemp -d /tmp/mpo-test-persist.XXXXXX)
. "$(dirname "$0")/lib.sh" # free_ports
set -- $(free_ports 2) # ports the kernel says are free (test_replay_restart.sh says why)
ep="tcp://127.0.0.1:$1" lep="tcp://127.0.0.1:$2"
snap="$dir/snap/replay.snap"
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
fail=0
no() { echo "FAIL: $*"; fail=1; }

# replay NAME [--set ...]: a replay server on $ep with replay_dir, its log in $dir/NAME.log
replay() {
    name=$1
    shift
    "$MPO" replay --bind "$ep" --set replay_dir="$dir/snap" --set buffer_size=20000 --set samples_per_insert=0 \
        --set log_level=info "$@" >"$dir/$name.log" 2>&1 &
    rpid=$!
    pids="$pids $rpid"
}
# actor ID SECONDS: an actor inserting for that long, then stopped with SIGTERM
actor() {
    "$MPO" actor --replay "$ep" --learner "$lep" --id "$1" --set log_level=warn \
        >"$dir/$1.log" 2>&1 &
    apid=$!
    pids="$pids $apid"
    sleep "$2"
    kill -TERM "$apid"
    wait "$apid" || no "actor $1 exited non-zero"
}
stat_of() { "$MPO" stat "$ep" --json --timeout 3 2>/dev/null | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }
# wait_up: until the server answers (it may be restoring), at most 10 s
wait_up() {
    i=0
    while [ -z "$(stat_of size)" ] && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
}

# ---- 1. SIGTERM: the final snapshot, restored
replay a --set replay_snapshot_interval=0
ra=$rpid
wait_up
actor persist-1 1.5
size1=$(stat_of size)
ins1=$(stat_of inserts_total)
eps1=$(stat_of episodes_total)
[ "${ins1:-0}" -gt 0 ] || no "the actor inserted nothing"
kill -TERM "$ra"
wait "$ra" || no "replay a exited non-zero on SIGTERM"
grep -q "final snapshot of $size1 transitions (inserts_total $ins1)" "$dir/a.log" || no "no final snapshot in: $(tail -2 "$dir/a.log")"
replay b --set replay_snapshot_interval=0.5
rb=$rpid
wait_up
[ "$(stat_of size)" = "$size1" ] || no "size after SIGTERM and restart: $(stat_of size), before: $size1"
[ "$(stat_of inserts_total)" = "$ins1" ] || no "inserts_total after restart: $(stat_of inserts_total), before: $ins1"
[ "$(stat_of episodes_total)" = "$eps1" ] || no "episodes_total after restart: $(stat_of episodes_total), before: $eps1"
[ "$(stat_of restored_transitions)" = "$size1" ] || no "restored_transitions $(stat_of restored_transitions), not $size1"

# ---- 2. SIGKILL after a periodic snapshot: its contents come back
actor persist-2 1.5
ins2=$(stat_of inserts_total)
size2=$(stat_of size)
[ "${ins2:-0}" -gt "${ins1:-0}" ] || no "the second actor inserted nothing"
i=0 # the forked writer's snapshot of everything stored (every 0.5 s while something changed)
while ! grep -q "snapshot of $size2 transitions (inserts_total $ins2) written" "$dir/b.log" && [ $i -lt 50 ]; do
    sleep 0.2
    i=$((i + 1))
done
grep -q "snapshot of $size2 transitions (inserts_total $ins2) written" "$dir/b.log" ||
    no "no periodic snapshot of inserts_total $ins2 in: $(grep snapshot "$dir/b.log" | tail -2)"
[ "$(stat_of snapshot_failures_total)" = 0 ] || no "$(stat_of snapshot_failures_total) snapshots failed"
kill -9 "$rb"
wait "$rb" 2>/dev/null
grep -q "final snapshot" "$dir/b.log" && no "a SIGKILLed replay wrote a final snapshot"
replay c
rc_=$rpid
wait_up
[ "$(stat_of inserts_total)" = "$ins2" ] || no "inserts_total after SIGKILL: $(stat_of inserts_total), snapshot: $ins2"
[ "$(stat_of size)" = "$size2" ] || no "size after SIGKILL: $(stat_of size), snapshot: $size2"
kill -TERM "$rc_"
wait "$rc_" || no "replay c exited non-zero on SIGTERM"

# ---- 3. a damaged snapshot: refused in one line, or set aside with replay_start_empty=1
len=$(wc -c <"$snap")
off=$((len / 2))
byte=$(od -An -tu1 -j "$off" -N 1 "$snap" | tr -d ' ')
printf "\\$(printf %03o $(((byte + 1) % 256)))" | dd of="$snap" bs=1 seek="$off" conv=notrunc 2>/dev/null
out=$(timeout 20 "$MPO" replay --bind "$ep" --set replay_dir="$dir/snap" --set buffer_size=20000 2>&1)
rc=$?
[ $rc = 1 ] || no "a damaged snapshot: exit status $rc, not 1"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || no "a damaged snapshot: not one line: $out"
case "$out" in
*"snapshot '$snap' fails its checksum (damaged); not loaded"*"replay_start_empty=1"*) ;;
*) no "a damaged snapshot: the line does not say which file and why: $out" ;;
esac
replay d --set replay_start_empty=1
rd=$rpid
wait_up
[ "$(stat_of size)" = 0 ] || no "replay_start_empty=1: size $(stat_of size), not 0"
[ -f "$snap.refused" ] || no "replay_start_empty=1: the refused snapshot was not kept aside"
grep -q "fails its checksum (damaged); not loaded; starting empty" "$dir/d.log" || no "no warning: $(cat "$dir/d.log")"
kill -TERM "$rd"
wait "$rd" || no "replay d exited non-zero on SIGTERM"

[ $fail = 0 ] && echo "replay persistence: $ins1 transitions kept over SIGTERM, $ins2 over SIGKILL after a snapshot; a damaged snapshot refused in one line, or set aside"
[ $fail = 0 ] || for f in "$dir"/*.log; do echo "--- $f"; tail -5 "$f"; done
exit $fail
