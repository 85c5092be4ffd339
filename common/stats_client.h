/* stats_client: ask a replay server for its stats (the StatsRequest/StatsReply of docs/protocol.md)
 * and look figures up by name. One client behind `mpo stat`, `mpo train`'s progress line and the
 * tests: a DEALER that says Hello as a stats client, sends a request, and waits for the reply with a
 * timeout, skipping the Ack to its Hello. */
#ifndef MPO_STATS_CLIENT_H
#define MPO_STATS_CLIENT_H

#include <stddef.h>

#include "common/curve.h"
#include "proto/mpo.pb-c.h"

typedef struct stats_client_s stats_client_t;

/* Connect to endpoint (its own ZeroMQ context) and say Hello with this id and environment (env may
 * be NULL); with curve on, as a CURVE client of the replay server's key (curve may be NULL: plain).
 * NULL with a one-line reason. */
stats_client_t *stats_client_new(const char *endpoint, const char *id, const char *env, const curve_t *curve,
                                 char *err, size_t errlen);
void stats_client_destroy(stats_client_t **self_p);

/* Send one StatsRequest without waiting. 0, or a negative code (common/error.h) with a reason. */
int stats_client_request(stats_client_t *self, char *err, size_t errlen);
/* Wait up to timeout_s for the reply to the request: 1 once a reply is held (stats_client_reply),
 * 0 when none came yet, a negative code with a reason when the server refused. */
int stats_client_poll(stats_client_t *self, double timeout_s, char *err, size_t errlen);
/* request + poll until timeout_s has passed or *interrupted is set (may be NULL). 0 with a reply
 * held, or -MPO_ETIMEOUT / -MPO_EINTR / another code, with a reason. */
int stats_client_ask(stats_client_t *self, double timeout_s, volatile int *interrupted, char *err, size_t errlen);
/* the newest reply, valid until the next poll or ask; NULL before the first */
const Mpo__StatsReply *stats_client_reply(const stats_client_t *self);

/* a figure of the replay's stats table by name; `missing` when the reply has no such figure */
double stats_reply_value(const Mpo__StatsReply *reply, const char *name, double missing);
/* the count of refusals for this reason ("malformed", …); 0 when none are listed */
unsigned long long stats_reply_rejected(const Mpo__StatsReply *reply, const char *reason);

#endif
