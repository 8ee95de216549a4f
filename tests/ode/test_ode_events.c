/* Event location and the per-step records. Event times are checked against closed
 * forms, with direction filtering, terminal stops, zeros on the step grid and at the
 * ends of the span, backward integration, event function failures and the argument
 * checks of so_ode_set_events. The accepted-step list of so_ode_steps is checked for
 * tiling, stiffness and the order of its error estimates. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ode.h"

static const double pi = 3.14159265358979323846;

/* Falling body x' = v, v' = -gravity. */
static int falling_rhs(void *user, double t, const double *y, double *dydt)
{
    const double gravity = *(const double *)user;
    (void)t;
    dydt[0] = y[1];
    dydt[1] = -gravity;
    return 0;
}

/* Harmonic oscillator y1' = y2, y2' = -y1; from (0, 1) at t = 0 it is (sin t, cos t). */
static int oscillator_rhs(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = y[1];
    dydt[1] = -y[0];
    return 0;
}

static int linear_rhs(void *user, double t, const double *y, double *dydt)
{
    const double lambda = *(const double *)user;
    (void)t;
    dydt[0] = lambda * y[0];
    return 0;
}

/* The logistic equation y' = y (1 - y). */
static int logistic_rhs(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = y[0] * (1.0 - y[0]);
    return 0;
}

/* State of the event functions below: the times at which they were called, and a
 * status returned from fail_after on. */
typedef struct probe {
    long calls;
    double t_min, t_max;
    double fail_after;
    int fail_status;
    double shift; /* time_event writes g_0 = t - shift */
} probe;

static void probe_init(probe *p)
{
    p->calls = 0;
    p->t_min = INFINITY;
    p->t_max = -INFINITY;
    p->fail_after = INFINITY;
    p->fail_status = 0;
    p->shift = 0.0;
}

static int probe_call(probe *p, double t)
{
    p->calls++;
    p->t_min = fmin(p->t_min, t);
    p->t_max = fmax(p->t_max, t);
    return t > p->fail_after ? p->fail_status : 0;
}

/* g_0 = y_0 (the height, or sin t for the oscillator). */
static int first_component_event(void *user, double t, const double *y, double *g)
{
    g[0] = y[0];
    return probe_call(user, t);
}

/* g_0 = y_0 = sin t and g_1 = y_1 = cos t for the oscillator. */
static int both_components_event(void *user, double t, const double *y, double *g)
{
    g[0] = y[0];
    g[1] = y[1];
    return probe_call(user, t);
}

/* g_0 = t - shift, an event at a known time independent of the solution. */
static int time_event(void *user, double t, const double *y, double *g)
{
    probe *p = user;
    (void)y;
    g[0] = t - p->shift;
    return probe_call(p, t);
}

static so_ode *make_solver(const so_ode_method *method, size_t n, double rtol, double atol,
                           double dt)
{
    so_ode_options o = so_ode_options_default();
    o.rtol = rtol;
    o.atol = atol;
    o.dt = dt;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, method, n, &o), SO_OK);
    return ode;
}

/* Events with room for 8 results; the caller sets fn, user and the options. */
typedef struct event_results {
    so_ode_events ev;
    double t[8];
    size_t which[8];
    double y[8][2];
} event_results;

static void results_init(event_results *r, size_t count, so_ode_event_fn fn, void *user)
{
    memset(r, 0, sizeof *r);
    r->ev.count = count;
    r->ev.fn = fn;
    r->ev.user = user;
    r->ev.capacity = 8;
    r->ev.t_event = r->t;
    r->ev.which = r->which;
    r->ev.y_event = &r->y[0][0];
}

/* A body dropped from height 10 hits the ground at T = sqrt(2 * 10 / gravity). Bounced
 * back with 0.8 times the impact speed, it lands again 1.6 T later. */
static void falling_body_hits_ground(void **state)
{
    (void)state;
    double gravity = 9.81;
    const double t_hit = sqrt(2.0 * 10.0 / gravity);
    const double y0[2] = {10.0, 0.0};
    const int direction = -1, terminal = 1;
    so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-12, 1e-12, 0.0);
    probe p;
    probe_init(&p);
    event_results r;
    results_init(&r, 1, first_component_event, &p);
    r.ev.direction = &direction;
    r.ev.terminal = &terminal;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);

    so_ode_stats stats;
    assert_int_equal(so_ode_solve(ode, falling_rhs, &gravity, 0.0, 5.0, y0, NULL, 0, NULL,
                                  &stats),
                     SO_OK);
    assert_int_equal(r.ev.found, 1);
    assert_int_equal(r.ev.stopped, 1);
    assert_int_equal(r.which[0], 0);
    print_message("falling body: event time error %.2e, %ld calls of g in %ld steps\n",
                  fabs(r.t[0] - t_hit), p.calls, stats.accepted);
    if (!(fabs(r.t[0] - t_hit) <= 1e-10))
        fail_msg("event at %.17g, expected %.17g", r.t[0], t_hit);
    assert_true(stats.t == r.t[0]);
    const double *y = so_ode_y(ode);
    assert_memory_equal(y, r.y[0], sizeof r.y[0]);
    assert_true(y[0] <= 0.0); /* the far side of the crossing */
    assert_true(fabs(y[0]) <= 1e-9);
    assert_true(fabs(y[1] + gravity * t_hit) <= 1e-9);
    assert_true(p.t_min >= 0.0 && p.t_max <= 5.0);

    /* Restart from the returned state with the velocity reversed. The height there is
     * zero or slightly negative, so the falling-only filter keeps the rising crossing
     * at the restart from counting. */
    const double t0 = stats.t;
    const double bounce[2] = {y[0], -0.8 * y[1]};
    assert_int_equal(so_ode_solve(ode, falling_rhs, &gravity, t0, 10.0, bounce, NULL, 0,
                                  NULL, &stats),
                     SO_OK);
    assert_int_equal(r.ev.found, 1);
    assert_int_equal(r.ev.stopped, 1);
    if (!(fabs(r.t[0] - 2.6 * t_hit) <= 1e-9))
        fail_msg("second impact at %.17g, expected %.17g", r.t[0], 2.6 * t_hit);
    so_ode_free(&ode);
}

/* sin t crosses zero at pi, 2 pi and 3 pi in (0, 10]; the zero at t0 = 0 is not an
 * event. */
static void oscillator_crossings_at_k_pi(void **state)
{
    (void)state;
    const double y0[2] = {0.0, 1.0};
    so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-10, 1e-12, 0.0);
    probe p;
    probe_init(&p);
    event_results r;
    results_init(&r, 1, first_component_event, &p);
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    so_ode_stats stats;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0, NULL,
                                  &stats),
                     SO_OK);
    assert_int_equal(r.ev.found, 3);
    assert_int_equal(r.ev.stopped, 0);
    assert_true(stats.t == 10.0);
    double max_error = 0.0;
    for (int k = 0; k < 3; k++)
        max_error = fmax(max_error, fabs(r.t[k] - (k + 1) * pi));
    print_message("oscillator: max event time error %.2e, %ld calls of g in %ld steps\n",
                  max_error, p.calls, stats.accepted);
    for (int k = 0; k < 3; k++) {
        if (!(fabs(r.t[k] - (k + 1) * pi) <= 1e-8))
            fail_msg("event %d at %.17g, expected %.17g", k, r.t[k], (k + 1) * pi);
        assert_int_equal(r.which[k], 0);
        assert_true(fabs(r.y[k][0]) <= 1e-8);
        assert_true(fabs(r.y[k][1] - (k % 2 == 0 ? -1.0 : 1.0)) <= 1e-8);
    }
    assert_true(p.t_min >= 0.0 && p.t_max <= 10.0);
    so_ode_free(&ode);
}

/* Rising only keeps 2 pi, falling only keeps pi and 3 pi. With cos t as a second
 * function, the events of both come in time order. */
static void direction_filters_crossings(void **state)
{
    (void)state;
    const double y0[2] = {0.0, 1.0};
    so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-10, 1e-12, 0.0);
    probe p;
    probe_init(&p);
    event_results r;

    const int rising = 1, falling = -1;
    results_init(&r, 1, first_component_event, &p);
    r.ev.direction = &rising;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0, NULL,
                                  NULL),
                     SO_OK);
    assert_int_equal(r.ev.found, 1);
    assert_true(fabs(r.t[0] - 2.0 * pi) <= 1e-8);

    r.ev.direction = &falling;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0, NULL,
                                  NULL),
                     SO_OK);
    assert_int_equal(r.ev.found, 2);
    assert_true(fabs(r.t[0] - pi) <= 1e-8);
    assert_true(fabs(r.t[1] - 3.0 * pi) <= 1e-8);

    const int directions[2] = {1, 0};
    results_init(&r, 2, both_components_event, &p);
    r.ev.direction = directions;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0, NULL,
                                  NULL),
                     SO_OK);
    const double expected_t[4] = {0.5 * pi, 1.5 * pi, 2.0 * pi, 2.5 * pi};
    const size_t expected_which[4] = {1, 1, 0, 1};
    assert_int_equal(r.ev.found, 4);
    for (int k = 0; k < 4; k++) {
        assert_true(fabs(r.t[k] - expected_t[k]) <= 1e-8);
        assert_int_equal(r.which[k], expected_which[k]);
    }
    so_ode_free(&ode);
}

/* g_i = t - shifts[i] for four functions. */
static int shifted_times_event(void *user, double t, const double *y, double *g)
{
    const double *shifts = user;
    (void)y;
    for (int i = 0; i < 4; i++)
        g[i] = t - shifts[i];
    return 0;
}

/* Four events inside one step of size 1 come out in time order, ties in index order,
 * up to the terminal one at 0.35 together with the other event at that time. */
static void several_events_in_one_step(void **state)
{
    (void)state;
    double shifts[4] = {0.4, 0.3, 0.35, 0.35};
    const int terminal[4] = {0, 0, 1, 0};
    const double y0[2] = {0.0, 1.0};
    so_ode_options o = so_ode_options_default();
    o.dt = 1.0;
    o.rtol = 1.0;
    o.atol = 1.0;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 2, &o), SO_OK);
    event_results r;
    results_init(&r, 4, shifted_times_event, shifts);
    r.ev.terminal = terminal;
    r.ev.xtol = 1e-13;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    so_ode_stats stats;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 1.0, y0, NULL, 0, NULL,
                                  &stats),
                     SO_OK);
    assert_int_equal(stats.accepted, 1);
    assert_int_equal(r.ev.found, 3);
    assert_int_equal(r.ev.stopped, 1);
    const size_t expected_which[3] = {1, 2, 3};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(r.which[k], expected_which[k]);
        assert_true(fabs(r.t[k] - shifts[expected_which[k]]) <= 1e-12);
    }
    assert_true(r.t[1] == r.t[2]);
    assert_true(stats.t == r.t[1]);
    so_ode_free(&ode);
}

/* A terminal event fills the save times up to and including it and leaves the later
 * rows untouched. g = t - 0.5 puts the event on the far side, t >= 0.5, so the save
 * time 0.5 is filled. */
static void terminal_stop_fills_saves_up_to_event(void **state)
{
    (void)state;
    const so_ode_method *methods[2] = {&so_ode_tsit5, &so_ode_rk4};
    const double allowed[2] = {1e-9, 1e-4}; /* RK4 with steps of 0.3: about 2e-5 */
    const double times[4] = {0.25, 0.5, 0.75, 1.0};
    const double y0[2] = {0.0, 1.0};
    const int terminal = 1;
    for (int m = 0; m < 2; m++) {
        so_ode *ode = make_solver(methods[m], 2, 1e-8, 1e-10, 0.3);
        probe p;
        probe_init(&p);
        p.shift = 0.5;
        event_results r;
        results_init(&r, 1, time_event, &p);
        r.ev.terminal = &terminal;
        r.ev.xtol = 1e-12;
        assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
        double ysave[4][2];
        for (int k = 0; k < 4; k++)
            ysave[k][0] = ysave[k][1] = NAN;
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 1.0, y0, times, 4,
                                      &ysave[0][0], &stats),
                         SO_OK);
        assert_int_equal(r.ev.found, 1);
        assert_int_equal(r.ev.stopped, 1);
        assert_true(stats.t == r.t[0]);
        assert_true(r.t[0] >= 0.5 && r.t[0] <= 0.5 + 1e-12);
        assert_true(fabs(ysave[0][0] - sin(0.25)) <= allowed[m]);
        assert_true(fabs(ysave[1][0] - sin(0.5)) <= allowed[m]);
        for (int k = 2; k < 4; k++)
            assert_true(isnan(ysave[k][0]) && isnan(ysave[k][1]));
        assert_true(p.t_max <= stats.t + 0.3);
        so_ode_free(&ode);
    }
}

/* The oscillator stopped at the first zero of sin t, pi, fills the saves 0, 1, 2, 3. */
static void terminal_stop_at_pi(void **state)
{
    (void)state;
    double times[11], ysave[11][2];
    for (int k = 0; k <= 10; k++) {
        times[k] = k;
        ysave[k][0] = ysave[k][1] = NAN;
    }
    const double y0[2] = {0.0, 1.0};
    const int terminal = 1;
    so_ode *ode = make_solver(&so_ode_dopri5, 2, 1e-10, 1e-12, 0.0);
    probe p;
    probe_init(&p);
    event_results r;
    results_init(&r, 1, first_component_event, &p);
    r.ev.terminal = &terminal;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    so_ode_stats stats;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, times, 11,
                                  &ysave[0][0], &stats),
                     SO_OK);
    assert_int_equal(r.ev.found, 1);
    assert_true(fabs(stats.t - pi) <= 1e-8);
    for (int k = 0; k <= 3; k++)
        assert_true(fabs(ysave[k][0] - sin(k)) <= 1e-8);
    for (int k = 4; k <= 10; k++)
        assert_true(isnan(ysave[k][0]));
    so_ode_free(&ode);
}

/* A zero at t0 is not an event, because g has no nonzero value before it; a zero at t1
 * is one, at t1 exactly. Both for an adaptive and a fixed-step method. */
static void events_at_span_ends(void **state)
{
    (void)state;
    const so_ode_method *methods[2] = {&so_ode_tsit5, &so_ode_midpoint};
    const double y0[2] = {0.0, 1.0};
    const int terminal = 1;
    for (int m = 0; m < 2; m++) {
        so_ode *ode = make_solver(methods[m], 2, 1e-8, 1e-10, 0.1);
        probe p;
        probe_init(&p);
        event_results r;
        results_init(&r, 1, time_event, &p);
        r.ev.terminal = &terminal;
        assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
        so_ode_stats stats;

        p.shift = 1.0;
        assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 1.0, 2.0, y0, NULL, 0,
                                      NULL, &stats),
                         SO_OK);
        assert_int_equal(r.ev.found, 0);
        assert_int_equal(r.ev.stopped, 0);
        assert_true(stats.t == 2.0);

        p.shift = 2.0;
        assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 1.0, 2.0, y0, NULL, 0,
                                      NULL, &stats),
                         SO_OK);
        assert_int_equal(r.ev.found, 1);
        assert_int_equal(r.ev.stopped, 1);
        assert_true(r.t[0] == 2.0);
        assert_true(stats.t == 2.0);
        assert_memory_equal(so_ode_y(ode), r.y[0], sizeof r.y[0]);
        assert_true(p.t_min >= 1.0 && p.t_max <= 2.0);
        so_ode_free(&ode);
    }
}

/* With steps of 0.25, g = t - 1 is exactly zero at the end of the fourth step. It is
 * reported once, at t = 1, and not again when the next step starts from that zero. */
static void grid_zero_reported_once(void **state)
{
    (void)state;
    const double y0[2] = {0.0, 1.0};
    so_ode *ode = make_solver(&so_ode_rk4, 2, 1e-3, 1e-6, 0.25);
    probe p;
    probe_init(&p);
    p.shift = 1.0;
    event_results r;
    results_init(&r, 1, time_event, &p);
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 2.0, y0, NULL, 0, NULL,
                                  NULL),
                     SO_OK);
    assert_int_equal(r.ev.found, 1);
    assert_true(r.t[0] == 1.0);
    /* Nine evaluations of g: at t0 and at the end of each of the 8 steps, with no
     * root search because the zero sits on the grid. */
    assert_int_equal(p.calls, 9);
    so_ode_free(&ode);
}

/* From t0 = 10 down to 0.5, sin t crosses zero at 3 pi, 2 pi and pi in that order.
 * Directions refer to the direction of integration: going backward, sin t rises
 * through zero at 3 pi and pi. */
static void backward_integration_events(void **state)
{
    (void)state;
    const double y0[2] = {sin(10.0), cos(10.0)};
    so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-10, 1e-12, 0.0);
    probe p;
    probe_init(&p);
    event_results r;
    results_init(&r, 1, first_component_event, &p);
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    so_ode_stats stats;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 10.0, 0.5, y0, NULL, 0, NULL,
                                  &stats),
                     SO_OK);
    assert_int_equal(r.ev.found, 3);
    for (int k = 0; k < 3; k++)
        assert_true(fabs(r.t[k] - (3 - k) * pi) <= 1e-8);
    assert_true(p.t_min >= 0.5 && p.t_max <= 10.0);

    const int rising = 1;
    r.ev.direction = &rising;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 10.0, 0.5, y0, NULL, 0, NULL,
                                  &stats),
                     SO_OK);
    assert_int_equal(r.ev.found, 2);
    assert_true(fabs(r.t[0] - 3.0 * pi) <= 1e-8);
    assert_true(fabs(r.t[1] - pi) <= 1e-8);

    const int terminal = 1;
    r.ev.terminal = &terminal;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 10.0, 0.5, y0, NULL, 0, NULL,
                                  &stats),
                     SO_OK);
    assert_int_equal(r.ev.found, 1);
    assert_true(stats.t == r.t[0]);
    assert_true(stats.last_dt < 0.0);
    assert_true(r.t[0] <= 3.0 * pi + 1e-8);
    so_ode_free(&ode);
}

/* RK4 with steps of 0.01 and Euler with steps of 1e-4 find the zeros of sin t through
 * their cubic Hermite dense output. */
static void fixed_step_method_events(void **state)
{
    (void)state;
    const so_ode_method *methods[2] = {&so_ode_rk4, &so_ode_euler};
    const double dt[2] = {0.01, 1e-4};
    const double allowed[2] = {1e-8, 2e-3};
    const double y0[2] = {0.0, 1.0};
    for (int m = 0; m < 2; m++) {
        so_ode *ode = make_solver(methods[m], 2, 1e-3, 1e-6, dt[m]);
        probe p;
        probe_init(&p);
        event_results r;
        results_init(&r, 1, first_component_event, &p);
        assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
        assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0,
                                      NULL, NULL),
                         SO_OK);
        assert_int_equal(r.ev.found, 3);
        for (int k = 0; k < 3; k++)
            if (!(fabs(r.t[k] - (k + 1) * pi) <= allowed[m]))
                fail_msg("%s: event %d at %.17g", methods[m]->name, k, r.t[k]);
        assert_true(p.t_min >= 0.0 && p.t_max <= 10.0);
        so_ode_free(&ode);
    }
}

/* A negative status stops the solve with SO_ERR_CALLBACK, and so does a positive one,
 * because an event function has no retry meaning. The last accepted step ends before
 * the failing call. */
static void event_function_status_stops(void **state)
{
    (void)state;
    const double y0[2] = {0.0, 1.0};
    const int statuses[2] = {-1, 1};
    for (int s = 0; s < 2; s++) {
        so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-8, 1e-10, 0.0);
        probe p;
        probe_init(&p);
        p.fail_after = 2.0;
        p.fail_status = statuses[s];
        event_results r;
        results_init(&r, 1, first_component_event, &p);
        assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0,
                                      NULL, &stats),
                         SO_ERR_CALLBACK);
        assert_non_null(strstr(so_last_error(), "event function"));
        assert_non_null(strstr(so_last_error(), "t = "));
        assert_true(stats.t <= 2.0 && stats.t > 0.0);
        assert_int_equal(r.ev.found, 0);

        /* A failure at t0 stops before the first step. */
        p.fail_after = -1.0;
        assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0,
                                      NULL, &stats),
                         SO_ERR_CALLBACK);
        assert_int_equal(stats.accepted, 0);
        so_ode_free(&ode);
    }
}

static void set_events_rejects_bad_arguments(void **state)
{
    (void)state;
    so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-6, 1e-9, 0.0);
    probe p;
    probe_init(&p);
    event_results r;
    const int bad_direction[2] = {0, 2};

    results_init(&r, 1, first_component_event, &p);
    assert_int_equal(so_ode_set_events(NULL, &r.ev), SO_ERR_INVALID);
    r.ev.count = 0;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "count"));
    results_init(&r, 1, NULL, &p);
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "fn"));
    results_init(&r, 1, first_component_event, &p);
    r.ev.t_event = NULL;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "t_event"));
    r.ev.capacity = 0;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    results_init(&r, 2, both_components_event, &p);
    r.ev.direction = bad_direction;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "direction[1] = 2"));
    const double bad_xtol[3] = {-1.0, NAN, INFINITY};
    for (int k = 0; k < 3; k++) {
        results_init(&r, 1, first_component_event, &p);
        r.ev.xtol = bad_xtol[k];
        assert_int_equal(so_ode_set_events(ode, &r.ev), SO_ERR_INVALID);
        assert_non_null(strstr(so_last_error(), "xtol"));
    }

    /* A struct made invalid after attaching is rejected by the solve. */
    const double y0[2] = {0.0, 1.0};
    results_init(&r, 1, first_component_event, &p);
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    r.ev.fn = NULL;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 1.0, y0, NULL, 0, NULL,
                                  NULL),
                     SO_ERR_INVALID);

    /* NULL detaches: the solve leaves the results alone and calls no event function. */
    results_init(&r, 1, first_component_event, &p);
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    assert_int_equal(so_ode_set_events(ode, NULL), SO_OK);
    r.ev.found = 99;
    p.calls = 0;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0, NULL,
                                  NULL),
                     SO_OK);
    assert_int_equal(r.ev.found, 99);
    assert_int_equal(p.calls, 0);
    so_ode_free(&ode);
}

/* Only the first `capacity` events are stored, but all are counted. */
static void capacity_limits_stored_events(void **state)
{
    (void)state;
    const double y0[2] = {0.0, 1.0};
    so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-10, 1e-12, 0.0);
    probe p;
    probe_init(&p);
    event_results r;
    results_init(&r, 1, first_component_event, &p);
    r.ev.capacity = 2;
    r.t[2] = -1.0;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0, NULL,
                                  NULL),
                     SO_OK);
    assert_int_equal(r.ev.found, 3);
    assert_true(fabs(r.t[1] - 2.0 * pi) <= 1e-8);
    assert_true(r.t[2] == -1.0);
    so_ode_free(&ode);
}

/* The records tile the span: one per accepted step, each starting where the previous
 * one ends, the first at t0 and the last ending at t1 (or at a terminal event). */
static void check_tiling(const so_ode *ode, const so_ode_stats *stats, double t0)
{
    size_t count = 0;
    const so_ode_step *steps = so_ode_steps(ode, &count);
    assert_int_equal(count, (size_t)stats->accepted);
    assert_true(count > 0);
    assert_true(steps[0].t == t0);
    for (size_t i = 1; i < count; i++)
        if (!(steps[i - 1].t + steps[i - 1].dt == steps[i].t))
            fail_msg("step %zu ends at %.17g, step %zu starts at %.17g", i - 1,
                     steps[i - 1].t + steps[i - 1].dt, i, steps[i].t);
    assert_true(steps[count - 1].t + steps[count - 1].dt == stats->t);
    assert_true(steps[count - 1].dt == stats->last_dt);
    assert_true(steps[count - 1].error == stats->last_error);
}

static void step_records_tile_span(void **state)
{
    (void)state;
    const so_ode_method *methods[3] = {&so_ode_tsit5, &so_ode_bosh3, &so_ode_rk4};
    const double y0[2] = {0.0, 1.0};
    const double spans[2][2] = {{0.0, 10.0}, {10.0, -0.5}};
    for (int m = 0; m < 3; m++)
        for (int s = 0; s < 2; s++) {
            so_ode *ode = make_solver(methods[m], 2, 1e-7, 1e-9, 0.3);
            assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
            so_ode_stats stats;
            assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, spans[s][0],
                                          spans[s][1], y0, NULL, 0, NULL, &stats),
                             SO_OK);
            assert_true(stats.t == spans[s][1]);
            check_tiling(ode, &stats, spans[s][0]);
            so_ode_free(&ode);
        }
}

/* On a terminal stop the last record is truncated to the event. */
static void step_records_end_at_terminal_event(void **state)
{
    (void)state;
    const double y0[2] = {0.0, 1.0};
    const int terminal = 1;
    so_ode *ode = make_solver(&so_ode_tsit5, 2, 1e-10, 1e-12, 0.0);
    assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
    probe p;
    probe_init(&p);
    event_results r;
    results_init(&r, 1, first_component_event, &p);
    r.ev.terminal = &terminal;
    assert_int_equal(so_ode_set_events(ode, &r.ev), SO_OK);
    so_ode_stats stats;
    assert_int_equal(so_ode_solve(ode, oscillator_rhs, NULL, 0.0, 10.0, y0, NULL, 0, NULL,
                                  &stats),
                     SO_OK);
    assert_int_equal(r.ev.stopped, 1);
    assert_true(stats.t == r.t[0]);
    check_tiling(ode, &stats, 0.0);
    so_ode_free(&ode);
}

/* Every record of Tsit5 on y' = lambda y carries the stiffness estimate |lambda|. */
static void step_records_stiffness(void **state)
{
    (void)state;
    const double rates[3] = {-3.7, 2.0, -40.0};
    const double y0 = 1.0;
    for (int i = 0; i < 3; i++) {
        double lambda = rates[i];
        so_ode *ode = make_solver(&so_ode_tsit5, 1, 1e-8, 1e-11, 0.0);
        assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, linear_rhs, &lambda, 0.0, 1.0, &y0, NULL, 0,
                                      NULL, &stats),
                         SO_OK);
        size_t count = 0;
        const so_ode_step *steps = so_ode_steps(ode, &count);
        assert_int_equal(count, (size_t)stats.accepted);
        for (size_t k = 0; k < count; k++)
            if (!(fabs(steps[k].stiffness - fabs(lambda)) <= 1e-10 * fabs(lambda)))
                fail_msg("lambda %g, step %zu: stiffness %.17g", lambda, k,
                         steps[k].stiffness);
        so_ode_free(&ode);
    }
}

/* The recorded error estimate of one Tsit5 step from the same point is the local error
 * of the order-4 embedded solution, so it shrinks like dt^5. Fixed steps (dt = dt_max)
 * with loose tolerances make every step pass. */
static void step_record_error_order(void **state)
{
    (void)state;
    const double dts[3] = {0.1, 0.05, 0.025};
    const double y0 = 0.1;
    double log_dt[3], log_e[3];
    for (int i = 0; i < 3; i++) {
        so_ode_options o = so_ode_options_default();
        o.dt = dts[i];
        o.dt_max = dts[i];
        o.rtol = 1.0;
        o.atol = 1.0;
        so_ode *ode = NULL;
        assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 1, &o), SO_OK);
        assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, logistic_rhs, NULL, 0.0, dts[i], &y0, NULL, 0,
                                      NULL, &stats),
                         SO_OK);
        size_t count = 0;
        const so_ode_step *steps = so_ode_steps(ode, &count);
        assert_int_equal(count, 1);
        assert_true(steps[0].dt == dts[i]);
        assert_true(steps[0].error > 0.0);
        log_dt[i] = log(dts[i]);
        log_e[i] = log(steps[0].error);
        so_ode_free(&ode);
    }
    double mean_x = (log_dt[0] + log_dt[1] + log_dt[2]) / 3.0;
    double mean_y = (log_e[0] + log_e[1] + log_e[2]) / 3.0;
    double sxy = 0.0, sxx = 0.0;
    for (int i = 0; i < 3; i++) {
        sxy += (log_dt[i] - mean_x) * (log_e[i] - mean_y);
        sxx += (log_dt[i] - mean_x) * (log_dt[i] - mean_x);
    }
    const double slope = sxy / sxx;
    print_message("error estimate slope %.4f\n", slope);
    if (!(fabs(slope - 5.0) <= 0.3))
        fail_msg("slope of log E against log dt is %.4f, expected 5 +- 0.3", slope);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(falling_body_hits_ground),
        cmocka_unit_test(oscillator_crossings_at_k_pi),
        cmocka_unit_test(direction_filters_crossings),
        cmocka_unit_test(several_events_in_one_step),
        cmocka_unit_test(terminal_stop_fills_saves_up_to_event),
        cmocka_unit_test(terminal_stop_at_pi),
        cmocka_unit_test(events_at_span_ends),
        cmocka_unit_test(grid_zero_reported_once),
        cmocka_unit_test(backward_integration_events),
        cmocka_unit_test(fixed_step_method_events),
        cmocka_unit_test(event_function_status_stops),
        cmocka_unit_test(set_events_rejects_bad_arguments),
        cmocka_unit_test(capacity_limits_stored_events),
        cmocka_unit_test(step_records_tile_span),
        cmocka_unit_test(step_records_end_at_terminal_event),
        cmocka_unit_test(step_records_stiffness),
        cmocka_unit_test(step_record_error_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
