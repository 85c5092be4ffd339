/* bench snapshot: what a replay snapshot (replay_dir) costs, at a full ring of the given sizes
 * (default: 1M HalfCheetah transitions, obs 17, act 6: 168 MB of records).
 *
 * Three figures, on the replay's own code paths:
 *   - forked: the periodic snapshot as the server takes it (replay/persist.c): the loop's pause
 *     for the fork, and the child's time to write, sync and rename the file;
 *   - in the thread: snapshot_save in the calling thread, what the final snapshot on SIGTERM takes
 *     and what a snapshot without fork would hold the loop for;
 *   - restore: snapshot_load into a fresh ring, as at a restart (the file is then in the page
 *     cache: a cold read from disk adds the disk's time). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/bench.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/transition.h"
#include "replay/persist.h"
#include "replay/snapshot.h"

typedef struct {
    char env[32];
    replay_buffer_t *buffer;
    peers_t *peers;
    replay_counts_t counts;
    rate_limiter_t *limiter;
    snapshot_parts_t parts;
} s_server_t;

static void s_server_free(s_server_t *s) {
    replay_buffer_destroy(&s->buffer);
    peers_destroy(&s->peers);
    rate_limiter_destroy(&s->limiter);
}

static int s_server_init(s_server_t *s, size_t n, int obs, int act) {
    memset(s, 0, sizeof *s);
    snprintf(s->env, sizeof s->env, "bench:%d:%d", obs, act);
    char err[256];
    rate_limiter_config_t rl = {.min_size = 1, .tolerance = 1, .timeout_s = 60, .capacity = n};
    s->buffer = replay_buffer_new(n, obs, act);
    s->peers = peers_new();
    s->limiter = rate_limiter_new(&rl, err, sizeof err);
    s->parts = (snapshot_parts_t){s->env, s->buffer, s->peers, &s->counts, s->limiter};
    if (s->buffer && s->peers && s->limiter)
        return 0;
    s_server_free(s);
    return -1;
}

static void s_usage(void) {
    printf("usage: mpo bench snapshot [--n N] [--obs N] [--act N] [--dir DIR] [--json]\n"
           "Times a replay snapshot of a full ring of N transitions (default 1000000 of obs 17, act 6:\n"
           "HalfCheetah-v4) written in DIR (default: a temporary directory in $TMPDIR or /tmp, removed\n"
           "after): the forked write the server does periodically (the loop's pause and the child's\n"
           "time), the same write in the calling thread (the final snapshot on SIGTERM), and the restore.\n");
}

int bench_snapshot_main(int argc, char **argv) {
    long long n = 1000000;
    int obs = 17, act = 6, json = 0;
    char dir[CONFIG_STR_MAX] = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage();
            return 0;
        } else if (!strcmp(a, "--json"))
            json = 1;
        else if (v && !strcmp(a, "--n") && (n = atoll(v)) > 0)
            i++;
        else if (v && !strcmp(a, "--obs") && (obs = atoi(v)) > 0)
            i++;
        else if (v && !strcmp(a, "--act") && (act = atoi(v)) > 0)
            i++;
        else if (v && !strcmp(a, "--dir") && strlen(v) < sizeof dir) {
            snprintf(dir, sizeof dir, "%s", v);
            i++;
        } else {
            fprintf(stderr, "mpo bench snapshot: bad option '%s' (mpo bench snapshot --help)\n", a);
            return 2;
        }
    }
    int made_dir = !dir[0];
    if (made_dir) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/mpo-bench-snapshot.XXXXXX", t && t[0] ? t : "/tmp");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "mpo bench snapshot: cannot make a directory in %s: %s\n", t ? t : "/tmp", strerror(errno));
            return 1;
        }
    }
    s_server_t a, b;
    if (s_server_init(&a, (size_t)n, obs, act) != 0 || s_server_init(&b, (size_t)n, obs, act) != 0) {
        fprintf(stderr, "mpo bench snapshot: no memory for two rings of %lld transitions\n", n);
        return 1;
    }
    /* a full ring of random finite values, a chunk at a time */
    size_t per = transition_floats(obs, act), chunk = 4096;
    float *records = malloc(chunk * per * sizeof(float));
    rng_t rng;
    rng_seed(&rng, 1);
    for (size_t done = 0; records && done < (size_t)n; done += chunk) {
        size_t m = (size_t)n - done < chunk ? (size_t)n - done : chunk;
        rng_normal_fill(&rng, records, (int)(m * per));
        replay_buffer_append(a.buffer, records, m);
    }
    free(records);

    log_set_level(LOG_WARN);
    config_t cfg;
    config_defaults(&cfg);
    char err[768];
    int rc = config_set(&cfg, "replay_dir", dir, err, sizeof err);
    rc = rc ? rc : config_set(&cfg, "replay_snapshot_inserts", "1", err, sizeof err);
    persist_t *p = rc ? NULL : persist_new(&cfg, err, sizeof err);
    if (!p) {
        fprintf(stderr, "mpo bench snapshot: %s\n", err);
        return 1;
    }
    /* forked, as the server's loop does it: begun by one tick, collected by a later one */
    double t0 = clock_now();
    persist_tick(p, &a.parts, t0);
    while (a.counts.snapshots + a.counts.snapshot_failures == 0 && clock_now() - t0 < 600) {
        usleep(2000);
        persist_tick(p, &a.parts, clock_now());
    }
    persist_destroy(&p);
    snapshot_info_t info;
    double t1 = clock_now();
    rc = a.counts.snapshots == 1 ? snapshot_save(&a.parts, dir, t1, 0, &info, err, sizeof err) : -1;
    double t2 = clock_now();
    char path[sizeof dir + 32];
    snprintf(path, sizeof path, "%s/" SNAPSHOT_FILE, dir);
    rc = rc ? rc : snapshot_load(&b.parts, path, t2, 0, &info, err, sizeof err);
    double t3 = clock_now();
    int ok = rc == 0 && replay_buffer_size(b.buffer) == (size_t)n;
    if (made_dir) {
        unlink(path);
        rmdir(dir);
    }
    s_server_free(&a);
    s_server_free(&b);
    if (!ok) {
        fprintf(stderr, "mpo bench snapshot: %s\n", rc ? err : "the snapshot failed (see the log)");
        return 1;
    }
    char cpu[128];
    bench_cpu_model(cpu, sizeof cpu);
    double mb = (double)info.bytes / 1e6;
    if (json)
        printf("{\"n\":%lld,\"obs\":%d,\"act\":%d,\"bytes\":%llu,\"fork_pause_s\":%.6f,\"forked_write_s\":%.4f,"
               "\"thread_write_s\":%.4f,\"restore_s\":%.4f,\"cpu\":\"%s\"}\n",
               n, obs, act, (unsigned long long)info.bytes, a.counts.snapshot_pause, a.counts.snapshot_seconds,
               t2 - t1, t3 - t2, cpu);
    else
        printf("bench snapshot: %lld transitions of obs %d act %d, %.1f MB, on %s\n"
               "  forked write   %.2f s (%.0f MB/s, fsync included); the loop paused %.1f ms for the fork\n"
               "  in the thread  %.2f s (%.0f MB/s, fsync included)\n"
               "  restore        %.2f s (%.0f MB/s, from the page cache)\n",
               n, obs, act, mb, cpu, a.counts.snapshot_seconds, mb / a.counts.snapshot_seconds,
               a.counts.snapshot_pause * 1e3, t2 - t1, mb / (t2 - t1), t3 - t2, mb / (t3 - t2));
    return 0;
}
