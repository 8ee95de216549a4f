/* Adaptive time stepping for SDEs with embedded pairs on one Brownian path.
 *
 * Each attempted step runs the higher-order scheme through so_sde_step, which leaves
 * f(t, x) in s->f and g(t, x) in s->g (every scheme evaluates both first), and forms the
 * Euler-Maruyama solution x + f h + g dW from them, so the lower-order member costs no
 * extra evaluation. The difference of the two is the error estimate. The increments of
 * a step come from so_brownian_increment on the tree, which returns the same W(t) for
 * the same t whatever was queried before, so a rejected step's retry uses the same
 * Brownian path restricted to a shorter interval. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sde/sde_internal.h"

so_sde_adaptive_options so_sde_adaptive_options_default(void)
{
    so_sde_adaptive_options o;
    memset(&o, 0, sizeof o);
    o.rtol = 1e-3;
    o.atol = 1e-6;
    o.safety = 0.9;
    o.factor_min = 0.2;
    o.factor_max = 5.0;
    o.max_steps = 1000000;
    return o;
}

/* The state of one solve. */
typedef struct adaptive_run {
    so_sde *s;
    so_sde_scheme scheme;
    const so_brownian *w;
    so_sde_adaptive_options o;
    double order;      /* q: the estimate is O(h^q) */
    double *x_high;    /* the higher-order result, n */
    double *estimate;  /* higher minus lower order, n */
    double *dw, *dz;   /* increments, m each */
    so_sde_adaptive_stats *stats;
} adaptive_run;

static int check_scheme(const so_sde *s, so_sde_scheme scheme, double *order)
{
    so_sde_noise noise = s->sys.noise;
    switch (scheme) {
    case SO_SDE_MILSTEIN:
    case SO_SDE_MILSTEIN_STRATONOVICH:
        if (noise == SO_SDE_NOISE_ADDITIVE)
            return so_fail_(SO_ERR_UNSUPPORTED, "sde adaptive: Milstein equals Euler-Maruyama "
                            "for additive noise, so the pair has no error estimate; use "
                            "SO_SDE_SRA1");
        if (noise == SO_SDE_NOISE_GENERAL)
            return so_fail_(SO_ERR_UNSUPPORTED, "sde adaptive: Milstein needs diagonal or "
                            "commutative noise; declare the noise structure or use a "
                            "fixed-step Euler-Maruyama solve");
        if (s->sys.diffusion_jvp == NULL)
            return so_fail_(SO_ERR_INVALID, "sde adaptive: Milstein needs the diffusion_jvp "
                            "callback");
        *order = 1.0;
        return SO_OK;
    case SO_SDE_SRA1:
        if (noise != SO_SDE_NOISE_ADDITIVE)
            return so_fail_(SO_ERR_UNSUPPORTED, "sde adaptive: SRA1 is for additive noise "
                            "only; use SO_SDE_MILSTEIN for diagonal or commutative noise");
        *order = 1.5;
        return SO_OK;
    case SO_SDE_EULER_MARUYAMA:
    case SO_SDE_EULER_HEUN:
        return so_fail_(SO_ERR_UNSUPPORTED, "sde adaptive: %s has no embedded pair; use "
                        "SO_SDE_MILSTEIN, SO_SDE_MILSTEIN_STRATONOVICH or SO_SDE_SRA1",
                        so_sde_scheme_name(scheme));
    }
    return so_fail_(SO_ERR_INVALID, "sde adaptive: scheme %d is unknown", (int)scheme);
}

static int check_options(adaptive_run *run, double t0, double t1)
{
    so_sde_adaptive_options *o = &run->o;
    double resolution = so_brownian_resolution(run->w);
    if (!(o->rtol >= 0.0) || !(o->atol >= 0.0) || !(o->rtol > 0.0 || o->atol > 0.0))
        return so_fail_(SO_ERR_INVALID, "sde adaptive: rtol = %g and atol = %g; both must be "
                        ">= 0 and one > 0", o->rtol, o->atol);
    if (o->dt_max == 0.0)
        o->dt_max = t1 - t0;
    if (o->dt_min == 0.0)
        o->dt_min = fmin(resolution, o->dt_max);
    if (o->dt == 0.0)
        o->dt = (t1 - t0) / 100.0;
    if (!(o->dt_max > 0.0) || !(o->dt_min > 0.0) || !(o->dt > 0.0) || !(o->dt_min <= o->dt_max))
        return so_fail_(SO_ERR_INVALID, "sde adaptive: dt = %g, dt_min = %g, dt_max = %g; "
                        "expected positive values with dt_min <= dt_max", o->dt, o->dt_min,
                        o->dt_max);
    if (o->dt_min < resolution * (1.0 - 1e-12))
        return so_fail_(SO_ERR_INVALID, "sde adaptive: dt_min = %g is below the Brownian "
                        "path's finest cell %g, where the tree has too little variance; create "
                        "the path with a larger depth or raise dt_min", o->dt_min, resolution);
    o->dt = fmin(fmax(o->dt, o->dt_min), o->dt_max);
    if (!(o->safety > 0.0 && o->safety <= 1.0) || !(o->factor_min > 0.0 && o->factor_min < 1.0)
        || !(o->factor_max > 1.0) || o->beta1 < 0.0 || o->beta2 < 0.0)
        return so_fail_(SO_ERR_INVALID, "sde adaptive: safety = %g, factor_min = %g, "
                        "factor_max = %g, beta1 = %g, beta2 = %g; expected 0 < safety <= 1, "
                        "0 < factor_min < 1 < factor_max and beta >= 0", o->safety,
                        o->factor_min, o->factor_max, o->beta1, o->beta2);
    if (o->beta1 == 0.0)
        o->beta1 = 0.7 / run->order;
    if (o->beta2 == 0.0)
        o->beta2 = 0.4 / run->order;
    if (o->max_steps <= 0)
        return so_fail_(SO_ERR_INVALID, "sde adaptive: max_steps = %ld, expected > 0",
                        o->max_steps);
    return SO_OK;
}

/* Attempts one step from (t, x) to t_next. Writes the higher-order result to
 * run->x_high and the scaled error to *error (infinity when the result is not finite).
 * The step is h = t_next - t, as in so_sde_solve, so a fixed-step replay of the
 * accepted times reproduces the states bit for bit. */
static int attempt(adaptive_run *run, double t, double t_next, const double *x, double *error)
{
    so_sde *s = run->s;
    size_t n = s->sys.n, m = s->sys.m;
    double h = t_next - t;
    int status = so_brownian_increment(run->w, t, t_next, run->dw, run->dz);
    if (status != SO_OK)
        return status;
    memcpy(run->x_high, x, n * sizeof *x);
    status = so_sde_step(s, run->scheme, t, h, run->dw, run->dz, run->x_high);
    int evaluations = run->scheme == SO_SDE_SRA1 ? 2 : 1;
    run->stats->nfev += evaluations;
    run->stats->ngev += evaluations;
    if (status != SO_OK)
        return status;

    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double noise = 0.0;
        if (s->sys.noise == SO_SDE_NOISE_DIAGONAL) {
            noise = s->g[i] * run->dw[i];
        } else {
            for (size_t j = 0; j < m; j++)
                noise += s->g[i * m + j] * run->dw[j];
        }
        double lower = x[i] + s->f[i] * h + noise;
        run->estimate[i] = run->x_high[i] - lower;
        double scale = run->o.atol + run->o.rtol * fmax(fabs(x[i]), fabs(run->x_high[i]));
        double ratio = run->estimate[i] / scale;
        sum += ratio * ratio;
    }
    *error = sqrt(sum / (double)n);
    if (!isfinite(*error))
        *error = INFINITY;
    return SO_OK;
}

static int check_save_times(double t0, double t1, const double *t_save, size_t n_save,
                            const double *x_save)
{
    if (n_save == 0)
        return SO_OK;
    if (t_save == NULL || x_save == NULL)
        return so_fail_(SO_ERR_INVALID, "sde adaptive: n_save = %zu but t_save or x_save is "
                        "NULL", n_save);
    for (size_t k = 0; k < n_save; k++) {
        if (!(t_save[k] >= t0 && t_save[k] <= t1))
            return so_fail_(SO_ERR_INVALID, "sde adaptive: t_save[%zu] = %g lies outside "
                            "[%g, %g]", k, t_save[k], t0, t1);
        if (k > 0 && !(t_save[k] >= t_save[k - 1]))
            return so_fail_(SO_ERR_INVALID, "sde adaptive: t_save[%zu] = %g is before "
                            "t_save[%zu] = %g; save times must be nondecreasing", k,
                            t_save[k], k - 1, t_save[k - 1]);
    }
    return SO_OK;
}

static int integrate(adaptive_run *run, double t0, double t1, double *x, const double *t_save,
                     size_t n_save, double *x_save, so_sde_observe_fn observe,
                     void *observe_user)
{
    const so_sde_adaptive_options *o = &run->o;
    so_sde_adaptive_stats *stats = run->stats;
    size_t n = run->s->sys.n, next_save = 0;
    double t = t0, h = o->dt, error_prev = 1.0;
    int rejected_last = 0;
    long attempts = 0;

    while (next_save < n_save && t_save[next_save] == t)
        memcpy(&x_save[n * next_save++], x, n * sizeof *x);
    if (observe != NULL && observe(observe_user, 0, t, x) < 0)
        return so_fail_(SO_ERR_CALLBACK, "sde adaptive: the observer stopped at step 0");

    while (t < t1) {
        if (++attempts > o->max_steps)
            return so_fail_(SO_NOT_CONVERGED, "sde adaptive: reached max_steps = %ld at "
                            "t = %.17g before t1 = %.17g; raise max_steps or loosen "
                            "rtol/atol", o->max_steps, t, t1);
        /* Land exactly on the next save time or t1 when the step would reach it or leave
         * less than 1 % of a step before it. */
        double target = next_save < n_save ? t_save[next_save] : t1;
        int landing = target - t <= 1.01 * h;
        double t_next = landing ? target : t + h;
        double step = t_next - t;
        double error;
        int status = attempt(run, t, t_next, x, &error);
        if (status != SO_OK)
            return status;

        if (error <= 1.0) {
            memcpy(x, run->x_high, n * sizeof *x);
            t = t_next;
            stats->accepted++;
            stats->t = t;
            if (!landing && (stats->dt_smallest == 0.0 || step < stats->dt_smallest))
                stats->dt_smallest = step;
            while (next_save < n_save && t_save[next_save] == t)
                memcpy(&x_save[n * next_save++], x, n * sizeof *x);
            if (observe != NULL && observe(observe_user, (size_t)stats->accepted, t, x) < 0)
                return so_fail_(SO_ERR_CALLBACK, "sde adaptive: the observer stopped at step "
                                "%ld", stats->accepted);
            double factor = error == 0.0 ? o->factor_max
                                         : o->safety * pow(error, -o->beta1)
                                               * pow(error_prev, o->beta2);
            factor = fmin(o->factor_max, fmax(o->factor_min, factor));
            if (rejected_last)
                factor = fmin(factor, 1.0);
            h = fmin(o->dt_max, fmax(o->dt_min, (landing ? fmax(h, step) : step) * factor));
            error_prev = fmax(error, 1e-4);
            rejected_last = 0;
            continue;
        }

        stats->rejected++;
        rejected_last = 1;
        double factor = isfinite(error) ? o->safety * pow(error, -o->beta1) : 0.0;
        double smaller = step * fmax(o->factor_min, fmin(1.0, factor));
        if (smaller < o->dt_min * (1.0 - 1e-12)) {
            if (step > o->dt_min * (1.0 + 1e-12)) {
                h = o->dt_min; /* one last try at the smallest step */
                continue;
            }
            return so_fail_(SO_ERR_NUMERIC, "sde adaptive: the error test failed (scaled "
                            "error %.3g) at t = %.17g with the smallest step dt_min = %.6g; "
                            "loosen rtol/atol, or lower dt_min and create the Brownian path "
                            "with a larger depth", error, t, o->dt_min);
        }
        h = smaller;
    }
    return SO_OK;
}

int so_sde_solve_adaptive(so_sde *s, so_sde_scheme scheme, const so_brownian *w, double t0,
                          double t1, double *x, const so_sde_adaptive_options *options,
                          const double *t_save, size_t n_save, double *x_save,
                          so_sde_observe_fn observe, void *observe_user,
                          so_sde_adaptive_stats *stats)
{
    so_sde_adaptive_stats local_stats;
    adaptive_run run;
    memset(&run, 0, sizeof run);
    if (stats == NULL)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    stats->t = t0;
    if (s == NULL || w == NULL || x == NULL)
        return so_fail_(SO_ERR_INVALID, "sde adaptive: the stepper, path or state is NULL");
    if (so_brownian_dim(w) != s->sys.m)
        return so_fail_(SO_ERR_INVALID, "sde adaptive: the Brownian path has %zu components "
                        "but the system has m = %zu; create the path with dim = m",
                        so_brownian_dim(w), s->sys.m);
    if (!isfinite(t0) || !isfinite(t1) || !(t0 < t1))
        return so_fail_(SO_ERR_INVALID, "sde adaptive: interval [%g, %g] is invalid; expected "
                        "finite t0 < t1", t0, t1);
    run.s = s;
    run.scheme = scheme;
    run.w = w;
    run.stats = stats;
    run.o = options != NULL ? *options : so_sde_adaptive_options_default();
    int status = check_scheme(s, scheme, &run.order);
    if (status == SO_OK)
        status = check_options(&run, t0, t1);
    if (status == SO_OK)
        status = check_save_times(t0, t1, t_save, n_save, x_save);
    if (status != SO_OK)
        return status;

    size_t n = s->sys.n, m = s->sys.m;
    run.x_high = so_calloc_(n, sizeof *run.x_high);
    run.estimate = so_calloc_(n, sizeof *run.estimate);
    run.dw = so_calloc_(m, sizeof *run.dw);
    run.dz = so_calloc_(m, sizeof *run.dz);
    if (run.x_high == NULL || run.estimate == NULL || run.dw == NULL || run.dz == NULL)
        status = SO_ERR_NOMEM;
    else
        status = integrate(&run, t0, t1, x, t_save, n_save, x_save, observe, observe_user);
    free(run.x_high);
    free(run.estimate);
    free(run.dw);
    free(run.dz);
    return status;
}
