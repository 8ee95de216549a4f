/* CBO runs: every scheme finds the minimum of easy functions, results do not depend on
 * the thread count, the stopping rules and evaluation budget hold, and callback and
 * configuration failures come back as statuses with messages. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/global.h"

static so_cbo_result *run_ok(const so_cbo_config *c, so_testfun fn)
{
    so_cbo_result *res = NULL;
    assert_int_equal(so_cbo_result_new((size_t)c->runs, c->dim, &res), SO_OK);
    assert_int_equal(so_cbo_minimize(c, so_testfun_batch, &fn, res), SO_OK);
    return res;
}

static double max_abs(size_t d, const double *x, double center)
{
    double m = 0;
    for (size_t i = 0; i < d; i++)
        m = fmax(m, fabs(x[i] - center));
    return m;
}

/* Default parameters (anisotropic, sigma 5.1, alpha 1 growing by 1.05, dt 0.01). The
 * isotropic variant runs in d = 2, where its noise is not yet dominated by the
 * dimension factor of the contraction rate. */
static void every_scheme_solves_sphere(void **state)
{
    (void)state;
    for (int variant = 0; variant < 5; variant++) {
        size_t d = variant == 1 ? 2 : 5;
        so_cbo_config c = so_cbo_config_default(d);
        c.runs = 3;
        if (variant == 1)
            c.noise = SO_CBO_ISOTROPIC, c.sigma = 1.0;
        if (variant == 2)
            c.alpha_mode = SO_CBO_ALPHA_ESS, c.ess_target = 0.3;
        if (variant == 3)
            c.scheme = SO_CBO_HOPPING, c.sigma = 0.05, c.alpha_mode = SO_CBO_ALPHA_FIXED,
            c.alpha = 1e3, c.particles = 100;
        if (variant == 4)
            c.batch = 10;
        so_cbo_result *res = run_ok(&c, SO_TESTFUN_SPHERE);
        for (size_t r = 0; r < 3; r++)
            assert_true(max_abs(d, res->x_consensus + r * d, 0.0) < 0.1);
        so_cbo_result_free(&res);
    }
}

/* Rosenbrock's curved valley is slow for CBO: require progress from f ~ 1e3 at the start
 * box's corners to the valley floor, not the exact minimizer. */
static void rosenbrock_and_griewank_in_low_dimension(void **state)
{
    so_cbo_config c = so_cbo_config_default(2);
    (void)state;
    c.particles = 100;
    c.max_steps = 2000;
    c.init_lo = -2;
    c.init_hi = 2;
    so_cbo_result *res = run_ok(&c, SO_TESTFUN_ROSENBROCK);
    assert_true(res->run[0].f_best < 0.05);
    so_cbo_result_free(&res);
    res = run_ok(&c, SO_TESTFUN_GRIEWANK);
    assert_true(res->run[0].f_best < 1e-6);
    so_cbo_result_free(&res);
}

static void results_independent_of_threads(void **state)
{
    so_cbo_config c = so_cbo_config_default(6);
    (void)state;
    c.runs = 5;
    c.max_steps = 200;
    so_cbo_result *a = run_ok(&c, SO_TESTFUN_RASTRIGIN);
    c.threads = 3;
    so_cbo_result *b = run_ok(&c, SO_TESTFUN_RASTRIGIN);
    assert_memory_equal(a->x_consensus, b->x_consensus, 5 * 6 * sizeof(double));
    assert_memory_equal(a->x_best, b->x_best, 5 * 6 * sizeof(double));
    /* Different runs use different streams. */
    assert_memory_not_equal(a->x_best, a->x_best + 6, 6 * sizeof(double));
    so_cbo_result_free(&a);
    so_cbo_result_free(&b);
}

static void stopping_rules(void **state)
{
    so_cbo_config c = so_cbo_config_default(3);
    (void)state;
    c.max_evals = 1000;
    c.max_steps = 100000;
    so_cbo_result *res = run_ok(&c, SO_TESTFUN_SPHERE);
    assert_int_equal(res->run[0].stop, SO_CBO_STOP_EVALS);
    assert_true(res->run[0].evals <= 1000 && res->run[0].evals > 1000 - 41);
    so_cbo_result_free(&res);
    c.max_evals = 0;
    c.energy_tol = 1e-4;
    res = run_ok(&c, SO_TESTFUN_SPHERE);
    assert_int_equal(res->run[0].stop, SO_CBO_STOP_ENERGY);
    assert_true(res->run[0].f_best <= 1e-4);
    so_cbo_result_free(&res);
    c.energy_tol = -INFINITY;
    c.consensus_tol = 1e-6;
    res = run_ok(&c, SO_TESTFUN_SPHERE);
    assert_int_equal(res->run[0].stop, SO_CBO_STOP_CONSENSUS);
    assert_true(res->run[0].steps < 100000);
    so_cbo_result_free(&res);
    c.consensus_tol = 0;
    c.max_steps = 7;
    res = run_ok(&c, SO_TESTFUN_SPHERE);
    assert_int_equal(res->run[0].stop, SO_CBO_STOP_STEPS);
    assert_int_equal(res->run[0].steps, 7);
    assert_int_equal(res->run[0].evals, 8 * 40 + 1);
    assert_true(fabs(res->run[0].alpha - pow(1.05, 7)) < 1e-12);
    so_cbo_result_free(&res);
}

static int calls;

/* Stops on the third call; before that, the upper half of the space is infeasible. */
static int picky(void *user, size_t n, size_t d, const double *x, double *f)
{
    (void)user;
    if (++calls == 3)
        return -1;
    for (size_t j = 0; j < n; j++)
        f[j] = x[j * d] > 0 ? INFINITY : x[j * d] * x[j * d];
    return 0;
}

static int nan_objective(void *user, size_t n, size_t d, const double *x, double *f)
{
    (void)user;
    (void)d;
    (void)x;
    for (size_t j = 0; j < n; j++)
        f[j] = j == 5 ? NAN : 1.0;
    return 0;
}

static void failures_are_statuses(void **state)
{
    so_cbo_config c = so_cbo_config_default(2);
    so_cbo_result *res = NULL;
    (void)state;
    assert_int_equal(so_cbo_result_new(1, 2, &res), SO_OK);
    calls = 0;
    assert_int_equal(so_cbo_minimize(&c, picky, NULL, res), SO_ERR_CALLBACK);
    assert_non_null(strstr(so_last_error(), "run 0"));
    assert_int_equal(so_cbo_minimize(&c, nan_objective, NULL, res), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "point 5"));
    c.particles = 1;
    assert_int_equal(so_cbo_minimize(&c, nan_objective, NULL, res), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "particles = 1"));
    c = so_cbo_config_default(2);
    c.alpha_growth = 0.5;
    assert_int_equal(so_cbo_minimize(&c, nan_objective, NULL, res), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "alpha_growth = 0.5"));
    c = so_cbo_config_default(3);
    assert_int_equal(so_cbo_minimize(&c, nan_objective, NULL, res), SO_ERR_INVALID);
    c = so_cbo_config_default(2);
    c.sigma = 1e6;
    so_testfun fn = SO_TESTFUN_SPHERE;
    assert_int_equal(so_cbo_minimize(&c, so_testfun_batch, &fn, res), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "reduce sigma"));
    so_cbo_result_free(&res);
}

static void test_function_values(void **state)
{
    double x0[3] = {0, 0, 0}, x1[3] = {1, 1, 1}, xs[3];
    (void)state;
    assert_true(so_testfun_eval(SO_TESTFUN_RASTRIGIN, 3, x0) == 0.0);
    assert_true(fabs(so_testfun_eval(SO_TESTFUN_RASTRIGIN, 3, x1) - 3.0) < 1e-12);
    assert_true(fabs(so_testfun_eval(SO_TESTFUN_ACKLEY, 3, x0)) < 1e-14);
    assert_true(so_testfun_eval(SO_TESTFUN_ROSENBROCK, 3, x1) == 0.0);
    assert_true(so_testfun_eval(SO_TESTFUN_ROSENBROCK, 3, x0) == 2.0);
    assert_true(so_testfun_eval(SO_TESTFUN_GRIEWANK, 3, x0) == 0.0);
    assert_true(so_testfun_eval(SO_TESTFUN_SPHERE, 3, x1) == 3.0);
    so_testfun_minimizer(SO_TESTFUN_ROSENBROCK, 3, xs);
    assert_true(xs[2] == 1.0);
    assert_int_equal(so_testfun_from_name("ackley"), SO_TESTFUN_ACKLEY);
    assert_int_equal(so_testfun_from_name("nope"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_scheme_solves_sphere),
        cmocka_unit_test(rosenbrock_and_griewank_in_low_dimension),
        cmocka_unit_test(results_independent_of_threads),
        cmocka_unit_test(stopping_rules),
        cmocka_unit_test(failures_are_statuses),
        cmocka_unit_test(test_function_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
