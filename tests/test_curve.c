/* curve: ZeroMQ CURVE end to end, and the key files under it.
 *
 * The files: `mpo keygen`'s pair and public key read back, authorized-keys lines (names, comments,
 * a key commented out), every bad file a one-line error naming it, a half-configured role refused,
 * keygen never overwriting. The cluster: `mpo replay`, `mpo learner` and `mpo actor` with a key pair
 * each, over loopback. A keyed actor's batches are stored, the learner samples and updates (it is
 * a CURVE client of the replay too), and weights reach the actor's SUB and a keyed SUB here. Then
 * strangers, in-process: a plain DEALER, a DEALER with an unlisted key, and a listed one expecting
 * another server key get no answer from the replay, and each raises its curve_refused_total; a SUB
 * with an unlisted key gets no weights and raises the learner's. A plain replay bound on every
 * interface warns once; the keyed one does not. MPO_BIN names the program (build/mpo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/curve.h"
#include "common/error.h"
#include "common/log.h"
#include "common/stats_client.h"
#include "common/wire.h"

#define MAX_PIDS 8

static const char *s_bin;
static char s_dir[64];
static pid_t s_pids[MAX_PIDS]; /* started and not yet reaped: killed by the teardown */

/* ------------------------------------------------------------ helpers */

static void s_path(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", s_dir, name); }

static void s_write(const char *name, const char *text) {
    char p[128];
    s_path(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* NAME.key and NAME.pub in the test directory; the public key into pub (may be NULL) */
static void s_keygen(const char *name, char *pub) {
    char base[128], z85[CURVE_Z85_LEN + 1], err[512];
    s_path(base, sizeof base, name);
    if (curve_keygen(base, z85, err, sizeof err) != 0)
        fail_msg("keygen %s: %s", name, err);
    if (pub)
        memcpy(pub, z85, sizeof z85);
}

static void s_set(config_t *cfg, const char *k, const char *v) {
    char err[512];
    if (config_set(cfg, k, v, err, sizeof err) != 0)
        fail_msg("config %s=%s: %s", k, v, err);
}

/* cfg: defaults, curve_key_file = DIR/NAME.key (NULL: none) and curve_replay_key = DIR/SERVER.pub
 * (NULL: none), the server key of the test's clients, replay or learner */
static void s_keys(config_t *cfg, const char *name, const char *server) {
    char p[160];
    config_defaults(cfg);
    if (name) {
        snprintf(p, sizeof p, "%s/%s.key", s_dir, name);
        s_set(cfg, "curve_key_file", p);
    }
    if (server) {
        snprintf(p, sizeof p, "%s/%s.pub", s_dir, server);
        s_set(cfg, "curve_replay_key", p);
    }
}

static int s_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* `mpo ROLE --set K=V ...` (args NULL-terminated), output to DIR/LOG */
static pid_t s_start(const char *role, const char *log, const char *const *args) {
    const char *argv[64];
    int argc = 0;
    argv[argc++] = s_bin;
    argv[argc++] = role;
    for (int i = 0; args[i]; i++)
        argv[argc++] = "--set", argv[argc++] = args[i];
    argv[argc] = NULL;
    assert_true(argc < 64);
    char path[128];
    s_path(path, sizeof path, log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < MAX_PIDS; i++)
        if (s_pids[i] == 0) {
            s_pids[i] = pid;
            break;
        }
    return pid;
}

/* the exit status once it ends by itself within limit seconds; -1 while it runs */
static int s_wait(pid_t pid, double limit) {
    int status;
    for (double t0 = clock_now(); clock_now() - t0 < limit; usleep(20000))
        if (waitpid(pid, &status, WNOHANG) == pid) {
            for (int i = 0; i < MAX_PIDS; i++)
                if (s_pids[i] == pid)
                    s_pids[i] = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    return -1;
}

/* SIGTERM and the exit status (-1: killed after 5 s) */
static int s_stop(pid_t pid) {
    for (int i = 0; i < MAX_PIDS; i++)
        if (s_pids[i] == pid)
            s_pids[i] = 0;
    kill(pid, SIGTERM);
    int status;
    for (double t0 = clock_now(); clock_now() - t0 < 5;) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* lines of DIR/LOG that contain text */
static int s_log_count(const char *log, const char *text) {
    char path[128], line[1024];
    s_path(path, sizeof path, log);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return n;
}

static void s_dump_logs(void) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "for f in %s/*.log; do echo \"--- $f\"; tail -n 12 \"$f\"; done", s_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot show the logs)\n");
}

/* a DEALER or SUB on ctx connected to ep: plain when cfg has no key file, else a CURVE client */
static void *s_client(void *ctx, int type, const char *ep, const config_t *cfg) {
    curve_t c;
    char err[512];
    if (curve_from_config(&c, cfg, CURVE_TO_REPLAY, err, sizeof err) != 0)
        fail_msg("%s", err);
    const sock_opt_t sub[] = {{ZMQ_LINGER, 0, NULL}, {ZMQ_SUBSCRIBE, 0, ""}, SOCK_OPTS_END};
    const sock_opt_t dealer[] = {{ZMQ_LINGER, 0, NULL}, SOCK_OPTS_END};
    sock_opt_t co[CURVE_OPTS_MAX], all[SOCK_OPTS_MAX];
    const sock_opt_t *opts = sock_opts_join(all, SOCK_OPTS_MAX, type == ZMQ_SUB ? sub : dealer,
                                            curve_client_opts(&c, c.replay_key, co));
    void *s = sock_open(ctx, type, "test client", opts, NULL, ep, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    return s;
}

/* the next message within ms, decoded (wire_free it), or NULL */
static Mpo__Message *s_recv_within(void *s, int ms) {
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, ms) <= 0)
        return NULL;
    wire_rejection_t why;
    char reason[256];
    Mpo__Message *m = wire_recv(s, &why, reason, sizeof reason);
    if (!m)
        fail_msg("undecodable message: %s", reason);
    return m;
}

/* a stats figure from a keyed stats client; NAN when the server does not answer in 2 s */
static double s_stat(stats_client_t *c, const char *name) {
    char err[300];
    if (stats_client_ask(c, 2.0, NULL, err, sizeof err) != 0)
        return NAN;
    return stats_reply_value(stats_client_reply(c), name, NAN);
}

/* the learner's own figure as the replay relays it; NAN when not there (yet) */
static double s_learner_stat(stats_client_t *c, const char *name) {
    char err[300];
    if (stats_client_ask(c, 2.0, NULL, err, sizeof err) != 0)
        return NAN;
    const Mpo__StatsReply *r = stats_client_reply(c);
    for (size_t i = 0; i < r->n_learner_stats; i++)
        if (!strcmp(r->learner_stats[i]->name, name))
            return r->learner_stats[i]->value;
    return NAN;
}

static int s_setup(void **state) {
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/mpo-test-curve-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    log_set_level(LOG_ERROR);
    return 0;
}

static int s_teardown(void **state) {
    (void)state;
    for (int i = 0; i < MAX_PIDS; i++)
        if (s_pids[i] > 0) {
            kill(s_pids[i], SIGKILL);
            waitpid(s_pids[i], NULL, 0);
            s_pids[i] = 0;
        }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* ------------------------------------------------------------ the files */

static void test_key_files(void **state) {
    (void)state;
    char a[CURVE_Z85_LEN + 1], b[CURVE_Z85_LEN + 1], d[CURVE_Z85_LEN + 1], err[512], p[160], text[512];
    config_t cfg;
    curve_t c;
    s_keygen("a", a);
    s_keygen("b", b);
    s_keygen("d", d);
    /* the pair reads back, NAME.pub is its public key, and the secret file is the owner's alone */
    s_keys(&cfg, "a", "a");
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_SERVER | CURVE_TO_REPLAY, err, sizeof err), 0);
    assert_true(c.on);
    assert_string_equal(c.public_z85, a);
    assert_memory_equal(c.replay_key, c.public_key, CURVE_KEY_BYTES);
    struct stat st;
    s_path(p, sizeof p, "a.key");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a server key given as its 40 characters */
    s_set(&cfg, "curve_replay_key", b);
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_TO_REPLAY, err, sizeof err), 0);
    uint8_t key[CURVE_KEY_BYTES];
    assert_int_equal(curve_key_decode(key, b), 0);
    assert_memory_equal(c.replay_key, key, CURVE_KEY_BYTES);

    /* keygen never overwrites, and leaves nothing behind when half the pair exists */
    s_path(p, sizeof p, "a");
    assert_int_equal(curve_keygen(p, text, err, sizeof err), -MPO_EIO);
    assert_non_null(strstr(err, "never overwrites"));
    s_write("e.key", "mine\n");
    s_path(p, sizeof p, "e");
    assert_int_equal(curve_keygen(p, text, err, sizeof err), -MPO_EIO);
    s_path(p, sizeof p, "e.pub");
    assert_int_not_equal(stat(p, &st), 0);

    /* an authorized-keys file: NAME.pub lines, comments, blanks, a key commented out */
    snprintf(text, sizeof text, "# who may connect\n\n%s actor one\n   %s\tlearner\n#%s\n", a, b, d);
    s_write("authorized", text);
    uint8_t *keys;
    size_t n;
    s_path(p, sizeof p, "authorized");
    assert_int_equal(curve_read_keys(p, "curve_authorized_keys", &keys, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(curve_key_decode(key, a), 0);
    assert_memory_equal(keys, key, CURVE_KEY_BYTES);
    assert_int_equal(curve_key_decode(key, b), 0);
    assert_memory_equal(keys + CURVE_KEY_BYTES, key, CURVE_KEY_BYTES);
    free(keys);

    /* each bad file is one line naming it (and the line) */
    s_write("bad", "# fine\nnot-a-key at all\n");
    s_path(p, sizeof p, "bad");
    assert_int_equal(curve_read_keys(p, "curve_authorized_keys", &keys, &n, err, sizeof err), -MPO_EFORMAT);
    assert_null(keys);
    assert_non_null(strstr(err, "bad:2"));
    assert_null(strchr(err, '\n'));
    s_path(p, sizeof p, "none");
    assert_int_equal(curve_read_keys(p, "curve_authorized_keys", &keys, &n, err, sizeof err), -MPO_EIO);
    assert_non_null(strstr(err, "none"));
    char pub2[CURVE_Z85_LEN + 1], sec1[CURVE_Z85_LEN + 1], pub1[CURVE_Z85_LEN + 1];
    assert_int_equal(zmq_curve_keypair(pub1, sec1), 0);
    assert_int_equal(zmq_curve_keypair(pub2, text), 0);
    snprintf(text, sizeof text, "public %s\nsecret %s\n", pub2, sec1);
    s_write("mixed.key", text);
    config_defaults(&cfg);
    s_path(p, sizeof p, "mixed.key");
    s_set(&cfg, "curve_key_file", p);
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_SERVER, err, sizeof err), -MPO_EFORMAT);
    assert_non_null(strstr(err, "not the secret key's"));
    assert_false(c.on);

    /* a role half configured stops instead of running plain; a key it does not use is no matter */
    config_defaults(&cfg);
    s_set(&cfg, "curve_replay_key", a);
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_TO_REPLAY, err, sizeof err), -MPO_EINVAL);
    assert_non_null(strstr(err, "curve_key_file is empty"));
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_SERVER, err, sizeof err), 0);
    assert_false(c.on);
    s_keys(&cfg, "a", NULL);
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_TO_REPLAY | CURVE_TO_WEIGHTS, err, sizeof err), -MPO_EINVAL);
    assert_non_null(strstr(err, "curve_replay_key"));
    s_set(&cfg, "curve_replay_key", "no-such-file");
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_TO_REPLAY, err, sizeof err), -MPO_EINVAL);
    assert_non_null(strstr(err, "no-such-file"));

    /* what counts as this machine only, for the warning */
    const char *local[] = {"tcp://127.0.0.1:5555", "tcp://127.1.2.3:1", "tcp://localhost:1", "tcp://[::1]:5",
                           "tcp://lo:5", "ipc:///tmp/x", "inproc://x"};
    const char *open[] = {"tcp://*:5555", "tcp://0.0.0.0:5555", "tcp://10.0.0.1:1", "tcp://eth0:1",
                          "tcp://replay:5555", "tcp://[::]:5"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        assert_true(curve_endpoint_local(local[i]));
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        assert_false(curve_endpoint_local(open[i]));
}

/* ------------------------------------------------------------ the cluster */

/* a stranger on the replay: its hello gets no answer, and curve_refused_total grows */
static void s_stranger(void *ctx, const char *ep, stats_client_t *stats, const char *key, const char *server,
                       const char *what) {
    config_t cfg;
    s_keys(&cfg, key, server);
    double before = s_stat(stats, "curve_refused_total");
    assert_false(isnan(before));
    void *d = s_client(ctx, ZMQ_DEALER, ep, &cfg);
    assert_int_equal(wire_send_hello(d, MPO__ROLE__ROLE_STAT, NULL, 0, 0, "stranger", 0), 0);
    Mpo__Message *m = s_recv_within(d, 600);
    if (m)
        fail_msg("%s: answered (message %d)", what, (int)m->body_case);
    double after = before, t0 = clock_now();
    while (after <= before && clock_now() - t0 < 3) {
        usleep(50000);
        after = s_stat(stats, "curve_refused_total");
    }
    printf("   %s: no answer, curve_refused_total %.0f -> %.0f\n", what, before, after);
    assert_true(after > before);
    sock_close(&d);
}

static void test_cluster(void **state) {
    (void)state;
    char replay_pub[CURVE_Z85_LEN + 1], learner_pub[CURVE_Z85_LEN + 1], actor_pub[CURVE_Z85_LEN + 1],
        client_pub[CURVE_Z85_LEN + 1], text[512];
    s_keygen("replay", replay_pub);
    s_keygen("learner", learner_pub);
    s_keygen("actor", actor_pub);
    s_keygen("client", client_pub);
    s_keygen("stranger", NULL);
    snprintf(text, sizeof text, "%s actor\n%s learner\n%s client\n", actor_pub, learner_pub, client_pub);
    s_write("authorized", text);

    int rport = s_free_port(), wport = s_free_port();
    char a[16][160];
    int k = 0;
    /* the replay binds every interface: with keys it does not warn */
    snprintf(a[k++], 160, "replay_bind=tcp://*:%d", rport);
    snprintf(a[k++], 160, "replay_endpoint=tcp://127.0.0.1:%d", rport);
    snprintf(a[k++], 160, "weights_bind=tcp://127.0.0.1:%d", wport);
    snprintf(a[k++], 160, "weights_endpoint=tcp://127.0.0.1:%d", wport);
    snprintf(a[k++], 160, "curve_authorized_keys=%s/authorized", s_dir);
    snprintf(a[k++], 160, "curve_replay_key=%s/replay.pub", s_dir);
    snprintf(a[k++], 160, "curve_weights_key=%s/learner.pub", s_dir);
    for (int i = 0; i < 3; i++)
        snprintf(a[k + i], 160, "curve_key_file=%s/%s.key", s_dir, i == 0 ? "replay" : i == 1 ? "learner" : "actor");
    const char *common[] = {"env=Pendulum-v1", "hidden=32", "batch_size=32", "n_action_samples=5",
                            "learning_starts=64", "rate_limit_tolerance=200", "sample_prefetch=2",
                            "weight_sync_period=5", "weight_publish_interval=0.3", "actor_batch=16",
                            "log_level=info", "checkpoint_dir=", "stats_interval=100", "log_interval=100"};
    const char *args[3][32];
    for (int r = 0; r < 3; r++) {
        int n = 0;
        for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
            args[r][n++] = common[i];
        for (int i = 0; i < 7; i++)
            args[r][n++] = a[i];
        args[r][n++] = a[k + r];
        args[r][n++] = r == 2 ? "actor_id=actor-k" : "seed=42";
        args[r][n] = NULL;
    }
    pid_t replay = s_start("replay", "replay.log", args[0]);
    pid_t learner = s_start("learner", "learner.log", args[1]);
    pid_t actor = s_start("actor", "actor.log", args[2]);

    char ep[64], wep[64], err[512];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", rport);
    snprintf(wep, sizeof wep, "tcp://127.0.0.1:%d", wport);
    config_t cfg;
    curve_t c;
    s_keys(&cfg, "client", "replay");
    assert_int_equal(curve_from_config(&c, &cfg, CURVE_TO_REPLAY, err, sizeof err), 0);
    stats_client_t *stats = stats_client_new(ep, "test", NULL, &c, err, sizeof err);
    assert_non_null(stats);

    /* keyed end to end: the actor's batches stored, the learner sampling, weights at the actor */
    double t0 = clock_now(), inserts = 0, updates = 0;
    uint64_t version = 0;
    while (!(inserts >= 64 && updates > 0 && version > 0) && clock_now() - t0 < 30) {
        usleep(100000);
        char e[300];
        if (stats_client_ask(stats, 2.0, NULL, e, sizeof e) != 0)
            continue;
        const Mpo__StatsReply *r = stats_client_reply(stats);
        inserts = stats_reply_value(r, "inserts_total", 0);
        updates = stats_reply_value(r, "learner_updates", 0);
        for (size_t i = 0; i < r->n_actors; i++)
            if (!strcmp(r->actors[i]->id, "actor-k"))
                version = r->actors[i]->policy_version;
    }
    printf("   keyed: %.0f transitions stored, %.0f learner updates, actor acting with weights v%llu (%.1f s)\n",
           inserts, updates, (unsigned long long)version, clock_now() - t0);
    if (!(inserts >= 64 && updates > 0 && version > 0))
        s_dump_logs();
    assert_true(inserts >= 64 && updates > 0 && version > 0);

    /* weights reach a keyed SUB here; a SUB with an unlisted key gets none, and is counted */
    void *ctx = zmq_ctx_new();
    s_keys(&cfg, "client", "learner");
    void *sub = s_client(ctx, ZMQ_SUB, wep, &cfg);
    s_keys(&cfg, "stranger", "learner");
    void *stranger_sub = s_client(ctx, ZMQ_SUB, wep, &cfg);
    Mpo__Message *w = s_recv_within(sub, 5000);
    assert_non_null(w);
    assert_int_equal(w->body_case, MPO__MESSAGE__BODY_WEIGHTS);
    assert_true(w->weights->version >= 1);
    printf("   keyed SUB: weights v%llu, %zu parameters\n", (unsigned long long)w->weights->version,
           w->weights->n_params);
    wire_free(w);
    double learner_refused = NAN;
    t0 = clock_now();
    while (!(learner_refused > 0) && clock_now() - t0 < 5) {
        Mpo__Message *m = s_recv_within(stranger_sub, 200);
        if (m)
            fail_msg("a SUB with an unlisted key got weights");
        learner_refused = s_learner_stat(stats, "curve_refused_total");
    }
    assert_null(s_recv_within(stranger_sub, 700)); /* two more publications' time */
    printf("   stranger SUB: no weights, learner curve_refused_total %.0f\n", learner_refused);
    assert_true(learner_refused > 0);
    sock_close(&stranger_sub);
    sock_close(&sub);

    /* the replay: a keyed client is answered; strangers are not, and each is counted */
    s_keys(&cfg, "client", "replay");
    void *d = s_client(ctx, ZMQ_DEALER, ep, &cfg);
    assert_int_equal(wire_send_hello(d, MPO__ROLE__ROLE_STAT, NULL, 0, 0, "keyed", 0), 0);
    Mpo__Message *ack = s_recv_within(d, 3000);
    assert_non_null(ack);
    assert_int_equal(ack->body_case, MPO__MESSAGE__BODY_ACK);
    wire_free(ack);
    sock_close(&d);
    s_stranger(ctx, ep, stats, NULL, NULL, "a plain client");
    s_stranger(ctx, ep, stats, "stranger", "replay", "an unlisted key");
    s_stranger(ctx, ep, stats, "client", "stranger", "a listed key expecting another server key");
    zmq_ctx_term(ctx);
    stats_client_destroy(&stats);
    explicit_bzero(&c, sizeof c);

    /* `mpo stat --json` with the keys from --set shows the count; without keys it gets no answer */
    char cmd[768], out[128];
    s_path(out, sizeof out, "stat.json");
    snprintf(cmd, sizeof cmd,
             "'%s' stat %s --json --set curve_key_file=%s/client.key --set curve_replay_key=%s/replay.pub >'%s' 2>&1",
             s_bin, ep, s_dir, s_dir, out);
    assert_int_equal(system(cmd), 0);
    static char json[1 << 16];
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    json[fread(json, 1, sizeof json - 1, f)] = 0;
    fclose(f);
    const char *field = strstr(json, "\"curve_refused_total\":"); /* the replay's, before the learner's list */
    assert_non_null(field);
    assert_true(atoi(field + strlen("\"curve_refused_total\":")) >= 3);
    snprintf(cmd, sizeof cmd, "'%s' stat %s --timeout 0.5 >'%s' 2>&1", s_bin, ep, out);
    assert_int_not_equal(system(cmd), 0);

    /* the roles as clients: refused for good (an unlisted key, no CURVE) they stop with status 1
     * and say why; expecting another server key they warn and keep trying */
    const char *stranger_actor[32], *plain_actor[32], *misled_actor[32], *stranger_learner[32];
    char stranger_key[160], misled_key[160], other_bind[64];
    snprintf(stranger_key, sizeof stranger_key, "curve_key_file=%s/stranger.key", s_dir);
    snprintf(other_bind, sizeof other_bind, "weights_bind=tcp://127.0.0.1:%d", s_free_port());
    snprintf(misled_key, sizeof misled_key, "curve_weights_key=%s/stranger.pub", s_dir);
    int n = 0;
    for (; args[2][n]; n++) {
        const char *x = args[2][n];
        stranger_actor[n] = !strncmp(x, "curve_key_file=", 15) ? stranger_key : x;
        plain_actor[n] = !strncmp(x, "curve_", 6) ? "log_level=info" : x;
        misled_actor[n] = !strncmp(x, "curve_weights_key=", 18) ? misled_key : x;
    }
    stranger_actor[n] = plain_actor[n] = misled_actor[n] = NULL;
    for (n = 0; args[1][n]; n++) {
        const char *x = args[1][n];
        stranger_learner[n] = !strncmp(x, "curve_key_file=", 15) ? stranger_key
                              : !strncmp(x, "weights_bind=", 13) ? other_bind
                                                                 : x;
    }
    stranger_learner[n] = NULL;
    pid_t refused_learner = s_start("learner", "refused-learner.log", stranger_learner);
    pid_t refused = s_start("actor", "refused.log", stranger_actor);
    pid_t plain = s_start("actor", "plain-actor.log", plain_actor);
    pid_t misled = s_start("actor", "misled.log", misled_actor);
    assert_int_equal(s_wait(refused, 10), 1);
    assert_int_equal(s_log_count("refused.log", "refused this process's CURVE key"), 1); /* replay or learner */
    /* ZeroMQ reports a plain client's mismatch with a CURVE server only when the client reads the
     * server's greeting before the server hangs up (about half the attempts, and not every time
     * after the first): either the actor stops with the mismatch, or it says what to check while
     * ZeroMQ tries again */
    int plain_rc = s_wait(plain, 10);
    if (plain_rc == 1) { /* the error, not the warning "(if it requires CURVE: set curve_key_file, ...)" */
        assert_int_equal(s_log_count("plain-actor.log", "requires CURVE: set curve_key_file (docs/security.md)"), 1);
    } else {
        assert_int_equal(plain_rc, -1);
        assert_true(s_log_count("plain-actor.log", "if it requires CURVE: set curve_key_file") >= 1);
        assert_int_equal(s_stop(plain), 0);
    }
    for (double t1 = clock_now(); !s_log_count("misled.log", "the handshake with the learner failed") &&
                                  clock_now() - t1 < 5;)
        usleep(50000);
    assert_int_equal(s_log_count("misled.log", "the handshake with the learner failed"), 1);
    assert_int_equal(s_stop(misled), 0);
    assert_int_equal(s_wait(refused_learner, 10), 1);
    assert_int_equal(s_log_count("refused-learner.log", "the replay server refused this process's CURVE key"), 1);
    printf("   clients: an unlisted actor, a plain one and an unlisted learner stop with status 1; an actor given "
           "another learner key warns\n");

    assert_int_equal(s_stop(actor), 0);
    assert_int_equal(s_stop(learner), 0);
    assert_int_equal(s_stop(replay), 0);
    assert_true(s_log_count("replay.log", "refused a client at the CURVE handshake") >= 3);
    assert_int_equal(s_log_count("replay.log", "without CURVE: anyone"), 0);
}

/* a plain replay bound on every interface says so, once */
static void test_plain_warning(void **state) {
    (void)state;
    char bind[64];
    snprintf(bind, sizeof bind, "replay_bind=tcp://*:%d", s_free_port());
    const char *args[] = {bind, "env=Pendulum-v1", "buffer_size=100", "learning_starts=10", NULL};
    pid_t replay = s_start("replay", "plain.log", args);
    for (double t0 = clock_now(); !s_log_count("plain.log", "serving") && clock_now() - t0 < 5;)
        usleep(20000);
    assert_int_equal(s_stop(replay), 0);
    assert_int_equal(s_log_count("plain.log", "is reachable beyond this machine without CURVE"), 1);
}

int main(void) {
    s_bin = getenv("MPO_BIN") ? getenv("MPO_BIN") : "build/mpo";
    if (!zmq_has("curve")) {
        fprintf(stderr, "test_curve: this ZeroMQ has no CURVE; skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_files, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cluster, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plain_warning, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
