/* Stochastic differential equations: Brownian paths from the counter-based generator and
 * fixed-step schemes for dX = f(t, X) dt + g(t, X) dW with m-dimensional noise. */
#ifndef STOCHOPT_SDE_H
#define STOCHOPT_SDE_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Brownian paths queryable at any time.
 * Each of the `dim` components is an independent Brownian motion on [t0, t1] with
 * W(t0) = 0, stored as a binary tree of Brownian bridges: the root draws W(t1) and the
 * space-time Levy area of [t0, t1], and each split of an interval into halves draws two
 * normals from Philox4x32-10 at counter (node id, component, path) under key `seed`.
 * A query walks from the root to the time, so W(t) depends only on (seed, path, t) and
 * not on which times were requested before or in what order. Memory is O(1) and a query
 * costs at most `depth` Philox blocks per component.
 * Resolution: times on the dyadic grid t0 + k (t1 - t0) / 2^depth are exact samples.
 * Between grid points the path is the conditional mean given the finest cell's increment
 * and Levy area (a cubic in time), so increments over intervals shorter than
 * (t1 - t0) / 2^depth have too little variance. Choose depth >= log2 of the number of
 * steps of the finest solver grid. The split formulas come from conditioning the joint
 * Gaussian law of the two halves' increments and Levy areas on those of the whole
 * interval (derivation in src/sde/brownian.c). */

typedef struct so_brownian so_brownian;

/* The largest tree depth, because double precision cannot distinguish cells finer than
 * (t1 - t0) / 2^52. */
#define SO_BROWNIAN_MAX_DEPTH 52

/* Creates a path of `dim` components on [t0, t1] with t0 < t1 finite, 1 <= depth <=
 * SO_BROWNIAN_MAX_DEPTH and 1 <= dim <= UINT32_MAX. `seed` and `path` select the path:
 * paths with a different seed or path index are independent. */
int so_brownian_new(size_t dim, double t0, double t1, int depth, uint64_t seed,
                    uint32_t path, so_brownian **out);
void so_brownian_free(so_brownian **b);

/* Switches an existing object to another path without reallocating. */
void so_brownian_set_path(so_brownian *b, uint64_t seed, uint32_t path);

size_t so_brownian_dim(const so_brownian *b);

/* Writes W(t) - W(t0) for every component into w[0..dim-1]. Returns SO_ERR_RANGE when t
 * lies outside [t0, t1]. */
int so_brownian_value(const so_brownian *b, double t, double *w);

/* Writes the increments dw[j] = W_j(u) - W_j(s) and, when dz is not NULL, the time
 * integrals dz[j] = int_s^u (W_j(r) - W_j(s)) dr (often written Delta Z, the double
 * integral I_(j,0)), both from the same path. Needs t0 <= s <= u <= t1. */
int so_brownian_increment(const so_brownian *b, double s, double u, double *dw, double *dz);

/* ---- SDE systems: X has n components and W has m components. */

/* Structure of the diffusion g, which decides its storage and what Milstein needs. */
typedef enum so_sde_noise {
    SO_SDE_NOISE_GENERAL,     /* g is n x m, row-major g[i*m + j]; no Milstein */
    SO_SDE_NOISE_DIAGONAL,    /* m = n and g_ij = 0 for i != j; g stores the n values g_ii */
    SO_SDE_NOISE_COMMUTATIVE, /* g is n x m and L^j g_k = L^k g_j for all j, k */
    SO_SDE_NOISE_ADDITIVE     /* g is n x m and depends on t only, not on x */
} so_sde_noise;

/* Each callback returns 0 on success and a negative value to stop the integration, which
 * then returns SO_ERR_CALLBACK. */

/* Writes the drift f(t, x) into f[0..n-1]. */
typedef int (*so_sde_drift_fn)(void *user, double t, const double *x, double *f);

/* Writes the diffusion g(t, x) in the layout of the noise structure (n values for
 * diagonal noise, n*m otherwise). */
typedef int (*so_sde_diffusion_fn)(void *user, double t, const double *x, double *g);

/* Writes the products of the Jacobian of g with g that Milstein needs, given g = g(t, x):
 *  - diagonal noise: n values, lg[i] = g_i dg_i/dx_i;
 *  - commutative noise: m*m*n values, lg[(j*m + k)*n + i] = (L^j g_k)_i
 *    = sum_l g_lj dg_ik/dx_l, the derivative of column k along column j. */
typedef int (*so_sde_diffusion_jvp_fn)(void *user, double t, const double *x,
                                       const double *g, double *lg);

typedef struct so_sde_system {
    size_t n;                  /* state dimension, >= 1 */
    size_t m;                  /* noise dimension, >= 1 */
    so_sde_noise noise;
    so_sde_drift_fn drift;     /* required */
    so_sde_diffusion_fn diffusion; /* required */
    so_sde_diffusion_jvp_fn diffusion_jvp; /* required by the Milstein schemes only */
    void *user;                /* passed to every callback */
} so_sde_system;

/* Fixed-step schemes. Strong orders are for smooth coefficients, and docs/sde.md lists
 * the measured slopes. */
typedef enum so_sde_scheme {
    /* Ito. Strong order 1/2 (1 for additive noise) and weak order 1. */
    SO_SDE_EULER_MARUYAMA,
    /* Ito. Strong order 1 for diagonal and commutative noise, without Levy areas. */
    SO_SDE_MILSTEIN,
    /* Stratonovich. Euler-Heun: predictor x + g dW, then the mean of the two diffusions.
     * Strong order 1 for commutative noise, 1/2 in general. */
    SO_SDE_EULER_HEUN,
    /* Stratonovich Milstein: as SO_SDE_MILSTEIN without the -h/2 L^j g_j correction. */
    SO_SDE_MILSTEIN_STRATONOVICH,
    /* SRA1 of A. Roessler (SIAM J. Numer. Anal. 48, 2010), derivative-free and of strong
     * order 3/2 for additive noise. Needs dz. */
    SO_SDE_SRA1
} so_sde_scheme;

/* Returns "euler-maruyama", "milstein", "euler-heun", "milstein-stratonovich" or
 * "sra1", or NULL for an unknown value. */
const char *so_sde_scheme_name(so_sde_scheme scheme);

/* A stepper: a validated copy of the system and the scratch arrays of every scheme. */
typedef struct so_sde so_sde;

int so_sde_new(const so_sde_system *system, so_sde **out);
void so_sde_free(so_sde **s);

/* Advances x (n values) in place by one step from t to t + h with the given Brownian
 * increments dw[0..m-1] and, for SO_SDE_SRA1 only, dz[0..m-1] with
 * dz[j] = int_t^{t+h} (W_j(r) - W_j(t)) dr (NULL is fine for other schemes). On failure
 * x may be partly updated. Rejects a scheme that the noise structure does not support,
 * such as Milstein with general noise, which would need Levy areas. */
int so_sde_step(so_sde *s, so_sde_scheme scheme, double t, double h, const double *dw,
                const double *dz, double *x);

/* Called after step `step` (0 for the initial state) with the state at time t. Returns 0
 * to continue and a negative value to stop, which makes so_sde_solve return
 * SO_ERR_CALLBACK. */
typedef int (*so_sde_observe_fn)(void *user, size_t step, double t, const double *x);

/* Integrates x from t0 to t1 in `steps` equal steps, with increments taken from the
 * path w, which must have m components and cover [t0, t1]. Step k ends at
 * t0 + (k + 1) (t1 - t0) / steps, and the last step ends exactly at t1. `observe` may be
 * NULL. Returns SO_ERR_NONFINITE, naming the step, when the state stops being finite. */
int so_sde_solve(so_sde *s, so_sde_scheme scheme, const so_brownian *w, double t0, double t1,
                 size_t steps, double *x, so_sde_observe_fn observe, void *observe_user);

/* ---- Adaptive time stepping along a Brownian path.
 * Each step computes a higher-order solution and an embedded lower-order one from the
 * same increments, and their difference is the error estimate:
 *  - SO_SDE_MILSTEIN and SO_SDE_MILSTEIN_STRATONOVICH (diagonal or commutative noise):
 *    Milstein against Euler-Maruyama, whose difference 1/2 sum_jk L^j g_k (dW_j dW_k -
 *    delta_jk h) (Ito) is of size h. The controller treats the estimate as O(h^1).
 *  - SO_SDE_SRA1 (additive noise): SRA1 against Euler-Maruyama, a difference of size
 *    h^(3/2), treated as O(h^(3/2)).
 * The solution advances with the higher-order result. A rejected step is retried with
 * a smaller step on the same so_brownian path. The tree returns W(t) as a function of t
 * alone, so the retry uses the same Brownian path, and the result does not depend on
 * which steps were tried before. */

typedef struct so_sde_adaptive_options {
    double rtol;       /* relative tolerance, default 1e-3 */
    double atol;       /* absolute tolerance, default 1e-6 */
    double dt;         /* first step, where 0 selects (t1 - t0) / 100 */
    double dt_min;     /* smallest step the controller may choose, where 0 selects the
                        * finest cell of the Brownian path, (path t1 - path t0) / 2^depth.
                        * A smaller value is rejected, because the tree has too little
                        * variance below one cell. */
    double dt_max;     /* largest step, where 0 means t1 - t0 */
    double safety;     /* controller safety factor, default 0.9 */
    double beta1;      /* PI exponent on the current error, 0 means 0.7 / q */
    double beta2;      /* PI exponent on the previous error, 0 means 0.4 / q, where q is
                        * the order of the estimate (1 or 3/2, see above) */
    double factor_min; /* smallest step-size ratio, default 0.2 */
    double factor_max; /* largest step-size ratio, default 5 */
    long max_steps;    /* attempted steps (accepted and rejected) before the solve stops
                        * with SO_NOT_CONVERGED, default 1000000 */
} so_sde_adaptive_options;

so_sde_adaptive_options so_sde_adaptive_options_default(void);

/* Counters of one so_sde_solve_adaptive call. */
typedef struct so_sde_adaptive_stats {
    long accepted;     /* accepted steps */
    long rejected;     /* steps rejected by the error test */
    long nfev;         /* drift evaluations */
    long ngev;         /* diffusion evaluations */
    double dt_smallest; /* smallest accepted step that the controller chose, or 0 if
                         * none. Steps cut short to land on a save time or t1 are not
                         * counted. */
    double t;          /* time reached: t1 on success */
} so_sde_adaptive_stats;

/* Integrates x (n values) from t0 to t1 with adaptive steps on the path w, which must
 * have m components and cover [t0, t1]. The scaled error of a step is the root mean
 * square over i of est_i / (atol + rtol max(|x_i|, |x_new_i|)), and a step is accepted
 * when it is at most 1. The next step is h times the factor
 * safety * E^(-beta1) * E_prev^(beta2), which is clamped to [factor_min, factor_max] and
 * to at most 1 right after a rejection.
 * Steps are shortened to land exactly on each of the n_save times t_save[0..n_save-1],
 * which must be nondecreasing and lie in [t0, t1]. The state at t_save[k] is written
 * to x_save[k*n .. k*n + n - 1] (x_save may be NULL only when n_save = 0). `observe`, if
 * not NULL, is called at t0 and after every accepted step, with the step count.
 * `options` and `stats` may be NULL. Returns SO_ERR_UNSUPPORTED for a scheme without an
 * embedded pair (Euler-Maruyama, Euler-Heun) or a noise structure the pair does not
 * support, SO_ERR_NUMERIC when the error test fails at a step of dt_min, and
 * SO_NOT_CONVERGED after max_steps attempts. A step whose result is not finite counts
 * as rejected. */
int so_sde_solve_adaptive(so_sde *s, so_sde_scheme scheme, const so_brownian *w, double t0,
                          double t1, double *x, const so_sde_adaptive_options *options,
                          const double *t_save, size_t n_save, double *x_save,
                          so_sde_observe_fn observe, void *observe_user,
                          so_sde_adaptive_stats *stats);

/* Returns the width of the finest cell of the path, (t1 - t0) / 2^depth. Increments over
 * shorter intervals have too little variance. */
double so_brownian_resolution(const so_brownian *b);

/* ---- Markov-approximate fractional Brownian motion (MA-fBM), after P. Daems, M. Harms
 * et al. (2023). For Hurst index H in (0, 1),
 *   B^H(t) ~ B_hat(t) = sum_{k=1}^K w_k Y_k(t),  dY_k = -gamma_k Y_k dt + dW,
 * with one Brownian motion W shared by the K Ornstein-Uhlenbeck processes.
 * Type II (Riemann-Liouville) fBM is B(t) = (1/Gamma(H + 1/2)) int_0^t (t - s)^(H - 1/2)
 * dW(s), with Var B(t) = t^(2H) / (2H Gamma(H + 1/2)^2). Its approximation starts at
 * Y(0) = 0. Type I (Mandelbrot-van Ness) fBM has stationary increments and
 * Var B(t) = t^(2H) / (Gamma(2H + 1) sin(pi H)). Its approximation draws Y(0) from the
 * stationary law, Cov(Y_i, Y_j) = 1 / (gamma_i + gamma_j), and uses the increments
 * B_hat(t) = sum_k w_k (Y_k(t) - Y_k(0)). Both normalizations give standard Brownian
 * motion at H = 1/2. */

typedef enum so_mafbm_type {
    SO_MAFBM_TYPE_II, /* Riemann-Liouville, Y(0) = 0 */
    SO_MAFBM_TYPE_I   /* Mandelbrot-van Ness, stationary Y(0) and increments */
} so_mafbm_type;

/* Default number of OU processes and largest speed. */
#define SO_MAFBM_DEFAULT_K 5
#define SO_MAFBM_DEFAULT_GAMMA_MAX 20.0

/* Writes the regularized lower incomplete gamma function P(a, x) for a > 0 and x >= 0
 * (power series for x < a + 1, continued fraction otherwise). */
int so_gamma_p(double a, double x, double *p);

/* Writes the geometric speeds gamma_k = r^(k - (K + 1) / 2), k = 1..K, with
 * r = gamma_max^(2 / (K - 1)), so that gamma_K = gamma_max and gamma_1 = 1 / gamma_max.
 * K = 1 gives gamma_1 = 1. Needs gamma_max > 1 when K >= 2. */
int so_mafbm_gammas(size_t K, double gamma_max, double *gamma);

/* Writes the weights w[0..K-1] that minimize the time-averaged squared error
 * (1/T) int_0^T E (B(t) - B_hat(t))^2 dt on [0, T], and that minimum in *residual
 * (may be NULL). The normal equations A w = b are scaled to unit diagonal and solved in
 * double precision by three LAPACKE factorizations: Cholesky (dpotrf), Bunch-Kaufman
 * (dsytrf) and an eigendecomposition (dsyevd) truncated below 1e-15 of the largest
 * eigenvalue. Each solution gets mixed-precision iterative refinement with long-double
 * residuals, and the one with the smallest objective, evaluated in long double, is
 * returned. A grows worse conditioned with K. With the default speeds, the type II
 * residual is within 2e-7 (relative) of a 60-digit solution for K <= 7 and 3e-5 for
 * K = 8, but exceeds it by up to 27 % for K = 9 and 10 (docs/sde.md). The gamma_k must
 * be positive and distinct. */
int so_mafbm_weights(so_mafbm_type type, double H, double T, size_t K, const double *gamma,
                     double *w, double *residual);

/* Writes the normal equations of so_mafbm_weights: the K x K matrix A (row-major), the
 * vector b and the constant c, so that int_0^T E (B(t) - B_hat(t))^2 dt =
 * w^T A w - 2 b^T w + c. Any of A, b and c may be NULL. */
int so_mafbm_normal_equations(so_mafbm_type type, double H, double T, size_t K,
                              const double *gamma, double *A, double *b, double *c);

/* Writes the variance of fBM of the given type at time t >= 0. */
int so_mafbm_fbm_variance(so_mafbm_type type, double H, double t, double *var);

/* Writes Var B_hat(t) = w^T C(t) w, with C_ij = (1 - exp(-(g_i + g_j) t)) / (g_i + g_j)
 * for type II and C_ij = (2 - exp(-g_i t) - exp(-g_j t)) / (g_i + g_j) for type I. */
int so_mafbm_variance(so_mafbm_type type, size_t K, const double *gamma, const double *w,
                      double t, double *var);

/* Writes the mean squared error E (B(t) - B_hat(t))^2 at time t >= 0 between fBM with
 * Hurst index H and its approximation with the given speeds and weights, driven by the
 * same Brownian motion. Its time average over [0, T] is the residual. */
int so_mafbm_mse(so_mafbm_type type, double H, size_t K, const double *gamma,
                 const double *w, double t, double *mse);

/* Writes the initial OU state y0[0..K-1]: zeros for type II, and for type I a draw from
 * the stationary law N(0, S), S_ij = 1 / (gamma_i + gamma_j), using normals from rng.
 * S is a Cauchy matrix and badly conditioned, so it is factored after scaling to unit
 * diagonal, by Cholesky or, when that fails, by an eigendecomposition with negative
 * eigenvalues set to zero. */
int so_mafbm_initial(so_mafbm_type type, size_t K, const double *gamma, so_rng *rng,
                     double *y0);

/* Advances the K OU states y over one step of length h > 0 driven by the Brownian
 * increment dw = W(t + h) - W(t) and time integral dz = int_t^{t+h} (W(r) - W(t)) dr:
 *   y_k <- e^(-gamma_k h) y_k + alpha_k dw + beta_k dz,
 * where alpha_k dw + beta_k dz is the conditional mean of the exact noise term
 * int_t^{t+h} e^(-gamma_k (t + h - r)) dW(r) given (dw, dz). The update is exact in
 * mean, and its variance falls short of the exact OU variance by a relative amount of
 * order (gamma_k h)^4 / 720 (docs/sde.md gives the measured shortfall). */
int so_mafbm_ou_step(size_t K, const double *gamma, double h, double dw, double dz,
                     double *y);

/* Simulates the OU states on the one-component path `path` from t0 to t1 in `steps`
 * equal steps with so_mafbm_ou_step. y contains Y(t0) on entry and Y(t1) on return.
 * Writes B_hat(t1) - B_hat(t0) = sum_k w_k (Y_k(t1) - Y_k(t0)) into *db (may be NULL),
 * which is B_hat(t1) itself for type II started at zero. */
int so_mafbm_simulate(size_t K, const double *gamma, const double *w, const so_brownian *path,
                      double t0, double t1, size_t steps, double *y, double *db);

/* An SDE driven by MA-fBM, dX = f(t, X) dt + sigma(t, X) dB_hat(t), X in R^n. The
 * diffusion callback writes the n values sigma_i(t, x). */
typedef struct so_mafbm_sde {
    size_t n;                      /* state dimension, >= 1 */
    so_sde_drift_fn drift;         /* required */
    so_sde_diffusion_fn diffusion; /* required, n values */
    void *user;                    /* passed to both callbacks */
} so_mafbm_sde;

/* Integrates x from t0 to t1 in `steps` equal steps by the Euler scheme
 *   X <- X + f(t, X) h + sigma(t, X) (B_hat(t + h) - B_hat(t)),
 * where the OU states y (K values, Y(t0) on entry, Y(t1) on return) advance with
 * so_mafbm_ou_step on the one-component path `path`. Since dB_hat =
 * -(sum_k w_k gamma_k Y_k) dt + (sum_k w_k) dW, this is the Euler-Maruyama scheme of the
 * Markov system (X, Y) in R^(n + K), except that Y advances by its own update. */
int so_mafbm_sde_solve(const so_mafbm_sde *sys, size_t K, const double *gamma,
                       const double *w, const so_brownian *path, double t0, double t1,
                       size_t steps, double *y, double *x, so_sde_observe_fn observe,
                       void *observe_user);

#ifdef __cplusplus
}
#endif

#endif
