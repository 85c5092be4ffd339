/* launch: `mpo train` without --sync: replay, learner and `actors` actors on one machine as child
 * processes of this one (the same role code as `mpo replay`/`learner`/`actor`), one combined
 * progress line, and the final deterministic evaluation printed as `Mean reward: X`. */
#ifndef MPO_LAUNCH_H
#define MPO_LAUNCH_H

#include "common/config.h"

/* exe: path of the mpo program to start the roles with (/proc/self/exe). 0 or -1. */
int launch_train(const config_t *cfg, volatile int *stop, const char *exe, double *final_return);

#endif
