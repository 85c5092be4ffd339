/* plot: the learning curve of a run directory as a PNG, drawn by gnuplot (see plot.h).
 *
 * The CSV files are parsed here (columns found by name, malformed or half-written lines skipped)
 * and handed to gnuplot as inline data blocks, so gnuplot never reads a path or a header of ours. */
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

#define S_PATH_MAX 4096
#define S_MAX_COLS 64

typedef struct {
    double *v; /* rows × cols, row-major */
    size_t rows, cap, cols;
} s_table_t;

static void s_usage(FILE *out) {
    fprintf(out, "usage: mpo plot RUN_DIR [--out FILE.png]\n"
                 "Draw the learning curve of a run: evaluation return (mean ± std over the evaluation\n"
                 "episodes) against environment steps and against wall-clock seconds, two panels in one\n"
                 "PNG, with the training episodes' returns (progress.csv) behind it when present.\n"
                 "RUN_DIR is a run's run_dir (mpo train --run-dir DIR writes eval.csv there; eval_every\n"
                 "sets how often it evaluates). Needs gnuplot (Debian: apt-get install gnuplot-nox).\n"
                 "  --out FILE.png   where to write it (default: RUN_DIR/learning_curve.png)\n");
}

/* Read the columns named in want[0..nwant) of a CSV file with a header line into t (rows with a
 * non-number in a wanted column, and a last line without its newline, are skipped).
 * 0; -1 when the file cannot be opened (errno set); -2 when the header lacks a wanted column. */
static int s_read_csv(const char *path, const char *const *want, size_t nwant, s_table_t *t) {
    memset(t, 0, sizeof *t);
    t->cols = nwant;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t n;
    int idx[S_MAX_COLS];
    int rc = 0;
    if ((n = getline(&line, &linecap, f)) <= 0) {
        rc = 0; /* empty file: no rows */
        goto done;
    }
    for (size_t w = 0; w < nwant; w++) {
        idx[w] = -1;
        int col = 0;
        for (char *tok = line, *end; tok; tok = end ? end + 1 : NULL, col++) {
            end = strchr(tok, ',');
            size_t len = end ? (size_t)(end - tok) : strcspn(tok, "\r\n");
            if (len == strlen(want[w]) && !strncmp(tok, want[w], len))
                idx[w] = col;
        }
        if (idx[w] < 0) {
            rc = -2;
            goto done;
        }
    }
    while ((n = getline(&line, &linecap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* being written right now */
        double field[S_MAX_COLS];
        int col = 0, nf = 0;
        for (char *tok = line, *end; tok && nf < S_MAX_COLS; tok = end ? end + 1 : NULL, col++) {
            end = strchr(tok, ',');
            char *stop;
            errno = 0;
            double v = strtod(tok, &stop);
            int ok = stop != tok && errno == 0 && (*stop == ',' || *stop == '\n' || *stop == '\r');
            field[col] = ok ? v : NAN;
            nf = col + 1;
        }
        double row[S_MAX_COLS];
        int usable = 1;
        for (size_t w = 0; w < nwant; w++) {
            row[w] = idx[w] < nf ? field[idx[w]] : NAN;
            if (w < 2 && !isfinite(row[w]))
                usable = 0; /* the x columns must be numbers */
        }
        if (!usable)
            continue;
        if (t->rows == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 256;
            double *p = realloc(t->v, cap * nwant * sizeof *p);
            if (!p) {
                rc = -1;
                errno = ENOMEM;
                goto done;
            }
            t->v = p;
            t->cap = cap;
        }
        memcpy(t->v + t->rows * nwant, row, nwant * sizeof *row);
        t->rows++;
    }
done:
    free(line);
    fclose(f);
    return rc;
}

/* is there an executable `name` in PATH */
static int s_in_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[S_PATH_MAX];
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, len ? p : ".", name);
        if (access(buf, X_OK) == 0)
            return 1;
        p += len;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* a gnuplot single-quoted string: ' doubled */
static void s_quote(FILE *g, const char *s) {
    fputc('\'', g);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', g);
        fputc(*s, g);
    }
    fputc('\'', g);
}

/* the env key of RUN_DIR/config.ini (written by the trainer), or "" */
static void s_run_env(const char *dir, char *out, size_t outlen) {
    out[0] = '\0';
    char path[S_PATH_MAX];
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

static void s_write_block(FILE *g, const char *name, const s_table_t *t) {
    fprintf(g, "$%s << EOD\n", name);
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            double v = t->v[r * t->cols + c];
            if (isfinite(v))
                fprintf(g, "%s%.9g", c ? " " : "", v);
            else
                fprintf(g, "%sNaN", c ? " " : "");
        }
        fputc('\n', g);
    }
    fprintf(g, "EOD\n");
}

/* one panel: x is column xcol (1-based) of both blocks, divided by div */
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

/* the largest finite value of column c of both tables */
static double s_col_max(const s_table_t *a, const s_table_t *b, size_t c) {
    double m = 0;
    for (const s_table_t *t = a; t; t = t == a ? b : NULL)
        for (size_t r = 0; r < t->rows; r++)
            if (isfinite(t->v[r * t->cols + c]) && t->v[r * t->cols + c] > m)
                m = t->v[r * t->cols + c];
    return m;
}

int plot_main(int argc, char **argv) {
    const char *dir = NULL, *out_opt = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--out") || !strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpo plot: %s needs a file name\n", argv[i]);
                return 2;
            }
            out_opt = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "mpo plot: unknown option '%s' (see mpo plot --help)\n", argv[i]);
            return 2;
        } else if (!dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "mpo plot: one run directory at a time ('%s' and '%s')\n", dir, argv[i]);
            return 2;
        }
    }
    if (!dir) {
        s_usage(stderr);
        return 2;
    }

    char eval_path[S_PATH_MAX], progress_path[S_PATH_MAX], out[S_PATH_MAX], tmp[S_PATH_MAX + 16];
    snprintf(eval_path, sizeof eval_path, "%s/eval.csv", dir);
    snprintf(progress_path, sizeof progress_path, "%s/progress.csv", dir);
    snprintf(out, sizeof out, "%s", out_opt ? out_opt : "");
    if (!out_opt)
        snprintf(out, sizeof out, "%s/learning_curve.png", dir);

    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mpo plot: %s is not a directory\n", dir);
        return 1;
    }
    static const char *const eval_cols[] = {"env_steps", "wall_s", "mean_return", "std_return"};
    s_table_t ev, tr = {0};
    int rc = s_read_csv(eval_path, eval_cols, 4, &ev);
    if (rc == -1) {
        free(ev.v);
        if (errno == ENOENT)
            fprintf(stderr, "mpo plot: no run in %s: no eval.csv (mpo train --run-dir %s writes one)\n", dir, dir);
        else
            fprintf(stderr, "mpo plot: cannot read %s: %s\n", eval_path, strerror(errno));
        return 1;
    }
    if (rc == -2) {
        fprintf(stderr, "mpo plot: %s: the header is not env_steps,wall_s,mean_return,std_return,episodes\n",
                eval_path);
        free(ev.v);
        return 1;
    }
    if (ev.rows == 0) {
        fprintf(stderr, "mpo plot: no run in %s: %s has no evaluations yet\n", dir, eval_path);
        free(ev.v);
        return 1;
    }
    /* training returns: optional, and any trouble with them only leaves them out */
    static const char *const train_cols[] = {"env_steps", "wall_s", "episode_return"};
    if (s_read_csv(progress_path, train_cols, 3, &tr) != 0)
        tr.rows = 0;
    size_t ntrain = 0;
    for (size_t r = 0; r < tr.rows; r++)
        ntrain += isfinite(tr.v[r * 3 + 2]) != 0;

    if (!s_in_path("gnuplot")) {
        fprintf(stderr, "mpo plot: gnuplot not found in PATH (Debian: apt-get install gnuplot-nox)\n");
        free(ev.v);
        free(tr.v);
        return 1;
    }
    /* gnuplot writes a temporary file that is renamed into place: never a half-written PNG */
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
    char env[256];
    s_run_env(dir, env, sizeof env);
    const double *last = ev.v + (ev.rows - 1) * 4;
    char title[S_PATH_MAX + 512];
    snprintf(title, sizeof title, "%s%s%s: evaluation return %.1f at %.0f steps (%zu evaluation%s)", dir,
             env[0] ? ", " : "", env, last[2], last[0], ev.rows, ev.rows == 1 ? "" : "s");

    signal(SIGPIPE, SIG_IGN); /* a gnuplot that dies early is reported by pclose, not by a signal */
    FILE *g = popen("gnuplot", "w");
    if (!g) {
        fprintf(stderr, "mpo plot: cannot run gnuplot: %s\n", strerror(errno));
        free(ev.v);
        free(tr.v);
        return 1;
    }
    fprintf(g, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "  set terminal pngcairo size 1400,520 noenhanced font 'sans,10'\n"
               "} else {\n"
               "  set terminal png size 1400,520 noenhanced\n"
               "}\n"
               "set output ");
    s_quote(g, tmp);
    /* offsets: points on the edge of the range stay whole */
    fprintf(g, "\nset encoding utf8\nset datafile missing 'NaN'\nset grid\nset key bottom right\n"
               "set offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05\n");
    fprintf(g, "set ylabel 'return'\nset multiplot layout 1,2 title ");
    s_quote(g, title);
    fputc('\n', g);
    s_write_block(g, "eval", &ev);
    if (ntrain)
        s_write_block(g, "train", &tr);
    /* axes in readable units: thousands or millions of steps; seconds, minutes or hours */
    double steps = s_col_max(&ev, &tr, 0), wall = s_col_max(&ev, &tr, 1);
    s_panel(g, 1, steps >= 2e6 ? 1e6 : steps >= 2e3 ? 1e3 : 1,
            steps >= 2e6 ? "environment steps (millions)" : steps >= 2e3 ? "environment steps (thousands)"
                                                                         : "environment steps",
            ntrain > 0);
    s_panel(g, 2, wall >= 7200 ? 3600 : wall >= 300 ? 60 : 1,
            wall >= 7200 ? "wall-clock hours" : wall >= 300 ? "wall-clock minutes" : "wall-clock seconds", ntrain > 0);
    fprintf(g, "unset multiplot\nset output\n");
    int status = pclose(g);
    size_t nev = ev.rows;
    free(ev.v);
    free(tr.v);
    int ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok && (stat(tmp, &st) != 0 || st.st_size == 0))
        ok = 0;
    if (!ok) {
        unlink(tmp);
        fprintf(stderr, "mpo plot: gnuplot failed (%s %d) writing %s\n",
                status != -1 && WIFEXITED(status) ? "exit status" : "status",
                status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : status, out);
        return 1;
    }
    if (rename(tmp, out) != 0) {
        fprintf(stderr, "mpo plot: cannot write %s: %s\n", out, strerror(errno));
        unlink(tmp);
        return 1;
    }
    printf("mpo plot: wrote %s (%zu evaluation%s, %zu training return%s)\n", out, nev, nev == 1 ? "" : "s", ntrain,
           ntrain == 1 ? "" : "s");
    return 0;
}
