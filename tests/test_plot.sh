#!/bin/sh
# mpo plot: a run directory with eval.csv (and progress.csv) gives a PNG, by default
# RUN_DIR/learning_curve.png and with --out where asked; a directory with no run (no eval.csv, an
# empty one, a header only) gives exit status 1 and exactly one line on stderr. Several run
# directories give one PNG (default ./learning_curves.png), --label names them.
# mpo bench learning: two tiny seeds (about a second) give summary.csv whose mean, sample std, min
# and max are those of the seeds' eval.csv (computed here with awk), summary.md and learning.png.
# Exit 77 (skip) when gnuplot is not installed.
set -u
MPO=${MPO_BIN:-build/mpo}
case $MPO in /*) ;; */*) MPO=$(pwd)/$MPO ;; esac # one check runs in another directory
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "gnuplot not installed (apt-get install gnuplot-nox); skipped"
    exit 77
fi
if ! "$MPO" plot --help >/dev/null 2>&1; then
    echo "this mpo has no plot command (cli/main.c's command table); skipped"
    exit 77
fi
fail=0
tmp=$(mktemp -d /tmp/mpo_test_plot_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

is_png() { [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

run=$tmp/run
mkdir -p "$run"
{
    echo "env_steps,wall_s,mean_return,std_return,episodes"
    i=1
    while [ $i -le 8 ]; do
        echo "$((i * 2500)),$((i * 30)).5,-$((1500 - i * 160)).25,$((300 / i)).5,10"
        i=$((i + 1))
    done
} >"$run/eval.csv"
{
    echo "env_steps,wall_s,updates,episode_return"
    i=1
    while [ $i -le 100 ]; do
        echo "$((i * 200)),$((i * 2)).4,$((i * 200)),-$((1600 - i * 12)).0"
        i=$((i + 1))
    done
    printf '20200,202' # a line being written: skipped
} >"$run/progress.csv"
printf 'env = Pendulum-v1\n' >"$run/config.ini"

if ! out=$("$MPO" plot "$run" 2>&1); then
    echo "FAIL: mpo plot on a run exits non-zero: $out"
    fail=1
elif ! is_png "$run/learning_curve.png"; then
    echo "FAIL: $run/learning_curve.png is not a PNG ($out)"
    fail=1
else
    echo "run: $out"
fi
if ! "$MPO" plot "$run" --out "$tmp/custom.png" >/dev/null 2>&1 || ! is_png "$tmp/custom.png"; then
    echo "FAIL: mpo plot --out FILE did not write a PNG there"
    fail=1
fi
if ls "$run" | grep -q '\.tmp'; then
    echo "FAIL: a temporary file was left in the run directory"
    fail=1
fi

# no run: exit 1, one line on stderr, no PNG
check_no_run() { # DIR WHAT
    "$MPO" plot "$1" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    lines=$(wc -l <"$tmp/err")
    if [ $rc != 1 ] || [ "$lines" != 1 ]; then
        echo "FAIL: mpo plot on $2: exit $rc (want 1), $lines stderr lines (want 1): $(cat "$tmp/err")"
        fail=1
    elif [ -e "$1/learning_curve.png" ]; then
        echo "FAIL: mpo plot on $2 wrote a PNG"
        fail=1
    else
        echo "$2: exit 1: $(cat "$tmp/err")"
    fi
}
mkdir -p "$tmp/empty" "$tmp/zero" "$tmp/header"
check_no_run "$tmp/empty" "an empty directory"
: >"$tmp/zero/eval.csv"
check_no_run "$tmp/zero" "an empty eval.csv"
echo "env_steps,wall_s,mean_return,std_return,episodes" >"$tmp/header/eval.csv"
check_no_run "$tmp/header" "a header-only eval.csv"
check_no_run "$tmp/missing" "a missing directory"

"$MPO" plot >/dev/null 2>&1
[ $? = 2 ] || { echo "FAIL: mpo plot without a directory should exit 2"; fail=1; }

# several run directories: one PNG, in the current directory unless --out
run2=$tmp/run2
mkdir -p "$run2"
printf 'env_steps,wall_s,mean_return,std_return,episodes\n20150,95.0,-180.5,20.0,10\n' >"$run2/eval.csv"
if ! out=$("$MPO" plot "$run" "$run2" --label sync --label distributed --out "$tmp/two.png" 2>&1) || ! is_png "$tmp/two.png"; then
    echo "FAIL: mpo plot with two run directories and labels: $out"
    fail=1
else
    echo "two runs: $out"
fi
if ! (cd "$tmp" && "$MPO" plot "$run" "$run2/" >/dev/null 2>&1) || ! is_png "$tmp/learning_curves.png"; then
    echo "FAIL: mpo plot with two run directories did not write ./learning_curves.png"
    fail=1
fi
"$MPO" plot "$run" --label a --label b >/dev/null 2>&1
[ $? = 2 ] || { echo "FAIL: more labels than run directories should exit 2"; fail=1; }
"$MPO" plot "$run" "$tmp/empty" --out "$tmp/bad.png" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc != 1 ] || [ "$(wc -l <"$tmp/err")" != 1 ] || [ -e "$tmp/bad.png" ]; then
    echo "FAIL: mpo plot with one run-less directory among two: exit $rc (want 1), stderr: $(cat "$tmp/err")"
    fail=1
fi

# mpo bench learning: two seeds of a tiny training, checked against their own eval.csv
bench=$tmp/bench
tiny="--set learning_starts=200 --set batch_size=32 --set hidden=16 --set n_action_samples=4 --set eval_episodes=1"
# shellcheck disable=SC2086
if ! "$MPO" bench learning --env Pendulum-v1 --seeds 1,2 --steps 600 --eval-every 300 --jobs 2 $tiny \
    --out "$bench" >"$tmp/bench.out" 2>&1; then
    echo "FAIL: mpo bench learning exits non-zero: $(cat "$tmp/bench.out")"
    fail=1
fi
for f in summary.csv summary.md seed-1.log seed-2.log seed-1/eval.csv seed-2/eval.csv; do
    [ -s "$bench/$f" ] || { echo "FAIL: mpo bench learning wrote no $f"; fail=1; }
done
is_png "$bench/learning.png" || { echo "FAIL: mpo bench learning wrote no learning.png"; fail=1; }
for s in 1 2; do
    grep -q "^seed = $s\$" "$bench/seed-$s/config.ini" && grep -q '^threads = 1$' "$bench/seed-$s/config.ini" ||
        { echo "FAIL: seed-$s/config.ini is not seed $s with threads 1"; fail=1; }
done
[ "$(grep -c 'env steps' "$tmp/bench.out")" = 1 ] || { echo "FAIL: mpo bench learning printed not exactly one table"; fail=1; }
# the expected rows from the seeds' eval.csv: steps,n,mean,std (n-1),min,max
awk -F, 'FNR > 1 { k = $1; n[k]++; s[k] += $3; q[k] += $3 * $3
                   if (!(k in lo) || $3 < lo[k]) lo[k] = $3; if (!(k in hi) || $3 > hi[k]) hi[k] = $3 }
         END { for (k in n) { m = s[k] / n[k]; v = n[k] > 1 ? (q[k] - n[k] * m * m) / (n[k] - 1) : 0
                              printf "%d,%d,%.4f,%.4f,%.4f,%.4f\n", k, n[k], m, sqrt(v < 0 ? 0 : v), lo[k], hi[k] } }' \
    "$bench"/seed-1/eval.csv "$bench"/seed-2/eval.csv | sort -n >"$tmp/want.csv"
awk -F, 'NR > 1 && $1 != "wall_s" { print $1 "," $2 "," $3 "," $4 "," $5 "," $6 }' "$bench/summary.csv" >"$tmp/have.csv"
if [ "$(cut -d, -f1 "$tmp/have.csv" | tr '\n' ' ')" != "300 600 " ]; then
    echo "FAIL: summary.csv's evaluation points are not 300 600: $(cat "$bench/summary.csv")"
    fail=1
elif ! awk -F, 'NR == FNR { w[FNR] = $0; next }
                { split(w[FNR], e, ","); for (i = 1; i <= 6; i++) if ((e[i] - $i) > 1e-3 || ($i - e[i]) > 1e-3) bad = 1 }
                END { exit bad }' "$tmp/want.csv" "$tmp/have.csv"; then
    echo "FAIL: summary.csv differs from the seeds' eval.csv: want"; cat "$tmp/want.csv"; echo "have"; cat "$tmp/have.csv"
    fail=1
else
    echo "bench learning: summary.csv matches the seeds' eval.csv ($(tr '\n' ' ' <"$tmp/have.csv"))"
fi
grep -q '^wall_s,2,' "$bench/summary.csv" || { echo "FAIL: summary.csv has no wall_s row over 2 seeds"; fail=1; }
grep -q '^| 600 | 2 |' "$bench/summary.md" || { echo "FAIL: summary.md has no row for 600 steps"; fail=1; }
# the same out directory again: refused, nothing run
"$MPO" bench learning --env Pendulum-v1 --seeds 1 --steps 600 --out "$bench" >/dev/null 2>&1
[ $? = 1 ] || { echo "FAIL: mpo bench learning into a directory that holds the seed's run should exit 1"; fail=1; }
"$MPO" bench learning --seeds 1 --set seed=3 >/dev/null 2>&1
[ $? = 2 ] || { echo "FAIL: mpo bench learning --set seed=... should exit 2 (--seeds sets it)"; fail=1; }
# default --eval-every: steps/5
# shellcheck disable=SC2086
"$MPO" bench learning --env Pendulum-v1 --seeds 3 --steps 500 $tiny --out "$tmp/bench5" >/dev/null 2>&1
have=$(cut -d, -f1 "$tmp/bench5/seed-3/eval.csv" 2>/dev/null | tr '\n' ' ')
[ "$have" = "env_steps 100 200 300 400 500 " ] || { echo "FAIL: default --eval-every of 500 steps: evaluations at '$have'"; fail=1; }

[ $fail = 0 ] && echo "plot checks passed"
exit $fail
