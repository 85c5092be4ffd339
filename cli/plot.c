/* plot: learning curves of run directories as a PNG, drawn by gnuplot (see plot.h).
 *
 * The CSV files are parsed here (cli/csv_table: columns found by name, malformed or half-written
 * lines skipped) and handed to gnuplot as inline data blocks, so gnuplot never reads a path or a
 * header of ours. */
#include "cli/plot.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_RUNS 32

static void s_usage(FILE *out) {
    fprintf(out, "usage: mpo plot RUN_DIR [RUN_DIR ...] [--out FILE.png] [--label NAME ...]\n"
                 "Draw the learning curve of a run: evaluation return (mean ± std over the evaluation\n"
                 "episodes) against environment steps and against wall-clock seconds, two panels in one\n"
                 "PNG, with the training episodes' returns (progress.csv) behind it when present.\n"
                 "Several RUN_DIRs (a distributed run and a --sync run, say) share the two panels, each\n"
                 "in its own colour and label.\n"
                 "RUN_DIR is a run's run_dir (mpo train --run-dir DIR writes eval.csv there; eval_every\n"
                 "sets how often it evaluates). Needs gnuplot (Debian: apt-get install gnuplot-nox).\n"
                 "  --out FILE.png   where to write it (default: RUN_DIR/learning_curve.png for one run,\n"
                 "                   ./learning_curves.png for several)\n"
                 "  --label NAME     the legend of the next RUN_DIR, in order (repeatable; default: the\n"
                 "                   directory's basename)\n");
}

int plot_have_gnuplot(void) {
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[PLOT_PATH_MAX];
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)len, len ? p : ".");
        if (access(buf, X_OK) == 0)
            return 1;
        p += len;
        if (*p == ':')
            p++;
    }
    return 0;
}

void plot_quote(FILE *g, const char *s) {
    fputc('\'', g);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', g);
        fputc(*s, g);
    }
    fputc('\'', g);
}

void plot_block(FILE *g, const char *name, const csv_table_t *t) {
    fprintf(g, "$%s << EOD\n", name);
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            double v = csv_table_at(t, r, c);
            if (isfinite(v))
                fprintf(g, "%s%.9g", c ? " " : "", v);
            else
                fprintf(g, "%sNaN", c ? " " : "");
        }
        fputc('\n', g);
    }
    fprintf(g, "EOD\n");
}

double plot_steps_unit(double max, char *label, size_t labellen) {
    double div = max >= 2e6 ? 1e6 : max >= 2e3 ? 1e3 : 1;
    snprintf(label, labellen, "%s", div == 1e6 ? "environment steps (millions)"
                                    : div == 1e3 ? "environment steps (thousands)"
                                                 : "environment steps");
    return div;
}

double plot_seconds_unit(double max, char *label, size_t labellen) {
    double div = max >= 7200 ? 3600 : max >= 300 ? 60 : 1;
    snprintf(label, labellen, "%s", div == 3600 ? "wall-clock hours" : div == 60 ? "wall-clock minutes"
                                                                                 : "wall-clock seconds");
    return div;
}

const char *plot_colour(size_t i) {
    static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                          "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
    return colours[i % (sizeof colours / sizeof colours[0])];
}

int plot_begin(plot_gnuplot_t *p, const char *out, int width, int height, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    if (!plot_have_gnuplot()) {
        snprintf(err, errlen, "gnuplot not found in PATH (Debian: apt-get install gnuplot-nox)");
        return -1;
    }
    snprintf(p->out, sizeof p->out, "%s", out);
    snprintf(p->tmp, sizeof p->tmp, "%s.tmp%ld", out, (long)getpid());
    signal(SIGPIPE, SIG_IGN); /* a gnuplot that dies early is reported by pclose, not by a signal */
    if (!(p->g = popen("gnuplot", "w"))) {
        snprintf(err, errlen, "cannot run gnuplot: %s", strerror(errno));
        return -1;
    }
    fprintf(p->g,
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "  set terminal pngcairo size %d,%d noenhanced font 'sans,10'\n"
            "} else {\n"
            "  set terminal png size %d,%d noenhanced\n"
            "}\n"
            "set output ",
            width, height, width, height);
    plot_quote(p->g, p->tmp);
    /* offsets: points on the edge of the range stay whole */
    fprintf(p->g, "\nset encoding utf8\nset datafile missing 'NaN'\nset grid\nset key bottom right\n"
                  "set offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05\n");
    return 0;
}

int plot_end(plot_gnuplot_t *p, char *err, size_t errlen) {
    fprintf(p->g, "set output\n");
    int status = pclose(p->g);
    p->g = NULL;
    struct stat st;
    int ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok && (stat(p->tmp, &st) != 0 || st.st_size == 0))
        ok = 0;
    if (!ok) {
        unlink(p->tmp);
        snprintf(err, errlen, "gnuplot failed (%s %d) writing %s",
                 status != -1 && WIFEXITED(status) ? "exit status" : "status",
                 status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : status, p->out);
        return -1;
    }
    if (rename(p->tmp, p->out) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", p->out, strerror(errno));
        unlink(p->tmp);
        return -1;
    }
    return 0;
}

/* the env key of RUN_DIR/config.ini (written by the trainer), or "" */
static void s_run_env(const char *dir, char *out, size_t outlen) {
    out[0] = '\0';
    char path[PLOT_PATH_MAX];
    snprintf(path, sizeof path, "%s/config.ini", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char key[64], val[256];
        if (sscanf(line, " %63[a-z_] = %255[^\r\n]", key, val) == 2 && !strcmp(key, "env")) {
            snprintf(out, outlen, "%s", val);
            break;
        }
    }
    fclose(f);
}

/* one panel of one run: x is column xcol (1-based) of both blocks, divided by div */
static void s_panel(FILE *g, int xcol, double div, const char *xlabel, int have_train) {
    fprintf(g, "set xlabel '%s'\n", xlabel);
    fprintf(g, "plot ");
    if (have_train)
        fprintf(g, "$train using ($%d/%g):3 with points pt 7 ps 0.4 lc rgb '#a0a0a0' title 'training return (progress.csv)', \\\n"
                   "     ",
                xcol, div);
    fprintf(g, "$eval using ($%d/%g):($3-$4):($3+$4) with filledcurves lc rgb '#1f77b4' fs transparent solid 0.2 "
               "notitle, \\\n"
               "     $eval using ($%d/%g):3 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#1f77b4' "
               "title 'evaluation return (mean ± std)'\n",
            xcol, div, xcol, div);
}

/* one panel of several runs: block $evalI, its label labels[I]; a run with one evaluation (a
 * distributed run's final one) is a point with an error bar */
static void s_panel_runs(FILE *g, int xcol, double div, const char *xlabel, const char *const *labels,
                         const csv_table_t *ev, size_t n) {
    fprintf(g, "set xlabel '%s'\nplot ", xlabel);
    for (size_t i = 0; i < n; i++) {
        const char *c = plot_colour(i);
        if (ev[i].rows == 1)
            fprintf(g, "%s$eval%zu using ($%d/%g):3:4 with yerrorbars lw 2 pt 7 ps 1.2 lc rgb '%s' title ",
                    i ? ", \\\n     " : "", i, xcol, div, c);
        else
            fprintf(g,
                    "%s$eval%zu using ($%d/%g):($3-$4):($3+$4) with filledcurves lc rgb '%s' fs transparent solid "
                    "0.15 notitle, \\\n     $eval%zu using ($%d/%g):3 with linespoints lw 2 pt 7 ps 0.8 lc rgb '%s' "
                    "title ",
                    i ? ", \\\n     " : "", i, xcol, div, c, i, xcol, div, c);
        plot_quote(g, labels[i]);
    }
    fputc('\n', g);
}

/* the largest finite value of column c of the tables */
static double s_col_max(const csv_table_t *const *t, size_t n, size_t c) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < t[i]->rows; r++)
            if (isfinite(csv_table_at(t[i], r, c)) && csv_table_at(t[i], r, c) > m)
                m = csv_table_at(t[i], r, c);
    return m;
}

/* DIR/eval.csv into ev: 0, or 1 after one line on stderr (not a directory, no run) */
static int s_load_eval(const char *dir, csv_table_t *ev) {
    static const char *const eval_cols[] = {"env_steps", "wall_s", "mean_return", "std_return"};
    char path[PLOT_PATH_MAX + 16];
    struct stat st;
    memset(ev, 0, sizeof *ev);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mpo plot: %s is not a directory\n", dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    int rc = csv_table_read(path, eval_cols, 4, 2, ev);
    if (rc == -1) {
        if (errno == ENOENT)
            fprintf(stderr, "mpo plot: no run in %s: no eval.csv (mpo train --run-dir %s writes one)\n", dir, dir);
        else
            fprintf(stderr, "mpo plot: cannot read %s: %s\n", path, strerror(errno));
    } else if (rc == -2) {
        fprintf(stderr, "mpo plot: %s: the header is not env_steps,wall_s,mean_return,std_return,episodes\n", path);
    } else if (ev->rows == 0) {
        fprintf(stderr, "mpo plot: no run in %s: %s has no evaluations yet\n", dir, path);
        rc = -3;
    }
    if (rc != 0) {
        csv_table_free(ev);
        return 1;
    }
    return 0;
}

/* the basename of a directory, trailing slashes ignored, into out */
static void s_basename(const char *dir, char *out, size_t outlen) {
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(out, outlen, "%.*s", (int)(len - start), dir + start);
}

static int s_plot_one(const char *dir, const char *out) {
    csv_table_t ev, tr;
    if (s_load_eval(dir, &ev) != 0)
        return 1;
    char progress_path[PLOT_PATH_MAX + 16], err[PLOT_PATH_MAX + 128];
    snprintf(progress_path, sizeof progress_path, "%s/progress.csv", dir);
    /* training returns: optional, and any trouble with them only leaves them out */
    static const char *const train_cols[] = {"env_steps", "wall_s", "episode_return"};
    if (csv_table_read(progress_path, train_cols, 3, 2, &tr) != 0)
        csv_table_free(&tr);
    size_t ntrain = 0;
    for (size_t r = 0; r < tr.rows; r++)
        ntrain += isfinite(csv_table_at(&tr, r, 2)) != 0;

    plot_gnuplot_t p;
    if (plot_begin(&p, out, 1400, 520, err, sizeof err) != 0) {
        fprintf(stderr, "mpo plot: %s\n", err);
        csv_table_free(&ev);
        csv_table_free(&tr);
        return 1;
    }
    char env[256], title[PLOT_PATH_MAX + 512], xlabel[64];
    s_run_env(dir, env, sizeof env);
    size_t last = ev.rows - 1;
    snprintf(title, sizeof title, "%s%s%s: evaluation return %.1f at %.0f steps (%zu evaluation%s)", dir,
             env[0] ? ", " : "", env, csv_table_at(&ev, last, 2), csv_table_at(&ev, last, 0), ev.rows,
             ev.rows == 1 ? "" : "s");
    FILE *g = p.g;
    fprintf(g, "set ylabel 'return'\nset multiplot layout 1,2 title ");
    plot_quote(g, title);
    fputc('\n', g);
    plot_block(g, "eval", &ev);
    if (ntrain)
        plot_block(g, "train", &tr);
    /* axes in readable units: thousands or millions of steps; seconds, minutes or hours */
    const csv_table_t *both[2] = {&ev, &tr};
    double div = plot_steps_unit(s_col_max(both, 2, 0), xlabel, sizeof xlabel);
    s_panel(g, 1, div, xlabel, ntrain > 0);
    div = plot_seconds_unit(s_col_max(both, 2, 1), xlabel, sizeof xlabel);
    s_panel(g, 2, div, xlabel, ntrain > 0);
    fprintf(g, "unset multiplot\n");
    size_t nev = ev.rows;
    csv_table_free(&ev);
    csv_table_free(&tr);
    if (plot_end(&p, err, sizeof err) != 0) {
        fprintf(stderr, "mpo plot: %s\n", err);
        return 1;
    }
    printf("mpo plot: wrote %s (%zu evaluation%s, %zu training return%s)\n", out, nev, nev == 1 ? "" : "s", ntrain,
           ntrain == 1 ? "" : "s");
    return 0;
}

static int s_plot_many(const char *const *dirs, const char *const *labels_in, size_t n, const char *out) {
    csv_table_t ev[S_MAX_RUNS];
    const csv_table_t *evp[S_MAX_RUNS];
    char names[S_MAX_RUNS][256], err[PLOT_PATH_MAX + 128];
    const char *labels[S_MAX_RUNS];
    size_t loaded = 0, points = 0;
    int rc = 1;
    for (; loaded < n; loaded++) {
        if (s_load_eval(dirs[loaded], &ev[loaded]) != 0)
            goto done;
        evp[loaded] = &ev[loaded];
        points += ev[loaded].rows;
        s_basename(dirs[loaded], names[loaded], sizeof names[loaded]);
        labels[loaded] = labels_in[loaded] ? labels_in[loaded] : names[loaded];
    }
    plot_gnuplot_t p;
    if (plot_begin(&p, out, 1400, 520, err, sizeof err) != 0) {
        fprintf(stderr, "mpo plot: %s\n", err);
        goto done;
    }
    /* the title names the environments of the runs, once each */
    char title[1024] = "", env[256], xlabel[64];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        s_run_env(dirs[i], env, sizeof env);
        if (env[0] && !strstr(title, env) && len + strlen(env) + 3 < sizeof title)
            len += (size_t)snprintf(title + len, sizeof title - len, "%s%s", len ? ", " : "", env);
    }
    snprintf(title + len, sizeof title - len, "%s%zu runs: evaluation return (mean ± std)", len ? ": " : "", n);
    fprintf(p.g, "set ylabel 'return'\nset multiplot layout 1,2 title ");
    plot_quote(p.g, title);
    fputc('\n', p.g);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "eval%zu", i);
        plot_block(p.g, name, &ev[i]);
    }
    double div = plot_steps_unit(s_col_max(evp, n, 0), xlabel, sizeof xlabel);
    s_panel_runs(p.g, 1, div, xlabel, labels, ev, n);
    div = plot_seconds_unit(s_col_max(evp, n, 1), xlabel, sizeof xlabel);
    s_panel_runs(p.g, 2, div, xlabel, labels, ev, n);
    fprintf(p.g, "unset multiplot\n");
    if (plot_end(&p, err, sizeof err) != 0) {
        fprintf(stderr, "mpo plot: %s\n", err);
        goto done;
    }
    printf("mpo plot: wrote %s (%zu run%s, %zu evaluation%s)\n", out, n, n == 1 ? "" : "s", points,
           points == 1 ? "" : "s");
    rc = 0;
done:
    for (size_t i = 0; i < loaded; i++)
        csv_table_free(&ev[i]);
    return rc;
}

int plot_main(int argc, char **argv) {
    const char *dirs[S_MAX_RUNS], *labels[S_MAX_RUNS] = {0}, *out = NULL;
    size_t ndirs = 0, nlabels = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--out") || !strcmp(argv[i], "-o") || !strcmp(argv[i], "--label")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpo plot: %s needs a %s\n", argv[i], argv[i][2] == 'l' ? "name" : "file name");
                return 2;
            }
            if (argv[i][2] != 'l') {
                out = argv[++i];
            } else if (nlabels == S_MAX_RUNS) {
                fprintf(stderr, "mpo plot: at most %d labels\n", S_MAX_RUNS);
                return 2;
            } else {
                labels[nlabels++] = argv[++i];
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "mpo plot: unknown option '%s' (see mpo plot --help)\n", argv[i]);
            return 2;
        } else if (ndirs == S_MAX_RUNS) {
            fprintf(stderr, "mpo plot: at most %d run directories\n", S_MAX_RUNS);
            return 2;
        } else {
            dirs[ndirs++] = argv[i];
        }
    }
    if (!ndirs) {
        s_usage(stderr);
        return 2;
    }
    if (nlabels > ndirs) {
        fprintf(stderr, "mpo plot: %zu labels for %zu run director%s\n", nlabels, ndirs, ndirs == 1 ? "y" : "ies");
        return 2;
    }
    char def[PLOT_PATH_MAX + 32];
    snprintf(def, sizeof def, "%s", ndirs == 1 ? dirs[0] : ".");
    snprintf(def + strlen(def), sizeof def - strlen(def), "/%s", ndirs == 1 ? "learning_curve.png" : "learning_curves.png");
    if (!out)
        out = def;
    /* one run keeps its own figure (training returns behind it) unless it is given a label */
    return ndirs == 1 && !labels[0] ? s_plot_one(dirs[0], out) : s_plot_many(dirs, labels, ndirs, out);
}
