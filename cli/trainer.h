/* trainer: the synchronous reference loop of `mpo train --sync`, one process, bit-for-bit
 * reproducible for a seed: random actions before learning_starts, then one update per env step,
 * progress lines, periodic and final deterministic evaluations. */
#ifndef MPO_TRAINER_H
#define MPO_TRAINER_H

#include "common/config.h"

/* Train with cfg. Returns 0, or -1 after logging why. *final_return (may be NULL) gets the final
 * evaluation's mean return. Stops early, still evaluating, when *stop becomes non-zero. */
int trainer_run_sync(const config_t *cfg, volatile int *stop, double *final_return);

#endif
