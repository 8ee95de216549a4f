/* The problem table: release, checked evaluation, curvature fallbacks and the
 * finite-difference derivative check. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/internal.h"
#include "stochopt/problem.h"

const char *so_curvature_name(so_curvature kind)
{
    switch (kind) {
    case SO_CURVATURE_EXACT:
        return "exact";
    case SO_CURVATURE_FISHER:
        return "fisher";
    case SO_CURVATURE_GAUSS_NEWTON:
        return "gauss-newton";
    case SO_CURVATURE_WEIGHTED_GN:
        return "weighted-gn";
    }
    return NULL;
}

void so_problem_destroy(so_problem *p)
{
    if (p == NULL)
        return;
    if (p->destroy != NULL)
        p->destroy(p->user);
    memset(p, 0, sizeof *p);
}

static const char *problem_name(const so_problem *p)
{
    return p->name != NULL ? p->name : "(unnamed)";
}

static int check_problem(const so_problem *p, const double *x, const char *caller)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: problem is NULL", caller);
    if (p->value_grad == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: problem '%s' has no value_grad callback",
                        caller, problem_name(p));
    if (p->n == 0)
        return so_fail_(SO_ERR_INVALID, "%s: problem '%s' has n = 0 variables", caller,
                        problem_name(p));
    if (x == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: x is NULL; pass %zu values", caller, p->n);
    return SO_OK;
}

/* Dense n x n curvature needs n * n doubles and BLAS int dimensions. */
static int check_dense(const so_problem *p, const char *caller)
{
    if (p->n > INT_MAX || p->n > SIZE_MAX / sizeof(double) / p->n)
        return so_fail_(SO_ERR_INVALID, "%s: problem '%s' has n = %zu variables; a dense "
                        "n x n matrix does not fit in memory or in a BLAS int dimension, so "
                        "use curvature_vp products instead", caller, problem_name(p), p->n);
    return SO_OK;
}

/* Returns the nonzero status of a problem callback, first recording a detail when the
 * callback set none (the caller cleared the detail before the call). */
static int callback_failed(const so_problem *p, const char *callback, int status)
{
    if (so_last_error()[0] == '\0')
        return so_fail_(status, "problem '%s': the %s callback failed with status %d and "
                        "set no error detail", problem_name(p), callback, status);
    return status;
}

int so_problem_value_grad(const so_problem *p, const double *x, double *f, double *g)
{
    int status = check_problem(p, x, "so_problem_value_grad");
    if (status != SO_OK)
        return status;
    if (f == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_value_grad: f is NULL");
    so_clear_error();
    status = p->value_grad(p->user, x, f, g);
    if (status != 0)
        return callback_failed(p, "value_grad", status);
    if (!isfinite(*f))
        return so_fail_(SO_ERR_NONFINITE, "problem '%s': f(x) = %g; expected a finite value "
                        "(check x for NaN or overflow)", problem_name(p), *f);
    for (size_t i = 0; g != NULL && i < p->n; i++)
        if (!isfinite(g[i]))
            return so_fail_(SO_ERR_NONFINITE, "problem '%s': gradient entry %zu is %g; "
                            "expected finite values", problem_name(p), i, g[i]);
    return SO_OK;
}

/* Fisher from the per-sample gradients, in blocks of rows: H = (1/N) sum_i g_i g_i^T. */
static int fisher_from_samples(const so_problem *p, const double *x, double *H)
{
    enum { BLOCK = 128 };
    const size_t n = p->n, N = p->nsamples;
    double *G = so_calloc_((size_t)BLOCK * n, sizeof *G);
    size_t idx[BLOCK];
    if (G == NULL)
        return SO_ERR_NOMEM;
    memset(H, 0, n * n * sizeof *H);
    int status = SO_OK;
    for (size_t start = 0; start < N && status == SO_OK; start += BLOCK) {
        size_t count = N - start < BLOCK ? N - start : BLOCK;
        for (size_t q = 0; q < count; q++)
            idx[q] = start + q;
        status = p->sample_grads(p->user, x, idx, count, G);
        if (status == SO_OK)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)count,
                        1.0 / (double)N, G, (int)n, 1.0, H, (int)n);
    }
    free(G);
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; k < j; k++)
            H[j * n + k] = H[k * n + j];
    return status;
}

/* Column j of H is H e_j, and the result is symmetrized. */
static int curvature_from_products(const so_problem *p, so_curvature kind, const double *x,
                                   double *H)
{
    const size_t n = p->n;
    double *e = so_calloc_(2 * n, sizeof *e);
    if (e == NULL)
        return SO_ERR_NOMEM;
    double *col = e + n;
    int status = SO_OK;
    for (size_t j = 0; j < n && status == SO_OK; j++) {
        e[j] = 1.0;
        status = p->curvature_vp(p->user, kind, x, e, col);
        e[j] = 0.0;
        for (size_t i = 0; i < n; i++)
            H[i * n + j] = col[i];
    }
    free(e);
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; k < j; k++) {
            double s = 0.5 * (H[j * n + k] + H[k * n + j]);
            H[j * n + k] = s;
            H[k * n + j] = s;
        }
    return status;
}

int so_problem_curvature(const so_problem *p, so_curvature kind, const double *x, double *H)
{
    int status = check_problem(p, x, "so_problem_curvature");
    if (status != SO_OK)
        return status;
    status = check_dense(p, "so_problem_curvature");
    if (status != SO_OK)
        return status;
    if (so_curvature_name(kind) == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_curvature: kind = %d; expected an "
                        "so_curvature value", (int)kind);
    if (H == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_curvature: H is NULL; pass n x n = %zu "
                        "values", p->n * p->n);
    so_clear_error();
    status = SO_ERR_UNSUPPORTED;
    if (p->curvature != NULL)
        status = p->curvature(p->user, kind, x, H);
    if (status == SO_ERR_UNSUPPORTED && kind == SO_CURVATURE_FISHER &&
        p->sample_grads != NULL && p->nsamples > 0)
        status = fisher_from_samples(p, x, H);
    if (status == SO_ERR_UNSUPPORTED && p->curvature_vp != NULL)
        status = curvature_from_products(p, kind, x, H);
    if (status == SO_ERR_UNSUPPORTED)
        return so_fail_(SO_ERR_UNSUPPORTED, "problem '%s' provides no %s curvature; pick "
                        "another so_curvature kind", problem_name(p), so_curvature_name(kind));
    if (status != 0)
        return callback_failed(p, "curvature", status);
    for (size_t q = 0; q < p->n * p->n; q++)
        if (!isfinite(H[q]))
            return so_fail_(SO_ERR_NONFINITE, "problem '%s': %s curvature entry (%zu, %zu) "
                            "is %g; expected finite values", problem_name(p),
                            so_curvature_name(kind), q / p->n, q % p->n, H[q]);
    return SO_OK;
}

int so_problem_lagrangian_hessian(const so_problem *p, const double *x, const double *lambda,
                                  double *H)
{
    int status = check_problem(p, x, "so_problem_lagrangian_hessian");
    if (status != SO_OK)
        return status;
    if (p->m > 0 && (lambda == NULL || p->constraint_hessian == NULL))
        return so_fail_(SO_ERR_INVALID, "so_problem_lagrangian_hessian: problem '%s' has %zu "
                        "constraints but %s is NULL", problem_name(p), p->m,
                        lambda == NULL ? "lambda" : "constraint_hessian");
    status = so_problem_curvature(p, SO_CURVATURE_EXACT, x, H);
    if (status != SO_OK || p->m == 0)
        return status;
    so_clear_error();
    status = p->constraint_hessian(p->user, x, lambda, H);
    return status != 0 ? callback_failed(p, "constraint_hessian", status) : SO_OK;
}

/* ---- Derivative check. Each compared object gets the error
 * max_k |analytic_k - reference_k| / max(1, max_k |reference_k|). */

typedef struct fd_check {
    const so_problem *p;
    double h;
    double worst;
    double *xp;      /* n, perturbed point */
    double *ga, *gb; /* n each */
} fd_check;

static double step_for(const fd_check *c, double xi)
{
    return c->h > 0.0 ? c->h : cbrt(DBL_EPSILON) * fmax(1.0, fabs(xi));
}

static void record(fd_check *c, const double *analytic, const double *reference, size_t count)
{
    double scale = 1.0, diff = 0.0;
    for (size_t q = 0; q < count; q++) {
        scale = fmax(scale, fabs(reference[q]));
        diff = fmax(diff, fabs(analytic[q] - reference[q]));
    }
    if (!(diff / scale <= c->worst))
        c->worst = diff / scale;
}

/* The gradient against central differences of f. */
static int check_gradient(fd_check *c, const double *x)
{
    const size_t n = c->p->n;
    double f0, fp, fm;
    double *fd = c->gb;
    int status = c->p->value_grad(c->p->user, x, &f0, c->ga);
    memcpy(c->xp, x, n * sizeof *x);
    for (size_t i = 0; i < n && status == SO_OK; i++) {
        const double h = step_for(c, x[i]);
        c->xp[i] = x[i] + h;
        status = c->p->value_grad(c->p->user, c->xp, &fp, NULL);
        c->xp[i] = x[i] - h;
        if (status == SO_OK)
            status = c->p->value_grad(c->p->user, c->xp, &fm, NULL);
        c->xp[i] = x[i];
        fd[i] = (fp - fm) / (2.0 * h);
    }
    if (status == SO_OK)
        record(c, c->ga, fd, n);
    return status;
}

/* Column i of the exact curvature against central differences of the gradient, and
 * each kind's products against its dense matrix. */
static int check_curvature(fd_check *c, const double *x, double *H, double *v, double *Hv)
{
    const so_problem *p = c->p;
    const size_t n = p->n;
    double f;
    int status = so_problem_curvature(p, SO_CURVATURE_EXACT, x, H);
    if (status == SO_OK) {
        memcpy(c->xp, x, n * sizeof *x);
        for (size_t i = 0; i < n && status == SO_OK; i++) {
            const double h = step_for(c, x[i]);
            c->xp[i] = x[i] + h;
            status = p->value_grad(p->user, c->xp, &f, c->ga);
            c->xp[i] = x[i] - h;
            if (status == SO_OK)
                status = p->value_grad(p->user, c->xp, &f, c->gb);
            c->xp[i] = x[i];
            for (size_t k = 0; k < n; k++)
                c->ga[k] = (c->ga[k] - c->gb[k]) / (2.0 * h);
            for (size_t k = 0; k < n; k++)
                c->gb[k] = H[k * n + i];
            if (status == SO_OK)
                record(c, c->gb, c->ga, n);
        }
    } else if (status == SO_ERR_UNSUPPORTED) {
        status = SO_OK;
    }
    if (status != SO_OK || p->curvature == NULL || p->curvature_vp == NULL)
        return status;
    /* A fixed direction with entries of both signs and different sizes. */
    for (size_t i = 0; i < n; i++)
        v[i] = sin(1.0 + 0.7 * (double)i);
    for (int kind = SO_CURVATURE_EXACT; kind <= SO_CURVATURE_WEIGHTED_GN; kind++) {
        status = p->curvature(p->user, (so_curvature)kind, x, H);
        if (status == SO_ERR_UNSUPPORTED)
            continue;
        if (status == SO_OK)
            status = p->curvature_vp(p->user, (so_curvature)kind, x, v, Hv);
        if (status != SO_OK)
            return status;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)n, 1.0, H, (int)n, v, 1, 0.0,
                    c->ga, 1);
        record(c, Hv, c->ga, n);
    }
    return SO_OK;
}

/* The per-sample gradients average to the gradient. */
static int check_samples(fd_check *c, const double *x)
{
    const so_problem *p = c->p;
    const size_t n = p->n;
    double f;
    int status = p->value_grad(p->user, x, &f, c->gb);
    memset(c->ga, 0, n * sizeof *c->ga);
    for (size_t i = 0; i < p->nsamples && status == SO_OK; i++) {
        status = p->sample_grads(p->user, x, &i, 1, c->xp);
        for (size_t k = 0; k < n; k++)
            c->ga[k] += c->xp[k] / (double)p->nsamples;
    }
    if (status == SO_OK)
        record(c, c->ga, c->gb, n);
    return status;
}

/* The Jacobian and the constraint Hessians (contracted with fixed multipliers) against
 * central differences. */
static int check_constraints(fd_check *c, const double *x, double *H, double *lam)
{
    const so_problem *p = c->p;
    const size_t n = p->n, m = p->m;
    double *J = so_calloc_(3 * m * n + 2 * m, sizeof *J);
    if (J == NULL)
        return SO_ERR_NOMEM;
    double *Jp = J + m * n, *Jm = Jp + m * n, *cp = Jm + m * n, *cm = cp + m;
    for (size_t k = 0; k < m; k++)
        lam[k] = cos(0.3 + 1.1 * (double)k);
    int status = p->constraints(p->user, x, cp, J);
    memset(H, 0, n * n * sizeof *H);
    if (status == SO_OK)
        status = p->constraint_hessian(p->user, x, lam, H);
    memcpy(c->xp, x, n * sizeof *x);
    for (size_t i = 0; i < n && status == SO_OK; i++) {
        const double h = step_for(c, x[i]);
        c->xp[i] = x[i] + h;
        status = p->constraints(p->user, c->xp, cp, Jp);
        c->xp[i] = x[i] - h;
        if (status == SO_OK)
            status = p->constraints(p->user, c->xp, cm, Jm);
        c->xp[i] = x[i];
        if (status != SO_OK)
            break;
        /* Column i of J from c, column i of sum_k lam_k Hessian(c_k) from J^T lam. */
        for (size_t k = 0; k < m; k++) {
            double fd = (cp[k] - cm[k]) / (2.0 * h), an = J[k * n + i];
            record(c, &an, &fd, 1);
        }
        for (size_t j = 0; j < n; j++) {
            double fd = 0.0;
            for (size_t k = 0; k < m; k++)
                fd += lam[k] * (Jp[k * n + j] - Jm[k * n + j]) / (2.0 * h);
            c->ga[j] = fd;
            c->gb[j] = H[j * n + i];
        }
        record(c, c->gb, c->ga, n);
    }
    free(J);
    return status;
}

int so_problem_check_derivatives(const so_problem *p, const double *x, double h,
                                 double *max_rel_err)
{
    int status = check_problem(p, x, "so_problem_check_derivatives");
    if (status != SO_OK)
        return status;
    if (max_rel_err == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_check_derivatives: max_rel_err is NULL");
    if (!(h >= 0.0) || !isfinite(h))
        return so_fail_(SO_ERR_INVALID, "so_problem_check_derivatives: h = %g; expected a "
                        "finite step >= 0 (0 picks one per variable)", h);
    if (p->m > 0 && (p->constraints == NULL || p->constraint_hessian == NULL))
        return so_fail_(SO_ERR_INVALID, "so_problem_check_derivatives: problem '%s' has %zu "
                        "constraints but no %s callback", problem_name(p), p->m,
                        p->constraints == NULL ? "constraints" : "constraint_hessian");
    status = check_dense(p, "so_problem_check_derivatives");
    if (status != SO_OK)
        return status;
    if (p->m > (SIZE_MAX / sizeof(double) - 2) / 3 / p->n)
        return so_fail_(SO_ERR_INVALID, "so_problem_check_derivatives: problem '%s' has m = "
                        "%zu constraints; three m x n Jacobians do not fit in memory",
                        problem_name(p), p->m);
    const size_t n = p->n;
    double *buf = so_calloc_(n * n + 5 * n + p->m + 1, sizeof *buf);
    if (buf == NULL)
        return SO_ERR_NOMEM;
    fd_check c = {p, h, 0.0, buf, buf + n, buf + 2 * n};
    double *H = buf + 3 * n, *v = H + n * n, *Hv = v + n, *lam = Hv + n;
    status = check_gradient(&c, x);
    if (status == SO_OK)
        status = check_curvature(&c, x, H, v, Hv);
    if (status == SO_OK && p->sample_grads != NULL && p->nsamples > 0)
        status = check_samples(&c, x);
    if (status == SO_OK && p->m > 0)
        status = check_constraints(&c, x, H, lam);
    free(buf);
    *max_rel_err = c.worst;
    return status;
}
