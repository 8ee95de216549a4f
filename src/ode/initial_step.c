/* Automatic choice of the first step of an adaptive solve. */
#include <math.h>

#include "ode/ode_internal.h"

/* Scaled RMS norm of v with weights atol + rtol * |y|. */
static double scaled_norm(const so_ode *ode, const double *v)
{
    double sum = 0.0;
    for (size_t q = 0; q < ode->n; q++) {
        double r = v[q] / (ode->options.atol + ode->options.rtol * fabs(ode->y[q]));
        sum += r * r;
    }
    return sqrt(sum / (double)ode->n);
}

int so_ode_initial_step_(so_ode *ode, so_ode_rhs_fn rhs, void *user, double t0,
                         double t1, double *h, long *nfev)
{
    const size_t n = ode->n;
    const double span = fabs(t1 - t0), dir = t1 > t0 ? 1.0 : -1.0;
    const double *f0 = ode->k;
    double d0 = scaled_norm(ode, ode->y), d1 = scaled_norm(ode, f0);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    if (!(h0 <= span))
        h0 = span;
    for (;;) {
        for (size_t q = 0; q < n; q++)
            ode->y_stage[q] = ode->y[q] + dir * h0 * f0[q];
        double t_probe = h0 >= span ? t1 : t0 + dir * h0;
        (*nfev)++;
        int status = rhs(user, t_probe, ode->y_stage, ode->f_new);
        if (status < 0)
            return status;
        if (status == 0)
            break;
        h0 *= 0.5;
        if (!(h0 > 0.0))
            return status;
    }
    for (size_t q = 0; q < n; q++)
        ode->err[q] = (ode->f_new[q] - f0[q]) / h0;
    double d2 = scaled_norm(ode, ode->err);
    double dmax = fmax(d1, d2);
    double h1 = dmax <= 1e-15 ? fmax(1e-6, h0 * 1e-3)
                              : pow(0.01 / dmax, 1.0 / (ode->method->order + 1.0));
    double hs = fmin(100.0 * h0, h1);
    if (!(hs <= span))
        hs = span;
    if (ode->options.dt_max > 0.0 && hs > ode->options.dt_max)
        hs = ode->options.dt_max;
    *h = hs;
    return 0;
}
