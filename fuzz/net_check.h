/* net_check: the network fuzzer's servers and what it checks on them (fuzz/net.c says what).
 *
 * It starts the replay server and the learner, acts as a well-behaved actor whose transitions are
 * known bit for bit, reads the replay's stats and both processes' memory before and after the
 * fuzzing, and runs the round trips that show both still serve. */
#ifndef MPO_FUZZ_NET_CHECK_H
#define MPO_FUZZ_NET_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/stats_client.h"
#include "common/wire.h"
#include "fuzz/net.h"

/* the replay's figures compared before and after */
#define NET_CHECK_FIGURES(X) X(size) X(inserts_total) X(samples_total) X(sample_batches_total) X(duplicates_total) \
    X(rejected_total) X(learner_updates)
#define NET_CHECK_ENUM(name) NET_FIG_##name,
enum { NET_CHECK_FIGURES(NET_CHECK_ENUM) NET_FIG_COUNT };

typedef struct {
    double fig[NET_FIG_COUNT];
    unsigned long long rejected[WIRE_REJECTION_COUNT];
    long rss[2], peak[2]; /* KiB: replay, learner */
    uint64_t weights_version;
} net_snapshot_t;

typedef struct {
    const char *mpo;
    char dir[64];
    char replay_ep[64], weights_ep[64];
    int replay_port, weights_port;
    pid_t pid[2]; /* replay, learner */
    uint64_t victim_incarnation, known_incarnation;
    void *ctx, *actor, *weights; /* the known actor's DEALER, a SUB of the weights */
    wire_decoder_t *dec;
    uint64_t seq; /* known batches stored */
    stats_client_t *stats;
    /* before the fuzzing, after each round of hostile messages, after the raw connections */
    net_snapshot_t before, round[2], after;
    double quiet_s;  /* how long the learner took to use what the known data allowed */
} net_check_t;

/* the servers started, the known actor connected; 0, or -1 after saying why */
int net_check_start(net_check_t *c, const char *mpo, uint64_t seed);
/* the known transitions stored, the learner idle, the figures before: 1 when all went well */
int net_check_baseline(net_check_t *c);
/* How much either process's VmRSS may grow: `bound` MiB over the whole fuzzing plus `per_byte` for
 * each prefix byte of the subscriptions sent to the learner (ZeroMQ keeps every subscription of a live
 * connection), and `steady` MiB from the first round of messages to the second (nothing kept from
 * message to message: the growth stops once ZeroMQ's queues have been full). */
typedef struct {
    long bound_mib, steady_mib;
    double per_byte;
    int checked; /* 0 under ASan: its quarantine keeps what is freed, so RSS says nothing (LeakSanitizer
                  * checks the servers at exit instead, and their exit status with it) */
} net_memory_t;

/* after round r (0, 1) of hostile messages: both run, the replay holds what it held, memory within
 * the bounds; after the last, every message the replay had to refuse counted: 1 when all pass */
int net_check_round(net_check_t *c, int r, const net_result_t *replay, const net_result_t *weights,
                    const net_memory_t *mem);
/* after the raw connections too: the same but for the count, and both serve: 1 when all pass */
int net_check_after(net_check_t *c, const net_result_t *weights, const net_memory_t *mem);
/* SIGTERM to both: 1 when both exit 0 */
int net_check_stop(net_check_t *c);
/* the figures, as lines or as JSON fields */
void net_check_print(const net_check_t *c, const net_result_t *replay, FILE *f, int json);
/* the logs go when all passed; else their directory is named */
void net_check_cleanup(net_check_t *c, int ok);
/* "Intel(R) Xeon(R) …" from /proc/cpuinfo */
void net_check_cpu(char *out, size_t outlen);

#endif
