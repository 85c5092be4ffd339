#include "learner/run_csv.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/run_dir.h"

typedef struct {
    const char *name;
    const char *format;
} s_column_t;

#define S_COLUMN(name, format) {#name, format},
static const s_column_t s_sync[] = {RUN_CSV_PROGRESS_SYNC(S_COLUMN)};
static const s_column_t s_learner[] = {RUN_CSV_PROGRESS_LEARNER(S_COLUMN)};
static const s_column_t s_eval[] = {RUN_CSV_EVAL(S_COLUMN)};

/* each kind: its file, its leading columns, whether the update's metrics follow */
static const struct {
    const char *file;
    const s_column_t *columns;
    size_t n;
    int metrics;
} s_kinds[] = {
    [RUN_CSV_PROGRESS_SYNC_FILE] = {"progress.csv", s_sync, sizeof s_sync / sizeof s_sync[0], 1},
    [RUN_CSV_PROGRESS_LEARNER_FILE] = {"progress.csv", s_learner, sizeof s_learner / sizeof s_learner[0], 1},
    [RUN_CSV_EVAL_FILE] = {"eval.csv", s_eval, sizeof s_eval / sizeof s_eval[0], 0},
};

struct run_csv_t {
    FILE *f;
    run_csv_kind_t kind;
};

static int s_open_mode(run_csv_t **out, const config_t *cfg, run_csv_kind_t kind, const char *mode);

int run_csv_open(run_csv_t **out, const config_t *cfg, run_csv_kind_t kind) {
    return s_open_mode(out, cfg, kind, "w");
}

int run_csv_append(run_csv_t **out, const config_t *cfg, run_csv_kind_t kind) {
    return s_open_mode(out, cfg, kind, "a");
}

static int s_open_mode(run_csv_t **out, const config_t *cfg, run_csv_kind_t kind, const char *mode) {
    *out = NULL;
    int failed = 0;
    FILE *f = run_dir_open_mode(cfg, s_kinds[kind].file, mode, &failed);
    if (!f)
        return failed ? -MPO_EIO : 0;
    run_csv_t *self = calloc(1, sizeof *self);
    if (!self) {
        fclose(f);
        return -MPO_ENOMEM;
    }
    self->f = f;
    self->kind = kind;
    fseek(f, 0, SEEK_END);
    if (ftell(f) > 0) { /* appending to a file that has its header */
        *out = self;
        return 0;
    }
    for (size_t i = 0; i < s_kinds[kind].n; i++)
        fprintf(f, "%s%s", i ? "," : "", s_kinds[kind].columns[i].name);
    if (s_kinds[kind].metrics) {
        size_t n;
        const mpo_metric_info_t *info = mpo_metric_info(&n);
        for (size_t i = 0; i < n; i++)
            fprintf(f, ",%s", info[i].name);
    }
    fprintf(f, "\n");
    fflush(f);
    *out = self;
    return 0;
}

void run_csv_row(run_csv_t *self, const double *values, size_t n, const mpo_metrics_t *m) {
    if (!self)
        return;
    MPO_ASSERT(n == s_kinds[self->kind].n);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', self->f);
        fprintf(self->f, s_kinds[self->kind].columns[i].format, values[i]);
    }
    if (s_kinds[self->kind].metrics) {
        size_t nm;
        const mpo_metric_info_t *info = mpo_metric_info(&nm);
        for (size_t i = 0; i < nm; i++)
            fprintf(self->f, ",%.6g", *(const double *)((const char *)m + info[i].offset));
    }
    fprintf(self->f, "\n");
    fflush(self->f);
}

void run_csv_destroy(run_csv_t **self_p) {
    if (!self_p || !*self_p)
        return;
    fclose((*self_p)->f);
    free(*self_p);
    *self_p = NULL;
}
