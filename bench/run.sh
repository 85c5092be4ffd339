#!/bin/sh
# make bench [BENCH=update|learner|learning|env|replay|distributed|python|actor-overhead|bf16|all]: run the benchmarks and print their figures.
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
    # the other sgemm library (nn/gemm.h) on the same update
    "$MPO" bench update --obs 17 --act 6 --gemm openblas --seconds "$seconds"
    # every instruction set of the element-wise kernels this CPU has, at HalfCheetah sizes; oneDNN is
    # limited to the same width by --isa, OpenBLAS (read at load) by OPENBLAS_CORETYPE, so the
    # sgemm reference is that width's too
    for isa in avx2 sse2; do
        core=Haswell; [ "$isa" = sse2 ] && core=Prescott
        OPENBLAS_CORETYPE=$core "$MPO" bench update --obs 17 --act 6 --isa "$isa" --seconds "$seconds" 2>/dev/null ||
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

. "$(dirname "$0")/../tests/lib.sh" # python_for_actor, free_ports

# One seed of Pendulum-v1 trained by the C learner from the Python actor (python/mpo_actor, with
# its Python Pendulum): mpo replay and mpo learner (--threads 1) on two free loopback ports, the
# actor until it has stored $steps steps, then 10 deterministic episodes of the newest weights in
# the Python environment. Prints one line: the return and the wall time.
python_seed() {
    seed=$1
    set -- $(PY="$py" free_ports 2)
    rep="tcp://127.0.0.1:$1" wts="tcp://127.0.0.1:$2"
    start=$(date +%s.%N)
    "$MPO" replay --bind "$rep" --seed "$seed" --log-level warn > "$out/py-$seed-replay.log" 2>&1 &
    rpid=$!
    "$MPO" learner --replay "$rep" --weights-bind "$wts" --seed "$seed" --threads 1 \
        --checkpoint-dir "$out/ckpt-py-$seed" --log-level warn > "$out/py-$seed-learner.log" 2>&1 &
    lpid=$!
    PYTHONPATH=python MPO_PB2_DIR="$(dirname "$MPO")/python" "$py" -m mpo_actor --replay "$rep" --learner "$wts" \
        --seed "$seed" --total-steps "$steps" --log-interval 30 > "$out/py-$seed-actor.log" 2>&1
    end=$(date +%s.%N)
    ret=$(PYTHONPATH=python MPO_PB2_DIR="$(dirname "$MPO")/python" "$py" -m mpo_actor --learner "$wts" \
        --seed "$((seed + 1000003))" --eval-episodes 10 2>>"$out/py-$seed-actor.log" | sed -n 's/^Mean reward: //p')
    kill -TERM "$lpid" "$rpid" 2>/dev/null
    wait "$lpid" "$rpid" 2>/dev/null
    printf 'seed %-3s python actor  return %10s   wall %7.1f s\n' "$seed" "${ret:-failed}" \
        "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
}

# The same seed with the C actor: mpo train with one actor and the learner on one thread.
c_seed() {
    seed=$1
    start=$(date +%s.%N)
    "$MPO" train --seed "$seed" --total-timesteps "$steps" --set actors=1 --threads 1 \
        --checkpoint-dir "$out/ckpt-c-$seed" --log-level warn > "$out/c-$seed.log" 2>&1
    end=$(date +%s.%N)
    ret=$(sed -n 's/^Mean reward: //p' "$out/c-$seed.log")
    printf 'seed %-3s C actor       return %10s   wall %7.1f s\n' "$seed" "${ret:-failed}" \
        "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
}

# The Python actor beside the C actor, seed by seed (BENCH_JOBS=2: the two side by side)
bench_python() {
    steps=${BENCH_STEPS:-20000}
    seeds=${BENCH_SEEDS:-1 2 3}
    out=${BENCH_OUT:-build/bench/python}
    mkdir -p "$out"
    py=$(python_for_actor) || {
        echo "python actor: skipped, no python3 with zmq, protobuf and numpy (sudo make python installs them)"
        return 0
    }
    echo "## Python actor against C actor: Pendulum-v1, seeds $seeds, $steps env steps, 1 actor, learner --threads 1,"
    echo "## deterministic 10-episode evaluation of the final weights (Python env / C env)"
    for seed in $seeds; do
        if [ "$jobs" -ge 2 ]; then
            python_seed "$seed" &
            c_seed "$seed"
            wait
        else
            python_seed "$seed"
            c_seed "$seed"
        fi
    done
}

# the two critics' products of one update in OpenBLAS fp32, oneDNN fp32 and oneDNN bf16 (AMX where
# the CPU has it), one thread (bench/bf16_critic.c); with AMX, once more without it
bench_bf16() {
    BF16=${BF16:-$(dirname "$MPO")/bench/bf16_critic}
    OMP_NUM_THREADS=1 "$BF16"
    if grep -q -w amx_bf16 /proc/cpuinfo; then
        echo "# the same without AMX (avx512_bf16 only)"
        OMP_NUM_THREADS=1 ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 "$BF16"
    fi
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
python) bench_python ;;
actor-overhead)
    py=$(python_for_actor) || { echo "actor overhead: skipped, no python3 with zmq, protobuf and numpy"; exit 0; }
    MPO="$MPO" PY="$py" "$(dirname "$0")/actor_overhead.sh" ;;
bf16) bench_bf16 ;;
all) bench_update; bench_update_pytorch; bench_bf16; bench_learning ;;
*) echo "usage: bench/run.sh [update|learner|learning|env|replay|distributed|python|actor-overhead|bf16|all]" >&2; exit 2 ;;
esac
