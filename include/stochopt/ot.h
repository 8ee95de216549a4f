/* Entropic optimal transport on a dense cost matrix, in double precision.
 *
 * The problem is min_P <C, P> + reg * sum_ij P_ij log P_ij over plans P >= 0 with row
 * sums a and column sums b (Cuturi, NeurIPS 2013). Every solver returns dual potentials
 * f and g with P_ij = exp((f_i + g_j - C_ij) / reg), the convention of POT, where
 * f = reg log u and g = reg log v for the scalings u, v of the Sinkhorn algorithm.
 *
 * The solvers:
 *  - SO_OT_SINKHORN: Sinkhorn's scaling form u = a / (K v), v = b / (K^T u) with
 *    K = exp(-C / reg). Fast, but K underflows to zero when cost / reg exceeds about 745;
 *    the solver then fails with SO_ERR_NUMERIC, or switches to the log domain when
 *    so_ot_options.fallback is set.
 *  - SO_OT_LOG: the same iterates on the potentials, stable for any reg. Most iterations
 *    run as scalings of a kernel built at the current potentials, which are absorbed into
 *    the potentials before they leave [1e-50, 1e50]. An iteration that meets a zero or
 *    non-finite sum is redone with shifted log-sum-exp passes.
 *  - SO_OT_EPS_SCALING: log-domain Sinkhorn with reg annealed geometrically from a large
 *    value down to the target, each stage warm-started with the previous potentials
 *    (Schmitzer, SIAM J. Sci. Comput., 2019).
 *  - SO_OT_SNS: Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024): log-domain Sinkhorn
 *    iterations as a warm start, then Newton steps on the concave dual (Lyapunov)
 *    potential with the Hessian sparsified to the largest plan entries of each row and
 *    column, solved by conjugate gradient, with a backtracking line search.
 *
 * Marginal error means ||P 1 - a||_1 + ||P^T 1 - b||_1. A solver stops when it is at most
 * tol (and returns SO_OK), or after max_iter iterations (and returns SO_NOT_CONVERGED with
 * the result filled in). Rows and columns with zero mass get zero plan entries and the
 * potential -INFINITY. */
#ifndef STOCHOPT_OT_H
#define STOCHOPT_OT_H

#include <stddef.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum so_ot_method {
    SO_OT_SINKHORN = 0,
    SO_OT_LOG = 1,
    SO_OT_EPS_SCALING = 2,
    SO_OT_SNS = 3
} so_ot_method;

/* How the stopping test measures the marginal error. */
typedef enum so_ot_stop_rule {
    SO_OT_STOP_L1 = 0,  /* L1 error of both marginals <= tol, tested every iteration */
    SO_OT_STOP_POT = 1  /* POT 0.8's rule for ot.sinkhorn and sinkhorn_log: the L2 norm of
                         * P^T 1 - b below tol, tested at iterations 0, 10, 20, ... The
                         * same iterates as POT then stop at the same iteration. */
} so_ot_stop_rule;

typedef enum so_ot_cost {
    SO_OT_SQEUCLIDEAN = 0,  /* ||x - y||^2 */
    SO_OT_EUCLIDEAN = 1,    /* ||x - y|| */
    SO_OT_L1 = 2            /* sum_k |x_k - y_k| */
} so_ot_cost;

typedef struct so_ot_options {
    so_ot_method method;
    double reg;            /* entropic regularization, > 0 (POT's reg, 1 / eta) */
    double tol;            /* marginal error to reach (default 1e-9) */
    long max_iter;         /* iteration limit: Sinkhorn iterations plus Newton steps
                            * (default 100000) */
    so_ot_stop_rule stop_rule;
    int fallback;          /* SO_OT_SINKHORN: on kernel underflow, continue in the log
                            * domain instead of failing (default 0) */
    int want_plan;         /* 1: fill result.plan (default); 0: potentials only */
    int threads;           /* OpenMP threads over rows; 0 or 1 for one (default). Results
                            * are reproducible for a given thread count. */
    /* epsilon scaling */
    double eps_start;      /* first reg, 0 for max|C| (default 0) */
    double eps_factor;     /* reg shrinks by this factor per stage, in (0, 1) (default 0.5) */
    long eps_stage_iter;   /* iteration limit of each intermediate stage (default 100) */
    /* Sinkhorn-Newton-Sparse */
    long sns_warm_iter;    /* log-domain Sinkhorn iterations before Newton (default 20) */
    long sns_keep;         /* largest plan entries kept per row and per column of the
                            * sparsified Hessian (default 8; Tang et al. use about 2 per
                            * row, 15 for L1 costs, whose optimum is not unique; docs/ot/
                            * sns.md shows 8 needing fewer Newton steps) */
    long sns_cg_max_iter;  /* conjugate-gradient iterations per Newton step (default 1000) */
} so_ot_options;

typedef struct so_ot_result {
    size_t n, m;
    double *plan;          /* n x m row-major, or NULL when want_plan is 0. Entries
                            * below 3.3e-308 are returned as 0. */
    double *f, *g;         /* dual potentials, n and m values */
    double cost;           /* <C, P> */
    double objective;      /* <C, P> + reg sum P log P */
    double marginal_error; /* ||P 1 - a||_1 + ||P^T 1 - b||_1 of the returned P */
    long iterations;       /* Sinkhorn iterations plus Newton steps */
    long newton_steps;     /* SO_OT_SNS only */
    int status;            /* SO_OK or SO_NOT_CONVERGED, the value returned */
    so_ot_method method_used; /* SO_OT_LOG after a fallback of SO_OT_SINKHORN */
    int fell_back;         /* 1 when the scaling form switched to the log domain */
} so_ot_result;

/* Returns the defaults above with method SO_OT_LOG and reg 0, which the caller must set. */
so_ot_options so_ot_options_default(void);

/* Parses "sinkhorn", "log", "eps" or "sns"; returns -1 for another name. */
int so_ot_method_from_name(const char *name);
const char *so_ot_method_name(so_ot_method method);
/* Parses "sqeuclidean", "euclidean" or "l1"; returns -1 for another name. */
int so_ot_cost_from_name(const char *name);

/* Fills C (n x m, row-major) with the cost between the rows of X (n x d) and Y (m x d).
 * Squared Euclidean costs use ||x||^2 + ||y||^2 - 2 x.y through cblas_dgemm, clamped at 0. */
int so_ot_cost_matrix(const double *X, size_t n, const double *Y, size_t m, size_t d,
                      so_ot_cost cost, double *C);

/* Solves the entropic OT problem for cost C (n x m, row-major). a and b may be NULL for
 * uniform marginals; otherwise they must be finite, non-negative and have equal sums
 * within 1e-9 relative. Returns SO_OK, SO_NOT_CONVERGED (result filled in, and status
 * and marginal_error report how far it got) or a negative error with result left empty. Free
 * the result with so_ot_result_clear. */
int so_ot_solve(const double *C, size_t n, size_t m, const double *a, const double *b,
                const so_ot_options *opt, so_ot_result *result);

void so_ot_result_clear(so_ot_result *result);

/* The concave dual (Lyapunov) potential of Tang et al. (ICLR 2024) in POT's units:
 *   L(f, g) = -reg sum_ij P_ij + a.f + b.g,  P_ij = exp((f_i + g_j - C_ij) / reg),
 * with gradient (a - P 1, b - P^T 1) and Hessian -(1 / reg) [[diag(P 1), P],
 * [P^T, diag(P^T 1)]]. Returns L and, when grad is not NULL, the n + m gradient values.
 * Exposed for tests. */
double so_ot_lyapunov(const double *C, size_t n, size_t m, const double *a, const double *b,
                      double reg, const double *f, const double *g, double *grad);

/* Computes out = H x for the Hessian above at (f, g); x and out have n + m values. */
void so_ot_lyapunov_hessian_apply(const double *C, size_t n, size_t m, double reg,
                                  const double *f, const double *g, const double *x,
                                  double *out);

/* exp(x) with a polynomial that compilers vectorize, as the solvers use it: within 2 ulp
 * of the C library for x in [-708, 709.78], 0 below -708 (where exp(x) < 3.3e-308), +inf
 * above 709.78 and NaN for NaN. Exposed for tests. */
double so_ot_exp(double x);

#ifdef __cplusplus
}
#endif

#endif
