/* run_csv: the columns of a run's CSV files, defined once for everything that writes them.
 *
 *   progress.csv  `mpo train --sync` (cli/trainer.c) and the learner role each write one: their
 *                 own leading columns, then every metric of the update (MPO_METRICS)
 *   eval.csv      the deterministic evaluations (cli/trainer.c, `mpo train`'s final one)
 *
 * cli/plot.c reads both by column name. A file is opened in cfg->run_dir with its header written;
 * with run_dir empty there is no file, and every function accepts the NULL that stands for it, so
 * a caller writes rows unconditionally. */
#ifndef MPO_RUN_CSV_H
#define MPO_RUN_CSV_H

#include <stddef.h>

#include "common/config.h"
#include "learner/mpo.h"

/* X(name, format): leading columns of each kind of file, each value a double (counts print with
 * %.0f: the same digits as an integer format up to 2^53) */
#define RUN_CSV_PROGRESS_SYNC(X) X(env_steps, "%.0f") X(wall_s, "%.3f") X(updates, "%.0f") X(episode_return, "%.4f")
#define RUN_CSV_PROGRESS_LEARNER(X)                                                                          \
    X(env_steps, "%.0f") X(wall_s, "%.3f") X(updates, "%.0f") X(episode_return, "%.4f")                      \
        X(weights_version, "%.0f") X(batches, "%.0f")
#define RUN_CSV_EVAL(X)                                                                                      \
    X(env_steps, "%.0f") X(wall_s, "%.3f") X(mean_return, "%.4f") X(std_return, "%.4f") X(episodes, "%.0f")

/* the number of columns of a table: RUN_CSV_COLUMNS(RUN_CSV_EVAL), for the caller's row array */
#define RUN_CSV_ONE(name, format) +1
#define RUN_CSV_COLUMNS(TABLE) (0 TABLE(RUN_CSV_ONE))

typedef enum {
    RUN_CSV_PROGRESS_SYNC_FILE,    /* progress.csv of `mpo train --sync` */
    RUN_CSV_PROGRESS_LEARNER_FILE, /* progress.csv of the learner role */
    RUN_CSV_EVAL_FILE,             /* eval.csv */
} run_csv_kind_t;

typedef struct run_csv_t run_csv_t;

/* Open the file of this kind in cfg->run_dir and write its header. 0 with *out set (NULL when
 * run_dir is empty: no file), or -MPO_EIO after logging why. run_dir must exist
 * (run_dir_prepare). */
int run_csv_open(run_csv_t **out, const config_t *cfg, run_csv_kind_t kind);
/* The same, going on after the rows the file holds (the header only into an empty file): a
 * second writer of eval.csv after the learner, `mpo train`'s final evaluation. */
int run_csv_append(run_csv_t **out, const config_t *cfg, run_csv_kind_t kind);
/* One row: the n leading values in the kind's column order (n must be its column count), then
 * m's metrics for a progress file (m unused for eval.csv). Flushed, so a crash loses no row. */
void run_csv_row(run_csv_t *self, const double *values, size_t n, const mpo_metrics_t *m);
/* close, set *self_p to NULL; NULL is fine */
void run_csv_destroy(run_csv_t **self_p);

#endif
