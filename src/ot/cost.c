/* Ground costs between two point clouds, and the names of costs and methods. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/internal.h"
#include "ot/ot_internal.h"

int so_ot_cost_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    if (strcmp(name, "sqeuclidean") == 0)
        return SO_OT_SQEUCLIDEAN;
    if (strcmp(name, "euclidean") == 0)
        return SO_OT_EUCLIDEAN;
    if (strcmp(name, "l1") == 0 || strcmp(name, "cityblock") == 0)
        return SO_OT_L1;
    return -1;
}

/* ||x - y||^2 = ||x||^2 + ||y||^2 - 2 x.y, with the cross term as one DGEMM, as POT's
 * ot.dist does. Cancellation can leave tiny negative values, which are clamped to 0. */
static int squared_euclidean(const double *X, size_t n, const double *Y, size_t m,
                             size_t d, double *C)
{
    double *norms = malloc((n + m) * sizeof *norms);
    if (norms == NULL)
        return so_fail_(SO_ERR_NOMEM, "cost: out of memory for %zu norms", n + m);
    for (size_t i = 0; i < n; i++)
        norms[i] = so_ot_dot_(X + i * d, X + i * d, d);
    for (size_t j = 0; j < m; j++)
        norms[n + j] = so_ot_dot_(Y + j * d, Y + j * d, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, -2.0, X,
                (int)d, Y, (int)d, 0.0, C, (int)m);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double v = C[i * m + j] + norms[i] + norms[n + j];
            C[i * m + j] = v > 0.0 ? v : 0.0;
        }
    free(norms);
    return SO_OK;
}

int so_ot_cost_matrix(const double *X, size_t n, const double *Y, size_t m, size_t d,
                      so_ot_cost cost, double *C)
{
    if (X == NULL || Y == NULL || C == NULL || n == 0 || m == 0 || d == 0)
        return so_fail_(SO_ERR_INVALID, "cost: expected non-empty point clouds and an output "
                        "matrix, got n = %zu, m = %zu, d = %zu", n, m, d);
    if (n > (size_t)1 << 30 || m > (size_t)1 << 30 || d > (size_t)1 << 30)
        return so_fail_(SO_ERR_RANGE, "cost: sizes n = %zu, m = %zu, d = %zu exceed the BLAS "
                        "integer range", n, m, d);
    for (size_t k = 0; k < n * d; k++)
        if (!isfinite(X[k]))
            return so_fail_(SO_ERR_NONFINITE, "cost: X[%zu][%zu] is %g; expected finite "
                            "coordinates", k / d, k % d, X[k]);
    for (size_t k = 0; k < m * d; k++)
        if (!isfinite(Y[k]))
            return so_fail_(SO_ERR_NONFINITE, "cost: Y[%zu][%zu] is %g; expected finite "
                            "coordinates", k / d, k % d, Y[k]);
    if (cost == SO_OT_SQEUCLIDEAN)
        return squared_euclidean(X, n, Y, m, d, C);
    if (cost != SO_OT_L1 && cost != SO_OT_EUCLIDEAN)
        return so_fail_(SO_ERR_INVALID, "cost: unknown cost %d; expected SO_OT_SQEUCLIDEAN, "
                        "SO_OT_EUCLIDEAN or SO_OT_L1", (int)cost);
    /* The Euclidean distance is summed directly: the square root of the DGEMM form would
     * turn its rounding error of about 1e-16 ||x||^2 into 1e-8 ||x|| near zero. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double s = 0.0;
            for (size_t k = 0; k < d; k++) {
                double diff = X[i * d + k] - Y[j * d + k];
                s += cost == SO_OT_L1 ? fabs(diff) : diff * diff;
            }
            C[i * m + j] = cost == SO_OT_L1 ? s : sqrt(s);
        }
    return SO_OK;
}
