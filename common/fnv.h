/* fnv: the FNV-1a 64-bit hash, the checksum of every file mpo writes and reads back (the learner's
 * checkpoints, the replay's snapshots). Not a cryptographic hash: it finds a flipped byte, a torn
 * write or a file cut short, not a forger. Streamed: start from FNV_OFFSET, feed each piece. */
#ifndef MPO_FNV_H
#define MPO_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static inline uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

#endif
