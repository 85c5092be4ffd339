#!/bin/bash
# Environment presets (env/presets.c), through `mpo config`: for every environment that has one,
#   1. `mpo config --env E` lists the preset in comments and applies it, whichever layer names E
#      (flag, config file, MPO_ENV);
#   2. the preset sits under everything a user sets: a config file, an MPO_<KEY> variable and a
#      --set flag each win over it;
#   3. another environment does not get it (Pendulum-v1's values are the general defaults);
#   4. what `mpo config` prints loads back as a config file to the same configuration.
set -u
MPO=${MPO_BIN:-build/mpo}
dir=$(mktemp -d /tmp/mpo-test-presets.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0
value() { sed -n "s/^$1 = //p"; }
envs=$("$MPO" envs | awk 'NR > 1 {print $1}')
n=0
for e in $envs; do
    "$MPO" config --env "$e" >"$dir/cfg" || { echo "FAIL: mpo config --env $e"; fail=1; continue; }
    pairs=$(sed -n 's/^#   \([a-z_]*=.*\)$/\1/p' "$dir/cfg")
    [ -n "$pairs" ] || continue
    n=$((n + 1))
    for kv in $pairs; do
        k=${kv%%=*} v=${kv#*=}
        def=$("$MPO" config --env Pendulum-v1 | value "$k")
        [ "$("$MPO" config --env "$e" | value "$k")" = "$v" ] || { echo "FAIL: $e: $k is not the preset's $v"; fail=1; }
        printf 'env = %s\n' "$e" >"$dir/env.ini"
        [ "$("$MPO" config --config "$dir/env.ini" | value "$k")" = "$v" ] ||
            { echo "FAIL: $e named in a config file: $k is not the preset's $v"; fail=1; }
        [ "$(MPO_ENV="$e" "$MPO" config | value "$k")" = "$v" ] ||
            { echo "FAIL: $e named by MPO_ENV: $k is not the preset's $v"; fail=1; }
        # another value for the key, the default's unless the preset's is the default
        other=$def
        [ "$other" != "$v" ] || { echo "FAIL: $e: the preset's $k = $v is the default"; fail=1; continue; }
        printf 'env = %s\n%s = %s\n' "$e" "$k" "$other" >"$dir/both.ini"
        [ "$("$MPO" config --config "$dir/both.ini" | value "$k")" = "$other" ] ||
            { echo "FAIL: $e: a config file's $k does not win over the preset"; fail=1; }
        upper=$(echo "$k" | tr a-z A-Z)
        [ "$(env "MPO_$upper=$other" "$MPO" config --env "$e" | value "$k")" = "$other" ] ||
            { echo "FAIL: $e: MPO_$upper does not win over the preset"; fail=1; }
        [ "$("$MPO" config --env "$e" --set "$k=$other" | value "$k")" = "$other" ] ||
            { echo "FAIL: $e: --set $k does not win over the preset"; fail=1; }
    done
    # what config prints loads back to the same configuration
    "$MPO" config --config "$dir/cfg" | grep -v '^#' >"$dir/again"
    grep -v '^#' "$dir/cfg" | cmp -s - "$dir/again" || { echo "FAIL: $e: mpo config's output does not load back"; fail=1; }
done
# Pendulum-v1 has none: its configuration is the defaults
"$MPO" config --env Pendulum-v1 | grep -q '^#' && { echo "FAIL: Pendulum-v1 shows a preset"; fail=1; }
[ $fail = 0 ] && echo "presets: $n environments with one; each applied from a flag, a file and MPO_ENV, and under a file, MPO_* and --set"
exit $fail
