#include "replay/replay_stats.h"

static const stats_field_t s_table[] = {REPLAY_STATS(STATS_FIELD_ENTRY)};
_Static_assert(sizeof s_table / sizeof s_table[0] == REPLAY_STAT_COUNT, "one table entry per stat");

const stats_field_t *replay_stats_table(size_t *count) {
    if (count)
        *count = REPLAY_STAT_COUNT;
    return s_table;
}

const stats_field_t *replay_stats_find(const char *name) { return stats_table_find(s_table, REPLAY_STAT_COUNT, name); }
