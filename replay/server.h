/* server: the replay server role (`mpo replay`): owns the ring buffer, serves samples under the
 * rate limiter, validates every message, answers stats requests (docs/protocol.md). */
#ifndef MPO_REPLAY_SERVER_H
#define MPO_REPLAY_SERVER_H

#include "common/config.h"

/* Run until *stop becomes non-zero (SIGINT/SIGTERM). 0 on a clean stop; a negative code of
 * common/error.h after logging why (-MPO_ENOENV, -MPO_EINVAL for a configuration, -MPO_ESOCKET, …). */
int replay_server_run(const config_t *cfg, volatile int *stop);

#endif
