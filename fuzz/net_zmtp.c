/* net_zmtp: ZMTP 3 written by hand over TCP (rfc.zeromq.org/spec/23, /spec/37), so the network
 * fuzzer can say exactly what goes on the wire: a well-formed NULL handshake followed by hostile
 * frames (net_weights.c), or bytes that break the handshake itself (net_raw_run here). */
#include "fuzz/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/rng.h"

int net_tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static __thread unsigned long long s_dropped; /* bytes s_discard dropped, on this thread */

unsigned long long net_tcp_dropped(void) { return s_dropped; }

/* read and drop whatever the server sent */
static void s_discard(int fd) {
    static __thread uint8_t sink[65536];
    for (ssize_t r; (r = recv(fd, sink, sizeof sink, MSG_DONTWAIT)) > 0;)
        s_dropped += (unsigned long long)r;
}

int net_tcp_write(int fd, const void *buf, size_t len, double deadline) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            p += w, len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1; /* the server closed it */
        if (clock_now() > deadline)
            return -1;
        s_discard(fd);
        struct pollfd pf = {.fd = fd, .events = POLLOUT | POLLIN};
        poll(&pf, 1, 20);
    }
    s_discard(fd);
    return 0;
}

size_t net_zmtp_greeting(uint8_t *out, const char *mechanism, int major, int minor) {
    memset(out, 0, 64);
    out[0] = 0xff;
    out[8] = 1; /* the padding: a ZMTP 1.0 identity length of 0, plus one */
    out[9] = 0x7f;
    out[10] = (uint8_t)major;
    out[11] = (uint8_t)minor;
    memcpy(out + 12, mechanism, strnlen(mechanism, 20));
    return 64; /* as-server 0 and the filler stay zero */
}

size_t net_zmtp_frame(uint8_t *out, int flags, const void *body, size_t len) {
    size_t at = 0;
    if (len <= 255) {
        out[at++] = (uint8_t)flags;
        out[at++] = (uint8_t)len;
    } else {
        out[at++] = (uint8_t)(flags | 0x02);
        for (int i = 7; i >= 0; i--)
            out[at++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memcpy(out + at, body, len);
    return at + len;
}

size_t net_zmtp_ready(uint8_t *out, const char *socket_type) {
    uint8_t body[64];
    size_t at = 0, tl = strlen(socket_type);
    body[at++] = 5;
    memcpy(body + at, "READY", 5), at += 5;
    body[at++] = 11;
    memcpy(body + at, "Socket-Type", 11), at += 11;
    body[at++] = 0, body[at++] = 0, body[at++] = 0, body[at++] = (uint8_t)tl;
    memcpy(body + at, socket_type, tl), at += tl;
    return net_zmtp_frame(out, 0x04, body, at);
}

int net_zmtp_handshake(int fd, const char *socket_type, double deadline) {
    uint8_t hs[128];
    size_t at = net_zmtp_greeting(hs, "NULL", 3, 1);
    at += net_zmtp_ready(hs + at, socket_type);
    if (send(fd, hs, at, MSG_NOSIGNAL) != (ssize_t)at) /* a new socket's buffer takes 91 bytes */
        return -1;
    /* until the server has sent its READY, a frame from us is taken as a handshake command and refused */
    size_t got = 0;
    while (got < 64 + 2 + 22 + 3 && clock_now() < deadline) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 20) <= 0)
            continue;
        ssize_t r = recv(fd, hs, sizeof hs, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN))
            return -1;
        got += r > 0 ? (size_t)r : 0;
    }
    return got >= 64 + 2 + 22 + 3 ? 0 : -1;
}

/* one connection's worth of junk into out (at most cap bytes) */
static size_t s_junk(rng_t *rng, uint8_t *out, size_t cap, const char *socket_type) {
    static const char *const mechanisms[] = {"CURVE", "PLAIN", "GSSAPI", "NULL\x01", "\xff\xfe"};
    static const char *const types[] = {"ROUTER", "PUB", "PAIR", "STREAM", "bogus", ""};
    size_t at = 0;
    switch (rng_below(rng, 7)) {
    case 0: /* no ZMTP at all */
        at = 1 + rng_below(rng, 4096);
        for (size_t i = 0; i < at; i++)
            out[i] = (uint8_t)rng_next(rng);
        return at;
    case 1: /* a greeting cut short */
        return rng_below(rng, net_zmtp_greeting(out, "NULL", 3, 1));
    case 2: /* another mechanism than the server's */
        return net_zmtp_greeting(out, mechanisms[rng_below(rng, 5)], 3, (int)rng_below(rng, 2));
    case 3: /* an old or an unknown version */
        return net_zmtp_greeting(out, "NULL", rng_below(rng, 2) ? (int)rng_below(rng, 3) : 0xff, 0);
    case 4: /* the right greeting, a socket type that does not go with the server's */
        at = net_zmtp_greeting(out, "NULL", 3, 1);
        return at + net_zmtp_ready(out + at, types[rng_below(rng, 6)]);
    case 5: { /* a good handshake, then a frame of an absurd length */
        static const uint64_t sizes[] = {1ull << 62, 1ull << 40, 1ull << 31, 200ull << 20};
        at = net_zmtp_greeting(out, "NULL", 3, 1);
        at += net_zmtp_ready(out + at, socket_type);
        uint64_t size = sizes[rng_below(rng, 4)];
        out[at++] = 0x02;
        for (int i = 7; i >= 0; i--)
            out[at++] = (uint8_t)(size >> (8 * i));
        size_t tail = rng_below(rng, 4096);
        for (size_t i = 0; i < tail && at < cap; i++)
            out[at++] = (uint8_t)rng_next(rng);
        return at;
    }
    default: /* a good handshake, then random bytes where frames should be */
        at = net_zmtp_greeting(out, "NULL", 3, 1);
        at += net_zmtp_ready(out + at, socket_type);
        for (size_t i = 0, n = 1 + rng_below(rng, 4096); i < n && at < cap; i++)
            out[at++] = (uint8_t)rng_next(rng);
        return at;
    }
}

void net_raw_run(int port, int n, const char *socket_type, uint64_t seed, double deadline, net_result_t *out) {
    static __thread uint8_t buf[16384];
    rng_t rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < n && clock_now() < deadline; i++) {
        int fd = net_tcp_connect(port);
        if (fd < 0)
            continue;
        size_t len = s_junk(&rng, buf, sizeof buf, socket_type);
        net_tcp_write(fd, buf, len, clock_now() + 1.0);
        close(fd);
        atomic_fetch_add(&out->raw_connections, 1);
    }
}

int net_zmtp_ping_reset(int port, int connections, double seconds) {
    static uint8_t chunk[65536];
    size_t used = 0;
    for (int k = 0; used + 16 <= sizeof chunk; k++) {
        static const uint8_t ping[] = {0x04, 7, 4, 'P', 'I', 'N', 'G', 0, 0}, junk[] = {0x00, 1, 0x01};
        const uint8_t *frame = k % 50 == 49 ? ping : junk;
        size_t n = k % 50 == 49 ? sizeof ping : sizeof junk;
        memcpy(chunk + used, frame, n);
        used += n;
    }
    int done = 0;
    for (int c = 0; c < connections; c++) {
        int fd = net_tcp_connect(port);
        double until = clock_now() + seconds / connections;
        if (fd < 0 || net_zmtp_handshake(fd, "DEALER", clock_now() + 2.0) != 0) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        /* faster than the server takes them, never reading its answers, until ZeroMQ stops reading */
        for (double idle = clock_now(); clock_now() < until && clock_now() - idle < 1.0;) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            if (poll(&pf, 1, 50) > 0 && send(fd, chunk, used, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
                idle = clock_now();
        }
        struct linger reset = {1, 0}; /* a reset, not a FIN */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        close(fd);
        done++;
    }
    return done;
}
