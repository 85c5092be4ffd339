/* sock: every ZeroMQ socket of mpo made, configured and bound or connected in one call, with each
 * option's result checked. A role lists its options as a table; a failure is one line naming the
 * socket, the option or endpoint, and ZeroMQ's reason. */
#ifndef MPO_SOCK_H
#define MPO_SOCK_H

#include <stddef.h>
#include <stdint.h>

/* one option: ZMQ_LINGER, ZMQ_SNDHWM, …; integer options take value (ZMQ_MAXMSGSIZE as int64),
 * byte options (ZMQ_SUBSCRIBE, ZMQ_ROUTING_ID, the CURVE keys, ZMQ_ZAP_DOMAIN) take bytes/value as
 * their length */
typedef struct {
    int name;
    int64_t value;
    const char *bytes;
} sock_opt_t;

#define SOCK_OPTS_END {-1, 0, NULL}

/* Make a socket of type on ctx, set opts (ended by SOCK_OPTS_END), then bind `bind` and/or connect
 * `connect` (either may be NULL). `what` names the socket in errors ("replay: ROUTER"). NULL with a
 * one-line reason in err. */
void *sock_open(void *ctx, int type, const char *what, const sock_opt_t *opts, const char *bind,
                const char *connect, char *err, size_t errlen);
/* Set opts on an open socket: 0, or -MPO_ESOCKET with a reason naming the option. */
int sock_set(void *sock, const char *what, const sock_opt_t *opts, char *err, size_t errlen);
/* The options of one socket made of two tables (its own, and a shared part such as its CURVE
 * options from common/curve.h; either may be NULL), copied into out[cap] and ended by
 * SOCK_OPTS_END. Returns out. */
#define SOCK_OPTS_MAX 16
const sock_opt_t *sock_opts_join(sock_opt_t *out, size_t cap, const sock_opt_t *opts, const sock_opt_t *more);
/* Watch sock's events (a ZMQ_EVENT_* mask) through a PAIR made on ctx, connected to monitor_ep
 * (inproc://, unique in ctx), then connect sock to `connect` (may be NULL): watched before it
 * connects, it misses no event. The PAIR, or NULL with a one-line reason naming `what`. */
void *sock_watch(void *ctx, void *sock, const char *what, const char *monitor_ep, int events, const char *connect,
                 char *err, size_t errlen);
/* the next event on a watching PAIR, without waiting: its ZMQ_EVENT_*, the event's value in *value;
 * 0 when none was waiting */
int sock_event(void *monitor, uint32_t *value);
/* ZMQ_LINGER's name and the others' (for messages) */
const char *sock_opt_name(int name);
/* close and set the caller's pointer to NULL; NULL is fine */
void sock_close(void **sock_p);

#endif
