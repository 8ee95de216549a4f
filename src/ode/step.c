/* One explicit Runge-Kutta step and the scaled error norm of embedded pairs. */
#include <math.h>
#include <string.h>

#include "ode/ode_internal.h"

double so_ode_stage_time_(double t, double t_new, double c)
{
    if (c == 1.0)
        return t_new;
    double ts = t + c * (t_new - t);
    double lo = t_new >= t ? t : t_new;
    double hi = t_new >= t ? t_new : t;
    if (ts < lo)
        return lo;
    if (ts > hi)
        return hi;
    return ts;
}

/* Estimates |lambda|, the size of the dominant eigenvalue of the Jacobian, from the last
 * two stages of an FSAL pair, both at c = 1: ||k_s - k_{s-1}|| / ||y_new - g_{s-1}||,
 * where g_{s-1} is the input of stage s-1. It is a difference quotient of f along
 * y_new - g_{s-1}, so for y' = lambda y it equals |lambda| up to rounding. */
static double stiffness_estimate(const so_ode *ode)
{
    const size_t n = ode->n;
    const int s = ode->method->stages;
    const double *k_last = ode->k + (size_t)(s - 1) * n;
    const double *k_prev = ode->k + (size_t)(s - 2) * n;
    double num = 0.0, den = 0.0;

    for (size_t q = 0; q < n; q++) {
        double dk = k_last[q] - k_prev[q];
        double dy = ode->y_new[q] - ode->g_prev[q];
        num += dk * dk;
        den += dy * dy;
    }
    return den > 0.0 ? sqrt(num / den) : 0.0;
}

int so_ode_rk_step_(so_ode *ode, so_ode_rhs_fn rhs, void *user, double t, double t_new,
                    long *nfev)
{
    const so_ode_method *m = ode->method;
    const size_t n = ode->n;
    const int s = m->stages;
    const double h = t_new - t;

    for (int i = 1; i < s; i++) {
        const double *a = m->a + (size_t)i * (size_t)s;
        for (size_t q = 0; q < n; q++) {
            double sum = 0.0;
            for (int j = 0; j < i; j++)
                sum += a[j] * ode->k[(size_t)j * n + q];
            ode->y_stage[q] = ode->y[q] + h * sum;
        }
        if (m->fsal && i == s - 2)
            memcpy(ode->g_prev, ode->y_stage, n * sizeof(double));
        double *ki = ode->k + (size_t)i * n;
        (*nfev)++;
        int status = rhs(user, so_ode_stage_time_(t, t_new, m->c[i]), ode->y_stage, ki);
        if (status != 0)
            return status;
    }
    if (m->fsal) {
        /* The last row of a equals b, so the last stage input is the new state. */
        for (size_t q = 0; q < n; q++)
            ode->y_new[q] = ode->y_stage[q];
        ode->stiffness = stiffness_estimate(ode);
    } else {
        for (size_t q = 0; q < n; q++) {
            double sum = 0.0;
            for (int j = 0; j < s; j++)
                sum += m->b[j] * ode->k[(size_t)j * n + q];
            ode->y_new[q] = ode->y[q] + h * sum;
        }
    }
    if (!m->fsal) {
        /* The derivative at the new state belongs to this step, so a positive status
         * there also retries the step. It becomes k[0] of the next step. */
        (*nfev)++;
        int status = rhs(user, t_new, ode->y_new, ode->f_new);
        if (status != 0)
            return status;
    }
    if (m->error_weights != NULL) {
        for (size_t q = 0; q < n; q++) {
            double sum = 0.0;
            for (int j = 0; j < s; j++)
                sum += m->error_weights[j] * ode->k[(size_t)j * n + q];
            ode->err[q] = h * sum;
        }
    }
    return 0;
}

double so_ode_error_norm_(const so_ode *ode)
{
    const so_ode_options *o = &ode->options;
    double sum = 0.0;
    for (size_t q = 0; q < ode->n; q++) {
        double scale = o->atol + o->rtol * fmax(fabs(ode->y[q]), fabs(ode->y_new[q]));
        double r = ode->err[q] / scale;
        sum += r * r;
    }
    return sqrt(sum / (double)ode->n);
}
