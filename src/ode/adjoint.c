/* Replay of recorded Runge-Kutta steps with the step pattern held fixed, and the
 * discrete adjoint of that replay. The adjoint is the exact gradient of a loss on the
 * saved states and on the error and stiffness regularizers with respect to y0 and the
 * parameters of f. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "ode/ode_internal.h"

/* End of recorded step j. Inside the list it is the start of the next step, which is
 * the solver's t_new bit for bit. The last step ends at t + dt. */
static double step_end(const so_ode_step *steps, size_t nsteps, size_t j)
{
    return j + 1 < nsteps ? steps[j + 1].t : steps[j].t + steps[j].dt;
}

static int check_common(const char *caller, const so_ode *ode, so_ode_rhs_fn rhs,
                        const double *y0, const so_ode_step *steps, size_t nsteps,
                        const double *save_times, size_t nsave, const void *save_out,
                        const char *save_out_name)
{
    if (ode == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: the solver is NULL; pass the solver that "
                        "recorded the steps", caller);
    if (rhs == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: rhs is NULL; pass the right-hand side "
                        "function", caller);
    if (y0 == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: y0 is NULL; pass the n initial values",
                        caller);
    if (steps == NULL || nsteps == 0)
        return so_fail_(SO_ERR_INVALID, "%s: no recorded steps (steps = %p, nsteps = "
                        "%zu); call so_ode_record_steps(ode, 1) before so_ode_solve and "
                        "pass so_ode_steps()", caller, (const void *)steps, nsteps);
    for (size_t q = 0; q < ode->n; q++)
        if (!isfinite(y0[q]))
            return so_fail_(SO_ERR_INVALID, "%s: y0[%zu] = %g; expected a finite initial "
                            "state", caller, q, y0[q]);
    const double dir = steps[0].dt > 0.0 ? 1.0 : -1.0;
    for (size_t j = 0; j < nsteps; j++) {
        const so_ode_step *st = &steps[j];
        if (!isfinite(st->t) || !isfinite(st->dt) || st->dt == 0.0 || dir * st->dt < 0.0)
            return so_fail_(SO_ERR_INVALID, "%s: steps[%zu] has t = %g, dt = %g; expected "
                            "finite t and a nonzero dt with the sign of steps[0].dt = %g",
                            caller, j, st->t, st->dt, steps[0].dt);
        const double end = step_end(steps, nsteps, j);
        if (!isfinite(end) || end == st->t)
            return so_fail_(SO_ERR_INVALID, "%s: steps[%zu] from t = %.17g with dt = %g ends "
                            "at %.17g; expected a step of nonzero, finite length in floating "
                            "point, as so_ode_solve records", caller, j, st->t, st->dt, end);
        if (j > 0) {
            const so_ode_step *prev = &steps[j - 1];
            double expected = prev->t + prev->dt;
            double slack = 8.0 * 2.220446049250313e-16 *
                           fmax(fabs(expected), fmax(fabs(st->t), fabs(prev->dt)));
            if (!(fabs(st->t - expected) <= slack))
                return so_fail_(SO_ERR_INVALID, "%s: steps[%zu].t = %.17g but steps[%zu] "
                                "ends at %.17g; expected the contiguous steps of one "
                                "solve", caller, j, st->t, j - 1, expected);
        }
    }
    if (nsave > 0 && (save_times == NULL || save_out == NULL))
        return so_fail_(SO_ERR_INVALID, "%s: nsave = %zu but %s is NULL", caller, nsave,
                        save_times == NULL ? "save_times" : save_out_name);
    const double t0 = steps[0].t, t_end = step_end(steps, nsteps, nsteps - 1);
    const double lo = fmin(t0, t_end), hi = fmax(t0, t_end);
    for (size_t i = 0; i < nsave; i++) {
        double ts = save_times[i];
        if (!(ts >= lo && ts <= hi))
            return so_fail_(SO_ERR_INVALID, "%s: save_times[%zu] = %.17g lies outside the "
                            "recorded span [%.17g, %.17g]", caller, i, ts, t0, t_end);
        if (i > 0 && dir * (ts - save_times[i - 1]) < 0.0)
            return so_fail_(SO_ERR_INVALID, "%s: save_times[%zu] = %g comes before "
                            "save_times[%zu] = %g in the direction of integration; sort "
                            "the save times from t0 to t1", caller, i, ts, i - 1,
                            save_times[i - 1]);
    }
    return SO_OK;
}

/* Forward pass shared by so_ode_replay and so_ode_adjoint. */
typedef struct forward_pass {
    so_ode *ode;
    so_ode_rhs_fn rhs;
    void *user;
    const so_ode_step *steps;
    size_t nsteps;
    const double *save_times;
    size_t nsave;
    double *ysave;            /* nsave x n output rows, or NULL */
    const double *dl_dysave;  /* nsave x n weights of the task loss, or NULL */
    double *row;              /* n values of scratch when ysave is NULL */
    so_ode_step *replayed;    /* nsteps output records, or NULL */
    double *y_start;          /* nsteps x n start states, or NULL */
    size_t *save_first;       /* nsteps + 1 save indices: step j fills
                               * [save_first[j], save_first[j + 1]), or NULL */
    /* Results */
    double task;              /* sum_k <dl_dysave_k, ysave_k> */
    double reg_error, reg_stiffness;
    long nfev;
} forward_pass;

static int callback_failure(const char *callback, int status, double t, double dt)
{
    return so_fail_(SO_ERR_CALLBACK, "ODE %s returned status %d at t = %.17g (recorded "
                    "step dt = %.17g); a replay keeps the recorded steps, so any nonzero "
                    "status stops it", callback, status, t, dt);
}

/* Writes the save row i (or scratch) from the dense output of the current step and adds
 * its inner product with dl_dysave row i to the task loss. */
static void fill_save(forward_pass *fp, size_t i, double h, const double *f_end,
                      double theta)
{
    const size_t n = fp->ode->n;
    double *out = fp->ysave != NULL ? fp->ysave + i * n : fp->row;
    so_ode_dense_eval_(fp->ode, h, f_end, theta, out);
    if (fp->dl_dysave != NULL)
        for (size_t q = 0; q < n; q++)
            fp->task += fp->dl_dysave[i * n + q] * out[q];
}

/* Integrates exactly the recorded steps, as so_ode_solve accepted them, leaving the
 * final state in ode->y. */
static int run_forward(forward_pass *fp, const double *y0)
{
    so_ode *ode = fp->ode;
    const so_ode_method *m = ode->method;
    const size_t n = ode->n;
    const double dir = fp->steps[0].dt > 0.0 ? 1.0 : -1.0;
    double t = fp->steps[0].t;
    size_t next = 0;

    memmove(ode->y, y0, n * sizeof(double));
    while (next < fp->nsave && fp->save_times[next] == t) {
        fill_save(fp, next, 0.0, ode->y, 0.0);
        next++;
    }
    fp->nfev++;
    int status = fp->rhs(fp->user, t, ode->y, ode->k);
    if (status != 0)
        return callback_failure("right-hand side", status, t, fp->steps[0].dt);

    for (size_t j = 0; j < fp->nsteps; j++) {
        const double t_new = step_end(fp->steps, fp->nsteps, j);
        const double h = t_new - t;
        if (fp->y_start != NULL)
            memcpy(fp->y_start + j * n, ode->y, n * sizeof(double));
        if (fp->save_first != NULL)
            fp->save_first[j] = next;
        status = so_ode_rk_step_(ode, fp->rhs, fp->user, t, t_new, &fp->nfev);
        if (status != 0)
            return callback_failure("right-hand side", status, t, h);
        for (size_t q = 0; q < n; q++)
            if (!isfinite(ode->y_new[q]))
                return so_fail_(SO_ERR_NONFINITE, "ODE replay: solution component %zu "
                                "became %g in recorded step %zu from t = %.17g to %.17g",
                                q, ode->y_new[q], j, t, t_new);
        const double error = m->error_weights != NULL ? so_ode_error_norm_(ode) : 0.0;
        const double *f_end = m->fsal ? ode->k + (size_t)(m->stages - 1) * n : ode->f_new;

        while (next < fp->nsave && dir * (fp->save_times[next] - t_new) <= 0.0) {
            double ts = fp->save_times[next];
            fill_save(fp, next, h, f_end, ts == t_new ? 1.0 : (ts - t) / h);
            next++;
        }
        fp->reg_error += error * fabs(h);
        if (m->fsal)
            fp->reg_stiffness += ode->stiffness * fabs(h);
        if (fp->replayed != NULL) {
            fp->replayed[j].t = t;
            fp->replayed[j].dt = h;
            fp->replayed[j].error = error;
            fp->replayed[j].stiffness = ode->stiffness;
        }
        double *tmp = ode->y;
        ode->y = ode->y_new;
        ode->y_new = tmp;
        memcpy(ode->k, f_end, n * sizeof(double));
        t = t_new;
    }
    if (fp->save_first != NULL)
        fp->save_first[fp->nsteps] = next;
    return SO_OK;
}

int so_ode_replay(so_ode *ode, so_ode_rhs_fn rhs, void *user, const double *y0,
                  const so_ode_step *steps, size_t nsteps, const double *save_times,
                  size_t nsave, double *ysave, so_ode_step *replayed,
                  so_ode_replay_stats *stats)
{
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    int status = check_common("so_ode_replay", ode, rhs, y0, steps, nsteps, save_times,
                              nsave, ysave, "ysave");
    if (status != SO_OK)
        return status;
    forward_pass fp = {.ode = ode, .rhs = rhs, .user = user, .steps = steps,
                       .nsteps = nsteps, .save_times = save_times, .nsave = nsave,
                       .ysave = ysave, .replayed = replayed};
    status = run_forward(&fp, y0);
    if (stats != NULL) {
        stats->reg_error = fp.reg_error;
        stats->reg_stiffness = fp.reg_stiffness;
        stats->nfev = fp.nfev;
    }
    return status;
}

/* ---- Reverse pass ---- */

/* Workspace of one adjoint computation. */
typedef struct adjoint_run {
    so_ode *ode;
    so_ode_rhs_fn rhs;
    so_ode_vjp_fn vjp;
    void *user;
    size_t np;
    double w_error, w_stiffness;
    double *ybar;      /* n: adjoint of the state at the start of the current step */
    double *ynew_bar;  /* n: adjoint of the state at its end */
    double *fend_bar;  /* n: adjoint of f(t_new, y_new) of methods without FSAL */
    double *kbar;      /* stages x n: adjoints of the stage derivatives */
    double *gbar;      /* stages x n: adjoints of the stage inputs */
    double *g;         /* n: a recomputed stage input */
    double *vy;        /* n: output of the VJP callback */
    double *vp;        /* np: output of the VJP callback, or NULL when np == 0 */
    double *grad_p;    /* np: accumulated parameter gradient, or NULL */
    double *probe;     /* (stages + 3) x (stages + 3) dense-output probe */
    long nvjp;
} adjoint_run;

/* Computes vy = (df/dy)^T v at (t, y) and adds (df/dp)^T v to grad_p. */
static int apply_vjp(adjoint_run *run, double t, const double *y, const double *v)
{
    run->nvjp++;
    int status = run->vjp(run->user, t, y, v, run->vy, run->vp);
    if (status != 0)
        return so_fail_(SO_ERR_CALLBACK, "ODE vector-Jacobian product returned status %d "
                        "at t = %.17g; so_ode_adjoint stops at any nonzero status", status,
                        t);
    for (size_t q = 0; q < run->ode->n; q++)
        if (!isfinite(run->vy[q]))
            return so_fail_(SO_ERR_NONFINITE, "ODE vector-Jacobian product wrote vy[%zu] = %g "
                            "at t = %.17g; expected finite values", q, run->vy[q], t);
    for (size_t i = 0; i < run->np; i++) {
        if (!isfinite(run->vp[i]))
            return so_fail_(SO_ERR_NONFINITE, "ODE vector-Jacobian product wrote vp[%zu] = %g "
                            "at t = %.17g; expected finite values", i, run->vp[i], t);
        run->grad_p[i] += run->vp[i];
    }
    return SO_OK;
}

/* Computes the coefficients of the dense output at theta by evaluating it on unit
 * vectors. The dense output is linear in y, y_new, the stages k_j and f_end, with
 * coefficients that depend only on h and theta. Component 0 of coef is the coefficient
 * of y, 1 of y_new, 2 + j of k_j and stages + 2 of f_end.
 * Probing dense.c itself keeps the adjoint in step with the interpolant that produced
 * the saved states. */
static void dense_coefficients(const adjoint_run *run, double h, double theta,
                               double *coef)
{
    const so_ode_method *m = run->ode->method;
    const size_t s = (size_t)m->stages, width = s + 3;
    double *basis = run->probe; /* rows: y, y_new, k_0 .. k_{s-1}, f_end */
    memset(basis, 0, width * width * sizeof(double));
    for (size_t r = 0; r < width; r++)
        basis[r * width + r] = 1.0;
    so_ode probe;
    memset(&probe, 0, sizeof probe);
    probe.method = m;
    probe.n = width;
    probe.y = basis;
    probe.y_new = basis + width;
    probe.k = basis + 2 * width;
    so_ode_dense_eval_(&probe, h, basis + (s + 2) * width, theta, coef);
}

/* Adds the adjoint of the save rows [first, last) of step (t, h) to y, y_new, k and
 * f_end. */
static void reverse_saves(adjoint_run *run, double t, double t_new, double h,
                          const double *save_times, const double *dl_dysave,
                          size_t first, size_t last)
{
    const so_ode *ode = run->ode;
    const so_ode_method *m = ode->method;
    const size_t n = ode->n, s = (size_t)m->stages;
    double *c = run->probe + (s + 3) * (s + 3); /* s + 3 coefficients */
    for (size_t i = first; i < last; i++) {
        double ts = save_times[i];
        dense_coefficients(run, h, ts == t_new ? 1.0 : (ts - t) / h, c);
        const double *v = dl_dysave + i * n;
        /* For FSAL methods f_end is the last stage. */
        double *f_target = m->fsal ? run->kbar + (s - 1) * n : run->fend_bar;
        for (size_t q = 0; q < n; q++) {
            run->ybar[q] += c[0] * v[q];
            run->ynew_bar[q] += c[1] * v[q];
            f_target[q] += c[s + 2] * v[q];
        }
        for (size_t j = 0; j < s; j++) {
            if (c[2 + j] == 0.0)
                continue;
            for (size_t q = 0; q < n; q++)
                run->kbar[j * n + q] += c[2 + j] * v[q];
        }
    }
}

/* Adds w_error |h| dE/d(.) for E = sqrt(mean_q (err_q / scale_q)^2), err = h sum_j e_j
 * k_j and scale_q = atol + rtol max(|y_q|, |y_new_q|). Where |y_q| = |y_new_q| the
 * derivative of the max goes to y_q, and d|y|/dy is taken as 0 at y = 0. */
static void reverse_error(adjoint_run *run, double h, double error)
{
    const so_ode *ode = run->ode;
    const so_ode_method *m = ode->method;
    const size_t n = ode->n, s = (size_t)m->stages;
    const double atol = ode->options.atol, rtol = ode->options.rtol;
    if (!(error > 0.0))
        return; /* E is not differentiable at 0, so the subgradient 0 is used. */
    const double ebar = run->w_error * fabs(h);
    for (size_t q = 0; q < n; q++) {
        double ay = fabs(ode->y[q]), an = fabs(ode->y_new[q]);
        double scale = atol + rtol * fmax(ay, an);
        double r = ode->err[q] / scale;
        double c = ebar * r / ((double)n * error); /* dL/dr_q */
        double err_bar = c / scale;
        double scale_bar = -c * r / scale;
        if (ay >= an) {
            double sign = ode->y[q] > 0.0 ? 1.0 : (ode->y[q] < 0.0 ? -1.0 : 0.0);
            run->ybar[q] += scale_bar * rtol * sign;
        } else {
            double sign = ode->y_new[q] > 0.0 ? 1.0 : -1.0;
            run->ynew_bar[q] += scale_bar * rtol * sign;
        }
        for (size_t j = 0; j < s; j++)
            run->kbar[j * n + q] += h * m->error_weights[j] * err_bar;
    }
}

/* Adds w_stiffness |h| dS/d(.) for S = ||k_{s-1} - k_{s-2}|| / ||y_new - g_{s-2}||, the
 * estimate of step.c (0 when either norm is 0, where the subgradient 0 is used). */
static void reverse_stiffness(adjoint_run *run, double h)
{
    const so_ode *ode = run->ode;
    const size_t n = ode->n, s = (size_t)ode->method->stages;
    const double *k_last = ode->k + (s - 1) * n, *k_prev = ode->k + (s - 2) * n;
    double num = 0.0, den = 0.0;
    for (size_t q = 0; q < n; q++) {
        double dk = k_last[q] - k_prev[q];
        double dy = ode->y_new[q] - ode->g_prev[q];
        num += dk * dk;
        den += dy * dy;
    }
    if (!(den > 0.0) || !(num > 0.0))
        return;
    const double stiffness = sqrt(num / den);
    const double sbar = run->w_stiffness * fabs(h);
    const double ck = sbar / (stiffness * den), cy = sbar * stiffness / den;
    for (size_t q = 0; q < n; q++) {
        double dk = k_last[q] - k_prev[q];
        double dy = ode->y_new[q] - ode->g_prev[q];
        run->kbar[(s - 1) * n + q] += ck * dk;
        run->kbar[(s - 2) * n + q] -= ck * dk;
        run->ynew_bar[q] -= cy * dy;
        run->gbar[(s - 2) * n + q] += cy * dy;
    }
}

/* Reverses the stages of the step from (t, ode->y) to t_new, whose stage derivatives
 * are in ode->k. It runs after the saves, E and S have added their seeds. It maps the
 * adjoint of y_new to the stages, then takes one VJP per stage from the last to the
 * first. */
static int reverse_stages(adjoint_run *run, double t, double t_new)
{
    so_ode *ode = run->ode;
    const so_ode_method *m = ode->method;
    const size_t n = ode->n, s = (size_t)m->stages;
    const double h = t_new - t;
    int status;

    if (m->fsal) {
        /* y_new is the input of the last stage, and f_end is that stage. */
        for (size_t q = 0; q < n; q++)
            run->gbar[(s - 1) * n + q] += run->ynew_bar[q];
    } else {
        int any = 0;
        for (size_t q = 0; q < n && !any; q++)
            any = run->fend_bar[q] != 0.0;
        if (any) {
            status = apply_vjp(run, t_new, ode->y_new, run->fend_bar);
            if (status != SO_OK)
                return status;
            for (size_t q = 0; q < n; q++)
                run->ynew_bar[q] += run->vy[q];
        }
        for (size_t q = 0; q < n; q++)
            run->ybar[q] += run->ynew_bar[q];
        for (size_t j = 0; j < s; j++)
            for (size_t q = 0; q < n; q++)
                run->kbar[j * n + q] += h * m->b[j] * run->ynew_bar[q];
    }
    for (size_t i = s - 1; i >= 1; i--) {
        const double *a = m->a + i * s;
        /* The stage input, by the same arithmetic as step.c. */
        for (size_t q = 0; q < n; q++) {
            double sum = 0.0;
            for (size_t j = 0; j < i; j++)
                sum += a[j] * ode->k[j * n + q];
            run->g[q] = ode->y[q] + h * sum;
        }
        status = apply_vjp(run, so_ode_stage_time_(t, t_new, m->c[i]), run->g, run->kbar + i * n);
        if (status != SO_OK)
            return status;
        double *gb = run->gbar + i * n;
        for (size_t q = 0; q < n; q++) {
            gb[q] += run->vy[q];
            run->ybar[q] += gb[q];
        }
        for (size_t j = 0; j < i; j++) {
            if (a[j] == 0.0)
                continue;
            for (size_t q = 0; q < n; q++)
                run->kbar[j * n + q] += h * a[j] * gb[q];
        }
    }
    status = apply_vjp(run, t, ode->y, run->kbar);
    if (status != SO_OK)
        return status;
    for (size_t q = 0; q < n; q++)
        run->ybar[q] += run->vy[q];
    return SO_OK;
}

static int check_adjoint(const so_ode *ode, so_ode_vjp_fn vjp, size_t np,
                         const double *grad_p, double w_error, double w_stiffness)
{
    if (vjp == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_adjoint: vjp is NULL; pass a function "
                        "that writes (df/dy)^T v and, when asked, (df/dp)^T v");
    if (np > 0 && grad_p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_adjoint: np = %zu but grad_p is NULL; "
                        "pass np values for the parameter gradient, or np = 0", np);
    if (!isfinite(w_error) || !isfinite(w_stiffness))
        return so_fail_(SO_ERR_INVALID, "so_ode_adjoint: weights w_error = %g, "
                        "w_stiffness = %g; expected finite values", w_error, w_stiffness);
    if (w_stiffness != 0.0 && !ode->method->fsal)
        return so_fail_(SO_ERR_INVALID, "so_ode_adjoint: w_stiffness = %g, but method %s "
                        "has no stiffness estimate (only the FSAL methods bosh3, dopri5 "
                        "and tsit5 have one); set w_stiffness = 0", w_stiffness,
                        ode->method->name);
    return SO_OK;
}

int so_ode_adjoint(so_ode *ode, so_ode_rhs_fn rhs, so_ode_vjp_fn vjp, void *user,
                   const double *y0, size_t np, const so_ode_step *steps, size_t nsteps,
                   const double *save_times, size_t nsave, const double *dl_dysave,
                   double w_error, double w_stiffness, double *grad_y0, double *grad_p,
                   so_ode_adjoint_stats *stats)
{
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    int status = check_common("so_ode_adjoint", ode, rhs, y0, steps, nsteps, save_times,
                              nsave, dl_dysave, "dl_dysave");
    if (status != SO_OK)
        return status;
    status = check_adjoint(ode, vjp, np, grad_p, w_error, w_stiffness);
    if (status != SO_OK)
        return status;

    const size_t n = ode->n, s = (size_t)ode->method->stages, width = s + 3;
    if (nsteps > ((size_t)-1) / sizeof(double) / n / 2)
        return so_fail_(SO_ERR_INVALID, "so_ode_adjoint: %zu steps of %zu values do not "
                        "fit in memory", nsteps, n);
    if (np > ((size_t)-1) / sizeof(double) / 4)
        return so_fail_(SO_ERR_INVALID, "so_ode_adjoint: np = %zu parameters do not fit in "
                        "memory; pass the number of values in grad_p", np);
    const size_t doubles = nsteps * n + (2 * s + 5) * n + np + 2 * width * width;
    double *block = so_calloc_(doubles, sizeof(double));
    size_t *save_first = so_calloc_(nsteps + 1, sizeof(size_t));
    if (block == NULL || save_first == NULL) {
        free(block);
        free(save_first);
        return SO_ERR_NOMEM;
    }
    adjoint_run run;
    memset(&run, 0, sizeof run);
    run.ode = ode;
    run.rhs = rhs;
    run.vjp = vjp;
    run.user = user;
    run.np = np;
    run.w_error = w_error;
    run.w_stiffness = w_stiffness;
    double *y_start = block;
    run.kbar = y_start + nsteps * n;
    run.gbar = run.kbar + s * n;
    run.ybar = run.gbar + s * n;
    run.ynew_bar = run.ybar + n;
    run.fend_bar = run.ynew_bar + n;
    run.g = run.fend_bar + n;
    run.vy = run.g + n;
    run.vp = np > 0 ? run.vy + n : NULL;
    run.probe = run.vy + n + np;
    run.grad_p = grad_p;
    for (size_t i = 0; i < np; i++)
        grad_p[i] = 0.0;

    forward_pass fp = {.ode = ode, .rhs = rhs, .user = user, .steps = steps,
                       .nsteps = nsteps, .save_times = save_times, .nsave = nsave,
                       .dl_dysave = dl_dysave, .row = run.g, .y_start = y_start,
                       .save_first = save_first};
    status = run_forward(&fp, y0);
    long nfev = fp.nfev;

    /* The adjoint of y at the end of the last step starts at zero, because every save
     * row is seeded inside the step that produced it. */
    memset(run.ybar, 0, n * sizeof(double));
    for (size_t jj = nsteps; jj-- > 0 && status == SO_OK;) {
        const double t = steps[jj].t, t_new = step_end(steps, nsteps, jj);
        const double h = t_new - t;
        memcpy(ode->y, y_start + jj * n, n * sizeof(double));
        nfev++;
        status = rhs(user, t, ode->y, ode->k);
        if (status != 0) {
            status = callback_failure("right-hand side", status, t, h);
            break;
        }
        status = so_ode_rk_step_(ode, rhs, user, t, t_new, &nfev);
        if (status != 0) {
            status = callback_failure("right-hand side", status, t, h);
            break;
        }
        memcpy(run.ynew_bar, run.ybar, n * sizeof(double));
        memset(run.ybar, 0, n * sizeof(double));
        memset(run.fend_bar, 0, n * sizeof(double));
        memset(run.kbar, 0, 2 * s * n * sizeof(double)); /* kbar and gbar */
        if (nsave > 0)
            reverse_saves(&run, t, t_new, h, save_times, dl_dysave, save_first[jj],
                          save_first[jj + 1]);
        if (w_error != 0.0 && ode->method->error_weights != NULL)
            reverse_error(&run, h, so_ode_error_norm_(ode));
        if (w_stiffness != 0.0)
            reverse_stiffness(&run, h);
        status = reverse_stages(&run, t, t_new);
    }
    if (status == SO_OK) {
        /* Save rows at t0 itself are copies of y0. */
        for (size_t i = 0; i < save_first[0]; i++)
            for (size_t q = 0; q < n; q++)
                run.ybar[q] += dl_dysave[i * n + q];
        if (grad_y0 != NULL)
            memcpy(grad_y0, run.ybar, n * sizeof(double));
    }
    if (stats != NULL) {
        stats->loss = fp.task + w_error * fp.reg_error + w_stiffness * fp.reg_stiffness;
        stats->reg_error = fp.reg_error;
        stats->reg_stiffness = fp.reg_stiffness;
        stats->nfev = nfev;
        stats->nvjp = run.nvjp;
    }
    free(block);
    free(save_first);
    return status;
}
