/* Linear-model problems for SSO: construction from arrays or datasets, the row kernels,
 * the full loss and its exact minimizer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "core/internal.h"
#include "sso/sso_internal.h"

enum { GATHER_CHUNK = 256 };

/* log(1 + exp(-m)) without overflow for either sign of the margin m. */
static double log1p_exp_neg(double m)
{
    if (m > 0.0)
        return log1p(exp(-m));
    return -m + log1p(exp(m));
}

double so_sso_row_loss_(const so_sso_problem *p, size_t i, const double *z)
{
    double y = p->y[i];
    if (p->loss == SO_SSO_SQUARED) {
        double r = z[0] - y;
        return 0.5 * r * r;
    }
    if (p->loss == SO_SSO_LOGISTIC)
        return log1p_exp_neg(y * z[0]);
    /* Softmax cross-entropy log(sum_c exp(z_c)) - z_y, shifted by max z. */
    double top = z[0], sum = 0.0;
    for (size_t c = 1; c < p->k; c++)
        top = z[c] > top ? z[c] : top;
    for (size_t c = 0; c < p->k; c++)
        sum += exp(z[c] - top);
    return top + log(sum) - z[(size_t)y];
}

void so_sso_row_deriv_(const so_sso_problem *p, size_t i, const double *z, double *dl)
{
    double y = p->y[i];
    if (p->loss == SO_SSO_SQUARED) {
        dl[0] = z[0] - y;
        return;
    }
    if (p->loss == SO_SSO_LOGISTIC) {
        dl[0] = -y / (1.0 + exp(y * z[0]));
        return;
    }
    /* softmax(z) - e_y */
    double top = z[0], sum = 0.0;
    for (size_t c = 1; c < p->k; c++)
        top = z[c] > top ? z[c] : top;
    for (size_t c = 0; c < p->k; c++) {
        dl[c] = exp(z[c] - top);
        sum += dl[c];
    }
    for (size_t c = 0; c < p->k; c++)
        dl[c] /= sum;
    dl[(size_t)y] -= 1.0;
}

size_t so_sso_rows_of_theta_(const so_sso_problem *p)
{
    return p->d + (p->intercept ? 1 : 0);
}

void so_sso_row_output_(const so_sso_problem *p, size_t i, const double *theta, double *z)
{
    size_t k = p->k;
    if (k == 1 && p->x != NULL) {
        z[0] = cblas_ddot((int)p->d, p->x + i * p->d, 1, theta, 1);
    } else if (p->x != NULL) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)p->d, (int)k, 1.0, theta, (int)k,
                    p->x + i * p->d, 1, 0.0, z, 1);
    } else {
        for (size_t c = 0; c < k; c++)
            z[c] = 0.0;
        for (size_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++)
            for (size_t c = 0; c < k; c++)
                z[c] += p->val[e] * theta[p->col[e] * k + c];
    }
    if (p->intercept)
        for (size_t c = 0; c < k; c++)
            z[c] += theta[p->d * k + c];
}

void so_sso_row_add_(const so_sso_problem *p, size_t i, const double *r, double *grad)
{
    size_t k = p->k;
    if (k == 1 && p->x != NULL) {
        cblas_daxpy((int)p->d, r[0], p->x + i * p->d, 1, grad, 1);
    } else if (p->x != NULL) {
        cblas_dger(CblasRowMajor, (int)p->d, (int)k, 1.0, p->x + i * p->d, 1, r, 1, grad,
                   (int)k);
    } else {
        for (size_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++)
            for (size_t c = 0; c < k; c++)
                grad[p->col[e] * k + c] += r[c] * p->val[e];
    }
    if (p->intercept)
        for (size_t c = 0; c < k; c++)
            grad[p->d * k + c] += r[c];
}

size_t so_sso_problem_rows(const so_sso_problem *p)
{
    return p == NULL ? 0 : p->n;
}

size_t so_sso_problem_params(const so_sso_problem *p)
{
    return p == NULL ? 0 : so_sso_rows_of_theta_(p) * p->k;
}

size_t so_sso_problem_outputs(const so_sso_problem *p)
{
    return p == NULL ? 0 : p->k;
}

void so_sso_problem_free(so_sso_problem **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->x);
    free((*p)->row_ptr);
    free((*p)->col);
    free((*p)->val);
    free((*p)->y);
    free(*p);
    *p = NULL;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Maps the distinct target values, in increasing order, to classes 0..k-1. */
static int set_classes(so_sso_problem *p, const double *y)
{
    double *sorted = malloc(p->n * sizeof *sorted);
    if (sorted == NULL)
        return so_fail_(SO_ERR_NOMEM, "SSO problem: out of memory for %zu targets", p->n);
    memcpy(sorted, y, p->n * sizeof *sorted);
    qsort(sorted, p->n, sizeof *sorted, compare_doubles);
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++)
        if (i == 0 || sorted[i] != sorted[k - 1])
            sorted[k++] = sorted[i];
    if (k < 2 || k > SO_SSO_MAX_CLASSES) {
        free(sorted);
        return so_fail_(SO_ERR_INVALID, "SSO problem: the softmax loss needs 2 to %d "
                        "distinct target values, found %zu", SO_SSO_MAX_CLASSES, k);
    }
    for (size_t i = 0; i < p->n; i++) {
        double *hit = bsearch(&y[i], sorted, k, sizeof *sorted, compare_doubles);
        p->y[i] = (double)(hit - sorted);
    }
    free(sorted);
    p->k = k;
    return SO_OK;
}

/* Copies the targets into p->y, mapping 0/1 labels to -1/+1 for the logistic loss and
 * target values to class indices for the softmax loss. */
static int set_targets(so_sso_problem *p, const double *y)
{
    int all_pm1 = 1, all_01 = 1;
    for (size_t i = 0; i < p->n; i++) {
        if (!isfinite(y[i]))
            return so_fail_(SO_ERR_NONFINITE, "SSO problem: target of row %zu is %g; "
                            "remove or fix that row", i, y[i]);
        if (y[i] != -1.0 && y[i] != 1.0)
            all_pm1 = 0;
        if (y[i] != 0.0 && y[i] != 1.0)
            all_01 = 0;
    }
    if (p->loss == SO_SSO_LOGISTIC && !all_pm1 && !all_01) {
        size_t bad = 0;
        while (bad < p->n && (y[bad] == -1.0 || y[bad] == 1.0))
            bad++;
        if (bad == p->n)
            bad = 0;
        return so_fail_(SO_ERR_INVALID, "SSO problem: the logistic loss needs targets that "
                        "are all -1/+1 or all 0/1, but row %zu has target %g; use the "
                        "squared loss or relabel the data", bad, y[bad]);
    }
    p->y = malloc(p->n * sizeof *p->y);
    if (p->y == NULL)
        return so_fail_(SO_ERR_NOMEM, "SSO problem: out of memory for %zu targets", p->n);
    if (p->loss == SO_SSO_SOFTMAX)
        return set_classes(p, y);
    for (size_t i = 0; i < p->n; i++)
        p->y[i] = (p->loss == SO_SSO_LOGISTIC && !all_pm1) ? 2.0 * y[i] - 1.0 : y[i];
    return SO_OK;
}

static int alloc_problem(so_sso_problem **out, size_t n, size_t d, so_sso_loss loss,
                         int intercept)
{
    if (loss != SO_SSO_SQUARED && loss != SO_SSO_LOGISTIC && loss != SO_SSO_SOFTMAX)
        return so_fail_(SO_ERR_INVALID, "SSO problem: loss = %d: expected SO_SSO_SQUARED, "
                        "SO_SSO_LOGISTIC or SO_SSO_SOFTMAX", (int)loss);
    if (n == 0 || d == 0)
        return so_fail_(SO_ERR_INVALID, "SSO problem: expected at least one row and one "
                        "feature, found n = %zu, d = %zu", n, d);
    if (n > UINT32_MAX || d > (size_t)INT32_MAX)
        return so_fail_(SO_ERR_RANGE, "SSO problem: n = %zu, d = %zu: expected n < 2^32 "
                        "and d < 2^31", n, d);
    so_sso_problem *p = so_calloc_(1, sizeof *p);
    if (p == NULL)
        return SO_ERR_NOMEM;
    p->n = n;
    p->d = d;
    p->k = 1;
    p->loss = loss;
    p->intercept = intercept != 0;
    *out = p;
    return SO_OK;
}

int so_sso_problem_new(so_sso_problem **out, size_t n, size_t d, const double *x,
                       const double *y, so_sso_loss loss, int intercept)
{
    if (out == NULL || x == NULL || y == NULL)
        return so_fail_(SO_ERR_INVALID, "so_sso_problem_new: out, x and y must not be NULL");
    *out = NULL;
    so_sso_problem *p = NULL;
    int status = alloc_problem(&p, n, d, loss, intercept);
    if (status != SO_OK)
        return status;
    if (n > SIZE_MAX / sizeof(double) / d) {
        so_sso_problem_free(&p);
        return so_fail_(SO_ERR_RANGE, "so_sso_problem_new: n * d = %zu * %zu overflows", n, d);
    }
    for (size_t k = 0; k < n * d; k++) {
        if (!isfinite(x[k])) {
            so_sso_problem_free(&p);
            return so_fail_(SO_ERR_NONFINITE, "so_sso_problem_new: x[row %zu, column %zu] "
                            "is %g; remove or fix that value", k / d, k % d, x[k]);
        }
    }
    p->x = malloc(n * d * sizeof *p->x);
    if (p->x == NULL) {
        so_sso_problem_free(&p);
        return so_fail_(SO_ERR_NOMEM, "so_sso_problem_new: out of memory for %zu x %zu "
                        "features", n, d);
    }
    memcpy(p->x, x, n * d * sizeof *p->x);
    status = set_targets(p, y);
    if (status != SO_OK) {
        so_sso_problem_free(&p);
        return status;
    }
    *out = p;
    return SO_OK;
}

/* Copies sparse float rows into double arrays. */
static int copy_sparse(so_sso_problem *p, const so_dataset *ds)
{
    size_t nnz = ds->row_ptr[ds->n];
    p->row_ptr = malloc((ds->n + 1) * sizeof *p->row_ptr);
    p->col = malloc((nnz > 0 ? nnz : 1) * sizeof *p->col);
    p->val = malloc((nnz > 0 ? nnz : 1) * sizeof *p->val);
    if (p->row_ptr == NULL || p->col == NULL || p->val == NULL)
        return so_fail_(SO_ERR_NOMEM, "SSO problem from %s: out of memory for %zu stored "
                        "values", ds->name ? ds->name : "dataset", nnz);
    memcpy(p->row_ptr, ds->row_ptr, (ds->n + 1) * sizeof *p->row_ptr);
    for (size_t k = 0; k < nnz; k++) {
        if (!isfinite(ds->val[k]))
            return so_fail_(SO_ERR_NONFINITE, "SSO problem from %s: stored value %zu is %g",
                            ds->name ? ds->name : "dataset", k, (double)ds->val[k]);
        p->col[k] = ds->col[k];
        p->val[k] = ds->val[k];
    }
    return SO_OK;
}

/* Gathers every row through so_dataset_gather (scaling and standardization applied). */
static int gather_dense(so_sso_problem *p, const so_dataset *ds)
{
    size_t n = ds->n, d = ds->d;
    if (n > SIZE_MAX / sizeof(double) / d)
        return so_fail_(SO_ERR_RANGE, "SSO problem: n * d = %zu * %zu overflows", n, d);
    p->x = malloc(n * d * sizeof *p->x);
    float *chunk = malloc(GATHER_CHUNK * d * sizeof *chunk);
    uint32_t idx[GATHER_CHUNK];
    int status = SO_OK;
    if (p->x == NULL || chunk == NULL) {
        free(chunk);
        return so_fail_(SO_ERR_NOMEM, "SSO problem: out of memory for %zu x %zu features",
                        n, d);
    }
    for (size_t start = 0; start < n && status == SO_OK; start += GATHER_CHUNK) {
        size_t count = n - start < GATHER_CHUNK ? n - start : GATHER_CHUNK;
        for (size_t k = 0; k < count; k++)
            idx[k] = (uint32_t)(start + k);
        status = so_dataset_gather(ds, idx, count, chunk, NULL);
        for (size_t k = 0; status == SO_OK && k < count * d; k++) {
            if (!isfinite(chunk[k]))
                status = so_fail_(SO_ERR_NONFINITE, "SSO problem: feature %zu of row %zu "
                                  "is %g", k % d, start + k / d, (double)chunk[k]);
            p->x[start * d + k] = chunk[k];
        }
    }
    free(chunk);
    return status;
}

int so_sso_problem_from_dataset(so_sso_problem **out, const so_dataset *ds,
                                so_sso_loss loss, int intercept)
{
    if (out == NULL || ds == NULL)
        return so_fail_(SO_ERR_INVALID, "so_sso_problem_from_dataset: out and ds must not "
                        "be NULL");
    *out = NULL;
    so_sso_problem *p = NULL;
    int status = alloc_problem(&p, ds->n, ds->d, loss, intercept);
    if (status != SO_OK)
        return status;
    if (ds->kind == SO_FEATURES_CSR && ds->mean == NULL && ds->inv_std == NULL)
        status = copy_sparse(p, ds);
    else
        status = gather_dense(p, ds);
    if (status == SO_OK)
        status = set_targets(p, ds->target);
    if (status != SO_OK) {
        so_sso_problem_free(&p);
        return status;
    }
    *out = p;
    return SO_OK;
}

int so_sso_full_loss(const so_sso_problem *p, const double *theta, double *loss,
                     double *grad)
{
    if (p == NULL || theta == NULL || loss == NULL)
        return so_fail_(SO_ERR_INVALID, "so_sso_full_loss: p, theta and loss must not be "
                        "NULL");
    size_t params = so_sso_problem_params(p), k = p->k;
    double sum = 0.0, inv_n = 1.0 / (double)p->n;
    double *z = malloc(2 * k * sizeof *z);
    if (z == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_sso_full_loss: out of memory");
    double *dl = z + k;
    if (grad != NULL)
        memset(grad, 0, params * sizeof *grad);
    for (size_t i = 0; i < p->n; i++) {
        so_sso_row_output_(p, i, theta, z);
        sum += so_sso_row_loss_(p, i, z);
        if (grad != NULL) {
            so_sso_row_deriv_(p, i, z, dl);
            for (size_t c = 0; c < k; c++)
                dl[c] *= inv_n;
            so_sso_row_add_(p, i, dl, grad);
        }
    }
    free(z);
    *loss = sum * inv_n;
    if (!isfinite(*loss))
        return so_fail_(SO_ERR_NONFINITE, "so_sso_full_loss: the mean loss is %g; theta "
                        "has diverged, so use a smaller step", *loss);
    return SO_OK;
}

/* Writes the design matrix with the intercept column, n x q row-major. */
static double *dense_design(const so_sso_problem *p)
{
    size_t params = so_sso_rows_of_theta_(p);
    double *a = so_calloc_(p->n * params, sizeof *a);
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < p->n; i++) {
        double *row = a + i * params;
        if (p->x != NULL) {
            memcpy(row, p->x + i * p->d, p->d * sizeof *row);
        } else {
            for (size_t k = p->row_ptr[i]; k < p->row_ptr[i + 1]; k++)
                row[p->col[k]] += p->val[k];
        }
        if (p->intercept)
            row[p->d] = 1.0;
    }
    return a;
}

static int solve_least_squares(const so_sso_problem *p, double *a, double *theta,
                               double *loss)
{
    size_t params = so_sso_problem_params(p);
    if (p->n < params)
        return so_fail_(SO_ERR_NUMERIC, "so_sso_solve_full: %zu rows for %zu parameters: "
                        "the least-squares solution is not unique", p->n, params);
    double *b = malloc(p->n * sizeof *b);
    if (b == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_sso_solve_full: out of memory");
    memcpy(b, p->y, p->n * sizeof *b);
    lapack_int info = LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', (lapack_int)p->n,
                                    (lapack_int)params, 1, a, (lapack_int)params, b, 1);
    if (info == 0)
        memcpy(theta, b, params * sizeof *theta);
    free(b);
    if (info != 0)
        return so_fail_(SO_ERR_NUMERIC, "so_sso_solve_full: LAPACKE_dgels returned %d: "
                        "the design matrix is rank deficient", (int)info);
    return so_sso_full_loss(p, theta, loss, NULL);
}

/* Replaces g (the gradient) with the Newton direction -H^{-1} g, using h (params^2
 * values) as workspace. The logistic Hessian is (1/n) sum_i s_i a_i a_i^T with
 * s_i = sigma(m_i) sigma(-m_i), solved by Cholesky. The softmax Hessian
 * (1/n) sum_i (diag(pr_i) - pr_i pr_i^T) kron a_i a_i^T is singular, because adding
 * one vector to every class column leaves the loss unchanged, so it is solved for the
 * minimum-norm direction by LAPACKE_dgelsd. */
static int newton_direction(const so_sso_problem *p, const double *a, const double *theta,
                            double *g, double *h)
{
    size_t q = so_sso_rows_of_theta_(p), k = p->k, params = q * k, n = p->n;
    memset(h, 0, params * params * sizeof *h);
    cblas_dscal((int)params, -1.0, g, 1);
    if (k == 1) {
        for (size_t i = 0; i < n; i++) {
            const double *row = a + i * q;
            double z = cblas_ddot((int)q, row, 1, theta, 1);
            double e = exp(-fabs(z));
            double s = e / ((1.0 + e) * (1.0 + e));
            cblas_dsyr(CblasRowMajor, CblasUpper, (int)q, s / (double)n, row, 1, h, (int)q);
        }
        lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)q, 1, h,
                                        (lapack_int)q, g, 1);
        if (info != 0)
            return so_fail_(SO_ERR_NUMERIC, "so_sso_solve_full: the logistic Hessian is "
                            "singular (LAPACKE_dposv returned %d): the classes are "
                            "separable or X is rank deficient", (int)info);
        return SO_OK;
    }
    double *pr = malloc(k * sizeof *pr);
    double *sv = malloc(params * sizeof *sv);
    if (pr == NULL || sv == NULL) {
        free(pr);
        free(sv);
        return so_fail_(SO_ERR_NOMEM, "so_sso_solve_full: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const double *row = a + i * q;
        so_sso_row_output_(p, i, theta, pr);
        so_sso_row_deriv_(p, i, pr, pr);
        pr[(size_t)p->y[i]] += 1.0; /* the derivative is softmax(z) - e_y */
        for (size_t j = 0; j < q; j++)
            for (size_t c = 0; c < k; c++)
                for (size_t l = 0; l < q; l++)
                    for (size_t e = 0; e < k; e++) {
                        double w = (c == e ? pr[c] : 0.0) - pr[c] * pr[e];
                        h[(j * k + c) * params + l * k + e] += row[j] * row[l] * w / (double)n;
                    }
    }
    lapack_int rank = 0;
    lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)params,
                                     (lapack_int)params, 1, h, (lapack_int)params, g, 1, sv,
                                     1e-12, &rank);
    free(pr);
    free(sv);
    if (info != 0)
        return so_fail_(SO_ERR_NUMERIC, "so_sso_solve_full: LAPACKE_dgelsd returned %d on "
                        "the softmax Hessian", (int)info);
    return SO_OK;
}

/* Damped Newton on the mean logistic or softmax loss from theta = 0. */
static int solve_newton(const so_sso_problem *p, const double *a, double grad_tol,
                          double *theta, double *loss)
{
    size_t params = so_sso_problem_params(p);
    double *h = malloc(params * params * sizeof *h);
    double *g = malloc(params * sizeof *g);
    double *trial = malloc(params * sizeof *trial);
    double *trial_grad = malloc(params * sizeof *trial_grad);
    int status = SO_NOT_CONVERGED;
    if (h == NULL || g == NULL || trial == NULL || trial_grad == NULL) {
        status = so_fail_(SO_ERR_NOMEM, "so_sso_solve_full: out of memory for a %zu x %zu "
                          "Hessian", params, params);
        goto done;
    }
    memset(theta, 0, params * sizeof *theta);
    for (int iter = 0; iter < 100; iter++) {
        status = so_sso_full_loss(p, theta, loss, g);
        if (status != SO_OK)
            goto done;
        double grad_norm = cblas_dnrm2((int)params, g, 1);
        if (grad_norm <= grad_tol) {
            status = SO_OK;
            goto done;
        }
        status = newton_direction(p, a, theta, g, h);
        if (status != SO_OK)
            goto done;
        /* Backtrack until the loss decreases, which a small enough step does because the
         * direction is a descent direction. Near the minimum the loss changes by less than
         * its rounding error, so a full step that lowers the gradient norm is accepted as
         * well. */
        double t = 1.0, trial_loss = INFINITY;
        int accepted = 0;
        for (int k = 0; k < 60 && !accepted; k++, t *= 0.5) {
            for (size_t j = 0; j < params; j++)
                trial[j] = theta[j] + t * g[j];
            if (so_sso_full_loss(p, trial, &trial_loss, k == 0 ? trial_grad : NULL) != SO_OK)
                continue;
            accepted = trial_loss <= *loss ||
                       (k == 0 && cblas_dnrm2((int)params, trial_grad, 1) < grad_norm);
        }
        if (!accepted) {
            status = so_sso_full_loss(p, theta, loss, NULL);
            if (status == SO_OK)
                status = so_fail_(SO_NOT_CONVERGED, "so_sso_solve_full: no Newton step "
                                  "lowered the loss at gradient norm %g, above grad_tol = "
                                  "%g; raise grad_tol", grad_norm, grad_tol);
            goto done;
        }
        memcpy(theta, trial, params * sizeof *theta);
    }
    status = so_sso_full_loss(p, theta, loss, NULL);
    if (status == SO_OK)
        status = so_fail_(SO_NOT_CONVERGED, "so_sso_solve_full: the gradient norm is above "
                          "%g after 100 Newton steps; the classes may be separable", grad_tol);
done:
    free(h);
    free(g);
    free(trial);
    free(trial_grad);
    return status;
}

int so_sso_solve_full(const so_sso_problem *p, double grad_tol, double *theta,
                      double *loss)
{
    if (p == NULL || theta == NULL || loss == NULL)
        return so_fail_(SO_ERR_INVALID, "so_sso_solve_full: p, theta and loss must not be "
                        "NULL");
    if (!(grad_tol >= 0.0))
        return so_fail_(SO_ERR_INVALID, "so_sso_solve_full: grad_tol = %g: expected a "
                        "value >= 0, such as 1e-12", grad_tol);
    double *a = dense_design(p);
    if (a == NULL)
        return SO_ERR_NOMEM;
    int status = p->loss == SO_SSO_SQUARED ? solve_least_squares(p, a, theta, loss)
                                           : solve_newton(p, a, grad_tol, theta, loss);
    free(a);
    return status;
}
