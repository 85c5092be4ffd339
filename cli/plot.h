/* plot: `mpo plot RUN_DIR [--out FILE.png]`, the learning curve of a run as a PNG.
 *
 * Reads RUN_DIR/eval.csv (env_steps,wall_s,mean_return,std_return,episodes, written by the
 * trainer) and, when present, RUN_DIR/progress.csv's training episode returns, and draws two
 * panels with gnuplot (Debian package gnuplot-nox, run through a pipe): return against environment
 * steps and against wall-clock seconds. Default output: RUN_DIR/learning_curve.png. */
#ifndef MPO_PLOT_H
#define MPO_PLOT_H

/* argv[0] is "plot". 0 when the PNG was written; 1 for no run (missing or empty eval.csv), no
 * gnuplot, or a failed plot, with one line on stderr; 2 for bad usage. */
int plot_main(int argc, char **argv);

#endif
