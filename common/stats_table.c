#include "common/stats_table.h"

#include <stdio.h>
#include <string.h>

const stats_field_t *stats_table_find(const stats_field_t *table, size_t n, const char *name) {
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

void stats_table_metrics(metrics_http_buf_t *b, const char *prefix, const stats_field_t *table, size_t n,
                         const double *values) {
    char name[128];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s_%s", prefix, table[i].name);
        metrics_http_family(b, name, table[i].type, table[i].help);
        metrics_http_sample(b, name, NULL, 0, values[i]);
    }
}

void stats_table_to_wire(Mpo__Stat *stats, Mpo__Stat **ptrs, const stats_field_t *table, size_t n,
                         const double *values) {
    for (size_t i = 0; i < n; i++) {
        mpo__stat__init(&stats[i]);
        stats[i].name = (char *)table[i].name;
        stats[i].value = values[i];
        ptrs[i] = &stats[i];
    }
}
