/* Feature matrices of the data-driven problems, copied to double: dense row-major or
 * compressed sparse rows. Internal to src/problem. */
#ifndef STOCHOPT_PROBLEM_INTERNAL_H
#define STOCHOPT_PROBLEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/data.h"

typedef struct so_matrix_ {
    size_t rows, cols;
    int sparse;
    double *dense;     /* rows x cols, row-major, when !sparse */
    size_t *row_ptr;   /* rows + 1 offsets, when sparse */
    uint32_t *col;
    double *val;
} so_matrix_;

/* Copies the features of ds to double, with gather-time scaling and standardization
 * applied, appending a column of ones when intercept is nonzero. Sparse features with
 * standardization are rejected because the offsets would make them dense. */
int so_matrix_from_dataset_(const so_dataset *ds, int intercept, so_matrix_ *A,
                            const char *caller);
void so_matrix_free_(so_matrix_ *A);

/* Y = A X with X cols x k and Y rows x k, both row-major. */
void so_matrix_mul_(const so_matrix_ *A, const double *X, size_t k, double *Y);
/* X = alpha A^T Y with Y rows x k and X cols x k, both row-major. */
void so_matrix_tmul_(const so_matrix_ *A, const double *Y, size_t k, double alpha,
                     double *X);
/* G = alpha sum_i w_i a_i a_i^T (cols x cols, row-major, overwritten). scratch has room for
 * rows x cols doubles for dense A and may be NULL for sparse A. */
void so_matrix_gram_(const so_matrix_ *A, const double *w, double alpha, double *G,
                     double *scratch);
/* Copies row i of A into out (cols values, zero-filled). */
void so_matrix_row_(const so_matrix_ *A, size_t i, double *out);

#endif
