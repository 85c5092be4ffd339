/* server: the replay server role (`mpo replay`): owns the ring buffer, serves samples under the
 * rate limiter, validates every message, answers stats requests (docs/protocol.md). */
#ifndef MPO_REPLAY_SERVER_H
#define MPO_REPLAY_SERVER_H

#include "common/config.h"

/* Run until *stop becomes non-zero (SIGINT/SIGTERM). 0 on a clean stop, -1 after logging why. */
int replay_server_run(const config_t *cfg, volatile int *stop);

#endif
