/* Projections onto the online domains and linear minimization over them. */
#include <math.h>

#include "core/internal.h"
#include "online/online_internal.h"

int so_online_project_(const so_online_config *c, double *y)
{
    size_t n = c->dim;
    double norm = 0;
    switch (c->domain) {
    case SO_DOMAIN_FREE:
        return SO_OK;
    case SO_DOMAIN_BALL:
        for (size_t i = 0; i < n; i++)
            norm += y[i] * y[i];
        norm = sqrt(norm);
        if (norm > c->radius)
            for (size_t i = 0; i < n; i++)
                y[i] *= c->radius / norm;
        return SO_OK;
    case SO_DOMAIN_BOX:
        so_proj_box(n, y, c->lo, c->hi, y);
        return SO_OK;
    case SO_DOMAIN_SIMPLEX:
        return so_proj_simplex(n, y, 1.0, y);
    }
    return so_fail_(SO_ERR_INVALID, "online: unknown domain %d", (int)c->domain);
}

/* The minimizer of a linear function is -radius s/|s| on the ball, the corner picked by
 * the signs on the box and the best vertex on the simplex. */
double so_online_linear_min_(const so_online_config *c, const double *s)
{
    size_t n = c->dim;
    double v = 0;
    switch (c->domain) {
    case SO_DOMAIN_FREE:
        for (size_t i = 0; i < n; i++)
            if (s[i] != 0)
                return -INFINITY;
        return 0.0;
    case SO_DOMAIN_BALL:
        for (size_t i = 0; i < n; i++)
            v += s[i] * s[i];
        return -c->radius * sqrt(v);
    case SO_DOMAIN_BOX:
        for (size_t i = 0; i < n; i++)
            v += s[i] > 0 ? s[i] * c->lo : s[i] * c->hi;
        return v;
    case SO_DOMAIN_SIMPLEX:
        v = INFINITY;
        for (size_t i = 0; i < n; i++)
            v = s[i] < v ? s[i] : v;
        return v;
    }
    return NAN;
}
