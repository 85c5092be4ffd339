/* plot: `mpo plot RUN_DIR [RUN_DIR ...] [--out FILE.png] [--label NAME ...]`, learning curves as a
 * PNG, and the gnuplot machinery `mpo bench learning` draws its plot with.
 *
 * One RUN_DIR: its eval.csv (env_steps,wall_s,mean_return,std_return,episodes, written by the
 * trainer) and, when present, progress.csv's training episode returns, in two panels: return
 * against environment steps and against wall-clock seconds. Default output:
 * RUN_DIR/learning_curve.png. Several: each run's evaluations in its own colour and label (default
 * the directory's basename) in the same two panels, default output ./learning_curves.png.
 * gnuplot (Debian package gnuplot-nox) runs through a pipe and writes a temporary file that is
 * renamed into place: never a half-written PNG. */
#ifndef MPO_PLOT_H
#define MPO_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "cli/csv_table.h"

#define PLOT_PATH_MAX 4096

/* argv[0] is "plot". 0 when the PNG was written; 1 for no run (missing or empty eval.csv), no
 * gnuplot, or a failed plot, with one line on stderr; 2 for bad usage. */
int plot_main(int argc, char **argv);

/* A gnuplot writing one PNG: plot_begin starts it (terminal, output, encoding, grid, offsets set),
 * the caller writes its commands to g, plot_end closes it and renames the PNG into place. */
typedef struct {
    FILE *g;
    char out[PLOT_PATH_MAX], tmp[PLOT_PATH_MAX + 32];
} plot_gnuplot_t;

/* is gnuplot in PATH */
int plot_have_gnuplot(void);
/* 0, or -1 with a reason (no gnuplot, cannot start it) */
int plot_begin(plot_gnuplot_t *p, const char *out, int width, int height, char *err, size_t errlen);
/* 0 when the PNG is at p->out; -1 with a reason (gnuplot failed, cannot rename) */
int plot_end(plot_gnuplot_t *p, char *err, size_t errlen);
/* s as a gnuplot single-quoted string */
void plot_quote(FILE *g, const char *s);
/* t as the inline data block $name (NaN for a missing value) */
void plot_block(FILE *g, const char *name, const csv_table_t *t);
/* readable axis units for values up to max: the divisor, and its axis label into label */
double plot_steps_unit(double max, char *label, size_t labellen);
double plot_seconds_unit(double max, char *label, size_t labellen);
/* the i-th of a fixed set of distinct colours, as '#rrggbb' */
const char *plot_colour(size_t i);

#endif
