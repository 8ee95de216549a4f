/* Equality-constrained optimization by AdaSketch-Newton (Hong, Na, Mahoney and Kolar,
 * "Constrained optimization via exact augmented Lagrangian and randomized iterative
 * sketching", ICML 2023):
 *
 *     minimize f(x) subject to c(x) = 0,
 *
 * with Newton steps on the KKT conditions, solved inexactly by randomized sketching,
 * and a backtracking line search on the exact augmented Lagrangian merit
 *
 *     L_{mu,nu}(x, lambda) = L + mu/2 |c|^2 + nu/2 |grad_x L|^2,  L = f + lambda^T c.
 *
 * docs/constrained/adasketch.md lists the rules, defaults and measured results. */
#ifndef STOCHOPT_CONSTRAINED_H
#define STOCHOPT_CONSTRAINED_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/core.h"
#include "stochopt/problem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Solvers for the Newton (KKT) system K z = b. */
typedef enum so_kkt_solver {
    SO_KKT_LU = 0,       /* dense LAPACK LU (dgesv), exact up to rounding */
    SO_KKT_KACZMARZ = 1, /* randomized Kaczmarz: one row chosen uniformly per step */
    SO_KKT_GAUSSIAN = 2  /* Gaussian vector sketch S: z -= (S^T r)/|K^T S|^2 K^T S */
} so_kkt_solver;

/* Returns "lu", "kaczmarz" or "gaussian", or NULL. */
const char *so_kkt_solver_name(so_kkt_solver solver);

struct so_adasketch_record;

/* Called with record 0 (the start) and after every accepted iteration. Returns 0 to
 * continue. Any other value stops so_adasketch_newton, which then returns
 * SO_ERR_CALLBACK with x and lambda at the last accepted iterate. */
typedef int (*so_adasketch_iter_fn)(void *user, const struct so_adasketch_record *rec);

/* Options of so_adasketch_newton. so_adasketch_options_default() fills the defaults. */
typedef struct so_adasketch_options {
    so_kkt_solver solver; /* default SO_KKT_KACZMARZ */
    double tol;           /* stop when |(grad_x L, c)| <= tol, default 1e-4 */
    long max_iter;        /* Newton iterations, default 10000 */
    double mu0;           /* initial penalty on |c|^2, default 1 */
    double nu0;           /* initial weight of |grad_x L|^2, default 0.1 */
    double delta0;        /* initial sketching accuracy, default 0.1 */
    double delta_min;     /* floor of delta, default 1e-6 */
    double xi_b;          /* curvature floor xi_B of the shifted Hessian, default 0.1 */
    double theta;         /* accuracy factor in the sketching test, default 1 */
    double beta;          /* Armijo constant, default 0.1 */
    double rho;           /* on a failed descent test mu *= rho^2, nu /= rho, default 1.5 */
    double mu_max;        /* cap of mu, default 1e8 (see nu_min) */
    double nu_min;        /* floor of nu, default 1e-8. While mu > mu_max or nu < nu_min,
                           * a direction is accepted without the descent test */
    double sing_tol;      /* G is singular when lambda_min(G G^T) < sing_tol, default 1e-2 */
    double curv_tol;      /* the reduced Hessian is positive definite when its smallest
                             eigenvalue is >= curv_tol, default 1e-6 */
    long max_sketch;      /* sketch steps per direction attempt, default 100000 */
    int max_backtrack;    /* step halvings before SO_ERR_NUMERIC, default 60 */
    uint64_t seed;        /* sketches use so_rng stream (seed, iteration), default 0 */
    int record_history;   /* 1 (default): store one record per iteration in the stats */
    so_adasketch_iter_fn callback; /* NULL (default), or called once per record */
    void *callback_user;           /* passed to callback, default NULL */
} so_adasketch_options;

void so_adasketch_options_default(so_adasketch_options *opt);

/* The state after one iteration (record 0 is the starting point). */
typedef struct so_adasketch_record {
    long iter;
    double kkt;          /* |(grad_x L, c)| */
    double f;
    double c_norm;       /* |c| */
    double mu, nu, delta;
    double shift;        /* t in B = Hessian of L + t I */
    double alpha;        /* accepted step length, 0 for record 0 */
    long sketch_iters;   /* sketch steps spent on this iteration's direction */
    double flops;        /* cumulative floating-point operation estimate (see the docs) */
    double seconds;      /* cumulative wall time */
} so_adasketch_record;

typedef struct so_adasketch_stats {
    long iterations;
    double kkt, f, c_norm, mu, nu;
    long sketch_iters;      /* total sketch steps */
    long sketch_cap_hits;   /* directions whose sketching stopped at max_sketch */
    long penalty_updates;   /* failed descent tests (mu and nu updated) */
    long shifts;            /* iterations with t > 0 */
    double flops, seconds;
    long singular_iter;     /* iteration where G was found singular, -1 otherwise */
    long rank_deficiency;   /* eigenvalues of G G^T below sing_tol at that iteration */
    double min_eig_ggt;     /* lambda_min(G G^T) at the last iteration checked */
    size_t history_len;
    so_adasketch_record *history; /* owned; release with so_adasketch_stats_free */
} so_adasketch_stats;

void so_adasketch_stats_free(so_adasketch_stats *stats);

/* Runs AdaSketch-Newton on p, which needs m >= 1 and SO_CURVATURE_EXACT from
 * p->curvature or p->curvature_vp. x (n values) contains the start and receives the last
 * iterate. lambda (m values) does the same for the multipliers, or is NULL to start from
 * zero multipliers. stats may be NULL. Otherwise it is filled even on failure and must
 * be released with so_adasketch_stats_free.
 * Returns SO_OK at the tolerance and SO_NOT_CONVERGED after max_iter. SO_ERR_NUMERIC
 * means that G G^T has an eigenvalue below sing_tol (the detail and stats name the
 * iteration and the rank deficiency), that the LU solve met a singular K, or that the
 * line search failed. SO_ERR_CALLBACK means opt->callback stopped the run. A failing
 * problem callback's status is passed on. */
int so_adasketch_newton(const so_problem *p, const so_adasketch_options *opt, double *x,
                        double *lambda, so_adasketch_stats *stats);

/* Computes the merit L_{mu,nu} at (x, lambda), for finite mu, nu >= 0, into *value and,
 * when grad is not NULL, its exact gradient (n + m values), which uses the Hessian of
 * the Lagrangian:
 * (grad_x L + nu H grad_x L + mu G^T c, c + nu G grad_x L). */
int so_augmented_lagrangian(const so_problem *p, const double *x, const double *lambda,
                            double mu, double nu, double *value, double *grad);

/* Solves K z = b (K dense, dim x dim, row-major, symmetric) by sketching from z (dim
 * values, usually zero) until |K z - b| <= resid_tol or max_iter steps, drawing from
 * rng. *iters receives the steps taken and *flops (may be NULL) an operation estimate.
 * SO_KKT_KACZMARZ and SO_KKT_GAUSSIAN only. Returns SO_OK when the tolerance was met,
 * SO_NOT_CONVERGED otherwise, SO_ERR_INVALID for a NaN or negative resid_tol or a
 * negative max_iter, and SO_ERR_NONFINITE when the residual became NaN or infinite. */
int so_kkt_sketch_solve(const double *K, size_t dim, const double *b, so_kkt_solver solver,
                        double resid_tol, long max_iter, so_rng *rng, double *z,
                        long *iters, double *flops);

#ifdef __cplusplus
}
#endif

#endif
