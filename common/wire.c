#include "common/wire.h"

#include "common/arena.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* the protocol's ErrorCode for each refusal, in common/error.h's order */
static const Mpo__ErrorCode s_proto[WIRE_REJECTION_COUNT] = {
    [MPO_OK] = MPO__ERROR_CODE__ERROR_UNSPECIFIED,
    [WIRE_MALFORMED] = MPO__ERROR_CODE__ERROR_MALFORMED,
    [WIRE_WRONG_VERSION] = MPO__ERROR_CODE__ERROR_WRONG_VERSION,
    [WIRE_WRONG_ENV] = MPO__ERROR_CODE__ERROR_WRONG_ENV,
    [WIRE_WRONG_SIZES] = MPO__ERROR_CODE__ERROR_WRONG_SIZES,
    [WIRE_BAD_LENGTHS] = MPO__ERROR_CODE__ERROR_BAD_LENGTHS,
    [WIRE_TOO_LARGE] = MPO__ERROR_CODE__ERROR_TOO_LARGE,
    [WIRE_ID_IN_USE] = MPO__ERROR_CODE__ERROR_ID_IN_USE,
    [WIRE_NO_HELLO] = MPO__ERROR_CODE__ERROR_NO_HELLO,
    [WIRE_UNEXPECTED] = MPO__ERROR_CODE__ERROR_UNEXPECTED,
    [WIRE_BAD_VALUE] = MPO__ERROR_CODE__ERROR_BAD_VALUE,
    [WIRE_OUT_OF_RANGE] = MPO__ERROR_CODE__ERROR_OUT_OF_RANGE,
};

const char *wire_rejection_name(wire_rejection_t code) {
    return (unsigned)code < WIRE_REJECTION_COUNT ? mpo_error_name(code) : "unknown";
}

Mpo__ErrorCode wire_rejection_proto(wire_rejection_t code) {
    return (unsigned)code < WIRE_REJECTION_COUNT ? s_proto[code] : MPO__ERROR_CODE__ERROR_UNSPECIFIED;
}

void wire_init_message(Mpo__Message *msg) {
    mpo__message__init(msg);
    msg->version = WIRE_VERSION;
}

/* the checks every decoded message passes: our version, a body. NULL (after freeing msg with
 * allocator) when refused. */
static Mpo__Message *s_checked(Mpo__Message *msg, ProtobufCAllocator *allocator, wire_rejection_t *why, char *reason,
                               size_t reasonlen) {
    if (msg->version != WIRE_VERSION) {
        *why = WIRE_WRONG_VERSION;
        snprintf(reason, reasonlen, "protocol version %u, this side speaks %d", msg->version, WIRE_VERSION);
        mpo__message__free_unpacked(msg, allocator);
        return NULL;
    }
    if (msg->body_case == MPO__MESSAGE__BODY__NOT_SET) {
        *why = WIRE_MALFORMED;
        snprintf(reason, reasonlen, "a message with no body");
        mpo__message__free_unpacked(msg, allocator);
        return NULL;
    }
    *why = WIRE_OK;
    return msg;
}

static Mpo__Message *s_malformed(size_t len, wire_rejection_t *why, char *reason, size_t reasonlen) {
    *why = WIRE_MALFORMED;
    snprintf(reason, reasonlen, "a %zu-byte frame that is not a protocol message", len);
    return NULL;
}

Mpo__Message *wire_decode(const void *data, size_t len, wire_rejection_t *why, char *reason, size_t reasonlen) {
    Mpo__Message *msg = mpo__message__unpack(NULL, len, data);
    if (!msg)
        return s_malformed(len, why, reason, reasonlen);
    return s_checked(msg, NULL, why, reason, reasonlen);
}

/* ---------------------------------------------------------------- decoding into an arena */

#define WIRE_DECODER_FIRST_BLOCK (64u * 1024) /* an Ack or a SampleRequest needs far less */

struct wire_decoder_s {
    arena_t arena;
    ProtobufCAllocator alloc; /* protobuf-c's hook: pieces of the arena, freed all at once */
    size_t max_message_bytes;
};

static void *s_arena_alloc(void *arena, size_t size) { return arena_alloc(arena, size); }
static void s_arena_free(void *arena, void *p) { (void)arena, (void)p; } /* the next reset takes it back */

wire_decoder_t *wire_decoder_new(size_t max_message_bytes) {
    wire_decoder_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->max_message_bytes = max_message_bytes;
    size_t bound = max_message_bytes > SIZE_MAX - WIRE_DECODE_SLACK ? SIZE_MAX : max_message_bytes + WIRE_DECODE_SLACK;
    arena_init(&d->arena, bound);
    d->alloc = (ProtobufCAllocator){.alloc = s_arena_alloc, .free = s_arena_free, .allocator_data = &d->arena};
    if (arena_reserve(&d->arena, WIRE_DECODER_FIRST_BLOCK) != 0)
        wire_decoder_destroy(&d);
    return d;
}

void wire_decoder_destroy(wire_decoder_t **self_p) {
    wire_decoder_t *d = *self_p;
    if (!d)
        return;
    arena_free(&d->arena);
    free(d);
    *self_p = NULL;
}

size_t wire_decoder_bytes(const wire_decoder_t *d) { return d->arena.cap; }

Mpo__Message *wire_decode_into(wire_decoder_t *d, const void *data, size_t len, wire_rejection_t *why, char *reason,
                               size_t reasonlen) {
    if (len > d->max_message_bytes) {
        *why = WIRE_TOO_LARGE;
        snprintf(reason, reasonlen, "a %zu-byte message (max_message_bytes %zu)", len, d->max_message_bytes);
        return NULL;
    }
    for (;;) {
        arena_reset(&d->arena);
        Mpo__Message *msg = mpo__message__unpack(&d->alloc, len, data);
        if (msg)
            return s_checked(msg, &d->alloc, why, reason, reasonlen);
        if (d->arena.wanted == 0) /* not for want of room */
            return s_malformed(len, why, reason, reasonlen);
        /* a larger message than any before: grow (at least twofold) and decode it again */
        size_t wanted = d->arena.wanted;
        int rc = arena_reserve(&d->arena, wanted);
        if (rc != 0) {
            *why = WIRE_TOO_LARGE;
            if (rc == -MPO_ENOMEM)
                snprintf(reason, reasonlen, "a %zu-byte message: no memory to decode it", len);
            else
                snprintf(reason, reasonlen, "a %zu-byte message that decodes to more than %zu bytes", len,
                         d->arena.max);
            return NULL;
        }
    }
}

void wire_free(Mpo__Message *msg) {
    if (msg)
        mpo__message__free_unpacked(msg, NULL);
}

int wire_send(void *socket, const void *routing_id, size_t id_len, Mpo__Message *msg, int flags) {
    msg->version = WIRE_VERSION;
    size_t len = mpo__message__get_packed_size(msg);
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, len) != 0)
        return -1;
    mpo__message__pack(msg, zmq_msg_data(&frame));
    if (routing_id && zmq_send(socket, routing_id, id_len, ZMQ_SNDMORE | (flags & ZMQ_DONTWAIT)) < 0) {
        zmq_msg_close(&frame);
        return -1;
    }
    if (zmq_msg_send(&frame, socket, flags) < 0) {
        int e = errno;
        zmq_msg_close(&frame);
        errno = e;
        return -1;
    }
    return 0;
}

Mpo__Message *wire_recv(void *socket, wire_rejection_t *why, char *reason, size_t reasonlen) {
    *why = WIRE_OK;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return NULL;
    }
    Mpo__Message *msg = wire_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), why, reason, reasonlen);
    zmq_msg_close(&frame);
    return msg;
}

Mpo__Message *wire_recv_into(void *socket, wire_decoder_t *d, wire_rejection_t *why, char *reason, size_t reasonlen) {
    *why = WIRE_OK;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return NULL;
    }
    /* protobuf-c copies every array and string out of the frame, so it may go now */
    Mpo__Message *msg = wire_decode_into(d, zmq_msg_data(&frame), zmq_msg_size(&frame), why, reason, reasonlen);
    zmq_msg_close(&frame);
    return msg;
}

int wire_send_hello(void *socket, Mpo__Role role, const char *env, int obs_dim, int act_dim, const char *id,
                    uint64_t incarnation) {
    Mpo__Message msg;
    Mpo__Hello hello;
    wire_init_message(&msg);
    mpo__hello__init(&hello);
    hello.role = role;
    hello.env = (char *)(env ? env : "");
    hello.obs_dim = (uint32_t)obs_dim;
    hello.act_dim = (uint32_t)act_dim;
    hello.id = (char *)(id ? id : "");
    hello.incarnation = incarnation;
    msg.body_case = MPO__MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    return wire_send(socket, NULL, 0, &msg, ZMQ_DONTWAIT);
}

uint64_t wire_incarnation(void) {
    uint64_t x = 0;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    x ^= x >> 31; /* a splitmix64 finish, so nearby times and pids give unrelated numbers */
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    return x ? x : 1;
}

int wire_send_stats_request(void *socket) {
    Mpo__Message msg;
    Mpo__StatsRequest req;
    wire_init_message(&msg);
    mpo__stats_request__init(&req);
    msg.body_case = MPO__MESSAGE__BODY_STATS_REQUEST;
    msg.stats_request = &req;
    return wire_send(socket, NULL, 0, &msg, ZMQ_DONTWAIT);
}

int wire_send_error(void *socket, const void *routing_id, size_t id_len, wire_rejection_t code, const char *reason) {
    Mpo__Message msg;
    Mpo__Error err;
    wire_init_message(&msg);
    mpo__error__init(&err);
    err.code = wire_rejection_proto(code);
    err.reason = (char *)reason;
    msg.body_case = MPO__MESSAGE__BODY_ERROR;
    msg.error = &err;
    return wire_send(socket, routing_id, id_len, &msg, ZMQ_DONTWAIT);
}

/* 1..max-1 bytes of printable ASCII, no space: what may appear in logs, `mpo stat` and /metrics labels */
static int s_printable(const char *s, size_t max) {
    size_t n = 0;
    for (; s && s[n]; n++)
        if (n + 1 >= max || s[n] < 0x21 || s[n] > 0x7e)
            return 0;
    return n > 0;
}

wire_rejection_t wire_check_hello(const Mpo__Hello *h, const char *env, int obs_dim, int act_dim, char *reason,
                                  size_t reasonlen) {
    if (!s_printable(h->id, WIRE_ID_MAX)) {
        /* an id with escape codes would reach a terminal through the log, mpo stat and /metrics */
        snprintf(reason, reasonlen, "hello with an id that is not 1-%d bytes of printable ASCII", WIRE_ID_MAX - 1);
        return WIRE_BAD_VALUE;
    }
    if (h->role == MPO__ROLE__ROLE_STAT)
        return WIRE_OK; /* stats clients need no environment */
    if (h->role == MPO__ROLE__ROLE_ACTOR && h->incarnation == 0) {
        snprintf(reason, reasonlen, "actor hello without an incarnation (a random nonzero number per process)");
        return WIRE_BAD_VALUE;
    }
    if (h->role != MPO__ROLE__ROLE_ACTOR && h->role != MPO__ROLE__ROLE_LEARNER && h->role != MPO__ROLE__ROLE_EVALUATOR) {
        snprintf(reason, reasonlen, "hello with unknown role %d", (int)h->role);
        return WIRE_BAD_VALUE;
    }
    if (!h->env || strcmp(h->env, env) != 0) {
        snprintf(reason, reasonlen, "environment '%.64s', this server holds '%s'",
                 s_printable(h->env, 65) ? h->env : "(not printable)", env);
        return WIRE_WRONG_ENV;
    }
    if ((int)h->obs_dim != obs_dim || (int)h->act_dim != act_dim) {
        snprintf(reason, reasonlen, "sizes obs %u act %u, this server holds obs %d act %d", h->obs_dim, h->act_dim,
                 obs_dim, act_dim);
        return WIRE_WRONG_SIZES;
    }
    return WIRE_OK;
}

/* Branch-free, so the compiler vectorizes them: a valid batch is read whole anyway, and these two
 * were 5-7% of the replay server's time as early-exit scalar loops. */
static int s_all_finite(const float *x, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u; /* exponent all ones: infinity or NaN */
    }
    return !bad;
}

static int s_all_binary(const float *x, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= (x[i] != 0.0f) & (x[i] != 1.0f);
    return !bad;
}

/* the five arrays of a batch of n transitions, checked against the sizes */
static wire_rejection_t s_check_arrays(uint32_t n, size_t n_obs, const float *obs, size_t n_act, const float *act,
                                       size_t n_rew, const float *rew, size_t n_done, const float *done,
                                       size_t n_next, const float *next, int obs_dim, int act_dim, char *reason,
                                       size_t reasonlen) {
    if (n == 0 || n > WIRE_MAX_BATCH) {
        snprintf(reason, reasonlen, "batch of %u transitions (allowed 1..%d)", n, WIRE_MAX_BATCH);
        return n == 0 ? WIRE_BAD_VALUE : WIRE_TOO_LARGE;
    }
    size_t so = (size_t)n * obs_dim, sa = (size_t)n * act_dim;
    if (n_obs != so || n_next != so || n_act != sa || n_rew != n || n_done != n) {
        snprintf(reason, reasonlen,
                 "lengths obs %zu next_obs %zu action %zu reward %zu done %zu disagree with n %u (expected %zu, %zu, "
                 "%zu, %u, %u)",
                 n_obs, n_next, n_act, n_rew, n_done, n, so, so, sa, n, n);
        return WIRE_BAD_LENGTHS;
    }
    if (!s_all_finite(obs, so) || !s_all_finite(next, so) || !s_all_finite(act, sa) || !s_all_finite(rew, n)) {
        snprintf(reason, reasonlen, "NaN or infinity in a batch of %u transitions", n);
        return WIRE_BAD_VALUE;
    }
    if (!s_all_binary(done, n))
        for (uint32_t i = 0; i < n; i++)
            if (done[i] != 0.0f && done[i] != 1.0f) {
                snprintf(reason, reasonlen, "done[%u] = %g (must be 0 or 1)", i, done[i]);
                return WIRE_BAD_VALUE;
            }
    return WIRE_OK;
}

wire_rejection_t wire_check_transitions(const Mpo__TransitionBatch *b, int obs_dim, int act_dim, char *reason,
                                        size_t reasonlen) {
    if (b->n_episodes > WIRE_MAX_EPISODES) {
        snprintf(reason, reasonlen, "%zu episodes in one batch (at most %d)", b->n_episodes, WIRE_MAX_EPISODES);
        return WIRE_TOO_LARGE;
    }
    for (size_t i = 0; i < b->n_episodes; i++)
        if (!b->episodes[i] || !isfinite(b->episodes[i]->episode_return)) {
            snprintf(reason, reasonlen, "episode %zu has no finite return", i);
            return WIRE_BAD_VALUE;
        }
    return s_check_arrays(b->n, b->n_obs, b->obs, b->n_action, b->action, b->n_reward, b->reward, b->n_done, b->done,
                          b->n_next_obs, b->next_obs, obs_dim, act_dim, reason, reasonlen);
}

wire_rejection_t wire_check_stats(Mpo__Stat *const *stats, size_t n, char *reason, size_t reasonlen) {
    if (n > WIRE_MAX_STATS) {
        snprintf(reason, reasonlen, "%zu stats in one list (at most %d)", n, WIRE_MAX_STATS);
        return WIRE_TOO_LARGE;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = stats[i] ? stats[i]->name : NULL;
        size_t len = name ? strlen(name) : 0;
        int ok = len > 0 && len < WIRE_STAT_NAME_MAX;
        for (size_t k = 0; ok && k < len; k++)
            ok = (name[k] >= 'a' && name[k] <= 'z') || (name[k] >= '0' && name[k] <= '9') || name[k] == '_';
        if (!ok) {
            snprintf(reason, reasonlen, "stat %zu: a name of %zu bytes that is not [a-z0-9_]{1,%d}", i, len,
                     WIRE_STAT_NAME_MAX - 1);
            return WIRE_BAD_VALUE;
        }
        if (!isfinite(stats[i]->value)) {
            snprintf(reason, reasonlen, "stat %s is not finite", name);
            return WIRE_BAD_VALUE;
        }
    }
    return WIRE_OK;
}

wire_rejection_t wire_check_sample_batch(const Mpo__SampleBatch *b, int obs_dim, int act_dim, char *reason,
                                         size_t reasonlen) {
    return s_check_arrays(b->n, b->n_obs, b->obs, b->n_action, b->action, b->n_reward, b->reward, b->n_done, b->done,
                          b->n_next_obs, b->next_obs, obs_dim, act_dim, reason, reasonlen);
}

/* the largest |x| of n floats (the arrays are finite: wire_check_transitions ran first) */
static float s_max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        m = a > m ? a : m;
    }
    return m;
}

wire_rejection_t wire_check_magnitude(const Mpo__TransitionBatch *b, double max_abs, char *reason, size_t reasonlen) {
    if (!(max_abs > 0))
        return WIRE_OK;
    const struct {
        const char *name;
        const float *x;
        size_t n;
    } arrays[] = {{"obs", b->obs, b->n_obs}, {"next_obs", b->next_obs, b->n_next_obs},
                  {"action", b->action, b->n_action}, {"reward", b->reward, b->n_reward}};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
        float m = s_max_abs(arrays[k].x, arrays[k].n);
        if (m > max_abs) {
            snprintf(reason, reasonlen, "%s holds |x| = %g, beyond max_abs_value %g", arrays[k].name, m, max_abs);
            return WIRE_OUT_OF_RANGE;
        }
    }
    return WIRE_OK;
}
