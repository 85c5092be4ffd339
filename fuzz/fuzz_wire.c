/* fuzz_wire: libFuzzer target for the receive path of every endpoint (common/wire.h).
 *
 * The input is one frame. It is decoded twice, on the heap (wire_decode) and into reused arena
 * decoders as the servers do (wire_decode_into: one that grows to 1 MiB, one whose max_message_bytes
 * is 1024), and every check of common/wire.h runs on the body it applies to, with the Pendulum sizes
 * (3, 1) and with the sizes the message itself implies. Invariants, each an abort when broken:
 * - the decoders agree: the same refusal, or messages that pack to the same bytes; a frame over a
 *   decoder's max_message_bytes is too_large there; a decoder never holds more than its bound;
 * - a refusal has a code in the table and a non-empty reason;
 * - a decoded message re-encodes and decodes to the same fields (the same packed bytes again), but
 *   for one quirk of protobuf-c's (s_round_trip);
 * - each check accepts exactly what a slow, obvious reference written here from docs/protocol.md
 *   accepts, and refuses with the code that reference names. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_wire: %s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#define ENV "Pendulum-v1"
#define OBS 3
#define ACT 1
#define SMALL_MAX 1024        /* the small decoder's max_message_bytes */
#define LARGE_MAX (1u << 20)  /* the large decoder's */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---------------------------------------------------------------- references */

static int s_ref_printable(const char *s, size_t max) {
    if (!s || !s[0] || strlen(s) >= max)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < '!' || *p > '~')
            return 0;
    return 1;
}

static wire_rejection_t s_ref_hello(const Mpo__Hello *h, const char *env, int obs, int act) {
    if (!s_ref_printable(h->id, WIRE_ID_MAX))
        return WIRE_BAD_VALUE;
    if (h->role == MPO__ROLE__ROLE_STAT)
        return WIRE_OK;
    if (h->role == MPO__ROLE__ROLE_ACTOR && h->incarnation == 0)
        return WIRE_BAD_VALUE;
    if (h->role != MPO__ROLE__ROLE_ACTOR && h->role != MPO__ROLE__ROLE_LEARNER && h->role != MPO__ROLE__ROLE_EVALUATOR)
        return WIRE_BAD_VALUE;
    if (!h->env || strcmp(h->env, env) != 0)
        return WIRE_WRONG_ENV;
    if ((long long)h->obs_dim != obs || (long long)h->act_dim != act)
        return WIRE_WRONG_SIZES;
    return WIRE_OK;
}

static int s_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static wire_rejection_t s_ref_arrays(uint32_t n, size_t n_obs, const float *obs, size_t n_act, const float *act,
                                     size_t n_rew, const float *rew, size_t n_done, const float *done, size_t n_next,
                                     const float *next, int obs_dim, int act_dim) {
    if (n == 0)
        return WIRE_BAD_VALUE;
    if (n > WIRE_MAX_BATCH)
        return WIRE_TOO_LARGE;
    if (n_obs != (size_t)n * obs_dim || n_next != (size_t)n * obs_dim || n_act != (size_t)n * act_dim ||
        n_rew != n || n_done != n)
        return WIRE_BAD_LENGTHS;
    if (!s_finite(obs, n_obs) || !s_finite(next, n_next) || !s_finite(act, n_act) || !s_finite(rew, n_rew))
        return WIRE_BAD_VALUE;
    for (size_t i = 0; i < n_done; i++)
        if (done[i] != 0.0f && done[i] != 1.0f)
            return WIRE_BAD_VALUE;
    return WIRE_OK;
}

static wire_rejection_t s_ref_transitions(const Mpo__TransitionBatch *b, int obs, int act) {
    if (b->n_episodes > WIRE_MAX_EPISODES)
        return WIRE_TOO_LARGE;
    for (size_t i = 0; i < b->n_episodes; i++)
        if (!b->episodes[i] || !isfinite(b->episodes[i]->episode_return))
            return WIRE_BAD_VALUE;
    return s_ref_arrays(b->n, b->n_obs, b->obs, b->n_action, b->action, b->n_reward, b->reward, b->n_done, b->done,
                        b->n_next_obs, b->next_obs, obs, act);
}

static wire_rejection_t s_ref_stats(Mpo__Stat *const *stats, size_t n) {
    if (n > WIRE_MAX_STATS)
        return WIRE_TOO_LARGE;
    for (size_t i = 0; i < n; i++) {
        const char *name = stats[i] ? stats[i]->name : NULL;
        if (!name || !name[0] || strlen(name) >= WIRE_STAT_NAME_MAX)
            return WIRE_BAD_VALUE;
        for (const char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                return WIRE_BAD_VALUE;
        if (!isfinite(stats[i]->value))
            return WIRE_BAD_VALUE;
    }
    return WIRE_OK;
}

static int s_within(const float *x, size_t n, double max_abs) {
    for (size_t i = 0; i < n; i++)
        if (fabs((double)x[i]) > max_abs)
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- the checks against them */

static void s_reason_ok(wire_rejection_t why, const char *reason) {
    FUZZ_CHECK(why > WIRE_OK && why < WIRE_REJECTION_COUNT);
    FUZZ_CHECK(reason[0] != '\0');
    FUZZ_CHECK(strcmp(wire_rejection_name(why), "unknown") != 0);
}

static void s_check_hello(const Mpo__Hello *h, const char *env, int obs, int act) {
    char reason[256] = "";
    wire_rejection_t got = wire_check_hello(h, env, obs, act, reason, sizeof reason);
    FUZZ_CHECK(got == s_ref_hello(h, env, obs, act));
    if (got != WIRE_OK)
        s_reason_ok(got, reason);
}

static void s_check_stats(Mpo__Stat *const *stats, size_t n) {
    char reason[256] = "";
    wire_rejection_t got = wire_check_stats(stats, n, reason, sizeof reason);
    FUZZ_CHECK(got == s_ref_stats(stats, n));
    if (got != WIRE_OK)
        s_reason_ok(got, reason);
}

static void s_check_transitions(const Mpo__TransitionBatch *b, int obs, int act) {
    char reason[256] = "";
    wire_rejection_t got = wire_check_transitions(b, obs, act, reason, sizeof reason);
    FUZZ_CHECK(got == s_ref_transitions(b, obs, act));
    if (got != WIRE_OK) {
        s_reason_ok(got, reason);
        return;
    }
    /* the magnitude bound, on a batch that passed (its precondition): a few bounds around the data */
    static const double bounds[] = {0, 1e-30, 1, 1e6, 3e38};
    for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++) {
        double m = bounds[k];
        int want = m <= 0 || (s_within(b->obs, b->n_obs, m) && s_within(b->next_obs, b->n_next_obs, m) &&
                              s_within(b->action, b->n_action, m) && s_within(b->reward, b->n_reward, m));
        reason[0] = '\0';
        wire_rejection_t mag = wire_check_magnitude(b, m, reason, sizeof reason);
        FUZZ_CHECK((mag == WIRE_OK) == want);
        if (mag != WIRE_OK) {
            FUZZ_CHECK(mag == WIRE_OUT_OF_RANGE);
            s_reason_ok(mag, reason);
        }
    }
}

static void s_check_sample_batch(const Mpo__SampleBatch *b, int obs, int act) {
    char reason[256] = "";
    wire_rejection_t got = wire_check_sample_batch(b, obs, act, reason, sizeof reason);
    wire_rejection_t want = s_ref_arrays(b->n, b->n_obs, b->obs, b->n_action, b->action, b->n_reward, b->reward,
                                         b->n_done, b->done, b->n_next_obs, b->next_obs, obs, act);
    FUZZ_CHECK(got == want);
    if (got != WIRE_OK)
        s_reason_ok(got, reason);
}

/* the sizes a batch of n with these array lengths implies (0, 0 when none) */
static void s_implied(uint32_t n, size_t n_obs, size_t n_act, int *obs, int *act) {
    *obs = *act = 0;
    if (n > 0 && n_obs % n == 0 && n_act % n == 0 && n_obs / n < 1u << 20 && n_act / n < 1u << 20) {
        *obs = (int)(n_obs / n);
        *act = (int)(n_act / n);
    }
}

/* every check that applies to msg's body, with the Pendulum sizes and with the message's own */
static void s_check_body(const Mpo__Message *msg) {
    int obs, act;
    switch (msg->body_case) {
    case MPO__MESSAGE__BODY_HELLO: {
        const Mpo__Hello *h = msg->hello;
        s_check_hello(h, ENV, OBS, ACT);
        /* as a server of its own environment and sizes would see it: only id, role, incarnation matter */
        if (h->env && h->obs_dim <= 1u << 20 && h->act_dim <= 1u << 20)
            s_check_hello(h, h->env, (int)h->obs_dim, (int)h->act_dim);
        break;
    }
    case MPO__MESSAGE__BODY_TRANSITIONS: {
        const Mpo__TransitionBatch *b = msg->transitions;
        s_check_transitions(b, OBS, ACT);
        s_implied(b->n, b->n_obs, b->n_action, &obs, &act);
        s_check_transitions(b, obs, act);
        s_check_stats(b->stats, b->n_stats);
        break;
    }
    case MPO__MESSAGE__BODY_SAMPLE_REQUEST:
        s_check_stats(msg->sample_request->stats, msg->sample_request->n_stats);
        break;
    case MPO__MESSAGE__BODY_SAMPLE_BATCH: {
        const Mpo__SampleBatch *b = msg->sample_batch;
        s_check_sample_batch(b, OBS, ACT);
        s_implied(b->n, b->n_obs, b->n_action, &obs, &act);
        s_check_sample_batch(b, obs, act);
        break;
    }
    case MPO__MESSAGE__BODY_STATS_REPLY:
        s_check_stats(msg->stats_reply->stats, msg->stats_reply->n_stats);
        s_check_stats(msg->stats_reply->learner_stats, msg->stats_reply->n_learner_stats);
        break;
    default:
        break;
    }
}

/* ---------------------------------------------------------------- decoding and re-encoding */

/* msg packed into a fresh buffer (*len bytes); free it */
static uint8_t *s_pack(const Mpo__Message *msg, size_t *len) {
    *len = mpo__message__get_packed_size(msg);
    uint8_t *buf = malloc(*len + 1);
    FUZZ_CHECK(buf);
    FUZZ_CHECK(mpo__message__pack(msg, buf) == *len);
    return buf;
}

/* fields the decoder did not know, in m and every message below it; *tag0 says one had field number 0 */
static size_t s_unknown(const ProtobufCMessage *m, int *tag0) {
    size_t n = m->n_unknown_fields;
    for (size_t i = 0; i < m->n_unknown_fields; i++)
        *tag0 |= m->unknown_fields[i].tag == 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *at = (const char *)m + fd->offset;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)((const char *)m + fd->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)at;
            for (size_t k = 0; k < count; k++)
                n += items[k] ? s_unknown(items[k], tag0) : 0;
        } else if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)((const char *)m + fd->quantifier_offset);
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)at;
            n += which == fd->id && sub ? s_unknown(sub, tag0) : 0;
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)at;
            n += sub ? s_unknown(sub, tag0) : 0;
        }
    }
    return n;
}

/* a decoded message re-encodes to bytes that decode to the same fields and encode the same again */
static void s_round_trip(const Mpo__Message *msg, const uint8_t *packed, size_t len) {
    wire_rejection_t why;
    char reason[256] = "";
    Mpo__Message *again = wire_decode(packed, len, &why, reason, sizeof reason);
    int tag0 = 0;
    s_unknown(&msg->base, &tag0);
    if (!again && tag0)
        return; /* protobuf-c keeps a field numbered 0 whose tag took two bytes, writes it in one, and
                 * refuses that: not ours, and mpo never sends on fields it did not know */
    FUZZ_CHECK(again != NULL && why == WIRE_OK);
    FUZZ_CHECK(again->version == msg->version && again->body_case == msg->body_case);
    if (msg->body_case == MPO__MESSAGE__BODY_TRANSITIONS) {
        const Mpo__TransitionBatch *a = msg->transitions, *b = again->transitions;
        FUZZ_CHECK(a->seq == b->seq && a->n == b->n && a->n_obs == b->n_obs && a->n_episodes == b->n_episodes);
        FUZZ_CHECK(a->n_obs == 0 || memcmp(a->obs, b->obs, a->n_obs * sizeof(float)) == 0);
    }
    if (msg->body_case == MPO__MESSAGE__BODY_HELLO) {
        const Mpo__Hello *a = msg->hello, *b = again->hello;
        FUZZ_CHECK(a->role == b->role && a->incarnation == b->incarnation && strcmp(a->id, b->id) == 0);
    }
    size_t len2;
    uint8_t *packed2 = s_pack(again, &len2);
    FUZZ_CHECK(len2 == len && memcmp(packed, packed2, len) == 0);
    free(packed2);
    wire_free(again);
}

/* the arena decoder's answer against the heap's (NULL: refused with `heap_why`) */
static void s_agree(wire_decoder_t *d, size_t max, size_t bound, const uint8_t *data, size_t size,
                    const uint8_t *heap_packed, size_t heap_len, wire_rejection_t heap_why) {
    wire_rejection_t why;
    char reason[256] = "";
    Mpo__Message *m = wire_decode_into(d, data, size, &why, reason, sizeof reason);
    FUZZ_CHECK(wire_decoder_bytes(d) <= bound);
    if (size > max) {
        FUZZ_CHECK(m == NULL && why == WIRE_TOO_LARGE);
        s_reason_ok(why, reason);
        return;
    }
    if (!m) {
        s_reason_ok(why, reason);
        /* only a frame that would decode to more than the bound is refused by the arena alone */
        FUZZ_CHECK(why == heap_why || why == WIRE_TOO_LARGE);
        return;
    }
    FUZZ_CHECK(why == WIRE_OK && heap_packed != NULL);
    size_t len;
    uint8_t *packed = s_pack(m, &len);
    FUZZ_CHECK(len == heap_len && memcmp(packed, heap_packed, len) == 0);
    s_check_body(m); /* the servers check the arena's copy */
    free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static wire_decoder_t *small, *large; /* reused from input to input, as a server's is */
    if (!small) {
        small = wire_decoder_new(SMALL_MAX);
        large = wire_decoder_new(LARGE_MAX);
        FUZZ_CHECK(small && large);
    }
    wire_rejection_t why;
    char reason[256] = "";
    Mpo__Message *msg = wire_decode(data, size, &why, reason, sizeof reason);
    uint8_t *packed = NULL;
    size_t len = 0;
    if (msg) {
        FUZZ_CHECK(why == WIRE_OK && msg->version == WIRE_VERSION && msg->body_case != MPO__MESSAGE__BODY__NOT_SET);
        packed = s_pack(msg, &len);
        s_round_trip(msg, packed, len);
        s_check_body(msg);
    } else {
        s_reason_ok(why, reason);
        FUZZ_CHECK(why == WIRE_MALFORMED || why == WIRE_WRONG_VERSION);
    }
    s_agree(small, SMALL_MAX, SMALL_MAX + WIRE_DECODE_SLACK, data, size, packed, len, why);
    s_agree(large, LARGE_MAX, LARGE_MAX + WIRE_DECODE_SLACK, data, size, packed, len, why);
    free(packed);
    wire_free(msg);
    return 0;
}
