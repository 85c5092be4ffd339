#!/bin/sh
# The network fuzzer, short: a live `mpo replay` and `mpo learner` under 20,000 hostile messages
# each (fuzz/net.c: both still serve, hold what they held, count every refusal and stay within their
# memory bounds). `make fuzz-net` runs 10^6 (docs/testing.md).
set -u
MPO=${MPO_BIN:-build/mpo}
FUZZ_NET=$(dirname "$MPO")/fuzz/fuzz_net
if [ ! -x "$FUZZ_NET" ]; then
    echo "FAIL: no $FUZZ_NET (make $FUZZ_NET)"
    exit 1
fi
exec "$FUZZ_NET" --mpo "$MPO" --messages 20000 --seconds 120
