/* The integration driver: fixed-step and adaptive stepping, the PI step-size
 * controller (the I controller is its case beta2 = 0), save-at times through dense
 * output, event location (events.c) and argument checks. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "ode/ode_internal.h"

/* Progress of one solve, shared by the fixed-step and adaptive loops. */
typedef struct solve_run {
    so_ode *ode;
    so_ode_rhs_fn rhs;
    void *user;
    double t, t1, dir;
    const double *save_times;
    size_t nsave, next_save;
    double *ysave;
    so_ode_stats *stats;
    long attempts;
    so_ode_event_run_ events; /* unused when ode->events is NULL */
    int stopped;              /* a terminal event ended the solve */
    int nonfinite_error;      /* the last rejected step had a NaN or infinite error */
} solve_run;

static int check_arguments(const so_ode *ode, so_ode_rhs_fn rhs, double t0, double t1,
                           const double *y0, const double *save_times, size_t nsave,
                           const double *ysave)
{
    if (ode == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_solve: the solver is NULL; create it "
                        "with so_ode_new");
    if (rhs == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_solve: rhs is NULL; pass the right-hand "
                        "side function");
    if (y0 == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_solve: y0 is NULL; pass the n initial "
                        "values");
    if (!isfinite(t0) || !isfinite(t1))
        return so_fail_(SO_ERR_INVALID, "so_ode_solve: span [%g, %g] is not finite; "
                        "expected finite t0 and t1", t0, t1);
    if (!isfinite(t1 - t0))
        return so_fail_(SO_ERR_INVALID, "so_ode_solve: span [%g, %g] has a length t1 - t0 "
                        "that overflows; shift or rescale time so that |t1 - t0| is finite",
                        t0, t1);
    for (size_t q = 0; q < ode->n; q++)
        if (!isfinite(y0[q]))
            return so_fail_(SO_ERR_INVALID, "so_ode_solve: y0[%zu] = %g; expected a finite "
                            "initial state", q, y0[q]);
    if (nsave > 0 && (save_times == NULL || ysave == NULL))
        return so_fail_(SO_ERR_INVALID, "so_ode_solve: nsave = %zu but %s is NULL", nsave,
                        save_times == NULL ? "save_times" : "ysave");
    const double lo = fmin(t0, t1), hi = fmax(t0, t1), dir = t1 >= t0 ? 1.0 : -1.0;
    for (size_t i = 0; i < nsave; i++) {
        double ts = save_times[i];
        if (!(ts >= lo && ts <= hi))
            return so_fail_(SO_ERR_INVALID, "so_ode_solve: save_times[%zu] = %g lies outside "
                            "the span [%g, %g]; expected t0 <= t <= t1 (or t1 <= t <= t0)",
                            i, ts, t0, t1);
        if (i > 0 && dir * (ts - save_times[i - 1]) < 0.0)
            return so_fail_(SO_ERR_INVALID, "so_ode_solve: save_times[%zu] = %g comes before "
                            "save_times[%zu] = %g in the direction of integration; sort the "
                            "save times from t0 to t1", i, ts, i - 1, save_times[i - 1]);
    }
    return SO_OK;
}

/* Copies y into every remaining save row whose time equals t. */
static void save_exact(solve_run *run, const double *y)
{
    const size_t n = run->ode->n;
    while (run->next_save < run->nsave && run->save_times[run->next_save] == run->t) {
        memcpy(run->ysave + run->next_save * n, y, n * sizeof(double));
        run->next_save++;
    }
}

static int callback_failure(int status, double t, double dt)
{
    return so_fail_(SO_ERR_CALLBACK, "ODE right-hand side returned status %d at t = %.17g "
                    "(step dt = %.17g); a negative status stops the solve", status, t, dt);
}

/* Evaluates k[0] = f(t0, y0). No smaller step can avoid this evaluation, so any
 * nonzero status stops the solve. */
static int evaluate_start(solve_run *run)
{
    run->stats->nfev++;
    int status = run->rhs(run->user, run->t, run->ode->y, run->ode->k);
    if (status != 0)
        return so_fail_(SO_ERR_CALLBACK, "ODE right-hand side returned status %d at the "
                        "initial point t0 = %.17g, where a smaller step cannot help",
                        status, run->t);
    for (size_t q = 0; q < run->ode->n; q++)
        if (!isfinite(run->ode->k[q]))
            return so_fail_(SO_ERR_NONFINITE, "ODE right-hand side wrote f[%zu] = %g at the "
                            "initial point t0 = %.17g; expected finite derivatives there, "
                            "where a smaller step cannot help", q, run->ode->k[q], run->t);
    return SO_OK;
}

/* Accepts the candidate step to t_new. With events attached it first looks for events
 * in the step, which may end the solve at a terminal event t_stop inside it. Then it
 * fills the save times up to t_stop from the dense output, records the step and makes
 * the state at t_stop current. An event function failure returns before anything of
 * the step is kept. */
static int accept_step(solve_run *run, double t_new, double error)
{
    so_ode *ode = run->ode;
    const so_ode_method *m = ode->method;
    const size_t n = ode->n;
    const double h = t_new - run->t;
    const double *f_end = m->fsal ? ode->k + (size_t)(m->stages - 1) * n : ode->f_new;
    double t_stop = t_new;

    if (run->events.events != NULL) {
        int status = so_ode_events_step_(&run->events, ode, run->t, t_new, f_end, &t_stop);
        if (status != SO_OK)
            return status;
        run->stopped = run->events.events->stopped;
    }
    while (run->next_save < run->nsave &&
           run->dir * (run->save_times[run->next_save] - t_stop) <= 0.0) {
        double ts = run->save_times[run->next_save];
        so_ode_dense_eval_(ode, h, f_end, ts == t_new ? 1.0 : (ts - run->t) / h,
                           run->ysave + run->next_save * n);
        run->next_save++;
    }
    /* A terminal event truncates the recorded step: its dt ends at the event, while its
     * error and stiffness are those of the full step, whose end state is replaced by
     * the dense output at the event. */
    int status = so_ode_record_step_(ode, run->t, t_stop - run->t, error);
    if (status != SO_OK)
        return status;
    if (t_stop != t_new) {
        /* The solve ends at the event, so the k[0] = f(t_new, y_new) copied below is
         * never used. */
        so_ode_dense_eval_(ode, h, f_end, (t_stop - run->t) / h, ode->y_stage);
        memcpy(ode->y_new, ode->y_stage, n * sizeof(double));
    }
    double *tmp = ode->y;
    ode->y = ode->y_new;
    ode->y_new = tmp;
    memcpy(ode->k, f_end, n * sizeof(double));
    run->stats->last_dt = t_stop - run->t;
    run->t = t_stop;
    run->stats->t = t_stop;
    run->stats->accepted++;
    run->stats->last_error = error;
    run->stats->stiffness = ode->stiffness;
    return SO_OK;
}

static double min_step(const so_ode *ode, double t, double t1)
{
    if (ode->options.dt_min > 0.0)
        return ode->options.dt_min;
    return 16.0 * DBL_EPSILON * fmax(fabs(t), fabs(t1));
}

static int step_too_small(const solve_run *run, double dt)
{
    if (run->nonfinite_error)
        return so_fail_(SO_ERR_NUMERIC, "ODE step size dt = %.6g at t = %.17g fell below "
                        "the minimum %.6g while the error estimate stayed NaN or infinite; "
                        "the right-hand side returns NaN or overflows just after t, so check "
                        "f there", dt, run->t, min_step(run->ode, run->t, run->t1));
    return so_fail_(SO_ERR_NUMERIC, "ODE step size dt = %.6g at t = %.17g fell below the "
                    "minimum %.6g; the problem may be stiff or singular there, or the "
                    "right-hand side keeps asking for retries; loosen rtol/atol or lower "
                    "dt_min", dt, run->t, min_step(run->ode, run->t, run->t1));
}

static int too_many_steps(const solve_run *run)
{
    return so_fail_(SO_NOT_CONVERGED, "ODE solve reached max_steps = %ld at t = %.17g "
                    "before t1 = %.17g; raise max_steps or loosen rtol/atol",
                    run->ode->options.max_steps, run->t, run->t1);
}

/* Fixed-step methods take N = ceil(|t1 - t0| / dt) equal steps; a positive rhs status
 * splits the current step into halves until it succeeds or falls below dt_min. */
static int solve_fixed(solve_run *run, double t0)
{
    so_ode *ode = run->ode;
    const double span = fabs(run->t1 - t0);
    const double ratio = span / ode->options.dt;
    if (!(ratio < (double)ode->options.max_steps + 1.0))
        return too_many_steps(run);
    long nsteps = (long)ceil(ratio * (1.0 - 1e-12));
    if (nsteps < 1)
        nsteps = 1;
    const double h_grid = (run->t1 - t0) / (double)nsteps;
    int status = evaluate_start(run);
    if (status != SO_OK)
        return status;
    status = so_ode_events_begin_(&run->events, ode, t0, run->t1);
    if (status != SO_OK)
        return status;
    for (long i = 0; i < nsteps; i++) {
        double target = i == nsteps - 1 ? run->t1 : t0 + (double)(i + 1) * h_grid;
        double h = fabs(target - run->t);
        while (run->t != target) {
            if (run->attempts >= ode->options.max_steps)
                return too_many_steps(run);
            double t_new = h >= fabs(target - run->t) ? target : run->t + run->dir * h;
            run->attempts++;
            status = so_ode_rk_step_(ode, run->rhs, run->user, run->t, t_new,
                                     &run->stats->nfev);
            if (status < 0)
                return callback_failure(status, run->t, t_new - run->t);
            if (status > 0) {
                run->stats->rejected++;
                h = 0.5 * fabs(t_new - run->t);
                if (h < min_step(ode, run->t, run->t1))
                    return step_too_small(run, h);
                continue;
            }
            for (size_t q = 0; q < ode->n; q++)
                if (!isfinite(ode->y_new[q]))
                    return so_fail_(SO_ERR_NONFINITE, "ODE solution component %zu became "
                                    "%g in the step from t = %.17g to %.17g; reduce dt",
                                    q, ode->y_new[q], run->t, t_new);
            status = accept_step(run, t_new, 0.0);
            if (status != SO_OK || run->stopped)
                return status;
        }
    }
    return SO_OK;
}

/* Adaptive stepping with the PI controller
 * factor = safety * E_n^(-beta1) * E_(n-1)^(beta2), clamped to [factor_min,
 * factor_max] and to 1 right after a rejection. */
static int solve_adaptive(solve_run *run)
{
    so_ode *ode = run->ode;
    const so_ode_options *o = &ode->options;
    int status = evaluate_start(run);
    if (status != SO_OK)
        return status;
    status = so_ode_events_begin_(&run->events, ode, run->t, run->t1);
    if (status != SO_OK)
        return status;
    double h = o->dt;
    if (h <= 0.0) {
        status = so_ode_initial_step_(ode, run->rhs, run->user, run->t, run->t1, &h,
                                      &run->stats->nfev);
        if (status < 0)
            return callback_failure(status, run->t, 0.0);
        if (status > 0)
            return so_fail_(SO_ERR_CALLBACK, "ODE right-hand side returned status %d "
                            "for every trial of the first step from t = %.17g", status,
                            run->t);
    }
    const double dt_max = o->dt_max > 0.0 ? o->dt_max : fabs(run->t1 - run->t);
    if (h > dt_max)
        h = dt_max;
    double error_prev = 1e-4;
    int rejected_last = 0;

    while (run->t != run->t1) {
        if (run->attempts >= o->max_steps)
            return too_many_steps(run);
        double remaining = fabs(run->t1 - run->t);
        int last = h >= remaining;
        double t_new = last ? run->t1 : run->t + run->dir * h;
        if (!last && h < min_step(ode, run->t, run->t1))
            return step_too_small(run, h);
        run->attempts++;
        status = so_ode_rk_step_(ode, run->rhs, run->user, run->t, t_new,
                                 &run->stats->nfev);
        if (status < 0)
            return callback_failure(status, run->t, t_new - run->t);
        if (status > 0) {
            run->stats->rejected++;
            rejected_last = 1;
            run->nonfinite_error = 0;
            h = 0.5 * fabs(t_new - run->t);
            if (h < min_step(ode, run->t, run->t1))
                return step_too_small(run, h);
            continue;
        }
        const double h_used = fabs(t_new - run->t);
        double error = so_ode_error_norm_(ode);
        if (!(error <= 1.0)) {
            run->stats->rejected++;
            rejected_last = 1;
            run->nonfinite_error = !isfinite(error);
            double factor = isfinite(error) ? o->safety * pow(error, -o->beta1) : 0.0;
            h = h_used * fmax(o->factor_min, fmin(1.0, factor));
            if (h < min_step(ode, run->t, run->t1))
                return step_too_small(run, h);
            continue;
        }
        status = accept_step(run, t_new, error);
        if (status != SO_OK || run->stopped)
            return status;
        double factor = error == 0.0 ? o->factor_max
                                     : o->safety * pow(error, -o->beta1) *
                                           pow(error_prev, o->beta2);
        factor = fmin(o->factor_max, fmax(o->factor_min, factor));
        if (rejected_last)
            factor = fmin(factor, 1.0);
        rejected_last = 0;
        error_prev = fmax(error, 1e-4);
        /* A step shortened to land on t1 is not a guide to the next step size. */
        h = fmin(dt_max, (last ? fmax(h, h_used) : h_used) * factor);
    }
    return SO_OK;
}

int so_ode_solve(so_ode *ode, so_ode_rhs_fn rhs, void *user, double t0, double t1,
                 const double *y0, const double *save_times, size_t nsave,
                 double *ysave, so_ode_stats *stats)
{
    so_ode_stats local;
    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->t = t0;
    stats->stiffness = NAN;
    int status = check_arguments(ode, rhs, t0, t1, y0, save_times, nsave, ysave);
    if (status != SO_OK)
        return status;
    if (ode->events != NULL) {
        status = so_ode_events_check_(ode->events, "so_ode_solve");
        if (status != SO_OK)
            return status;
        ode->events->found = 0;
        ode->events->stopped = 0;
    }
    memmove(ode->y, y0, ode->n * sizeof(double));
    ode->nsteps = 0;

    solve_run run = {ode, rhs, user, t0, t1, t1 >= t0 ? 1.0 : -1.0, save_times, nsave,
                     0, ysave, stats, 0, {0}, 0, 0};
    save_exact(&run, ode->y);
    if (t0 == t1)
        return SO_OK;
    if (ode->method->error_weights == NULL)
        status = solve_fixed(&run, t0);
    else
        status = solve_adaptive(&run);
    so_ode_events_end_(&run.events);
    return status;
}
