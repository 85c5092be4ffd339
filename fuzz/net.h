/* net: the network fuzzer's parts (fuzz/net.c is the program and says what it checks).
 *
 * net_replay.c sends hostile messages to a replay server's ROUTER from several DEALERs and counts
 * what it sent by kind and what each should get (a refusal, an answer, either); net_weights.c sends
 * hostile messages to a learner's weights PUB over ZMTP written by hand (net_zmtp.c, which also
 * opens TCP connections to either and writes bytes that break the handshake); net_check.c runs
 * the servers and checks them, with net_proc.c's child processes and memory figures. */
#ifndef MPO_FUZZ_NET_H
#define MPO_FUZZ_NET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_KINDS 24 /* kinds of hostile message, per endpoint */
#define NET_WEIGHTS_LARGE 8 /* net_weights' kind of frames over 64 KiB, each on a connection of its own */

/* what the fuzzed servers run with (fuzz/net_check.c passes these with --set) */
#define NET_ENV "Pendulum-v1"
#define NET_OBS 3
#define NET_ACT 1
#define NET_BATCH 16          /* actor_batch and batch_size */
#define NET_TOLERANCE 16      /* rate_limit_tolerance; samples_per_insert is -1 (NET_BATCH) */
#define NET_MAX_INSERT (2 * NET_TOLERANCE)          /* the largest batch the rate limiter admits */
#define NET_MAX_SAMPLE (2 * NET_TOLERANCE * NET_BATCH) /* the largest sample request it admits */
#define NET_MAX_MESSAGE 65536 /* max_message_bytes */
#define NET_ZMQ_MARGIN (64 * 1024) /* replay/router.h's ROUTER_SIZE_MARGIN: ZeroMQ drops larger frames */
#define NET_VICTIM_ID "fuzz-victim" /* an actor id one connection holds, which others try to take */

typedef struct {
    const char *endpoint;
    uint64_t messages;   /* to send, over all connections */
    int connections;
    uint64_t seed;
    double deadline;     /* clock_now() by which to stop, sent or not */
    uint64_t victim_incarnation; /* net_replay: connection 0 holds NET_VICTIM_ID as this process */
} net_plan_t;

/* what one endpoint's fuzzing sent and got */
typedef struct {
    atomic_ullong sent;               /* messages ZeroMQ took */
    atomic_ullong kind[NET_KINDS];    /* sent, by kind (net_*_kind_name) */
    atomic_ullong expect_refused;     /* sent that the server must refuse (count by reason) */
    atomic_ullong expect_answered;    /* sent that it must answer without a refusal (Hello, StatsRequest) */
    atomic_ullong expect_either;      /* either (an id another incarnation may or may not still hold) */
    atomic_ullong poisoned;           /* mutations that came out valid and were made invalid before sending */
    atomic_ullong replies;            /* messages received back */
    atomic_ullong dropped_frames;     /* frames over ZeroMQ's limit, on throwaway connections */
    atomic_ullong raw_connections;    /* TCP connections that wrote bytes that are not ZMTP */
    atomic_ullong reconnects;         /* connections the server closed, opened again */
    atomic_ullong subscribed_bytes;   /* prefix bytes of the subscriptions sent (net_weights) */
    atomic_ullong large_refused;      /* large frames whose connection the server closed (net_weights) */
    atomic_int failed;                /* a socket could not be made, or a connection's messages not all read */
    double seconds;                   /* the fuzzing took, over the rounds (written by the run only) */
} net_result_t;

/* fuzz the replay server at plan->endpoint; returns when plan->messages are sent or the deadline */
void net_replay_run(const net_plan_t *plan, net_result_t *out);
const char *net_replay_kind_name(int kind); /* NULL past the last */
/* fuzz the learner's weights PUB at plan->endpoint */
void net_weights_run(const net_plan_t *plan, net_result_t *out);
const char *net_weights_kind_name(int kind);
/* n TCP connections to tcp://127.0.0.1:port, each writing junk: random bytes, a ZMTP greeting cut
 * short, another mechanism or version, a socket type that does not fit, a frame of an absurd length
 * or garbage after a good handshake (as socket_type: "DEALER" to a ROUTER, "SUB" to a PUB) */
void net_raw_run(int port, int n, const char *socket_type, uint64_t seed, double deadline, net_result_t *out);

/* ---------------------------------------------------------------- ZMTP by hand (net_zmtp.c) */

/* a TCP connection to 127.0.0.1:port, or -1 */
int net_tcp_connect(int port);
/* all of buf written by the deadline, dropping what the server sends meanwhile: 0, or -1 */
int net_tcp_write(int fd, const void *buf, size_t len, double deadline);
/* bytes net_tcp_write dropped on this thread so far */
unsigned long long net_tcp_dropped(void);
/* the 64-byte ZMTP 3 greeting (as a client); its length */
size_t net_zmtp_greeting(uint8_t *out, const char *mechanism, int major, int minor);
/* the NULL mechanism's READY command with this Socket-Type; its length */
size_t net_zmtp_ready(uint8_t *out, const char *socket_type);
/* one frame (flags: 0 the last, 1 more to come, 4 a command); its length: len + 2 or len + 9 */
size_t net_zmtp_frame(uint8_t *out, int flags, const void *body, size_t len);
/* greeting and READY written, the server's read: 0, or -1 (closed, or not by the deadline) */
int net_zmtp_handshake(int fd, const char *socket_type, double deadline);
/* libzmq 4.3.4's abort (zeromq/libzmq#4364), against a ROUTER at port: connections that each write
 * messages and ZMTP PING commands faster than the server takes them, without reading its answers,
 * until ZeroMQ stops reading, and then reset. Returns the connections made. */
int net_zmtp_ping_reset(int port, int connections, double seconds);

/* ---------------------------------------------------------------- processes (net_proc.c) */

/* `mpo ROLE --set K=V ...` (sets NULL-terminated), output to LOG; the pid, or -1 */
pid_t net_proc_start(const char *mpo, const char *role, const char *log, const char *const *sets);
/* 1 while the process runs (not reaped, not a zombie) */
int net_proc_alive(pid_t pid);
/* VmRSS and VmHWM (peak) in KiB from /proc/PID/status; -1 when unreadable */
long net_proc_rss_kib(pid_t pid, long *peak_kib);
/* SIGTERM, then its exit status within limit_s (128 + signal; -1: killed after the limit) */
int net_proc_stop(pid_t pid, double limit_s);
/* `mpo stat ENDPOINT --json`: 0 when it exits 0 with a JSON object holding "inserts_total" */
int net_proc_stat_json(const char *mpo, const char *endpoint, char *first, size_t firstlen);
/* a free tcp port on 127.0.0.1 (not `avoid`) */
int net_free_port(int avoid);
/* "FAIL: " and the line on stderr; 0, so that `ok = net_fail(...)` reads as it means */
__attribute__((format(printf, 1, 2))) int net_fail(const char *fmt, ...);

#endif
