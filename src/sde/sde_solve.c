/* Fixed-step integration of an SDE along a Brownian path. */
#include <math.h>

#include "core/internal.h"
#include "sde/sde_internal.h"

int so_sde_solve(so_sde *s, so_sde_scheme scheme, const so_brownian *w, double t0, double t1,
                 size_t steps, double *x, so_sde_observe_fn observe, void *observe_user)
{
    size_t n = s->sys.n;
    if (so_brownian_dim(w) != s->sys.m)
        return so_fail_(SO_ERR_INVALID, "sde solve: the Brownian path has %zu components but "
                        "the system has m = %zu; create the path with dim = m",
                        so_brownian_dim(w), s->sys.m);
    if (steps == 0)
        return so_fail_(SO_ERR_INVALID, "sde solve: steps = 0, expected at least 1");
    if (!isfinite(t0) || !isfinite(t1) || !(t0 < t1))
        return so_fail_(SO_ERR_INVALID, "sde solve: interval [%g, %g] is invalid; expected "
                        "finite t0 < t1", t0, t1);
    if (observe != NULL && observe(observe_user, 0, t0, x) < 0)
        return so_fail_(SO_ERR_CALLBACK, "sde solve: the observer stopped at step 0");

    double h = (t1 - t0) / (double)steps;
    int dz_needed = scheme == SO_SDE_SRA1;
    for (size_t k = 0; k < steps; k++) {
        double t = t0 + (double)k * h;
        double t_next = k + 1 == steps ? t1 : t0 + (double)(k + 1) * h;
        int status = so_brownian_increment(w, t, t_next, s->dw, dz_needed ? s->dz : NULL);
        if (status != SO_OK)
            return status;
        status = so_sde_step(s, scheme, t, t_next - t, s->dw, s->dz, x);
        if (status != SO_OK) {
            so_error_prefix_("sde solve: step %zu", k + 1);
            return status;
        }
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i]))
                return so_fail_(SO_ERR_NONFINITE, "sde solve: x[%zu] = %g after step %zu at "
                                "t = %g; reduce the step size or check the coefficients", i,
                                x[i], k + 1, t_next);
        if (observe != NULL && observe(observe_user, k + 1, t_next, x) < 0)
            return so_fail_(SO_ERR_CALLBACK, "sde solve: the observer stopped at step %zu",
                            k + 1);
    }
    return SO_OK;
}
