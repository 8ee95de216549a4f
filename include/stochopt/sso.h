/* Stochastic surrogate optimization (SSO) with target-based surrogates, after Lavington
 * et al., "Target-based surrogates for stochastic optimization" (ICML 2023), for linear
 * models f_theta(x) = x . w (+ b) with the squared or the logistic loss, together with
 * the SGD and SLS baselines on the same batches and counters.
 *
 * Conventions. Row i has features x_i and target y_i, the model output (the target, in
 * the paper's words) is z_i = x_i . w + b, and the per-row loss is
 *   squared:  l(z, y) = (z - y)^2 / 2                  (l'' = 1)
 *   logistic: l(z, y) = log(1 + exp(-y z)), y = +-1    (0 < l'' <= 1/4)
 *   softmax:  l(z, y) = log(sum_c exp(z_c)) - z_y       (Hessian norm <= 1/2)
 * The softmax model has k outputs per row, z = W^T x + b, and (f - z) products below
 * run over all k outputs.
 * The loss of a batch B of b rows is the mean L_B(z) = (1/b) sum_{i in B} l(z_i, y_i).
 * One outer step of SSO computes z_t = X_B theta_t and the loss derivatives l'(z_t)
 * (the one expensive gradient of the step), then takes m cheap steps on the surrogate
 *   g_t(theta) = (1/b) sum_{i in B} [ l(z_ti) + l'(z_ti) (f_i - z_ti)
 *                                     + (f_i - z_ti)^2 / (2 eta) ],   f = X_B theta.
 * This is the paper's surrogate l(z) + <grad l(z), f - z> + ||f - z||^2 / (2 eta) for
 * the summed loss, divided by b, so eta is a step in target space that does not depend
 * on the batch size. For the full batch and eta <= 1/L, with L = 1 (squared), 1/4
 * (logistic) or 1/2 (softmax), g_t is an upper bound on the full loss that touches it at theta_t.
 * The minimizer of g_t is the least-squares fit of X_B theta to z_t - eta l'(z_t), so
 * SSO is projected SGD in target space. The authors' code uses
 * mean((l'/eta_code) f + (f - z)^2) with a loss averaged over the batch, so its eta_code
 * is about 1 / (2 eta) up to batch-size factors.
 *
 * The surrogate's gradient is X_B^T r with r_i = (l'(z_ti) + (f_i - z_ti) / eta) / b: a
 * model evaluation and a Jacobian-transpose product, but no loss derivative. At
 * theta = theta_t it equals the batch gradient (1/b) X_B^T l'(z_t), so SSO with m = 1
 * and an inner gradient step alpha takes exactly the SGD step with learning rate alpha
 * (bit for bit, tests/sso/test_sso_equivalence.c). docs/optim/sso.md has the
 * reproduction. */
#ifndef STOCHOPT_SSO_H
#define STOCHOPT_SSO_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/data.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum so_sso_loss {
    SO_SSO_SQUARED = 0,  /* (z - y)^2 / 2 */
    SO_SSO_LOGISTIC = 1, /* log(1 + exp(-y z)), targets +-1 */
    SO_SSO_SOFTMAX = 2   /* log(sum_c exp(z_c)) - z_y over k >= 2 classes */
} so_sso_loss;

/* Largest number of classes for SO_SSO_SOFTMAX. */
#define SO_SSO_MAX_CLASSES 1000

/* A linear regression or classification problem in double precision: n rows of d
 * features, stored dense (row-major) or in compressed sparse rows, with one target per
 * row. The parameters form a q x k row-major matrix theta, with q = d (+ 1 for the
 * intercept, stored in the last row) and k outputs (1, or the number of classes for the
 * softmax loss): theta[j * k + c] is the weight of feature j for output c. */
typedef struct so_sso_problem so_sso_problem;

/* Creates a problem from a dense row-major n x d matrix x and n targets y. Both are
 * copied. For the logistic loss every target must be -1 or +1, or every target 0 or 1
 * (0 becomes -1). For the softmax loss the k distinct target values, in increasing
 * order, become classes 0..k-1, with 2 <= k <= SO_SSO_MAX_CLASSES. Returns
 * SO_ERR_INVALID for NULL pointers, n or d of 0 or invalid targets, and
 * SO_ERR_NONFINITE when x or y contains NaN or infinity. */
int so_sso_problem_new(so_sso_problem **out, size_t n, size_t d, const double *x,
                       const double *y, so_sso_loss loss, int intercept);

/* Creates a problem from a loaded dataset (so_dataset_read). Sparse rows without
 * standardization stay sparse. Other kinds are gathered with so_dataset_gather (which
 * applies u8_scale and any standardization) into dense rows. Targets follow the rules
 * of so_sso_problem_new. */
int so_sso_problem_from_dataset(so_sso_problem **out, const so_dataset *ds,
                                so_sso_loss loss, int intercept);

void so_sso_problem_free(so_sso_problem **p);

size_t so_sso_problem_rows(const so_sso_problem *p);
/* Number of parameters q * k: (d, plus 1 with an intercept) times the outputs. */
size_t so_sso_problem_params(const so_sso_problem *p);
/* Outputs per row k: the number of classes for the softmax loss, else 1. */
size_t so_sso_problem_outputs(const so_sso_problem *p);

/* Computes the mean loss over all rows at theta into *loss, and its gradient into grad
 * (params values) when grad is not NULL. Returns SO_ERR_NONFINITE when the loss is
 * not finite. */
int so_sso_full_loss(const so_sso_problem *p, const double *theta, double *loss,
                     double *grad);

/* Minimizes the full mean loss: the squared loss by LAPACKE_dgels (least squares), the
 * logistic and softmax losses by Newton's method with backtracking from theta = 0.
 * The softmax Newton system is singular and gets its minimum-norm solution. Newton
 * stops when the gradient's Euclidean norm is at most grad_tol, or after 100 steps with
 * SO_NOT_CONVERGED. Writes the minimizer to theta and its loss to *loss. The dense
 * Hessian needs params^2 doubles. Returns SO_ERR_NUMERIC when X is rank deficient or
 * the logistic Hessian is singular. Separable classes have no minimizer, and they end
 * with SO_NOT_CONVERGED or SO_ERR_NUMERIC. */
int so_sso_solve_full(const so_sso_problem *p, double grad_tol, double *theta,
                      double *loss);

typedef enum so_sso_method {
    SO_SSO_METHOD_SSO = 0, /* outer steps on target-based surrogates, m inner steps */
    SO_SSO_METHOD_SGD = 1, /* theta -= alpha * batch gradient */
    SO_SSO_METHOD_SLS = 2  /* SGD with an Armijo line search on the batch loss
                            * (Vaswani et al., NeurIPS 2019), starting from alpha at
                            * every step */
} so_sso_method;

typedef enum so_sso_inner {
    SO_SSO_INNER_GD = 0,    /* fixed step alpha on the surrogate */
    SO_SSO_INNER_ARMIJO = 1 /* Armijo backtracking on the surrogate, see alpha */
} so_sso_inner;

/* Step-size schedules over the outer steps t = 1, 2, ... of so_sso_run. */
typedef enum so_sso_schedule {
    SO_SSO_SCHEDULE_CONSTANT = 0, /* the same eta (SSO) or alpha (SGD, SLS) at every step */
    SO_SSO_SCHEDULE_SQRT = 1      /* outer step t uses eta / sqrt(t) for SSO, and
                                   * alpha / sqrt(t) as the SGD learning rate or the
                                   * first SLS trial step. The inner step alpha of SSO
                                   * stays fixed. */
} so_sso_schedule;

/* Options of so_sso_run. so_sso_options_default() returns the values in the comments. */
typedef struct so_sso_options {
    so_sso_method method;    /* SO_SSO_METHOD_SSO */
    size_t batch_size;       /* 25, and a value >= n uses every row, in file order */
    long outer_iters;        /* 100: outer steps of SSO, steps of SGD and SLS */
    long inner_steps;        /* m = 10 surrogate steps per outer step (SSO only) */
    double eta;              /* 1: target-space step of the surrogate (SSO only) */
    so_sso_inner inner;      /* SO_SSO_INNER_GD */
    double alpha;            /* 0.1: the inner step (SSO with GD), the learning rate
                              * (SGD), or the first trial step of every line search
                              * (SSO with Armijo at each outer step, SLS at each step) */
    double armijo_c;         /* 0.1: sufficient-decrease constant, in (0, 1) */
    double armijo_beta;      /* 0.5: backtracking factor, in (0, 1) */
    int armijo_max_backtracks; /* 50: when that many reductions fail, the step is skipped
                              * (SLS) or the inner loop ends (SSO) with theta unchanged */
    uint64_t seed;           /* 0: batches of epoch e are the so_batcher order (seed, e) */
    so_sso_schedule schedule; /* SO_SSO_SCHEDULE_CONSTANT: how eta (SSO) or alpha (SGD,
                              * SLS) changes over the outer steps */
} so_sso_options;

so_sso_options so_sso_options_default(void);

/* One history row, written before the first step (iteration 0) and after each outer
 * step. Counters are totals since the start of the run. */
typedef struct so_sso_record {
    long iteration;       /* outer steps done */
    long expensive_grads; /* loss derivatives l'(z) of a batch: one per outer step */
    long cheap_grads;     /* surrogate gradients X_B^T r (SSO inner steps) */
    long loss_evals;      /* batch loss evaluations by the SLS line search */
    long surrogate_evals; /* surrogate evaluations by the inner Armijo search */
    double step;          /* last accepted step size (inner step for SSO), or 0 at the
                           * start and after a line search that found no step */
    double loss;          /* mean loss over all n rows at the current theta */
} so_sso_record;

/* Summary of a run. */
typedef struct so_sso_result {
    long iterations;      /* outer steps done */
    long expensive_grads;
    long cheap_grads;
    long loss_evals;
    long surrogate_evals;
    double loss;          /* full mean loss at the returned theta */
    size_t history_count; /* rows written to history */
} so_sso_result;

/* Runs options->method from theta (params values, updated in place). When history is
 * not NULL, rows 0..min(outer_iters, capacity - 1) of the run are written to it. Each
 * row computes the full loss, which costs one pass over the data and is not counted.
 * result may be NULL. The same problem, options, start and seed
 * give the same theta and history bit for bit with a fixed BLAS build.
 * Returns SO_OK, SO_ERR_INVALID for bad arguments or options, SO_ERR_NOMEM, or
 * SO_ERR_NONFINITE when a loss derivative, theta or the full loss becomes NaN or
 * infinite. After a failed step theta and history hold the state before that step, the
 * counters in result include the failed step's work, and result->loss is NaN. */
int so_sso_run(const so_sso_problem *p, const so_sso_options *options, double *theta,
               so_sso_record *history, size_t history_capacity, so_sso_result *result);

#ifdef __cplusplus
}
#endif

#endif
