/* learning_summary: see learning_summary.h. */
#include "cli/learning_summary.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/plot.h"

/* Published HalfCheetah-v4 results, mean ± std over 10 seeds of the evaluation return at env steps:
 *  - "SAC (Tianshou, 10 seeds)": Tianshou's MuJoCo benchmark, SAC
 *    (github.com/thu-ml/tianshou, examples/mujoco/README.md);
 *  - "SAC (SimbaV2 release, 10 seeds)": the SAC baseline of SimbaV2's released per-seed results
 *    (github.com/dojeon-ai/SimbaV2), mean and std over its 10 seeds at each step count.
 * Figures as quoted in the project's "Learning" issue.
 * Hopper-v4, Walker2d-v4, Ant-v4, Humanoid-v4: SimbaV2's released SAC and CrossQ baselines
 * (results/baseline/{sac,crossq}.csv), 10 seeds of one deterministic evaluation episode each, mean
 * and population std at the grid point nearest 100k / 300k / 1M steps (the MuJoCo environment
 * facts, "Published returns"). */
static const learning_ref_t s_refs[] = {
    {"HalfCheetah-v4", "SAC (Tianshou, 10 seeds)", 20e3, 2641, 503},
    {"HalfCheetah-v4", "SAC (Tianshou, 10 seeds)", 50e3, 4747, 345},
    {"HalfCheetah-v4", "SAC (Tianshou, 10 seeds)", 100e3, 6515, 514},
    {"HalfCheetah-v4", "SAC (Tianshou, 10 seeds)", 200e3, 8208, 928},
    {"HalfCheetah-v4", "SAC (SimbaV2 release, 10 seeds)", 100e3, 6156, 700},
    {"HalfCheetah-v4", "SAC (SimbaV2 release, 10 seeds)", 300e3, 8593, 964},
    {"HalfCheetah-v4", "SAC (SimbaV2 release, 10 seeds)", 500e3, 9838, 922},
    {"HalfCheetah-v4", "SAC (SimbaV2 release, 10 seeds)", 1e6, 11321, 1051},
    {"Hopper-v4", "SAC (SimbaV2 release, 10 seeds)", 100e3, 1103, 368},
    {"Hopper-v4", "SAC (SimbaV2 release, 10 seeds)", 300e3, 2160, 981},
    {"Hopper-v4", "SAC (SimbaV2 release, 10 seeds)", 1e6, 2787, 823},
    {"Hopper-v4", "CrossQ (SimbaV2 release, 10 seeds)", 100e3, 2764, 781},
    {"Hopper-v4", "CrossQ (SimbaV2 release, 10 seeds)", 300e3, 2644, 886},
    {"Hopper-v4", "CrossQ (SimbaV2 release, 10 seeds)", 1e6, 2467, 937},
    {"Walker2d-v4", "SAC (SimbaV2 release, 10 seeds)", 100e3, 690, 241},
    {"Walker2d-v4", "SAC (SimbaV2 release, 10 seeds)", 300e3, 2470, 1571},
    {"Walker2d-v4", "SAC (SimbaV2 release, 10 seeds)", 1e6, 4536, 469},
    {"Walker2d-v4", "CrossQ (SimbaV2 release, 10 seeds)", 100e3, 3914, 1641},
    {"Walker2d-v4", "CrossQ (SimbaV2 release, 10 seeds)", 300e3, 5941, 483},
    {"Walker2d-v4", "CrossQ (SimbaV2 release, 10 seeds)", 1e6, 6257, 1500},
    {"Ant-v4", "SAC (SimbaV2 release, 10 seeds)", 100e3, 747, 501},
    {"Ant-v4", "SAC (SimbaV2 release, 10 seeds)", 300e3, 3532, 1561},
    {"Ant-v4", "SAC (SimbaV2 release, 10 seeds)", 1e6, 5734, 639},
    {"Ant-v4", "CrossQ (SimbaV2 release, 10 seeds)", 100e3, 2299, 1278},
    {"Ant-v4", "CrossQ (SimbaV2 release, 10 seeds)", 300e3, 5712, 722},
    {"Ant-v4", "CrossQ (SimbaV2 release, 10 seeds)", 1e6, 6980, 224},
    {"Humanoid-v4", "SAC (SimbaV2 release, 10 seeds)", 100e3, 632, 170},
    {"Humanoid-v4", "SAC (SimbaV2 release, 10 seeds)", 300e3, 3015, 1647},
    {"Humanoid-v4", "SAC (SimbaV2 release, 10 seeds)", 1e6, 4826, 1593},
    {"Humanoid-v4", "CrossQ (SimbaV2 release, 10 seeds)", 100e3, 2603, 2347},
    {"Humanoid-v4", "CrossQ (SimbaV2 release, 10 seeds)", 300e3, 9039, 314},
    {"Humanoid-v4", "CrossQ (SimbaV2 release, 10 seeds)", 1e6, 10480, 266},
};

const learning_ref_t *learning_refs(const char *env, size_t *n) {
    size_t first = 0, count = 0;
    for (size_t i = 0; i < sizeof s_refs / sizeof s_refs[0]; i++)
        if (!strcmp(s_refs[i].env, env)) {
            if (!count)
                first = i;
            count++;
        }
    *n = count;
    return count ? &s_refs[first] : NULL; /* one environment's points are adjacent in the table */
}

/* the figures of row->per_seed[0..nseeds) */
static void s_stats(learning_row_t *row, size_t nseeds) {
    double sum = 0, min = INFINITY, max = -INFINITY;
    size_t n = 0;
    for (size_t i = 0; i < nseeds; i++) {
        double v = row->per_seed[i];
        if (!isfinite(v))
            continue;
        n++;
        sum += v;
        min = v < min ? v : min;
        max = v > max ? v : max;
    }
    row->n = n;
    row->mean = n ? sum / (double)n : NAN;
    row->min = n ? min : NAN;
    row->max = n ? max : NAN;
    double ss = 0;
    for (size_t i = 0; i < nseeds && n > 1; i++)
        if (isfinite(row->per_seed[i]))
            ss += (row->per_seed[i] - row->mean) * (row->per_seed[i] - row->mean);
    row->std = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
}

static int s_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int learning_summary_make(learning_summary_t *s, const int *seeds, const csv_table_t *evals, const double *wall,
                          size_t nseeds) {
    memset(s, 0, sizeof *s);
    s->nseeds = nseeds;
    s->seeds = seeds;
    /* the evaluation points: every env_steps value of any seed, once each, in order */
    size_t total = 0;
    for (size_t i = 0; i < nseeds; i++)
        total += evals[i].rows;
    double *steps = malloc((total ? total : 1) * sizeof *steps);
    s->wall.per_seed = malloc((nseeds ? nseeds : 1) * sizeof(double));
    if (!steps || !s->wall.per_seed) {
        free(steps);
        learning_summary_free(s);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < nseeds; i++)
        for (size_t r = 0; r < evals[i].rows; r++)
            steps[k++] = csv_table_at(&evals[i], r, 0);
    qsort(steps, total, sizeof *steps, s_cmp_double);
    size_t npoints = 0;
    for (size_t i = 0; i < total; i++)
        if (!npoints || steps[i] != steps[npoints - 1])
            steps[npoints++] = steps[i];
    s->rows = calloc(npoints ? npoints : 1, sizeof *s->rows);
    if (!s->rows) {
        free(steps);
        learning_summary_free(s);
        return -1;
    }
    for (size_t p = 0; p < npoints; p++) {
        learning_row_t *row = &s->rows[p];
        row->steps = steps[p];
        if (!(row->per_seed = malloc((nseeds ? nseeds : 1) * sizeof(double)))) {
            free(steps);
            learning_summary_free(s);
            return -1;
        }
        s->nrows = p + 1;
        for (size_t i = 0; i < nseeds; i++) {
            row->per_seed[i] = NAN;
            for (size_t r = 0; r < evals[i].rows; r++) /* the last row of these steps, if any */
                if (csv_table_at(&evals[i], r, 0) == row->steps)
                    row->per_seed[i] = csv_table_at(&evals[i], r, 2);
        }
        s_stats(row, nseeds);
    }
    free(steps);
    for (size_t i = 0; i < nseeds; i++)
        s->wall.per_seed[i] = wall[i];
    s_stats(&s->wall, nseeds);
    return 0;
}

void learning_summary_free(learning_summary_t *s) {
    for (size_t p = 0; p < s->nrows; p++)
        free(s->rows[p].per_seed);
    free(s->rows);
    free(s->wall.per_seed);
    memset(s, 0, sizeof *s);
}

/* v with one decimal, or "-" when it is not a number */
static const char *s_num(char *buf, size_t len, double v) {
    if (isfinite(v))
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "-");
    return buf;
}

static void s_print_row(FILE *out, const learning_summary_t *s, const learning_row_t *row, const char *first,
                        int md) {
    char b[6][32];
    if (md)
        fprintf(out, "| %s | %zu | %s | %s | %s | %s |", first, row->n, s_num(b[0], 32, row->mean),
                s_num(b[1], 32, row->std), s_num(b[2], 32, row->min), s_num(b[3], 32, row->max));
    else
        fprintf(out, "%10s %5zu %10s %10s %10s %10s  ", first, row->n, s_num(b[0], 32, row->mean),
                s_num(b[1], 32, row->std), s_num(b[2], 32, row->min), s_num(b[3], 32, row->max));
    for (size_t i = 0; i < s->nseeds; i++)
        fprintf(out, md ? " %s |" : " %9s", s_num(b[4], 32, row->per_seed[i]));
    fputc('\n', out);
}

void learning_summary_print(const learning_summary_t *s, FILE *out, int md) {
    char name[32];
    if (md) {
        fprintf(out, "| env steps | seeds | mean | std | min | max |");
        for (size_t i = 0; i < s->nseeds; i++)
            fprintf(out, " seed %d |", s->seeds[i]);
        fprintf(out, "\n|---:|---:|---:|---:|---:|---:|");
        for (size_t i = 0; i < s->nseeds; i++)
            fprintf(out, "---:|");
        fputc('\n', out);
    } else {
        fprintf(out, "%10s %5s %10s %10s %10s %10s  ", "env steps", "seeds", "mean", "std", "min", "max");
        for (size_t i = 0; i < s->nseeds; i++) {
            snprintf(name, sizeof name, "seed %d", s->seeds[i]);
            fprintf(out, " %9s", name);
        }
        fputc('\n', out);
    }
    for (size_t p = 0; p < s->nrows; p++) {
        snprintf(name, sizeof name, "%.0f", s->rows[p].steps);
        s_print_row(out, s, &s->rows[p], name, md);
    }
    s_print_row(out, s, &s->wall, md ? "wall s" : "wall s", md);
    fprintf(out, "%sEach step row: the deterministic evaluation's mean return, over the seeds that reached it;\n"
                 "std is the sample standard deviation over seeds (n - 1 in the denominator). The last row\n"
                 "is each seed's wall-clock seconds.\n",
            md ? "\n" : "");
}

static void s_csv_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, ",%.4f", v);
    else
        fprintf(f, ",");
}

static void s_csv_row(FILE *f, const learning_summary_t *s, const learning_row_t *row) {
    fprintf(f, ",%zu", row->n);
    s_csv_num(f, row->mean);
    s_csv_num(f, row->std);
    s_csv_num(f, row->min);
    s_csv_num(f, row->max);
    for (size_t i = 0; i < s->nseeds; i++)
        s_csv_num(f, row->per_seed[i]);
    fputc('\n', f);
}

int learning_summary_write_csv(const learning_summary_t *s, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "env_steps,seeds,mean,std_sample,min,max");
    for (size_t i = 0; i < s->nseeds; i++)
        fprintf(f, ",seed_%d", s->seeds[i]);
    fputc('\n', f);
    for (size_t p = 0; p < s->nrows; p++) {
        fprintf(f, "%.0f", s->rows[p].steps);
        s_csv_row(f, s, &s->rows[p]);
    }
    fprintf(f, "wall_s");
    s_csv_row(f, s, &s->wall);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

int learning_summary_plot(const learning_summary_t *s, const csv_table_t *evals, const char *env, const char *title,
                          const char *out, char *err, size_t errlen) {
    double xmax = 0;
    for (size_t p = 0; p < s->nrows; p++)
        xmax = s->rows[p].steps > xmax ? s->rows[p].steps : xmax;
    if (s->nrows == 0) {
        snprintf(err, errlen, "no evaluations to plot");
        return -1;
    }
    /* the reference points within the x range, and each source's next one */
    size_t nref;
    const learning_ref_t *refs = learning_refs(env, &nref);
    const char *sources[8];
    size_t nsources = 0;
    for (size_t i = 0; i < nref; i++)
        if (!nsources || strcmp(sources[nsources - 1], refs[i].source))
            if (nsources < sizeof sources / sizeof sources[0])
                sources[nsources++] = refs[i].source;
    plot_gnuplot_t p;
    if (plot_begin(&p, out, 1100, 650, err, errlen) != 0)
        return -1;
    FILE *g = p.g;
    char xlabel[64];
    double ref_max = xmax;
    for (size_t k = 0; k < nsources; k++) {
        int past = 0;
        for (size_t i = 0; i < nref; i++)
            if (!strcmp(refs[i].source, sources[k]) && (refs[i].steps <= xmax || !past++))
                ref_max = refs[i].steps > ref_max ? refs[i].steps : ref_max;
    }
    double div = plot_steps_unit(ref_max, xlabel, sizeof xlabel);
    fprintf(g, "set key top left\nset xlabel '%s'\nset ylabel 'evaluation return (deterministic)'\nset title ",
            xlabel);
    plot_quote(g, title);
    fputc('\n', g);
    char name[32];
    for (size_t i = 0; i < s->nseeds; i++) {
        snprintf(name, sizeof name, "seed%zu", i);
        plot_block(g, name, &evals[i]);
    }
    fprintf(g, "$mean << EOD\n");
    for (size_t r = 0; r < s->nrows; r++)
        fprintf(g, "%.9g %.9g\n", s->rows[r].steps, s->rows[r].mean);
    fprintf(g, "EOD\n");
    for (size_t k = 0; k < nsources; k++) {
        fprintf(g, "$ref%zu << EOD\n", k);
        int past = 0;
        for (size_t i = 0; i < nref; i++)
            if (!strcmp(refs[i].source, sources[k]) && (refs[i].steps <= xmax || !past++))
                fprintf(g, "%.9g %.9g %.9g\n", refs[i].steps, refs[i].mean, refs[i].std);
        fprintf(g, "EOD\n");
    }
    fprintf(g, "plot ");
    const char *sep = "";
    for (size_t i = 0; i < s->nseeds; i++) {
        if (!evals[i].rows)
            continue;
        fprintf(g, "%s$seed%zu using ($1/%g):3 with lines lw 1 lc rgb '%s' title 'seed %d'", sep, i, div,
                plot_colour(i + 1), s->seeds[i]);
        sep = ", \\\n     ";
    }
    fprintf(g, "%s$mean using ($1/%g):2 with linespoints lw 3 pt 7 ps 0.9 lc rgb 'black' title 'mean over %zu seed%s'",
            sep, div, s->nseeds, s->nseeds == 1 ? "" : "s");
    static const int point_types[] = {5, 9, 11, 13};
    for (size_t k = 0; k < nsources; k++) {
        fprintf(g, ", \\\n     $ref%zu using ($1/%g):2:3 with yerrorbars pt %d ps 1.4 lw 1.5 lc rgb '%s' title ",
                k, div, point_types[k % 4], k % 2 ? "#8b008b" : "#b8860b");
        plot_quote(g, sources[k]);
    }
    fputc('\n', g);
    return plot_end(&p, err, errlen);
}
