/* csv_table: see csv_table.h. Columns are found by name, malformed or half-written lines skipped. */
#include "cli/csv_table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void csv_table_free(csv_table_t *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* the column of `name` in the header line, or -1 */
static int s_column(const char *header, const char *name) {
    int col = 0;
    for (const char *tok = header, *end; tok; tok = end ? end + 1 : NULL, col++) {
        end = strchr(tok, ',');
        size_t len = end ? (size_t)(end - tok) : strcspn(tok, "\r\n");
        if (len == strlen(name) && !strncmp(tok, name, len))
            return col;
    }
    return -1;
}

static int s_append(csv_table_t *t, const double *row) {
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        double *p = realloc(t->v, cap * t->cols * sizeof *p);
        if (!p)
            return -1;
        t->v = p;
        t->cap = cap;
    }
    memcpy(t->v + t->rows * t->cols, row, t->cols * sizeof *row);
    t->rows++;
    return 0;
}

int csv_table_read(const char *path, const char *const *want, size_t nwant, size_t nkey, csv_table_t *t) {
    memset(t, 0, sizeof *t);
    if (nwant == 0 || nwant > CSV_TABLE_MAX_COLS || nkey > nwant) {
        errno = EINVAL;
        return -1;
    }
    t->cols = nwant;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t n;
    int idx[CSV_TABLE_MAX_COLS];
    int rc = 0;
    if ((n = getline(&line, &linecap, f)) <= 0)
        goto done; /* empty file: no rows */
    for (size_t w = 0; w < nwant; w++)
        if ((idx[w] = s_column(line, want[w])) < 0) {
            rc = -2;
            goto done;
        }
    while ((n = getline(&line, &linecap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* being written right now */
        double field[CSV_TABLE_MAX_COLS];
        int nf = 0;
        for (char *tok = line, *end; tok && nf < CSV_TABLE_MAX_COLS; tok = end ? end + 1 : NULL) {
            end = strchr(tok, ',');
            char *stop;
            errno = 0;
            double v = strtod(tok, &stop);
            int ok = stop != tok && errno == 0 && (*stop == ',' || *stop == '\n' || *stop == '\r');
            field[nf++] = ok ? v : NAN;
        }
        double row[CSV_TABLE_MAX_COLS];
        int usable = 1;
        for (size_t w = 0; w < nwant; w++) {
            row[w] = idx[w] < nf ? field[idx[w]] : NAN;
            if (w < nkey && !isfinite(row[w]))
                usable = 0;
        }
        if (usable && s_append(t, row) != 0) {
            errno = ENOMEM;
            rc = -1;
            goto done;
        }
    }
done:
    free(line);
    fclose(f);
    return rc;
}
