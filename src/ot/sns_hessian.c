/* The sparsified Hessian of Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024)
 * and its conjugate-gradient solve. The Lyapunov Hessian is -(1/reg) M with
 * M = [[diag(P 1), P], [P^T, diag(P^T 1)]]. Near the solution P is close to a sparse
 * matrix, so keeping the largest entries of each row and of each column of P, with the
 * full diagonal, gives a sparse M~ whose Newton direction is nearly the exact one. M~ is
 * diagonally dominant, hence positive semi-definite, and CG applies. */
#include <stdlib.h>

#include "core/internal.h"
#include "ot/ot_internal.h"

void so_ot_sparse_free_(so_ot_sparse_ *s)
{
    free(s->row_ptr);
    free(s->col);
    free(s->val);
    memset(s, 0, sizeof *s);
}

/* Inserts (value, index) into the descending list top[0..k-1] when it beats the last. */
static void top_insert(double *top, uint32_t *idx, size_t k, double value, uint32_t index)
{
    if (!(value > top[k - 1]))
        return;
    size_t q = k - 1;
    while (q > 0 && top[q - 1] < value) {
        top[q] = top[q - 1];
        idx[q] = idx[q - 1];
        q--;
    }
    top[q] = value;
    idx[q] = index;
}

static int compare_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Finds the indices of the kr largest entries of each row (row_top, n x kr) and of the kc
 * largest of each column (col_top, m x kc) in one pass over P. */
static int collect_pattern(const double *P, size_t n, size_t m, size_t kr, size_t kc,
                           uint32_t *row_top, uint32_t *col_top)
{
    double *rv = malloc(kr * sizeof *rv), *cv = malloc(m * kc * sizeof *cv);
    if (rv == NULL || cv == NULL) {
        free(rv);
        free(cv);
        return so_fail_(SO_ERR_NOMEM, "sns: out of memory for the Hessian pattern");
    }
    for (size_t q = 0; q < m * kc; q++) {
        cv[q] = -1.0;
        col_top[q] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const double *row = P + i * m;
        for (size_t q = 0; q < kr; q++) {
            rv[q] = -1.0;
            row_top[i * kr + q] = 0;
        }
        for (size_t j = 0; j < m; j++) {
            top_insert(rv, row_top + i * kr, kr, row[j], (uint32_t)j);
            top_insert(cv + j * kc, col_top + j * kc, kc, row[j], (uint32_t)i);
        }
    }
    free(rv);
    free(cv);
    return SO_OK;
}

int so_ot_sparse_build_(so_ot_sparse_ *s, const double *P, size_t n, size_t m, size_t keep)
{
    size_t kr = keep < m ? keep : m, kc = keep < n ? keep : n;
    size_t cap = n * kr + m * kc;
    uint32_t *row_top = malloc(n * kr * sizeof *row_top);
    uint32_t *col_top = malloc(m * kc * sizeof *col_top);
    size_t *count = calloc(n + 1, sizeof *count);
    if (s->cap < cap) {
        free(s->col);
        free(s->val);
        s->col = malloc(cap * sizeof *s->col);
        s->val = malloc(cap * sizeof *s->val);
        s->cap = s->col != NULL && s->val != NULL ? cap : 0;
    }
    if (s->row_ptr == NULL)
        s->row_ptr = malloc((n + 1) * sizeof *s->row_ptr);
    int status = row_top == NULL || col_top == NULL || count == NULL || s->cap < cap ||
                 s->row_ptr == NULL ? so_fail_(SO_ERR_NOMEM, "sns: out of memory for the "
                                               "sparse Hessian of %zu entries", cap)
                                    : collect_pattern(P, n, m, kr, kc, row_top, col_top);
    if (status == SO_OK) {
        s->n = n;
        s->m = m;
        for (size_t j = 0; j < m; j++)
            for (size_t q = 0; q < kc; q++)
                count[col_top[j * kc + q] + 1]++;
        s->row_ptr[0] = 0;
        for (size_t i = 0; i < n; i++)
            s->row_ptr[i + 1] = s->row_ptr[i] + kr + count[i + 1];
        /* Fill each row with its own top entries, then the column tops naming it. */
        for (size_t i = 0; i < n; i++) {
            memcpy(s->col + s->row_ptr[i], row_top + i * kr, kr * sizeof *s->col);
            count[i] = s->row_ptr[i] + kr;
        }
        for (size_t j = 0; j < m; j++)
            for (size_t q = 0; q < kc; q++)
                s->col[count[col_top[j * kc + q]]++] = (uint32_t)j;
        /* Sort and drop duplicates, compacting in place. */
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            size_t lo = s->row_ptr[i], hi = s->row_ptr[i + 1], start = w;
            qsort(s->col + lo, hi - lo, sizeof *s->col, compare_u32);
            for (size_t q = lo; q < hi; q++)
                if (q == lo || s->col[q] != s->col[q - 1]) {
                    s->col[w] = s->col[q];
                    s->val[w] = P[i * m + s->col[q]];
                    w++;
                }
            s->row_ptr[i] = start;
        }
        s->row_ptr[n] = w;
        s->nnz = w;
    }
    free(row_top);
    free(col_top);
    free(count);
    return status;
}

/* y = M~ x with x = (x1, x2): y1 = r x1 + S x2, y2 = S^T x1 + c x2. */
static void apply(const so_ot_sparse_ *s, const double *r, const double *c, const double *x,
                  double *y)
{
    size_t n = s->n, m = s->m;
    const double *x1 = x, *x2 = x + n;
    double *y1 = y, *y2 = y + n;
    for (size_t j = 0; j < m; j++)
        y2[j] = c[j] * x2[j];
    for (size_t i = 0; i < n; i++) {
        double acc = r[i] * x1[i];
        for (size_t q = s->row_ptr[i]; q < s->row_ptr[i + 1]; q++) {
            acc += s->val[q] * x2[s->col[q]];
            y2[s->col[q]] += s->val[q] * x1[i];
        }
        y1[i] = acc;
    }
}

long so_ot_sparse_cg_(const so_ot_sparse_ *s, const double *r, const double *c,
                      const double *rhs, double *x, double rel_tol, long max_iter,
                      double *work)
{
    size_t n = s->n, m = s->m, N = n + m;
    double *res = work, *z = work + N, *d = work + 2 * N, *q = work + 3 * N;
    double rhs_norm2 = 0.0, rz = 0.0;
    for (size_t k = 0; k < N; k++) {
        double diag = k < n ? r[k] : c[k - n];
        x[k] = 0.0;
        res[k] = rhs[k];
        z[k] = diag > 0.0 ? res[k] / diag : res[k];
        d[k] = z[k];
        rz += res[k] * z[k];
        rhs_norm2 += rhs[k] * rhs[k];
    }
    long it;
    for (it = 0; it < max_iter; it++) {
        double res2 = 0.0;
        for (size_t k = 0; k < N; k++)
            res2 += res[k] * res[k];
        if (res2 <= rel_tol * rel_tol * rhs_norm2 || !(rz > 0.0))
            break;
        apply(s, r, c, d, q);
        double dq = 0.0;
        for (size_t k = 0; k < N; k++)
            dq += d[k] * q[k];
        if (!(dq > 0.0))
            break;
        double alpha = rz / dq, rz_new = 0.0;
        for (size_t k = 0; k < N; k++) {
            double diag = k < n ? r[k] : c[k - n];
            x[k] += alpha * d[k];
            res[k] -= alpha * q[k];
            z[k] = diag > 0.0 ? res[k] / diag : res[k];
            rz_new += res[k] * z[k];
        }
        double beta = rz_new / rz;
        rz = rz_new;
        for (size_t k = 0; k < N; k++)
            d[k] = z[k] + beta * d[k];
    }
    return it;
}
