#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

log_level_t log_level = LOG_INFO;
static char s_role[64];
static const char *const s_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, s_names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(log_level_t level) { log_level = level; }

void log_set_role(const char *role) {
    snprintf(s_role, sizeof s_role, "%s", role ? role : "");
}

void log_write(log_level_t level, const char *fmt, ...) {
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s%s%s: ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, s_role, s_role[0] ? " " : "", s_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line so lines from several processes do not interleave */
    fprintf(stderr, "%s\n", line);
}
