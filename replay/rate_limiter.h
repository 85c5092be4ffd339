/* rate_limiter: Reverb's SampleToInsertRatio on cumulative counters, as pure logic.
 *
 * The replay server asks it whether a held insert of n transitions, or a sample of n transitions,
 * may go ahead now; it owns no clock and no socket, so the tests drive it with hand-made times.
 *
 *   SPI        samples_per_insert (-1 in the config means batch_size; 0 switches the limiter off)
 *   min_size   learning_starts (at least 1): no sample before the table holds this many
 *   error      rate_limit_tolerance * SPI, the slack in samples around the target
 *   offset     SPI * min_size;  min_diff = offset - error;  max_diff = offset + error
 *   d          inserts * SPI - samples
 *
 *   sample of n allowed  iff size >= min_size and d - n >= min_diff
 *   insert of n allowed  iff size < min_size (free until the minimum size) or d + n*SPI <= max_diff
 *
 * No deadlock: past min_size, with inserts of up to A transitions and samples of B, some side
 * must be allowed for every d; the sample side is allowed for d >= min_diff + B and the insert
 * side (worst case n = A) for d <= max_diff - A*SPI, so the two cover every d exactly when
 *   2 * error >= SPI * A + B.
 * rate_limiter_new refuses a narrower window. Every held item also has a timeout after which it is
 * admitted anyway (counted), so a vanished learner or actor cannot hold the other side forever. */
#ifndef MPO_RATE_LIMITER_H
#define MPO_RATE_LIMITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct rate_limiter_s rate_limiter_t;

typedef enum { RATE_LIMITER_INSERT = 0, RATE_LIMITER_SAMPLE = 1 } rate_limiter_side_t;

/* what rate_limiter_admit decided */
typedef enum {
    RATE_LIMITER_HOLD = 0,    /* not now: keep it pending */
    RATE_LIMITER_ALLOW = 1,   /* within the window: counted */
    RATE_LIMITER_TIMEOUT = 2, /* outside the window but waited past the timeout: counted anyway */
} rate_limiter_verdict_t;

typedef struct {
    double samples_per_insert; /* SPI; 0: off (only min_size applies to samples) */
    uint64_t min_size;         /* learning_starts; 0 is taken as 1 */
    double tolerance;          /* rate_limit_tolerance: error buffer = tolerance * SPI samples */
    double timeout_s;          /* rate_limit_timeout */
    uint64_t max_insert;       /* largest insert the caller will ask for (actor_batch) */
    uint64_t max_sample;       /* largest sample the caller will ask for (batch_size) */
    uint64_t capacity;         /* table capacity: min_size above it could never be reached */
} rate_limiter_config_t;

/* NULL with a one-line reason when the window is too narrow to move (see above), SPI is negative,
 * or min_size exceeds the capacity. */
rate_limiter_t *rate_limiter_new(const rate_limiter_config_t *config, char *err, size_t errlen);
void rate_limiter_destroy(rate_limiter_t **self_p);

/* The rules, without side effects. size: transitions held now. */
int rate_limiter_can_insert(const rate_limiter_t *self, uint64_t n, uint64_t size);
int rate_limiter_can_sample(const rate_limiter_t *self, uint64_t n, uint64_t size);

/* The largest item of a side the window can ever admit (max_diff - min_diff, in that side's
 * transitions); UINT64_MAX when the limiter is off. An item above it would wait for its timeout
 * every time: the caller refuses it at once instead. */
uint64_t rate_limiter_max_item(const rate_limiter_t *self, rate_limiter_side_t side);
/* Decide about an item of n transitions held since `since` (seconds, caller's clock) at `now`.
 * ALLOW and TIMEOUT count the item (inserts or samples), add now - since to that side's held
 * seconds, and TIMEOUT also counts a timeout. A sample waits without timeout while the table is
 * below min_size (that is waiting for data, not rate limiting) and while it is empty. */
rate_limiter_verdict_t rate_limiter_admit(rate_limiter_t *self, rate_limiter_side_t side, uint64_t n, uint64_t size,
                                          double since, double now);

uint64_t rate_limiter_inserts(const rate_limiter_t *self);
uint64_t rate_limiter_samples(const rate_limiter_t *self);
uint64_t rate_limiter_timeouts(const rate_limiter_t *self);
double rate_limiter_held_seconds(const rate_limiter_t *self, rate_limiter_side_t side);
/* The cumulative counters, and putting back those of an earlier run (a replay snapshot,
 * replay/snapshot.h) so that the ratio goes on where it was rather than from zero. */
typedef struct {
    uint64_t inserts, samples, timeouts;
    double held_s[2]; /* by rate_limiter_side_t */
} rate_limiter_counts_t;
rate_limiter_counts_t rate_limiter_counts(const rate_limiter_t *self);
void rate_limiter_restore(rate_limiter_t *self, const rate_limiter_counts_t *c);
/* SPI in use (0 when off), min_diff and max_diff */
double rate_limiter_spi(const rate_limiter_t *self);
double rate_limiter_min_diff(const rate_limiter_t *self);
double rate_limiter_max_diff(const rate_limiter_t *self);

#endif
