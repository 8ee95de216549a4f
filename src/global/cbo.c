/* CBO driver: configuration, independent runs, alpha schedules and stopping rules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "global/global_internal.h"

so_cbo_config so_cbo_config_default(size_t dim)
{
    so_cbo_config c;
    memset(&c, 0, sizeof c);
    c.dim = dim;
    c.particles = 40;
    c.scheme = SO_CBO_EULER_MARUYAMA;
    c.noise = SO_CBO_ANISOTROPIC;
    c.lambda = 1.0;
    c.sigma = 5.1;
    c.dt = 0.01;
    c.alpha_mode = SO_CBO_ALPHA_GROWTH;
    c.alpha = 1.0;
    c.alpha_growth = 1.05;
    c.alpha_max = 1e5;
    c.ess_target = 0.5;
    c.init_lo = -3.0;
    c.init_hi = 3.0;
    c.init_std = 1.0;
    c.max_steps = 1000;
    c.energy_tol = -INFINITY;
    c.runs = 1;
    c.threads = 1;
    return c;
}

int so_cbo_result_new(size_t runs, size_t dim, so_cbo_result **out)
{
    *out = NULL;
    if (runs == 0 || dim == 0)
        return so_fail_(SO_ERR_INVALID, "cbo result: runs = %zu and dim = %zu; both must be "
                        "at least 1", runs, dim);
    so_cbo_result *r = so_calloc_(1, sizeof *r);
    if (!r)
        return SO_ERR_NOMEM;
    r->runs = runs;
    r->dim = dim;
    r->x_best = so_calloc_(runs * dim, sizeof *r->x_best);
    r->x_consensus = so_calloc_(runs * dim, sizeof *r->x_consensus);
    r->run = so_calloc_(runs, sizeof *r->run);
    if (!r->x_best || !r->x_consensus || !r->run) {
        so_cbo_result_free(&r);
        return SO_ERR_NOMEM;
    }
    *out = r;
    return SO_OK;
}

void so_cbo_result_free(so_cbo_result **res)
{
    if (!res || !*res)
        return;
    free((*res)->x_best);
    free((*res)->x_consensus);
    free((*res)->run);
    free(*res);
    *res = NULL;
}

static int check_positive(const char *name, double value, const char *fix)
{
    if (!(value > 0) || !isfinite(value))
        return so_fail_(SO_ERR_INVALID, "cbo: %s = %g; expected a finite value > 0; %s", name,
                        value, fix);
    return SO_OK;
}

static int check_schedule(const so_cbo_config *c)
{
    if (!(c->alpha >= 0) || !(c->alpha_max >= c->alpha) || isnan(c->alpha_max))
        return so_fail_(SO_ERR_INVALID, "cbo: alpha = %g, alpha_max = %g; expected 0 <= alpha "
                        "<= alpha_max", c->alpha, c->alpha_max);
    if (c->alpha_mode == SO_CBO_ALPHA_GROWTH && !(c->alpha_growth >= 1.0 &&
                                                  isfinite(c->alpha_growth)))
        return so_fail_(SO_ERR_INVALID, "cbo: alpha_growth = %g; expected a factor >= 1 (1.05 "
                        "is usual)", c->alpha_growth);
    if (c->alpha_mode == SO_CBO_ALPHA_ESS && !(c->ess_target > 0 && c->ess_target <= 1))
        return so_fail_(SO_ERR_INVALID, "cbo: ess_target = %g; expected a fraction of the "
                        "particles in (0, 1], such as 0.5", c->ess_target);
    if ((unsigned)c->alpha_mode > SO_CBO_ALPHA_ESS)
        return so_fail_(SO_ERR_INVALID, "cbo: alpha_mode = %d; expected FIXED, GROWTH or ESS",
                        (int)c->alpha_mode);
    return SO_OK;
}

int so_cbo_check_config_(const so_cbo_config *c, const so_cbo_result *res)
{
    int st;
    if (c->dim == 0 || c->particles < 2)
        return so_fail_(SO_ERR_INVALID, "cbo: dim = %zu, particles = %zu; expected dim >= 1 "
                        "and at least 2 particles", c->dim, c->particles);
    if (c->batch == 1 || c->batch > c->particles)
        return so_fail_(SO_ERR_INVALID, "cbo: batch = %zu; expected 0 (all particles) or 2 to "
                        "particles = %zu", c->batch, c->particles);
    if ((st = check_positive("lambda", c->lambda, "1 is usual")) ||
        (st = check_positive("dt", c->dt, "0.01 is usual")))
        return st;
    if (!(c->sigma >= 0) || !isfinite(c->sigma))
        return so_fail_(SO_ERR_INVALID, "cbo: sigma = %g; expected a finite value >= 0",
                        c->sigma);
    if ((st = check_schedule(c)))
        return st;
    if (c->init_center ? !(c->init_std >= 0 && isfinite(c->init_std))
                       : !(c->init_lo <= c->init_hi && isfinite(c->init_hi - c->init_lo)))
        return so_fail_(SO_ERR_INVALID, "cbo: start box [%g, %g], init_std %g; expected a "
                        "finite box with init_lo <= init_hi or a finite init_std >= 0",
                        c->init_lo, c->init_hi, c->init_std);
    if (c->max_steps < 0 || c->max_evals < 0 || c->runs < 1 || c->threads < 1)
        return so_fail_(SO_ERR_INVALID, "cbo: max_steps = %ld, max_evals = %ld, runs = %ld, "
                        "threads = %d; expected steps and evals >= 0, runs and threads >= 1",
                        c->max_steps, c->max_evals, c->runs, c->threads);
    if (c->max_evals > 0 && (size_t)c->max_evals < c->particles + 1)
        return so_fail_(SO_ERR_INVALID, "cbo: max_evals = %ld; expected at least particles + 1 "
                        "= %zu (one ensemble and the consensus point)", c->max_evals,
                        c->particles + 1);
    if (!isnan(c->consensus_tol) && c->consensus_tol >= 0 && !isnan(c->energy_tol) &&
        res && res->runs == (size_t)c->runs && res->dim == c->dim)
        return SO_OK;
    return so_fail_(SO_ERR_INVALID, "cbo: consensus_tol = %g, energy_tol = %g, result %zu x "
                    "%zu for runs = %ld, dim = %zu; expected tolerances that are not NaN, "
                    "consensus_tol >= 0 and a result from so_cbo_result_new(runs, dim)",
                    c->consensus_tol, c->energy_tol, res ? res->runs : 0, res ? res->dim : 0,
                    c->runs, c->dim);
}
