/* Smooth objectives and equality constraints for the second-order and constrained
 * methods:
 *
 *     minimize f(x) over x in R^n  subject to  c(x) = 0 (m equations, m may be 0),
 *
 * where f may be a finite sum f(x) = (1/N) sum_i f_i(x). A problem is a table of
 * callbacks over double arrays. The ready-made problems below fill it in, and users can
 * fill their own. Every callback returns 0 on success or a status from core.h. */
#ifndef STOCHOPT_PROBLEM_H
#define STOCHOPT_PROBLEM_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Curvature models a method can ask for. */
typedef enum so_curvature {
    SO_CURVATURE_EXACT = 0,        /* the Hessian of f */
    SO_CURVATURE_FISHER = 1,       /* empirical Fisher (1/N) sum_i grad f_i grad f_i^T */
    SO_CURVATURE_GAUSS_NEWTON = 2, /* J^T (d^2 l) J for f = l(F(x)), l convex */
    SO_CURVATURE_WEIGHTED_GN = 3   /* log-sum-exp: (1/mu) A^T diag(softmax) A */
} so_curvature;

/* Returns "exact", "fisher", "gauss-newton" or "weighted-gn", or NULL. */
const char *so_curvature_name(so_curvature kind);

typedef struct so_problem {
    const char *name;
    size_t n;        /* variables, >= 1 */
    size_t m;        /* equality constraints, 0 when unconstrained */
    size_t nsamples; /* terms N of the finite sum, 0 when f is not a sum */
    void *user;      /* passed to every callback */

    /* Required: f(x) into *f and, when g is not NULL, the gradient (n values). */
    int (*value_grad)(void *user, const double *x, double *f, double *g);

    /* Optional: gradients of the terms idx[0..count-1] as the rows of G (count x n,
     * row-major). Needs nsamples > 0. */
    int (*sample_grads)(void *user, const double *x, const size_t *idx, size_t count,
                        double *G);

    /* Optional: the dense symmetric curvature matrix of the given kind (n x n,
     * row-major). Returns SO_ERR_UNSUPPORTED for a kind the problem does not provide. */
    int (*curvature)(void *user, so_curvature kind, const double *x, double *H);

    /* Optional: the product of that matrix with v (n values) into out (n values). */
    int (*curvature_vp)(void *user, so_curvature kind, const double *x, const double *v,
                        double *out);

    /* Required when m > 0: c(x) into c (m values) and, when J is not NULL, the
     * Jacobian dc/dx (m x n, row-major). */
    int (*constraints)(void *user, const double *x, double *c, double *J);

    /* Required when m > 0: adds sum_k lambda_k * Hessian(c_k)(x) to H (n x n). */
    int (*constraint_hessian)(void *user, const double *x, const double *lambda,
                              double *H);

    /* Releases user. Called by so_problem_destroy, and may be NULL. */
    void (*destroy)(void *user);

    /* Facts about the problem, when known (NULL / NaN otherwise). Ready-made problems
     * point these at storage they own. */
    const double *x0;     /* standard starting point (n values) */
    const double *x_star; /* a known solution (n values) */
    double f_star;        /* the optimal value */
} so_problem;

/* Calls p->destroy(p->user) and clears *p. Accepts NULL. */
void so_problem_destroy(so_problem *p);

/* Evaluates f and, when g is not NULL, the gradient, and checks the result. Returns
 * SO_ERR_NONFINITE naming the problem when f or a gradient entry is NaN or infinite. */
int so_problem_value_grad(const so_problem *p, const double *x, double *f, double *g);

/* Computes the dense curvature matrix of the given kind into H (n x n). Uses
 * p->curvature when it provides the kind. Otherwise it builds FISHER from sample_grads
 * (all samples), and any kind from n products with p->curvature_vp. Returns
 * SO_ERR_UNSUPPORTED when none of these provides the kind. */
int so_problem_curvature(const so_problem *p, so_curvature kind, const double *x,
                         double *H);

/* Computes the Hessian of the Lagrangian f + lambda^T c into H (n x n). */
int so_problem_lagrangian_hessian(const so_problem *p, const double *x,
                                  const double *lambda, double *H);

/* Compares the analytic gradient, Jacobian, exact curvature and constraint Hessians
 * with central differences of step h (0 selects cbrt(DBL_EPSILON) * max(1, |x_i|)) at
 * x. It also compares every curvature_vp kind that p->curvature provides with the dense
 * matrix times a fixed vector, and, when sample_grads exists, the mean of all per-sample
 * gradients with the gradient. The constraint Hessians are checked contracted with fixed
 * multipliers lambda_k = cos(0.3 + 1.1 k). Each compared object (a vector, or one
 * column of a matrix) contributes max |analytic - reference| / max(1, max |reference|),
 * and *max_rel_err receives the largest contribution. A mismatch is not an error: the
 * caller compares *max_rel_err with its tolerance (central differences give about
 * 1e-9 on well-scaled problems). Returns SO_OK, or the first failing callback's
 * status. */
int so_problem_check_derivatives(const so_problem *p, const double *x, double h,
                                 double *max_rel_err);

/* ---- Ready-made problems. Each fills *p, clears it on failure, and is released with
 * so_problem_destroy. Datasets are copied to double, so the dataset may be freed
 * afterwards. Dense (F32, U8) and sparse (CSR) features are both accepted, and sparse
 * ones stay sparse. Dense features are copied
 * as so_dataset_gather returns them (scaled and standardized), but sparse features with
 * standardization are rejected (SO_ERR_UNSUPPORTED). Labels outside [0, num_classes),
 * malformed CSR arrays (offsets not starting at 0 or decreasing, column indices >= d)
 * and missing arrays are rejected (SO_ERR_INVALID), and so are NaN or infinite features
 * and targets (SO_ERR_NONFINITE). The callbacks share work arrays
 * inside p->user, so one problem must not be evaluated from two threads at once. x0 is
 * zero unless stated.
 *
 * Fisher convention of the data-driven problems (logistic, softmax, least squares): the
 * terms include the l2 penalty, f_i(x) = loss_i(x) + l2/2 |x_reg|^2, so f is exactly
 * their mean, sample_grads returns grad f_i = grad loss_i + l2 x_reg, and FISHER is
 * (1/N) sum_i grad f_i grad f_i^T with the penalty inside every factor (not the Fisher
 * matrix of the losses plus l2 I). x_reg is x without the intercept. */

/* Binary logistic regression, f = (1/N) sum_i log(1 + exp(-y_i a_i^T x)) + l2/2 |x|^2,
 * with y_i = +-1 from the dataset's two encoded classes (the larger target is +1).
 * n = d, or d + 1 with an intercept (last variable, not regularized). Provides EXACT,
 * FISHER and GAUSS_NEWTON (equal to EXACT) curvature. */
int so_problem_logistic(so_problem *p, const so_dataset *ds, double l2, int intercept);

/* Multinomial (softmax) regression with C = ds->num_classes classes. x is the d x C
 * weight matrix, row-major (n = d * C), and f the mean cross-entropy + l2/2 |x|^2, with no
 * intercept (add a constant feature for one). Provides EXACT, FISHER and GAUSS_NEWTON
 * (equal to EXACT, because the scores are linear in x). */
int so_problem_softmax(so_problem *p, const so_dataset *ds, double l2);

/* Least squares f = (1/(2N)) |A x - b|^2 + l2/2 |x|^2 with A the features and b the
 * targets (labels are not needed). Provides EXACT, GAUSS_NEWTON (equal to EXACT) and
 * FISHER. */
int so_problem_least_squares(so_problem *p, const so_dataset *ds, double l2);

/* Log-sum-exp f = mu * log(sum_i exp((a_i^T x - b_i) / mu)) with A (rows x n, row-major)
 * and b copied. Provides EXACT and WEIGHTED_GN = (1/mu) A^T diag(p) A with p the softmax
 * of (A x - b) / mu, which exceeds EXACT by the rank-one term (1/mu) (A^T p)(A^T p)^T.
 * f is bounded below only when 0 is in the convex hull of the rows. */
int so_problem_logsumexp(so_problem *p, const double *A, const double *b, size_t rows,
                         size_t n, double mu);

/* Rosenbrock sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, x0 = (-2, 2, -2, ...)
 * (n >= 2), x_star = (1, ..., 1), f_star = 0. Provides EXACT and GAUSS_NEWTON = 2 J^T J
 * for the residuals 10 (x_{i+1} - x_i^2) and 1 - x_i. */
int so_problem_rosenbrock(so_problem *p, size_t n);

/* Nonlinear equations: f = |F(x)|^power with F: R^n -> R^k given by a callback writing
 * F (k values) and its Jacobian (k x n, row-major, when J is not NULL), and returning 0
 * or a status. power >= 1. Provides GAUSS_NEWTON = J^T (d^2 l) J for l(y) = |y|^power,
 * that is power |F|^(power-2) J^T J + power (power-2) |F|^(power-4) (J^T F)(J^T F)^T.
 * At F = 0 it is 2 J^T J for power 2, 0 above, and SO_ERR_NONFINITE below 2. f_star is
 * NaN because a root is not known to exist. */
typedef int (*so_residual_fn)(void *user, const double *x, double *F, double *J);
int so_problem_nonlinear_equations(so_problem *p, size_t n, size_t k, so_residual_fn F,
                                   void *user, double power);

/* Equality-constrained test problems coded from their published definitions, each with
 * its standard starting point and known solution. HS6, HS7 and HS28 come from Hock and
 * Schittkowski 1981, BT2 from Boggs and Tolle 1989, and BOOTH is the linear system of
 * the CUTEst set. */
int so_problem_hs6(so_problem *p);
int so_problem_hs7(so_problem *p);
int so_problem_hs28(so_problem *p);
int so_problem_bt2(so_problem *p);
int so_problem_booth(so_problem *p);

/* Constrained logistic regression: the logistic loss of so_problem_logistic (no
 * intercept, l2 = 0) subject to A w = b with `rows` Gaussian rows (A, b drawn from
 * Philox stream (seed, 0)) and |w|^2 = 1, so m = rows + 1. */
int so_problem_constrained_logistic(so_problem *p, const so_dataset *ds, size_t rows,
                                    uint64_t seed);

/* PDE-constrained optimal control, the test problem of Hong, Na, Mahoney and Kolar
 * (2023): an N x N interior grid of spacing h = 2/(N+1), state u and control z
 * (n = 2 N^2, column-major grids), f = 1/2 |u - u_target|^2 + 0.1/2 |z|^2 (plain
 * Euclidean norms), constraint the linear five-point Poisson equation
 * Laplace_h(u) + z = 0 with u = 0 on the boundary (m = N^2), start x0 = (1, ..., 1).
 * docs/constrained/adasketch.md states the target. */
int so_problem_pde_control(so_problem *p, size_t N);

#ifdef __cplusplus
}
#endif

#endif
