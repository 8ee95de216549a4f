/* Closed-form proximal operators, projections and the entropic mirror step. */
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include "stochopt/mirror.h"

void so_prox_l1(size_t n, const double *x, double t, double *out)
{
    for (size_t i = 0; i < n; i++) {
        double a = fabs(x[i]) - t;
        out[i] = a > 0 ? copysign(a, x[i]) : 0.0;
    }
}

void so_prox_l2sq(size_t n, const double *x, double t, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] / (1.0 + t);
}

void so_proj_box(size_t n, const double *x, double lo, double hi, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

static int descending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* The projection is max(x - theta, 0) where theta makes the result sum to radius; after
 * sorting, theta is fixed by the largest k with u_k > (sum_{i<=k} u_i - radius) / k. */
int so_proj_simplex(size_t n, const double *x, double radius, double *out)
{
    if (n == 0 || !(radius > 0) || !isfinite(radius))
        return so_fail_(SO_ERR_INVALID, "simplex projection: n = %zu, radius = %g; expected "
                        "n >= 1 and a finite radius > 0", n, radius);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return so_fail_(SO_ERR_INVALID, "simplex projection: x[%zu] = %g; expected finite "
                            "values", i, x[i]);
    double *u = malloc(n * sizeof *u), sum = 0, theta = 0;
    if (!u)
        return so_fail_(SO_ERR_NOMEM, "simplex projection: no memory for %zu values", n);
    for (size_t i = 0; i < n; i++)
        u[i] = x[i];
    qsort(u, n, sizeof *u, descending);
    for (size_t k = 0; k < n; k++) {
        sum += u[k];
        double t = (sum - radius) / (double)(k + 1);
        if (u[k] > t)
            theta = t;
    }
    free(u);
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] > theta ? x[i] - theta : 0.0;
    return SO_OK;
}

/* Multiplicative weights: the entropic Bregman step has the closed form
 * x_i exp(-eta g_i) / Z (Beck and Teboulle 2003). Shifting every exponent by the largest
 * keeps one factor at 1, so Z neither overflows nor underflows. */
void so_entropic_step(size_t n, const double *x, const double *g, double eta, double *out)
{
    double shift = -INFINITY, z = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i] > 0 && -eta * g[i] > shift)
            shift = -eta * g[i];
    for (size_t i = 0; i < n; i++) {
        out[i] = x[i] > 0 ? x[i] * exp(-eta * g[i] - shift) : 0.0;
        z += out[i];
    }
    for (size_t i = 0; i < n; i++)
        out[i] /= z;
}
