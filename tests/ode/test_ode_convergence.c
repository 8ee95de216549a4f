/* Convergence orders of the Runge-Kutta tableaus and accuracy of the adaptive solvers:
 * error slopes at fixed steps, tolerance proportionality on y' = lambda y and on the
 * Lotka-Volterra system, and consistency of every tableau. */
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

static int linear_rhs(void *user, double t, const double *y, double *dydt)
{
    const double lambda = *(const double *)user;
    (void)t;
    dydt[0] = lambda * y[0];
    return 0;
}

/* The logistic equation y' = y (1 - y), whose solution from y(0) = 0.1 is
 * y(t) = 1 / (1 + 9 exp(-t)). */
static int logistic_rhs(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = y[0] * (1.0 - y[0]);
    return 0;
}

/* y' = lambda y with lambda = i, written as the real system y1' = -y2, y2' = y1;
 * from (1, 0) the solution is (cos t, sin t). */
static int rotation_rhs(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = -y[1];
    dydt[1] = y[0];
    return 0;
}

/* A test problem with its exact solution at t1. */
typedef struct problem {
    const char *name;
    so_ode_rhs_fn rhs;
    void *user;
    size_t n;
    double t1;
    double y0[2], exact[2];
} problem;

/* Runs `method` with steps of exactly h from 0 to p->t1 and returns the largest error
 * (Euclidean norm) at t1. Adaptive methods take the same fixed steps when dt = dt_max = h
 * and the tolerances are so loose that every step passes the error test. */
static double fixed_step_error(const so_ode_method *method, const problem *p, double h)
{
    so_ode_options o = so_ode_options_default();
    o.dt = h;
    o.dt_max = h;
    o.rtol = 1e10;
    o.atol = 1e10;
    so_ode *ode = NULL;
    double y1[2] = {0.0, 0.0};
    so_ode_stats stats;
    assert_int_equal(so_ode_new(&ode, method, p->n, &o), SO_OK);
    assert_int_equal(so_ode_solve(ode, p->rhs, p->user, 0.0, p->t1, p->y0, &p->t1, 1, y1,
                                  &stats),
                     SO_OK);
    assert_int_equal(stats.rejected, 0);
    so_ode_free(&ode);
    double sum = 0.0;
    for (size_t q = 0; q < p->n; q++)
        sum += (y1[q] - p->exact[q]) * (y1[q] - p->exact[q]);
    return sqrt(sum);
}

/* Least-squares slope of log(error) against log(h). */
static double fit_slope(const double *h, const double *err, int count)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < count; i++) {
        double x = log(h[i]), y = log(err[i]);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    return (count * sxy - sx * sy) / (count * sxx - sx * sx);
}

/* Fits the slope over the four step sizes 2^-first, ..., 2^-(first + 3). */
static double measured_slope(const so_ode_method *method, const problem *p, int first)
{
    double h[4], err[4];
    for (int i = 0; i < 4; i++) {
        h[i] = ldexp(1.0, -(first + i));
        err[i] = fixed_step_error(method, p, h[i]);
    }
    double slope = fit_slope(h, err, 4);
    print_message("%-8s order %d on %-16s h = 2^-%d ... 2^-%d: errors %.2e ... %.2e, "
                  "slope %.3f\n", method->name, method->order, p->name, first, first + 3,
                  err[0], err[3], slope);
    return slope;
}

/* Each method runs at four step sizes whose errors lie in the asymptotic range and
 * stay above 1e-14, ten times or more above rounding. For fifth order that window is
 * narrow, so the first exponent depends on the problem. */
static void fixed_step_slopes_match_orders(void **state)
{
    (void)state;
    double lambda = -2.0;
    const double t1 = 10.0;
    const problem problems[] = {
        {"y' = -2y", linear_rhs, &lambda, 1, 1.0, {1.0, 0.0}, {exp(-2.0), 0.0}},
        {"y' = iy", rotation_rhs, NULL, 2, t1, {1.0, 0.0}, {cos(t1), sin(t1)}},
        {"logistic", logistic_rhs, NULL, 1, 1.0, {0.1, 0.0},
         {1.0 / (1.0 + 9.0 * exp(-1.0)), 0.0}},
    };
    /* first exponent by problem and by order 1 ... 5 */
    static const int first[3][6] = {
        {0, 6, 5, 5, 3, 4},
        {0, 6, 5, 5, 3, 3},
        {0, 6, 5, 5, 3, 2},
    };
    for (int m = 0; m < METHOD_COUNT; m++) {
        const so_ode_method *method = all_methods[m];
        for (int i = 0; i < 3; i++) {
            double slope = measured_slope(method, &problems[i], first[i][method->order]);
            /* Tsit5 has an unusually small principal error coefficient. On the real
             * problems the sixth-order term therefore still shows at every step size
             * whose error double precision can resolve, and the measured slopes are 5.2
             * to 5.3 (docs/ode.md). On y' = iy that term enters at second order only. */
            double allowed = (method == &so_ode_tsit5 && i != 1) ? 0.3 : 0.15;
            assert_true(fabs(slope - method->order) <= allowed);
        }
    }
}

/* Over [0, 100] on y' = iy the accumulated error stays above rounding at smaller steps,
 * so the fifth-order pairs reach their asymptotic slope, Tsit5 included. */
static void fifth_order_slopes_on_long_rotation(void **state)
{
    (void)state;
    const double t1 = 100.0;
    const problem rotation = {"y' = iy, [0, 100]", rotation_rhs, NULL, 2, t1,
                              {1.0, 0.0}, {cos(t1), sin(t1)}};
    const so_ode_method *const methods[] = {&so_ode_dopri5, &so_ode_tsit5};
    for (int m = 0; m < 2; m++) {
        double slope = measured_slope(methods[m], &rotation, 4);
        assert_true(fabs(slope - 5.0) <= 0.15);
    }
}

/* Error of the dense output at theta = 0.3 inside one step of size h on y' = iy. */
static double dense_output_error(const so_ode_method *method, double h)
{
    so_ode_options o = so_ode_options_default();
    o.dt = h;
    o.dt_max = h;
    o.rtol = 1e10;
    o.atol = 1e10;
    so_ode *ode = NULL;
    const double y0[2] = {1.0, 0.0}, t_save = 0.3 * h;
    double y[2];
    assert_int_equal(so_ode_new(&ode, method, 2, &o), SO_OK);
    assert_int_equal(so_ode_solve(ode, rotation_rhs, NULL, 0.0, h, y0, &t_save, 1, y, NULL),
                     SO_OK);
    so_ode_free(&ode);
    return hypot(y[0] - cos(t_save), y[1] - sin(t_save));
}

/* The local error of the interpolant inside one step falls as h^(q + 1), where q is 4
 * for the Dormand-Prince and Tsitouras interpolants and min(order, 3) for the cubic
 * Hermite interpolant of the other methods. */
static void dense_output_local_orders(void **state)
{
    (void)state;
    for (int m = 0; m < METHOD_COUNT; m++) {
        const so_ode_method *method = all_methods[m];
        double h[4], err[4];
        for (int i = 0; i < 4; i++) {
            h[i] = ldexp(1.0, -(i + 2));
            err[i] = dense_output_error(method, h[i]);
        }
        int q = method->dense == SO_ODE_DENSE_HERMITE ? (method->order < 3 ? method->order : 3)
                                                      : 4;
        double slope = fit_slope(h, err, 4);
        print_message("%-8s dense output at theta = 0.3, h = 2^-2 ... 2^-5: local error "
                      "slope %.3f (expected %d)\n", method->name, slope, q + 1);
        assert_true(fabs(slope - (q + 1)) <= 0.2);
    }
}

/* Row sums of a equal c, the weights b sum to 1 and the error weights to 0. */
static void tableaus_are_consistent(void **state)
{
    (void)state;
    for (int m = 0; m < METHOD_COUNT; m++) {
        const so_ode_method *method = all_methods[m];
        const int s = method->stages;
        double sum_b = 0.0, sum_e = 0.0;
        for (int i = 0; i < s; i++) {
            double row = 0.0;
            for (int j = 0; j < s; j++) {
                if (j >= i)
                    assert_true(method->a[i * s + j] == 0.0);
                row += method->a[i * s + j];
            }
            assert_true(fabs(row - method->c[i]) < 1e-14);
            sum_b += method->b[i];
            if (method->error_weights)
                sum_e += method->error_weights[i];
        }
        assert_true(fabs(sum_b - 1.0) < 1e-14);
        assert_true(fabs(sum_e) < 1e-14);
        if (method->fsal)
            for (int j = 0; j < s; j++)
                assert_true(method->a[(s - 1) * s + j] == method->b[j]);
        assert_ptr_equal(so_ode_method_by_name(method->name), method);
    }
}

static void adaptive_linear_meets_tolerance(void **state)
{
    (void)state;
    double lambda = -1.0;
    const so_ode_method *adaptive[] = {&so_ode_bosh3, &so_ode_dopri5, &so_ode_tsit5};
    const double tols[] = {1e-4, 1e-6, 1e-8, 1e-10};
    for (int m = 0; m < 3; m++) {
        for (int i = 0; i < 4; i++) {
            so_ode_options o = so_ode_options_default();
            o.rtol = tols[i];
            o.atol = tols[i];
            so_ode *ode = NULL;
            const double t1 = 5.0;
            double y0 = 1.0, y1 = 0.0;
            so_ode_stats stats;
            assert_int_equal(so_ode_new(&ode, adaptive[m], 1, &o), SO_OK);
            assert_int_equal(so_ode_solve(ode, linear_rhs, &lambda, 0.0, t1, &y0, &t1, 1,
                                          &y1, &stats),
                             SO_OK);
            double err = fabs(y1 - exp(-5.0));
            print_message("%-8s y' = -y tol %.0e: error %.2e, %ld steps, %ld evaluations\n",
                          adaptive[m]->name, tols[i], err, stats.accepted, stats.nfev);
            assert_true(err <= 10.0 * tols[i]);
            assert_true(y1 == so_ode_y(ode)[0]);
            so_ode_free(&ode);
        }
    }
}

static int lotka_volterra_rhs(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = 1.5 * y[0] - y[0] * y[1];
    dydt[1] = -3.0 * y[1] + y[0] * y[1];
    return 0;
}

enum { LV_SAVES = 11 };

static void solve_lotka_volterra(const so_ode_method *method, double tol,
                                 double ysave[LV_SAVES][2], so_ode_stats *stats)
{
    double times[LV_SAVES];
    for (int i = 0; i < LV_SAVES; i++)
        times[i] = i;
    so_ode_options o = so_ode_options_default();
    o.rtol = tol;
    o.atol = tol;
    o.max_steps = 1000000;
    so_ode *ode = NULL;
    const double y0[2] = {1.0, 1.0};
    assert_int_equal(so_ode_new(&ode, method, 2, &o), SO_OK);
    assert_int_equal(so_ode_solve(ode, lotka_volterra_rhs, NULL, 0.0, 10.0, y0, times,
                                  LV_SAVES, &ysave[0][0], stats),
                     SO_OK);
    so_ode_free(&ode);
}

/* Errors at the save times 0, 1, ..., 10 against Dopri5 at rtol = atol = 1e-13. */
static void adaptive_lotka_volterra_meets_tolerance(void **state)
{
    (void)state;
    double reference[LV_SAVES][2], y[LV_SAVES][2];
    so_ode_stats stats;
    solve_lotka_volterra(&so_ode_dopri5, 1e-13, reference, &stats);
    const so_ode_method *adaptive[] = {&so_ode_bosh3, &so_ode_dopri5, &so_ode_tsit5};
    const double tols[] = {1e-4, 1e-6, 1e-8};
    for (int m = 0; m < 3; m++) {
        for (int i = 0; i < 3; i++) {
            solve_lotka_volterra(adaptive[m], tols[i], y, &stats);
            double err = 0.0;
            for (int s = 0; s < LV_SAVES; s++)
                for (int q = 0; q < 2; q++)
                    err = fmax(err, fabs(y[s][q] - reference[s][q]) /
                                        (1.0 + fabs(reference[s][q])));
            print_message("%-8s Lotka-Volterra tol %.0e: max error %.2e, %ld steps, %ld "
                          "rejected, %ld evaluations\n",
                          adaptive[m]->name, tols[i], err, stats.accepted, stats.rejected,
                          stats.nfev);
            assert_true(err <= 100.0 * tols[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tableaus_are_consistent),
        cmocka_unit_test(fixed_step_slopes_match_orders),
        cmocka_unit_test(fifth_order_slopes_on_long_rotation),
        cmocka_unit_test(dense_output_local_orders),
        cmocka_unit_test(adaptive_linear_meets_tolerance),
        cmocka_unit_test(adaptive_lotka_volterra_meets_tolerance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
