/* Gradient-normalized regularized Newton method (Semenov, Jaggi and Doikov 2025) with
 * adaptive or fixed gamma, and the damped Newton and gradient descent baselines. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <lapacke.h>

#include "core/internal.h"
#include "stochopt/newton.h"

const char *so_newton_method_name(so_newton_method method)
{
    switch (method) {
    case SO_NEWTON_GRAD_NORM:
        return "grad-norm";
    case SO_NEWTON_GRAD_NORM_FIXED:
        return "grad-norm-fixed";
    case SO_NEWTON_DAMPED:
        return "damped-newton";
    case SO_NEWTON_GRADIENT:
        return "gradient";
    }
    return NULL;
}

so_newton_options so_newton_options_default(void)
{
    so_newton_options o;
    memset(&o, 0, sizeof o);
    o.method = SO_NEWTON_GRAD_NORM;
    o.curvature = SO_CURVATURE_EXACT;
    o.gamma0 = 1.0;
    o.gamma_min = 1e-9;
    o.lambda_eps = 1e-8;
    o.max_trials = 40;
    o.grad_tol = 1e-8;
    o.f_star = NAN;
    o.f_tol = 0.0;
    o.max_iter = 1000;
    o.lipschitz0 = 1.0;
    return o;
}

/* State of one run. */
typedef struct newton_run {
    const so_problem *p;
    const so_newton_options *o;
    size_t n;
    double *x, *g;       /* current point and gradient */
    double *xt, *gt;     /* trial point and gradient */
    double *H, *M;       /* curvature and its regularized factor */
    double *delta;
    double f, gnorm, gamma;
    struct timespec start;
    so_newton_result *res;
    long nonfinite_trials; /* trial points with a non-finite f or gradient */
} newton_run;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* ||g||_* = sqrt(g^T B^{-1} g). */
static double dual_norm(const newton_run *r, const double *g)
{
    double s = 0.0;
    for (size_t i = 0; i < r->n; i++)
        s += g[i] * g[i] / (r->o->b_diag != NULL ? r->o->b_diag[i] : 1.0);
    return sqrt(s);
}

/* ||d||_B = sqrt(d^T B d). */
static double primal_norm(const newton_run *r, const double *d)
{
    double s = 0.0;
    for (size_t i = 0; i < r->n; i++)
        s += d[i] * d[i] * (r->o->b_diag != NULL ? r->o->b_diag[i] : 1.0);
    return sqrt(s);
}

/* Evaluates f and the gradient at the trial point. *finite is 0 when either is not finite. */
static int evaluate_trial(newton_run *r, double *f, double *gnorm, int *finite)
{
    r->res->evaluations++;
    so_clear_error();
    int status = r->p->value_grad(r->p->user, r->xt, f, r->gt);
    if (status != 0) {
        if (so_last_error()[0] == '\0')
            so_fail_(status, "so_newton_minimize: value_grad of problem '%s' failed with "
                     "status %d at a trial point and set no error detail",
                     r->p->name ? r->p->name : "(unnamed)", status);
        return status;
    }
    *finite = isfinite(*f);
    for (size_t i = 0; i < r->n && *finite; i++)
        *finite = isfinite(r->gt[i]);
    if (!*finite)
        r->nonfinite_trials++;
    *gnorm = *finite ? dual_norm(r, r->gt) : NAN;
    return SO_OK;
}

/* Factors M = H + lambda B in place (upper Cholesky). Returns the LAPACK info. */
static lapack_int factor(newton_run *r, double lambda)
{
    const size_t n = r->n;
    memcpy(r->M, r->H, n * n * sizeof *r->M);
    for (size_t i = 0; i < n; i++)
        r->M[i * n + i] += lambda * (r->o->b_diag != NULL ? r->o->b_diag[i] : 1.0);
    r->res->factorizations++;
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, r->M, (lapack_int)n);
    if (info != 0)
        r->res->failed_factorizations++;
    return info;
}

/* delta = -M^{-1} g with M factored. */
static int solve(newton_run *r)
{
    for (size_t i = 0; i < r->n; i++)
        r->delta[i] = -r->g[i];
    lapack_int info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)r->n, 1, r->M,
                                     (lapack_int)r->n, r->delta, 1);
    if (info != 0)
        return so_fail_(SO_ERR_NUMERIC, "so_newton_minimize: LAPACKE_dpotrs returned %d",
                        (int)info);
    return SO_OK;
}

static int report_trial(newton_run *r, so_newton_trial *t)
{
    if (r->o->trial_callback == NULL)
        return SO_OK;
    if (r->o->trial_callback(r->o->callback_user, t) != 0)
        return so_fail_(SO_ERR_CALLBACK, "so_newton_minimize: the trial callback stopped "
                        "the run at iteration %ld, trial %d", t->iteration, t->trial);
    return SO_OK;
}

/* Moves to the trial point. */
static void accept(newton_run *r, double f, double gnorm)
{
    double *swap = r->x;
    r->x = r->xt;
    r->xt = swap;
    swap = r->g;
    r->g = r->gt;
    r->gt = swap;
    r->f = f;
    r->gnorm = gnorm;
}

static int no_accepted_trial(const newton_run *r, long k, int trials, long failed)
{
    if (r->nonfinite_trials >= trials)
        return so_fail_(SO_ERR_NONFINITE, "so_newton_minimize: %s: every one of the %d trial "
                        "points of iteration %ld had a non-finite f or gradient; check the "
                        "problem's value_grad near x, or raise max_trials",
                        so_newton_method_name(r->o->method), trials, k);
    if (r->o->method == SO_NEWTON_GRADIENT)
        return so_fail_(SO_ERR_NUMERIC, "so_newton_minimize: gradient rejected all %d trials "
                        "of iteration %ld (the last trial used L = %g); raise lipschitz0 or "
                        "max_trials", trials, k, ldexp(1.0 / r->gamma, trials - 1));
    return so_fail_(SO_ERR_NUMERIC, "so_newton_minimize: %s rejected all %d trials of "
                    "iteration %ld (%ld Cholesky factorizations failed); the %s curvature "
                    "may be indefinite or the problem badly scaled: raise max_trials, "
                    "or use method grad-norm with a positive semidefinite curvature kind",
                    so_newton_method_name(r->o->method), trials, k, failed,
                    so_curvature_name(r->o->curvature));
}

/* One iteration of the gradient-normalized method. *trials receives the trial count. */
static int step_grad_norm(newton_run *r, long k, int *trials, double *step_norm)
{
    const so_newton_options *o = r->o;
    const int fixed = o->method == SO_NEWTON_GRAD_NORM_FIXED;
    const int max_trials = fixed ? 1 : o->max_trials;
    const long failed0 = r->res->failed_factorizations;
    r->nonfinite_trials = 0;
    for (int i = 0; i < max_trials; i++) {
        so_newton_trial t = {k, i, r->gamma, 0.0, 0.0, NAN, 0, 0};
        *trials = i + 1;
        t.lambda = r->gnorm / (r->gamma + o->lambda_eps);
        if (factor(r, t.lambda) != 0) {
            t.factorization_failed = 1;
            int status = report_trial(r, &t);
            if (status != SO_OK)
                return status;
            r->gamma *= 0.5;
            continue;
        }
        int status = solve(r);
        if (status != SO_OK)
            return status;
        t.step_norm = primal_norm(r, r->delta);
        for (size_t q = 0; q < r->n; q++)
            r->xt[q] = r->x[q] + r->delta[q];
        double ft, gnt;
        int finite;
        status = evaluate_trial(r, &ft, &gnt, &finite);
        if (status != 0)
            return status;
        t.f_trial = ft;
        /* Acceptance test f(x) - f(x+) >= ||grad f(x+)||_*^2 / (8 lambda). */
        t.accepted = finite && (fixed || r->f - ft >= gnt * gnt / (8.0 * t.lambda));
        status = report_trial(r, &t);
        if (status != SO_OK)
            return status;
        if (t.accepted) {
            if (!fixed)
                r->gamma = fmax(2.0 * r->gamma, o->gamma_min);
            *step_norm = t.step_norm;
            accept(r, ft, gnt);
            return SO_OK;
        }
        if (fixed)
            return so_fail_(SO_ERR_NONFINITE, "so_newton_minimize: the step of iteration "
                            "%ld with fixed gamma = %g reached a point where f or the "
                            "gradient is not finite; lower gamma0", k, r->gamma);
        r->gamma *= 0.5;
    }
    return no_accepted_trial(r, k, max_trials, r->res->failed_factorizations - failed0);
}

/* One damped Newton iteration: Cholesky of H, then backtracking from t = 1. */
static int step_damped(newton_run *r, long k, int *trials, double *step_norm)
{
    *trials = 0;
    r->nonfinite_trials = 0;
    if (factor(r, 0.0) != 0)
        return so_fail_(SO_ERR_NUMERIC, "so_newton_minimize: damped Newton: the %s curvature "
                        "is not positive definite at iteration %ld (Cholesky failed); use "
                        "method grad-norm, which regularizes it",
                        so_curvature_name(r->o->curvature), k);
    int status = solve(r);
    if (status != SO_OK)
        return status;
    const double slope = cblas_ddot((int)r->n, r->g, 1, r->delta, 1);
    double t = 1.0;
    for (int i = 0; i < r->o->max_trials; i++, t *= 0.5) {
        so_newton_trial tr = {k, i, t, 0.0, t * primal_norm(r, r->delta), NAN, 0, 0};
        *trials = i + 1;
        for (size_t q = 0; q < r->n; q++)
            r->xt[q] = r->x[q] + t * r->delta[q];
        double ft, gnt;
        int finite;
        status = evaluate_trial(r, &ft, &gnt, &finite);
        if (status != 0)
            return status;
        tr.f_trial = ft;
        tr.accepted = finite && ft <= r->f + 1e-4 * t * slope;
        status = report_trial(r, &tr);
        if (status != SO_OK)
            return status;
        if (tr.accepted) {
            r->gamma = t;
            *step_norm = tr.step_norm;
            accept(r, ft, gnt);
            return SO_OK;
        }
    }
    return no_accepted_trial(r, k, r->o->max_trials, 0);
}

/* One gradient step with backtracking on the Lipschitz estimate L = 1 / gamma. */
static int step_gradient(newton_run *r, long k, int *trials, double *step_norm)
{
    double L = 1.0 / r->gamma;
    r->nonfinite_trials = 0;
    for (int i = 0; i < r->o->max_trials; i++, L *= 2.0) {
        so_newton_trial tr = {k, i, 1.0 / L, 0.0, r->gnorm / L, NAN, 0, 0};
        *trials = i + 1;
        for (size_t q = 0; q < r->n; q++)
            r->xt[q] = r->x[q] -
                       r->g[q] / (L * (r->o->b_diag != NULL ? r->o->b_diag[q] : 1.0));
        double ft, gnt;
        int finite;
        int status = evaluate_trial(r, &ft, &gnt, &finite);
        if (status != 0)
            return status;
        tr.f_trial = ft;
        tr.accepted = finite && ft <= r->f - r->gnorm * r->gnorm / (2.0 * L);
        status = report_trial(r, &tr);
        if (status != SO_OK)
            return status;
        if (tr.accepted) {
            r->gamma = 2.0 / L;
            *step_norm = tr.step_norm;
            accept(r, ft, gnt);
            return SO_OK;
        }
    }
    return no_accepted_trial(r, k, r->o->max_trials, 0);
}

static int check_options(const so_problem *p, const double *x, const so_newton_options *o)
{
    if (p == NULL || p->value_grad == NULL || p->n == 0)
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: problem is %s; pass a filled "
                        "so_problem", p == NULL ? "NULL" : "missing value_grad or n");
    if (x == NULL)
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: x is NULL; pass the %zu "
                        "starting values", p->n);
    if (so_newton_method_name(o->method) == NULL)
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: method = %d; expected an "
                        "so_newton_method value", (int)o->method);
    if (so_curvature_name(o->curvature) == NULL)
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: curvature = %d; expected an "
                        "so_curvature value", (int)o->curvature);
    if (!(o->gamma0 > 0.0) || !isfinite(o->gamma0) || !(o->gamma_min >= 0.0) ||
        !isfinite(o->gamma_min) || !(o->lambda_eps >= 0.0) || !isfinite(o->lambda_eps) || !(o->lipschitz0 > 0.0) || !isfinite(o->lipschitz0))
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: gamma0 = %g, gamma_min = %g, "
                        "lambda_eps = %g, lipschitz0 = %g; expected gamma0 > 0, "
                        "lipschitz0 > 0 and finite gamma_min, lambda_eps >= 0", o->gamma0,
                        o->gamma_min, o->lambda_eps, o->lipschitz0);
    if (o->max_trials < 1 || o->max_iter < 0 || !(o->grad_tol >= 0.0))
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: max_trials = %d, max_iter = "
                        "%ld, grad_tol = %g; expected max_trials >= 1, max_iter >= 0 and "
                        "grad_tol >= 0", o->max_trials, o->max_iter, o->grad_tol);
    if (!(o->f_tol >= 0.0))
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: f_tol = %g; expected a value "
                        ">= 0 (it is used with a finite f_star)", o->f_tol);
    if (o->method != SO_NEWTON_GRADIENT &&
        (p->n > INT_MAX || p->n > SIZE_MAX / sizeof(double) / 2 / p->n))
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: n = %zu variables; the dense "
                        "n x n curvature does not fit in memory or in a BLAS int dimension; "
                        "use method gradient", p->n);
    if (o->history == NULL && o->history_capacity > 0)
        return so_fail_(SO_ERR_INVALID, "so_newton_minimize: history is NULL but "
                        "history_capacity = %zu", o->history_capacity);
    for (size_t i = 0; o->b_diag != NULL && i < p->n; i++)
        if (!(o->b_diag[i] > 0.0) || !isfinite(o->b_diag[i]))
            return so_fail_(SO_ERR_INVALID, "so_newton_minimize: b_diag[%zu] = %g; expected "
                            "finite positive entries", i, o->b_diag[i]);
    for (size_t i = 0; i < p->n; i++)
        if (!isfinite(x[i]))
            return so_fail_(SO_ERR_NONFINITE, "so_newton_minimize: x[%zu] = %g; expected a "
                            "finite starting point", i, x[i]);
    return SO_OK;
}

/* Records iteration k into the history and passes it to the callback. */
static int record_iteration(newton_run *r, long k, int trials, double step_norm)
{
    so_newton_record rec = {k,     r->f,      r->gnorm, r->gamma, trials, step_norm,
                            seconds_since(&r->start), r->res->factorizations};
    if (r->res->history_count < r->o->history_capacity)
        r->o->history[r->res->history_count++] = rec;
    if (r->o->callback != NULL && r->o->callback(r->o->callback_user, &rec, r->x) != 0)
        return so_fail_(SO_ERR_CALLBACK, "so_newton_minimize: the callback stopped the run "
                        "at iteration %ld", k);
    return SO_OK;
}

static int iterate(newton_run *r)
{
    const so_newton_options *o = r->o;
    const int needs_curvature = o->method != SO_NEWTON_GRADIENT;
    int status = record_iteration(r, 0, 0, 0.0);
    for (long k = 1; status == SO_OK; k++) {
        if (r->gnorm <= o->grad_tol || (isfinite(o->f_star) && r->f - o->f_star <= o->f_tol))
            return SO_OK;
        if (k > o->max_iter)
            return SO_NOT_CONVERGED;
        if (needs_curvature) {
            status = so_problem_curvature(r->p, o->curvature, r->x, r->H);
            if (status != SO_OK)
                return status;
        }
        int trials = 0;
        double step_norm = 0.0;
        if (o->method == SO_NEWTON_DAMPED)
            status = step_damped(r, k, &trials, &step_norm);
        else if (o->method == SO_NEWTON_GRADIENT)
            status = step_gradient(r, k, &trials, &step_norm);
        else
            status = step_grad_norm(r, k, &trials, &step_norm);
        r->res->trials += trials;
        if (status != SO_OK)
            return status;
        r->res->iterations = k;
        status = record_iteration(r, k, trials, step_norm);
    }
    return status;
}

int so_newton_minimize(const so_problem *p, double *x, const so_newton_options *opt,
                       so_newton_result *result)
{
    so_newton_options defaults = so_newton_options_default();
    const so_newton_options *o = opt != NULL ? opt : &defaults;
    int status = check_options(p, x, o);
    if (status != SO_OK)
        return status;
    so_newton_result local;
    so_newton_result *res = result != NULL ? result : &local;
    memset(res, 0, sizeof *res);

    const size_t n = p->n;
    const int dense = o->method != SO_NEWTON_GRADIENT;
    double *buf = so_calloc_(5 * n + (dense ? 2 * n * n : 0), sizeof *buf);
    if (buf == NULL)
        return SO_ERR_NOMEM;
    newton_run r = {p, o, n, buf, buf + n, buf + 2 * n, buf + 3 * n,
                    dense ? buf + 5 * n : NULL, dense ? buf + 5 * n + n * n : NULL,
                    buf + 4 * n, 0.0, 0.0, 0.0, {0, 0}, res, 0};
    clock_gettime(CLOCK_MONOTONIC, &r.start);
    r.gamma = o->method == SO_NEWTON_DAMPED ? 1.0
              : o->method == SO_NEWTON_GRADIENT ? 1.0 / o->lipschitz0
                                                : o->gamma0;
    memcpy(r.x, x, n * sizeof *x);
    res->evaluations = 1;
    status = so_problem_value_grad(p, r.x, &r.f, r.g);
    if (status == SO_OK) {
        r.gnorm = dual_norm(&r, r.g);
        status = iterate(&r);
    }
    memcpy(x, r.x, n * sizeof *x);
    res->f = r.f;
    res->grad_norm = r.gnorm;
    res->gamma = r.gamma;
    res->time = seconds_since(&r.start);
    free(buf);
    return status;
}
