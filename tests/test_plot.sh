#!/bin/sh
# mpo plot: a run directory with eval.csv (and progress.csv) gives a PNG, by default
# RUN_DIR/learning_curve.png and with --out where asked; a directory with no run (no eval.csv, an
# empty one, a header only) gives exit status 1 and exactly one line on stderr.
# Exit 77 (skip) when gnuplot is not installed.
set -u
MPO=${MPO_BIN:-build/mpo}
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

[ $fail = 0 ] && echo "plot checks passed"
exit $fail
