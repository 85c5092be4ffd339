/* net_weights: hostile messages for a learner's weights PUB (fuzz/net.h).
 *
 * A PUB takes only subscriptions from its peers (a message whose first byte is 1 subscribes to the
 * rest of it as a prefix, 0 cancels one; ZMTP 3.1 also has SUBSCRIBE and CANCEL commands) and drops
 * everything else. Each connection is a TCP socket speaking ZMTP by hand (net_zmtp.c) as a SUB, so
 * that nothing on this side keeps a table of what it subscribed to, and it writes: random bytes,
 * subscriptions to random prefixes and cancels of them, commands, empty and multi-part messages,
 * protocol messages of every body, and now and then (on a connection of its own) a frame of hundreds
 * of KiB, which the learner must refuse by closing that connection. At the end each connection
 * subscribes to the bytes every weights message starts with and waits for weights: then the learner
 * has read every message it sent. Beyond that there is nothing to count on the learner's side: the
 * checks are that it still publishes, and its memory. */
#include "fuzz/net.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/rng.h"
#include "fuzz/fuzz_msg.h"

enum { W_RANDOM, W_SUBSCRIBE, W_CANCEL, W_CHURN, W_COMMAND, W_EMPTY, W_PROTOCOL, W_MULTIPART, W_LARGE, W_COUNT };
_Static_assert(W_LARGE == NET_WEIGHTS_LARGE, "fuzz/net.h names the large frames' kind");
static const char *const s_kinds[W_COUNT] = {"random_bytes", "subscribe", "cancel", "subscribe_cancel", "command",
                                             "empty", "protocol_message", "multi_part", "large_frame"};
/* Per 100,000 messages. Subscriptions are few: ZeroMQ keeps every one in a trie until its connection
 * closes and then walks the whole trie for each closing connection, so 10^5 of them cost the learner
 * about 150 MiB and seconds of its I/O thread (a limit of ZeroMQ's PUB, docs/security.md) */
static const int s_weight[W_COUNT] = {[W_RANDOM] = 35000, [W_SUBSCRIBE] = 2000, [W_CANCEL] = 10000,
                                      [W_CHURN] = 1000, [W_COMMAND] = 5000, [W_EMPTY] = 5000,
                                      [W_PROTOCOL] = 31998, [W_MULTIPART] = 10000, [W_LARGE] = 2};

/* Every weights message starts with these bytes (Message.version = 1, then the weights field). A
 * connection subscribes to them last of all: the first weights that come back show the learner has
 * read everything before. So no other message subscribes to them or to a prefix of them. */
static const uint8_t s_marker[] = {0x08, 0x01, 0x3a};

#define CHUNK 65536             /* bytes written to the socket at once */
#define LARGE_MAX (256 * 1024)  /* the largest frame */

typedef struct {
    const net_plan_t *plan;
    net_result_t *out;
    int index, port, fd;
    uint64_t quota, sent, subscribed; /* subscribed: prefix bytes of the subscriptions written */
    rng_t rng;
    size_t used;
    uint64_t early; /* bytes the learner sent before the marker: a subscription that matched weights */
    fuzz_msg_t m;
    uint8_t body[LARGE_MAX + 16];
    uint8_t chunk[CHUNK + LARGE_MAX + 64];
} s_sub_t;

const char *net_weights_kind_name(int kind) { return kind >= 0 && kind < W_COUNT ? s_kinds[kind] : NULL; }

static int s_connect(s_sub_t *s) {
    s->fd = net_tcp_connect(s->port);
    return s->fd < 0 ? -1 : net_zmtp_handshake(s->fd, "SUB", s->plan->deadline);
}

/* write what is buffered; on a closed connection, open another (the buffered messages are lost) */
static int s_flush(s_sub_t *s) {
    unsigned long long dropped = net_tcp_dropped();
    while (net_tcp_write(s->fd, s->chunk, s->used, s->plan->deadline) != 0) {
        close(s->fd);
        atomic_fetch_add(&s->out->reconnects, 1); /* what it had not read is lost: a check fails */
        if (s_connect(s) != 0) /* the learner is gone, or time is up */
            return -1;
    }
    s->early += net_tcp_dropped() - dropped;
    s->used = 0;
    return 0;
}

static void s_random(s_sub_t *s, uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng_next(&s->rng);
}

/* a message body that subscribes to the marker or to a prefix of it no longer subscribes */
static void s_unmark(uint8_t *body, size_t n) {
    if (n >= 1 && n - 1 <= sizeof s_marker && body[0] == 1 && memcmp(body + 1, s_marker, n - 1) == 0)
        body[0] = 2;
}

/* A large frame on a connection of its own: the learner takes no frame larger than a subscription
 * and closes the connection (learner/learner_io.c's PUB_MAX_IN); counted as refused if it does. */
static void s_large(s_sub_t *s) {
    int fd = net_tcp_connect(s->port);
    if (fd < 0 || net_zmtp_handshake(fd, "SUB", clock_now() + 2.0) != 0) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t n = 65536 + rng_below(&s->rng, LARGE_MAX - 65536);
    s_random(s, s->body, n);
    s->body[0] = (uint8_t)rng_below(&s->rng, 2); /* half of them a subscription to a prefix that long */
    uint8_t *frame = s->chunk + s->used; /* after what waits for the main connection */
    size_t len = net_zmtp_frame(frame, 0, s->body, n);
    net_tcp_write(fd, frame, len, clock_now() + 2.0);
    uint8_t sink[256];
    for (double until = clock_now() + 2.0; clock_now() < until;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 50) > 0 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0) {
            atomic_fetch_add(&s->out->large_refused, 1);
            break;
        }
    }
    close(fd);
}

/* the marker subscribed, and the first weights back: 0, or -1 when none came within 30 s */
static int s_barrier(s_sub_t *s) {
    uint8_t frame[16], sink[4096];
    uint8_t body[1 + sizeof s_marker] = {1};
    memcpy(body + 1, s_marker, sizeof s_marker);
    size_t len = net_zmtp_frame(frame, 0, body, sizeof body);
    if (net_tcp_write(s->fd, frame, len, clock_now() + 30.0) != 0)
        return -1;
    for (double until = clock_now() + 30.0; clock_now() < until;) {
        struct pollfd pf = {.fd = s->fd, .events = POLLIN};
        if (poll(&pf, 1, 50) > 0)
            return recv(s->fd, sink, sizeof sink, MSG_DONTWAIT) > 0 ? 0 : -1;
    }
    return -1;
}

/* append one message of this kind to the chunk */
static void s_message(s_sub_t *s, int kind) {
    uint8_t *out = s->chunk + s->used;
    size_t n = 0, at = 0;
    switch (kind) {
    case W_RANDOM:
        n = rng_below(&s->rng, 300);
        s_random(s, s->body, n);
        s_unmark(s->body, n);
        break;
    case W_SUBSCRIBE:
    case W_CANCEL:
        n = 1 + 1 + rng_below(&s->rng, 64);
        s_random(s, s->body, n);
        s->body[0] = kind == W_SUBSCRIBE;
        s_unmark(s->body, n);
        s->subscribed += kind == W_SUBSCRIBE ? n - 1 : 0;
        break;
    case W_CHURN: /* subscribe to a prefix and cancel it again */
        n = 1 + 1 + rng_below(&s->rng, 16);
        s_random(s, s->body, n);
        s->body[0] = 1;
        s_unmark(s->body, n);
        at = net_zmtp_frame(out, 0, s->body, n);
        s->body[0] = 0;
        break;
    case W_COMMAND: { /* ZMTP 3.1 SUBSCRIBE and CANCEL, commands of the handshake, an unknown one. Not
                       * PING: libzmq 4.3.4 aborts on a PING it reads after it stopped reading a
                       * connection that was then reset (zeromq/libzmq#4364; fuzz_net --ping-reset) */
        static const char *const names[] = {"\x09SUBSCRIBE", "\x06" "CANCEL", "\x05HELLO", "\x05READY", "\x04PONG",
                                            "\x05" "BOGUS"};
        const char *name = names[rng_below(&s->rng, 6)];
        /* a SUBSCRIBE to fewer bytes than the marker might be to a prefix of it */
        size_t nl = strlen(name), tail = sizeof s_marker + 1 + rng_below(&s->rng, 36);
        memcpy(s->body, name, nl);
        s_random(s, s->body + nl, tail);
        s->used += net_zmtp_frame(out, 0x04, s->body, nl + tail);
        return;
    }
    case W_EMPTY:
        n = 0;
        break;
    case W_PROTOCOL: {
        fuzz_shape_t shape = {NET_ENV, NET_OBS, NET_ACT, 1 + (uint32_t)rng_below(&s->rng, NET_BATCH)};
        fuzz_msg_make(&s->m, (fuzz_body_t)rng_below(&s->rng, FUZZ_BODIES), &shape, &s->rng);
        n = fuzz_msg_pack(&s->m, s->body, sizeof s->body);
        break;
    }
    case W_MULTIPART: /* parts after the first are subscriptions too, for a PUB */
        for (int k = 1 + (int)rng_below(&s->rng, 3); k > 0; k--) {
            size_t pn = rng_below(&s->rng, 40);
            s_random(s, s->body, pn);
            if (pn) /* a subscription one time in 16, else a cancel or no subscription at all */
                s->body[0] = rng_below(&s->rng, 16) == 0 ? 1 : (uint8_t)(2 * rng_below(&s->rng, 2));
            s_unmark(s->body, pn);
            at += net_zmtp_frame(out + at, 1, s->body, pn);
        }
        n = rng_below(&s->rng, 40);
        s_random(s, s->body, n);
        s_unmark(s->body, n);
        break;
    default: /* W_LARGE: on a connection of its own, s_large */
        s_large(s);
        return;
    }
    s->used += at + net_zmtp_frame(out + at, 0, s->body, n);
}

static void *s_sub_thread(void *arg) {
    s_sub_t *s = arg;
    if (s_connect(s) != 0) {
        atomic_store(&s->out->failed, 1);
        return NULL;
    }
    int total = 0;
    for (int k = 0; k < W_COUNT; k++)
        total += s_weight[k];
    uint64_t pending[W_COUNT] = {0};
    while (s->sent < s->quota) {
        int r = (int)rng_below(&s->rng, (uint64_t)total), kind = 0;
        while (r >= s_weight[kind])
            r -= s_weight[kind++];
        s_message(s, kind);
        pending[kind]++;
        s->sent++;
        if (s->used >= CHUNK || s->sent == s->quota) {
            if (s_flush(s) != 0)
                break;
            uint64_t flushed = 0;
            for (int k = 0; k < W_COUNT; k++) {
                atomic_fetch_add(&s->out->kind[k], pending[k]);
                flushed += pending[k];
                pending[k] = 0;
            }
            atomic_fetch_add(&s->out->sent, flushed);
            atomic_fetch_add(&s->out->subscribed_bytes, s->subscribed);
            s->subscribed = 0;
        }
    }
    /* every message read by the learner before the connection goes */
    if (s->sent == s->quota && (s_barrier(s) != 0 || s->early > 0))
        atomic_store(&s->out->failed, 1);
    close(s->fd);
    return NULL;
}

void net_weights_run(const net_plan_t *plan, net_result_t *out) {
    int n = plan->connections;
    double t0 = clock_now();
    s_sub_t *subs = calloc((size_t)n, sizeof *subs);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    const char *colon = strrchr(plan->endpoint, ':');
    if (!subs || !threads || !colon) {
        atomic_store(&out->failed, 1);
        free(subs);
        free(threads);
        return;
    }
    for (int i = 0; i < n; i++) {
        s_sub_t *s = &subs[i];
        s->plan = plan, s->out = out, s->index = i, s->port = atoi(colon + 1), s->fd = -1;
        s->quota = plan->messages / (uint64_t)n + (i < (int)(plan->messages % (uint64_t)n));
        rng_seed(&s->rng, plan->seed * 1000 + 500 + (uint64_t)i);
        pthread_create(&threads[i], NULL, s_sub_thread, s);
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    out->seconds += clock_now() - t0;
    free(subs);
    free(threads);
}
