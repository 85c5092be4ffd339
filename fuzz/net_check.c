#include "fuzz/net_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/rng.h"

#define KNOWN_ID "fuzz-known"
#define KNOWN_BATCHES 25 /* 400 transitions: learning_starts is 200 */
#define LEARNING_STARTS 200
#define NAME_OF(name) #name,
static const char *const s_fig_names[NET_FIG_COUNT] = {NET_CHECK_FIGURES(NAME_OF)};

static void s_sleep(double s) {
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

#define FAIL net_fail

/* ---------------------------------------------------------------- the known actor */

/* transition i of batch seq: reward seq·1000 + i names it; the rest follows from it */
static void s_known(uint64_t seq, int i, float *obs, float *act, float *rew, float *done, float *next) {
    obs[0] = (float)seq, obs[1] = (float)i, obs[2] = 0.5f;
    next[0] = (float)seq, next[1] = (float)(i + 1), next[2] = 0.5f;
    act[0] = (float)(i % 10) / 10.0f;
    *rew = (float)(seq * 1000 + (uint64_t)i);
    *done = 0.0f;
}

/* the next message for the known actor within timeout_s, decoded into c->dec; NULL when none */
static Mpo__Message *s_recv(void *sock, wire_decoder_t *dec, double timeout_s) {
    zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, (long)(timeout_s * 1000)) <= 0)
        return NULL;
    wire_rejection_t why;
    char reason[256];
    return wire_recv_into(sock, dec, &why, reason, sizeof reason);
}

/* Hello as the known actor until an Ack comes: 1, or 0 */
static int s_known_hello(net_check_t *c) {
    for (int tries = 0; tries < 50; tries++) {
        wire_send_hello(c->actor, MPO__ROLE__ROLE_ACTOR, NET_ENV, NET_OBS, NET_ACT, KNOWN_ID, c->known_incarnation);
        for (Mpo__Message *r; (r = s_recv(c->actor, c->dec, 0.2));)
            if (r->body_case == MPO__MESSAGE__BODY_ACK && r->ack->seq == 0)
                return 1;
    }
    return FAIL("the known actor's Hello was not answered");
}

/* batch seq of known transitions stored and acked (a no_hello is answered with Hello and a resend) */
static int s_known_insert(net_check_t *c, uint64_t seq) {
    float obs[NET_BATCH * NET_OBS], act[NET_BATCH * NET_ACT], rew[NET_BATCH], done[NET_BATCH], next[NET_BATCH * NET_OBS];
    for (int i = 0; i < NET_BATCH; i++)
        s_known(seq, i, &obs[i * NET_OBS], &act[i * NET_ACT], &rew[i], &done[i], &next[i * NET_OBS]);
    Mpo__Message m;
    Mpo__TransitionBatch b;
    wire_init_message(&m);
    mpo__transition_batch__init(&b);
    b.seq = seq, b.n = NET_BATCH;
    b.obs = obs, b.n_obs = NET_BATCH * NET_OBS;
    b.action = act, b.n_action = NET_BATCH * NET_ACT;
    b.reward = rew, b.n_reward = NET_BATCH;
    b.done = done, b.n_done = NET_BATCH;
    b.next_obs = next, b.n_next_obs = NET_BATCH * NET_OBS;
    m.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
    m.transitions = &b;
    for (int tries = 0; tries < 3; tries++) {
        if (wire_send(c->actor, NULL, 0, &m, 0) != 0)
            return FAIL("the known actor cannot send");
        Mpo__Message *r;
        while ((r = s_recv(c->actor, c->dec, 20.0))) {
            if (r->body_case == MPO__MESSAGE__BODY_ACK && r->ack->seq == seq)
                return 1;
            if (r->body_case == MPO__MESSAGE__BODY_ERROR) {
                if (r->error->code != MPO__ERROR_CODE__ERROR_NO_HELLO)
                    return FAIL("known batch %llu refused: %s", (unsigned long long)seq, r->error->reason);
                if (!s_known_hello(c)) /* forgotten (a Hello flood): introduce ourselves again */
                    return 0;
                break;
            }
        }
        if (!r)
            return FAIL("known batch %llu: no ack within 20 s", (unsigned long long)seq);
    }
    return FAIL("known batch %llu: refused as no_hello three times", (unsigned long long)seq);
}

/* ---------------------------------------------------------------- figures */

static int s_snapshot(net_check_t *c, net_snapshot_t *s) {
    char err[300];
    if (stats_client_ask(c->stats, 5.0, NULL, err, sizeof err) != 0)
        return FAIL("the replay's stats: %s", err);
    const Mpo__StatsReply *r = stats_client_reply(c->stats);
    for (int k = 0; k < NET_FIG_COUNT; k++)
        s->fig[k] = stats_reply_value(r, s_fig_names[k], NAN);
    for (int k = 1; k < WIRE_REJECTION_COUNT; k++)
        s->rejected[k] = stats_reply_rejected(r, wire_rejection_name(k));
    for (int p = 0; p < 2; p++)
        s->rss[p] = net_proc_rss_kib(c->pid[p], &s->peak[p]);
    return 1;
}

/* the newest weights version the SUB has, waiting up to timeout_s for one newer than `than` */
static uint64_t s_weights(net_check_t *c, uint64_t than, double timeout_s) {
    uint64_t version = 0;
    for (double until = clock_now() + timeout_s; clock_now() < until && version <= than;) {
        Mpo__Message *m = s_recv(c->weights, c->dec, 0.2);
        if (m && m->body_case == MPO__MESSAGE__BODY_WEIGHTS && m->weights->layout &&
            m->weights->layout->obs_dim == NET_OBS && m->weights->layout->act_dim == NET_ACT)
            version = m->weights->version > version ? m->weights->version : version;
    }
    return version;
}

/* the replay's stats until `figure` has not changed for quiet_s (and pending samples are held) */
static int s_settle(net_check_t *c, net_snapshot_t *s, int figure, double quiet_s, double limit_s) {
    double t0 = clock_now(), since = t0, last = NAN;
    while (clock_now() - t0 < limit_s) {
        if (!s_snapshot(c, s))
            return 0;
        if (s->fig[figure] != last) {
            last = s->fig[figure];
            since = clock_now();
        } else if (clock_now() - since >= quiet_s) {
            return 1;
        }
        s_sleep(0.2);
    }
    return FAIL("the replay's %s still moved after %.0f s", s_fig_names[figure], limit_s);
}

/* ---------------------------------------------------------------- life cycle */

int net_check_start(net_check_t *c, const char *mpo, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->mpo = mpo;
    if (access(mpo, X_OK) != 0)
        return fprintf(stderr, "fuzz_net: no program %s (--mpo)\n", mpo), -1;
    snprintf(c->dir, sizeof c->dir, "/tmp/mpo-fuzz-net-XXXXXX");
    if (!mkdtemp(c->dir))
        return fprintf(stderr, "fuzz_net: cannot make a directory in /tmp\n"), -1;
    rng_t rng;
    rng_seed(&rng, seed);
    c->victim_incarnation = rng_next(&rng) | 1;
    c->known_incarnation = rng_next(&rng) | 1;
    c->replay_port = net_free_port(-1);
    c->weights_port = net_free_port(c->replay_port);
    snprintf(c->replay_ep, sizeof c->replay_ep, "tcp://127.0.0.1:%d", c->replay_port);
    snprintf(c->weights_ep, sizeof c->weights_ep, "tcp://127.0.0.1:%d", c->weights_port);
    char rb[96], re[96], wb[96], ck[128], mm[64], bs[48], ab[48], tol[48], ls[48];
    snprintf(rb, sizeof rb, "replay_bind=%s", c->replay_ep);
    snprintf(re, sizeof re, "replay_endpoint=%s", c->replay_ep);
    snprintf(wb, sizeof wb, "weights_bind=%s", c->weights_ep);
    snprintf(ck, sizeof ck, "checkpoint_dir=%s/ckpt", c->dir);
    snprintf(mm, sizeof mm, "max_message_bytes=%d", NET_MAX_MESSAGE);
    snprintf(bs, sizeof bs, "batch_size=%d", NET_BATCH);
    snprintf(ab, sizeof ab, "actor_batch=%d", NET_BATCH);
    snprintf(tol, sizeof tol, "rate_limit_tolerance=%d", NET_TOLERANCE);
    snprintf(ls, sizeof ls, "learning_starts=%d", LEARNING_STARTS);
    const char *replay[] = {"env=" NET_ENV, rb, mm, bs, ab, tol, ls, "buffer_size=100000", "samples_per_insert=-1",
                            "rate_limit_timeout=86400", "ack_timeout=3600", "stats_interval=10", NULL};
    const char *learner[] = {"env=" NET_ENV, re, wb, ck, mm, bs, ab, "hidden=16", "n_action_samples=4",
                             "sample_prefetch=2", "weight_sync_period=10", "weight_publish_interval=0.05",
                             "checkpoint_every=1000000000", "threads=1", "log_interval=10", NULL};
    char log[128];
    snprintf(log, sizeof log, "%s/replay.log", c->dir);
    c->pid[0] = net_proc_start(mpo, "replay", log, replay);
    snprintf(log, sizeof log, "%s/learner.log", c->dir);
    c->pid[1] = net_proc_start(mpo, "learner", log, learner);
    c->ctx = zmq_ctx_new();
    c->actor = zmq_socket(c->ctx, ZMQ_DEALER);
    c->weights = zmq_socket(c->ctx, ZMQ_SUB);
    c->dec = wire_decoder_new(64u << 20);
    int zero = 0, one = 1;
    char err[300];
    zmq_setsockopt(c->actor, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->weights, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->weights, ZMQ_CONFLATE, &one, sizeof one);
    zmq_setsockopt(c->weights, ZMQ_SUBSCRIBE, "", 0);
    if (c->pid[0] < 0 || c->pid[1] < 0 || !c->dec || zmq_connect(c->actor, c->replay_ep) != 0 ||
        zmq_connect(c->weights, c->weights_ep) != 0 ||
        !(c->stats = stats_client_new(c->replay_ep, "fuzz-stats", NET_ENV, NULL, err, sizeof err))) {
        fprintf(stderr, "fuzz_net: cannot start the servers or connect to them (%s)\n", c->dir);
        return -1;
    }
    return 0;
}

int net_check_baseline(net_check_t *c) {
    if (!s_known_hello(c))
        return 0;
    double t0 = clock_now();
    for (uint64_t s = 1; s <= KNOWN_BATCHES; s++)
        if (!s_known_insert(c, s))
            return 0;
    c->seq = KNOWN_BATCHES;
    /* the learner uses what the rate limiter allows for this data, then waits */
    if (!s_settle(c, &c->before, NET_FIG_learner_updates, 1.5, 60.0))
        return 0;
    c->quiet_s = clock_now() - t0;
    c->before.weights_version = s_weights(c, 0, 5.0);
    if (c->before.fig[NET_FIG_inserts_total] != KNOWN_BATCHES * NET_BATCH)
        return FAIL("the replay stored %.0f transitions of the %d sent", c->before.fig[NET_FIG_inserts_total],
                    KNOWN_BATCHES * NET_BATCH);
    if (!(c->before.fig[NET_FIG_learner_updates] > 0) || c->before.weights_version == 0)
        return FAIL("the learner did not start: %.0f updates, weights version %llu",
                    c->before.fig[NET_FIG_learner_updates], (unsigned long long)c->before.weights_version);
    return 1;
}

/* a sample drawn now holds only known transitions, bit for bit: 1 when so */
static int s_sample_known(net_check_t *c) {
    void *s = zmq_socket(c->ctx, ZMQ_DEALER);
    int zero = 0, ok = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, c->replay_ep);
    wire_send_hello(s, MPO__ROLE__ROLE_LEARNER, NET_ENV, NET_OBS, NET_ACT, "fuzz-check", 0);
    Mpo__Message m;
    Mpo__SampleRequest q;
    wire_init_message(&m);
    mpo__sample_request__init(&q);
    q.id = 77, q.batch_size = NET_BATCH;
    m.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
    m.sample_request = &q;
    wire_send(s, NULL, 0, &m, 0);
    /* held behind the learner's requests: more known data lets them all through */
    for (int round = 0; round < 100 && !ok; round++) {
        if (!s_known_insert(c, ++c->seq))
            break;
        for (Mpo__Message *r; !ok && (r = s_recv(s, c->dec, 0.3));) {
            if (r->body_case == MPO__MESSAGE__BODY_ERROR) {
                FAIL("the sample request was refused: %s", r->error->reason);
                round = 100;
                break;
            }
            if (r->body_case != MPO__MESSAGE__BODY_SAMPLE_BATCH)
                continue;
            const Mpo__SampleBatch *b = r->sample_batch;
            char reason[256];
            if (b->request_id != 77 || b->n != NET_BATCH ||
                wire_check_sample_batch(b, NET_OBS, NET_ACT, reason, sizeof reason) != WIRE_OK) {
                FAIL("the sample batch is not the one asked for, or not valid");
                round = 100;
                break;
            }
            ok = 1;
            for (uint32_t i = 0; i < b->n && ok; i++) {
                uint64_t seq = (uint64_t)(b->reward[i] / 1000.0f);
                int k = (int)(b->reward[i] - (float)(seq * 1000));
                float o[NET_OBS], a[NET_ACT], rw, d, nx[NET_OBS];
                s_known(seq, k, o, a, &rw, &d, nx);
                ok = seq >= 1 && seq <= c->seq && k >= 0 && k < NET_BATCH && rw == b->reward[i] &&
                     !memcmp(o, &b->obs[i * NET_OBS], sizeof o) && !memcmp(a, &b->action[i * NET_ACT], sizeof a) &&
                     !memcmp(nx, &b->next_obs[i * NET_OBS], sizeof nx) && d == b->done[i];
                if (!ok)
                    FAIL("sampled transition %u (reward %g) is not one the known actor sent", i, b->reward[i]);
            }
            if (!ok)
                round = 100;
        }
    }
    zmq_close(s);
    return ok;
}

/* s (taken now) against the figures before the fuzzing: both run, the replay holds what it held,
 * memory within the bound */
static int s_unchanged(net_check_t *c, net_snapshot_t *s, const net_result_t *weights, const net_memory_t *mem,
                       const char *when) {
    int ok = s_settle(c, s, NET_FIG_rejected_total, 1.0, 60.0); /* every message handled: refusals stop */
    for (int p = 0; p < 2; p++)
        if (!net_proc_alive(c->pid[p]))
            ok = FAIL("the %s is not running after %s (log in %s)", p ? "learner" : "replay", when, c->dir);
    if (!ok)
        return 0;
    static const int same[] = {NET_FIG_size, NET_FIG_inserts_total, NET_FIG_samples_total, NET_FIG_sample_batches_total,
                               NET_FIG_duplicates_total};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
        if (s->fig[same[k]] != c->before.fig[same[k]])
            ok = FAIL("the replay's %s went from %.0f to %.0f under %s", s_fig_names[same[k]], c->before.fig[same[k]],
                      s->fig[same[k]], when);
    double subscribed = (double)atomic_load(&weights->subscribed_bytes);
    for (int p = 0; mem->checked && p < 2; p++) {
        double allowed = mem->bound_mib * 1024.0 + (p ? mem->per_byte * subscribed / 1024.0 : 0);
        if (s->rss[p] < 0 || s->rss[p] - c->before.rss[p] > allowed)
            ok = FAIL("the %s's resident memory went from %ld to %ld KiB under %s (bound: +%.0f KiB)",
                      p ? "learner" : "replay", c->before.rss[p], s->rss[p], when, allowed);
    }
    return ok;
}

int net_check_round(net_check_t *c, int r, const net_result_t *replay, const net_result_t *weights,
                    const net_memory_t *mem) {
    int ok = s_unchanged(c, &c->round[r], weights, mem, r ? "the second round of messages" : "the first");
    if (r == 0)
        return ok;
    for (int p = 0; mem->checked && p < 2; p++)
        if (c->round[1].rss[p] - c->round[0].rss[p] > mem->steady_mib * 1024)
            ok = FAIL("the %s's resident memory grew from %ld to %ld KiB in the second round (steady: +%ld MiB)",
                      p ? "learner" : "replay", c->round[0].rss[p], c->round[1].rss[p], mem->steady_mib);
    unsigned long long large = atomic_load(&weights->kind[NET_WEIGHTS_LARGE]);
    if (atomic_load(&weights->large_refused) != large)
        ok = FAIL("the learner closed %llu of the %llu connections that sent it a frame over 64 KiB",
                  (unsigned long long)atomic_load(&weights->large_refused), large);
    double refused = c->round[1].fig[NET_FIG_rejected_total] - c->before.fig[NET_FIG_rejected_total];
    unsigned long long lo = atomic_load(&replay->expect_refused), hi = lo + atomic_load(&replay->expect_either);
    if (refused < (double)lo || refused > (double)hi)
        ok = FAIL("the replay refused %.0f messages; %llu to %llu were to be refused", refused, lo, hi);
    return ok;
}

int net_check_after(net_check_t *c, const net_result_t *weights, const net_memory_t *mem) {
    if (!s_unchanged(c, &c->after, weights, mem, "the raw connections"))
        return 0;
    /* both serve: stats to mpo stat, known data in and out, the learner updating and publishing */
    int ok = 1;
    char first[160];
    if (net_proc_stat_json(c->mpo, c->replay_ep, first, sizeof first) != 0)
        ok = FAIL("mpo stat %s --json did not answer with the stats (%s)", c->replay_ep, first);
    if (!s_sample_known(c))
        ok = 0;
    net_snapshot_t now;
    if (s_snapshot(c, &now)) {
        double stored = now.fig[NET_FIG_inserts_total] - c->before.fig[NET_FIG_inserts_total];
        if (stored != (double)(c->seq - KNOWN_BATCHES) * NET_BATCH)
            ok = FAIL("after the fuzzing the replay stored %.0f transitions; the known actor sent %llu", stored,
                      (unsigned long long)(c->seq - KNOWN_BATCHES) * NET_BATCH);
    }
    uint64_t v = s_weights(c, c->before.weights_version, 30.0);
    if (v <= c->before.weights_version)
        ok = FAIL("the learner published no newer weights than version %llu after the fuzzing",
                  (unsigned long long)c->before.weights_version);
    c->after.weights_version = v;
    return ok;
}

int net_check_stop(net_check_t *c) {
    int ok = 1;
    for (int p = 1; p >= 0; p--) { /* the learner first: its replay stays to the end */
        if (c->pid[p] <= 0)
            continue;
        int rc = net_proc_stop(c->pid[p], 10.0);
        if (rc != 0)
            ok = FAIL("the %s stopped with status %d on SIGTERM (log in %s)", p ? "learner" : "replay", rc, c->dir);
    }
    stats_client_destroy(&c->stats);
    zmq_close(c->actor);
    zmq_close(c->weights);
    zmq_ctx_term(c->ctx);
    wire_decoder_destroy(&c->dec);
    return ok;
}

void net_check_print(const net_check_t *c, const net_result_t *r, FILE *f, int json) {
    const net_snapshot_t *b = &c->before, *m = &c->round[1], *a = &c->after, *r0 = &c->round[0];
    unsigned long long refused = (unsigned long long)(m->fig[NET_FIG_rejected_total] - b->fig[NET_FIG_rejected_total]);
    unsigned long long raw_refused = a->rss[0] > 0 /* taken */
                                         ? (unsigned long long)(a->fig[NET_FIG_rejected_total] - m->fig[NET_FIG_rejected_total])
                                         : 0;
    if (json) {
        fprintf(f, "\"replay_refused\": %llu, \"expect_refused\": %llu, \"expect_either\": %llu, "
                   "\"expect_answered\": %llu, \"poisoned\": %llu, \"replies\": %llu, \"dropped_frames\": %llu, "
                   "\"refused_by_reason\": {", refused, (unsigned long long)atomic_load(&r->expect_refused),
                (unsigned long long)atomic_load(&r->expect_either), (unsigned long long)atomic_load(&r->expect_answered),
                (unsigned long long)atomic_load(&r->poisoned), (unsigned long long)atomic_load(&r->replies),
                (unsigned long long)atomic_load(&r->dropped_frames));
        for (int k = 1; k < WIRE_REJECTION_COUNT; k++)
            fprintf(f, "%s\"%s\": %llu", k > 1 ? ", " : "", wire_rejection_name(k), m->rejected[k] - b->rejected[k]);
        fprintf(f, "}, \"raw_refused\": %llu, \"rss_kib\": {\"replay\": [%ld, %ld, %ld, %ld, %ld], "
                   "\"learner\": [%ld, %ld, %ld, %ld, %ld]}, \"inserts_total\": [%.0f, %.0f, %.0f], "
                   "\"weights_version\": [%llu, %llu]",
                raw_refused, b->rss[0], r0->rss[0], m->rss[0], a->rss[0], a->peak[0], b->rss[1], r0->rss[1], m->rss[1],
                a->rss[1], a->peak[1], b->fig[NET_FIG_inserts_total], m->fig[NET_FIG_inserts_total],
                a->fig[NET_FIG_inserts_total], (unsigned long long)b->weights_version,
                (unsigned long long)a->weights_version);
        return;
    }
    fprintf(f, "replay refused %llu (to refuse: %llu, either way: %llu; answered: %llu; valid mutations made invalid: "
               "%llu; frames ZeroMQ dropped: %llu)\n  by reason:", refused,
            (unsigned long long)atomic_load(&r->expect_refused), (unsigned long long)atomic_load(&r->expect_either),
            (unsigned long long)atomic_load(&r->expect_answered), (unsigned long long)atomic_load(&r->poisoned),
            (unsigned long long)atomic_load(&r->dropped_frames));
    for (int k = 1; k < WIRE_REJECTION_COUNT; k++)
        fprintf(f, " %s %llu", wire_rejection_name(k), m->rejected[k] - b->rejected[k]);
    fprintf(f, "\nreplay refused %llu messages that came through the raw connections' ZMTP\n", raw_refused);
    fprintf(f, "replay held %.0f transitions (%.0f stored in all) before, %.0f (%.0f) after the messages, %.0f (%.0f) "
               "after the raw connections\n", b->fig[NET_FIG_size], b->fig[NET_FIG_inserts_total], m->fig[NET_FIG_size],
            m->fig[NET_FIG_inserts_total], a->fig[NET_FIG_size], a->fig[NET_FIG_inserts_total]);
    for (int p = 0; p < 2; p++)
        fprintf(f, "%s VmRSS %.1f MiB before, %.1f and %.1f after each round of messages, %.1f after the raw "
                   "connections (peak %.1f)\n", p ? "learner" : "replay", b->rss[p] / 1024.0, r0->rss[p] / 1024.0,
                m->rss[p] / 1024.0, a->rss[p] / 1024.0, a->peak[p] / 1024.0);
    fprintf(f, "learner weights version %llu before, %llu after the round trip\n",
            (unsigned long long)b->weights_version, (unsigned long long)a->weights_version);
}

void net_check_cleanup(net_check_t *c, int ok) {
    if (!ok) {
        fprintf(stderr, "fuzz_net: the servers' logs are in %s\n", c->dir);
        return;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_net: could not remove %s\n", c->dir);
}

void net_check_cpu(char *out, size_t outlen) {
    snprintf(out, outlen, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            const char *v = strchr(line, ':') + 1;
            v += *v == ' ';
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\n"), v);
            break;
        }
    if (f)
        fclose(f);
}
