#include "replay/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"
#include "common/fnv.h"
#include "common/transition.h"
#include "common/wire.h"

#define S_MAGIC 0x50414e534f504dULL /* "MPOSNAP" */
#define S_NAME_MAX 48
#define S_MAX_COUNTERS 256                /* far above what any build writes: a bound for a damaged count */
#define S_CHUNK_BYTES (8u << 20)          /* hashed, then written or read, a piece at a time */
#define S_MAX_RECORDS (1ull << 40)        /* a damaged size must not overflow the length computed from it */

/* The file's first bytes, as the struct lies in memory (padding zeroed, fields ordered so there is
 * none). */
typedef struct {
    uint64_t magic;
    uint32_t version, obs_dim, act_dim, record_floats;
    uint32_t n_counters, n_actors, n_returns, reserved;
    uint64_t size, capacity;
    double written_at;
    char env[CONFIG_STR_MAX];
} s_header_t;

typedef struct {
    char name[S_NAME_MAX];
    double value;
} s_counter_t;

typedef struct {
    char id[PEERS_ACTOR_ID_MAX];
    uint64_t incarnation, last_seq, takeovers, transitions, batches, episodes, policy_version;
    double silent_s;
} s_actor_t;

/* ---------------------------------------------------------------- counters by name */

/* the counters as doubles (exact for counts below 2^53) */
typedef struct {
    double inserted, duplicates, resent_held, dropped, episodes, sample_batches, learner_updates, learner_version;
    double lim_inserts, lim_samples, lim_timeouts, lim_held_insert, lim_held_sample;
    double spi, min_diff, max_diff; /* the window the limiter's counts belong to */
    /* the newest evaluation: the learner writes eval.csv when the count grows, so it goes on */
    double evals, eval_version, eval_learner_step, eval_env_steps, eval_episodes, eval_return, eval_std;
    double rejected[WIRE_REJECTION_COUNT];
} s_counters_t;

typedef struct {
    char name[S_NAME_MAX];
    double *value;
    int any_sign; /* not a count (a window bound, a return): any finite value */
} s_named_t;

#define S_N_NAMED (23 + WIRE_REJECTION_COUNT)

/* every counter of c by name; returns the count */
static size_t s_named(s_counters_t *c, s_named_t *out) {
    const struct {
        const char *name;
        double *value;
        int any_sign;
    } fixed[] = {
        {"inserted", &c->inserted, 0},
        {"duplicates", &c->duplicates, 0},
        {"resent_held", &c->resent_held, 0},
        {"dropped", &c->dropped, 0},
        {"episodes", &c->episodes, 0},
        {"sample_batches", &c->sample_batches, 0},
        {"learner_updates", &c->learner_updates, 0},
        {"learner_version", &c->learner_version, 0},
        {"limiter_inserts", &c->lim_inserts, 0},
        {"limiter_samples", &c->lim_samples, 0},
        {"limiter_timeouts", &c->lim_timeouts, 0},
        {"limiter_held_insert_s", &c->lim_held_insert, 0},
        {"limiter_held_sample_s", &c->lim_held_sample, 0},
        {"limiter_spi", &c->spi, 1},
        {"limiter_min_diff", &c->min_diff, 1},
        {"limiter_max_diff", &c->max_diff, 1},
        {"evals", &c->evals, 0},
        {"eval_version", &c->eval_version, 0},
        {"eval_learner_step", &c->eval_learner_step, 0},
        {"eval_env_steps", &c->eval_env_steps, 0},
        {"eval_episodes", &c->eval_episodes, 0},
        {"eval_return", &c->eval_return, 1},
        {"eval_std", &c->eval_std, 0},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, n++) {
        snprintf(out[n].name, S_NAME_MAX, "%s", fixed[i].name);
        out[n].value = fixed[i].value;
        out[n].any_sign = fixed[i].any_sign;
    }
    for (int r = 1; r < WIRE_REJECTION_COUNT; r++, n++) {
        snprintf(out[n].name, S_NAME_MAX, "rejected_%s", wire_rejection_name((wire_rejection_t)r));
        out[n].value = &c->rejected[r];
        out[n].any_sign = 0;
    }
    MPO_ASSERT(n <= S_N_NAMED);
    return n;
}

static void s_counters_from(const snapshot_parts_t *p, s_counters_t *c) {
    memset(c, 0, sizeof *c);
    const replay_counts_t *k = p->counts;
    rate_limiter_counts_t l = rate_limiter_counts(p->limiter);
    c->inserted = (double)replay_buffer_inserted(p->buffer);
    c->duplicates = (double)k->duplicates;
    c->resent_held = (double)k->resent_held;
    c->dropped = (double)k->dropped;
    c->episodes = (double)k->episodes;
    c->sample_batches = (double)k->sample_batches;
    c->learner_updates = (double)k->learner_updates;
    c->learner_version = (double)k->learner_version;
    c->lim_inserts = (double)l.inserts;
    c->lim_samples = (double)l.samples;
    c->lim_timeouts = (double)l.timeouts;
    c->lim_held_insert = l.held_s[RATE_LIMITER_INSERT];
    c->lim_held_sample = l.held_s[RATE_LIMITER_SAMPLE];
    c->spi = rate_limiter_spi(p->limiter);
    c->min_diff = rate_limiter_min_diff(p->limiter);
    c->max_diff = rate_limiter_max_diff(p->limiter);
    c->evals = (double)k->evals;
    c->eval_version = (double)k->eval_version;
    c->eval_learner_step = (double)k->eval_learner_step;
    c->eval_env_steps = (double)k->eval_env_steps;
    c->eval_episodes = (double)k->eval_episodes;
    c->eval_return = k->eval_return;
    c->eval_std = k->eval_std;
    for (int r = 1; r < WIRE_REJECTION_COUNT; r++)
        c->rejected[r] = (double)k->rejected[r];
}

/* ---------------------------------------------------------------- writing */

/* a file being written: every byte goes through the hash; small pieces gather in buf */
typedef struct {
    int fd, failed;
    uint64_t sum, bytes;
    unsigned char *buf;
    size_t used;
} s_out_t;

static void s_write_all(s_out_t *o, const void *data, size_t n) {
    const char *p = data;
    while (n > 0 && !o->failed) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            o->failed = w < 0 ? errno : EIO;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void s_flush(s_out_t *o) {
    s_write_all(o, o->buf, o->used);
    o->used = 0;
}

static void s_put(s_out_t *o, const void *data, size_t n) {
    const char *p = data;
    o->bytes += n;
    while (n > 0) {
        size_t m = n < S_CHUNK_BYTES ? n : S_CHUNK_BYTES;
        o->sum = fnv1a(o->sum, p, m);
        if (o->used + m > S_CHUNK_BYTES)
            s_flush(o);
        if (m == S_CHUNK_BYTES) /* a whole chunk goes straight from the ring */
            s_write_all(o, p, m);
        else {
            memcpy(o->buf + o->used, p, m);
            o->used += m;
        }
        p += m;
        n -= m;
    }
}

int snapshot_save(const snapshot_parts_t *parts, const char *dir, double now, double wall, snapshot_info_t *info,
                  char *err, size_t errlen) {
    char path[CONFIG_STR_MAX + 32], tmp[CONFIG_STR_MAX + 40];
    snprintf(path, sizeof path, "%s/" SNAPSHOT_FILE, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    s_out_t o = {.fd = -1, .sum = FNV_OFFSET, .buf = malloc(S_CHUNK_BYTES)};
    if (!o.buf) {
        snprintf(err, errlen, "cannot write snapshot '%s': out of memory", path);
        return -MPO_EIO;
    }
    o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o.fd < 0) {
        snprintf(err, errlen, "cannot write snapshot '%s': %s", tmp, strerror(errno));
        free(o.buf);
        return -MPO_EIO;
    }
    const replay_buffer_t *b = parts->buffer;
    const replay_counts_t *k = parts->counts;
    s_counters_t c;
    s_counters_from(parts, &c);
    s_named_t named[S_N_NAMED];
    size_t n_counters = s_named(&c, named);
    size_t n_actors = 0;
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++)
        n_actors += peers_actor_at(parts->peers, i) != NULL;

    s_header_t h;
    memset(&h, 0, sizeof h);
    h.magic = S_MAGIC;
    h.version = SNAPSHOT_VERSION;
    h.obs_dim = (uint32_t)replay_buffer_obs_dim(b);
    h.act_dim = (uint32_t)replay_buffer_act_dim(b);
    h.record_floats = (uint32_t)transition_floats((int)h.obs_dim, (int)h.act_dim);
    h.n_counters = (uint32_t)n_counters;
    h.n_actors = (uint32_t)n_actors;
    h.n_returns = (uint32_t)k->returns_count;
    h.size = replay_buffer_size(b);
    h.capacity = replay_buffer_capacity(b);
    h.written_at = wall;
    snprintf(h.env, sizeof h.env, "%s", parts->env);
    s_put(&o, &h, sizeof h);
    for (size_t i = 0; i < n_counters; i++) {
        s_counter_t e;
        memset(&e, 0, sizeof e);
        memcpy(e.name, named[i].name, S_NAME_MAX);
        e.value = *named[i].value;
        s_put(&o, &e, sizeof e);
    }
    for (size_t i = 0; i < PEERS_MAX_ACTORS; i++) {
        const peers_actor_t *a = peers_actor_at(parts->peers, i);
        if (!a)
            continue;
        s_actor_t e;
        memset(&e, 0, sizeof e);
        snprintf(e.id, sizeof e.id, "%s", a->id);
        e.incarnation = a->incarnation;
        e.last_seq = a->last_seq;
        e.takeovers = a->takeovers;
        e.transitions = a->transitions;
        e.batches = a->batches;
        e.episodes = a->episodes;
        e.policy_version = a->policy_version;
        e.silent_s = now > a->last_seen ? now - a->last_seen : 0;
        s_put(&o, &e, sizeof e);
    }
    size_t first = (k->returns_next + REPLAY_RECENT_RETURNS - k->returns_count) % REPLAY_RECENT_RETURNS;
    for (size_t i = 0; i < k->returns_count; i++)
        s_put(&o, &k->returns[(first + i) % REPLAY_RECENT_RETURNS], sizeof(float));
    for (int run = 0; run < 2; run++) {
        const float *records;
        size_t n = replay_buffer_run(b, run, &records);
        s_put(&o, records, n * h.record_floats * sizeof(float));
    }
    uint64_t sum = o.sum;
    s_put(&o, &sum, sizeof sum);
    s_flush(&o);
    free(o.buf);
    if (!o.failed && fsync(o.fd) != 0)
        o.failed = errno;
    if (close(o.fd) != 0 && !o.failed)
        o.failed = errno;
    if (!o.failed && rename(tmp, path) != 0)
        o.failed = errno;
    if (o.failed) {
        snprintf(err, errlen, "cannot write snapshot '%s': %s", path, strerror(o.failed));
        unlink(tmp);
        return -MPO_EIO;
    }
    /* the rename itself is durable only once the directory is synced */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    *info = (snapshot_info_t){.size = h.size, .restored = h.size, .inserted = replay_buffer_inserted(b),
                              .actors = n_actors, .bytes = o.bytes, .written_at = wall, .limiter_restored = 1};
    return 0;
}

/* ---------------------------------------------------------------- reading */

/* why a load failed that is not the file's fault: errno says more */
static const char S_UNREADABLE[] = "cannot be read";

/* n bytes from fd into p, hashed. 0, or -1 when the file ends first or a read fails (errno). */
static int s_get(int fd, void *p, size_t n, uint64_t *sum) {
    char *q = p;
    size_t left = n;
    while (left > 0) {
        ssize_t r = read(fd, q, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            return -1;
        }
        q += r;
        left -= (size_t)r;
    }
    if (sum)
        *sum = fnv1a(*sum, p, n);
    return 0;
}

/* the header's claims against this server and the file's length; NULL when they hold */
static const char *s_check_header(const s_header_t *h, const snapshot_parts_t *p, uint64_t file_len, char *why,
                                  size_t whylen) {
    int obs = replay_buffer_obs_dim(p->buffer), act = replay_buffer_act_dim(p->buffer);
    if (h->magic != S_MAGIC)
        return "is not an mpo replay snapshot";
    if (h->version != SNAPSHOT_VERSION) {
        snprintf(why, whylen, "is format version %u; this build reads version %d", h->version, SNAPSHOT_VERSION);
        return why;
    }
    if (memchr(h->env, 0, sizeof h->env) == NULL || strcmp(h->env, p->env) != 0 || h->obs_dim != (uint32_t)obs ||
        h->act_dim != (uint32_t)act) {
        snprintf(why, whylen, "holds %.64s (obs %u, act %u); this server is %.64s (obs %d, act %d)",
                 memchr(h->env, 0, sizeof h->env) ? h->env : "an unnamed env", h->obs_dim, h->act_dim, p->env, obs,
                 act);
        return why;
    }
    if (h->record_floats != transition_floats(obs, act) || h->n_counters > S_MAX_COUNTERS ||
        h->n_actors > PEERS_MAX_ACTORS || h->n_returns > REPLAY_RECENT_RETURNS || h->size > S_MAX_RECORDS ||
        h->reserved != 0 || !isfinite(h->written_at)) {
        snprintf(why, whylen,
                 "has an impossible header (%u floats per record, %u counters, %u actors, %u returns, %llu records)",
                 h->record_floats, h->n_counters, h->n_actors, h->n_returns, (unsigned long long)h->size);
        return why;
    }
    uint64_t want = sizeof *h + (uint64_t)h->n_counters * sizeof(s_counter_t) +
                    (uint64_t)h->n_actors * sizeof(s_actor_t) + (uint64_t)h->n_returns * sizeof(float) +
                    h->size * h->record_floats * sizeof(float) + sizeof(uint64_t);
    if (file_len < want) {
        snprintf(why, whylen, "is truncated (%llu bytes of the %llu its header announces)",
                 (unsigned long long)file_len, (unsigned long long)want);
        return why;
    }
    if (file_len > want) {
        snprintf(why, whylen, "has %llu bytes after its end", (unsigned long long)(file_len - want));
        return why;
    }
    return NULL;
}

/* the counters, actors and returns read and checked, before anything of the server changes */
typedef struct {
    s_counters_t c;
    s_actor_t *actors;
    float returns[REPLAY_RECENT_RETURNS];
} s_small_t;

static const char *s_check_small(const s_header_t *h, s_counter_t *raw, s_small_t *s, char *why, size_t whylen) {
    s_named_t named[S_N_NAMED];
    size_t n_named = s_named(&s->c, named);
    for (uint32_t i = 0; i < h->n_counters; i++) {
        s_counter_t *e = &raw[i];
        if (memchr(e->name, 0, S_NAME_MAX) == NULL)
            return "has a counter name without its end";
        size_t j = 0;
        while (j < n_named && strcmp(named[j].name, e->name) != 0)
            j++;
        if (j == n_named)
            continue; /* a newer build's counter: this one does not count it */
        if (!isfinite(e->value) || (!named[j].any_sign && (e->value < 0 || e->value > 1.8e19))) {
            snprintf(why, whylen, "has counter %s = %g", e->name, e->value);
            return why;
        }
        *named[j].value = e->value;
    }
    if (s->c.inserted < (double)h->size)
        return "counts fewer transitions inserted than it holds";
    for (uint32_t i = 0; i < h->n_actors; i++) {
        s_actor_t *a = &s->actors[i];
        if (memchr(a->id, 0, sizeof a->id) == NULL || a->id[0] == 0) {
            snprintf(why, whylen, "has actor %u without an id", i);
            return why;
        }
        if (!isfinite(a->silent_s) || a->silent_s < 0) {
            snprintf(why, whylen, "has actor '%s' silent for %g s", a->id, a->silent_s);
            return why;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(s->actors[j].id, a->id) == 0) {
                snprintf(why, whylen, "lists actor '%s' twice", a->id);
                return why;
            }
    }
    for (uint32_t i = 0; i < h->n_returns; i++)
        if (!isfinite(s->returns[i]))
            return "holds an episode return that is not finite";
    return NULL;
}

/* the records into the (emptied) ring a chunk at a time, hashed and checked; the oldest beyond the
 * ring's capacity are read and dropped. NULL, or why not. */
static const char *s_read_records(int fd, const s_header_t *h, replay_buffer_t *b, uint64_t *sum) {
    size_t per = h->record_floats, chunk = S_CHUNK_BYTES / (per * sizeof(float));
    float *buf = malloc(chunk * per * sizeof(float));
    if (!buf) {
        errno = ENOMEM;
        return S_UNREADABLE;
    }
    uint64_t skip = h->size > replay_buffer_capacity(b) ? h->size - replay_buffer_capacity(b) : 0;
    const char *bad = NULL;
    for (uint64_t done = 0; !bad && done < h->size;) {
        size_t m = h->size - done < chunk ? (size_t)(h->size - done) : chunk;
        if (s_get(fd, buf, m * per * sizeof(float), sum) != 0) {
            bad = S_UNREADABLE;
            break;
        }
        for (size_t i = 0; i < m * per; i++)
            if (!isfinite(buf[i])) {
                bad = "holds a transition value that is not finite";
                break;
            }
        size_t from = done + m <= skip ? m : done >= skip ? 0 : (size_t)(skip - done);
        if (!bad && from < m)
            replay_buffer_append(b, buf + from * per, m - from);
        done += m;
    }
    int saved = errno;
    free(buf);
    errno = saved;
    return bad;
}

int snapshot_load(const snapshot_parts_t *parts, const char *path, double now, double wall, snapshot_info_t *info,
                  char *err, size_t errlen) {
    /* the records are appended: into a ring that holds none, or they would follow others */
    MPO_ASSERT(replay_buffer_size(parts->buffer) == 0 && replay_buffer_inserted(parts->buffer) == 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open snapshot '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -MPO_EIO;
    }
    char why[256];
    const char *bad = NULL;
    int rc = -MPO_EFORMAT, io_errno = 0;
    uint64_t sum = FNV_OFFSET, stored = 0;
    s_header_t h;
    s_counter_t *raw = NULL;
    s_small_t small;
    memset(&small, 0, sizeof small);
    if ((uint64_t)st.st_size < sizeof h)
        bad = "is truncated (shorter than its header)";
    else if (s_get(fd, &h, sizeof h, &sum) != 0)
        bad = S_UNREADABLE;
    else
        bad = s_check_header(&h, parts, (uint64_t)st.st_size, why, sizeof why);
    if (!bad) {
        raw = calloc(h.n_counters + 1, sizeof *raw);
        small.actors = calloc(h.n_actors + 1, sizeof *small.actors);
        if (!raw || !small.actors) {
            bad = S_UNREADABLE;
            errno = ENOMEM;
        } else if (s_get(fd, raw, h.n_counters * sizeof *raw, &sum) != 0 ||
                   s_get(fd, small.actors, h.n_actors * sizeof *small.actors, &sum) != 0 ||
                   s_get(fd, small.returns, h.n_returns * sizeof(float), &sum) != 0)
            bad = S_UNREADABLE;
        else
            bad = s_check_small(&h, raw, &small, why, sizeof why);
    }
    if (!bad)
        bad = s_read_records(fd, &h, parts->buffer, &sum);
    if (!bad && s_get(fd, &stored, sizeof stored, NULL) != 0)
        bad = S_UNREADABLE;
    if (bad == S_UNREADABLE) /* the file ends early (it changed while read), a read fails, no memory */
        io_errno = errno ? errno : EIO;
    if (!bad && stored != sum)
        bad = "fails its checksum (damaged)";
    close(fd);
    free(raw);
    if (bad) {
        if (bad == S_UNREADABLE)
            rc = io_errno == ENOMEM ? -MPO_ENOMEM : -MPO_EIO;
        snprintf(err, errlen, "snapshot '%s' %s%s%s; not loaded", path, bad, io_errno ? ": " : "",
                 io_errno ? strerror(io_errno) : "");
        free(small.actors);
        replay_buffer_clear(parts->buffer);
        return rc;
    }

    /* every check passed: the server takes it over */
    const s_counters_t *c = &small.c;
    replay_buffer_set_inserted(parts->buffer, (uint64_t)c->inserted);
    replay_counts_t *k = parts->counts;
    k->duplicates = (uint64_t)c->duplicates;
    k->resent_held = (uint64_t)c->resent_held;
    k->dropped = (uint64_t)c->dropped;
    k->episodes = (uint64_t)c->episodes;
    k->sample_batches = (uint64_t)c->sample_batches;
    k->learner_updates = (uint64_t)c->learner_updates;
    k->learner_version = (uint64_t)c->learner_version;
    for (int r = 1; r < WIRE_REJECTION_COUNT; r++)
        k->rejected[r] = (uint64_t)c->rejected[r];
    k->evals = (uint64_t)c->evals;
    k->eval_version = (uint64_t)c->eval_version;
    k->eval_learner_step = (uint64_t)c->eval_learner_step;
    k->eval_env_steps = (uint64_t)c->eval_env_steps;
    k->eval_episodes = c->eval_episodes < 4294967296.0 ? (uint32_t)c->eval_episodes : UINT32_MAX;
    k->eval_return = (float)c->eval_return;
    k->eval_std = (float)c->eval_std;
    for (uint32_t i = 0; i < h.n_returns; i++)
        replay_counts_return(k, small.returns[i]);
    /* the limiter's counts mean something only in the window they were counted in */
    const rate_limiter_t *lim = parts->limiter;
    int same_window = c->spi == rate_limiter_spi(lim) && c->min_diff == rate_limiter_min_diff(lim) &&
                      c->max_diff == rate_limiter_max_diff(lim);
    if (same_window) {
        rate_limiter_counts_t l = {(uint64_t)c->lim_inserts,
                                   (uint64_t)c->lim_samples,
                                   (uint64_t)c->lim_timeouts,
                                   {c->lim_held_insert, c->lim_held_sample}};
        rate_limiter_restore(parts->limiter, &l);
    }
    /* the rates are measured from the next sample on, not from zero (a first interval of millions
     * per second): no sample before this one counts */
    k->rate_count = 0;
    double down = wall > h.written_at ? wall - h.written_at : 0;
    size_t actors = 0;
    for (uint32_t i = 0; i < h.n_actors; i++) {
        const s_actor_t *e = &small.actors[i];
        peers_actor_t a;
        memset(&a, 0, sizeof a);
        snprintf(a.id, sizeof a.id, "%s", e->id);
        a.incarnation = e->incarnation;
        a.last_seq = e->last_seq;
        a.takeovers = e->takeovers;
        a.transitions = e->transitions;
        a.batches = e->batches;
        a.episodes = e->episodes;
        a.policy_version = e->policy_version;
        a.last_seen = now - e->silent_s - down;
        actors += peers_actor_restore(parts->peers, &a) == 0; /* peers were empty, ids distinct: all fit */
    }
    free(small.actors);
    *info = (snapshot_info_t){.size = h.size,
                              .restored = replay_buffer_size(parts->buffer),
                              .inserted = (uint64_t)c->inserted,
                              .actors = actors,
                              .bytes = (uint64_t)st.st_size,
                              .written_at = h.written_at,
                              .limiter_restored = same_window};
    return 0;
}
