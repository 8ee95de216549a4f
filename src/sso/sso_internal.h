/* Internal layout of so_sso_problem and the row kernels shared by the solvers. */
#ifndef STOCHOPT_SSO_INTERNAL_H
#define STOCHOPT_SSO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/sso.h"

struct so_sso_problem {
    size_t n, d;
    size_t k;         /* outputs per row: 1, or the number of classes for softmax */
    so_sso_loss loss;
    int intercept;
    double *x;        /* n x d row-major, or NULL for sparse rows */
    size_t *row_ptr;  /* n + 1 offsets into col and val, for sparse rows */
    uint32_t *col;
    double *val;
    double *y;        /* n targets: +-1 for logistic, class index 0..k-1 for softmax */
};

/* Rows of the parameter matrix: d, plus 1 with an intercept. theta is q x k
 * row-major, so theta[j * k + c] is the weight of feature j for output c. */
size_t so_sso_rows_of_theta_(const so_sso_problem *p);

/* Writes the k outputs of row i: z_c = x_i . theta[:, c] + intercept_c. */
void so_sso_row_output_(const so_sso_problem *p, size_t i, const double *theta, double *z);

/* Adds r_c * (x_i, 1) to column c of grad for every output c. */
void so_sso_row_add_(const so_sso_problem *p, size_t i, const double *r, double *grad);

/* Returns the loss of row i at its k outputs z. */
double so_sso_row_loss_(const so_sso_problem *p, size_t i, const double *z);

/* Writes dl/dz of row i at its k outputs z into dl (k values). */
void so_sso_row_deriv_(const so_sso_problem *p, size_t i, const double *z, double *dl);

#endif
