/* Online convex optimization: online gradient descent, optimistic mirror descent and
 * follow-the-regularized-leader with hints, and the online Newton step, with regret
 * bookkeeping. Each round the learner plays x_t, observes the gradient g_t of the round's
 * loss at x_t, and updates. */
#ifndef STOCHOPT_ONLINE_H
#define STOCHOPT_ONLINE_H

#include <stddef.h>

#include "stochopt/core.h"
#include "stochopt/mirror.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum so_online_method {
    SO_ONLINE_OGD,             /* x_{t+1} = P(x_t - eta_t g_t) (Zinkevich 2003) */
    SO_ONLINE_OPTIMISTIC_OMD,  /* play x_t = step from xhat_t with the hint M_t, then
                                * xhat_{t+1} = step from xhat_t with g_t (Rakhlin and
                                * Sridharan 2013; Chen et al. 2023 for the SEA model) */
    SO_ONLINE_OPTIMISTIC_FTRL, /* x_t = argmin <G_{t-1} + M_t, x> + psi(x) / eta_t */
    SO_ONLINE_ONS              /* online Newton step for exp-concave losses (Hazan, Agarwal
                                * and Kale 2007) */
} so_online_method;

typedef enum so_online_domain {
    SO_DOMAIN_FREE,   /* no constraint (Euclidean map only) */
    SO_DOMAIN_BALL,   /* |x|_2 <= radius */
    SO_DOMAIN_BOX,    /* lo <= x_i <= hi */
    SO_DOMAIN_SIMPLEX /* x >= 0, sum x = 1; the only domain of the entropy map */
} so_online_domain;

typedef enum so_online_step {
    SO_ONLINE_STEP_CONSTANT, /* eta_t = eta */
    SO_ONLINE_STEP_SQRT,     /* eta_t = eta / sqrt t */
    SO_ONLINE_STEP_ADAPTIVE  /* eta_t = D / sqrt(delta + 4 G^2 + sum_{s<t} |g_s - M_s|^2),
                              * with M_s = 0 for OGD and FTRL without hints */
} so_online_step;

typedef enum so_online_hint {
    SO_HINT_LAST_GRADIENT, /* M_t = g_{t-1} (M_1 = 0) */
    SO_HINT_ZERO,          /* M_t = 0 */
    SO_HINT_USER           /* M_t passed to so_online_predict */
} so_online_hint;

typedef struct so_online_config {
    size_t dim;
    so_online_method method;   /* default SO_ONLINE_OGD */
    so_mirror_map map;         /* SO_MIRROR_EUCLIDEAN (default) or SO_MIRROR_ENTROPY */
    so_online_domain domain;   /* default SO_DOMAIN_BALL */
    double radius;             /* ball radius (default 1) */
    double lo, hi;             /* box bounds */
    so_online_step step;       /* default SO_ONLINE_STEP_ADAPTIVE */
    double eta;                /* for the constant and sqrt rules (default 0.1) */
    double diameter;           /* D of the adaptive rule (default 2: the unit ball) */
    double grad_bound;         /* G of the adaptive rule (default 1) */
    double delta;              /* delta of the adaptive rule (default 1e-8) */
    so_online_hint hint;       /* for the optimistic methods (default last gradient) */
    double ons_gamma;          /* ONS step 1/gamma; gamma = min(1/(4 G D), alpha)/2 for
                                * alpha-exp-concave losses (default 0.5) */
    double ons_eps;            /* ONS initial matrix eps I (default 1) */
} so_online_config;

so_online_config so_online_config_default(size_t dim);

typedef struct so_online so_online;

/* Starts at x0 (dim values), projected onto the domain. */
int so_online_new(const so_online_config *cfg, const double *x0, so_online **out);
void so_online_free(so_online **o);

/* Writes the point x_t to play this round. `hint` is M_t for SO_HINT_USER (dim values)
 * and must be NULL otherwise. Calling it twice in one round is an SO_ERR_STATE. */
int so_online_predict(so_online *o, const double *hint, double *x);
/* Observes g_t, the gradient of this round's loss at the played x_t, and updates.
 * Returns SO_ERR_NONFINITE for a non-finite g, SO_ERR_STATE without a predict first. */
int so_online_update(so_online *o, const double *g);

long so_online_rounds(const so_online *o);
/* Returns the regret of the linearized losses <g_t, x>,
 *   sum_t <g_t, x_t> - min_{x in domain} <sum_t g_t, x>,
 * which bounds the true regret of convex losses from above. The minimum has a closed
 * form on the ball, box and simplex. The regret is +inf on the free domain unless the
 * gradient sum is zero. */
double so_online_linear_regret(const so_online *o);

/* Regret bookkeeping against a comparator: regret_t = sum_{s<=t} loss_s - comparator_s. */
typedef struct so_regret {
    long rounds;
    double learner;    /* sum of the learner's losses */
    double comparator; /* sum of the comparator's losses */
} so_regret;

/* Adds one round's losses. */
void so_regret_add(so_regret *r, double learner_loss, double comparator_loss);
double so_regret_value(const so_regret *r);

#ifdef __cplusplus
}
#endif

#endif
