#include "learner/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"
#include "common/fnv.h"
#include "common/log.h"

#define CKPT_MAGIC 0x54504b434f504dULL /* "MPOCKPT" */
#define CKPT_VERSION 2 /* 2: a checksum after the data; 1 (none) is still read */

/* The file's first bytes, as the struct lies in memory (padding zeroed): files move between
 * machines of one architecture, not across them. */
typedef struct {
    uint64_t magic;
    uint32_t version, obs_dim, act_dim, hidden, layers, policy;
    uint64_t n_params, n_duals;
    int64_t updates;
    rng_t rng;
} s_header_t;

/* after the header: params, target, adam_m, adam_v (n_params each), then duals, dual_m, dual_v
 * (n_duals each), then (version 2) the FNV-1a 64 hash of everything before it; nothing after */
#define S_N_BUFS 7

static void s_views(const mpo_state_t *st, float *bufs[S_N_BUFS], size_t counts[S_N_BUFS]) {
    float *b[S_N_BUFS] = {st->params, st->target, st->adam_m, st->adam_v, st->duals, st->dual_m, st->dual_v};
    for (int i = 0; i < S_N_BUFS; i++) {
        bufs[i] = b[i];
        counts[i] = i < 4 ? st->n_params : st->n_duals;
    }
}

static void s_header(const mpo_state_t *st, s_header_t *h) {
    memset(h, 0, sizeof *h);
    h->magic = CKPT_MAGIC;
    h->version = CKPT_VERSION;
    h->obs_dim = (uint32_t)st->obs_dim;
    h->act_dim = (uint32_t)st->act_dim;
    h->hidden = (uint32_t)st->hidden;
    h->layers = (uint32_t)st->layers;
    h->policy = (uint32_t)st->policy;
    h->n_params = st->n_params;
    h->n_duals = st->n_duals;
    h->updates = *st->updates;
    h->rng = *st->rng;
}

/* path.(k), or path itself for k = 0 */
static void s_series_name(char *out, size_t outlen, const char *path, int k) {
    if (k == 0)
        snprintf(out, outlen, "%s", path);
    else
        snprintf(out, outlen, "%s.%d", path, k);
}

/* path.(k) -> path.(k+1) from the oldest kept down, then path -> path.1; missing ones are skipped */
static void s_rotate(const char *path, int keep) {
    char from[4200], to[4200];
    for (int k = keep - 2; k >= 0; k--) {
        s_series_name(from, sizeof from, path, k);
        s_series_name(to, sizeof to, path, k + 1);
        if (rename(from, to) != 0 && errno != ENOENT)
            log_warn("checkpoint: cannot keep '%s' as '%s': %s", from, to, strerror(errno));
    }
}

/* Finish a write to tmp: flush, sync, close, keep the older files (keep > 1), rename over path.
 * 0, or -MPO_EIO with a reason (tmp removed). f is closed either way. ok carries an earlier
 * write's failure in. */
static int s_commit(FILE *f, int ok, const char *tmp, const char *path, int keep, const char *what, char *err,
                    size_t errlen) {
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (ok && keep > 1)
        s_rotate(path, keep);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s'%s': %s", what, path, strerror(errno));
        unlink(tmp);
        return -MPO_EIO;
    }
    return 0;
}

int checkpoint_save(mpo_t *mpo, const char *path, char *err, size_t errlen) {
    return checkpoint_save_kept(mpo, path, 1, err, errlen);
}

int checkpoint_save_kept(mpo_t *mpo, const char *path, int keep, char *err, size_t errlen) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot write checkpoint '%s': %s", tmp, strerror(errno));
        return -MPO_EIO;
    }
    mpo_state_t st = mpo_state(mpo);
    s_header_t h;
    s_header(&st, &h);
    float *bufs[S_N_BUFS];
    size_t counts[S_N_BUFS];
    s_views(&st, bufs, counts);
    int ok = fwrite(&h, sizeof h, 1, f) == 1;
    uint64_t sum = fnv1a(FNV_OFFSET, &h, sizeof h);
    for (int i = 0; i < S_N_BUFS; i++) {
        ok = ok && fwrite(bufs[i], sizeof(float), counts[i], f) == counts[i];
        sum = fnv1a(sum, bufs[i], counts[i] * sizeof(float));
    }
    ok = ok && fwrite(&sum, sizeof sum, 1, f) == 1;
    return s_commit(f, ok, tmp, path, keep < CHECKPOINT_KEEP_MAX ? keep : CHECKPOINT_KEEP_MAX, "checkpoint ", err,
                    errlen);
}

int checkpoint_load(mpo_t *mpo, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open checkpoint '%s': %s", path, strerror(errno));
        return -MPO_EIO;
    }
    mpo_state_t st = mpo_state(mpo);
    s_header_t h, mine;
    s_header(&st, &mine);
    if (fread(&h, sizeof h, 1, f) != 1 || h.magic != CKPT_MAGIC) {
        snprintf(err, errlen, "'%s' is not an mpo checkpoint", path);
        fclose(f);
        return -MPO_EFORMAT;
    }
    if ((h.version != CKPT_VERSION && h.version != 1) || h.obs_dim != mine.obs_dim || h.act_dim != mine.act_dim ||
        h.hidden != mine.hidden || h.layers != mine.layers || h.policy != mine.policy || h.n_params != mine.n_params) {
        snprintf(err, errlen,
                 "checkpoint '%s' is for obs %u act %u hidden %u layers %u policy %s, %llu parameters (format %u); "
                 "this learner is obs %u act %u hidden %u layers %u policy %s, %llu parameters (critic_layer_norm "
                 "adds some)",
                 path, h.obs_dim, h.act_dim, h.hidden, h.layers, policy_type_name((policy_type_t)h.policy),
                 (unsigned long long)h.n_params, h.version, mine.obs_dim, mine.act_dim, mine.hidden, mine.layers,
                 policy_type_name(st.policy), (unsigned long long)mine.n_params);
        fclose(f);
        return -MPO_EFORMAT;
    }
    /* read everything before touching the learner, so a short file leaves it as it was */
    float *bufs[S_N_BUFS];
    size_t counts[S_N_BUFS], total = 0;
    s_views(&st, bufs, counts);
    for (int i = 0; i < S_N_BUFS; i++)
        total += counts[i];
    float *data = malloc(total * sizeof(float));
    int ok = data && fread(data, sizeof(float), total, f) == total;
    uint64_t stored = 0, sum = fnv1a(FNV_OFFSET, &h, sizeof h);
    if (ok && h.version >= 2)
        ok = fread(&stored, sizeof stored, 1, f) == 1;
    int trailing = ok && fgetc(f) != EOF;
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, data ? "checkpoint '%s' is truncated" : "out of memory reading checkpoint '%s'", path);
        free(data);
        return data ? -MPO_EFORMAT : -MPO_ENOMEM;
    }
    /* what a flipped byte, appended junk, NaN weights or a negative count would otherwise load */
    const char *bad = trailing                     ? "has bytes after its end"
                      : h.n_duals != mine.n_duals ? "has other duals"
                      : h.updates < 0             ? "has a negative update count"
                                                  : NULL;
    if (!bad && h.version >= 2 && fnv1a(sum, data, total * sizeof(float)) != stored)
        bad = "fails its checksum (damaged)";
    for (size_t i = 0; !bad && i < total; i++)
        if (!isfinite(data[i]))
            bad = "holds a value that is not finite";
    if (bad) {
        snprintf(err, errlen, "checkpoint '%s' %s; not loaded", path, bad);
        free(data);
        return -MPO_EFORMAT;
    }
    const float *at = data;
    for (int i = 0; i < S_N_BUFS; i++) {
        memcpy(bufs[i], at, counts[i] * sizeof(float));
        at += counts[i];
    }
    free(data);
    *st.updates = h.updates;
    *st.rng = h.rng;
    return 0;
}

static int s_write_floats(FILE *f, const char *name, const float *x, int n) {
    int ok = fprintf(f, "%s ", name) > 0;
    for (int i = 0; i < n; i++)
        ok = ok && fprintf(f, "%s%.9g", i ? "," : "", x[i]) > 0;
    return ok && fputc('\n', f) != EOF;
}

/* "a,b,c" into x: the count, or -1 when one is not a finite number or there are more than max */
static int s_read_floats(const char *s, float *x, int max) {
    int n = 0;
    for (;;) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || n == max)
            return -1;
        x[n++] = (float)v;
        s = end;
        if (*s != ',')
            break;
        s++;
    }
    return *s == '\n' || *s == 0 ? n : -1;
}

int checkpoint_counters_save(const char *dir, const checkpoint_counters_t *c, const checkpoint_run_t *run, char *err,
                             size_t errlen) {
    char path[CONFIG_STR_MAX + 32], tmp[CONFIG_STR_MAX + 40];
    snprintf(path, sizeof path, "%s/" CHECKPOINT_STATE_FILE, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        return -MPO_EIO;
    }
    int ok = 1;
#define S_WRITE(name) ok = ok && fprintf(f, #name " %" PRIu64 "\n", c->name) > 0;
    CHECKPOINT_COUNTERS(S_WRITE)
#undef S_WRITE
    ok = ok && fprintf(f, "env %s\nmin_std %.9g\n", run->env, run->min_std) > 0;
    if (run->n_bounds > 0)
        ok = ok && s_write_floats(f, "act_low", run->act_low, run->n_bounds) &&
             s_write_floats(f, "act_high", run->act_high, run->n_bounds);
    return s_commit(f, ok, tmp, path, 1, "", err, errlen);
}

int checkpoint_run_load(const char *dir, checkpoint_run_t *run, char *err, size_t errlen) {
    char path[CONFIG_STR_MAX + 32], line[512], name[512]; /* a line's word fits its line */
    snprintf(path, sizeof path, "%s/" CHECKPOINT_STATE_FILE, dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -MPO_EIO;
    }
    int have_env = 0, n_low = -1, n_high = -1;
    float low[ENV_MAX_ACT], high[ENV_MAX_ACT];
    double x;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "env %511s", name) == 1) {
            size_t len = strlen(name);
            if (len >= sizeof run->env) {
                fclose(f);
                snprintf(err, errlen, "'%s' names an environment of more than %zu bytes", path, sizeof run->env - 1);
                return -MPO_EFORMAT;
            }
            memcpy(run->env, name, len + 1);
            have_env = 1;
        } else if (sscanf(line, "min_std %lf", &x) == 1 && x > 0 && isfinite(x))
            run->min_std = x;
        else if (!strncmp(line, "act_low ", 8))
            n_low = s_read_floats(line + 8, low, ENV_MAX_ACT);
        else if (!strncmp(line, "act_high ", 9))
            n_high = s_read_floats(line + 9, high, ENV_MAX_ACT);
    }
    fclose(f);
    if (n_low > 0 && n_low == n_high) { /* both, whole and of one length, or neither */
        run->n_bounds = n_low;
        memcpy(run->act_low, low, (size_t)n_low * sizeof(float));
        memcpy(run->act_high, high, (size_t)n_low * sizeof(float));
    }
    if (!have_env) {
        snprintf(err, errlen, "'%s' names no environment", path);
        return -MPO_EFORMAT;
    }
    return 0;
}

int checkpoint_peek(const char *path, checkpoint_info_t *info, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open checkpoint '%s': %s", path, strerror(errno));
        return -MPO_EIO;
    }
    s_header_t h;
    int ok = fread(&h, sizeof h, 1, f) == 1 && h.magic == CKPT_MAGIC && (h.version == CKPT_VERSION || h.version == 1) &&
             h.policy <= POLICY_GAUSSIAN;
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "'%s' is not an mpo checkpoint", path);
        return -MPO_EFORMAT;
    }
    *info = (checkpoint_info_t){.obs_dim = (int)h.obs_dim, .act_dim = (int)h.act_dim, .hidden = (int)h.hidden,
                                .layers = (int)h.layers, .policy = (policy_type_t)h.policy, .updates = h.updates,
                                .n_params = h.n_params};
    return 0;
}

int checkpoint_counters_load(const char *dir, checkpoint_counters_t *c, char *err, size_t errlen) {
    char path[CONFIG_STR_MAX + 32];
    snprintf(path, sizeof path, "%s/" CHECKPOINT_STATE_FILE, dir);
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -MPO_EIO;
    }
    char key[64];
    unsigned long long v;
    /* the counters come first; the `env NAME` line ends the numbers */
    while (fscanf(f, "%63s %llu", key, &v) == 2) {
#define S_READ(name)                  \
        if (strcmp(key, #name) == 0) \
            c->name = v;
        CHECKPOINT_COUNTERS(S_READ)
#undef S_READ
    }
    fclose(f);
    return 0;
}

int checkpoint_load_newest(mpo_t *mpo, const char *path, int *used, char *err, size_t errlen) {
    char name[4200], why[1024] = "", newest_err[1024] = "";
    int newest_rc = 0;
    for (int k = 0; k < CHECKPOINT_KEEP_MAX; k++) {
        s_series_name(name, sizeof name, path, k);
        if (access(name, F_OK) != 0)
            continue; /* a crash between two renames of the rotation can leave a gap */
        int rc = checkpoint_load(mpo, name, why, sizeof why);
        if (rc == 0) {
            *used = k;
            if (k > 0)
                snprintf(err, errlen, "%s", newest_rc ? newest_err : "no newer checkpoint");
            return 0;
        }
        if (!newest_rc) {
            newest_rc = rc;
            snprintf(newest_err, sizeof newest_err, "%s", why);
        }
    }
    if (!newest_rc) {
        snprintf(err, errlen, "cannot open checkpoint '%s': %s", path, strerror(ENOENT));
        return -MPO_EIO;
    }
    snprintf(err, errlen, "%s", newest_err);
    return newest_rc;
}
