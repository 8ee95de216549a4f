/* Composite stochastic mirror descent with last-iterate and averaged outputs
 * (step rules of Liu and Zhou 2023, "Revisiting the last-iterate convergence of
 * stochastic gradient methods"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stochopt/mirror.h"

struct so_smd {
    so_smd_config cfg;
    double *x, *avg, *tmp;
    long t;
};

so_smd_config so_smd_config_default(size_t dim)
{
    so_smd_config c;
    memset(&c, 0, sizeof c);
    c.dim = dim;
    c.map = SO_MIRROR_EUCLIDEAN;
    c.composite = SO_COMPOSITE_NONE;
    c.radius = 1.0;
    c.rule = SO_STEP_SQRT;
    c.eta = 0.1;
    c.p = 2.0;
    return c;
}

static double capped(const so_smd_config *c, double eta)
{
    if (c->smooth_l > 0 && eta > 0.5 / c->smooth_l)
        return 0.5 / c->smooth_l;
    return eta;
}

double so_smd_step_size(const so_smd_config *c, long t)
{
    double tt = (double)t;
    switch (c->rule) {
    case SO_STEP_CONSTANT:
        return c->eta;
    case SO_STEP_SQRT:
        return capped(c, c->eta / sqrt(tt));
    case SO_STEP_LINEAR_DECAY: {
        double big_t = (double)c->horizon;
        return c->eta * (big_t - tt + 1.0) / (big_t * sqrt(big_t));
    }
    case SO_STEP_STRONG:
        return capped(c, 1.0 / (c->mu * tt));
    case SO_STEP_HEAVY_TAIL:
        return capped(c, c->eta / pow(tt, 1.0 / c->p));
    }
    return NAN;
}

static int check_rule(const so_smd_config *c)
{
    if (!(c->eta > 0) || !isfinite(c->eta) || !(c->smooth_l >= 0))
        return so_fail_(SO_ERR_INVALID, "smd: eta = %g, smooth_l = %g; expected eta > 0 and "
                        "smooth_l >= 0 (0 disables the 1/(2L) cap)", c->eta, c->smooth_l);
    if (c->rule == SO_STEP_STRONG && !(c->mu > 0))
        return so_fail_(SO_ERR_INVALID, "smd: mu = %g; the strongly convex rule needs the "
                        "strong convexity constant mu > 0", c->mu);
    if (c->rule == SO_STEP_HEAVY_TAIL && !(c->p > 1 && c->p <= 2))
        return so_fail_(SO_ERR_INVALID, "smd: p = %g; the heavy-tail rule needs the moment "
                        "order p in (1, 2]", c->p);
    if (c->rule == SO_STEP_LINEAR_DECAY && c->horizon < 1)
        return so_fail_(SO_ERR_INVALID, "smd: horizon = %ld; the linear-decay rule needs the "
                        "number of steps T >= 1", c->horizon);
    if ((unsigned)c->rule > SO_STEP_HEAVY_TAIL)
        return so_fail_(SO_ERR_INVALID, "smd: unknown step rule %d", (int)c->rule);
    return SO_OK;
}

static int check_map(const so_smd_config *c, const double *x0)
{
    if (c->map == SO_MIRROR_EUCLIDEAN)
        return SO_OK;
    if (c->map != SO_MIRROR_ENTROPY)
        return so_fail_(SO_ERR_INVALID, "smd: unknown mirror map %d", (int)c->map);
    /* On the unit simplex |x|_1 = 1, so an l1 term is a constant and changes nothing. */
    if (c->composite != SO_COMPOSITE_NONE && c->composite != SO_COMPOSITE_L1 &&
        !(c->composite == SO_COMPOSITE_SIMPLEX && c->radius == 1.0))
        return so_fail_(SO_ERR_UNSUPPORTED, "smd: the entropy map supports no composite "
                        "term, l1, or the unit simplex; use the Euclidean map for box, l2^2 "
                        "or other radii");
    double sum = 0;
    for (size_t i = 0; i < c->dim; i++) {
        if (!(x0[i] > 0) || !isfinite(x0[i]))
            return so_fail_(SO_ERR_INVALID, "smd: x0[%zu] = %g; the entropy map needs every "
                            "entry > 0 (start at the uniform point 1/n)", i, x0[i]);
        sum += x0[i];
    }
    if (fabs(sum - 1.0) > 1e-9)
        return so_fail_(SO_ERR_INVALID, "smd: x0 sums to %.17g; the entropy map needs a point "
                        "of the unit simplex", sum);
    return SO_OK;
}

int so_smd_new(const so_smd_config *cfg, const double *x0, so_smd **out)
{
    *out = NULL;
    if (!cfg || !x0 || cfg->dim == 0)
        return so_fail_(SO_ERR_INVALID, "smd: expected a configuration with dim >= 1 and a "
                        "start point");
    if ((unsigned)cfg->composite > SO_COMPOSITE_SIMPLEX || !(cfg->reg >= 0) ||
        (cfg->composite == SO_COMPOSITE_BOX && !(cfg->lo <= cfg->hi)) ||
        (cfg->composite == SO_COMPOSITE_SIMPLEX && !(cfg->radius > 0)))
        return so_fail_(SO_ERR_INVALID, "smd: composite %d with reg = %g, box [%g, %g], "
                        "radius %g; expected reg >= 0, lo <= hi and radius > 0",
                        (int)cfg->composite, cfg->reg, cfg->lo, cfg->hi, cfg->radius);
    int st = check_rule(cfg);
    if (st || (st = check_map(cfg, x0)))
        return st;
    so_smd *s = so_calloc_(1, sizeof *s);
    if (!s)
        return SO_ERR_NOMEM;
    s->cfg = *cfg;
    s->x = so_calloc_(cfg->dim, sizeof *s->x);
    s->avg = so_calloc_(cfg->dim, sizeof *s->avg);
    s->tmp = so_calloc_(cfg->dim, sizeof *s->tmp);
    if (!s->x || !s->avg || !s->tmp) {
        so_smd_free(&s);
        return SO_ERR_NOMEM;
    }
    memcpy(s->x, x0, cfg->dim * sizeof *x0);
    memcpy(s->avg, x0, cfg->dim * sizeof *x0);
    *out = s;
    return SO_OK;
}

void so_smd_free(so_smd **s)
{
    if (!s || !*s)
        return;
    free((*s)->x);
    free((*s)->avg);
    free((*s)->tmp);
    free(*s);
    *s = NULL;
}

/* Euclidean map: the composite step is prox_{eta h}(x - eta g). */
static int euclidean_step(so_smd *s, const double *g, double eta)
{
    const so_smd_config *c = &s->cfg;
    size_t n = c->dim;
    for (size_t i = 0; i < n; i++)
        s->tmp[i] = s->x[i] - eta * g[i];
    switch (c->composite) {
    case SO_COMPOSITE_L1:
        so_prox_l1(n, s->tmp, eta * c->reg, s->tmp);
        break;
    case SO_COMPOSITE_L2SQ:
        so_prox_l2sq(n, s->tmp, eta * c->reg, s->tmp);
        break;
    case SO_COMPOSITE_BOX:
        so_proj_box(n, s->tmp, c->lo, c->hi, s->tmp);
        break;
    case SO_COMPOSITE_SIMPLEX:
        return so_proj_simplex(n, s->tmp, c->radius, s->tmp);
    case SO_COMPOSITE_NONE:
        break;
    }
    return SO_OK;
}

int so_smd_step(so_smd *s, const double *g)
{
    size_t n = s->cfg.dim;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(g[i]))
            return so_fail_(SO_ERR_NONFINITE, "smd step %ld: g[%zu] = %g; expected a finite "
                            "gradient", s->t + 1, i, g[i]);
    double eta = so_smd_step_size(&s->cfg, s->t + 1);
    if (s->cfg.map == SO_MIRROR_ENTROPY) {
        so_entropic_step(n, s->x, g, eta, s->tmp);
    } else {
        int st = euclidean_step(s, g, eta);
        if (st)
            return st;
    }
    memcpy(s->x, s->tmp, n * sizeof *s->x);
    s->t++;
    /* Running mean of x_1 .. x_t; x_0 is replaced at the first step. */
    for (size_t i = 0; i < n; i++)
        s->avg[i] += (s->x[i] - s->avg[i]) / (double)s->t;
    return SO_OK;
}

const double *so_smd_last(const so_smd *s) { return s->x; }
const double *so_smd_average(const so_smd *s) { return s->avg; }
long so_smd_steps(const so_smd *s) { return s->t; }
