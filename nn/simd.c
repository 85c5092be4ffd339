#include "nn/simd.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"

/* baseline: every x86-64 (and any other machine) */
#define SIMD_SUFFIX sse2
#define SIMD_TARGET
#define SIMD_BYTES 16
#include "nn/simd_kernels.inc"
#undef SIMD_SUFFIX
#undef SIMD_TARGET
#undef SIMD_BYTES

/* GCC's target attribute; not under the sanitizers, whose instrumentation the copies would dodge */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SIMD_HAVE_WIDE 1
#define SIMD_SUFFIX avx2
#define SIMD_TARGET __attribute__((target("avx2")))
#define SIMD_BYTES 32
#include "nn/simd_kernels.inc"
#undef SIMD_SUFFIX
#undef SIMD_TARGET
#undef SIMD_BYTES

#define SIMD_SUFFIX avx512
#define SIMD_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2")))
#define SIMD_BYTES 64
#include "nn/simd_kernels.inc"
#undef SIMD_SUFFIX
#undef SIMD_TARGET
#undef SIMD_BYTES
#else
#define SIMD_HAVE_WIDE 0
#endif

static const char *const s_names[SIMD_ISA_COUNT] = {"sse2", "avx2", "avx512"};

static const simd_kernels_t *const s_tables[SIMD_ISA_COUNT] = {
    &simd_kernels_sse2,
#if SIMD_HAVE_WIDE
    &simd_kernels_avx2,
    &simd_kernels_avx512,
#else
    NULL,
    NULL,
#endif
};

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static simd_isa_t s_isa;

const char *simd_isa_name(simd_isa_t isa) { return (unsigned)isa < SIMD_ISA_COUNT ? s_names[isa] : "unknown"; }

int simd_isa_parse(const char *name) {
    for (int i = 0; i < SIMD_ISA_COUNT; i++)
        if (name && strcmp(name, s_names[i]) == 0)
            return i;
    return -1;
}

simd_isa_t simd_isa_best(void) {
#if SIMD_HAVE_WIDE
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return SIMD_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return SIMD_AVX2;
#endif
    return SIMD_SSE2;
}

static void s_choose(void) {
    s_isa = simd_isa_best();
    const char *want = getenv("MPO_ISA");
    if (want && *want) {
        int isa = simd_isa_parse(want);
        if (isa < 0)
            log_warn("MPO_ISA=%s: not one of sse2, avx2, avx512; using %s", want, s_names[s_isa]);
        else if ((simd_isa_t)isa > s_isa)
            log_warn("MPO_ISA=%s: this CPU or build has at most %s; using it", want, s_names[s_isa]);
        else
            s_isa = (simd_isa_t)isa;
    }
}

simd_isa_t simd_isa(void) {
    pthread_once(&s_once, s_choose);
    return s_isa;
}

const simd_kernels_t *simd_kernels(void) { return s_tables[simd_isa()]; }

int simd_set_isa(simd_isa_t isa, char *err, size_t errlen) {
    simd_isa_t best = simd_isa_best();
    if ((unsigned)isa >= SIMD_ISA_COUNT || isa > best) {
        snprintf(err, errlen, "instruction set %s: this CPU or build has at most %s", simd_isa_name(isa),
                 s_names[best]);
        return -MPO_EINVAL;
    }
    pthread_once(&s_once, s_choose);
    s_isa = isa;
    return 0;
}
