#include "actor/actor_stats.h"

static const stats_field_t s_table[] = {ACTOR_STATS(STATS_FIELD_ENTRY)};

const stats_field_t *actor_stats_table(size_t *n) {
    if (n)
        *n = ACTOR_STAT_COUNT;
    return s_table;
}
