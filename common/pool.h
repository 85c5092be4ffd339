/* pool: a fork-join pool of threads for the learner's update.
 *
 * pool_run hands tasks 0..n-1 to the pool's threads (the calling thread is one of them) and returns
 * when every task has finished. A task must write only memory no other task of the same run
 * touches; then the results do not depend on which thread ran which task, and an update is the same
 * bits at any thread count. Workers wait on a condition variable between runs: a run costs a few
 * microseconds of hand-over, and the update makes a handful of runs. */
#ifndef MPO_POOL_H
#define MPO_POOL_H

#include <stddef.h>

typedef struct pool_s pool_t;
typedef void (*pool_fn_t)(void *ctx, int task);

/* threads in all, the caller included (1: no worker threads, tasks run in order on the caller).
 * NULL with a reason when a thread cannot be started. */
pool_t *pool_new(int threads, char *err, size_t errlen);
void pool_destroy(pool_t **self_p);
int pool_threads(const pool_t *self);
/* fn(ctx, 0) .. fn(ctx, n - 1), spread over the threads; returns when all have returned */
void pool_run(pool_t *self, int n, pool_fn_t fn, void *ctx);

/* the CPUs this process may run on (sched_getaffinity), at least 1 */
int pool_available_cpus(void);

#endif
