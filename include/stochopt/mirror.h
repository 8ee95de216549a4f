/* Stochastic mirror descent with composite terms: proximal operators, projections,
 * mirror maps, step-size schedules with last-iterate and averaged outputs, and noise
 * models for experiments. */
#ifndef STOCHOPT_MIRROR_H
#define STOCHOPT_MIRROR_H

#include <stddef.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Proximal operators and projections. Each accepts out == x. */

/* Soft threshold, the prox of t |x|_1: out_i = sign(x_i) max(|x_i| - t, 0). */
void so_prox_l1(size_t n, const double *x, double t, double *out);
/* Prox of (t / 2) |x|_2^2: out = x / (1 + t). */
void so_prox_l2sq(size_t n, const double *x, double t, double *out);
/* Clamps each x_i to [lo, hi]. */
void so_proj_box(size_t n, const double *x, double lo, double hi, double *out);
/* Euclidean projection onto {y >= 0, sum y = radius} by sorting (Held, Wolfe and Crowder
 * 1974): O(n log n). Returns SO_ERR_INVALID for radius <= 0 or a non-finite input,
 * SO_ERR_NOMEM when the sort buffer cannot be allocated. */
int so_proj_simplex(size_t n, const double *x, double radius, double *out);
/* Entropic mirror step on the simplex: out_i = x_i exp(-eta g_i) / sum_j x_j exp(-eta g_j),
 * computed with the largest exponent shifted to 0. x must be a point of the simplex. */
void so_entropic_step(size_t n, const double *x, const double *g, double eta, double *out);

/* ---- Composite stochastic mirror descent:
 *   x_{t+1} = argmin_x h(x) + <g_t, x> + D_psi(x, x_t) / eta_t. */

typedef enum so_mirror_map {
    SO_MIRROR_EUCLIDEAN, /* psi = |x|^2 / 2: a proximal gradient step */
    SO_MIRROR_ENTROPY    /* psi = sum x_i log x_i on the probability simplex */
} so_mirror_map;

typedef enum so_composite {
    SO_COMPOSITE_NONE,
    SO_COMPOSITE_L1,      /* h = reg |x|_1 */
    SO_COMPOSITE_L2SQ,    /* h = (reg / 2) |x|_2^2 */
    SO_COMPOSITE_BOX,     /* h = indicator of [lo, hi]^n */
    SO_COMPOSITE_SIMPLEX  /* h = indicator of {x >= 0, sum x = radius} */
} so_composite;

typedef enum so_step_rule {
    SO_STEP_CONSTANT,     /* eta_t = eta */
    SO_STEP_SQRT,         /* eta_t = min(1 / (2L), eta / sqrt t): convex, T unknown */
    SO_STEP_LINEAR_DECAY, /* eta_t = eta (T - t + 1) / T^{3/2}: Lipschitz, T known */
    SO_STEP_STRONG,       /* eta_t = min(1 / (2L), 1 / (mu t)): mu-strongly convex */
    SO_STEP_HEAVY_TAIL    /* eta_t = min(1 / (2L), eta / t^{1/p}): noise with a p-th moment */
} so_step_rule;

typedef struct so_smd_config {
    size_t dim;
    so_mirror_map map;        /* default SO_MIRROR_EUCLIDEAN */
    so_composite composite;   /* default SO_COMPOSITE_NONE */
    double reg;               /* weight of the l1 or l2^2 term */
    double lo, hi;            /* box bounds */
    double radius;            /* simplex radius (default 1) */
    so_step_rule rule;        /* default SO_STEP_SQRT */
    double eta;               /* base step (default 0.1) */
    double smooth_l;          /* L of the 1 / (2L) cap; 0 disables the cap (default) */
    double mu;                /* strong convexity for SO_STEP_STRONG */
    double p;                 /* moment order in (1, 2] for SO_STEP_HEAVY_TAIL */
    long horizon;             /* T for SO_STEP_LINEAR_DECAY */
} so_smd_config;

so_smd_config so_smd_config_default(size_t dim);

/* Returns the step size of step t (t = 1, 2, ...) under cfg's rule. */
double so_smd_step_size(const so_smd_config *cfg, long t);

typedef struct so_smd so_smd;

/* Starts at x0 (dim values). With the entropy map, x0 must lie in the relative interior
 * of the simplex of radius 1 (all entries > 0, sum 1). */
int so_smd_new(const so_smd_config *cfg, const double *x0, so_smd **out);
void so_smd_free(so_smd **s);
/* Takes one step with the stochastic (sub)gradient g of the smooth part at the current
 * iterate. Returns SO_ERR_NONFINITE for a non-finite g, leaving the state unchanged. */
int so_smd_step(so_smd *s, const double *g);
/* Return the last iterate x_t and the uniform average of x_1 .. x_t (both are x_0 before
 * the first step), and the number of steps taken. */
const double *so_smd_last(const so_smd *s);
const double *so_smd_average(const so_smd *s);
long so_smd_steps(const so_smd *s);

/* ---- Noise models for experiments */

typedef enum so_noise_kind {
    SO_NOISE_NONE,
    SO_NOISE_GAUSSIAN,  /* scale * N(0, 1) */
    SO_NOISE_STUDENT_T, /* scale * t_dof: moments of order < dof are finite, so
                         * 1 < p < dof <= 2 gives a p-th moment with infinite variance */
    SO_NOISE_LOMAX      /* symmetric Lomax: P(|xi| > s) = (1 + s / scale)^{-dof}, so
                         * E|xi|^q is finite exactly for q < dof */
} so_noise_kind;

typedef struct so_noise {
    so_noise_kind kind;
    double scale;
    double dof; /* degrees of freedom (Student-t) or tail index (Lomax) */
} so_noise;

/* Draws one value; successive calls are independent. */
double so_noise_draw(const so_noise *noise, so_rng *rng);
/* Draws a standard gamma variate of shape k > 0 (Marsaglia and Tsang 2000). */
double so_noise_gamma(so_rng *rng, double k);

#ifdef __cplusplus
}
#endif

#endif
