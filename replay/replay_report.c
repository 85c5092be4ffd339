#include "replay/replay_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/stats_table.h"
#include "common/transition.h"

/* ---------------------------------------------------------------- counters */

void replay_counts_return(replay_counts_t *c, float episode_return) {
    c->returns[c->returns_next] = episode_return;
    c->returns_next = (c->returns_next + 1) % REPLAY_RECENT_RETURNS;
    if (c->returns_count < REPLAY_RECENT_RETURNS)
        c->returns_count++;
}

void replay_counts_rates(replay_counts_t *c, uint64_t inserted, uint64_t sampled, double ins_busy, double smp_busy,
                         double now) {
    const replay_rate_sample_t *last =
        c->rate_count ? &c->rate_ring[(c->rate_next + REPLAY_RATE_SLOTS - 1) % REPLAY_RATE_SLOTS] : NULL;
    if (last && now - last->t < REPLAY_RATE_PERIOD_S)
        return;
    /* the learner's count as it reported it; a learner that (re)starts, resumed or not, is a new
     * baseline, not a burst of updates */
    if (c->rate_updates > 0 && c->learner_updates >= c->rate_updates)
        c->updates_acc += (double)(c->learner_updates - c->rate_updates);
    c->rate_updates = c->learner_updates;
    replay_rate_sample_t *x = &c->rate_ring[c->rate_next];
    *x = (replay_rate_sample_t){now, (double)inserted, (double)sampled, c->updates_acc, ins_busy, smp_busy};
    c->rate_next = (c->rate_next + 1) % REPLAY_RATE_SLOTS;
    if (c->rate_count < REPLAY_RATE_SLOTS)
        c->rate_count++;
    /* the oldest sample within the window (the oldest there is while the server is younger) */
    const replay_rate_sample_t *o = NULL;
    for (size_t k = c->rate_count; k-- > 1;) {
        const replay_rate_sample_t *y = &c->rate_ring[(c->rate_next + REPLAY_RATE_SLOTS - 1 - k) % REPLAY_RATE_SLOTS];
        if (now - y->t <= REPLAY_RATE_WINDOW_S + 1e-9) {
            o = y;
            break;
        }
    }
    if (!o) { /* one sample (or a gap longer than the window): nothing to measure over yet */
        c->insert_rate = c->sample_rate = c->update_rate = c->actors_held = c->learner_held = 0;
        return;
    }
    double dt = now - o->t;
    c->insert_rate = (x->inserted - o->inserted) / dt;
    c->sample_rate = (x->sampled - o->sampled) / dt;
    c->update_rate = (x->updates - o->updates) / dt;
    c->actors_held = (x->ins_busy - o->ins_busy) / dt;
    c->learner_held = (x->smp_busy - o->smp_busy) / dt;
}

void replay_counts_staleness(replay_counts_t *c, double mean_age) {
    c->staleness += (c->sample_batches ? 0.02 : 1.0) * (mean_age - c->staleness); /* about 50 batches */
}

/* ---------------------------------------------------------------- the stats table */

int replay_report_learning_started(const replay_view_t *v) {
    return replay_buffer_size(v->buffer) >= (v->learning_starts > 0 ? v->learning_starts : 1);
}

void replay_report_values(const replay_view_t *v, double now, double *values) {
    const replay_counts_t *c = v->counts;
    double *x = values;
    x[REPLAY_STAT_size] = (double)replay_buffer_size(v->buffer);
    x[REPLAY_STAT_capacity] = (double)replay_buffer_capacity(v->buffer);
    x[REPLAY_STAT_inserts_total] = (double)replay_buffer_inserted(v->buffer);
    x[REPLAY_STAT_samples_total] = (double)rate_limiter_samples(v->limiter);
    x[REPLAY_STAT_sample_batches_total] = (double)c->sample_batches;
    x[REPLAY_STAT_insert_rate_30s] = c->insert_rate;
    x[REPLAY_STAT_sample_rate_30s] = c->sample_rate;
    x[REPLAY_STAT_samples_per_insert_30s] = c->insert_rate > 0 ? c->sample_rate / c->insert_rate : 0;
    x[REPLAY_STAT_samples_per_insert_target] = rate_limiter_spi(v->limiter);
    x[REPLAY_STAT_actors_held_seconds_total] = rate_limiter_held_seconds(v->limiter, RATE_LIMITER_INSERT);
    x[REPLAY_STAT_learner_held_seconds_total] = rate_limiter_held_seconds(v->limiter, RATE_LIMITER_SAMPLE);
    x[REPLAY_STAT_actors_held_fraction_30s] = c->actors_held;
    x[REPLAY_STAT_learner_held_fraction_30s] = c->learner_held;
    x[REPLAY_STAT_limiter_timeouts_total] = (double)rate_limiter_timeouts(v->limiter);
    x[REPLAY_STAT_pending_inserts] = (double)held_inserts(v->held);
    x[REPLAY_STAT_pending_samples] = (double)held_samples(v->held);
    x[REPLAY_STAT_dropped_total] = (double)c->dropped;
    x[REPLAY_STAT_duplicates_total] = (double)c->duplicates;
    x[REPLAY_STAT_resent_held_total] = (double)c->resent_held;
    int connected = 0;
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
        const peers_actor_t *a = peers_actor_at(v->peers, i);
        /* a live actor sends or resends within ack_timeout, even while the rate limiter holds its
         * acks (a throttled actor may be silent for longer than 10 s, never for 2 ack_timeouts) */
        if (a && now - a->last_seen < v->active_s)
            connected++;
    }
    x[REPLAY_STAT_actors_connected] = connected;
    x[REPLAY_STAT_episodes_total] = (double)c->episodes;
    x[REPLAY_STAT_learner_updates] = (double)c->learner_updates;
    x[REPLAY_STAT_learner_policy_version] = (double)c->learner_version;
    x[REPLAY_STAT_learner_update_rate_30s] = c->update_rate;
    x[REPLAY_STAT_sample_age_inserts] = c->staleness;
    uint32_t n_recent;
    x[REPLAY_STAT_episode_return_recent] = replay_counts_recent_mean(c, &n_recent);
    uint64_t rejected = 0;
    for (int i = 1; i < WIRE_REJECTION_COUNT; i++)
        rejected += c->rejected[i];
    x[REPLAY_STAT_rejected_total] = (double)rejected;
    x[REPLAY_STAT_curve_refused_total] = (double)v->curve_refused;
    x[REPLAY_STAT_evals_total] = (double)c->evals;
    x[REPLAY_STAT_eval_return] = c->eval_return;
    x[REPLAY_STAT_eval_return_std] = c->eval_std;
    x[REPLAY_STAT_eval_env_steps] = (double)c->eval_env_steps;
    x[REPLAY_STAT_eval_learner_updates] = (double)c->eval_learner_step;
    x[REPLAY_STAT_replies_dropped_total] = (double)v->replies_dropped;
    x[REPLAY_STAT_snapshots_total] = (double)c->snapshots;
    x[REPLAY_STAT_snapshot_failures_total] = (double)c->snapshot_failures;
    x[REPLAY_STAT_snapshot_age_seconds] = c->snapshots_on ? now - c->snapshot_t : 0;
    x[REPLAY_STAT_snapshot_seconds] = c->snapshot_seconds;
    x[REPLAY_STAT_snapshot_pause_seconds] = c->snapshot_pause;
    x[REPLAY_STAT_snapshot_bytes] = c->snapshot_bytes;
    x[REPLAY_STAT_restored_transitions] = (double)c->restored;
    x[REPLAY_STAT_memory_bytes] = (double)(replay_buffer_bytes(v->buffer) + held_bytes(v->held) + v->scratch_bytes);
    x[REPLAY_STAT_uptime_seconds] = now - v->started;
    x[REPLAY_STAT_learning_started] = replay_report_learning_started(v);
}

void replay_report_log(const replay_view_t *v, double now) {
    double x[REPLAY_STAT_COUNT];
    replay_report_values(v, now, x);
    log_info("replay: size %.0f/%.0f  insert %.0f/s  sample %.0f/s  spi %.2f (target %g)  actors %.0f  "
             "held %.0f ins %.0f smp  timeouts %.0f  dup %.0f  rejected %.0f",
             x[REPLAY_STAT_size], x[REPLAY_STAT_capacity], x[REPLAY_STAT_insert_rate_30s], x[REPLAY_STAT_sample_rate_30s],
             x[REPLAY_STAT_samples_per_insert_30s], x[REPLAY_STAT_samples_per_insert_target],
             x[REPLAY_STAT_actors_connected], x[REPLAY_STAT_pending_inserts], x[REPLAY_STAT_pending_samples],
             x[REPLAY_STAT_limiter_timeouts_total], x[REPLAY_STAT_duplicates_total], x[REPLAY_STAT_rejected_total]);
}

/* bytes of each actor entry's held batches (by slot; a batch of a reused slot's old actor counts
 * for none); by is PEERS_MAX_ACTORS long */
static void s_held_by_actor(const replay_view_t *v, uint64_t *by) {
    memset(by, 0, PEERS_MAX_ACTORS * sizeof *by);
    for (size_t k = 0; k < held_inserts(v->held); k++) {
        const held_insert_t *h = held_insert_at(v->held, k);
        const peers_actor_t *a = h->actor >= 0 ? peers_actor_at(v->peers, (size_t)h->actor) : NULL;
        if (a && a->gen == h->gen)
            by[h->actor] += h->bytes;
    }
}

/* ---------------------------------------------------------------- /metrics */

/* one figure of one actor's own list */
typedef struct {
    const char *name;
    const char *actor;
    size_t order; /* the actor's slot: samples of one family keep the table's order */
    double value;
} s_reported_t;

static int s_reported_cmp(const void *pa, const void *pb) {
    const s_reported_t *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->order > b->order) - (a->order < b->order);
}

/* Each actor's own list as mpo_actor_<name>{actor="<id>"}. Actors may list different names, and
 * the text format wants every sample of a family together under one HELP and TYPE: so the figures
 * are sorted by name first. */
static void s_metrics_actor_lists(const replay_view_t *v, metrics_http_buf_t *b) {
    size_t n = 0;
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
        const peers_actor_t *a = peers_actor_at(v->peers, i);
        n += a ? a->stats.n : 0;
    }
    if (n == 0)
        return;
    s_reported_t *all = malloc(n * sizeof *all); /* on the render timer, never per message */
    if (!all) {
        b->oom = 1; /* a partial exposition is not published */
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
        const peers_actor_t *a = peers_actor_at(v->peers, i);
        for (size_t j = 0; a && j < a->stats.n; j++)
            all[k++] = (s_reported_t){a->stats.name[j], a->id, i, a->stats.value[j]};
    }
    MPO_ASSERT(k == n);
    qsort(all, n, sizeof *all, s_reported_cmp);
    char family[16 + WIRE_STAT_NAME_MAX];
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(all[i].name, all[i - 1].name) != 0) {
            snprintf(family, sizeof family, "mpo_actor_%s", all[i].name);
            metrics_http_family(b, family, "untyped", "as reported by the actor");
        }
        metrics_http_label_t l = {"actor", all[i].actor};
        metrics_http_sample(b, family, &l, 1, all[i].value);
    }
    free(all);
}

void replay_report_metrics(const replay_view_t *v, double now, metrics_http_buf_t *b) {
    double x[REPLAY_STAT_COUNT];
    replay_report_values(v, now, x);
    size_t n_fields;
    const stats_field_t *table = replay_stats_table(&n_fields);
    stats_table_metrics(b, "mpo_replay", table, n_fields, x);
    metrics_http_family(b, "mpo_replay_rejected_by_reason_total", "counter", "messages refused, by reason");
    for (int i = 1; i < WIRE_REJECTION_COUNT; i++) {
        metrics_http_label_t l = {"reason", wire_rejection_name((wire_rejection_t)i)};
        metrics_http_sample(b, "mpo_replay_rejected_by_reason_total", &l, 1, (double)v->counts->rejected[i]);
    }
    static const struct {
        const char *name, *type, *help;
    } actor_series[] = {
        {"mpo_replay_actor_transitions_total", "counter", "transitions stored from this actor"},
        {"mpo_replay_actor_episodes_total", "counter", "episodes this actor finished"},
        {"mpo_replay_actor_policy_version", "gauge", "weights version of this actor's last batch"},
        {"mpo_replay_actor_version_lag", "gauge", "learner's newest weights version minus the actor's"},
        {"mpo_replay_actor_last_seen_seconds", "gauge", "seconds since this actor's last message"},
        {"mpo_replay_actor_held_bytes", "gauge", "bytes of this actor's batches the rate limiter holds"},
    };
    uint64_t held[PEERS_MAX_ACTORS];
    s_held_by_actor(v, held);
    for (size_t k = 0; k < sizeof actor_series / sizeof actor_series[0]; k++) {
        metrics_http_family(b, actor_series[k].name, actor_series[k].type, actor_series[k].help);
        for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
            const peers_actor_t *a = peers_actor_at(v->peers, i);
            if (!a)
                continue;
            double values[] = {(double)a->transitions, (double)a->episodes, (double)a->policy_version,
                               (double)v->counts->learner_version - (double)a->policy_version, now - a->last_seen,
                               (double)held[i]};
            metrics_http_label_t l = {"actor", a->id};
            metrics_http_sample(b, actor_series[k].name, &l, 1, values[k]);
        }
    }
    s_metrics_actor_lists(v, b);
}

/* ---------------------------------------------------------------- the StatsReply */

struct replay_reply_s {
    Mpo__Message msg;
    Mpo__StatsReply reply;
    Mpo__Stat stats[REPLAY_STAT_COUNT], *stat_p[REPLAY_STAT_COUNT];
    Mpo__Stat learner[WIRE_MAX_STATS], *learner_p[WIRE_MAX_STATS];
    Mpo__Rejection rej[WIRE_REJECTION_COUNT], *rej_p[WIRE_REJECTION_COUNT];
    float returns[REPLAY_RECENT_RETURNS];
    /* sized to the actors in use and their lists: a stats request is not the hot path */
    Mpo__ActorStat *actors, **actor_p;
    Mpo__Stat *actor_stats, **actor_stat_p;
};

void replay_reply_destroy(replay_reply_t **self_p) {
    replay_reply_t *self = *self_p;
    if (!self)
        return;
    free(self->actors);
    free(self->actor_p);
    free(self->actor_stats);
    free(self->actor_stat_p);
    free(self);
    *self_p = NULL;
}

Mpo__Message *replay_reply_msg(replay_reply_t *self) { return &self->msg; }

/* the actors, each with its own list; none when their arrays cannot be had */
static void s_reply_actors(replay_reply_t *self, const replay_view_t *v, double now) {
    size_t n_actors = 0, n_stats = 0;
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
        const peers_actor_t *a = peers_actor_at(v->peers, i);
        n_actors += a != NULL;
        n_stats += a ? a->stats.n : 0;
    }
    if (n_actors == 0)
        return;
    self->actors = calloc(n_actors, sizeof *self->actors);
    self->actor_p = calloc(n_actors, sizeof *self->actor_p);
    self->actor_stats = calloc(n_stats + 1, sizeof *self->actor_stats);
    self->actor_stat_p = calloc(n_stats + 1, sizeof *self->actor_stat_p);
    if (!self->actors || !self->actor_p || !self->actor_stats || !self->actor_stat_p) {
        log_warn("replay: no memory for the actors of a stats reply; sent without them");
        return;
    }
    uint64_t held[PEERS_MAX_ACTORS];
    s_held_by_actor(v, held);
    size_t k = 0, used = 0;
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
        const peers_actor_t *a = peers_actor_at(v->peers, i);
        if (!a)
            continue;
        Mpo__ActorStat *s = &self->actors[k];
        mpo__actor_stat__init(s);
        s->id = (char *)a->id;
        s->transitions = a->transitions;
        s->batches = a->batches;
        s->policy_version = a->policy_version;
        s->version_lag = (int64_t)v->counts->learner_version - (int64_t)a->policy_version;
        s->last_seen_s = now - a->last_seen;
        s->episodes = a->episodes;
        s->held_bytes = held[i];
        s->n_stats = peers_stats_to_wire(&a->stats, self->actor_stats + used, self->actor_stat_p + used);
        s->stats = self->actor_stat_p + used;
        used += s->n_stats;
        self->actor_p[k++] = s;
    }
    MPO_ASSERT(k == n_actors && used == n_stats);
    self->reply.n_actors = n_actors;
    self->reply.actors = self->actor_p;
}

replay_reply_t *replay_reply_new(const replay_view_t *v, double now) {
    replay_reply_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    const replay_counts_t *c = v->counts;
    mpo__stats_reply__init(&self->reply);
    double x[REPLAY_STAT_COUNT];
    replay_report_values(v, now, x);
    size_t n_fields;
    const stats_field_t *table = replay_stats_table(&n_fields);
    stats_table_to_wire(self->stats, self->stat_p, table, n_fields, x);
    self->reply.n_stats = n_fields;
    self->reply.stats = self->stat_p;
    s_reply_actors(self, v, now);
    size_t first = (c->returns_next + REPLAY_RECENT_RETURNS - c->returns_count) % REPLAY_RECENT_RETURNS;
    for (size_t i = 0; i < c->returns_count; i++) /* oldest first, newest last */
        self->returns[i] = c->returns[(first + i) % REPLAY_RECENT_RETURNS];
    self->reply.n_recent_returns = c->returns_count;
    self->reply.recent_returns = self->returns;
    size_t n_rej = 0;
    for (int i = 1; i < WIRE_REJECTION_COUNT; i++) { /* every reason, zeros included */
        mpo__rejection__init(&self->rej[n_rej]);
        self->rej[n_rej].reason = (char *)wire_rejection_name((wire_rejection_t)i);
        self->rej[n_rej].count = c->rejected[i];
        self->rej_p[n_rej] = &self->rej[n_rej];
        n_rej++;
    }
    self->reply.n_rejected = n_rej;
    self->reply.rejected = self->rej_p;
    self->reply.n_learner_stats = peers_stats_to_wire(&c->learner_stats, self->learner, self->learner_p);
    self->reply.learner_stats = self->learner_p;
    self->reply.env = (char *)v->env;
    wire_init_message(&self->msg);
    self->msg.body_case = MPO__MESSAGE__BODY_STATS_REPLY;
    self->msg.stats_reply = &self->reply;
    return self;
}

double replay_counts_recent_mean(const replay_counts_t *c, uint32_t *n) {
    double sum = 0;
    for (size_t i = 0; i < c->returns_count; i++)
        sum += c->returns[i];
    *n = (uint32_t)c->returns_count;
    return c->returns_count ? sum / (double)c->returns_count : 0.0;
}
