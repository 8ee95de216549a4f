/* The predict/update rounds of the first-order online learners. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "online/online_internal.h"

/* eta_t of round t = o->t + 1; the adaptive rule uses the sum over earlier rounds only. */
static double step_size(const so_online *o)
{
    const so_online_config *c = &o->cfg;
    switch (c->step) {
    case SO_ONLINE_STEP_CONSTANT:
        return c->eta;
    case SO_ONLINE_STEP_SQRT:
        return c->eta / sqrt((double)(o->t + 1));
    case SO_ONLINE_STEP_ADAPTIVE:
        return c->diameter / sqrt(c->delta + 4.0 * c->grad_bound * c->grad_bound + o->sum_sq);
    }
    return NAN;
}

/* out = argmin_x eta <dir, x> + D_psi(x, base) over the domain. */
static int mirror_step(const so_online *o, const double *base, const double *dir,
                       double eta, double *out)
{
    size_t n = o->cfg.dim;
    if (o->cfg.map == SO_MIRROR_ENTROPY) {
        so_entropic_step(n, base, dir, eta, out);
        return SO_OK;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = base[i] - eta * dir[i];
    return so_online_project_(&o->cfg, out);
}

static int set_hint(so_online *o, const double *hint)
{
    const so_online_config *c = &o->cfg;
    size_t n = c->dim;
    int optimistic = c->method == SO_ONLINE_OPTIMISTIC_OMD ||
                     c->method == SO_ONLINE_OPTIMISTIC_FTRL;
    if ((hint != NULL) != (optimistic && c->hint == SO_HINT_USER))
        return so_fail_(SO_ERR_INVALID, "online predict: hint is %s; pass M_t exactly when "
                        "an optimistic method is configured with SO_HINT_USER",
                        hint ? "given" : "NULL");
    if (!optimistic || c->hint == SO_HINT_ZERO)
        memset(o->hint, 0, n * sizeof *o->hint);
    else if (c->hint == SO_HINT_LAST_GRADIENT)
        memcpy(o->hint, o->gprev, n * sizeof *o->hint);
    else
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(hint[i]))
                return so_fail_(SO_ERR_NONFINITE, "online predict: hint[%zu] = %g; expected "
                                "finite values", i, hint[i]);
            o->hint[i] = hint[i];
        }
    o->hint_zero = 1;
    for (size_t i = 0; i < n; i++)
        o->hint_zero &= o->hint[i] == 0.0;
    return SO_OK;
}

/* Optimistic FTRL with psi = |x - x0|^2 / 2 (or the entropy centred at x0):
 * x_t = argmin <G_{t-1} + M_t, x> + psi(x) / eta_t, a step of size eta_t from x0. */
static int ftrl_point(so_online *o, double eta)
{
    for (size_t i = 0; i < o->cfg.dim; i++)
        o->tmp[i] = o->gsum[i] + o->hint[i];
    return mirror_step(o, o->x0, o->tmp, eta, o->x);
}

int so_online_predict(so_online *o, const double *hint, double *x)
{
    size_t n = o->cfg.dim;
    int st;
    if (o->predicted)
        return so_fail_(SO_ERR_STATE, "online predict: round %ld was already predicted; call "
                        "so_online_update with its gradient first", o->t + 1);
    if ((st = set_hint(o, hint)) != SO_OK)
        return st;
    if (o->cfg.method == SO_ONLINE_OPTIMISTIC_FTRL)
        st = ftrl_point(o, step_size(o));
    else if (o->cfg.method == SO_ONLINE_OPTIMISTIC_OMD && !o->hint_zero)
        st = mirror_step(o, o->xhat, o->hint, step_size(o), o->x);
    else
        /* OGD and ONS play their iterate. OMD with a zero hint plays x_hat too, because
         * x_hat minimizes D(x, x_hat) exactly and a projection would only add rounding. */
        memcpy(o->x, o->xhat, n * sizeof *o->x);
    if (st != SO_OK)
        return st;
    memcpy(x, o->x, n * sizeof *x);
    o->predicted = 1;
    return SO_OK;
}

int so_online_update(so_online *o, const double *g)
{
    const so_online_config *c = &o->cfg;
    size_t n = c->dim;
    int st = SO_OK;
    if (!o->predicted)
        return so_fail_(SO_ERR_STATE, "online update: round %ld has no prediction; call "
                        "so_online_predict first", o->t + 1);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(g[i]))
            return so_fail_(SO_ERR_NONFINITE, "online update round %ld: g[%zu] = %g; expected "
                            "a finite gradient", o->t + 1, i, g[i]);
    double eta = step_size(o), sq = 0;
    if (c->method == SO_ONLINE_ONS)
        st = so_ons_update_(o, g);
    else if (c->method != SO_ONLINE_OPTIMISTIC_FTRL)
        /* OGD steps from x_t = x_hat_t; OMD's secondary step also starts at x_hat_t. */
        st = mirror_step(o, o->xhat, g, eta, o->tmp);
    if (st != SO_OK)
        return st;
    if (c->method == SO_ONLINE_OGD || c->method == SO_ONLINE_OPTIMISTIC_OMD)
        memcpy(o->xhat, o->tmp, n * sizeof *o->tmp);
    for (size_t i = 0; i < n; i++) {
        double r = g[i] - o->hint[i];
        sq += r * r;
        o->played += g[i] * o->x[i];
        o->gsum[i] += g[i];
    }
    o->sum_sq += sq;
    memcpy(o->gprev, g, n * sizeof *g);
    o->t++;
    o->predicted = 0;
    return SO_OK;
}

long so_online_rounds(const so_online *o)
{
    return o->t;
}

double so_online_linear_regret(const so_online *o)
{
    return o->played - so_online_linear_min_(&o->cfg, o->gsum);
}
