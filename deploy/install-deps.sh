#!/bin/sh
# Install the Debian packages mpo builds and tests with, when any is missing.
# Used by the Makefile on first build (the build list), by `make python` with --python (the Python
# actor, python/: Debian's python3-zmq, python3-protobuf, python3-numpy, and protoc for mpo_pb2.py),
# by `make test` with --test (also the tools the tests run: promtool from prometheus, gnuplot for
# mpo plot, iproute2 for the namespace test, the Python actor's packages, clang and its libFuzzer
# runtime for the fuzz targets' smoke run), by `make fuzz` with --fuzz (clang and libFuzzer only),
# and by deploy/Dockerfile. Exits non-zero with one line when packages are missing and it cannot
# install them (not root, no apt-get).
set -eu
PKGS="build-essential pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libopenblas-dev libdnnl-dev \
libmujoco-dev libcmocka-dev libinih-dev libmicrohttpd-dev gnuplot-nox"
PYTHON_PKGS="python3 python3-zmq python3-protobuf python3-numpy protobuf-compiler"
FUZZ_PKGS="clang libclang-rt-dev"
for opt in "$@"; do
    case $opt in
    --test) PKGS="$PKGS prometheus iproute2 $PYTHON_PKGS $FUZZ_PKGS" ;;
    --python) PKGS="$PKGS $PYTHON_PKGS" ;;
    --fuzz) PKGS="$FUZZ_PKGS" ;;
    *) echo "install-deps.sh: unknown option $opt (--test, --python, --fuzz)" >&2; exit 2 ;;
    esac
done
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "mpo: missing packages:$missing (and no apt-get here to install them)" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "mpo: missing packages:$missing; run 'sudo make deps' or: sudo apt-get install$missing" >&2
    exit 1
fi
echo "mpo: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
