#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"

void arena_init(arena_t *a, size_t max) { *a = (arena_t){.max = max}; }

void arena_free(arena_t *a) {
    free(a->block);
    arena_init(a, a->max);
}

void *arena_alloc(arena_t *a, size_t n) {
    /* n rounded up to ARENA_ALIGN; 0 still takes one unit, so every piece is distinct */
    size_t units = n / ARENA_ALIGN + (n % ARENA_ALIGN != 0 || n == 0);
    size_t room = a->cap - a->used; /* used <= cap always */
    if (units > room / ARENA_ALIGN) {
        size_t want = units > (SIZE_MAX - a->used) / ARENA_ALIGN ? SIZE_MAX : a->used + units * ARENA_ALIGN;
        if (want > a->wanted)
            a->wanted = want;
        return NULL;
    }
    void *p = a->block + a->used; /* the block is malloc's, so aligned for max_align_t; used stays a multiple */
    a->used += units * ARENA_ALIGN;
    if (a->used > a->high)
        a->high = a->used;
    return p;
}

void arena_reset(arena_t *a) {
    a->used = 0;
    a->wanted = 0;
}

int arena_reserve(arena_t *a, size_t bytes) {
    arena_reset(a);
    size_t usable = a->max - a->max % ARENA_ALIGN; /* whole units only: arena_alloc counts in them */
    if (bytes > usable)
        return -MPO_EINVAL;
    size_t need = bytes + (ARENA_ALIGN - bytes % ARENA_ALIGN) % ARENA_ALIGN; /* <= usable */
    if (need <= a->cap)
        return 0;
    size_t cap = a->cap > usable / 2 ? usable : 2 * a->cap;
    if (cap < ARENA_MIN_BLOCK)
        cap = ARENA_MIN_BLOCK < usable ? ARENA_MIN_BLOCK : usable;
    if (cap < need)
        cap = need;
    free(a->block);
    a->block = malloc(cap);
    a->cap = a->block ? cap : 0;
    return a->block ? 0 : -MPO_ENOMEM;
}
