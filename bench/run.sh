#!/bin/sh
# make bench [BENCH=update|learner|learning|env|replay|distributed|all]: run the benchmarks and print their figures.
# The figures mean something only beside the CPU model and the sgemm rate printed with them;
# docs/benchmarks.md records measured ones with the command that produced them.
set -eu
MPO=${MPO:-build/mpo}
what=${1:-all}
jobs=${BENCH_JOBS:-2}          # learning runs side by side (each one BLAS thread)
seconds=${BENCH_SECONDS:-20}
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "# mpo benchmarks on: ${cpu:-unknown CPU}, $(nproc) cores, $(date -u +%Y-%m-%d)"

bench_update() {
    echo "## update speed (batch 256, N 20, hidden 256, ${seconds} s each; ratio to 1-thread sgemm in the same run)"
    "$MPO" bench update --obs 3 --act 1 --seconds "$seconds"
    for t in 1 2; do
        "$MPO" bench update --obs 17 --act 6 --threads "$t" --seconds "$seconds"
    done
    # every instruction set of the element-wise kernels this CPU has, at HalfCheetah sizes
    for isa in avx2 sse2; do
        "$MPO" bench update --obs 17 --act 6 --isa "$isa" --seconds "$seconds" 2>/dev/null ||
            echo "update --isa $isa: not on this CPU"
    done
}

# PyTorch's updates/s for the same update beside ours (bench/torch_update.py): a benchmark only,
# never a build or test dependency. PYTHON picks the interpreter; else the first of python3 and
# Debian's /usr/bin/python3 (python3 on PATH may be another install) that can import torch.
bench_update_pytorch() {
    py=""
    for p in ${PYTHON:-python3 /usr/bin/python3}; do
        if "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
    done
    if [ -n "$py" ]; then
        "$py" bench/torch_update.py --obs 17 --act 6 --seconds "$seconds"
    else
        echo "pytorch update: skipped, PyTorch is absent (Debian: apt-get install python3-torch)"
    fi
}

# mpo learner (a real replay and learner over loopback) against bench update's loop, in alternating
# rounds with the learner stopped, at 1 and 2 threads
bench_learner() {
    echo "## distributed learner against bench update (HalfCheetah sizes, batch 256, N 20, hidden 256)"
    for t in 1 2; do
        "$MPO" bench learner --obs 17 --act 6 --threads "$t" --seconds "${BENCH_LEARNER_SECONDS:-5}" \
            --rounds "${BENCH_ROUNDS:-5}"
    done
}

# mpo bench learning: seeds 1 2 3 of mpo train --sync, BENCH_JOBS at a time (one BLAS thread each),
# deterministic 10-episode evaluations every BENCH_STEPS/4 steps; it prints the table over the
# seeds and writes summary.csv, summary.md and learning.png in BENCH_OUT (default:
# build/bench/learning-Pendulum-v1-<UTC date-time>, a fresh one each time).
bench_learning() {
    steps=${BENCH_STEPS:-20000}
    echo "## learning: Pendulum-v1, seeds 1 2 3, $steps steps, deterministic 10-episode evaluations (--sync)"
    set -- --env Pendulum-v1 --seeds 1,2,3 --steps "$steps" --eval-every "$((steps / 4))" --jobs "$jobs"
    [ -n "${BENCH_OUT:-}" ] && set -- "$@" --out "$BENCH_OUT"
    "$MPO" bench learning "$@"
}

# mpo train (2 actors) against mpo train --sync on the same seed: return and wall time of each
bench_distributed() {
    seed=${BENCH_SEED:-1}
    steps=${BENCH_STEPS:-20000}
    out=${BENCH_OUT:-build/bench/distributed}
    mkdir -p "$out"
    echo "## mpo train (2 actors) vs mpo train --sync: Pendulum-v1, seed $seed, $steps steps"
    for mode in distributed sync; do
        flag=""; [ "$mode" = sync ] && flag=--sync
        start=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$MPO" train $flag --seed "$seed" --total-timesteps "$steps" --set actors=2 \
            --checkpoint-dir "$out/ckpt-$mode" --log-level warn > "$out/$mode.log" 2>&1
        end=$(date +%s.%N)
        ret=$(sed -n 's/^Mean reward: //p' "$out/$mode.log")
        printf '%-12s return %10s   wall %7.1f s\n' "$mode" "${ret:-failed}" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
    done
}

case "$what" in
update) bench_update; bench_update_pytorch ;;
learner) bench_learner ;;
learning) bench_learning ;;
env) "$MPO" bench env --env HalfCheetah-v4 --num-envs 1 && "$MPO" bench env --env HalfCheetah-v4 --num-envs 8 &&
     "$MPO" bench env --env HalfCheetah-v4 --num-envs 32 &&
     for e in Hopper-v4 Walker2d-v4 Ant-v4 Humanoid-v4; do "$MPO" bench env --env "$e" --num-envs 8 || exit 1; done ;;
replay) "$MPO" bench replay --senders 4 ;;
distributed) bench_distributed ;;
all) bench_update; bench_update_pytorch; bench_learning ;;
*) echo "usage: bench/run.sh [update|learner|learning|env|replay|distributed|all]" >&2; exit 2 ;;
esac
