/* Hostile input to so_newton_minimize: infinite gamma_min or lambda_eps, a NaN f_tol,
 * a problem too large for the dense curvature, and trial points where f is NaN. Each
 * must fail with a status and a detail that names the cause. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/newton.h"
#include "stochopt/problem.h"

/* f = |x|^2 on n = 2, NaN once more than `good` evaluations were made. */
typedef struct counted {
    long calls, good;
} counted;

static int quadratic(void *user, const double *x, double *f, double *g)
{
    counted *c = user;
    c->calls++;
    *f = c->calls > c->good ? NAN : x[0] * x[0] + x[1] * x[1];
    if (g != NULL) {
        g[0] = 2.0 * x[0];
        g[1] = 2.0 * x[1];
    }
    return 0;
}

static int identity2(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    (void)x;
    if (kind != SO_CURVATURE_EXACT)
        return SO_ERR_UNSUPPORTED;
    H[0] = 2.0;
    H[1] = 0.0;
    H[2] = 0.0;
    H[3] = 2.0;
    return 0;
}

static int curvature_calls;

/* Identity curvature for the first two calls, then a failure without an error detail. */
static int failing_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    if (++curvature_calls > 2)
        return SO_ERR_NUMERIC;
    return identity2(user, kind, x, H);
}

/* f = |x|^2 for `good` calls, then a failure without an error detail. */
static int failing_value_grad(void *user, const double *x, double *f, double *g)
{
    counted *c = user;
    if (++c->calls > c->good)
        return SO_ERR_NUMERIC;
    *f = x[0] * x[0] + x[1] * x[1];
    if (g != NULL) {
        g[0] = 2.0 * x[0];
        g[1] = 2.0 * x[1];
    }
    return 0;
}

static so_problem quadratic_problem(counted *c)
{
    so_problem p;
    memset(&p, 0, sizeof p);
    p.name = "quadratic";
    p.n = 2;
    p.user = c;
    p.value_grad = quadratic;
    p.curvature = identity2;
    p.f_star = NAN;
    return p;
}

static void assert_detail_mentions(const char *word)
{
    const char *msg = so_last_error();
    assert_non_null(msg);
    assert_non_null(strstr(msg, word));
}

/* Infinite gamma_min or lambda_eps and a NaN f_tol are rejected, and x is unchanged. */
static void nonfinite_options(void **state)
{
    (void)state;
    counted c = {0, 1000000};
    so_problem p = quadratic_problem(&c);
    double x[2] = {1.0, 2.0};
    so_newton_options o = so_newton_options_default();
    o.gamma_min = INFINITY;
    assert_int_equal(so_newton_minimize(&p, x, &o, NULL), SO_ERR_INVALID);
    assert_detail_mentions("gamma_min");
    o = so_newton_options_default();
    o.lambda_eps = INFINITY;
    assert_int_equal(so_newton_minimize(&p, x, &o, NULL), SO_ERR_INVALID);
    o = so_newton_options_default();
    o.f_star = 0.0;
    o.f_tol = NAN;
    assert_int_equal(so_newton_minimize(&p, x, &o, NULL), SO_ERR_INVALID);
    assert_detail_mentions("f_tol");
    assert_true(x[0] == 1.0);
    assert_true(x[1] == 2.0);
}

/* A dense method rejects an n whose n x n work arrays would overflow, before any call. */
static void huge_dense_problem(void **state)
{
    (void)state;
    counted c = {0, 1000000};
    so_problem p = quadratic_problem(&c);
    p.n = (size_t)1 << 32;
    double x[2] = {1.0, 2.0};
    so_newton_options o = so_newton_options_default();
    assert_int_equal(so_newton_minimize(&p, x, &o, NULL), SO_ERR_INVALID);
    assert_detail_mentions("n = 4294967296");
    assert_int_equal(c.calls, 0);
}

/* When every trial point has a NaN f, the run fails with SO_ERR_NONFINITE and a message
 * about the non-finite trials, and x stays at the start. */
static void nan_trials_are_named(void **state)
{
    (void)state;
    const so_newton_method methods[3] = {SO_NEWTON_GRAD_NORM, SO_NEWTON_DAMPED,
                                         SO_NEWTON_GRADIENT};
    for (int i = 0; i < 3; i++) {
        counted c = {0, 1};
        so_problem p = quadratic_problem(&c);
        double x[2] = {1.0, 2.0};
        so_newton_options o = so_newton_options_default();
        o.method = methods[i];
        o.max_trials = 5;
        assert_int_equal(so_newton_minimize(&p, x, &o, NULL), SO_ERR_NONFINITE);
        assert_detail_mentions("non-finite");
        assert_true(x[0] == 1.0);
        assert_true(x[1] == 2.0);
    }
}

/* A problem callback that fails without setting a detail gets one that names it. */
static void silent_callback_failure_is_named(void **state)
{
    (void)state;
    counted c = {0, 1000000};
    so_problem p = quadratic_problem(&c);
    p.curvature = failing_curvature;
    curvature_calls = 0;
    double x[2] = {1.0, 2.0};
    so_newton_options o = so_newton_options_default();
    o.grad_tol = 0.0;
    so_clear_error();
    assert_int_equal(so_newton_minimize(&p, x, &o, NULL), SO_ERR_NUMERIC);
    assert_detail_mentions("curvature callback");

    counted v = {0, 1};
    p = quadratic_problem(&v);
    p.value_grad = failing_value_grad;
    x[0] = 1.0;
    x[1] = 2.0;
    so_clear_error();
    assert_int_equal(so_newton_minimize(&p, x, &o, NULL), SO_ERR_NUMERIC);
    assert_detail_mentions("value_grad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nonfinite_options),
        cmocka_unit_test(huge_dense_problem),
        cmocka_unit_test(nan_trials_are_named),
        cmocka_unit_test(silent_callback_failure_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
