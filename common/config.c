#include "common/config.h"
#include "common/error.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_ROW(name, type, def, lo, hi, choices, help) \
    {#name, CONFIG_##type, def, lo, hi, choices, help, offsetof(config_t, name)},

static const config_key_t s_keys[] = {CONFIG_KEYS(CONFIG_ROW)};
#define N_KEYS (sizeof s_keys / sizeof s_keys[0])

const config_key_t *config_keys(size_t *count) {
    *count = N_KEYS;
    return s_keys;
}

const config_key_t *config_find(const char *name) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(s_keys[i].name, name) == 0)
            return &s_keys[i];
    return NULL;
}

static size_t s_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static const char *s_nearest(const char *name) {
    const char *best = s_keys[0].name;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < N_KEYS; i++) {
        size_t d = s_edit_distance(name, s_keys[i].name);
        if (d < best_d) {
            best_d = d;
            best = s_keys[i].name;
        }
    }
    return best;
}

static int s_choice_ok(const char *choices, const char *value) {
    size_t n = strlen(value);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return 1;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

int config_set(config_t *self, const char *key, const char *value, char *err, size_t errlen) {
    const config_key_t *k = config_find(key);
    if (!k) {
        snprintf(err, errlen, "unknown config key '%s' (did you mean '%s'? `mpo config --help` lists them)",
                 key, s_nearest(key));
        return -MPO_EINVAL;
    }
    char *field = (char *)self + k->offset;
    switch (k->type) {
    case CONFIG_FLOAT:
    case CONFIG_INT: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        while (isspace((unsigned char)*end))
            end++;
        if (end == value || *end || errno || !isfinite(v)) {
            snprintf(err, errlen, "config key '%s': '%s' is not a number", key, value);
            return -MPO_EINVAL;
        }
        if (k->type == CONFIG_INT && v != floor(v)) {
            snprintf(err, errlen, "config key '%s': '%s' is not an integer", key, value);
            return -MPO_EINVAL;
        }
        if (v < k->min || v > k->max) {
            snprintf(err, errlen, "config key '%s': %s is out of range [%g, %g]", key, value, k->min, k->max);
            return -MPO_EINVAL;
        }
        if (k->type == CONFIG_FLOAT)
            *(double *)field = v;
        else
            *(long long *)field = (long long)v;
        return 0;
    }
    case CONFIG_CHOICE:
        if (!s_choice_ok(k->choices, value)) {
            snprintf(err, errlen, "config key '%s': '%s' is not one of %s", key, value, k->choices);
            return -MPO_EINVAL;
        }
        /* fall through */
    case CONFIG_STR:
        if (strlen(value) >= CONFIG_STR_MAX) {
            snprintf(err, errlen, "config key '%s': value longer than %d characters", key, CONFIG_STR_MAX - 1);
            return -MPO_EINVAL;
        }
        snprintf(field, CONFIG_STR_MAX, "%s", value);
        return 0;
    }
    return -MPO_EINVAL;
}

void config_defaults(config_t *self) {
    char err[256];
    memset(self, 0, sizeof *self);
    for (size_t i = 0; i < N_KEYS; i++) {
        /* a default outside its own bounds is a bug in the table */
        MPO_ASSERT(config_set(self, s_keys[i].name, s_keys[i].def, err, sizeof err) == 0);
    }
}

int config_set_pair(config_t *self, const char *pair, char *err, size_t errlen) {
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair) {
        snprintf(err, errlen, "'%s' is not key=value", pair);
        return -MPO_EINVAL;
    }
    char key[128];
    size_t n = (size_t)(eq - pair);
    if (n >= sizeof key) {
        snprintf(err, errlen, "config key too long in '%.40s…'", pair);
        return -MPO_EINVAL;
    }
    memcpy(key, pair, n);
    key[n] = 0;
    return config_set(self, key, eq + 1, err, errlen);
}

typedef struct {
    config_t *config;
    char *err;
    size_t errlen;
    int failed;
    unsigned char seen[N_KEYS]; /* a key set twice in one file is a mistake, not last-wins */
} s_ini_ctx_t;

/* Debian's inih passes no line number to the handler; ini_parse_file returns the line of the first
 * handler failure, and config_load_file puts it in front of the reason kept here. */
static int s_ini_handler(void *user, const char *section, const char *name, const char *value) {
    s_ini_ctx_t *ctx = user;
    if (ctx->failed)
        return 0;
    char reason[512];
    if (section[0] && strcmp(section, "mpo") != 0) {
        snprintf(ctx->err, ctx->errlen, "unknown section [%s] (keys go at the top or under [mpo])", section);
        ctx->failed = 1;
        return 0;
    }
    if (config_set(ctx->config, name, value, reason, sizeof reason) != 0) {
        snprintf(ctx->err, ctx->errlen, "%s", reason);
        ctx->failed = 1;
        return 0;
    }
    size_t k = (size_t)(config_find(name) - s_keys);
    if (ctx->seen[k]++) {
        snprintf(ctx->err, ctx->errlen, "key '%s' is set twice in this file", name);
        ctx->failed = 1;
        return 0;
    }
    return 1;
}

int config_load_file(config_t *self, const char *path, char *err, size_t errlen) {
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "config file '%s' is not a regular file", path);
        return -MPO_EIO;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
        return -MPO_EIO;
    }
    char reason[512] = "";
    s_ini_ctx_t ctx = {.config = self, .err = reason, .errlen = sizeof reason};
    int rc = ini_parse_file(f, s_ini_handler, &ctx);
    fclose(f);
    if (ctx.failed) {
        snprintf(err, errlen, "%s:%d: %s", path, rc, reason);
        return -MPO_EINVAL;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: not a `key = value` line", path, rc);
        return -MPO_EINVAL;
    }
    return 0;
}

int config_load_env(config_t *self, char *err, size_t errlen) {
    for (size_t i = 0; i < N_KEYS; i++) {
        char var[96] = "MPO_";
        size_t j = 4;
        for (const char *p = s_keys[i].name; *p && j < sizeof var - 1; p++)
            var[j++] = (char)toupper((unsigned char)*p);
        var[j] = 0;
        const char *v = getenv(var);
        if (!v)
            continue;
        char reason[512];
        if (config_set(self, s_keys[i].name, v, reason, sizeof reason) != 0) {
            snprintf(err, errlen, "environment variable %s: %s", var, reason);
            return -MPO_EINVAL;
        }
    }
    return 0;
}

void config_get(const config_t *self, const config_key_t *k, char *out, size_t outlen) {
    const char *field = (const char *)self + k->offset;
    switch (k->type) {
    case CONFIG_FLOAT: {
        /* the shortest text that reads back as the same double */
        double v = *(const double *)field;
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(out, outlen, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
        break;
    }
    case CONFIG_INT:
        snprintf(out, outlen, "%lld", *(const long long *)field);
        break;
    default:
        snprintf(out, outlen, "%s", field);
    }
}

void config_write(const config_t *self, FILE *out) {
    char v[CONFIG_STR_MAX];
    for (size_t i = 0; i < N_KEYS; i++) {
        config_get(self, &s_keys[i], v, sizeof v);
        fprintf(out, "%s = %s\n", s_keys[i].name, v);
    }
}

void config_print_help(FILE *out) {
    static const char *const type_names[] = {"float", "int", "string", "choice"};
    for (size_t i = 0; i < N_KEYS; i++) {
        const config_key_t *k = &s_keys[i];
        char range[96] = "";
        if (k->type == CONFIG_FLOAT || k->type == CONFIG_INT)
            snprintf(range, sizeof range, " [%g, %g]", k->min, k->max);
        else if (k->type == CONFIG_CHOICE)
            snprintf(range, sizeof range, " {%s}", k->choices);
        fprintf(out, "  %-22s %-6s default %s%s\n      %s\n", k->name, type_names[k->type],
                k->def[0] ? k->def : "\"\"", range, k->help);
    }
}

void config_print_markdown(FILE *out) {
    fprintf(out, "| key | default | range | what it does |\n|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        const config_key_t *k = &s_keys[i];
        char range[96] = "";
        if (k->type == CONFIG_FLOAT || k->type == CONFIG_INT)
            snprintf(range, sizeof range, "%g … %g", k->min, k->max);
        else if (k->type == CONFIG_CHOICE)
            snprintf(range, sizeof range, "%s", k->choices);
        else
            snprintf(range, sizeof range, "text");
        fprintf(out, "| `%s` | `%s` | ", k->name, k->def);
        for (const char *p = range; *p; p++)
            fputs(*p == '|' ? " \\| " : (char[]){*p, 0}, out);
        fprintf(out, " | %s |\n", k->help);
    }
}
