/* run_dir: the files a run leaves behind (config.ini, progress.csv, eval.csv) in cfg->run_dir,
 * shared by the synchronous trainer, the learner and `mpo train`. */
#ifndef MPO_RUN_DIR_H
#define MPO_RUN_DIR_H

#include <stdio.h>

#include "common/config.h"

/* mkdir -p. 0, or -1 with errno set. */
int run_dir_mkdirs(const char *path);
/* Make cfg->run_dir and write its config.ini. 0 (also when run_dir is empty), or -1 after
 * logging why. */
int run_dir_prepare(const config_t *cfg);
/* Open run_dir/name for writing; NULL when run_dir is empty, NULL after logging why on failure
 * (*failed set). */
FILE *run_dir_open(const config_t *cfg, const char *name, int *failed);
/* the same with fopen's mode ("a": go on after what a file holds) */
FILE *run_dir_open_mode(const config_t *cfg, const char *name, const char *mode, int *failed);

#endif
