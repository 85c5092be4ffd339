/* simd: element-wise loops compiled once per instruction set and picked at load time.
 *
 * The build targets baseline x86-64 (SSE2) so one binary runs on every machine; the few loops that
 * run over every activation (bias + ReLU, the ReLU mask in backward, Adam, Polyak) are cloned for
 * AVX2 and AVX-512 with GCC's target_clones, and the dynamic loader picks the widest the CPU has.
 * Anywhere else (another compiler or architecture) the attribute is empty. */
#ifndef MPO_SIMD_H
#define MPO_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MPO_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MPO_SIMD_CLONES
#endif

#endif
