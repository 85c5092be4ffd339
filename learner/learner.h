/* learner: the learner role (`mpo learner`): samples from the replay server with several requests
 * in flight, runs the MPO update, publishes weights, checkpoints. */
#ifndef MPO_LEARNER_H
#define MPO_LEARNER_H

#include "common/config.h"

/* Run until *stop becomes non-zero; checkpoints on the way out. 0 on a clean stop, -1 after
 * logging why. */
int learner_run(const config_t *cfg, volatile int *stop);

#endif
