#!/bin/sh
# Evaluation in a distributed run: `mpo train` (replay, learner, actors and, with eval_every set,
# an evaluator as child processes) on a short Pendulum-v1 run. The evaluator's results reach the
# learner's eval.csv through the replay server while the run goes on, and the final evaluation
# follows them in the same file, so `mpo plot` draws a distributed run as it draws a --sync one.
set -u
MPO=${MPO_BIN:-build/mpo}
dir=$(mktemp -d /tmp/mpo-test-train-eval.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0
"$MPO" train --total-timesteps 4000 --run-dir "$dir/run" --log-level info --set log_interval=0.5 \
    --set learning_starts=500 --set hidden=32 --set batch_size=32 --set n_action_samples=5 \
    --set eval_every=800 --set eval_episodes=2 >"$dir/out" 2>&1 ||
    { echo "FAIL: mpo train exited non-zero"; tail -n 20 "$dir/out"; exit 1; }
grep -qE '^Mean reward: -?[0-9]+\.[0-9]{2}$' "$dir/out" || { echo "FAIL: no 'Mean reward: X' line"; fail=1; }
rows=$(awk -F, 'NR > 1' "$dir/run/eval.csv" 2>/dev/null | wc -l)
# the evaluator's (at least one during the run) and the final one
[ "$rows" -ge 2 ] || { echo "FAIL: eval.csv has $rows rows, expected the evaluator's and the final one"; fail=1; }
[ "$(head -n 1 "$dir/run/eval.csv")" = "env_steps,wall_s,mean_return,std_return,episodes" ] ||
    { echo "FAIL: eval.csv's header: $(head -n 1 "$dir/run/eval.csv")"; fail=1; }
[ "$(grep -c '^env_steps' "$dir/run/eval.csv")" = 1 ] || { echo "FAIL: eval.csv has its header twice"; fail=1; }
# env steps grow down the file, and every row is 2 finite episodes
awk -F, 'NR > 1 { if ($1 < last || $5 != 2 || $3 !~ /^-?[0-9]/) bad = 1; last = $1 } END { exit bad }' \
    "$dir/run/eval.csv" || { echo "FAIL: eval.csv rows out of order or malformed"; cat "$dir/run/eval.csv"; fail=1; }
# evaluator=1 is an actor's key: passed to every actor of mpo train it made them all evaluators and
# the run waited forever at 0 steps; it is refused at once, in one line that names eval_every
rc=0
timeout 20 "$MPO" train --total-timesteps 100 --set evaluator=1 >"$dir/refused" 2>&1 || rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$dir/refused")" = 1 ] && grep -q "eval_every" "$dir/refused" ||
    { echo "FAIL: mpo train --set evaluator=1: status $rc, said: $(cat "$dir/refused")"; fail=1; }
[ $fail = 0 ] && echo "mpo train with an evaluator: $rows evaluations in eval.csv; evaluator=1 refused"
exit $fail
