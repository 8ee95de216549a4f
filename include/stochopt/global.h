/* Global derivative-free optimization: consensus-based optimization (CBO) and the usual
 * test functions for it. */
#ifndef STOCHOPT_GLOBAL_H
#define STOCHOPT_GLOBAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Evaluates n points x[i*d .. i*d+d-1] into f[0..n-1]. A value of +INFINITY marks a point
 * that could not be evaluated (it gets zero weight). Returns 0 on success, a positive
 * value to mark every point of this batch as not evaluated, and a negative value to stop
 * the optimization, which then returns SO_ERR_CALLBACK. May run from several threads at
 * once when so_cbo_config.threads > 1. */
typedef int (*so_batch_objective_fn)(void *user, size_t n, size_t d, const double *x,
                                     double *f);

/* ---- Test functions. All have their global minimum 0 at the origin, except Rosenbrock,
 * whose minimum 0 is at (1, ..., 1). */

typedef enum so_testfun {
    SO_TESTFUN_SPHERE,     /* sum x_i^2 */
    SO_TESTFUN_RASTRIGIN,  /* 10 d + sum (x_i^2 - 10 cos(2 pi x_i)) */
    SO_TESTFUN_ACKLEY,     /* -20 exp(-0.2 rms(x)) - exp(mean cos(2 pi x_i)) + 20 + e */
    SO_TESTFUN_ROSENBROCK, /* sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 */
    SO_TESTFUN_GRIEWANK    /* 1 + sum x_i^2 / 4000 - prod cos(x_i / sqrt(i)) */
} so_testfun;

/* Returns the function named "sphere", "rastrigin", "ackley", "rosenbrock" or
 * "griewank", or -1 for an unknown name. */
int so_testfun_from_name(const char *name);
const char *so_testfun_name(so_testfun fn);
/* Returns the value at one point of dimension d >= 1. */
double so_testfun_eval(so_testfun fn, size_t d, const double *x);
/* Writes the global minimizer (d values). */
void so_testfun_minimizer(so_testfun fn, size_t d, double *x);
/* A so_batch_objective_fn whose user pointer is a `const so_testfun *`. */
int so_testfun_batch(void *user, size_t n, size_t d, const double *x, double *f);

/* ---- Consensus-based optimization (Pinnau et al. 2017; Carrillo et al. 2021 for the
 * anisotropic noise; Riedl et al. 2023 for consensus hopping). Each particle moves by
 * the Euler-Maruyama step
 *   X <- X - lambda dt (X - v) + sigma sqrt(dt) D(X - v) xi,  xi ~ N(0, I),
 * towards the consensus point v = sum_j w_j X_j / sum_j w_j, w_j = exp(-alpha f(X_j)).
 * D(u) = |u| I (isotropic) or diag(u) (anisotropic). This is the CBXpy convention for
 * sigma; papers that write sqrt(2) sigma use a sigma smaller by sqrt(2). */

typedef enum so_cbo_scheme {
    SO_CBO_EULER_MARUYAMA, /* the particle dynamics above */
    SO_CBO_HOPPING         /* x_{k+1} = v of N samples from N(x_k, sigma^2 I) */
} so_cbo_scheme;

typedef enum so_cbo_noise { SO_CBO_ISOTROPIC, SO_CBO_ANISOTROPIC } so_cbo_noise;

typedef enum so_cbo_alpha {
    SO_CBO_ALPHA_FIXED,  /* alpha stays at its initial value */
    SO_CBO_ALPHA_GROWTH, /* alpha <- min(alpha * alpha_growth, alpha_max) after each step */
    SO_CBO_ALPHA_ESS     /* alpha chosen each step so that the effective sample size
                          * (sum w)^2 / sum w^2 equals ess_target * N, capped at alpha_max */
} so_cbo_alpha;

typedef enum so_cbo_stop {
    SO_CBO_STOP_STEPS,     /* max_steps updates done */
    SO_CBO_STOP_EVALS,     /* the next step would exceed max_evals */
    SO_CBO_STOP_ENERGY,    /* the best value found is <= energy_tol */
    SO_CBO_STOP_CONSENSUS  /* the consensus point moved less than consensus_tol */
} so_cbo_stop;

typedef struct so_cbo_config {
    size_t dim;             /* dimension of the search space */
    size_t particles;       /* N (default 40) */
    size_t batch;           /* random batches of this many particles share a consensus
                             * point each step; 0 uses all N (default 0) */
    so_cbo_scheme scheme;   /* default SO_CBO_EULER_MARUYAMA */
    so_cbo_noise noise;     /* default SO_CBO_ANISOTROPIC */
    double lambda;          /* drift rate (default 1) */
    double sigma;           /* noise scale (default 5.1); the sampling std for hopping */
    double dt;              /* time step (default 0.01) */
    so_cbo_alpha alpha_mode;/* default SO_CBO_ALPHA_GROWTH */
    double alpha;           /* initial alpha (default 1) */
    double alpha_growth;    /* factor per step for SO_CBO_ALPHA_GROWTH (default 1.05) */
    double alpha_max;       /* cap (default 1e5) */
    double ess_target;      /* fraction of N in (0, 1] for SO_CBO_ALPHA_ESS (default 0.5) */
    double init_lo, init_hi;/* start uniform on [init_lo, init_hi]^dim (default -3, 3) */
    const double *init_center; /* if not NULL, start from N(init_center, init_std^2 I) */
    double init_std;
    long max_steps;         /* updates per run (default 1000) */
    long max_evals;         /* evaluations per run, 0 for no limit (default 0) */
    double energy_tol;      /* stop when the best value is <= this (default -INFINITY) */
    double consensus_tol;   /* stop when |v_k - v_{k-1}|_2 < this; 0 disables (default) */
    long runs;              /* independent runs (default 1) */
    uint64_t seed;          /* run r uses the random stream (seed, r) */
    int threads;            /* runs in parallel on this many OpenMP threads (default 1);
                             * results do not depend on it */
} so_cbo_config;

so_cbo_config so_cbo_config_default(size_t dim);

typedef struct so_cbo_run {
    double f_best;       /* smallest value seen by any particle */
    double f_consensus;  /* value at the final consensus point */
    double alpha;        /* alpha at the end */
    long steps;          /* updates done */
    long evals;          /* objective evaluations, including the final consensus point */
    so_cbo_stop stop;
} so_cbo_run;

typedef struct so_cbo_result {
    size_t runs, dim;
    double *x_best;      /* runs x dim: best particle of each run */
    double *x_consensus; /* runs x dim: final consensus point of each run */
    so_cbo_run *run;     /* runs entries */
} so_cbo_result;

int so_cbo_result_new(size_t runs, size_t dim, so_cbo_result **out);
void so_cbo_result_free(so_cbo_result **res);

/* Runs cfg->runs independent CBO runs on f. res must come from so_cbo_result_new with
 * the same runs and dim. Returns SO_OK, SO_ERR_INVALID for a bad configuration,
 * SO_ERR_NONFINITE when f returns NaN or -inf, SO_ERR_NUMERIC when no particle of a step
 * could be evaluated, or SO_ERR_CALLBACK when f asked to stop. */
int so_cbo_minimize(const so_cbo_config *cfg, so_batch_objective_fn f, void *user,
                    so_cbo_result *res);

/* Consensus point of n points x (n x d) with values fx: v = sum w_j x_j / sum w_j,
 * w_j = exp(-alpha (fx_j - min fx)). Subtracting the minimum keeps the largest weight at
 * 1, so values of any size neither overflow nor underflow every weight. Points with
 * fx = +inf get weight 0. Returns SO_ERR_NUMERIC when all values are +inf. */
int so_cbo_consensus(size_t n, size_t d, const double *x, const double *fx, double alpha,
                     double *v);

/* Effective sample size (sum w)^2 / sum w^2 of the weights above, in [1, n]. */
double so_cbo_ess(size_t n, const double *fx, double alpha);

/* The alpha in [0, alpha_max] whose effective sample size is target * n (bisection; the
 * size decreases with alpha). Returns alpha_max when even that keeps the size above. */
double so_cbo_alpha_for_ess(size_t n, const double *fx, double target, double alpha_max);

#ifdef __cplusplus
}
#endif

#endif
