/* stat: `mpo stat`, a replay server's stats for people (a table) and for programs (--json).
 *
 * A DEALER says Hello as a stats client, asks with StatsRequest and prints the StatsReply. Units and
 * help come from this build's stats table (replay/replay_stats.h); a stat a newer server sends that
 * this build does not know is still printed, without a unit. */
#include "cli/stat.h"
#include "cli/stat_watch.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics_http.h"
#include "common/curve.h"
#include "common/stats_client.h"
#include "actor/actor_stats.h"
#include "learner/learner_stats.h"
#include "replay/replay_stats.h"

#define STAT_SLICE_MS 100 /* waits are cut in slices so Ctrl-C is noticed promptly */

static volatile int s_interrupted; /* set by the signal handler only */

static void s_on_signal(int sig) {
    (void)sig;
    s_interrupted = 1;
}

static const char *s_default_endpoint(void) { return config_find("replay_endpoint")->def; }

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: mpo stat [ENDPOINT] [--json] [--watch SECONDS] [--timeout SECONDS] [--config FILE]\n"
            "                [--set KEY=VALUE]\n"
            "Show a replay server's stats: size, rates, samples per insert, rate-limiter waits, actors,\n"
            "recent episode returns and refused messages by reason.\n"
            "  ENDPOINT           the replay server (default %s, the replay_endpoint key's default)\n"
            "  --json             one JSON object (with --watch: one per line)\n"
            "  --watch SECONDS    repeat every SECONDS until Ctrl-C: on a terminal a compact view\n"
            "                     redrawn in place; otherwise one key=value line per interval\n"
            "  --timeout SECONDS  give up when the server does not answer in time (default 3)\n"
            "  --config FILE      a config file, and --set KEY=VALUE a key: for a server with CURVE,\n"
            "  --set KEY=VALUE    curve_key_file and curve_replay_key (also MPO_<KEY>; docs/security.md)\n"
            "Exit status 0, or 1 when the server does not answer or refuses.\n",
            s_default_endpoint());
}

/* ------------------------------------------------------------ printing */

static void s_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void s_json_number(FILE *out, double v) {
    if (!isfinite(v))
        fputs("null", out);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(out, "%.0f", v);
    else { /* exact: a program comparing with /metrics sees the same double */
        char buf[40];
        metrics_http_format_value(buf, sizeof buf, v);
        fputs(buf, out);
    }
}

/* a peer's own stats list as one JSON object */
static void s_json_stats(FILE *out, Mpo__Stat *const *stats, size_t n) {
    fputc('{', out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        s_json_string(out, stats[i]->name);
        fputc(':', out);
        s_json_number(out, stats[i]->value);
    }
    fputc('}', out);
}

static void s_print_json(FILE *out, const char *endpoint, const Mpo__StatsReply *r) {
    fputs("{\"endpoint\":", out);
    s_json_string(out, endpoint);
    fputs(",\"env\":", out);
    s_json_string(out, r->env);
    for (size_t i = 0; i < r->n_stats; i++) {
        fputc(',', out);
        s_json_string(out, r->stats[i]->name);
        fputc(':', out);
        s_json_number(out, r->stats[i]->value);
    }
    fputs(",\"actors\":[", out);
    for (size_t i = 0; i < r->n_actors; i++) {
        const Mpo__ActorStat *a = r->actors[i];
        fputs(i ? ",{\"id\":" : "{\"id\":", out);
        s_json_string(out, a->id);
        fprintf(out,
                ",\"transitions\":%llu,\"batches\":%llu,\"policy_version\":%llu,\"version_lag\":%lld,"
                "\"last_seen_s\":",
                (unsigned long long)a->transitions, (unsigned long long)a->batches,
                (unsigned long long)a->policy_version, (long long)a->version_lag);
        s_json_number(out, a->last_seen_s);
        fprintf(out, ",\"episodes\":%llu,\"held_bytes\":%llu,\"stats\":", (unsigned long long)a->episodes,
                (unsigned long long)a->held_bytes);
        s_json_stats(out, a->stats, a->n_stats);
        fputc('}', out);
    }
    fputs("],\"learner\":", out);
    s_json_stats(out, r->learner_stats, r->n_learner_stats);
    fputs(",\"recent_returns\":[", out);
    for (size_t i = 0; i < r->n_recent_returns; i++) {
        if (i)
            fputc(',', out);
        s_json_number(out, r->recent_returns[i]);
    }
    fputs("],\"rejected\":{", out);
    for (size_t i = 0; i < r->n_rejected; i++) {
        if (i)
            fputc(',', out);
        s_json_string(out, r->rejected[i]->reason);
        fprintf(out, ":%llu", (unsigned long long)r->rejected[i]->count);
    }
    fputs("}}\n", out);
    fflush(out);
}

static void s_format_value(char *buf, size_t len, double v) {
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.2f", v);
}

/* a peer's own stats list, several figures a line: "name value unit", units from this build's
 * table of that peer's stats (none for a figure a newer peer sends) */
static void s_print_stats_list(FILE *out, const char *indent, Mpo__Stat *const *stats, size_t n,
                               const stats_field_t *table, size_t table_n) {
    int col = 0;
    for (size_t i = 0; i < n; i++) {
        char v[64], item[200];
        s_format_value(v, sizeof v, stats[i]->value);
        const stats_field_t *f = stats_table_find(table, table_n, stats[i]->name);
        int len = snprintf(item, sizeof item, "%s %s%s%s", stats[i]->name, v, f ? " " : "", f ? f->unit : "");
        if (col && col + 3 + len > 100) {
            fputc('\n', out);
            col = 0;
        }
        col += fprintf(out, "%s%s", col ? "   " : indent, item);
    }
    if (col)
        fputc('\n', out);
}

/* bytes in B, KiB, MiB or GiB, for a column */
static const char *s_bytes(char *buf, size_t len, double x) {
    static const char *unit[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (x >= 1024 && u < 3)
        x /= 1024, u++;
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", x, unit[u]);
    return buf;
}

static void s_print_table(FILE *out, const char *endpoint, const Mpo__StatsReply *r) {
    fprintf(out, "replay %s  env %s\n", endpoint, r->env);
    for (size_t i = 0; i < r->n_stats; i++) {
        const stats_field_t *info = replay_stats_find(r->stats[i]->name);
        char v[64];
        s_format_value(v, sizeof v, r->stats[i]->value);
        fprintf(out, "  %-28s %16s  %-14s %s\n", r->stats[i]->name, v, info ? info->unit : "",
                info ? info->help : "");
    }
    if (r->n_learner_stats) {
        fprintf(out, "learner (as it last reported):\n");
        size_t tn;
        const stats_field_t *t = learner_stats_table(&tn);
        for (size_t i = 0; i < r->n_learner_stats; i++) {
            const stats_field_t *f = stats_table_find(t, tn, r->learner_stats[i]->name);
            char v[64];
            s_format_value(v, sizeof v, r->learner_stats[i]->value);
            fprintf(out, "  %-28s %16s  %-14s %s\n", r->learner_stats[i]->name, v, f ? f->unit : "",
                    f ? f->help : "");
        }
    }
    fprintf(out, "actors: %zu\n", r->n_actors);
    if (r->n_actors)
        fprintf(out, "  %-32s %12s %9s %8s %6s %10s %9s %10s\n", "id", "transitions", "batches", "version", "lag",
                "last seen", "episodes", "held");
    for (size_t i = 0; i < r->n_actors; i++) {
        const Mpo__ActorStat *a = r->actors[i];
        char held[32];
        fprintf(out, "  %-32.32s %12llu %9llu %8llu %6lld %8.1f s %9llu %10s\n", a->id,
                (unsigned long long)a->transitions, (unsigned long long)a->batches,
                (unsigned long long)a->policy_version, (long long)a->version_lag, a->last_seen_s,
                (unsigned long long)a->episodes, s_bytes(held, sizeof held, (double)a->held_bytes));
        size_t tn;
        const stats_field_t *t = actor_stats_table(&tn);
        s_print_stats_list(out, "      ", a->stats, a->n_stats, t, tn);
    }
    if (r->n_recent_returns) {
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < r->n_recent_returns; i++) {
            double x = r->recent_returns[i];
            sum += x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        fprintf(out, "recent returns: %zu episodes  mean %.2f  min %.2f  max %.2f  last %.2f\n", r->n_recent_returns,
                sum / (double)r->n_recent_returns, lo, hi, r->recent_returns[r->n_recent_returns - 1]);
    } else {
        fprintf(out, "recent returns: none yet\n");
    }
    fprintf(out, "rejected:");
    int any = 0;
    for (size_t i = 0; i < r->n_rejected; i++)
        if (r->rejected[i]->count) {
            fprintf(out, "%s %s %llu", any ? "," : "", r->rejected[i]->reason,
                    (unsigned long long)r->rejected[i]->count);
            any = 1;
        }
    fprintf(out, "%s\n", any ? "" : " none");
    fflush(out);
}

/* the curve_* keys from --config FILE, MPO_<KEY> and --set KEY=VALUE (in that order, as for the
 * roles); 0, or 1 after printing the error */
static int s_curve_config(int argc, char **argv, curve_t *curve) {
    config_t cfg;
    char err[512];
    config_defaults(&cfg);
    int rc = 0;
    for (int i = 1; rc == 0 && i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config"))
            rc = config_load_file(&cfg, argv[++i], err, sizeof err);
    if (rc == 0)
        rc = config_load_env(&cfg, err, sizeof err);
    for (int i = 1; rc == 0 && i + 1 < argc; i++)
        if (!strcmp(argv[i], "--set"))
            rc = config_set_pair(&cfg, argv[++i], err, sizeof err);
    if (rc == 0)
        rc = curve_from_config(curve, &cfg, CURVE_TO_REPLAY, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "mpo stat: %s\n", err);
    return rc != 0;
}

int stat_main(int argc, char **argv) {
    const char *endpoint = NULL;
    int json = 0;
    double watch = 0, timeout = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if ((!strcmp(a, "--config") || !strcmp(a, "--set")) && i + 1 < argc) {
            i++; /* read by s_curve_config */
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if ((!strcmp(a, "--watch") || !strcmp(a, "--timeout")) && i + 1 < argc) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end || !(v > 0) || v > 86400) {
                fprintf(stderr, "mpo stat: %s '%s': expected seconds in (0, 86400]\n", a, argv[i]);
                return 1;
            }
            if (!strcmp(a, "--watch"))
                watch = v;
            else
                timeout = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "mpo stat: unknown option '%s' (mpo stat --help)\n", a);
            return 1;
        } else if (!endpoint) {
            endpoint = a;
        } else {
            fprintf(stderr, "mpo stat: one endpoint please ('%s' and '%s')\n", endpoint, a);
            return 1;
        }
    }
    if (!endpoint)
        endpoint = s_default_endpoint();
    curve_t curve;
    if (s_curve_config(argc, argv, &curve) != 0)
        return 1;

    s_interrupted = 0;
    struct sigaction old_int, old_term;
    if (watch > 0) { /* Ctrl-C ends the watch cleanly, with status 0 */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }
    char err[300], id[64];
    snprintf(id, sizeof id, "stat-%d", (int)getpid());
    stats_client_t *client = stats_client_new(endpoint, id, NULL, &curve, err, sizeof err);
    int rc = 0;
    if (!client) {
        fprintf(stderr, "mpo stat: %s\n", err);
        rc = 1;
        goto done;
    }
    for (;;) {
        if (stats_client_ask(client, timeout, &s_interrupted, err, sizeof err) != 0) {
            if (s_interrupted && watch > 0)
                break;
            /* a refused CURVE handshake is silence to the client: say where to look */
            fprintf(stderr, "mpo stat: %s: %s%s\n", endpoint, err,
                    curve.on ? " (with CURVE: is this client's public key in the server's curve_authorized_keys, "
                               "and curve_replay_key the server's public key?)"
                             : "");
            rc = 1;
            break;
        }
        const Mpo__StatsReply *reply = stats_client_reply(client);
        if (json)
            s_print_json(stdout, endpoint, reply);
        else if (watch > 0)
            stat_watch_print(stdout, isatty(fileno(stdout)), endpoint, watch, reply);
        else
            s_print_table(stdout, endpoint, reply);
        if (watch <= 0)
            break;
        double until = clock_now() + watch;
        while (!s_interrupted && clock_now() < until)
            usleep(STAT_SLICE_MS * 1000);
        if (s_interrupted)
            break;
    }
done:
    explicit_bzero(&curve, sizeof curve);
    stats_client_destroy(&client);
    if (watch > 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    return rc;
}
