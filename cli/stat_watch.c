#include "cli/stat_watch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/stats_client.h"

static double s_v(const Mpo__StatsReply *r, const char *name) { return stats_reply_value(r, name, NAN); }

/* 1234 -> "1234", 123456 -> "123.5k", 12345678 -> "12.35M" */
static const char *s_si(char *buf, size_t len, double x) {
    if (!isfinite(x))
        snprintf(buf, len, "-");
    else if (fabs(x) >= 1e6)
        snprintf(buf, len, "%.2fM", x / 1e6);
    else if (fabs(x) >= 1e4)
        snprintf(buf, len, "%.1fk", x / 1e3);
    else
        snprintf(buf, len, "%.0f", x);
    return buf;
}

static void s_plain(FILE *out, const Mpo__StatsReply *r) {
    static const char *const keys[] = {"size", "inserts_total", "insert_rate_30s", "samples_per_insert_30s",
                                       "learner_updates", "learner_update_rate_30s", "learner_policy_version",
                                       "sample_age_inserts", "episode_return_recent", "eval_return", "evals_total",
                                       "actors_connected", "pending_inserts", "rejected_total"};
    char ts[32];
    time_t now = time(NULL);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(out, "%s", ts);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        fprintf(out, " %s=%.6g", keys[i], s_v(r, keys[i]));
    fprintf(out, "\n");
}

/* the actors heard from longest ago first: those are the ones to look at */
static int s_by_silence(const void *a, const void *b) {
    double x = (*(Mpo__ActorStat *const *)a)->last_seen_s, y = (*(Mpo__ActorStat *const *)b)->last_seen_s;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void s_view(FILE *out, const char *endpoint, double interval, const Mpo__StatsReply *r) {
    char a[32], b[32], c[32], d[32], e[32];
    double up = s_v(r, "uptime_seconds");
    fprintf(out, "\033[H\033[2J"); /* home, clear: redrawn in place */
    fprintf(out, "mpo stat %s  %s  up %dh%02dm  (every %g s, Ctrl-C quits)\n\n", endpoint, r->env, (int)(up / 3600),
            (int)fmod(up / 60, 60), interval);
    fprintf(out, "replay   size %s/%s  inserts %s/s  samples %s/s  spi %.1f (target %g)  sample age %s\n",
            s_si(a, sizeof a, s_v(r, "size")), s_si(b, sizeof b, s_v(r, "capacity")),
            s_si(c, sizeof c, s_v(r, "insert_rate_30s")), s_si(d, sizeof d, s_v(r, "sample_rate_30s")),
            s_v(r, "samples_per_insert_30s"), s_v(r, "samples_per_insert_target"),
            s_si(e, sizeof e, s_v(r, "sample_age_inserts")));
    fprintf(out, "learner  updates %s  %.1f upd/s  weights v%.0f  held %.0f%% of the time  pending %.0f\n",
            s_si(a, sizeof a, s_v(r, "learner_updates")), s_v(r, "learner_update_rate_30s"),
            s_v(r, "learner_policy_version"), 100 * s_v(r, "learner_held_fraction_30s"), s_v(r, "pending_samples"));
    fprintf(out, "returns  train %.1f (last %zu)", s_v(r, "episode_return_recent"), r->n_recent_returns);
    if (s_v(r, "evals_total") > 0)
        fprintf(out, "  eval %.1f ± %.1f (#%.0f, %s updates)", s_v(r, "eval_return"), s_v(r, "eval_return_std"),
                s_v(r, "evals_total"), s_si(a, sizeof a, s_v(r, "eval_learner_updates")));
    else
        fprintf(out, "  eval -");
    fprintf(out, "\nactors   %.0f connected of %zu known  held %.0f%% of the time (%.0f batches)  dropped %.0f  rejected %.0f\n",
            s_v(r, "actors_connected"), r->n_actors, 100 * s_v(r, "actors_held_fraction_30s"),
            s_v(r, "pending_inserts"), s_v(r, "dropped_total"), s_v(r, "rejected_total"));
    if (r->n_actors) {
        Mpo__ActorStat **sorted = malloc(r->n_actors * sizeof *sorted);
        if (sorted) {
            memcpy(sorted, r->actors, r->n_actors * sizeof *sorted);
            qsort(sorted, r->n_actors, sizeof *sorted, s_by_silence);
            fprintf(out, "  %-28s %12s %8s %6s %9s\n", "id", "transitions", "version", "lag", "seen");
            size_t shown = r->n_actors < STAT_WATCH_ACTORS ? r->n_actors : STAT_WATCH_ACTORS;
            for (size_t i = 0; i < shown; i++)
                fprintf(out, "  %-28.28s %12s %8llu %6lld %7.1f s\n", sorted[i]->id,
                        s_si(a, sizeof a, (double)sorted[i]->transitions),
                        (unsigned long long)sorted[i]->policy_version, (long long)sorted[i]->version_lag,
                        sorted[i]->last_seen_s);
            if (r->n_actors > shown)
                fprintf(out, "  … and %zu more (mpo stat without --watch lists them all)\n", r->n_actors - shown);
            free(sorted);
        }
    }
}

void stat_watch_print(FILE *out, bool terminal, const char *endpoint, double interval, const Mpo__StatsReply *r) {
    if (terminal)
        s_view(out, endpoint, interval, r);
    else
        s_plain(out, r);
    fflush(out);
}
