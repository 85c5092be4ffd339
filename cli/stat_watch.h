/* stat_watch: what `mpo stat --watch` prints each interval. On a terminal, a compact top-like view
 * redrawn in place (a dozen lines: the replay, the learner, returns, the actors); otherwise (a
 * pipe, a file, a log collector) one plain `key=value` line per interval, so the history stays
 * greppable. */
#ifndef MPO_CLI_STAT_WATCH_H
#define MPO_CLI_STAT_WATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "proto/mpo.pb-c.h"

/* at most this many actors are listed on a terminal (the slowest-to-report first); the rest are
 * counted */
#define STAT_WATCH_ACTORS 8

void stat_watch_print(FILE *out, bool terminal, const char *endpoint, double interval, const Mpo__StatsReply *r);

#endif
