/* Solver behaviour outside the happy path of accuracy: the empty span, backward
 * integration, save-at times, the span of right-hand-side evaluations, callback status
 * codes, step limits and argument checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ode.h"

static const so_ode_method *const all_methods[] = {&so_ode_euler,  &so_ode_midpoint,
                                                   &so_ode_rk4,    &so_ode_bosh3,
                                                   &so_ode_dopri5, &so_ode_tsit5};
enum { METHOD_COUNT = sizeof all_methods / sizeof all_methods[0] };

/* Records every time at which the right-hand side is called and can fail on demand. */
typedef struct recorder {
    double sign;       /* y' = sign * y */
    long calls;
    double t_min, t_max;
    double fail_after; /* calls with t beyond this time ... */
    int fail_status;   /* ... return this status */
    long fail_count;   /* at most this many times (negative: always) */
} recorder;

static void recorder_init(recorder *r, double sign)
{
    r->sign = sign;
    r->calls = 0;
    r->t_min = INFINITY;
    r->t_max = -INFINITY;
    r->fail_after = INFINITY;
    r->fail_status = 0;
    r->fail_count = 0;
}

static int exponential_rhs(void *user, double t, const double *y, double *dydt)
{
    recorder *r = user;
    r->calls++;
    r->t_min = fmin(r->t_min, t);
    r->t_max = fmax(r->t_max, t);
    if (t > r->fail_after && r->fail_count != 0) {
        if (r->fail_count > 0)
            r->fail_count--;
        return r->fail_status;
    }
    dydt[0] = r->sign * y[0];
    dydt[1] = r->sign * y[1];
    return 0;
}

/* Fixed-step methods get dt; adaptive ones their tolerances. */
static so_ode *make_solver(const so_ode_method *method, double dt, double tol)
{
    so_ode_options o = so_ode_options_default();
    if (method->error_weights == NULL)
        o.dt = dt;
    o.rtol = tol;
    o.atol = tol;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, method, 2, &o), SO_OK);
    return ode;
}

static void empty_span_returns_y0_with_zero_steps(void **state)
{
    (void)state;
    const double y0[2] = {1.0, 2.0}, t_save[2] = {0.0, 0.0};
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode *ode = make_solver(all_methods[m], 0.1, 1e-6);
        recorder r;
        recorder_init(&r, -1.0);
        double ysave[2][2] = {{-7.0, -7.0}, {-7.0, -7.0}};
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 0.0, y0, t_save, 2,
                                      &ysave[0][0], &stats),
                         SO_OK);
        assert_int_equal(r.calls, 0);
        assert_int_equal(stats.accepted, 0);
        assert_int_equal(stats.rejected, 0);
        assert_int_equal(stats.nfev, 0);
        assert_true(stats.t == 0.0 && stats.last_dt == 0.0);
        for (int k = 0; k < 2; k++)
            assert_memory_equal(ysave[k], y0, sizeof y0);
        assert_memory_equal(so_ode_y(ode), y0, sizeof y0);
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 0.0, y0, NULL, 0,
                                      NULL, NULL),
                         SO_OK);
        assert_int_equal(r.calls, 0);
        so_ode_free(&ode);
        assert_null(ode);
    }
}

/* y' = y from t0 = 1 down to t1 = -1; the solution is y0 exp(t - 1). */
static void backward_integration_matches_exp(void **state)
{
    (void)state;
    const double allowed[METHOD_COUNT] = {5e-2, 1e-3, 1e-7, 1e-5, 1e-5, 1e-5};
    const double times[3] = {1.0, 0.25, -1.0};
    const double y0[2] = {1.0, -2.0};
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode *ode = make_solver(all_methods[m], 1e-2, 1e-7);
        recorder r;
        recorder_init(&r, 1.0);
        double ysave[3][2];
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 1.0, -1.0, y0, times, 3,
                                      &ysave[0][0], &stats),
                         SO_OK);
        assert_true(stats.t == -1.0);
        assert_true(stats.last_dt < 0.0);
        assert_true(r.t_min >= -1.0 && r.t_max <= 1.0);
        for (int k = 0; k < 3; k++)
            for (int q = 0; q < 2; q++) {
                double exact = y0[q] * exp(times[k] - 1.0);
                assert_true(fabs(ysave[k][q] - exact) <= allowed[m] * fabs(y0[q]));
            }
        assert_memory_equal(so_ode_y(ode), ysave[2], sizeof ysave[2]);
        so_ode_free(&ode);
    }
}

/* Save times inside steps come from the dense output: for the FSAL methods they cost
 * no evaluation, and they match exp(-t) to the accuracy of the interpolant. */
static void save_times_follow_the_solution(void **state)
{
    (void)state;
    enum { SAVES = 9 };
    const double times[SAVES] = {0.0, 0.013, 0.37, 1.0, 1.5, 2.718, 3.3, 4.99, 5.0};
    const double allowed[METHOD_COUNT] = {2e-2, 1e-4, 1e-8, 1e-6, 1e-6, 1e-6};
    const double y0[2] = {1.0, 3.0};
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode *ode = make_solver(all_methods[m], 1e-2, 1e-8);
        recorder r;
        recorder_init(&r, -1.0);
        double ysave[SAVES][2], y_end[2];
        so_ode_stats with_saves, without_saves;
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 5.0, y0, times, SAVES,
                                      &ysave[0][0], &with_saves),
                         SO_OK);
        for (int k = 0; k < SAVES; k++)
            for (int q = 0; q < 2; q++)
                assert_true(fabs(ysave[k][q] - y0[q] * exp(-times[k])) <= allowed[m]);
        assert_memory_equal(ysave[0], y0, sizeof y0);
        memcpy(y_end, so_ode_y(ode), sizeof y_end);
        assert_memory_equal(ysave[SAVES - 1], y_end, sizeof y_end);
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 5.0, y0, NULL, 0, NULL,
                                      &without_saves),
                         SO_OK);
        assert_int_equal(with_saves.accepted, without_saves.accepted);
        assert_memory_equal(so_ode_y(ode), y_end, sizeof y_end);
        if (all_methods[m]->fsal)
            assert_int_equal(with_saves.nfev, without_saves.nfev);
        so_ode_free(&ode);
    }
}

static void rhs_is_never_called_outside_the_span(void **state)
{
    (void)state;
    const double spans[3][2] = {{0.0, 1.3}, {2.0, -0.7}, {0.1, 0.1 + 3e-9}};
    const double y0[2] = {1.0, 1.0};
    for (int m = 0; m < METHOD_COUNT; m++)
        for (int s = 0; s < 3; s++) {
            const double t0 = spans[s][0], t1 = spans[s][1];
            for (int tol = 3; tol <= 12; tol += 3) {
                so_ode *ode = make_solver(all_methods[m], 0.07, pow(10.0, -tol));
                recorder r;
                recorder_init(&r, s == 1 ? 1.0 : -1.0);
                so_ode_stats stats;
                assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, t0, t1, y0, NULL, 0,
                                              NULL, &stats),
                                 SO_OK);
                assert_true(r.t_min >= fmin(t0, t1));
                assert_true(r.t_max <= fmax(t0, t1));
                assert_true(stats.t == t1);
                assert_int_equal(r.calls, stats.nfev);
                so_ode_free(&ode);
            }
        }
}

/* A positive status makes the solver retry with half the step; the result stays
 * accurate and the retries count as rejected steps. */
static void positive_status_retries_with_smaller_step(void **state)
{
    (void)state;
    const double y0[2] = {1.0, 1.0};
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode *ode = make_solver(all_methods[m], 0.25, 1e-8);
        recorder r;
        recorder_init(&r, -1.0);
        r.fail_after = 0.5;
        r.fail_status = 1;
        r.fail_count = 3;
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 1.0, y0, NULL, 0, NULL,
                                      &stats),
                         SO_OK);
        assert_int_equal(r.fail_count, 0);
        assert_true(stats.rejected >= 3);
        assert_true(stats.t == 1.0);
        double allowed = all_methods[m] == &so_ode_euler ? 0.1 : 1e-2;
        assert_true(fabs(so_ode_y(ode)[0] - exp(-1.0)) < allowed);
        so_ode_free(&ode);
    }
}

/* A right-hand side that keeps returning a positive status drives the step below the
 * minimum, and the error names t and dt. */
static void persistent_positive_status_hits_min_step(void **state)
{
    (void)state;
    const double y0[2] = {1.0, 1.0};
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode_options o = so_ode_options_default();
        o.dt = 0.25;
        o.dt_min = 1e-6;
        so_ode *ode = NULL;
        assert_int_equal(so_ode_new(&ode, all_methods[m], 2, &o), SO_OK);
        recorder r;
        recorder_init(&r, -1.0);
        r.fail_after = 0.6;
        r.fail_status = 2;
        r.fail_count = -1;
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 1.0, y0, NULL, 0, NULL,
                                      &stats),
                         SO_ERR_NUMERIC);
        assert_true(stats.t <= 0.6 && stats.t > 0.5);
        assert_non_null(strstr(so_last_error(), "dt = "));
        assert_non_null(strstr(so_last_error(), "at t = 0.5"));
        assert_true(r.t_max <= 1.0);
        so_ode_free(&ode);
    }
}

static void negative_status_stops_with_callback_error(void **state)
{
    (void)state;
    const double y0[2] = {1.0, 1.0};
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode *ode = make_solver(all_methods[m], 0.1, 1e-6);
        recorder r;
        recorder_init(&r, -1.0);
        r.fail_after = 0.5;
        r.fail_status = -3;
        r.fail_count = -1;
        double times[2] = {0.2, 0.9}, ysave[2][2] = {{0, 0}, {0, 0}};
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 1.0, y0, times, 2,
                                      &ysave[0][0], &stats),
                         SO_ERR_CALLBACK);
        assert_non_null(strstr(so_last_error(), "status -3"));
        assert_true(stats.t <= 0.5);
        assert_true(fabs(ysave[0][0] - exp(-0.2)) < 3e-2);
        assert_true(fabs(so_ode_y(ode)[0] - exp(-stats.t)) < 3e-2);
        so_ode_free(&ode);
    }
}

static void max_steps_stops_with_not_converged(void **state)
{
    (void)state;
    const double y0[2] = {1.0, 1.0};
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode_options o = so_ode_options_default();
        o.dt = 1e-3;
        o.rtol = o.atol = 1e-12;
        o.max_steps = 20;
        so_ode *ode = NULL;
        assert_int_equal(so_ode_new(&ode, all_methods[m], 2, &o), SO_OK);
        recorder r;
        recorder_init(&r, -1.0);
        so_ode_stats stats;
        assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0.0, 10.0, y0, NULL, 0,
                                      NULL, &stats),
                         SO_NOT_CONVERGED);
        assert_true(stats.accepted + stats.rejected <= 20);
        assert_true(stats.t < 10.0);
        assert_non_null(strstr(so_last_error(), "max_steps = 20"));
        so_ode_free(&ode);
    }
}

static int nan_rhs(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)y;
    dydt[0] = t > 0.5 ? NAN : 1.0;
    return 0;
}

static void non_finite_derivatives_fail_cleanly(void **state)
{
    (void)state;
    for (int m = 0; m < METHOD_COUNT; m++) {
        so_ode_options o = so_ode_options_default();
        o.dt = 0.1;
        so_ode *ode = NULL;
        assert_int_equal(so_ode_new(&ode, all_methods[m], 1, &o), SO_OK);
        double y0 = 0.0;
        int status = so_ode_solve(ode, nan_rhs, NULL, 0.0, 1.0, &y0, NULL, 0, NULL, NULL);
        assert_int_equal(status, all_methods[m]->error_weights ? SO_ERR_NUMERIC
                                                              : SO_ERR_NONFINITE);
        so_ode_free(&ode);
    }
}

static void invalid_arguments_are_rejected(void **state)
{
    (void)state;
    so_ode *ode = NULL;
    so_ode_options o = so_ode_options_default();
    assert_int_equal(so_ode_new(&ode, NULL, 2, NULL), SO_ERR_INVALID);
    assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 0, NULL), SO_ERR_INVALID);
    assert_int_equal(so_ode_new(NULL, &so_ode_tsit5, 2, NULL), SO_ERR_INVALID);
    assert_int_equal(so_ode_new(&ode, &so_ode_rk4, 2, NULL), SO_ERR_INVALID);
    assert_int_equal(so_ode_new(&ode, &so_ode_rk4, 2, &o), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "dt"));
    const double bad_values[] = {-1.0, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        o = so_ode_options_default();
        o.rtol = bad_values[i];
        assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
        o = so_ode_options_default();
        o.dt_max = bad_values[i];
        assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    }
    o = so_ode_options_default();
    o.rtol = o.atol = 0.0;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    o = so_ode_options_default();
    o.safety = 1.5;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    o = so_ode_options_default();
    o.factor_max = 0.5;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    o = so_ode_options_default();
    o.max_steps = 0;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    o = so_ode_options_default();
    o.dt_min = 1.0;
    o.dt_max = 0.5;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    o = so_ode_options_default();
    o.controller = 2;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    o = so_ode_options_default();
    o.controller = SO_ODE_CONTROLLER_I;
    o.beta2 = 0.08;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, &o), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "I controller"));
    assert_null(ode);
    assert_null(so_ode_method_by_name("rk45"));
    assert_non_null(strstr(so_last_error(), "rk45"));
    assert_null(so_ode_method_by_name(NULL));

    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 2, NULL), SO_OK);
    recorder r;
    recorder_init(&r, -1.0);
    const double y0[2] = {1.0, 1.0}, y_nan[2] = {1.0, NAN};
    double ysave[4];
    const double outside[2] = {0.5, 1.5}, unsorted[2] = {0.7, 0.3};
    assert_int_equal(so_ode_solve(NULL, exponential_rhs, &r, 0, 1, y0, NULL, 0, NULL, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_ode_solve(ode, NULL, &r, 0, 1, y0, NULL, 0, NULL, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0, 1, NULL, NULL, 0, NULL, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0, 1, y_nan, NULL, 0, NULL, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "y0[1]"));
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0, INFINITY, y0, NULL, 0, NULL,
                                  NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0, 1, y0, outside, 2, ysave,
                                  NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "save_times[1] = 1.5"));
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 0, 1, y0, unsorted, 2, ysave,
                                  NULL),
                     SO_ERR_INVALID);
    /* Sorted forward times are unsorted for a backward solve. */
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 1, 0, y0, unsorted + 1, 1, ysave,
                                  NULL),
                     SO_OK);
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 1, 0, y0, outside, 1, NULL,
                                  NULL),
                     SO_ERR_INVALID);
    const double forward[2] = {0.3, 0.7};
    assert_int_equal(so_ode_solve(ode, exponential_rhs, &r, 1, 0, y0, forward, 2, ysave,
                                  NULL),
                     SO_ERR_INVALID);
    so_ode_free(&ode);
    so_ode_free(&ode);
    so_ode_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_span_returns_y0_with_zero_steps),
        cmocka_unit_test(backward_integration_matches_exp),
        cmocka_unit_test(save_times_follow_the_solution),
        cmocka_unit_test(rhs_is_never_called_outside_the_span),
        cmocka_unit_test(positive_status_retries_with_smaller_step),
        cmocka_unit_test(persistent_positive_status_hits_min_step),
        cmocka_unit_test(negative_status_stops_with_callback_error),
        cmocka_unit_test(max_steps_stops_with_not_converged),
        cmocka_unit_test(non_finite_derivatives_fail_cleanly),
        cmocka_unit_test(invalid_arguments_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
