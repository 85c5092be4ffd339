#include "replay/replay_stats.h"

#include <string.h>

#define REPLAY_STAT_INFO(name, unit, type, help) {#name, unit, type, help},
static const replay_stat_info_t s_table[] = {REPLAY_STATS(REPLAY_STAT_INFO)};

const replay_stat_info_t *replay_stats_table(size_t *count) {
    if (count)
        *count = REPLAY_STAT_COUNT;
    return s_table;
}

const replay_stat_info_t *replay_stats_find(const char *name) {
    for (size_t i = 0; i < REPLAY_STAT_COUNT; i++)
        if (strcmp(s_table[i].name, name) == 0)
            return &s_table[i];
    return NULL;
}
