/* Consensus point, effective sample size and the alpha that reaches a target size. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "stochopt/global.h"

/* Smallest finite value, or +inf when there is none. */
static double finite_min(size_t n, const double *fx)
{
    double m = INFINITY;
    for (size_t j = 0; j < n; j++)
        if (fx[j] < m)
            m = fx[j];
    return m;
}

/* The weights are shifted by the minimum (a Laplace-principle trick that leaves v
 * unchanged): the best point always has weight 1, so the sum never underflows to 0 and
 * no weight overflows, however large the values or alpha are. */
int so_cbo_consensus(size_t n, size_t d, const double *x, const double *fx, double alpha,
                     double *v)
{
    double fmin = finite_min(n, fx), wsum = 0;
    if (fmin == INFINITY)
        return so_fail_(SO_ERR_NUMERIC,
                        "consensus: all %zu points have f = +inf; at least one point must be "
                        "evaluable", n);
    memset(v, 0, d * sizeof *v);
    for (size_t j = 0; j < n; j++) {
        if (fx[j] == INFINITY)
            continue;
        double w = exp(-alpha * (fx[j] - fmin));
        wsum += w;
        for (size_t i = 0; i < d; i++)
            v[i] += w * x[j * d + i];
    }
    for (size_t i = 0; i < d; i++)
        v[i] /= wsum;
    return SO_OK;
}

double so_cbo_ess(size_t n, const double *fx, double alpha)
{
    double fmin = finite_min(n, fx), s1 = 0, s2 = 0;
    if (fmin == INFINITY)
        return 0.0;
    for (size_t j = 0; j < n; j++) {
        if (fx[j] == INFINITY)
            continue;
        double w = exp(-alpha * (fx[j] - fmin));
        s1 += w;
        s2 += w * w;
    }
    return s1 * s1 / s2;
}

/* Bisection on alpha: the effective size falls from the number of evaluable points at
 * alpha = 0 to the number of minimizers as alpha grows. Fixing the size is the adaptive
 * alpha of Carrillo, Hoffmann, Stuart and Vaes 2022 (consensus-based sampling). 60
 * halvings resolve alpha to alpha_max * 2^-60. */
double so_cbo_alpha_for_ess(size_t n, const double *fx, double target, double alpha_max)
{
    double goal = target * (double)n, lo = 0.0, hi = alpha_max;
    if (so_cbo_ess(n, fx, alpha_max) >= goal)
        return alpha_max;
    if (so_cbo_ess(n, fx, 0.0) <= goal)
        return 0.0;
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (so_cbo_ess(n, fx, mid) > goal)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}
