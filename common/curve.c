#include "common/curve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "common/error.h"
#include "common/log.h"

#define S_LINE_MAX 512 /* a key line: a key, a space and a name */

int curve_key_decode(uint8_t *out, const char *z85) {
    if (strlen(z85) != CURVE_Z85_LEN || !zmq_z85_decode(out, z85))
        return -MPO_EINVAL;
    return 0;
}

/* ---------------------------------------------------------------- reading key files */

/* a line's first word (at most CURVE_Z85_LEN + 1 characters kept), and where the rest starts */
static const char *s_first_word(const char *line, char *word, size_t cap) {
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = 0;
    while (line[n] && line[n] != ' ' && line[n] != '\t' && line[n] != '\n' && line[n] != '\r') {
        if (n + 1 < cap)
            word[n] = line[n];
        n++;
    }
    word[n + 1 < cap ? n : cap - 1] = 0;
    return line + n;
}

/* Each line of path through on_line(ctx, line, lineno, err); 0, or the first negative code. */
typedef int (*s_line_fn)(void *ctx, const char *line, int lineno, char *err, size_t errlen);

static int s_each_line(const char *path, const char *what, s_line_fn on_line, void *ctx, char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: %s is a directory, not a key file", what, path);
        return -MPO_EIO;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read %s: %s", what, path, strerror(errno));
        return -MPO_EIO;
    }
    char line[S_LINE_MAX];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            snprintf(err, errlen, "%s: %s:%d: a line longer than %d characters", what, path, lineno, S_LINE_MAX - 2);
            rc = -MPO_EFORMAT;
            break;
        }
        line[strcspn(line, "\r\n")] = 0;
        rc = on_line(ctx, line, lineno, err, errlen);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: cannot read %s: %s", what, path, strerror(errno));
        rc = -MPO_EIO;
    }
    fclose(f);
    return rc;
}

typedef struct {
    const char *path, *what;
    uint8_t *keys;
    size_t n, cap;
} s_list_t;

static int s_list_line(void *ctx, const char *line, int lineno, char *err, size_t errlen) {
    s_list_t *l = ctx;
    char word[CURVE_Z85_LEN + 2];
    uint8_t key[CURVE_KEY_BYTES];
    s_first_word(line, word, sizeof word);
    if (curve_key_decode(key, word) != 0) {
        if (word[0] == 0 || word[0] == '#')
            return 0; /* blank or a comment */
        snprintf(err, errlen, "%s: %s:%d: '%.48s' is not a public key (40 Z85 characters)", l->what, l->path, lineno,
                 word);
        return -MPO_EFORMAT;
    }
    if (l->n == CURVE_MAX_KEYS) {
        snprintf(err, errlen, "%s: %s: more than %d keys", l->what, l->path, CURVE_MAX_KEYS);
        return -MPO_EFORMAT;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        uint8_t *k = realloc(l->keys, cap * CURVE_KEY_BYTES);
        if (!k) {
            snprintf(err, errlen, "%s: %s", l->what, mpo_strerror(MPO_ENOMEM));
            return -MPO_ENOMEM;
        }
        l->keys = k;
        l->cap = cap;
    }
    memcpy(l->keys + l->n++ * CURVE_KEY_BYTES, key, CURVE_KEY_BYTES);
    return 0;
}

int curve_read_keys(const char *path, const char *what, uint8_t **keys, size_t *n, char *err, size_t errlen) {
    s_list_t l = {.path = path, .what = what};
    int rc = s_each_line(path, what, s_list_line, &l, err, errlen);
    if (rc != 0) {
        free(l.keys);
        l.keys = NULL;
        l.n = 0;
    }
    *keys = l.keys;
    *n = l.n;
    return rc;
}

typedef struct {
    const char *path;
    char public_z85[CURVE_Z85_LEN + 1], secret_z85[CURVE_Z85_LEN + 1];
} s_pair_t;

static int s_pair_line(void *ctx, const char *line, int lineno, char *err, size_t errlen) {
    s_pair_t *p = ctx;
    char word[16], key[CURVE_Z85_LEN + 2];
    uint8_t bytes[CURVE_KEY_BYTES];
    const char *rest = s_first_word(line, word, sizeof word);
    if (word[0] == 0 || word[0] == '#')
        return 0;
    int pub = strcmp(word, "public") == 0, sec = strcmp(word, "secret") == 0;
    rest = s_first_word(rest, key, sizeof key);
    char extra[4];
    s_first_word(rest, extra, sizeof extra);
    if ((!pub && !sec) || extra[0] || curve_key_decode(bytes, key) != 0) {
        snprintf(err, errlen, "curve_key_file: %s:%d: expected `public KEY` or `secret KEY` (40 Z85 characters)",
                 p->path, lineno);
        return -MPO_EFORMAT;
    }
    memcpy(pub ? p->public_z85 : p->secret_z85, key, CURVE_Z85_LEN + 1);
    return 0;
}

/* the key pair of a file `mpo keygen` wrote, checked: the public key must be the secret key's */
static int s_read_pair(curve_t *self, const char *path, char *err, size_t errlen) {
    s_pair_t p = {.path = path};
    int rc = s_each_line(path, "curve_key_file", s_pair_line, &p, err, errlen);
    char derived[CURVE_Z85_LEN + 1];
    if (rc == 0 && (!p.public_z85[0] || !p.secret_z85[0])) {
        snprintf(err, errlen, "curve_key_file: %s holds no %s key (a NAME.key from `mpo keygen` has both)", path,
                 p.public_z85[0] ? "secret" : "public");
        rc = -MPO_EFORMAT;
    } else if (rc == 0 && (zmq_curve_public(derived, p.secret_z85) != 0 || strcmp(derived, p.public_z85) != 0)) {
        snprintf(err, errlen, "curve_key_file: in %s the public key is not the secret key's", path);
        rc = -MPO_EFORMAT;
    }
    if (rc == 0) {
        curve_key_decode(self->public_key, p.public_z85);
        curve_key_decode(self->secret_key, p.secret_z85);
        memcpy(self->public_z85, p.public_z85, sizeof self->public_z85);
    }
    explicit_bzero(&p, sizeof p);
    return rc;
}

/* a server's public key from its config key: a NAME.pub (or any file of one key), or the key */
static int s_server_key(uint8_t *out, const char *value, const char *what, char *err, size_t errlen) {
    if (!value[0]) {
        snprintf(err, errlen, "curve_key_file is set, so %s must name the server's public key (a NAME.pub file or "
                 "40 Z85 characters)", what);
        return -MPO_EINVAL;
    }
    struct stat st;
    if (stat(value, &st) != 0) {
        if (curve_key_decode(out, value) == 0)
            return 0;
        snprintf(err, errlen, "%s: '%s' is neither a readable file nor a key of 40 Z85 characters (%s)", what, value,
                 strerror(errno));
        return -MPO_EINVAL;
    }
    uint8_t *keys;
    size_t n;
    int rc = curve_read_keys(value, what, &keys, &n, err, errlen);
    if (rc == 0 && n != 1) {
        snprintf(err, errlen, "%s: %s holds %zu keys; the server's public key is one", what, value, n);
        rc = -MPO_EFORMAT;
    }
    if (rc == 0)
        memcpy(out, keys, CURVE_KEY_BYTES);
    free(keys);
    return rc;
}

int curve_from_config(curve_t *self, const config_t *cfg, unsigned needs, char *err, size_t errlen) {
    memset(self, 0, sizeof *self);
    const struct {
        unsigned need;
        const char *name, *value;
        uint8_t *key;
    } uses[] = {
        {CURVE_SERVER, "curve_authorized_keys", cfg->curve_authorized_keys, NULL},
        {CURVE_TO_REPLAY, "curve_replay_key", cfg->curve_replay_key, self->replay_key},
        {CURVE_TO_WEIGHTS, "curve_weights_key", cfg->curve_weights_key, self->weights_key},
    };
    for (size_t i = 0; i < sizeof uses / sizeof uses[0]; i++) {
        if (!(needs & uses[i].need))
            continue;
        if (!cfg->curve_key_file[0] && uses[i].value[0]) { /* a half-configured role must not run plain */
            snprintf(err, errlen, "%s is set but curve_key_file is empty: CURVE needs this process's key pair "
                     "(mpo keygen)", uses[i].name);
            return -MPO_EINVAL;
        }
    }
    if (!cfg->curve_key_file[0])
        return 0;
    int rc = s_read_pair(self, cfg->curve_key_file, err, errlen);
    for (size_t i = 0; rc == 0 && i < sizeof uses / sizeof uses[0]; i++)
        if ((needs & uses[i].need) && uses[i].key)
            rc = s_server_key(uses[i].key, uses[i].value, uses[i].name, err, errlen);
    if (rc == 0 && (needs & CURVE_SERVER))
        snprintf(self->authorized_keys, sizeof self->authorized_keys, "%s", cfg->curve_authorized_keys);
    if (rc != 0) {
        explicit_bzero(self, sizeof *self);
        return rc;
    }
    self->on = 1;
    return 0;
}

/* ---------------------------------------------------------------- socket options */

const sock_opt_t *curve_server_opts(const curve_t *self, sock_opt_t *out) {
    int n = 0;
    if (self && self->on) {
        out[n++] = (sock_opt_t){ZMQ_CURVE_SERVER, 1, NULL};
        out[n++] = (sock_opt_t){ZMQ_CURVE_SECRETKEY, CURVE_KEY_BYTES, (const char *)self->secret_key};
        out[n++] = (sock_opt_t){ZMQ_ZAP_DOMAIN, (int64_t)strlen(CURVE_ZAP_DOMAIN), CURVE_ZAP_DOMAIN};
    }
    out[n] = (sock_opt_t)SOCK_OPTS_END;
    MPO_ASSERT(n < CURVE_OPTS_MAX);
    return out;
}

const sock_opt_t *curve_client_opts(const curve_t *self, const uint8_t *server_key, sock_opt_t *out) {
    int n = 0;
    if (self && self->on) {
        out[n++] = (sock_opt_t){ZMQ_CURVE_SERVERKEY, CURVE_KEY_BYTES, (const char *)server_key};
        out[n++] = (sock_opt_t){ZMQ_CURVE_PUBLICKEY, CURVE_KEY_BYTES, (const char *)self->public_key};
        out[n++] = (sock_opt_t){ZMQ_CURVE_SECRETKEY, CURVE_KEY_BYTES, (const char *)self->secret_key};
    }
    out[n] = (sock_opt_t)SOCK_OPTS_END;
    MPO_ASSERT(n < CURVE_OPTS_MAX);
    return out;
}

/* ---------------------------------------------------------------- mpo keygen */

static int s_write_new(const char *path, int mode, const char *text, char *err, size_t errlen) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (mpo keygen never overwrites a key)" : "");
        return -MPO_EIO;
    }
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int saved = errno;
    if (close(fd) != 0 || w != (ssize_t)len) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(w < 0 ? saved : errno));
        unlink(path);
        return -MPO_EIO;
    }
    return 0;
}

int curve_keygen(const char *base, char *public_z85, char *err, size_t errlen) {
    char key_path[CONFIG_STR_MAX], pub_path[CONFIG_STR_MAX];
    if (!base[0] || snprintf(key_path, sizeof key_path, "%s.key", base) >= (int)sizeof key_path ||
        snprintf(pub_path, sizeof pub_path, "%s.pub", base) >= (int)sizeof pub_path) {
        snprintf(err, errlen, "'%s': a name of 1 to %d characters please", base, CONFIG_STR_MAX - 5);
        return -MPO_EINVAL;
    }
    struct stat st;
    if (stat(pub_path, &st) == 0) { /* before the secret is written: nothing to undo */
        snprintf(err, errlen, "%s: %s (mpo keygen never overwrites a key)", pub_path, strerror(EEXIST));
        return -MPO_EIO;
    }
    const char *name = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
    char secret[CURVE_Z85_LEN + 1], text[3 * S_LINE_MAX];
    do { /* a key starting with # would read as a comment once commented out and back */
        if (zmq_curve_keypair(public_z85, secret) != 0) {
            snprintf(err, errlen, "cannot make a key pair: %s", zmq_strerror(errno));
            return -MPO_EINVAL;
        }
    } while (public_z85[0] == '#');
    snprintf(text, sizeof text,
             "# mpo CURVE key pair '%.200s' (mpo keygen): the secret key of one role: give it to that role only.\n"
             "# Give %s.pub to the servers (curve_authorized_keys) or the clients (curve_replay_key, curve_weights_key).\n"
             "public %s\nsecret %s\n",
             name, name, public_z85, secret);
    int rc = s_write_new(key_path, 0600, text, err, errlen);
    explicit_bzero(secret, sizeof secret);
    explicit_bzero(text, sizeof text);
    if (rc != 0)
        return rc;
    snprintf(text, sizeof text, "%s %.200s\n", public_z85, name);
    rc = s_write_new(pub_path, 0644, text, err, errlen);
    if (rc != 0)
        unlink(key_path);
    return rc;
}

int curve_client_event(int curve_on, int event, uint32_t value, const char *server, char *text, size_t len) {
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        snprintf(text, len, "%s refused this process's CURVE key (status %u): add the public key of its curve_key_file "
                 "to the server's curve_authorized_keys, then start this process again", server, (unsigned)value);
        return 2;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        snprintf(text, len, curve_on ? "%s does not use CURVE, and this process does (curve_key_file)"
                                     : "%s requires CURVE: set curve_key_file (docs/security.md)",
                 server);
        return 2;
    }
    if (event & CURVE_CLIENT_EVENTS) {
        /* a plain client's mismatch with a CURVE server shows as the mismatch only when the client
         * reads the server's greeting before the server hangs up; otherwise it is this */
        snprintf(text, len, "the handshake with %s failed (0x%x); ZeroMQ tries again (%s)", server, (unsigned)value,
                 curve_on ? "is its public key the one this process was given?"
                          : "if it requires CURVE: set curve_key_file, docs/security.md");
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- plain beyond loopback */

int curve_endpoint_local(const char *endpoint) {
    if (!strncmp(endpoint, "inproc://", 9) || !strncmp(endpoint, "ipc://", 6))
        return 1;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    const char *host = endpoint + 6, *colon = strrchr(host, ':');
    char h[64];
    if (!colon || (size_t)(colon - host) >= sizeof h)
        return 0;
    memcpy(h, host, (size_t)(colon - host));
    h[colon - host] = 0;
    if (!strcmp(h, "localhost") || !strcmp(h, "lo") || !strcmp(h, "[::1]") || !strcmp(h, "::1"))
        return 1;
    struct in_addr a;
    return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

void curve_warn_plain(const curve_t *self, const char *role, const char *bind, const char *exposes) {
    if ((self && self->on) || curve_endpoint_local(bind))
        return;
    log_warn("%s: %s is reachable beyond this machine without CURVE: anyone who can connect %s "
             "(set curve_key_file; docs/security.md)",
             role, bind, exposes);
}
