/* csv_table: the numeric columns of a run's CSV files (eval.csv, progress.csv), found by name in
 * the header line, for `mpo plot` and `mpo bench learning`. */
#ifndef MPO_CSV_TABLE_H
#define MPO_CSV_TABLE_H

#include <stddef.h>

#define CSV_TABLE_MAX_COLS 64

typedef struct {
    double *v; /* rows × cols, row-major; a field that is not a number is NaN */
    size_t rows, cap, cols;
} csv_table_t;

/* Read the columns named in want[0..nwant) of a CSV file with a header line into t, in want's
 * order. A row whose first `nkey` wanted columns are not all numbers is skipped, and so is a last
 * line without its newline (being written right now). An empty file gives no rows.
 * 0; -1 when the file cannot be read (errno set; t is empty); -2 when the header lacks a wanted
 * column. Free t with csv_table_free in every case. */
int csv_table_read(const char *path, const char *const *want, size_t nwant, size_t nkey, csv_table_t *t);
void csv_table_free(csv_table_t *t);
/* the value at row r, column c */
static inline double csv_table_at(const csv_table_t *t, size_t r, size_t c) { return t->v[r * t->cols + c]; }

#endif
