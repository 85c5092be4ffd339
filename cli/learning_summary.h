/* learning_summary: what `mpo bench learning` makes of its seeds' runs. For every evaluation point
 * (env steps) the mean, sample standard deviation, min and max over seeds of the evaluation's mean
 * return, and each seed's value; the same four figures of the seeds' wall times. Printed as a
 * table, written as CSV and Markdown, and drawn (every seed thin, their mean thick, published
 * reference points where there are some for the environment). */
#ifndef MPO_LEARNING_SUMMARY_H
#define MPO_LEARNING_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

#include "cli/csv_table.h"

/* the columns of eval.csv a seed's table holds, in this order */
#define LEARNING_EVAL_COLUMNS {"env_steps", "wall_s", "mean_return"}

/* one row of the summary: over the seeds that have a value (n of them; the others are NaN) */
typedef struct {
    double steps; /* env steps; unused for the wall-time row */
    size_t n;
    double mean, std, min, max; /* std: sample standard deviation (n - 1), NaN for n < 2 */
    double *per_seed;           /* nseeds values */
} learning_row_t;

typedef struct {
    size_t nseeds;
    const int *seeds;
    size_t nrows;
    learning_row_t *rows; /* by env steps */
    learning_row_t wall;  /* each seed's wall-clock seconds */
} learning_summary_t;

/* evals[i]: seed i's eval.csv read with LEARNING_EVAL_COLUMNS (rows may be empty); wall[i]: its
 * wall-clock seconds (NaN: it never ran). 0, or -1 when out of memory. */
int learning_summary_make(learning_summary_t *s, const int *seeds, const csv_table_t *evals, const double *wall,
                          size_t nseeds);
void learning_summary_free(learning_summary_t *s);

/* the table: for the terminal (markdown 0) or as Markdown (1) */
void learning_summary_print(const learning_summary_t *s, FILE *out, int markdown);
/* DIR/summary.csv: env_steps,seeds,mean,std_sample,min,max,seed_S...; the wall-time row has
 * env_steps "wall_s". 0, or -1 with errno set. */
int learning_summary_write_csv(const learning_summary_t *s, const char *path);

/* Published results to draw beside ours: mean ± std of the evaluation return at env steps. */
typedef struct {
    const char *env, *source;
    double steps, mean, std;
} learning_ref_t;
/* the reference points of env (in order of source, then steps); *n of them, possibly 0 */
const learning_ref_t *learning_refs(const char *env, size_t *n);

/* The PNG at out: every seed's curve thin, their mean thick, env's reference points within the x
 * range (and each source's next one) as markers with error bars. 0, or -1 with a reason. */
int learning_summary_plot(const learning_summary_t *s, const csv_table_t *evals, const char *env, const char *title,
                          const char *out, char *err, size_t errlen);

#endif
