/* fuzz_config: libFuzzer target for the configuration parsers (common/config.h).
 *
 * The input is the text of a config file: it goes through config_load_file (from an in-memory file,
 * /proc/self/fd of a memfd), then each of its lines through config_set_pair. Invariants, each an
 * abort when broken:
 * - whatever the parser accepted or refused, every key holds a value within its key's bounds: a
 *   finite number in [min, max] (an integer for INT keys), one of the choices, a NUL-terminated
 *   string shorter than CONFIG_STR_MAX;
 * - a refusal says why in a non-empty reason;
 * - a file the parser accepts writes back (config_write) as a file that loads to the same values;
 * - config_set_pair changes nothing when it refuses, and when it accepts, the key it named reads back
 *   (config_get) as text that sets the same value. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_config: %s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#define MAX_PAIRS 64 /* lines tried with config_set_pair per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_choice(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

/* every key within its bounds */
static void s_in_bounds(const config_t *c) {
    size_t n;
    const config_key_t *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        const config_key_t *k = &keys[i];
        const char *field = (const char *)c + k->offset;
        switch (k->type) {
        case CONFIG_FLOAT: {
            double v = *(const double *)field;
            FUZZ_CHECK(isfinite(v) && v >= k->min && v <= k->max);
            break;
        }
        case CONFIG_INT: {
            long long v = *(const long long *)field;
            FUZZ_CHECK((double)v >= k->min && (double)v <= k->max);
            break;
        }
        case CONFIG_STR:
            FUZZ_CHECK(memchr(field, 0, CONFIG_STR_MAX) != NULL);
            break;
        case CONFIG_CHOICE:
            FUZZ_CHECK(memchr(field, 0, CONFIG_STR_MAX) != NULL && s_choice(k->choices, field));
            break;
        }
    }
}

/* two configs hold the same values (every key's text) */
static int s_same(const config_t *a, const config_t *b) {
    size_t n;
    const config_key_t *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char va[CONFIG_STR_MAX + 32], vb[CONFIG_STR_MAX + 32];
        config_get(a, &keys[i], va, sizeof va);
        config_get(b, &keys[i], vb, sizeof vb);
        if (strcmp(va, vb) != 0) {
            fprintf(stderr, "fuzz_config: key %s: '%s' became '%s'\n", keys[i].name, va, vb);
            return 0;
        }
    }
    return 1;
}

/* the file path of an in-memory file holding exactly `size` bytes of data */
static const char *s_file(int fd, const void *data, size_t size) {
    static char path[64];
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return path;
}

static void s_load(int fd, const uint8_t *data, size_t size) {
    config_t c;
    char err[1024] = "";
    config_defaults(&c);
    int rc = config_load_file(&c, s_file(fd, data, size), err, sizeof err);
    s_in_bounds(&c); /* also after a refusal: the lines before it are applied */
    if (rc != 0) {
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    /* accepted: written back, it loads to the same values */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    FUZZ_CHECK(out);
    config_write(&c, out);
    fclose(out);
    config_t again;
    config_defaults(&again);
    rc = config_load_file(&again, s_file(fd, text, len), err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "fuzz_config: config_write's output refused: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(s_same(&c, &again));
    free(text);
}

static void s_pairs(const uint8_t *data, size_t size) {
    config_t c, before;
    config_defaults(&c);
    char line[4 * CONFIG_STR_MAX];
    size_t start = 0;
    int unknown = 0; /* an unknown key costs an edit distance to every key (its error names the nearest): one per input */
    for (int k = 0; k < MAX_PAIRS && start < size; k++) {
        size_t end = start;
        while (end < size && data[end] != '\n')
            end++;
        size_t n = end - start < sizeof line - 1 ? end - start : sizeof line - 1;
        memcpy(line, data + start, n);
        line[n] = '\0';
        start = end + 1;
        const char *eq = strchr(line, '=');
        if (eq && (size_t)(eq - line) < 128) {
            char name[128];
            memcpy(name, line, (size_t)(eq - line));
            name[eq - line] = '\0';
            if (!config_find(name) && unknown++)
                continue;
        }
        char err[1024] = "";
        before = c;
        if (config_set_pair(&c, line, err, sizeof err) != 0) {
            FUZZ_CHECK(err[0] != '\0');
            FUZZ_CHECK(memcmp(&before, &c, sizeof c) == 0);
            continue;
        }
        s_in_bounds(&c);
        /* the key it set reads back as text that sets the same value */
        char key[128];
        size_t klen = (size_t)(strchr(line, '=') - line);
        FUZZ_CHECK(klen < sizeof key);
        memcpy(key, line, klen);
        key[klen] = '\0';
        const config_key_t *ck = config_find(key);
        FUZZ_CHECK(ck != NULL);
        char v[CONFIG_STR_MAX + 32];
        config_get(&c, ck, v, sizeof v);
        config_t again = c;
        FUZZ_CHECK(config_set(&again, key, v, err, sizeof err) == 0);
        FUZZ_CHECK(memcmp(&again, &c, sizeof c) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("fuzz_config", 0);
        FUZZ_CHECK(fd >= 0);
    }
    s_load(fd, data, size);
    s_pairs(data, size);
    return 0;
}
