/* bench_alloc: heap allocations counted on chosen threads, for `mpo bench replay`'s "allocations
 * per message".
 *
 * This file defines malloc, calloc and realloc for the whole program: each one adds to a counter
 * when the calling thread asked to be counted (bench_alloc_count_this_thread), then calls glibc's
 * own allocator (__libc_malloc, ...), so the heap is glibc's as before and free() needs no wrapper.
 * A thread that never asked costs one thread-local load per allocation. Allocations whose caller is
 * libzmq (or libstdc++, whose operator new only libzmq calls on these threads) are counted apart:
 * they are ZeroMQ's own (a zmq_msg_init_size per frame of more than 33 bytes), which its public API
 * gives no way to avoid. The aligned allocators (posix_memalign, aligned_alloc) are not counted.
 *
 * A sanitizer build leaves malloc to the sanitizer: there bench_alloc_available() is 0. */
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "cli/bench.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_MEMORY__)
#define BENCH_ALLOC_COUNTS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define BENCH_ALLOC_COUNTS 0
#endif
#endif
#ifndef BENCH_ALLOC_COUNTS
#if defined(__GLIBC__)
#define BENCH_ALLOC_COUNTS 1
#else
#define BENCH_ALLOC_COUNTS 0
#endif
#endif

#define BENCH_ALLOC_RANGES 8 /* executable segments of libzmq and libstdc++ */

static _Thread_local int s_counting;
static atomic_ullong s_total, s_zmq;
static uintptr_t s_lo[BENCH_ALLOC_RANGES], s_hi[BENCH_ALLOC_RANGES];
static atomic_int s_nranges;

static int s_find_ranges(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    int *n = arg;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (!strstr(name, "libzmq") && !strstr(name, "libstdc++"))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && *n < BENCH_ALLOC_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            s_lo[*n] = info->dlpi_addr + ph->p_vaddr;
            s_hi[*n] = s_lo[*n] + ph->p_memsz;
            (*n)++;
        }
    }
    return 0;
}

int bench_alloc_available(void) { return BENCH_ALLOC_COUNTS; }

void bench_alloc_count_this_thread(void) {
    if (atomic_load(&s_nranges) == 0) {
        int n = 0;
        dl_iterate_phdr(s_find_ranges, &n);
        atomic_store(&s_nranges, n);
    }
    s_counting = 1;
}

bench_alloc_counts_t bench_alloc_counts(void) {
    return (bench_alloc_counts_t){.total = atomic_load(&s_total), .zmq = atomic_load(&s_zmq)};
}

#if BENCH_ALLOC_COUNTS
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static inline void s_count(uintptr_t caller) {
    if (!s_counting)
        return;
    atomic_fetch_add_explicit(&s_total, 1, memory_order_relaxed);
    int n = atomic_load_explicit(&s_nranges, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        if (caller >= s_lo[i] && caller < s_hi[i]) {
            atomic_fetch_add_explicit(&s_zmq, 1, memory_order_relaxed);
            return;
        }
}

void *malloc(size_t size) {
    s_count((uintptr_t)__builtin_return_address(0));
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    s_count((uintptr_t)__builtin_return_address(0));
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    s_count((uintptr_t)__builtin_return_address(0));
    return __libc_realloc(p, size);
}
#endif
