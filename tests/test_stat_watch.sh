#!/bin/sh
# `mpo stat --watch` against a live replay server with one actor: to a pipe it prints one
# key=value line per interval (timestamped, the 30-s rates, the actors connected), and under a
# terminal (script(1)) it redraws a compact view in place.
set -u
MPO=${MPO_BIN:-build/mpo}
dir=$(mktemp -d /tmp/mpo-test-watch.XXXXXX)
. "$(dirname "$0")/lib.sh" # free_ports
set -- $(free_ports 2) # ports the kernel says are free (test_replay_restart.sh says why)
ep="tcp://127.0.0.1:$1" lep="tcp://127.0.0.1:$2"
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
fail=0
"$MPO" replay --bind "$ep" --set log_level=warn >"$dir/replay.log" 2>&1 &
pids="$!"
sleep 0.3
"$MPO" actor --replay "$ep" --learner "$lep" --id watched --set log_level=error \
    >"$dir/actor.log" 2>&1 &
pids="$pids $!"
sleep 1.5
timeout 3.5 "$MPO" stat "$ep" --watch 1 >"$dir/plain" 2>&1
lines=$(grep -c '^20[0-9-]*T[0-9:]*Z size=[0-9]* inserts_total=[0-9]* insert_rate_30s=' "$dir/plain")
[ "$lines" -ge 2 ] || { echo "FAIL: $lines key=value lines in 3.5 s"; cat "$dir/plain"; fail=1; }
grep -q 'actors_connected=1 ' "$dir/plain" || { echo "FAIL: the actor is not counted"; fail=1; }
if command -v script >/dev/null 2>&1; then
    script -qc "timeout 2.5 $MPO stat $ep --watch 1" /dev/null >"$dir/tty" 2>&1
    [ "$(grep -c "$(printf '\033')\[H$(printf '\033')\[2J" "$dir/tty")" -ge 2 ] ||
        { echo "FAIL: no redraw on a terminal"; fail=1; }
    grep -q '^replay   size' "$dir/tty" && grep -q 'watched' "$dir/tty" ||
        { echo "FAIL: the terminal view lacks the replay line or the actor"; cat -v "$dir/tty" | tail -8; fail=1; }
fi
[ $fail = 0 ] && echo "mpo stat --watch: $lines plain lines, a redrawn view on a terminal"
exit $fail
