/* Dense and sparse feature matrices in double for the data-driven problems. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/internal.h"
#include "problem/problem_internal.h"

void so_matrix_free_(so_matrix_ *A)
{
    if (A == NULL)
        return;
    free(A->dense);
    free(A->row_ptr);
    free(A->col);
    free(A->val);
    memset(A, 0, sizeof *A);
}

static int copy_sparse(const so_dataset *ds, int intercept, so_matrix_ *A, const char *caller)
{
    if (ds->mean != NULL || ds->inv_std != NULL)
        return so_fail_(SO_ERR_UNSUPPORTED, "%s: dataset '%s' has sparse features with "
                        "standardization, which would make them dense; load it without "
                        "so_dataset_standardize", caller, ds->name ? ds->name : "");
    if (ds->row_ptr == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has CSR features but row_ptr is "
                        "NULL; pass n + 1 row offsets", caller, ds->name ? ds->name : "");
    if (ds->row_ptr[0] != 0)
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has row_ptr[0] = %zu; expected "
                        "CSR offsets that start at 0", caller, ds->name ? ds->name : "",
                        ds->row_ptr[0]);
    for (size_t i = 0; i < ds->n; i++)
        if (ds->row_ptr[i + 1] < ds->row_ptr[i])
            return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has row_ptr[%zu] = %zu < "
                            "row_ptr[%zu] = %zu; expected nondecreasing CSR offsets", caller,
                            ds->name ? ds->name : "", i + 1, ds->row_ptr[i + 1], i,
                            ds->row_ptr[i]);
    if (ds->row_ptr[ds->n] > 0 && (ds->col == NULL || ds->val == NULL))
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' stores %zu CSR values but %s is "
                        "NULL", caller, ds->name ? ds->name : "", ds->row_ptr[ds->n],
                        ds->col == NULL ? "col" : "val");
    for (size_t q = 0; q < ds->row_ptr[ds->n]; q++) {
        if (ds->col[q] >= ds->d)
            return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has CSR column index %u at "
                            "entry %zu; expected an index below d = %zu", caller,
                            ds->name ? ds->name : "", (unsigned)ds->col[q], q, ds->d);
        if (!isfinite(ds->val[q]))
            return so_fail_(SO_ERR_NONFINITE, "%s: dataset '%s' has CSR value %g at entry "
                            "%zu; expected finite features", caller,
                            ds->name ? ds->name : "", (double)ds->val[q], q);
    }
    size_t nnz = ds->row_ptr[ds->n] + (intercept ? ds->n : 0);
    A->row_ptr = so_calloc_(ds->n + 1, sizeof *A->row_ptr);
    A->col = so_calloc_(nnz > 0 ? nnz : 1, sizeof *A->col);
    A->val = so_calloc_(nnz > 0 ? nnz : 1, sizeof *A->val);
    if (A->row_ptr == NULL || A->col == NULL || A->val == NULL)
        return SO_ERR_NOMEM;
    size_t at = 0;
    for (size_t i = 0; i < ds->n; i++) {
        A->row_ptr[i] = at;
        for (size_t q = ds->row_ptr[i]; q < ds->row_ptr[i + 1]; q++) {
            A->col[at] = ds->col[q];
            A->val[at] = (double)ds->val[q];
            at++;
        }
        if (intercept) {
            A->col[at] = (uint32_t)ds->d;
            A->val[at] = 1.0;
            at++;
        }
    }
    A->row_ptr[ds->n] = at;
    A->sparse = 1;
    return SO_OK;
}

static int copy_dense(const so_dataset *ds, int intercept, so_matrix_ *A, const char *caller)
{
    enum { CHUNK = 256 };
    A->dense = so_calloc_(A->rows * A->cols, sizeof *A->dense);
    float *buf = so_calloc_((size_t)CHUNK * ds->d, sizeof *buf);
    uint32_t idx[CHUNK];
    int status = (A->dense == NULL || buf == NULL) ? SO_ERR_NOMEM : SO_OK;
    for (size_t start = 0; status == SO_OK && start < ds->n; start += CHUNK) {
        size_t count = ds->n - start < CHUNK ? ds->n - start : CHUNK;
        for (size_t q = 0; q < count; q++)
            idx[q] = (uint32_t)(start + q);
        status = so_dataset_gather(ds, idx, count, buf, NULL);
        for (size_t q = 0; status == SO_OK && q < count; q++) {
            double *row = A->dense + (start + q) * A->cols;
            for (size_t j = 0; j < ds->d; j++) {
                row[j] = (double)buf[q * ds->d + j];
                if (!isfinite(row[j])) {
                    status = so_fail_(SO_ERR_NONFINITE, "%s: dataset '%s' has feature %zu "
                                      "of row %zu equal to %g after gathering; expected "
                                      "finite features", caller, ds->name ? ds->name : "",
                                      j, start + q, row[j]);
                    break;
                }
            }
            if (intercept)
                row[ds->d] = 1.0;
        }
    }
    free(buf);
    return status;
}

int so_matrix_from_dataset_(const so_dataset *ds, int intercept, so_matrix_ *A,
                            const char *caller)
{
    memset(A, 0, sizeof *A);
    if (ds == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: dataset is NULL", caller);
    if (ds->n == 0 || ds->d == 0)
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has %zu rows and %zu features; "
                        "expected at least one of each", caller, ds->name ? ds->name : "",
                        ds->n, ds->d);
    if (ds->d >= UINT32_MAX)
        return so_fail_(SO_ERR_RANGE, "%s: %zu features exceed the 32-bit column index",
                        caller, ds->d);
    if ((ds->kind == SO_FEATURES_F32 && ds->x_f32 == NULL) ||
        (ds->kind == SO_FEATURES_U8 && ds->x_u8 == NULL))
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has no feature array (%s is "
                        "NULL); load the dataset with so_dataset_read", caller,
                        ds->name ? ds->name : "",
                        ds->kind == SO_FEATURES_F32 ? "x_f32" : "x_u8");
    if (ds->kind != SO_FEATURES_F32 && ds->kind != SO_FEATURES_U8 &&
        ds->kind != SO_FEATURES_CSR)
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has feature kind %d; expected "
                        "SO_FEATURES_F32, SO_FEATURES_U8 or SO_FEATURES_CSR", caller,
                        ds->name ? ds->name : "", (int)ds->kind);
    A->rows = ds->n;
    A->cols = ds->d + (intercept ? 1 : 0);
    int status = ds->kind == SO_FEATURES_CSR ? copy_sparse(ds, intercept, A, caller)
                                             : copy_dense(ds, intercept, A, caller);
    if (status != SO_OK)
        so_matrix_free_(A);
    return status;
}

void so_matrix_mul_(const so_matrix_ *A, const double *X, size_t k, double *Y)
{
    if (!A->sparse) {
        if (k == 1)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)A->rows, (int)A->cols, 1.0,
                        A->dense, (int)A->cols, X, 1, 0.0, Y, 1);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)A->rows, (int)k,
                        (int)A->cols, 1.0, A->dense, (int)A->cols, X, (int)k, 0.0, Y,
                        (int)k);
        return;
    }
    memset(Y, 0, A->rows * k * sizeof *Y);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t q = A->row_ptr[i]; q < A->row_ptr[i + 1]; q++) {
            const double a = A->val[q];
            const double *xr = X + (size_t)A->col[q] * k;
            for (size_t c = 0; c < k; c++)
                Y[i * k + c] += a * xr[c];
        }
}

void so_matrix_tmul_(const so_matrix_ *A, const double *Y, size_t k, double alpha,
                     double *X)
{
    if (!A->sparse) {
        if (k == 1)
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)A->rows, (int)A->cols, alpha,
                        A->dense, (int)A->cols, Y, 1, 0.0, X, 1);
        else
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)A->cols, (int)k,
                        (int)A->rows, alpha, A->dense, (int)A->cols, Y, (int)k, 0.0, X,
                        (int)k);
        return;
    }
    memset(X, 0, A->cols * k * sizeof *X);
    for (size_t i = 0; i < A->rows; i++)
        for (size_t q = A->row_ptr[i]; q < A->row_ptr[i + 1]; q++) {
            const double a = alpha * A->val[q];
            double *xr = X + (size_t)A->col[q] * k;
            for (size_t c = 0; c < k; c++)
                xr[c] += a * Y[i * k + c];
        }
}

void so_matrix_gram_(const so_matrix_ *A, const double *w, double alpha, double *G,
                     double *scratch)
{
    const size_t d = A->cols;
    if (!A->sparse) {
        /* G = alpha A^T (diag(w) A): one GEMM, since w may have either sign. */
        for (size_t i = 0; i < A->rows; i++)
            for (size_t j = 0; j < d; j++)
                scratch[i * d + j] = w[i] * A->dense[i * d + j];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)A->rows,
                    alpha, A->dense, (int)d, scratch, (int)d, 0.0, G, (int)d);
        /* Make G exactly symmetric. */
        for (size_t j = 0; j < d; j++)
            for (size_t k = j + 1; k < d; k++) {
                double s = 0.5 * (G[j * d + k] + G[k * d + j]);
                G[j * d + k] = s;
                G[k * d + j] = s;
            }
        return;
    }
    memset(G, 0, d * d * sizeof *G);
    for (size_t i = 0; i < A->rows; i++) {
        const double wi = alpha * w[i];
        for (size_t q = A->row_ptr[i]; q < A->row_ptr[i + 1]; q++) {
            const double aq = wi * A->val[q];
            double *grow = G + (size_t)A->col[q] * d;
            for (size_t r = A->row_ptr[i]; r < A->row_ptr[i + 1]; r++)
                grow[A->col[r]] += aq * A->val[r];
        }
    }
}

void so_matrix_row_(const so_matrix_ *A, size_t i, double *out)
{
    if (!A->sparse) {
        memcpy(out, A->dense + i * A->cols, A->cols * sizeof *out);
        return;
    }
    memset(out, 0, A->cols * sizeof *out);
    for (size_t q = A->row_ptr[i]; q < A->row_ptr[i + 1]; q++)
        out[A->col[q]] += A->val[q];
}
