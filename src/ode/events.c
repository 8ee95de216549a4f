/* Event location: sign changes of user functions g_i(t, y) inside accepted steps,
 * found on the step's dense output by the Illinois variant of regula falsi.
 *
 * Rule for zeros: an event of g_i happens in a step when g_i is nonzero at the step's
 * start and zero or of the opposite sign at its end. Its direction is rising when the
 * start value is negative and falling when it is positive, in the direction of
 * integration. So a zero at t0 is never an event, and a zero that falls exactly on the
 * end of a step is reported once, in that step, and not again in the next step, whose
 * start value is that zero. The reported time is the end of the final bracket on the
 * far side of the crossing, where g_i on the dense output is zero or of the opposite
 * sign, within xtol of the root. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "ode/ode_internal.h"

/* Cap on the iterations of one root search. The bracket at least halves every three
 * iterations, so 200 covers a bracket of 60 binary orders of magnitude. When the cap
 * is hit, the far end b is returned with a bracket wider than xtol. */
enum { MAX_ROOT_ITERATIONS = 200 };

int so_ode_events_check_(const so_ode_events *events, const char *caller)
{
    if (events->count == 0)
        return so_fail_(SO_ERR_INVALID, "%s: events->count = 0; expected at least one "
                        "event function", caller);
    if (events->count > SIZE_MAX / 64)
        return so_fail_(SO_ERR_INVALID, "%s: events->count = %zu is too large", caller,
                        events->count);
    if (events->fn == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: events->fn is NULL; pass the function that "
                        "writes g_0 .. g_%zu", caller, events->count - 1);
    if (events->capacity > 0 && events->t_event == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: events->capacity = %zu but events->t_event "
                        "is NULL; pass an array of capacity times or set capacity to 0",
                        caller, events->capacity);
    if (events->direction != NULL)
        for (size_t i = 0; i < events->count; i++)
            if (events->direction[i] < -1 || events->direction[i] > 1)
                return so_fail_(SO_ERR_INVALID, "%s: events->direction[%zu] = %d; expected "
                                "-1 (falling), 0 (both) or +1 (rising)", caller, i,
                                events->direction[i]);
    if (!(isfinite(events->xtol) && events->xtol >= 0.0))
        return so_fail_(SO_ERR_INVALID, "%s: events->xtol = %g; expected a finite "
                        "tolerance >= 0 (0 selects the default)", caller, events->xtol);
    return SO_OK;
}

int so_ode_set_events(so_ode *ode, so_ode_events *events)
{
    if (ode == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_set_events: the solver is NULL; create it "
                        "with so_ode_new");
    if (events != NULL) {
        int status = so_ode_events_check_(events, "so_ode_set_events");
        if (status != SO_OK)
            return status;
        events->found = 0;
        events->stopped = 0;
    }
    ode->events = events;
    return SO_OK;
}

/* Evaluates g at (t, y) into g. Unlike a positive status from rhs, which retries the
 * step, any nonzero status from the event function stops the solve, as does a NaN or
 * infinite g. */
static int evaluate_g(const so_ode_events *ev, double t, const double *y, double *g)
{
    int status = ev->fn(ev->user, t, y, g);
    if (status != 0)
        return so_fail_(SO_ERR_CALLBACK, "ODE event function returned status %d at t = "
                        "%.17g; any nonzero status stops the solve", status, t);
    for (size_t i = 0; i < ev->count; i++)
        if (!isfinite(g[i]))
            return so_fail_(SO_ERR_CALLBACK, "ODE event function wrote g[%zu] = %g at t = "
                            "%.17g; expected finite values", i, g[i], t);
    return SO_OK;
}

int so_ode_events_begin_(so_ode_event_run_ *run, so_ode *ode, double t0, double t1)
{
    memset(run, 0, sizeof *run);
    so_ode_events *ev = ode->events;
    if (ev == NULL)
        return SO_OK;
    run->events = ev;
    run->xtol = ev->xtol > 0.0 ? ev->xtol : 4.0 * DBL_EPSILON * fmax(fabs(t0), fabs(t1));
    run->g_start = so_calloc_(4 * ev->count + ode->n, sizeof(double));
    run->hit_which = so_calloc_(ev->count, sizeof(size_t));
    if (run->g_start == NULL || run->hit_which == NULL) {
        so_ode_events_end_(run);
        return SO_ERR_NOMEM;
    }
    run->g_end = run->g_start + ev->count;
    run->g_trial = run->g_end + ev->count;
    run->hit_t = run->g_trial + ev->count;
    run->y_trial = run->hit_t + ev->count;
    return evaluate_g(ev, t0, ode->y, run->g_start);
}

void so_ode_events_end_(so_ode_event_run_ *run)
{
    free(run->g_start);
    free(run->hit_which);
    run->g_start = NULL;
    run->hit_which = NULL;
}

static int sign_of(double x)
{
    return (x > 0.0) - (x < 0.0);
}

/* Evaluates g on the dense output of the step from t (size h) at time tc. */
static int evaluate_g_dense(so_ode_event_run_ *run, const so_ode *ode, double t, double h,
                            const double *f_end, double tc)
{
    so_ode_dense_eval_(ode, h, f_end, (tc - t) / h, run->y_trial);
    return evaluate_g(run->events, tc, run->y_trial, run->g_trial);
}

/* Locates the root of g_i in the step from t to t_new, where g_i(t) = ga is nonzero and
 * g_i(t_new) = gb is zero or of the opposite sign. Keeps a bracket [a, b] with g(a) of
 * the sign of ga and g(b) zero or opposite, and returns b once |b - a| <= xtol, g(b) is
 * exactly zero or no double lies strictly between a and b. */
static int locate_root(so_ode_event_run_ *run, const so_ode *ode, size_t i, double t,
                       double t_new, const double *f_end, double *t_root)
{
    const double h = t_new - t;
    const int start_sign = sign_of(run->g_start[i]);
    double a = t, fa = run->g_start[i];
    double b = t_new, fb = run->g_end[i];
    /* For the Illinois rule: +1 when b was replaced last, -1 when a was. */
    int last_replaced = 0;
    double width_before = fabs(b - a);

    for (int iter = 0; iter < MAX_ROOT_ITERATIONS && fb != 0.0; iter++) {
        const double width = fabs(b - a);
        if (width <= run->xtol)
            break;
        double c = b - fb * (b - a) / (fb - fa);
        /* Bisect when the secant point leaves the open bracket, and every third
         * iteration unless the last three shrank the bracket at least by half. */
        if (iter % 3 == 2) {
            if (width > 0.5 * width_before)
                c = a + 0.5 * (b - a);
            width_before = width;
        }
        if (!(fabs(c - a) > 0.0 && fabs(b - c) > 0.0 && (c - a) * (b - c) > 0.0))
            c = a + 0.5 * (b - a);
        if (c == a || c == b)
            break;
        int status = evaluate_g_dense(run, ode, t, h, f_end, c);
        if (status != SO_OK)
            return status;
        const double fc = run->g_trial[i];
        if (sign_of(fc) == start_sign) {
            a = c;
            fa = fc;
            if (last_replaced == -1)
                fb *= 0.5;
            last_replaced = -1;
        } else {
            b = c;
            fb = fc;
            if (last_replaced == 1)
                fa *= 0.5;
            last_replaced = 1;
        }
    }
    *t_root = b;
    return SO_OK;
}

/* Sorts the located events of a step by time in the direction of integration, keeping
 * the order of the function indices for equal times. */
static void sort_hits(so_ode_event_run_ *run, size_t nhits, double dir)
{
    for (size_t j = 1; j < nhits; j++) {
        const double tj = run->hit_t[j];
        const size_t wj = run->hit_which[j];
        size_t m = j;
        while (m > 0 && dir * (run->hit_t[m - 1] - tj) > 0.0) {
            run->hit_t[m] = run->hit_t[m - 1];
            run->hit_which[m] = run->hit_which[m - 1];
            m--;
        }
        run->hit_t[m] = tj;
        run->hit_which[m] = wj;
    }
}

/* Returns whether g_i crosses zero in the step in a requested direction. */
static int crosses(const so_ode_events *ev, size_t i, double ga, double gb)
{
    if (ga == 0.0 || sign_of(gb) == sign_of(ga))
        return 0;
    const int want = ev->direction != NULL ? ev->direction[i] : 0;
    return want == 0 || want == -sign_of(ga);
}

int so_ode_events_step_(so_ode_event_run_ *run, so_ode *ode, double t, double t_new,
                        const double *f_end, double *t_stop)
{
    so_ode_events *ev = run->events;
    const double dir = t_new >= t ? 1.0 : -1.0;
    *t_stop = t_new;
    int status = evaluate_g(ev, t_new, ode->y_new, run->g_end);
    if (status != SO_OK)
        return status;

    size_t nhits = 0;
    for (size_t i = 0; i < ev->count; i++) {
        if (!crosses(ev, i, run->g_start[i], run->g_end[i]))
            continue;
        status = locate_root(run, ode, i, t, t_new, f_end, &run->hit_t[nhits]);
        if (status != SO_OK)
            return status;
        run->hit_which[nhits++] = i;
    }
    sort_hits(run, nhits, dir);

    /* Report the events up to the earliest terminal one, with those at the same time. */
    size_t nreport = nhits;
    for (size_t j = 0; j < nhits; j++)
        if (ev->terminal != NULL && ev->terminal[run->hit_which[j]] != 0) {
            *t_stop = run->hit_t[j];
            ev->stopped = 1;
            nreport = j + 1;
            while (nreport < nhits && run->hit_t[nreport] == *t_stop)
                nreport++;
            break;
        }
    const size_t n = ode->n;
    for (size_t j = 0; j < nreport; j++) {
        const size_t row = ev->found++;
        if (row >= ev->capacity)
            continue;
        ev->t_event[row] = run->hit_t[j];
        if (ev->which != NULL)
            ev->which[row] = run->hit_which[j];
        if (ev->y_event != NULL)
            so_ode_dense_eval_(ode, t_new - t, f_end, (run->hit_t[j] - t) / (t_new - t),
                               ev->y_event + row * n);
    }
    memcpy(run->g_start, run->g_end, ev->count * sizeof(double));
    return SO_OK;
}
