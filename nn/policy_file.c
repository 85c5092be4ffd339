#include "nn/policy_file.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fnv.h"

#define S_MAGIC "mpo-policy"

static int s_bounds_line(FILE *f, const char *name, const float *v, int n) {
    int ok = fprintf(f, "%s", name) > 0;
    for (int k = 0; k < n; k++)
        ok = ok && fprintf(f, " %.9g", v[k]) > 0;
    return ok && fputc('\n', f) != EOF;
}

int policy_file_write(const char *path, const policy_file_t *p, char *err, size_t errlen) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        return -1;
    }
    size_t n = p->net.n_params;
    int ok = fprintf(f, S_MAGIC " %d\nenv %s\nobs_dim %d\nact_dim %d\nhidden %d\nlayers %d\npolicy %s\nmin_std %.9g\n",
                     POLICY_FILE_VERSION, p->env, p->obs_dim, p->act_dim, p->hidden, p->layers,
                     policy_type_name(p->policy), p->min_std) > 0;
    ok = ok && s_bounds_line(f, "act_low", p->act_low, p->act_dim) && s_bounds_line(f, "act_high", p->act_high, p->act_dim);
    uint64_t sum = fnv1a(FNV_OFFSET, p->params, n * sizeof(float));
    ok = ok && fprintf(f, "params %zu\nfnv1a64 %016" PRIx64 "\nend\n", n, sum) > 0;
    ok = ok && fwrite(p->params, sizeof(float), n, f) == n; /* x86-64 and arm64: little-endian already */
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* one header line "name VALUE…" into line; 0 when it starts with name */
static int s_line(FILE *f, const char *name, char *line, size_t len) {
    if (!fgets(line, (int)len, f))
        return -1;
    size_t k = strlen(name);
    return strncmp(line, name, k) == 0 && line[k] == ' ' ? 0 : -1;
}

static int s_bounds(const char *line, float *v, int n) {
    const char *s = strchr(line, ' ');
    for (int k = 0; k < n; k++) {
        char *end;
        v[k] = strtof(s, &end);
        if (end == s || !isfinite(v[k]))
            return -1;
        s = end;
    }
    return 0;
}

int policy_file_read(const char *path, policy_file_t *p, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open policy file '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[4096], pol[32] = "";
    int version = 0;
    double min_std = 0;
    size_t n = 0;
    uint64_t sum = 0;
    const char *bad = NULL;
    if (s_line(f, S_MAGIC, line, sizeof line) != 0 || sscanf(line, S_MAGIC " %d", &version) != 1)
        bad = "not an mpo policy file";
    else if (version != POLICY_FILE_VERSION)
        bad = "another format version";
    else if (s_line(f, "env", line, sizeof line) != 0 || sscanf(line, "env %127s", p->env) != 1)
        bad = "a bad env line";
    else if (s_line(f, "obs_dim", line, sizeof line) != 0 || sscanf(line, "obs_dim %d", &p->obs_dim) != 1 ||
             p->obs_dim < 1 || p->obs_dim > 1 << 20)
        bad = "a bad obs_dim";
    else if (s_line(f, "act_dim", line, sizeof line) != 0 || sscanf(line, "act_dim %d", &p->act_dim) != 1 ||
             p->act_dim < 1 || p->act_dim > POLICY_FILE_MAX_ACT)
        bad = "a bad act_dim";
    else if (s_line(f, "hidden", line, sizeof line) != 0 || sscanf(line, "hidden %d", &p->hidden) != 1 ||
             s_line(f, "layers", line, sizeof line) != 0 || sscanf(line, "layers %d", &p->layers) != 1 ||
             mlp_init(&p->net, p->obs_dim, p->hidden, p->layers, 2 * p->act_dim) != 0)
        bad = "a bad network shape";
    else if (s_line(f, "policy", line, sizeof line) != 0 || sscanf(line, "policy %31s", pol) != 1 ||
             policy_type_parse(pol) < 0)
        bad = "an unknown policy type";
    else if (s_line(f, "min_std", line, sizeof line) != 0 || sscanf(line, "min_std %lf", &min_std) != 1 ||
             !(min_std > 0) || !isfinite(min_std))
        bad = "a bad min_std";
    else if (s_line(f, "act_low", line, sizeof line) != 0 || s_bounds(line, p->act_low, p->act_dim) != 0 ||
             s_line(f, "act_high", line, sizeof line) != 0 || s_bounds(line, p->act_high, p->act_dim) != 0)
        bad = "bad action bounds";
    else if (s_line(f, "params", line, sizeof line) != 0 || sscanf(line, "params %zu", &n) != 1 ||
             n != p->net.n_params)
        bad = "a parameter count that does not fit the layout";
    else if (s_line(f, "fnv1a64", line, sizeof line) != 0 || sscanf(line, "fnv1a64 %" SCNx64, &sum) != 1 ||
             !fgets(line, sizeof line, f) || strcmp(line, "end\n") != 0)
        bad = "a bad header end";
    else if (!(p->params = malloc(n * sizeof(float))))
        bad = "no memory for the parameters";
    else if (fread(p->params, sizeof(float), n, f) != n)
        bad = "a truncated file";
    else if (fgetc(f) != EOF)
        bad = "bytes after the parameters";
    else if (fnv1a(FNV_OFFSET, p->params, n * sizeof(float)) != sum)
        bad = "a checksum that does not match (a damaged file)";
    fclose(f);
    for (size_t i = 0; !bad && i < n; i++)
        if (!isfinite(p->params[i]))
            bad = "a parameter that is not finite";
    if (bad) {
        snprintf(err, errlen, "policy file '%s': %s", path, bad);
        policy_file_free(p);
        return -1;
    }
    p->policy = (policy_type_t)policy_type_parse(pol);
    p->min_std = (float)min_std;
    return 0;
}

void policy_file_free(policy_file_t *p) {
    free(p->params);
    p->params = NULL;
}
