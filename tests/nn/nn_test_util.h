/* Helpers shared by the nn tests: random arrays, float conversion and error measures. */
#ifndef STOCHOPT_TESTS_NN_UTIL_H
#define STOCHOPT_TESTS_NN_UTIL_H

#include <math.h>
#include <stddef.h>

#include "stochopt/core.h"

/* Fills v[0..n-1] uniformly on [lo, hi). */
static inline void fill_uniform(so_rng *rng, double *v, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * so_rng_uniform(rng);
}

static inline void to_float(const double *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

static inline void to_double(const float *src, double *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (double)src[i];
}

static inline double max_abs(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* Largest entrywise error of `got` against `want`, each relative to the larger of
 * |want[i]| and floor * max|want|; the floor keeps entries near zero from dividing by
 * almost nothing. */
static inline double max_relative_error(const double *got, const double *want, size_t n,
                                        double floor)
{
    const double scale = floor * max_abs(want, n);
    double worst = 0.0;

    for (size_t i = 0; i < n; i++) {
        double denom = fabs(want[i]) > scale ? fabs(want[i]) : scale;
        double err = denom > 0.0 ? fabs(got[i] - want[i]) / denom : fabs(got[i]);
        worst = err > worst ? err : worst;
    }
    return worst;
}

#endif
