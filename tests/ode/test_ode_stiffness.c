/* Stiffness estimate of the FSAL pairs: exact |lambda| on linear problems. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ode.h"

/* y' = diag(lambda) y with the rates in user. */
static int linear_rhs(void *user, double t, const double *y, double *dy)
{
    const double *lambda = user;
    (void)t;
    dy[0] = lambda[0] * y[0];
    dy[1] = lambda[1] * y[1];
    return 0;
}

static double solve_stiffness(const so_ode_method *method, double *lambda, double rtol)
{
    so_ode_options opt = so_ode_options_default();
    so_ode *ode = NULL;
    so_ode_stats stats;
    const double y0[2] = {1.0, 0.5};

    opt.rtol = rtol;
    opt.atol = rtol * 1e-3;
    assert_int_equal(so_ode_new(&ode, method, 2, &opt), SO_OK);
    assert_int_equal(so_ode_solve(ode, linear_rhs, lambda, 0.0, 1.0, y0, NULL, 0, NULL, &stats),
                     SO_OK);
    so_ode_free(&ode);
    return stats.stiffness;
}

/* Tsit5 meets 1e-10. Dopri5 gets 1e-8, because its stages 6 and 7 both sit at the
 * step's end, so y_new - g_6 is small and cancellation costs two digits. */
static void stiffness_equals_abs_lambda(void **state)
{
    const so_ode_method *methods[] = {&so_ode_tsit5, &so_ode_dopri5};
    const double tolerance[] = {1e-10, 1e-8};
    const double rates[] = {-3.7, -0.25, 2.0, -40.0};
    (void)state;
    for (size_t m = 0; m < 2; m++)
        for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
            double lambda[2] = {rates[i], rates[i]};
            double est = solve_stiffness(methods[m], lambda, 1e-8);
            if (!(fabs(est - fabs(rates[i])) <= tolerance[m] * fabs(rates[i])))
                fail_msg("%s: estimate %.17g for lambda %g", methods[m]->name,
                         est, rates[i]);
        }
}

/* With two rates the estimate lies between them, because it is a norm ratio. */
static void stiffness_between_two_rates(void **state)
{
    double lambda[2] = {-1.0, -30.0};
    (void)state;
    double est = solve_stiffness(&so_ode_tsit5, lambda, 1e-6);
    assert_true(est >= 1.0 - 1e-12);
    assert_true(est <= 30.0 + 1e-12);
}

static void stiffness_nan_without_fsal(void **state)
{
    so_ode_options opt = so_ode_options_default();
    so_ode *ode = NULL;
    so_ode_stats stats;
    double lambda[2] = {-1.0, -1.0};
    const double y0[2] = {1.0, 1.0};
    (void)state;
    opt.dt = 0.1;
    assert_int_equal(so_ode_new(&ode, &so_ode_rk4, 2, &opt), SO_OK);
    assert_int_equal(so_ode_solve(ode, linear_rhs, lambda, 0.0, 1.0, y0, NULL, 0, NULL, &stats),
                     SO_OK);
    assert_true(isnan(stats.stiffness));
    so_ode_free(&ode);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stiffness_equals_abs_lambda),
        cmocka_unit_test(stiffness_between_two_rates),
        cmocka_unit_test(stiffness_nan_without_fsal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
