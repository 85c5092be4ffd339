"""CURVE keys for the Python actor's sockets, as common/curve.h reads them (docs/security.md).

A process is plain ZeroMQ unless it is given its key pair (curve_key_file: the NAME.key that
`mpo keygen NAME` writes, with `public KEY` and `secret KEY` lines); then both its sockets are CURVE
clients, and each needs the public key of the server it talks to (curve_replay_key,
curve_weights_key), given as the 40-character key itself or as a file (NAME.pub, or an authorized-
keys file: its first key line). The servers let the actor in only when its public key is in their
curve_authorized_keys.
"""

import zmq
from zmq.utils import z85

KEY_LEN = 40   # Z85 characters of a 32-byte key


class CurveKeyError(ValueError):
    """A key file or key that cannot be used; the message names the file and the line."""


def _is_key(word):
    if len(word) != KEY_LEN:
        return False
    try:
        return len(z85.decode(word)) == 32
    except (ValueError, KeyError, TypeError):
        return False


def _lines(path, what):
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().splitlines()
    except OSError as e:
        raise CurveKeyError("%s: cannot read '%s': %s" % (what, path, e.strerror)) from None


def read_key_pair(path):
    """(public, secret) Z85 bytes from a NAME.key file, the public key checked against the secret."""
    public = secret = None
    for n, line in enumerate(_lines(path, "curve_key_file"), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) == 2 and words[0] in ("public", "secret") and _is_key(words[1]):
            if words[0] == "public":
                public = words[1]
            else:
                secret = words[1]
        else:
            raise CurveKeyError("curve_key_file '%s' line %d: not `public KEY` or `secret KEY`" % (path, n))
    if public is None or secret is None:
        raise CurveKeyError("curve_key_file '%s' lacks its %s key" % (path, "public" if public is None else "secret"))
    if zmq.curve_public(secret.encode()) != public.encode():
        raise CurveKeyError("curve_key_file '%s': the public key is not the secret key's" % path)
    return public.encode(), secret.encode()


def read_server_key(value, what):
    """A server's public key (Z85 bytes): value itself when it is a key, else the first key line of
    the file it names."""
    if _is_key(value):
        return value.encode()
    for n, line in enumerate(_lines(value, what), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if _is_key(words[0]):
            return words[0].encode()
        raise CurveKeyError("%s '%s' line %d: not a key" % (what, value, n))
    raise CurveKeyError("%s '%s' holds no key" % (what, value))


class Curve:
    """One process's keys: its pair and the servers' public keys (replay, weights)."""

    def __init__(self, key_file, replay_key=None, weights_key=None):
        self.public, self.secret = read_key_pair(key_file)
        self.replay_key = read_server_key(replay_key, "curve_replay_key") if replay_key else None
        self.weights_key = read_server_key(weights_key, "curve_weights_key") if weights_key else None

    def client(self, sock, server_key, what):
        """Make sock (not yet connected) a CURVE client of the server with that public key."""
        if server_key is None:
            raise CurveKeyError("%s is needed with curve_key_file (the server's public key)" % what)
        sock.setsockopt(zmq.CURVE_SERVERKEY, server_key)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self.public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, self.secret)


def from_options(key_file=None, replay_key=None, weights_key=None):
    """A Curve when key_file is given; None (plain ZeroMQ) when no key is; CurveKeyError for server keys
    without a key pair, as the C roles refuse them."""
    if key_file:
        return Curve(key_file, replay_key, weights_key)
    if replay_key or weights_key:
        raise CurveKeyError("curve_replay_key and curve_weights_key need curve_key_file (this process's key pair)")
    return None


# the monitor events a client watches for (common/curve.h: CURVE_CLIENT_EVENTS)
CLIENT_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 zmq.EVENT_HANDSHAKE_FAILED_AUTH)
MECHANISM_MISMATCH = 0x11000002   # ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH


def client_event(curve_on, event, value, server):
    """What a client says of a handshake event with server, as common/curve.c does: (2, line) for a
    refusal ZeroMQ never retries (the process should stop), (1, line) for one it retries, (0, None)
    for anything else."""
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return 2, ("%s refused this process's CURVE key (status %d): add the public key of its curve_key_file "
                   "to the server's curve_authorized_keys, then start this process again" % (server, value))
    if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and value == MECHANISM_MISMATCH:
        return 2, ("%s does not use CURVE, and this process does (curve_key_file)" % server if curve_on
                   else "%s requires CURVE: set curve_key_file (docs/security.md)" % server)
    if event & CLIENT_EVENTS:   # a plain client's mismatch too, when the server hangs up first
        return 1, ("the handshake with %s failed (0x%x); ZeroMQ tries again (%s)" % (
            server, value, "is its public key the one this process was given?" if curve_on
            else "if it requires CURVE: set curve_key_file, docs/security.md"))
    return 0, None
