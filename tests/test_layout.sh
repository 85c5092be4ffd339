#!/bin/sh
# Includes run downward only (docs/architecture.md): each folder may include the folders listed
# for it, and nothing above. A lower folder that includes a higher one fails this test, and so does
# a file over 600 lines. The checker is tried first on a tree made here with one bad include, so a
# checker that can no longer fail fails too.
set -u
cd "$(dirname "$0")/.."

# folder: the folders its files may include ("proto" is the generated protocol header)
RULES='common:common proto
nn:common nn
env:common nn env
learner:common nn env learner proto
replay:common nn env replay proto
actor:common nn env actor proto
cli:common nn env learner replay actor cli proto
fuzz:common proto fuzz'
MAX_LINES=600

# check ROOT: prints one line per offence, exits 1 if any
check() {
    root=$1
    echo "$RULES" | while IFS=: read -r dir allowed; do
        [ -d "$root/$dir" ] || continue
        for f in "$root/$dir"/*.c "$root/$dir"/*.h; do
            [ -f "$f" ] || continue
            grep -n '^#include "' "$f" | while IFS= read -r line; do
                inc=$(echo "$line" | sed 's/.*#include "\([^"]*\)".*/\1/')
                top=${inc%%/*}
                [ "$top" = "$inc" ] && { echo "${f#$root/}: '$inc' names no folder (write $dir/$inc)"; continue; }
                case " $allowed " in *" $top "*) ;; *) echo "${f#$root/}: includes $inc, but $dir/ may include only: $allowed" ;; esac
            done
            n=$(wc -l < "$f")
            [ "$n" -gt $MAX_LINES ] && echo "${f#$root/}: $n lines (at most $MAX_LINES)"
        done
    done
}

# the checker must catch a planted offence
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/nn" "$tmp/env"
printf '#include "env/env.h"\n' > "$tmp/nn/bad.c"
printf '#include "nn/mlp.h"\n#include "common/log.h"\n' > "$tmp/env/good.c"
planted=$(check "$tmp")
if [ "$(echo "$planted" | grep -c .)" != 1 ] || ! echo "$planted" | grep -q 'nn/bad.c: includes env/env.h'; then
    echo "FAIL: the layout checker missed a planted upward include (it said: $planted)"
    exit 1
fi

out=$(check .)
if [ -n "$out" ]; then
    echo "$out" | sed 's/^/FAIL: /'
    exit 1
fi
echo "ok: includes run downward in $(echo "$RULES" | cut -d: -f1 | tr '\n' ' ')and no file is over $MAX_LINES lines"
