#!/bin/sh
# `mpo train --sync` end to end on a short Pendulum-v1 run: it prints `Mean reward: X`, writes its
# run files, and the same seed gives the same numbers bit for bit (a different seed does not). Then
# a short Hopper-v4 run, whose episodes terminate: it finishes, and every terminated episode counts.
set -u
MPO=${MPO_BIN:-build/mpo}
dir=$(mktemp -d /tmp/mpo-test-sync.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0
run() { # seed out
    "$MPO" train --sync --seed "$1" --total-timesteps 1200 --run-dir "$dir/$2" --log-level warn \
        --set learning_starts=400 --set hidden=32 --set batch_size=32 --set n_action_samples=5 \
        --set eval_every=600 --set eval_episodes=2 --set log_interval=0.05 > "$dir/$2.out" 2>&1
}
run 7 a || { echo "FAIL: train --sync exited non-zero"; cat "$dir/a.out"; exit 1; }
run 7 b || fail=1
run 8 c || fail=1
grep -qE '^Mean reward: -?[0-9]+\.[0-9]{2}$' "$dir/a.out" || { echo "FAIL: no 'Mean reward: X' line"; cat "$dir/a.out"; fail=1; }
for f in progress.csv eval.csv config.ini; do
    [ -s "$dir/a/$f" ] || { echo "FAIL: run_dir has no $f"; fail=1; }
done
[ "$(awk -F, 'NR > 1' "$dir/a/eval.csv" | wc -l)" = 2 ] || { echo "FAIL: expected evaluations at 600 and 1200 steps"; fail=1; }
# the same seed: identical evaluation returns and metrics (wall-clock columns and the
# progress-line timing aside, the rows logged at the same steps must agree)
strip() { cut -d, -f1,3- "$1"; }
if ! cmp -s "$dir/a.out" "$dir/b.out" || [ "$(strip "$dir/a/eval.csv")" != "$(strip "$dir/b/eval.csv")" ]; then
    echo "FAIL: the same seed gave different results"; diff "$dir/a.out" "$dir/b.out"; fail=1
fi
if [ "$(strip "$dir/a/eval.csv")" = "$(strip "$dir/c/eval.csv")" ]; then
    echo "FAIL: seeds 7 and 8 gave identical evaluations"; fail=1
fi
# Hopper-v4 (n_step 3): random hoppers fall within ~20 steps, so 1200 steps hold dozens of
# episodes; were terminations not ending episodes there would be at most one (the time limit, 1000)
"$MPO" train --sync --env Hopper-v4 --seed 7 --total-timesteps 1200 --run-dir "$dir/h" --log-level info \
    --set learning_starts=400 --set hidden=32 --set batch_size=32 --set n_action_samples=5 --set n_step=3 \
    --set eval_episodes=2 --set log_interval=60 > "$dir/h.out" 2>&1 || { echo "FAIL: Hopper-v4 train --sync exited non-zero"; cat "$dir/h.out"; fail=1; }
episodes=$(sed -n 's/.*step 1200\/1200 .* episodes \([0-9]*\),.*/\1/p' "$dir/h.out")
if [ -z "$episodes" ] || [ "$episodes" -lt 20 ]; then
    echo "FAIL: Hopper-v4: expected dozens of terminated episodes in 1200 steps, the log says '$episodes'"; cat "$dir/h.out"; fail=1
fi
grep -qE '^Mean reward: -?[0-9]+\.[0-9]{2}$' "$dir/h.out" || { echo "FAIL: Hopper-v4: no 'Mean reward: X' line"; fail=1; }
# updates per env step = samples_per_insert / batch_size: 801 steps from learning_starts 400 to
# 1200 make 801 updates by default, 1602 at twice the ratio and 400 at half (a fraction carries over)
updates() { # samples_per_insert
    "$MPO" train --sync --seed 7 --total-timesteps 1200 --log-level info --set learning_starts=400 --set hidden=16 \
        --set batch_size=32 --set n_action_samples=3 --set eval_episodes=0 --set samples_per_insert="$1" 2>&1 |
        sed -n 's/.*done: 1200 steps, \([0-9]*\) updates.*/\1/p'
}
for pair in -1:801 64:1602 16:400; do
    got=$(updates "${pair%%:*}")
    [ "$got" = "${pair#*:}" ] || { echo "FAIL: samples_per_insert ${pair%%:*}: $got updates, expected ${pair#*:}"; fail=1; }
done
[ $fail = 0 ] && echo "train --sync: runs, reproducible for a seed, seed-dependent; Hopper-v4's terminations end episodes;" \
    "samples_per_insert sets the updates per env step"
exit $fail
