/* arena and wire_decoder_t: pieces are aligned and distinct, a reset hands the same memory out
 * again, the block grows only on demand and never above its bound; a decode through the arena
 * equals the heap decode, refuses what wire_decode refuses plus what would not fit, and once grown
 * decodes without a heap allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "common/arena.h"
#include "common/error.h"
#include "common/wire.h"

static void test_arena_alignment_and_reset(void **state) {
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    /* no block yet: nothing fits, and it says how much would have */
    assert_null(arena_alloc(&a, 10));
    assert_int_equal(a.wanted, ARENA_ALIGN);
    assert_int_equal(arena_reserve(&a, 100), 0);
    assert_int_equal(a.cap, ARENA_MIN_BLOCK);
    assert_int_equal(a.wanted, 0);
    static const size_t sizes[] = {1, 3, 0, 17, 16, 31, 8, 0, 100};
    unsigned char *p[9];
    for (int i = 0; i < 9; i++) {
        p[i] = arena_alloc(&a, sizes[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % ARENA_ALIGN, 0);
        memset(p[i], i + 1, sizes[i]); /* writable; ASan says so if not */
        if (i > 0) /* in order and not overlapping, a zero-byte piece included */
            assert_true(p[i] >= p[i - 1] + (sizes[i - 1] ? sizes[i - 1] : 1));
    }
    for (int i = 0; i < 9; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(p[i][k], i + 1);
    size_t used = a.used;
    assert_int_equal(used % ARENA_ALIGN, 0);
    arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_int_equal(a.high, used);
    assert_ptr_equal(arena_alloc(&a, 5), p[0]); /* the same memory again */
    arena_free(&a);
    assert_null(a.block);
    assert_int_equal(a.cap, 0);
    assert_int_equal(a.max, 1 << 20);
}

static void test_arena_growth_and_bound(void **state) {
    (void)state;
    arena_t a;
    const size_t max = 100008; /* not a multiple of ARENA_ALIGN */
    arena_init(&a, max);
    assert_int_equal(arena_reserve(&a, 1), 0);
    assert_int_equal(a.cap, ARENA_MIN_BLOCK);
    /* a piece that does not fit: NULL, nothing handed out, `wanted` is what the block would need */
    assert_non_null(arena_alloc(&a, 1000));
    assert_null(arena_alloc(&a, 5000));
    assert_int_equal(a.used, 1008);
    assert_int_equal(a.wanted, 1008 + 5008);
    /* at least twofold */
    assert_int_equal(arena_reserve(&a, a.wanted), 0);
    assert_int_equal(a.cap, 2 * ARENA_MIN_BLOCK);
    assert_int_equal(a.used, 0);
    assert_non_null(arena_alloc(&a, 1000));
    assert_non_null(arena_alloc(&a, 5000));
    /* what fits needs no growth */
    assert_int_equal(arena_reserve(&a, 2 * ARENA_MIN_BLOCK), 0);
    assert_int_equal(a.cap, 2 * ARENA_MIN_BLOCK);
    /* a jump past twofold takes what it needs, rounded to whole units */
    assert_int_equal(arena_reserve(&a, 50001), 0);
    assert_int_equal(a.cap, 50016);
    /* twofold would pass the bound: the bound (rounded down to whole units) */
    assert_int_equal(arena_reserve(&a, 50017), 0);
    assert_int_equal(a.cap, max - max % ARENA_ALIGN);
    assert_non_null(arena_alloc(&a, a.cap));
    assert_null(arena_alloc(&a, 0));
    /* above the bound: refused, the block kept */
    unsigned char *block = a.block;
    assert_int_equal(arena_reserve(&a, max + 1), -MPO_EINVAL);
    assert_int_equal(arena_reserve(&a, max), -MPO_EINVAL); /* max is not whole units */
    assert_ptr_equal(a.block, block);
    assert_int_equal(a.cap, max - max % ARENA_ALIGN);
    /* a request near SIZE_MAX neither wraps nor fits */
    assert_null(arena_alloc(&a, SIZE_MAX - 3));
    assert_int_equal(a.wanted, SIZE_MAX);
    arena_free(&a);
}

/* ---------------------------------------------------------------- the decoder */

#define OBS 17
#define ACT 6

typedef struct {
    Mpo__Message m;
    Mpo__TransitionBatch tb;
    float *data;
    Mpo__Episode *ep, **eps;
    Mpo__Stat *st, **sts;
    char (*names)[WIRE_STAT_NAME_MAX];
} s_batch_t;

/* a TransitionBatch of n transitions with n_ep episodes and n_st stats (names of name_len bytes) */
static void s_batch(s_batch_t *b, uint32_t n, size_t n_ep, size_t n_st, size_t name_len) {
    memset(b, 0, sizeof *b);
    wire_init_message(&b->m);
    mpo__transition_batch__init(&b->tb);
    size_t S = (size_t)n * OBS, A = (size_t)n * ACT;
    b->data = malloc((2 * S + A + 2 * n) * sizeof(float));
    for (size_t i = 0; i < 2 * S + A + 2 * n; i++)
        b->data[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    b->tb.seq = 7;
    b->tb.n = n;
    b->tb.obs = b->data, b->tb.n_obs = S;
    b->tb.next_obs = b->data + S, b->tb.n_next_obs = S;
    b->tb.action = b->data + 2 * S, b->tb.n_action = A;
    b->tb.reward = b->data + 2 * S + A, b->tb.n_reward = n;
    b->tb.done = b->data + 2 * S + A + n, b->tb.n_done = n;
    for (size_t i = 0; i < n; i++)
        b->tb.done[i] = (float)(i % 2);
    b->ep = calloc(n_ep + 1, sizeof *b->ep);
    b->eps = calloc(n_ep + 1, sizeof *b->eps);
    for (size_t i = 0; i < n_ep; i++) {
        mpo__episode__init(&b->ep[i]);
        b->ep[i].episode_return = -1.5f * (float)i;
        b->ep[i].length = (uint32_t)(1000 + i);
        b->eps[i] = &b->ep[i];
    }
    b->tb.episodes = b->eps, b->tb.n_episodes = n_ep;
    b->st = calloc(n_st + 1, sizeof *b->st);
    b->sts = calloc(n_st + 1, sizeof *b->sts);
    b->names = calloc(n_st + 1, sizeof *b->names);
    for (size_t i = 0; i < n_st; i++) {
        mpo__stat__init(&b->st[i]);
        memset(b->names[i], 'a' + (int)(i % 26), name_len);
        b->st[i].name = b->names[i];
        b->st[i].value = 0.25 * (double)i;
        b->sts[i] = &b->st[i];
    }
    b->tb.stats = b->sts, b->tb.n_stats = n_st;
    b->tb.policy_version = 3;
    b->m.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
    b->m.transitions = &b->tb;
}

static void s_batch_free(s_batch_t *b) {
    free(b->data);
    free(b->ep);
    free(b->eps);
    free(b->st);
    free(b->sts);
    free(b->names);
}

static uint8_t *s_pack(const Mpo__Message *m, size_t *len) {
    *len = mpo__message__get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    mpo__message__pack(m, buf);
    return buf;
}

static void s_assert_floats(const float *a, size_t na, const float *b, size_t nb) {
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(float));
}

/* x decoded through the arena equals y decoded on the heap */
static void s_assert_same_batch(const Mpo__Message *x, const Mpo__Message *y) {
    assert_int_equal(x->version, y->version);
    assert_int_equal(x->body_case, MPO__MESSAGE__BODY_TRANSITIONS);
    assert_int_equal(y->body_case, MPO__MESSAGE__BODY_TRANSITIONS);
    const Mpo__TransitionBatch *a = x->transitions, *b = y->transitions;
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->policy_version, b->policy_version);
    s_assert_floats(a->obs, a->n_obs, b->obs, b->n_obs);
    s_assert_floats(a->action, a->n_action, b->action, b->n_action);
    s_assert_floats(a->reward, a->n_reward, b->reward, b->n_reward);
    s_assert_floats(a->done, a->n_done, b->done, b->n_done);
    s_assert_floats(a->next_obs, a->n_next_obs, b->next_obs, b->n_next_obs);
    assert_int_equal(a->n_episodes, b->n_episodes);
    for (size_t i = 0; i < a->n_episodes; i++) {
        assert_true(a->episodes[i]->episode_return == b->episodes[i]->episode_return);
        assert_int_equal(a->episodes[i]->length, b->episodes[i]->length);
    }
    assert_int_equal(a->n_stats, b->n_stats);
    for (size_t i = 0; i < a->n_stats; i++) {
        assert_string_equal(a->stats[i]->name, b->stats[i]->name);
        assert_true(a->stats[i]->value == b->stats[i]->value);
    }
    /* arrays are aligned for what they hold */
    assert_int_equal((uintptr_t)a->obs % _Alignof(float), 0);
    assert_int_equal((uintptr_t)a->episodes % _Alignof(void *), 0);
}

static void test_decode_equals_heap_decode(void **state) {
    (void)state;
    wire_decoder_t *d = wire_decoder_new(64u << 20);
    assert_non_null(d);
    size_t first = wire_decoder_bytes(d);
    wire_rejection_t why;
    char reason[256];
    /* small, large (several growths: the retry path), small again: every one equal to the heap decode */
    const uint32_t ns[] = {64, 20000, 1, 256};
    for (int k = 0; k < 4; k++) {
        s_batch_t b;
        s_batch(&b, ns[k], (size_t)k * 3, k == 1 ? 5 : 0, 12);
        size_t len;
        uint8_t *buf = s_pack(&b.m, &len);
        Mpo__Message *heap = wire_decode(buf, len, &why, reason, sizeof reason);
        assert_non_null(heap);
        Mpo__Message *arena = wire_decode_into(d, buf, len, &why, reason, sizeof reason);
        assert_non_null(arena);
        assert_int_equal(why, WIRE_OK);
        s_assert_same_batch(arena, heap);
        assert_int_equal(wire_check_transitions(arena->transitions, OBS, ACT, reason, sizeof reason), WIRE_OK);
        wire_free(heap);
        free(buf);
        s_batch_free(&b);
    }
    /* grown for the large one (about 3.4 MB of floats), and no further */
    assert_true(wire_decoder_bytes(d) > first);
    assert_true(wire_decoder_bytes(d) >= (size_t)20000 * (2 * OBS + ACT + 2) * sizeof(float));
    assert_true(wire_decoder_bytes(d) <= (64u << 20) + WIRE_DECODE_SLACK);
    wire_decoder_destroy(&d);
    assert_null(d);
    wire_decoder_destroy(&d); /* twice is harmless */
}

static void test_decode_refusals(void **state) {
    (void)state;
    const size_t max = 4096;
    wire_decoder_t *d = wire_decoder_new(max);
    assert_non_null(d);
    wire_rejection_t why;
    char reason[256];
    /* not a protobuf message */
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    assert_null(wire_decode_into(d, junk, sizeof junk, &why, reason, sizeof reason));
    assert_int_equal(why, WIRE_MALFORMED);
    assert_non_null(strstr(reason, "not a protocol message"));
    /* another version */
    Mpo__Message m;
    Mpo__SampleRequest q;
    wire_init_message(&m);
    mpo__sample_request__init(&q);
    q.batch_size = 256;
    m.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
    m.sample_request = &q;
    m.version = 2;
    size_t len;
    uint8_t *buf = s_pack(&m, &len);
    assert_null(wire_decode_into(d, buf, len, &why, reason, sizeof reason));
    assert_int_equal(why, WIRE_WRONG_VERSION);
    free(buf);
    /* no body */
    wire_init_message(&m);
    buf = s_pack(&m, &len);
    assert_null(wire_decode_into(d, buf, len, &why, reason, sizeof reason));
    assert_int_equal(why, WIRE_MALFORMED);
    assert_non_null(strstr(reason, "no body"));
    free(buf);
    /* a frame above max_message_bytes */
    s_batch_t b;
    s_batch(&b, 64, 0, 0, 0);
    buf = s_pack(&b.m, &len);
    assert_true(len > max);
    assert_null(wire_decode_into(d, buf, len, &why, reason, sizeof reason));
    assert_int_equal(why, WIRE_TOO_LARGE);
    free(buf);
    s_batch_free(&b);
    /* a frame within max_message_bytes that would decode to more than the bound: 4000 unknown
     * fields of 1 byte each (tag 15, varint 0) take ~50 bytes each when kept */
    uint8_t unknown[4000];
    for (size_t i = 0; i < sizeof unknown; i += 2)
        unknown[i] = 15 << 3, unknown[i + 1] = 0;
    wire_decoder_t *tight = wire_decoder_new(sizeof unknown);
    assert_non_null(tight);
    /* the slack covers these 2000 (about 100 KB): decoded, then refused for its version (0) */
    assert_null(wire_decode_into(tight, unknown, sizeof unknown, &why, reason, sizeof reason));
    assert_int_equal(why, WIRE_WRONG_VERSION);
    /* 40000 of them would not fit a 1 MiB slack */
    size_t big_len = 80000;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i += 2)
        big[i] = 15 << 3, big[i + 1] = 0;
    wire_decoder_t *d2 = wire_decoder_new(big_len);
    assert_non_null(d2);
    assert_null(wire_decode_into(d2, big, big_len, &why, reason, sizeof reason));
    assert_int_equal(why, WIRE_TOO_LARGE);
    assert_non_null(strstr(reason, "decodes to more than"));
    assert_true(wire_decoder_bytes(d2) <= big_len + WIRE_DECODE_SLACK);
    free(big);
    /* the decoders still decode after each refusal */
    wire_init_message(&m);
    m.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
    m.sample_request = &q;
    buf = s_pack(&m, &len);
    wire_decoder_t *all[] = {d, tight, d2};
    for (int i = 0; i < 3; i++) {
        Mpo__Message *r = wire_decode_into(all[i], buf, len, &why, reason, sizeof reason);
        assert_non_null(r);
        assert_int_equal(r->body_case, MPO__MESSAGE__BODY_SAMPLE_REQUEST);
        assert_int_equal(r->sample_request->batch_size, 256);
    }
    free(buf);
    wire_decoder_destroy(&d);
    wire_decoder_destroy(&tight);
    wire_decoder_destroy(&d2);
}

/* the largest legitimate message in all but n: WIRE_MAX_EPISODES episodes and WIRE_MAX_STATS stats
 * of the longest names decode with max_message_bytes set to exactly its size: the slack covers them */
static void test_slack_covers_a_legitimate_message(void **state) {
    (void)state;
    s_batch_t b;
    s_batch(&b, 1, WIRE_MAX_EPISODES, WIRE_MAX_STATS, WIRE_STAT_NAME_MAX - 1);
    size_t len;
    uint8_t *buf = s_pack(&b.m, &len);
    wire_decoder_t *d = wire_decoder_new(len);
    assert_non_null(d);
    wire_rejection_t why;
    char reason[256];
    Mpo__Message *heap = wire_decode(buf, len, &why, reason, sizeof reason);
    Mpo__Message *arena = wire_decode_into(d, buf, len, &why, reason, sizeof reason);
    assert_non_null(arena);
    s_assert_same_batch(arena, heap);
    assert_int_equal(wire_check_transitions(arena->transitions, OBS, ACT, reason, sizeof reason), WIRE_OK);
    assert_int_equal(wire_check_stats(arena->transitions->stats, arena->transitions->n_stats, reason, sizeof reason),
                     WIRE_OK);
    wire_free(heap);
    free(buf);
    s_batch_free(&b);
    wire_decoder_destroy(&d);
}

/* once grown, decoding the same kind of message again touches the heap not at all (counted by
 * cli/bench_alloc.c's malloc wrapper, where the build has it) */
static void test_no_heap_allocation_once_grown(void **state) {
    (void)state;
    if (!bench_alloc_available())
        skip();
    s_batch_t b;
    s_batch(&b, 256, 2, 3, 20);
    size_t len;
    uint8_t *buf = s_pack(&b.m, &len);
    wire_decoder_t *d = wire_decoder_new(64u << 20);
    wire_rejection_t why;
    char reason[256];
    assert_non_null(wire_decode_into(d, buf, len, &why, reason, sizeof reason));
    bench_alloc_count_this_thread();
    bench_alloc_counts_t c0 = bench_alloc_counts();
    for (int i = 0; i < 100; i++)
        assert_non_null(wire_decode_into(d, buf, len, &why, reason, sizeof reason));
    bench_alloc_counts_t c1 = bench_alloc_counts();
    assert_int_equal(c1.total - c0.total, 0);
    /* and the counter counts: the heap decode allocates */
    Mpo__Message *heap = wire_decode(buf, len, &why, reason, sizeof reason);
    assert_true(bench_alloc_counts().total > c1.total);
    wire_free(heap);
    wire_decoder_destroy(&d);
    free(buf);
    s_batch_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment_and_reset),
        cmocka_unit_test(test_arena_growth_and_bound),
        cmocka_unit_test(test_decode_equals_heap_decode),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_slack_covers_a_legitimate_message),
        cmocka_unit_test(test_no_heap_allocation_once_grown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
