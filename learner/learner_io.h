/* learner_io: the learner's sockets on their own thread, so the update never waits on the network.
 *
 * The I/O thread owns the DEALER to the replay server and the weights PUB (ZeroMQ sockets are
 * made here and then used by that thread alone). It says Hello, keeps sample_prefetch
 * SampleRequests in flight, receives and decodes each answer into a slot of a batch_queue (each
 * slot's own arena through protobuf-c's allocator hook: no allocation per batch in steady state),
 * checks it (wire_check_sample_batch, n <= batch_size) and queues it for the update loop, which
 * takes it with learner_io_next and gives the slot back with learner_io_done. When every slot is
 * full it leaves the socket alone, so the answers wait in ZeroMQ's queue and nothing grows, until
 * the update loop has used all but LEARNER_IO_LOW_WATER of the ready batches.
 *
 * Requests carry the update loop's newest figures (learner_io_set_stats): its update count and
 * weights version on each, the whole stats list at most once a second. Replay restarts are handled
 * here as before: after SAMPLE_TIMEOUT_S with room for a batch and nothing received, or a no_hello
 * Error, Hello again and a fresh set of requests; an answer to a superseded request still counts
 * as data (stale_batches_total). Weights: learner_io_publish copies the actor's parameters and the
 * thread sends them (ZMQ_DONTWAIT, as before). The update loop wakes the thread through an
 * eventfd when the ready batches run low or it hands weights over. With curve_key_file set the
 * DEALER is a CURVE client of curve_replay_key and the PUB a CURVE server behind common/zap.h,
 * which counts the subscribers it refuses (curve_refused_total). */
#ifndef MPO_LEARNER_IO_H
#define MPO_LEARNER_IO_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/transition.h"
#include "env/env.h"

/* Slots: one being updated on, one ready, and room for up to 8 of the sample_prefetch answers at
 * once: learner_io_slots(). The update loop wakes the thread only when a release leaves at most
 * LEARNER_IO_LOW_WATER batches ready, so in steady state (the update slower than the replay) one
 * wake-up refills several slots instead of one per update. */
#define LEARNER_IO_MAX_REFILL 8
#define LEARNER_IO_LOW_WATER 1
#define SAMPLE_TIMEOUT_S 10.0 /* silence (with room for a batch) before Hello and new requests */

typedef struct learner_io_s learner_io_t;

/* The sockets (DEALER connected to cfg->replay_endpoint, PUB bound on cfg->weights_bind), the
 * slots for batches of up to cfg->batch_size transitions of spec's sizes, and a weights buffer of
 * weights_floats. spec is copied (its name must outlive this); cfg is kept. NULL with a reason. */
learner_io_t *learner_io_new(const config_t *cfg, const env_spec_t *spec, const char *id, size_t weights_floats,
                             char *err, size_t errlen);
/* Start the thread: it says Hello and sends the first sample_prefetch requests, the first with the
 * stats list set by learner_io_set_stats before. 0, or -1 with a reason. */
int learner_io_start(learner_io_t *self, char *err, size_t errlen);
/* Stop the thread (at once: it is woken) and wait for it; counters stay readable. Idempotent. */
void learner_io_stop(learner_io_t *self);
/* stop, close the sockets, free everything, set *self_p to NULL; NULL is fine */
void learner_io_destroy(learner_io_t **self_p);
/* 1 once the thread has stopped on an error of its own (logged) */
int learner_io_failed(learner_io_t *self);
/* the number of batch slots: min(sample_prefetch, LEARNER_IO_MAX_REFILL) + 2 */
int learner_io_slots(const learner_io_t *self);

/* The update loop's side. The next checked batch, waiting up to timeout_s: its slot (>= 0), with
 * *batch pointing into it until learner_io_done(slot); -1 when none came in time. */
int learner_io_next(learner_io_t *self, double timeout_s, transition_batch_t *batch);
void learner_io_done(learner_io_t *self, int slot);
/* the actor's weights_floats parameters as version `version` after learner_step updates: copied
 * now, published by the I/O thread as soon as it wakes (a newer hand-over replaces an unsent one) */
void learner_io_publish(learner_io_t *self, const float *params, uint64_t version, uint64_t learner_step);
/* the newest values of learner/learner_stats.h's table (LEARNER_STAT_COUNT, copied) */
void learner_io_set_stats(learner_io_t *self, const double *values);
/* where training stands as the replay server said with its newest sample batch: transitions
 * stored, and the mean return of its recent episodes (0 with recent_episodes 0: none yet) */
typedef struct {
    uint64_t env_steps;
    double recent_return;
    uint32_t recent_episodes;
    double heard_at;       /* clock_now() of the replay's last message to us; 0: never */
    double batch_at;       /* of its last sample batch; 0: none yet */
    uint64_t replay_size;  /* transitions it held when it last answered our Hello */
    uint64_t evals;        /* evaluations the replay has had from evaluators; the newest: */
    double eval_return, eval_std;
    uint32_t eval_episodes;
    uint64_t eval_env_steps; /* transitions stored when it came */
} learner_io_progress_t;
learner_io_progress_t learner_io_progress(learner_io_t *self);
/* the I/O thread's own figures into their slots of values[LEARNER_STAT_COUNT]: batches refused,
 * stale and ready, reissues, publications, seconds waiting on the replay */
void learner_io_stats(learner_io_t *self, double *values);

#endif
