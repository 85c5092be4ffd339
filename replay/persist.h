/* persist: the replay server's snapshots over its life (replay_dir; the file is replay/snapshot.h's).
 *
 *   start    replay_dir/replay.snap is restored; none there: the server starts empty. A snapshot
 *            that is refused stops the server with one line naming the file and why, unless
 *            replay_start_empty is 1: then it is renamed replay.snap.refused and the server starts
 *            empty.
 *   serving  a snapshot every replay_snapshot_interval seconds, or after replay_snapshot_inserts
 *            transitions stored, whichever comes first, when anything was stored since the last.
 *            A child process writes it (fork): the child sees the buffer as it was at the fork
 *            (copy-on-write) while the server goes on serving, and the server's loop pauses only
 *            for the fork itself. The child touches no ZeroMQ socket and logs nothing: it writes the
 *            file, reports on a pipe and _exits; it dies with the server (PR_SET_PDEATHSIG). One
 *            at a time: one still writing delays the next. A failure is counted, logged and tried
 *            again at the next interval.
 *   stop     a final snapshot, written in the server's own thread (a child still writing is
 *            killed first: the final one supersedes it).
 * Its figures (snapshots written and failed, the newest one's age, duration, pause and size, the
 * transitions restored) are rows of the stats table, kept in replay_counts_t. */
#ifndef MPO_REPLAY_PERSIST_H
#define MPO_REPLAY_PERSIST_H

#include <stddef.h>

#include "common/config.h"
#include "replay/snapshot.h"

typedef struct persist_s persist_t;

/* For cfg->replay_dir (not empty): the directory is made if missing and must be writable. NULL
 * with a one-line reason otherwise. */
persist_t *persist_new(const config_t *cfg, char *err, size_t errlen);
/* Kills a child still writing (its temporary file is left for the next write to replace). */
void persist_destroy(persist_t **self_p);

/* Restore the snapshot into parts (fresh, as snapshot_load wants them). 0 when restored, when
 * there is none, or when it was refused and replay_start_empty is 1 (parts empty); otherwise the
 * load's negative code, after logging one line. */
int persist_restore(persist_t *self, const snapshot_parts_t *parts, double now);
/* From the server's loop: collect a child that finished, start one when due. */
void persist_tick(persist_t *self, const snapshot_parts_t *parts, double now);
/* The final snapshot, on stop. 0, or -MPO_EIO after logging why. */
int persist_final(persist_t *self, const snapshot_parts_t *parts, double now);

#endif
