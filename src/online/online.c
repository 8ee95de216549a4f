/* Online learners: configuration, state, and the predict/update protocol of OGD,
 * optimistic OMD and optimistic FTRL. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "online/online_internal.h"

so_online_config so_online_config_default(size_t dim)
{
    so_online_config c;
    memset(&c, 0, sizeof c);
    c.dim = dim;
    c.method = SO_ONLINE_OGD;
    c.map = SO_MIRROR_EUCLIDEAN;
    c.domain = SO_DOMAIN_BALL;
    c.radius = 1.0;
    c.step = SO_ONLINE_STEP_ADAPTIVE;
    c.eta = 0.1;
    c.diameter = 2.0;
    c.grad_bound = 1.0;
    c.delta = 1e-8;
    c.hint = SO_HINT_LAST_GRADIENT;
    c.ons_gamma = 0.5;
    c.ons_eps = 1.0;
    return c;
}

static int check_config(const so_online_config *c)
{
    if (c->dim == 0 || (unsigned)c->method > SO_ONLINE_ONS || (unsigned)c->domain >
        SO_DOMAIN_SIMPLEX || (unsigned)c->step > SO_ONLINE_STEP_ADAPTIVE ||
        (unsigned)c->hint > SO_HINT_USER)
        return so_fail_(SO_ERR_INVALID, "online: dim = %zu, method %d, domain %d, step %d, "
                        "hint %d; expected dim >= 1 and values of the enums", c->dim,
                        (int)c->method, (int)c->domain, (int)c->step, (int)c->hint);
    if (!(c->eta > 0) || !(c->diameter > 0) || !(c->grad_bound >= 0) || !(c->delta >= 0) ||
        (c->domain == SO_DOMAIN_BALL && !(c->radius > 0)) ||
        (c->domain == SO_DOMAIN_BOX && !(c->lo <= c->hi)))
        return so_fail_(SO_ERR_INVALID, "online: eta = %g, D = %g, G = %g, delta = %g, "
                        "radius = %g, box [%g, %g]; expected eta, D, radius > 0, G, delta "
                        ">= 0 and lo <= hi", c->eta, c->diameter, c->grad_bound, c->delta,
                        c->radius, c->lo, c->hi);
    if (c->map == SO_MIRROR_ENTROPY && (c->domain != SO_DOMAIN_SIMPLEX ||
                                        c->method == SO_ONLINE_ONS))
        return so_fail_(SO_ERR_UNSUPPORTED, "online: the entropy map needs the simplex "
                        "domain and a first-order method (not ONS)");
    if (c->method == SO_ONLINE_ONS &&
        (c->domain == SO_DOMAIN_BOX || c->domain == SO_DOMAIN_SIMPLEX ||
         !(c->ons_gamma > 0) || !(c->ons_eps > 0)))
        return so_fail_(SO_ERR_UNSUPPORTED, "online: ONS needs the free or ball domain, "
                        "ons_gamma > 0 and ons_eps > 0 (got gamma %g, eps %g)", c->ons_gamma,
                        c->ons_eps);
    return SO_OK;
}

void so_online_free(so_online **o)
{
    if (!o || !*o)
        return;
    double **bufs[] = {&(*o)->x,    &(*o)->xhat, &(*o)->x0,    &(*o)->gsum,
                       &(*o)->hint, &(*o)->gprev, &(*o)->tmp,  &(*o)->work,
                       &(*o)->work2, &(*o)->a,    &(*o)->ainv, &(*o)->chol};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(*bufs[i]);
    free(*o);
    *o = NULL;
}

static int alloc_state(so_online *o)
{
    size_t n = o->cfg.dim, nn = o->cfg.method == SO_ONLINE_ONS ? n * n : 1;
    double **bufs[] = {&o->x,    &o->xhat, &o->x0,   &o->gsum, &o->hint,
                       &o->gprev, &o->tmp,  &o->work, &o->work2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!(*bufs[i] = so_calloc_(n, sizeof(double))))
            return SO_ERR_NOMEM;
    o->a = so_calloc_(nn, sizeof(double));
    o->ainv = so_calloc_(nn, sizeof(double));
    o->chol = so_calloc_(nn, sizeof(double));
    if (!o->a || !o->ainv || !o->chol)
        return SO_ERR_NOMEM;
    for (size_t i = 0; nn > 1 && i < n; i++) {
        o->a[i * n + i] = o->cfg.ons_eps;
        o->ainv[i * n + i] = 1.0 / o->cfg.ons_eps;
    }
    return SO_OK;
}

int so_online_new(const so_online_config *cfg, const double *x0, so_online **out)
{
    *out = NULL;
    if (!cfg || !x0)
        return so_fail_(SO_ERR_INVALID, "online: cfg and x0 must not be NULL");
    int st = check_config(cfg);
    if (st)
        return st;
    so_online *o = so_calloc_(1, sizeof *o);
    if (!o)
        return SO_ERR_NOMEM;
    o->cfg = *cfg;
    if ((st = alloc_state(o)) != SO_OK) {
        so_online_free(&o);
        return st;
    }
    memcpy(o->xhat, x0, cfg->dim * sizeof *x0);
    if ((st = so_online_project_(cfg, o->xhat)) != SO_OK) {
        so_online_free(&o);
        return st;
    }
    for (size_t i = 0; cfg->map == SO_MIRROR_ENTROPY && i < cfg->dim; i++)
        if (!(o->xhat[i] > 0)) {
            so_online_free(&o);
            return so_fail_(SO_ERR_INVALID, "online: x0[%zu] is 0 on the simplex; the entropy "
                            "map needs every entry > 0 (start at the uniform point)", i);
        }
    memcpy(o->x0, o->xhat, cfg->dim * sizeof *x0);
    memcpy(o->x, o->xhat, cfg->dim * sizeof *x0);
    *out = o;
    return SO_OK;
}
