/* Online Newton step (Hazan, Agarwal and Kale 2007) with the generalized
 * projection onto a ball in the norm of A_t. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "online/online_internal.h"

/* Solves (A + lambda I) y = b by Cholesky; A is symmetric positive definite. */
static int solve_shifted(size_t n, const double *a, double lambda, const double *b,
                         double *l, double *y)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = a[i * n + j] + (i == j ? lambda : 0.0);
            for (size_t k = 0; k < j; k++)
                s -= l[i * n + k] * l[j * n + k];
            if (i == j && !(s > 0))
                return so_fail_(SO_ERR_NUMERIC, "ons: matrix not positive definite at "
                                "pivot %zu (%g); increase ons_eps", i, s);
            l[i * n + j] = i == j ? sqrt(s) : s / l[j * n + j];
        }
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= l[i * n + k] * y[k];
        y[i] = s / l[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        double s = y[i];
        for (size_t k = i + 1; k < n; k++)
            s -= l[k * n + i] * y[k];
        y[i] = s / l[i * n + i];
    }
    return SO_OK;
}

static double norm2(size_t n, const double *v)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* argmin_{|y| <= R} (y - z)' A (y - z): y(lambda) = (A + lambda I)^{-1} A z, whose norm
 * falls as lambda grows, so bisection finds |y| = R. The result is taken at the upper
 * end of the bracket, which keeps it inside the ball. */
static int project_ball_a_norm(so_online *o, const double *z, double *y)
{
    size_t n = o->cfg.dim;
    double r = o->cfg.radius, lo = 0, hi = 1, *az = o->work;
    int st;
    if (norm2(n, z) <= r) {
        memcpy(y, z, n * sizeof *y);
        return SO_OK;
    }
    for (size_t i = 0; i < n; i++) {
        az[i] = 0;
        for (size_t j = 0; j < n; j++)
            az[i] += o->a[i * n + j] * z[j];
    }
    for (;;) {
        if ((st = solve_shifted(n, o->a, hi, az, o->chol, y)) != SO_OK)
            return st;
        if (norm2(n, y) <= r)
            break;
        lo = hi;
        hi *= 2;
    }
    for (int it = 0; it < 100 && hi - lo > 1e-15 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if ((st = solve_shifted(n, o->a, mid, az, o->chol, y)) != SO_OK)
            return st;
        if (norm2(n, y) <= r)
            hi = mid;
        else
            lo = mid;
    }
    return solve_shifted(n, o->a, hi, az, o->chol, y);
}

/* A_t = A_{t-1} + g g'; its inverse by the Sherman-Morrison formula, then
 * x_{t+1} = P^{A_t}(x_t - A_t^{-1} g / gamma). */
int so_ons_update_(so_online *o, const double *g)
{
    size_t n = o->cfg.dim;
    double *u = o->tmp, denom = 1.0;
    for (size_t i = 0; i < n; i++) {
        u[i] = 0;
        for (size_t j = 0; j < n; j++)
            u[i] += o->ainv[i * n + j] * g[j];
        denom += g[i] * u[i];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            o->a[i * n + j] += g[i] * g[j];
            o->ainv[i * n + j] -= u[i] * u[j] / denom;
        }
    /* A_t^{-1} g = u / denom, from the same formula applied to g. */
    for (size_t i = 0; i < n; i++)
        u[i] = o->xhat[i] - u[i] / (denom * o->cfg.ons_gamma);
    if (o->cfg.domain == SO_DOMAIN_FREE) {
        memcpy(o->xhat, u, n * sizeof *u);
        return SO_OK;
    }
    double *y = o->work2;
    int st = project_ball_a_norm(o, u, y);
    if (st == SO_OK)
        memcpy(o->xhat, y, n * sizeof *y);
    return st;
}
