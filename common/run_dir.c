#include "common/run_dir.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

int run_dir_mkdirs(const char *path) {
    char buf[CONFIG_STR_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int run_dir_prepare(const config_t *cfg) {
    if (!cfg->run_dir[0])
        return 0;
    if (run_dir_mkdirs(cfg->run_dir) != 0) {
        log_error("cannot create run_dir '%s': %s", cfg->run_dir, strerror(errno));
        return -1;
    }
    int failed = 0;
    FILE *c = run_dir_open(cfg, "config.ini", &failed);
    if (!c)
        return -1;
    config_write(cfg, c);
    fclose(c);
    return 0;
}

FILE *run_dir_open(const config_t *cfg, const char *name, int *failed) {
    return run_dir_open_mode(cfg, name, "w", failed);
}

FILE *run_dir_open_mode(const config_t *cfg, const char *name, const char *mode, int *failed) {
    if (!cfg->run_dir[0])
        return NULL;
    char path[CONFIG_STR_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", cfg->run_dir, name);
    FILE *f = fopen(path, mode);
    if (!f) {
        log_error("cannot write '%s': %s", path, strerror(errno));
        *failed = 1;
    }
    return f;
}
