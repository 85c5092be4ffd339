/* log: a levelled logger to stderr. The macros test the level before any formatting happens. */
#ifndef MPO_LOG_H
#define MPO_LOG_H

typedef enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level_t;

extern log_level_t log_level;

/* "error" / "warn" / "info" / "debug" -> level; -1 for anything else */
int log_level_parse(const char *name);
void log_set_level(log_level_t level);
/* prefix every line with this role name ("replay", "actor 3", …); NULL for none */
void log_set_role(const char *role);
void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_AT(lvl, ...)                      \
    do {                                      \
        if ((lvl) <= log_level)               \
            log_write((lvl), __VA_ARGS__);    \
    } while (0)
#define log_error(...) LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

#endif
