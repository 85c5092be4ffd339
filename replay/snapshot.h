/* snapshot: the replay server's state in one file, replay_dir/replay.snap, and reading it back.
 *
 * What it holds: the transitions held, oldest first, as the ring keeps them; the all-time insert
 * count; the counters the stats go on from (episodes, duplicates, sample batches, refusals by
 * reason, the rate limiter's inserts, samples, held seconds and timeouts, the learner's newest
 * update count and version, the newest evaluation and how many came: the learner writes eval.csv
 * when that count grows); the recent episode returns; and every actor's dedup state (id,
 * incarnation, last_seq) with its counters, so that a batch an actor resends after the restart is
 * still stored once. Not kept: what the rate limiter holds (unacked, so the actors resend it), the
 * peers' connections, the stats lists peers send (they send them again), the rates and the
 * staleness average.
 *
 * The file, in the writer's byte order and struct layout (files move between machines of one
 * architecture, as the learner's checkpoints do):
 *
 *   header    magic "MPOSNAP", format version, obs and act sizes, floats per record, the counts of
 *             what follows, the writer's capacity, the wall-clock time of the contents, env name
 *   counters  n_counters × (name[48], double): by name, so a build that counts one more thing
 *             still reads an older file (the missing counter starts at 0) and an unknown name is
 *             skipped
 *   actors    n_actors × (id, incarnation, last_seq, takeovers, transitions, batches, episodes,
 *             policy_version, seconds silent)
 *   returns   n_returns floats, oldest first
 *   records   size × transition_floats floats, oldest first: obs | action | reward | done | next_obs
 *   checksum  FNV-1a 64 (common/fnv.h) of every byte before it; nothing after
 *
 * It is written to replay.snap.tmp, synced, renamed over replay.snap and the directory synced, so
 * a crash at any point leaves the previous snapshot whole. Loading refuses, with one line naming
 * the file and the problem, anything else: another magic or version, another env or sizes, a
 * file cut short or with bytes after its end, a failed checksum, a value that is not finite, an
 * impossible count. */
#ifndef MPO_REPLAY_SNAPSHOT_H
#define MPO_REPLAY_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "replay/peers.h"
#include "replay/rate_limiter.h"
#include "replay/replay_buffer.h"
#include "replay/replay_report.h"

#define SNAPSHOT_FILE "replay.snap"
#define SNAPSHOT_VERSION 1

/* the server's parts a snapshot is made of (saving only reads them) */
typedef struct {
    const char *env;
    replay_buffer_t *buffer;
    peers_t *peers;
    replay_counts_t *counts;
    rate_limiter_t *limiter;
} snapshot_parts_t;

/* what a save wrote or a load found */
typedef struct {
    uint64_t size;        /* transitions in the file */
    uint64_t restored;    /* transitions restored (fewer than size when the ring is smaller) */
    uint64_t inserted;    /* the all-time insert count */
    size_t actors;        /* actor entries */
    uint64_t bytes;       /* the file's length */
    double written_at;    /* wall-clock seconds (CLOCK_REALTIME) of the contents */
    int limiter_restored; /* 0: the file's rate limiter had another window (samples_per_insert,
                             learning_starts or rate_limit_tolerance changed): it starts afresh */
} snapshot_info_t;

/* Write dir/replay.snap atomically from parts as of now (the server's monotonic clock, for the
 * actors' silence) and wall (CLOCK_REALTIME). 0 with *info filled, or -MPO_EIO with a reason
 * (the temporary file removed, an older snapshot left as it was). */
int snapshot_save(const snapshot_parts_t *parts, const char *dir, double now, double wall, snapshot_info_t *info,
                  char *err, size_t errlen);

/* Read path into parts: a fresh buffer (empty), peers without actors, zeroed counts and a limiter
 * that has counted nothing, all made for this env and its sizes. now and wall are the clocks at
 * the restart: an actor silent s seconds at the snapshot is restored as silent s plus the time
 * the server was down. 0 with *info filled; -MPO_EIO when the file cannot be opened or read;
 * -MPO_EFORMAT when it is refused; -MPO_ENOMEM. A reason either way, and on failure parts are as
 * they were (the buffer emptied again). */
int snapshot_load(const snapshot_parts_t *parts, const char *path, double now, double wall, snapshot_info_t *info,
                  char *err, size_t errlen);

#endif
