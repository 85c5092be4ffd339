/* curve: ZeroMQ CURVE keys for mpo's sockets (docs/security.md).
 *
 * A role is plain ZeroMQ (no encryption, no authentication) unless curve_key_file names its key
 * pair; then every socket it makes is CURVE. A server socket (the replay's ROUTER, the learner's
 * weights PUB) holds its secret key and lets in only the clients common/zap.h admits; a client
 * socket (DEALER, SUB) holds its key pair and the public key of the one server it will talk to
 * (curve_replay_key, curve_weights_key). CURVE is below the protocol: the messages are the same.
 *
 * The files, as `mpo keygen NAME` writes them (KEY: 40 Z85 characters, 32 bytes):
 *   NAME.key  `public KEY` and `secret KEY` lines, mode 0600: the key pair;
 *   NAME.pub  `KEY NAME`: the public key. An authorized-keys file is such lines, concatenated.
 * A line whose first word is a key is a key (what follows it is its name); otherwise a blank line
 * or one starting with # is a comment, and anything else is an error naming the file and line.
 * `mpo keygen` never makes a public key starting with #, so "#KEY" comments a key out. */
#ifndef MPO_CURVE_H
#define MPO_CURVE_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "common/config.h"
#include "common/sock.h"

#define CURVE_KEY_BYTES 32
#define CURVE_Z85_LEN 40
#define CURVE_MAX_KEYS 65536 /* keys in an authorized-keys file */
#define CURVE_OPTS_MAX 4     /* a socket's CURVE options, SOCK_OPTS_END included */
#define CURVE_ZAP_DOMAIN "mpo"

/* what a role's sockets need (curve_from_config's `needs`) */
#define CURVE_SERVER 1u     /* it binds a server socket: curve_authorized_keys */
#define CURVE_TO_REPLAY 2u  /* it connects to the replay server: curve_replay_key */
#define CURVE_TO_WEIGHTS 4u /* it subscribes to the learner's weights: curve_weights_key */

/* one role's keys; all zero: plain */
typedef struct {
    int on; /* curve_key_file is set: every socket of the role is CURVE */
    uint8_t public_key[CURVE_KEY_BYTES], secret_key[CURVE_KEY_BYTES];
    char public_z85[CURVE_Z85_LEN + 1];
    uint8_t replay_key[CURVE_KEY_BYTES];  /* the replay server's public key (CURVE_TO_REPLAY) */
    uint8_t weights_key[CURVE_KEY_BYTES]; /* the learner's (CURVE_TO_WEIGHTS) */
    char authorized_keys[CONFIG_STR_MAX]; /* the clients a server lets in (CURVE_SERVER; may be empty) */
} curve_t;

/* The keys a role with these needs uses, from cfg: the key pair file, and each server key needed
 * (a key or a file). 0, or -MPO_EINVAL / -MPO_EIO / -MPO_EFORMAT with one line naming the key and
 * file: a needed server key missing, a key set for a role without curve_key_file, a file that
 * cannot be read or holds no valid key, a public key that is not the secret key's. */
int curve_from_config(curve_t *self, const config_t *cfg, unsigned needs, char *err, size_t errlen);

/* a socket's CURVE options into out[CURVE_OPTS_MAX] (pointing into self, which must outlive the
 * sock_open): a server's (ZMQ_CURVE_SERVER, its secret key, the ZAP domain) or a client's of the
 * server with public key server_key; for a plain role only SOCK_OPTS_END */
const sock_opt_t *curve_server_opts(const curve_t *self, sock_opt_t *out);
const sock_opt_t *curve_client_opts(const curve_t *self, const uint8_t *server_key, sock_opt_t *out);

/* out[32] from 40 Z85 characters: 0, or -MPO_EINVAL */
int curve_key_decode(uint8_t *out, const char *z85);
/* Every key of a file of key lines (see above) into *keys (malloc'd, *n × 32 bytes; NULL when
 * none). 0, or a negative code with a reason naming `what`, the file and the line. */
int curve_read_keys(const char *path, const char *what, uint8_t **keys, size_t *n, char *err, size_t errlen);
/* Write a new key pair: base.key (mode 0600) and base.pub, each refused when it exists; the public
 * key into public_z85[41]. 0, or a negative code with a reason (nothing is left behind). */
int curve_keygen(const char *base, char *public_z85, char *err, size_t errlen);

/* What a client socket's monitor event says about its server (`server` names it: "the replay
 * server"), for a process with CURVE on or off: 0, nothing to say; 1, a failed handshake that
 * ZeroMQ will try again (a warning in text); 2, a refusal ZeroMQ will not try again (an error in
 * text): the server refused this process's key (ZAP 400) or runs CURVE where this process does
 * not, or the other way round. */
#define CURVE_CLIENT_EVENTS \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
int curve_client_event(int curve_on, int event, uint32_t value, const char *server, char *text, size_t len);

/* 1 when a bind endpoint is reachable from this machine only: inproc://, ipc://, tcp:// on
 * 127.0.0.0/8, ::1, localhost or lo */
int curve_endpoint_local(const char *endpoint);
/* The start-up warning of a plain role that binds beyond this machine: one line naming the
 * endpoint and what anyone who reaches it can do (`exposes`). Nothing with CURVE or on loopback. */
void curve_warn_plain(const curve_t *self, const char *role, const char *bind, const char *exposes);

#endif
