/* Randomized sketching solvers for a dense linear system K z = b: randomized Kaczmarz
 * with uniform row choice and the Gaussian vector sketch. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stochopt/constrained.h"

const char *so_kkt_solver_name(so_kkt_solver solver)
{
    switch (solver) {
    case SO_KKT_LU:
        return "lu";
    case SO_KKT_KACZMARZ:
        return "kaczmarz";
    case SO_KKT_GAUSSIAN:
        return "gaussian";
    }
    return NULL;
}

/* Computes the exact residual r = K z - b and returns |r|. */
static double exact_residual(const double *K, size_t dim, const double *b, const double *z,
                             double *r)
{
    memcpy(r, b, dim * sizeof *r);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)dim, (int)dim, 1.0, K, (int)dim, z, 1,
                -1.0, r, 1);
    return cblas_dnrm2((int)dim, r, 1);
}

int so_kkt_sketch_solve(const double *K, size_t dim, const double *b, so_kkt_solver solver,
                        double resid_tol, long max_iter, so_rng *rng, double *z,
                        long *iters, double *flops)
{
    if (K == NULL || b == NULL || z == NULL || rng == NULL || iters == NULL || dim == 0)
        return so_fail_(SO_ERR_INVALID, "so_kkt_sketch_solve: K, b, z, rng and iters must "
                                        "be non-NULL and dim positive");
    if (solver != SO_KKT_KACZMARZ && solver != SO_KKT_GAUSSIAN)
        return so_fail_(SO_ERR_INVALID,
                        "so_kkt_sketch_solve: solver %d is not a sketch; expected "
                        "SO_KKT_KACZMARZ or SO_KKT_GAUSSIAN", (int)solver);
    if (!(resid_tol >= 0.0) || max_iter < 0)
        return so_fail_(SO_ERR_INVALID, "so_kkt_sketch_solve: resid_tol = %g, max_iter = %ld; "
                        "expected resid_tol >= 0 (not NaN) and max_iter >= 0", resid_tol,
                        max_iter);
    if (dim > 46340)
        return so_fail_(SO_ERR_RANGE, "so_kkt_sketch_solve: dim = %zu exceeds the BLAS int "
                                      "range of dim^2", dim);
    const int d = (int)dim;
    const double dd = (double)dim;
    double *r = malloc(dim * sizeof *r);
    double *u = malloc(dim * sizeof *u);
    double *s = malloc(dim * sizeof *s);
    double *row_norm2 = malloc(dim * sizeof *row_norm2);
    double *P = NULL; /* K K^T, formed once Kaczmarz has run dim steps */
    if (r == NULL || u == NULL || s == NULL || row_norm2 == NULL) {
        free(r);
        free(u);
        free(s);
        free(row_norm2);
        return so_fail_(SO_ERR_NOMEM, "so_kkt_sketch_solve: no memory for dim = %zu", dim);
    }
    double work = 0.0;
    for (size_t i = 0; i < dim; i++)
        row_norm2[i] = cblas_ddot(d, K + i * dim, 1, K + i * dim, 1);
    work += 2.0 * dd * dd;
    double rn = exact_residual(K, dim, b, z, r);
    work += 2.0 * dd * dd;
    long t = 0;
    int status = SO_NOT_CONVERGED;
    while (t < max_iter) {
        if (rn <= resid_tol) {
            /* The incremental residual drifts, so confirm with the exact one. */
            rn = exact_residual(K, dim, b, z, r);
            work += 2.0 * dd * dd;
            if (rn <= resid_tol) {
                status = SO_OK;
                break;
            }
        }
        t++;
        if (solver == SO_KKT_KACZMARZ) {
            const size_t i = (size_t)so_rng_below(rng, dim);
            if (row_norm2[i] == 0.0)
                continue;
            const double step = r[i] / row_norm2[i];
            /* z -= step K_i^T, so r changes by -step K K_i^T, column i of K K^T. */
            cblas_daxpy(d, -step, K + i * dim, 1, z, 1);
            if (P == NULL && t > (long)dim && max_iter - t > (long)dim) {
                P = malloc(dim * dim * sizeof *P);
                if (P != NULL) {
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, K, d,
                                K, d, 0.0, P, d);
                    work += 2.0 * dd * dd * dd;
                }
            }
            if (P != NULL) {
                cblas_daxpy(d, -step, P + i * dim, 1, r, 1);
                work += 4.0 * dd;
            } else {
                cblas_dgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0, K, d, K + i * dim, 1,
                            0.0, u, 1);
                cblas_daxpy(d, -step, u, 1, r, 1);
                work += 2.0 * dd * dd + 4.0 * dd;
            }
            if (P != NULL && t % 4096 == 0) {
                rn = exact_residual(K, dim, b, z, r);
                work += 2.0 * dd * dd;
            } else {
                rn = cblas_dnrm2(d, r, 1);
                work += 2.0 * dd;
            }
        } else {
            for (size_t i = 0; i < dim; i++)
                s[i] = so_rng_normal(rng);
            /* u = K^T s, then z -= (s^T r / |u|^2) u and r -= (s^T r / |u|^2) K u. */
            cblas_dgemv(CblasRowMajor, CblasTrans, d, d, 1.0, K, d, s, 1, 0.0, u, 1);
            const double uu = cblas_ddot(d, u, 1, u, 1);
            work += 2.0 * dd * dd + 2.0 * dd;
            if (uu == 0.0)
                continue;
            const double step = cblas_ddot(d, s, 1, r, 1) / uu;
            cblas_daxpy(d, -step, u, 1, z, 1);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, d, d, -step, K, d, u, 1, 1.0, r, 1);
            rn = cblas_dnrm2(d, r, 1);
            work += 2.0 * dd * dd + 8.0 * dd;
        }
    }
    if (status != SO_OK) {
        rn = exact_residual(K, dim, b, z, r);
        work += 2.0 * dd * dd;
        if (rn <= resid_tol)
            status = SO_OK;
    }
    if (!isfinite(rn))
        status = so_fail_(SO_ERR_NONFINITE, "so_kkt_sketch_solve: the residual |K z - b| is "
                          "%g after %ld steps; check K and b for NaN or infinite entries",
                          rn, t);
    else if (status == SO_NOT_CONVERGED)
        so_fail_(SO_NOT_CONVERGED, "so_kkt_sketch_solve: residual %g above resid_tol = %g "
                 "after max_iter = %ld steps", rn, resid_tol, max_iter);
    *iters = t;
    if (flops != NULL)
        *flops = work;
    free(r);
    free(u);
    free(s);
    free(row_norm2);
    free(P);
    return status;
}
