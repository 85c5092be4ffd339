/* checkpoint: the learner's files in checkpoint_dir, what `--resume DIR` reads back.
 *
 *   learner.ckpt   everything the update needs to go on bit for bit (mpo_state_t: networks,
 *                  targets, Adam moments, duals and their moments, the update count, the RNG):
 *                  a header naming the sizes, then the float buffers in a fixed order
 *   learner.state  the learner role's counters as `key value` lines (weights version, …)
 *
 * Both are written to NAME.tmp, synced and renamed, so a crash leaves the previous file whole.
 * The learner keeps checkpoint_keep checkpoints: the newest is learner.ckpt, the ones before it
 * learner.ckpt.1, learner.ckpt.2, …; resuming takes the newest that loads and says which.
 * The state file is written after the checkpoint: a crash between the two leaves an older state
 * file, whose version is then only too low (harmless: actors take any version that differs from
 * theirs). */
#ifndef MPO_CHECKPOINT_H
#define MPO_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "learner/mpo.h"

/* the file names inside checkpoint_dir (and `mpo train`'s evaluation, the tests) */
#define CHECKPOINT_FILE "learner.ckpt"
#define CHECKPOINT_STATE_FILE "learner.state"

/* the most checkpoints one series keeps (path and path.1 … path.(KEEP_MAX-1)) */
#define CHECKPOINT_KEEP_MAX 100

/* Write mpo's state to path atomically. mpo is only read. 0, or -MPO_EIO with a reason. */
int checkpoint_save(mpo_t *mpo, const char *path, char *err, size_t errlen);
/* The same, keeping the keep - 1 checkpoints before it: once the new one is written and synced,
 * path.(k) becomes path.(k+1) (the oldest beyond keep goes) and path becomes path.1, then the new
 * file becomes path. A crash in between leaves every older checkpoint whole. keep 1: none kept. */
int checkpoint_save_kept(mpo_t *mpo, const char *path, int keep, char *err, size_t errlen);
/* Load the newest checkpoint of path's series that loads: path, then path.1, path.2, …, skipping
 * missing and refused files. 0 with *used the index loaded (0: path itself; for an older one err
 * names the newest refused file and why); else the newest file's error and reason, mpo unchanged. */
int checkpoint_load_newest(mpo_t *mpo, const char *path, int *used, char *err, size_t errlen);
/* Load a checkpoint written by checkpoint_save into a learner made with the same sizes and policy
 * type. 0; -MPO_EIO when the file cannot be opened; -MPO_EFORMAT when it is not a checkpoint, is for
 * other sizes or is truncated. A reason either way; mpo is unchanged on failure. */
int checkpoint_load(mpo_t *mpo, const char *path, char *err, size_t errlen);

/* X(name): the counters of learner.state, one `name value` line each, in this order */
#define CHECKPOINT_COUNTERS(X) X(updates) X(weights_version) X(batches) X(rejected)

#define CHECKPOINT_COUNTER_FIELD(name) uint64_t name;
typedef struct {
    CHECKPOINT_COUNTERS(CHECKPOINT_COUNTER_FIELD)
} checkpoint_counters_t;

/* what `mpo export` needs beside a checkpoint's own sizes: the environment, min_std and the action
 * bounds (an `external` environment has them only from the learner's configuration) */
typedef struct {
    char env[128];
    double min_std;
    int n_bounds; /* act_low and act_high hold this many; 0: not recorded (an older file) */
    float act_low[ENV_MAX_ACT], act_high[ENV_MAX_ACT];
} checkpoint_run_t;

/* Write dir/learner.state: the counters, then `env NAME`, `min_std X`, `act_low a,b,…` and
 * `act_high a,b,…` (run->n_bounds values each). 0, or -MPO_EIO with a reason. */
int checkpoint_counters_save(const char *dir, const checkpoint_counters_t *c, const checkpoint_run_t *run, char *err,
                             size_t errlen);
/* The run's facts from dir/learner.state: 0, or -MPO_EIO/-MPO_EFORMAT with a reason. What the file
 * does not record (min_std, the bounds: older files) is left as it was in *run. */
int checkpoint_run_load(const char *dir, checkpoint_run_t *run, char *err, size_t errlen);

/* A checkpoint's network sizes and update count, from its header only */
typedef struct {
    int obs_dim, act_dim, hidden, layers;
    policy_type_t policy;
    int64_t updates;
    uint64_t n_params; /* actor and both critics: tells whether the critics have LayerNorm */
} checkpoint_info_t;
/* 0, or -MPO_EIO / -MPO_EFORMAT with a reason */
int checkpoint_peek(const char *path, checkpoint_info_t *info, char *err, size_t errlen);
/* Read dir/learner.state into c (zeroed first; a counter the file lacks stays 0). 0, or -MPO_EIO
 * with a reason when the file cannot be opened. */
int checkpoint_counters_load(const char *dir, checkpoint_counters_t *c, char *err, size_t errlen);

#endif
