/* stat: `mpo stat ENDPOINT [--json] [--watch SECONDS]`, the replay server's stats for people. */
#ifndef MPO_REPLAY_STAT_H
#define MPO_REPLAY_STAT_H

/* argv[0] is "stat" */
int stat_main(int argc, char **argv);

#endif
