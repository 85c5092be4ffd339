#!/bin/sh
# The docs stay true to the program: the README's configuration table is exactly what
# `mpo config --markdown` prints (regenerate with `make docs`), and every command answers --help.
set -u
MPO=${MPO_BIN:-build/mpo}
fail=0
want=$("$MPO" config --markdown)
have=$(sed -n '/<!-- config:begin -->/,/<!-- config:end -->/p' README.md | sed '1d;$d')
if [ "$want" != "$have" ]; then
    echo "FAIL: README.md's configuration table differs from 'mpo config --markdown' (run: make docs)"
    fail=1
fi
for cmd in train replay learner actor stat plot envs config bench keygen; do
    if ! "$MPO" "$cmd" --help >/dev/null 2>&1; then
        echo "FAIL: mpo $cmd --help exits non-zero"
        fail=1
    fi
done
for b in update learner env replay snapshot learning; do
    "$MPO" bench "$b" --help >/dev/null 2>&1 || { echo "FAIL: mpo bench $b --help exits non-zero"; fail=1; }
done
# an unknown key is one line naming it and the nearest known key
out=$("$MPO" train --set learning_rat=1 2>&1); rc=$?
if [ $rc = 0 ] || [ "$(printf '%s\n' "$out" | wc -l)" != 1 ] || ! printf '%s' "$out" | grep -q "learning_rat.*learning_rate"; then
    echo "FAIL: unknown key error: rc $rc, '$out'"
    fail=1
fi
# the Python actor (docs/python.md) answers --help too, where its packages are installed
. "$(dirname "$0")/lib.sh" # python_for_actor
if py=$(python_for_actor); then
    PYTHONPATH=python MPO_PB2_DIR="$(dirname "$MPO")/python" "$py" -m mpo_actor --help >/dev/null 2>&1 ||
        { echo "FAIL: python3 -m mpo_actor --help exits non-zero"; fail=1; }
fi
[ $fail = 0 ] && echo "docs and command-line checks passed"
exit $fail
