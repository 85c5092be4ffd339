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

# one learning run: seed, env, steps, eval_every, out dir
s_learn() {
    "$MPO" train --sync --env "$2" --seed "$1" --total-timesteps "$3" --set eval_every="$4" \
        --run-dir "$5" --log-level warn > "$5.log" 2>&1
}

bench_learning() {
    steps=${BENCH_STEPS:-20000}
    out=${BENCH_OUT:-build/bench/learning}
    mkdir -p "$out"
    echo "## learning: Pendulum-v1, seeds 1 2 3, $steps steps, deterministic 10-episode evaluations (--sync)"
    start=$(date +%s)
    running=0
    for seed in 1 2 3; do
        s_learn "$seed" Pendulum-v1 "$steps" 5000 "$out/pendulum-seed$seed" &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then wait -n 2>/dev/null || wait; running=$((running - 1)); fi
    done
    wait
    printf '%-6s' seed; for s in 5000 10000 15000 20000; do printf '%10s' "$s"; done; echo
    for seed in 1 2 3; do
        printf '%-6s' "$seed"
        for s in 5000 10000 15000 20000; do
            v=$(awk -F, -v s="$s" '$1 == s { printf "%.1f", $3 }' "$out/pendulum-seed$seed/eval.csv")
            printf '%10s' "${v:--}"
        done
        echo
    done
    for s in 10000 20000; do
        awk -F, -v s="$s" 'FNR > 1 && $1 == s { t += $3; n++ } END { if (n) printf "mean at %d: %.1f over %d seeds\n", s, t / n, n }' \
            "$out"/pendulum-seed*/eval.csv
    done
    echo "wall time: $(( $(date +%s) - start )) s for 3 runs, $jobs at a time"
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
     "$MPO" bench env --env HalfCheetah-v4 --num-envs 32 ;;
replay) "$MPO" bench replay --senders 4 ;;
distributed) bench_distributed ;;
all) bench_update; bench_update_pytorch; bench_learning ;;
*) echo "usage: bench/run.sh [update|learner|learning|env|replay|distributed|all]" >&2; exit 2 ;;
esac
