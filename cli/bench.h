/* bench: the `mpo bench …` commands (like redis-benchmark): each prints a readable line, or one
 * JSON object with --json. */
#ifndef MPO_BENCH_H
#define MPO_BENCH_H

#include <stddef.h>

/* argv[0] is the benchmark's name */
int bench_update_main(int argc, char **argv);
int bench_env_main(int argc, char **argv);
int bench_replay_main(int argc, char **argv);
/* several seeds of `mpo train --sync` as child processes, summarised (cli/bench_learning.c) */
int bench_learning_main(int argc, char **argv);

/* "AMD EPYC 9R14" from /proc/cpuinfo, or "unknown" */
void bench_cpu_model(char *out, size_t outlen);
/* the CPU's vector extensions that matter here, "avx2 fma avx512f avx512_bf16 amx_tile" (those
 * present), from /proc/cpuinfo */
void bench_cpu_flags(char *out, size_t outlen);
/* single-thread-or-current-threads sgemm rate in GFLOP/s, measured for about `seconds` */
double bench_sgemm_gflops(double seconds);

#endif
