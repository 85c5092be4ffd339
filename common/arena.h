/* arena: a bump allocator over one reusable block, so that work done one item at a time (decoding
 * a message, common/wire.h's wire_decoder_t) needs no heap allocation per item.
 *
 * arena_alloc hands out ARENA_ALIGN-aligned pieces of the block in order and never grows it: a
 * request that does not fit returns NULL and records in `wanted` how many bytes the block would
 * have needed. arena_reset takes everything back at once (every piece handed out becomes invalid).
 * Between items the owner may arena_reserve a larger block, up to `max`: so the block grows only
 * when a larger item comes, and never holds more than `max` bytes. */
#ifndef MPO_ARENA_H
#define MPO_ARENA_H

#include <stddef.h>

#define ARENA_ALIGN _Alignof(max_align_t) /* every piece is aligned for any type */
#define ARENA_MIN_BLOCK 4096              /* the smallest block arena_reserve makes */

typedef struct {
    unsigned char *block; /* NULL until the first arena_reserve */
    size_t cap;           /* bytes of block */
    size_t used;          /* bytes handed out since the last reset */
    size_t max;           /* the most cap may become */
    size_t wanted;        /* used + the request that did not fit (0: none did since the reset) */
    size_t high;          /* the most `used` has been, all time */
} arena_t;

/* An empty arena (no block yet) whose block may grow to max bytes. */
void arena_init(arena_t *a, size_t max);
/* Free the block; the arena is empty again and may be reused. */
void arena_free(arena_t *a);
/* n bytes (n = 0 gives a valid, distinct piece of ARENA_ALIGN bytes) aligned to ARENA_ALIGN, or
 * NULL when they do not fit in the block (then a->wanted says how many bytes would have). */
void *arena_alloc(arena_t *a, size_t n);
/* Take back everything handed out. Keeps the block. */
void arena_reset(arena_t *a);
/* Reset, and make the block hold at least `bytes` (growing it at least twofold, to no more than max,
 * so a run of ever larger items reserves a logarithmic number of times). 0; -MPO_EINVAL when bytes
 * > max (the block is kept); -MPO_ENOMEM when the memory cannot be had (the arena is then empty). */
int arena_reserve(arena_t *a, size_t bytes);

#endif
