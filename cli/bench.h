/* bench: the `mpo bench …` commands (like redis-benchmark): each prints a readable line, or one
 * JSON object with --json. */
#ifndef MPO_BENCH_H
#define MPO_BENCH_H

#include <stddef.h>

#include "common/config.h"
#include "nn/gemm.h"

/* argv[0] is the benchmark's name */
int bench_update_main(int argc, char **argv);
int bench_env_main(int argc, char **argv);
int bench_replay_main(int argc, char **argv);
/* a replay snapshot's write (forked and in the thread) and restore (cli/bench_snapshot.c) */
int bench_snapshot_main(int argc, char **argv);
/* several seeds of `mpo train --sync` as child processes, summarised (cli/bench_learning.c) */
int bench_learning_main(int argc, char **argv);
int bench_learner_main(int argc, char **argv);

/* What `mpo bench update` times: an MPO learner with cfg's batch_size, n_action_samples, hidden,
 * layers, policy and threads, for obs/act sizes with actions in [-1, 1], updating on one batch of
 * random transitions (fixed seed). New runs one update to warm up; NULL with a reason. */
typedef struct bench_updater_s bench_updater_t;
bench_updater_t *bench_updater_new(const config_t *cfg, int obs, int act, char *err, size_t errlen);
/* updates for at least `seconds`: updates/s, and the count in *n (may be NULL) */
double bench_updater_run(bench_updater_t *self, double seconds, long *n);
/* GFLOP of the matrix products of one update */
double bench_updater_gflop(const bench_updater_t *self);
void bench_updater_destroy(bench_updater_t **self_p);

/* "AMD EPYC 9R14" from /proc/cpuinfo, or "unknown" */
void bench_cpu_model(char *out, size_t outlen);
/* the CPU's vector extensions that matter here, "avx2 fma avx512f avx512_bf16 amx_tile" (those
 * present), from /proc/cpuinfo */
void bench_cpu_flags(char *out, size_t outlen);
/* one library's sgemm rate (1024^3, on the calling thread) in GFLOP/s, measured for about `seconds` */
double bench_sgemm_gflops(gemm_backend_t backend, double seconds);

/* Heap allocations (malloc, calloc, realloc) made on the threads that called
 * bench_alloc_count_this_thread, since the program started; `zmq` of them from inside libzmq
 * (cli/bench_alloc.c). bench_alloc_available() is 0 where they cannot be counted (a sanitizer
 * build), and the counts stay 0. */
typedef struct {
    unsigned long long total, zmq;
} bench_alloc_counts_t;
int bench_alloc_available(void);
void bench_alloc_count_this_thread(void);
bench_alloc_counts_t bench_alloc_counts(void);

#endif
