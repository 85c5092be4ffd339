/* net_replay: hostile messages for a replay server's ROUTER (fuzz/net.h).
 *
 * Each connection is a DEALER with a home role: it says Hello as an actor (connection 0 as
 * NET_VICTIM_ID, whose id others try to take) or as a learner, so that its data reaches the checks
 * behind the Hello, and says it again after every Hello of another kind it sends. Every message is
 * judged here before it goes, with the server's own decoder and checks: one the server would store
 * or serve (a mutation can come out valid) is made invalid first (n, batch_size or episodes 0), so
 * that nothing sent may change what the server holds, and each is counted as one the server must refuse,
 * one it must answer (a valid Hello, a StatsRequest) or one that may go either way. Every message but
 * an Error gets exactly one answer; a connection keeps at most NET_IN_FLIGHT unanswered and, at the
 * end, waits for them all, so every message it sent has been handled when it returns. */
#include "fuzz/net.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/rng.h"
#include "common/wire.h"
#include "fuzz/fuzz_msg.h"

enum {
    K_RANDOM, K_MUTATED, K_HELLO_NEW, K_HELLO_BAD, K_HELLO_TAKEN, K_HOME_HELLO, K_BAD_LENGTHS, K_BAD_VALUES,
    K_OUT_OF_RANGE, K_TOO_MANY, K_STATS_LIST, K_SAMPLE_BAD, K_UNEXPECTED, K_VERSION, K_MULTI_FRAME, K_TOO_LARGE,
    K_DECODE_BOMB, K_STATS_REQUEST, K_COUNT
};
static const char *const s_kinds[K_COUNT] = {
    "random_bytes", "mutated", "hello_new_id", "hello_bad", "hello_taken_id", "hello_home", "bad_lengths",
    "bad_values", "out_of_range", "too_many", "bad_stats_list", "bad_sample_request", "unexpected_body",
    "wrong_version", "multi_frame", "too_large", "decode_bomb", "stats_request"};
/* per 1000 messages; the rest are K_HOME_HELLO, sent after any Hello */
static const int s_weight[K_COUNT] = {[K_RANDOM] = 150, [K_MUTATED] = 300, [K_HELLO_NEW] = 30, [K_HELLO_BAD] = 40,
    [K_HELLO_TAKEN] = 10, [K_BAD_LENGTHS] = 70, [K_BAD_VALUES] = 80, [K_OUT_OF_RANGE] = 40, [K_TOO_MANY] = 40,
    [K_STATS_LIST] = 60, [K_SAMPLE_BAD] = 60, [K_UNEXPECTED] = 60, [K_VERSION] = 30, [K_MULTI_FRAME] = 25,
    [K_TOO_LARGE] = 2, [K_DECODE_BOMB] = 1, [K_STATS_REQUEST] = 2};

enum { E_REFUSED, E_ANSWERED, E_EITHER };

#define BUF_BYTES (NET_MAX_MESSAGE + NET_ZMQ_MARGIN + 64)
#define OVER_LIMIT_EVERY 10000 /* connection 0 sends a frame ZeroMQ drops this often */
#define MANY_STATS (WIRE_MAX_STATS + 8)
/* unanswered messages per connection: the server's ROUTER queues 64 answers per peer (ROUTER_SNDHWM)
 * and learns that its peer took some only every 32 (ZeroMQ's low watermark), so at most 64 - 32 */
#define NET_IN_FLIGHT 16

typedef struct {
    const net_plan_t *plan;
    net_result_t *out;
    int index;
    uint64_t quota;
    rng_t rng;
    void *ctx, *sock;
    wire_decoder_t *judge; /* what the server's decoder makes of a frame */
    uint64_t silent;       /* messages sent that get no answer (an Error is counted, never answered) */
    uint64_t answers;      /* answers received: every other message gets exactly one */
    Mpo__Role home;
    char home_id[64];
    uint64_t home_incarnation;
    fuzz_msg_t m, other;
    Mpo__Stat stat[MANY_STATS], *stats[MANY_STATS];
    char names[MANY_STATS][80], long_id[256];
    Mpo__Episode ep, **eps;
    uint64_t sent; /* messages this connection sent */
    uint8_t buf[BUF_BYTES], tmp[BUF_BYTES];
} s_conn_t;

const char *net_replay_kind_name(int kind) { return kind >= 0 && kind < K_COUNT ? s_kinds[kind] : NULL; }

/* ---------------------------------------------------------------- judging */

/* E_REFUSED, E_ANSWERED or E_EITHER for the frame in buf[0..*len), after making a valid data message
 * invalid (rewriting buf and *len); *hello says it was a Hello the server takes, *silent that the
 * server will not answer it */
static int s_judge(s_conn_t *c, uint8_t *buf, size_t *len, int *hello, int *silent) {
    wire_rejection_t why;
    char reason[256];
    *hello = *silent = 0;
    Mpo__Message *msg = wire_decode_into(c->judge, buf, *len, &why, reason, sizeof reason);
    if (!msg)
        return E_REFUSED;
    switch (msg->body_case) {
    case MPO__MESSAGE__BODY_HELLO: {
        const Mpo__Hello *h = msg->hello;
        if (wire_check_hello(h, NET_ENV, NET_OBS, NET_ACT, reason, sizeof reason) != WIRE_OK)
            return E_REFUSED;
        *hello = 1;
        /* an actor id held by another incarnation is refused while its holder is remembered */
        if (h->role == MPO__ROLE__ROLE_ACTOR && !strcmp(h->id, NET_VICTIM_ID))
            return E_EITHER;
        return E_ANSWERED;
    }
    case MPO__MESSAGE__BODY_TRANSITIONS: {
        Mpo__TransitionBatch *b = msg->transitions;
        int valid = wire_check_transitions(b, NET_OBS, NET_ACT, reason, sizeof reason) == WIRE_OK && b->seq >= 1 &&
                    wire_check_magnitude(b, 1e6, reason, sizeof reason) == WIRE_OK && b->n <= NET_MAX_INSERT &&
                    wire_check_stats(b->stats, b->n_stats, reason, sizeof reason) == WIRE_OK;
        if (valid) {
            b->n = 0; /* bad_value, or whatever comes first */
            *len = mpo__message__pack(msg, buf);
            atomic_fetch_add(&c->out->poisoned, 1);
        }
        return E_REFUSED;
    }
    case MPO__MESSAGE__BODY_SAMPLE_REQUEST: {
        Mpo__SampleRequest *q = msg->sample_request;
        if (q->batch_size >= 1 && q->batch_size <= NET_MAX_SAMPLE &&
            wire_check_stats(q->stats, q->n_stats, reason, sizeof reason) == WIRE_OK) {
            q->batch_size = 0;
            *len = mpo__message__pack(msg, buf);
            atomic_fetch_add(&c->out->poisoned, 1);
        }
        return E_REFUSED;
    }
    case MPO__MESSAGE__BODY_EVAL_RESULT:
        /* from an evaluator, a valid one is kept and not answered: none is (a connection whose
         * home Hello was refused keeps the role of the Hello before) */
        msg->eval_result->episodes = 0;
        *len = mpo__message__pack(msg, buf);
        return E_REFUSED;
    case MPO__MESSAGE__BODY_STATS_REQUEST:
        return E_ANSWERED;
    case MPO__MESSAGE__BODY_ERROR:
        *silent = 1; /* two sides answering each other's errors would loop forever */
        return E_REFUSED;
    default:
        return E_REFUSED; /* a body the server does not take; an Error is counted and not answered */
    }
}

/* ---------------------------------------------------------------- making messages */

static fuzz_shape_t s_shape(s_conn_t *c) {
    uint32_t n = (uint32_t)(1 + rng_below(&c->rng, NET_BATCH));
    return (fuzz_shape_t){NET_ENV, NET_OBS, NET_ACT, n};
}

static size_t s_pack(s_conn_t *c, uint8_t *out) { return fuzz_msg_pack(&c->m, out, BUF_BYTES); }

static size_t s_random_bytes(s_conn_t *c, uint8_t *out, size_t max) {
    uint64_t r = rng_below(&c->rng, 100);
    size_t len = r < 70 ? rng_below(&c->rng, 65) : r < 95 ? 64 + rng_below(&c->rng, 960) : 1024 + rng_below(&c->rng, 7168);
    len = len < max ? len : max;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)rng_next(&c->rng);
    return len;
}

/* a valid message of a random body, then 1..4 byte-level mutations */
static size_t s_mutated(s_conn_t *c) {
    static const fuzz_body_t bodies[] = {FUZZ_TRANSITIONS, FUZZ_TRANSITIONS, FUZZ_TRANSITIONS, FUZZ_HELLO,
                                         FUZZ_SAMPLE_REQUEST, FUZZ_SAMPLE_REQUEST, FUZZ_STATS_REQUEST, FUZZ_ACK,
                                         FUZZ_SAMPLE_BATCH, FUZZ_WEIGHTS, FUZZ_STATS_REPLY, FUZZ_ERROR,
                                         FUZZ_EVAL_RESULT};
    fuzz_shape_t shape = s_shape(c);
    fuzz_msg_make(&c->m, bodies[rng_below(&c->rng, sizeof bodies / sizeof bodies[0])], &shape, &c->rng);
    size_t len = s_pack(c, c->buf);
    int rounds = 1 + (int)rng_below(&c->rng, 4);
    for (int r = 0; r < rounds; r++) {
        size_t at = len ? rng_below(&c->rng, len) : 0;
        switch (rng_below(&c->rng, 7)) {
        case 0: /* flip a bit */
            if (len)
                c->buf[at] ^= (uint8_t)(1u << rng_below(&c->rng, 8));
            break;
        case 1: /* set a byte */
            if (len)
                c->buf[at] = (uint8_t)rng_next(&c->rng);
            break;
        case 2: /* cut short */
            len = at;
            break;
        case 3: { /* insert random bytes */
            size_t k = 1 + rng_below(&c->rng, 16);
            if (len + k < 4096) {
                memmove(c->buf + at + k, c->buf + at, len - at);
                for (size_t i = 0; i < k; i++)
                    c->buf[at + i] = (uint8_t)rng_next(&c->rng);
                len += k;
            }
            break;
        }
        case 4: { /* delete a range */
            size_t k = rng_below(&c->rng, len - at + 1);
            memmove(c->buf + at, c->buf + at + k, len - at - k);
            len -= k;
            break;
        }
        case 5: /* a varint's worth of 0xff: lengths and counts out of reach */
            for (size_t i = at; i < len && i < at + 5; i++)
                c->buf[i] = 0xff;
            break;
        default: { /* splice: the head of this one, the tail of another */
            fuzz_shape_t s2 = s_shape(c);
            fuzz_msg_make(&c->other, (fuzz_body_t)rng_below(&c->rng, FUZZ_BODIES), &s2, &c->rng);
            size_t len2 = fuzz_msg_pack(&c->other, c->tmp, BUF_BYTES);
            size_t from = len2 ? rng_below(&c->rng, len2) : 0;
            if (at + len2 - from < 4096) {
                memcpy(c->buf + at, c->tmp + from, len2 - from);
                len = at + len2 - from;
            }
            break;
        }
        }
    }
    return len;
}

static void s_hello_of(s_conn_t *c, Mpo__Role role, const char *id, uint64_t incarnation) {
    fuzz_shape_t shape = s_shape(c);
    fuzz_msg_make(&c->m, FUZZ_HELLO, &shape, &c->rng);
    c->m.hello.role = role;
    snprintf(c->m.id, sizeof c->m.id, "%s", id);
    c->m.hello.incarnation = role == MPO__ROLE__ROLE_ACTOR ? incarnation : 0;
}

static void s_hello_bad(s_conn_t *c) {
    fuzz_shape_t shape = s_shape(c);
    fuzz_msg_make(&c->m, FUZZ_HELLO, &shape, &c->rng);
    Mpo__Hello *h = &c->m.hello;
    switch (rng_below(&c->rng, 10)) {
    case 0: h->id = ""; break;
    case 1: snprintf(c->m.id, sizeof c->m.id, "has space %d", c->index); break;
    case 2: snprintf(c->m.id, sizeof c->m.id, "\x1b[31mred\x1b[0m"); break;
    case 3: memset(c->long_id, 'x', 200), c->long_id[200] = '\0', h->id = c->long_id; break; /* over WIRE_ID_MAX */
    case 4: h->role = (Mpo__Role)(5 + rng_below(&c->rng, 1000)); break;
    case 5: h->role = MPO__ROLE__ROLE_UNSPECIFIED; break;
    case 6: h->env = rng_below(&c->rng, 2) ? "HalfCheetah-v4" : "Pendulum-v1\n\x1b[2J"; break;
    case 7: h->obs_dim = NET_OBS + 1 + (uint32_t)rng_below(&c->rng, 100); break;
    case 8: h->act_dim = UINT32_MAX; break;
    default: h->incarnation = 0; break;
    }
    if (rng_below(&c->rng, 4) == 0 && h->role == MPO__ROLE__ROLE_ACTOR) /* the id check comes first */
        h->id = "";
}

/* a stats list of `n` figures, one of them bad unless n alone is the fault */
static void s_stats_list(s_conn_t *c, Mpo__Stat ***list, size_t *n_out) {
    size_t n = rng_below(&c->rng, 3) == 0 ? WIRE_MAX_STATS + 1 + rng_below(&c->rng, 8) : 1 + rng_below(&c->rng, 8);
    for (size_t i = 0; i < n; i++) {
        mpo__stat__init(&c->stat[i]);
        snprintf(c->names[i], sizeof c->names[i], "stat_%zu", i);
        c->stat[i].name = c->names[i];
        c->stat[i].value = (double)i;
        c->stats[i] = &c->stat[i];
    }
    if (n <= WIRE_MAX_STATS) {
        size_t k = rng_below(&c->rng, n);
        switch (rng_below(&c->rng, 4)) {
        case 0: c->stat[k].value = rng_below(&c->rng, 2) ? NAN : -INFINITY; break;
        case 1: snprintf(c->names[k], sizeof c->names[k], "Upper_Case"); break;
        case 2: c->names[k][0] = '\0'; break;
        default: memset(c->names[k], 'a', 70); c->names[k][70] = '\0'; break; /* 70 >= WIRE_STAT_NAME_MAX */
        }
    }
    *list = c->stats;
    *n_out = n;
}

/* a transition batch broken in the way `kind` names */
static void s_bad_transitions(s_conn_t *c, int kind) {
    fuzz_shape_t shape = s_shape(c);
    fuzz_msg_make(&c->m, FUZZ_TRANSITIONS, &shape, &c->rng);
    Mpo__TransitionBatch *b = &c->m.tb;
    uint32_t n = b->n;
    float *arrays[] = {b->obs, b->action, b->reward, b->next_obs};
    size_t lens[] = {b->n_obs, b->n_action, b->n_reward, b->n_next_obs};
    int a = (int)rng_below(&c->rng, 4);
    size_t at = rng_below(&c->rng, lens[a]);
    switch (kind) {
    case K_BAD_LENGTHS:
        switch (rng_below(&c->rng, 5)) {
        case 0: b->n_obs--; break;
        case 1: b->n_action = 0; break;
        case 2: b->n = n + 1; break;
        case 3: b->n = WIRE_MAX_BATCH; break;
        default: b->n_done = n - 1; break;
        }
        break;
    case K_BAD_VALUES:
        switch (rng_below(&c->rng, 6)) {
        case 0: arrays[a][at] = NAN; break;
        case 1: arrays[a][at] = rng_below(&c->rng, 2) ? INFINITY : -INFINITY; break;
        case 2: b->done[rng_below(&c->rng, n)] = 0.5f; break;
        case 3: b->seq = 0; break; /* out of order: seqs start at 1 */
        case 4: b->n_episodes = 1, c->m.ep[0].episode_return = NAN; break;
        default: b->n = 0, b->n_obs = b->n_action = b->n_reward = b->n_done = b->n_next_obs = 0; break;
        }
        break;
    case K_OUT_OF_RANGE:
        arrays[a][at] = rng_below(&c->rng, 2) ? 3e38f : -1e7f;
        break;
    default: /* K_TOO_MANY */
        if (rng_below(&c->rng, 2)) { /* more than the rate limiter ever admits, or than a message may hold */
            b->n = rng_below(&c->rng, 2) ? NET_MAX_INSERT + 1 : WIRE_MAX_BATCH + 1 + (uint32_t)rng_below(&c->rng, 1u << 30);
            if (b->n == NET_MAX_INSERT + 1) {
                fuzz_shape_t big = {NET_ENV, NET_OBS, NET_ACT, NET_MAX_INSERT + 1};
                fuzz_msg_make(&c->m, FUZZ_TRANSITIONS, &big, &c->rng);
            }
        } else { /* more episodes than one batch may report */
            b->n_episodes = WIRE_MAX_EPISODES + 1;
            b->episodes = c->eps;
        }
        break;
    }
}

/* ---------------------------------------------------------------- sending */

/* take the answers off the socket */
static void s_drain(s_conn_t *c) {
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    while (zmq_msg_recv(&frame, c->sock, ZMQ_DONTWAIT) >= 0) {
        c->answers++;
        atomic_fetch_add(&c->out->replies, 1);
    }
    zmq_msg_close(&frame);
}

/* messages sent and not answered yet */
static uint64_t s_in_flight(const s_conn_t *c) { return c->sent - c->silent - c->answers; }

/* send frames[0..nframes) as one message: 0, or -1 at the deadline */
static int s_send(s_conn_t *c, const uint8_t *const *frames, const size_t *lens, int nframes) {
    for (;;) {
        int rc = 0;
        for (int f = 0; f < nframes && rc >= 0; f++)
            rc = zmq_send(c->sock, frames[f], lens[f], ZMQ_DONTWAIT | (f + 1 < nframes ? ZMQ_SNDMORE : 0));
        if (rc >= 0)
            return 0;
        if (errno != EAGAIN || clock_now() > c->plan->deadline)
            return -1;
        s_drain(c);
        zmq_pollitem_t it = {.socket = c->sock, .events = ZMQ_POLLOUT};
        zmq_poll(&it, 1, 50);
    }
}

/* one message of frames[0..nframes) as `kind`, expected to be refused, answered or either, and
 * answered at all unless silent. Waits while NET_IN_FLIGHT are unanswered: the server never has
 * more answers queued for this connection than its ROUTER holds, so none is dropped. */
static int s_send_frames(s_conn_t *c, int kind, const uint8_t *const *frames, const size_t *lens, int nframes,
                         int expect, int silent) {
    zmq_pollitem_t it = {.socket = c->sock, .events = ZMQ_POLLIN};
    while (s_in_flight(c) >= NET_IN_FLIGHT) {
        if (clock_now() > c->plan->deadline)
            return -1;
        if (zmq_poll(&it, 1, 100) > 0)
            s_drain(c);
    }
    if (s_send(c, frames, lens, nframes) != 0)
        return -1;
    c->sent++;
    c->silent += silent != 0;
    atomic_fetch_add(&c->out->sent, 1);
    atomic_fetch_add(&c->out->kind[kind], 1);
    atomic_fetch_add(expect == E_REFUSED ? &c->out->expect_refused
                     : expect == E_ANSWERED ? &c->out->expect_answered : &c->out->expect_either, 1);
    return 0;
}

static int s_send_one(s_conn_t *c, int kind, const uint8_t *data, size_t len, int expect, int silent) {
    return s_send_frames(c, kind, &data, &len, 1, expect, silent);
}

static int s_home_hello(s_conn_t *c) {
    s_hello_of(c, c->home, c->home_id, c->home_incarnation);
    size_t len = s_pack(c, c->buf);
    int hello, silent, expect = s_judge(c, c->buf, &len, &hello, &silent);
    return s_send_one(c, K_HOME_HELLO, c->buf, len, expect, silent);
}

/* one message of this kind (two for a Hello: it, then the home Hello); -1 at the deadline */
static int s_one(s_conn_t *c, int kind) {
    size_t len = 0;
    switch (kind) {
    case K_RANDOM: len = s_random_bytes(c, c->buf, BUF_BYTES); break;
    case K_MUTATED: len = s_mutated(c); break;
    case K_HELLO_NEW: {
        static const Mpo__Role roles[] = {MPO__ROLE__ROLE_ACTOR, MPO__ROLE__ROLE_ACTOR, MPO__ROLE__ROLE_LEARNER,
                                          MPO__ROLE__ROLE_EVALUATOR, MPO__ROLE__ROLE_STAT};
        char id[64];
        snprintf(id, sizeof id, "fuzz-flood-%d-%016llx", c->index, (unsigned long long)rng_next(&c->rng));
        s_hello_of(c, roles[rng_below(&c->rng, 5)], id, rng_next(&c->rng) | 1);
        len = s_pack(c, c->buf);
        break;
    }
    case K_HELLO_BAD: s_hello_bad(c), len = s_pack(c, c->buf); break;
    case K_HELLO_TAKEN: { /* the victim's id as another process */
        uint64_t other;
        do
            other = rng_next(&c->rng) | 1;
        while (other == c->plan->victim_incarnation);
        s_hello_of(c, MPO__ROLE__ROLE_ACTOR, NET_VICTIM_ID, other);
        len = s_pack(c, c->buf);
        break;
    }
    case K_BAD_LENGTHS: case K_BAD_VALUES: case K_OUT_OF_RANGE: case K_TOO_MANY:
        s_bad_transitions(c, kind), len = s_pack(c, c->buf);
        break;
    case K_STATS_LIST: {
        fuzz_shape_t shape = s_shape(c);
        int batch = rng_below(&c->rng, 2);
        fuzz_msg_make(&c->m, batch ? FUZZ_TRANSITIONS : FUZZ_SAMPLE_REQUEST, &shape, &c->rng);
        if (batch)
            s_stats_list(c, &c->m.tb.stats, &c->m.tb.n_stats);
        else
            s_stats_list(c, &c->m.sr.stats, &c->m.sr.n_stats);
        len = s_pack(c, c->buf);
        break;
    }
    case K_SAMPLE_BAD: {
        static const uint32_t sizes[] = {0, NET_MAX_SAMPLE + 1, WIRE_MAX_BATCH + 1, UINT32_MAX};
        fuzz_shape_t shape = s_shape(c);
        fuzz_msg_make(&c->m, FUZZ_SAMPLE_REQUEST, &shape, &c->rng);
        c->m.sr.batch_size = sizes[rng_below(&c->rng, 4)];
        len = s_pack(c, c->buf);
        break;
    }
    case K_UNEXPECTED: {
        static const fuzz_body_t bodies[] = {FUZZ_ACK, FUZZ_SAMPLE_BATCH, FUZZ_WEIGHTS, FUZZ_STATS_REPLY, FUZZ_ERROR,
                                             FUZZ_EVAL_RESULT};
        fuzz_shape_t shape = s_shape(c);
        fuzz_msg_make(&c->m, bodies[rng_below(&c->rng, 6)], &shape, &c->rng);
        len = s_pack(c, c->buf);
        break;
    }
    case K_VERSION: {
        fuzz_shape_t shape = s_shape(c);
        fuzz_msg_make(&c->m, (fuzz_body_t)rng_below(&c->rng, FUZZ_BODIES), &shape, &c->rng);
        static const uint32_t versions[] = {0, 2, UINT32_MAX};
        uint64_t r = rng_below(&c->rng, 4);
        len = s_pack(c, c->buf);
        if (r < 3) {
            c->m.msg.version = versions[r];
            len = fuzz_msg_pack(&c->m, c->buf, BUF_BYTES);
        } else { /* our version and no body */
            c->buf[0] = 0x08, c->buf[1] = (uint8_t)WIRE_VERSION, len = 2;
        }
        break;
    }
    case K_MULTI_FRAME: {
        fuzz_shape_t shape = s_shape(c);
        fuzz_msg_make(&c->m, FUZZ_HELLO, &shape, &c->rng);
        len = s_pack(c, c->buf);
        const uint8_t *frames[3] = {c->buf, c->buf, c->buf};
        size_t lens[3] = {len, len, len};
        return s_send_frames(c, kind, frames, lens, 2 + (int)rng_below(&c->rng, 2), E_REFUSED, 0);
    }
    case K_TOO_LARGE: /* over max_message_bytes, under ZeroMQ's limit: the server's own refusal */
        len = NET_MAX_MESSAGE + 1 + rng_below(&c->rng, NET_ZMQ_MARGIN - 1);
        for (size_t i = 0; i < len; i += 8)
            c->buf[i] = (uint8_t)rng_next(&c->rng);
        break;
    case K_DECODE_BOMB: { /* a TransitionBatch of empty episodes: 2 bytes each, 40 when decoded */
        size_t body = NET_MAX_MESSAGE - 16;
        c->buf[0] = 0x08, c->buf[1] = (uint8_t)WIRE_VERSION, c->buf[2] = 0x1a; /* Message.transitions */
        size_t at = 3, v = body;
        while (v >= 0x80)
            c->buf[at++] = (uint8_t)(v | 0x80), v >>= 7;
        c->buf[at++] = (uint8_t)v;
        for (size_t i = 0; i < body; i += 2)
            c->buf[at + i] = 0x42, c->buf[at + i + 1] = 0x00; /* TransitionBatch.episodes, empty */
        len = at + body;
        break;
    }
    default: { /* K_STATS_REQUEST */
        fuzz_shape_t shape = s_shape(c);
        fuzz_msg_make(&c->m, FUZZ_STATS_REQUEST, &shape, &c->rng);
        len = s_pack(c, c->buf);
        break;
    }
    }
    int hello = 0, silent = 0, expect = len > NET_MAX_MESSAGE ? E_REFUSED : s_judge(c, c->buf, &len, &hello, &silent);
    if (s_send_one(c, kind, c->buf, len, expect, silent) != 0)
        return -1;
    return hello ? s_home_hello(c) : 0; /* it may have changed this connection's role or id */
}

/* Every answer in: the server takes one connection's messages in order, so then it has handled
 * every one sent (and counted every refusal). */
static void s_barrier(s_conn_t *c) {
    zmq_pollitem_t it = {.socket = c->sock, .events = ZMQ_POLLIN};
    for (double until = clock_now() + 120; s_in_flight(c) > 0 && clock_now() < until;)
        if (zmq_poll(&it, 1, 100) > 0)
            s_drain(c);
    if (s_in_flight(c) > 0)
        atomic_store(&c->out->failed, 1);
}

/* a throwaway connection with a frame over ZeroMQ's limit: ZeroMQ drops it, the server never sees it */
static void s_over_limit(s_conn_t *c) {
    void *s = zmq_socket(c->ctx, ZMQ_DEALER);
    int linger = 1000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, c->plan->endpoint) == 0 &&
        zmq_send(s, c->buf, NET_MAX_MESSAGE + NET_ZMQ_MARGIN + 1, ZMQ_DONTWAIT) >= 0)
        atomic_fetch_add(&c->out->dropped_frames, 1);
    zmq_close(s);
}

static void *s_conn_thread(void *arg) {
    s_conn_t *c = arg;
    int linger = 0, hwm = 1000;
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    c->judge = wire_decoder_new(NET_MAX_MESSAGE);
    c->eps = calloc(WIRE_MAX_EPISODES + 1, sizeof *c->eps);
    if (c->sock) {
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    }
    if (!c->sock || !c->judge || !c->eps || zmq_connect(c->sock, c->plan->endpoint) != 0) {
        atomic_store(&c->out->failed, 1);
        goto done;
    }
    mpo__episode__init(&c->ep);
    c->ep.episode_return = 1;
    for (int i = 0; i <= WIRE_MAX_EPISODES; i++)
        c->eps[i] = &c->ep;
    int total = 0;
    for (int k = 0; k < K_COUNT; k++)
        total += s_weight[k];
    if (s_home_hello(c) != 0)
        goto done;
    uint64_t next_over = OVER_LIMIT_EVERY;
    while (c->sent < c->quota) {
        if (c->index == 0 && c->sent >= next_over) {
            s_over_limit(c);
            next_over += OVER_LIMIT_EVERY;
        }
        int r = (int)rng_below(&c->rng, (uint64_t)total), kind = 0;
        while (r >= s_weight[kind])
            r -= s_weight[kind++];
        if (s_one(c, kind) != 0)
            break;
        if (c->sent % 64 < 2)
            s_drain(c);
    }
    s_barrier(c);
done:
    zmq_close(c->sock);
    wire_decoder_destroy(&c->judge);
    free(c->eps);
    return NULL;
}

void net_replay_run(const net_plan_t *plan, net_result_t *out) {
    int n = plan->connections;
    double t0 = clock_now();
    s_conn_t *conns = calloc((size_t)n, sizeof *conns);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    void *ctx = zmq_ctx_new();
    if (!conns || !threads || !ctx) {
        atomic_store(&out->failed, 1);
        free(conns);
        free(threads);
        return;
    }
    for (int i = 0; i < n; i++) {
        s_conn_t *c = &conns[i];
        c->plan = plan, c->out = out, c->index = i, c->ctx = ctx;
        c->quota = plan->messages / (uint64_t)n + (i < (int)(plan->messages % (uint64_t)n));
        rng_seed(&c->rng, plan->seed * 1000 + (uint64_t)i);
        /* connection 0 holds the victim's id; every other one is an actor or a learner of its own, of
         * this round (an id another round's process holds would be refused as id_in_use) */
        c->home = i % 3 == 2 ? MPO__ROLE__ROLE_LEARNER : MPO__ROLE__ROLE_ACTOR;
        if (i == 0)
            snprintf(c->home_id, sizeof c->home_id, "%s", NET_VICTIM_ID);
        else
            snprintf(c->home_id, sizeof c->home_id, "fuzz-home-%llx-%d", (unsigned long long)plan->seed, i);
        c->home_incarnation = i == 0 ? plan->victim_incarnation : rng_next(&c->rng) | 1;
        pthread_create(&threads[i], NULL, s_conn_thread, c);
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    out->seconds += clock_now() - t0;
    zmq_ctx_term(ctx);
    free(conns);
    free(threads);
}
