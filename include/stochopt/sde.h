/* Stochastic differential equations: Brownian paths from the counter-based generator and
 * fixed-step schemes for dX = f(t, X) dt + g(t, X) dW with m-dimensional noise. */
#ifndef STOCHOPT_SDE_H
#define STOCHOPT_SDE_H

#include <stddef.h>
#include <stdint.h>

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

#ifdef __cplusplus
}
#endif

#endif
