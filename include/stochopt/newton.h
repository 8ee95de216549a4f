/* Gradient-normalized regularized Newton method and its baselines, for a so_problem.
 *
 * The method of Semenov, Jaggi and Doikov, "Gradient-normalized smoothness for
 * optimization with approximate Hessians" (2025), steps
 *
 *     x+ = x - (H + lambda B)^{-1} grad f(x),   lambda = ||grad f(x)||_* / (gamma + eps),
 *
 * with H a curvature matrix of a chosen so_curvature kind (it may only approximate the
 * Hessian), B = I or a positive diagonal, ||g||_* = sqrt(g^T B^{-1} g) and eps =
 * lambda_eps. When H is positive semidefinite the step has ||x+ - x||_B <= gamma + eps.
 * The adaptive variant tries up to max_trials values of gamma per iteration: a trial is
 * accepted when f(x) - f(x+) >= ||grad f(x+)||_*^2 / (8 lambda), after which gamma
 * doubles (at least gamma_min). A rejected trial, or one whose Cholesky factorization
 * fails, halves gamma. Each iteration computes H once and factors H + lambda B once per
 * trial. */
#ifndef STOCHOPT_NEWTON_H
#define STOCHOPT_NEWTON_H

#include <stddef.h>

#include "stochopt/problem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum so_newton_method {
    SO_NEWTON_GRAD_NORM = 0,       /* adaptive gamma, as described above */
    SO_NEWTON_GRAD_NORM_FIXED = 1, /* one trial with the fixed gamma0, always accepted */
    SO_NEWTON_DAMPED = 2,          /* x+ = x - t H^{-1} grad f, t halved from 1 until
                                    * f(x+) <= f(x) + 1e-4 t grad f^T (x+ - x) */
    SO_NEWTON_GRADIENT = 3         /* x+ = x - B^{-1} grad f / L, L doubled until
                                    * f(x+) <= f(x) - ||grad f||_*^2 / (2 L), then halved */
} so_newton_method;

/* Returns "grad-norm", "grad-norm-fixed", "damped-newton" or "gradient", or NULL. */
const char *so_newton_method_name(so_newton_method method);

/* One iteration, recorded after it (iteration 0 is the starting point). */
typedef struct so_newton_record {
    long iteration;
    double f;
    double grad_norm;      /* ||grad f||_* */
    double gamma;          /* gamma after the update, the step size t for DAMPED, or 1/L
                            * for GRADIENT */
    int trials;            /* trials of this iteration, 0 for iteration 0 */
    double step_norm;      /* ||x+ - x||_B of the accepted step */
    double time;           /* seconds since the start, monotonic clock */
    long factorizations;   /* Cholesky factorizations so far, failed ones included */
} so_newton_record;

/* One trial step of an iteration, reported before the acceptance test. */
typedef struct so_newton_trial {
    long iteration;        /* the iteration being computed, from 1 */
    int trial;             /* from 0 */
    double gamma;          /* gamma of this trial (t for DAMPED, 1/L for GRADIENT) */
    double lambda;         /* regularization lambda (0 for DAMPED and GRADIENT) */
    double step_norm;      /* ||Delta||_B, 0 when the factorization failed */
    double f_trial;        /* f(x + Delta), NaN when not evaluated */
    int factorization_failed;
    int accepted;
} so_newton_trial;

/* Callbacks return 0 to continue. Any other value stops the run with SO_ERR_CALLBACK. */
typedef int (*so_newton_iter_fn)(void *user, const so_newton_record *rec, const double *x);
typedef int (*so_newton_trial_fn)(void *user, const so_newton_trial *trial);

typedef struct so_newton_options {
    so_newton_method method;   /* SO_NEWTON_GRAD_NORM */
    so_curvature curvature;    /* SO_CURVATURE_EXACT, used by DAMPED too */
    double gamma0;             /* 1: initial gamma (the fixed one for GRAD_NORM_FIXED) */
    double gamma_min;          /* 1e-9: floor of gamma after an accepted trial */
    double lambda_eps;         /* 1e-8: eps in lambda = ||g||_* / (gamma + eps) */
    int max_trials;            /* 40 trials per iteration */
    const double *b_diag;      /* NULL for B = I, or the n positive diagonal entries of B */
    double grad_tol;           /* 1e-8: stop when ||grad f||_* <= grad_tol */
    double f_star;             /* NaN: with f_tol, stop when f - f_star <= f_tol */
    double f_tol;              /* 0 */
    long max_iter;             /* 1000 iterations */
    double lipschitz0;         /* 1: initial L of GRADIENT */
    so_newton_iter_fn callback;        /* NULL, or called after every iteration */
    so_newton_trial_fn trial_callback; /* NULL, or called for every trial */
    void *callback_user;
    so_newton_record *history; /* NULL, or storage for history_capacity records */
    size_t history_capacity;   /* records beyond it are dropped, not an error */
} so_newton_options;

/* Returns the defaults listed above. */
so_newton_options so_newton_options_default(void);

typedef struct so_newton_result {
    long iterations;
    double f, grad_norm, gamma;
    long trials;               /* over all iterations */
    long factorizations;       /* Cholesky factorizations, failed ones included */
    long failed_factorizations;
    long evaluations;          /* calls of value_grad */
    size_t history_count;      /* records written to options.history */
    double time;               /* seconds */
} so_newton_result;

/* Minimizes p from x (n values, overwritten with the last accepted iterate).
 * Returns SO_OK when a tolerance was met and SO_NOT_CONVERGED after max_iter iterations.
 * SO_ERR_NUMERIC means no trial of an iteration was accepted: the message gives the
 * number of failed factorizations, and DAMPED fails this way when H is not positive
 * definite. SO_ERR_NONFINITE means f, the gradient or H was NaN or infinite at an
 * accepted point or at every trial point of an iteration. SO_ERR_CALLBACK means a
 * callback stopped the run, and a failing problem callback's status is passed on. result may be NULL and is filled on every return after the arguments were
 * checked. Trial points with a non-finite f count as rejected.
 * NOTE: the acceptance test compares a decrease of f with ||grad f(x+)||^2 / (8 lambda).
 * Once that decrease is below the rounding error of f (about 1e-16 |f|), every trial can
 * fail and the run ends with SO_ERR_NUMERIC. With an inexact curvature (FISHER) this
 * happens at ||grad f|| around 1e-8 on logistic regression with f near 0.3, so choose
 * grad_tol above that or use f_star and f_tol. */
int so_newton_minimize(const so_problem *p, double *x, const so_newton_options *opt,
                       so_newton_result *result);

#ifdef __cplusplus
}
#endif

#endif
