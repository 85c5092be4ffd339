/* fuzz_msg: valid protocol messages of every body (proto/mpo.proto) on caller storage, random within
 * their rules, for the fuzzers: the libFuzzer seeds (fuzz/seeds.c) and the network fuzzer's raw
 * material (fuzz/net_replay.c mutates them and makes them hostile). */
#ifndef MPO_FUZZ_MSG_H
#define MPO_FUZZ_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "common/wire.h"

typedef enum {
    FUZZ_HELLO,
    FUZZ_TRANSITIONS,
    FUZZ_ACK,
    FUZZ_SAMPLE_REQUEST,
    FUZZ_SAMPLE_BATCH,
    FUZZ_WEIGHTS,
    FUZZ_STATS_REQUEST,
    FUZZ_STATS_REPLY,
    FUZZ_ERROR,
    FUZZ_EVAL_RESULT,
    FUZZ_BODIES
} fuzz_body_t;

#define FUZZ_MSG_FLOATS 8192 /* room for a batch's arrays or a network's parameters */
#define FUZZ_MSG_STATS 4     /* stats a TransitionBatch, SampleRequest or StatsReply carries */

/* what a message is made for: the server's environment and sizes, transitions per batch */
typedef struct {
    const char *env;
    int obs, act;
    uint32_t n;
} fuzz_shape_t;

/* One message and the storage its pointers point into. Copyable only by fuzz_msg_make. */
typedef struct {
    Mpo__Message msg;
    Mpo__Hello hello;
    Mpo__TransitionBatch tb;
    Mpo__Ack ack;
    Mpo__SampleRequest sr;
    Mpo__SampleBatch sb;
    Mpo__PolicyWeights w;
    Mpo__PolicyLayout layout;
    Mpo__StatsRequest sq;
    Mpo__StatsReply rep;
    Mpo__Error err;
    Mpo__EvalResult eval;
    Mpo__Episode ep[2], *eps[2];
    Mpo__Stat stat[FUZZ_MSG_STATS], *stats[FUZZ_MSG_STATS];
    Mpo__ActorStat actor, *actors[1];
    Mpo__Rejection rej, *rejs[1];
    char id[64], names[FUZZ_MSG_STATS][16];
    float floats[FUZZ_MSG_FLOATS];
} fuzz_msg_t;

/* "hello", "transitions", … */
const char *fuzz_body_name(fuzz_body_t body);
/* A valid message of this body for this shape (a Hello as an actor with a random id and
 * incarnation; a batch of shape->n transitions, values in [-1, 1], done 0 or 1). */
void fuzz_msg_make(fuzz_msg_t *m, fuzz_body_t body, const fuzz_shape_t *shape, rng_t *rng);
/* m packed into out: its length, or 0 when it needs more than cap bytes */
size_t fuzz_msg_pack(const fuzz_msg_t *m, uint8_t *out, size_t cap);

#endif
