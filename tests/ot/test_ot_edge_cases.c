/* Entropic OT on the cases that break naive Sinkhorn: kernel underflow, zero-mass rows and
 * columns and a small regularization, plus the not-converged path and input checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ot.h"

static so_ot_options options(so_ot_method method, double reg)
{
    so_ot_options o = so_ot_options_default();
    o.method = method;
    o.reg = reg;
    o.tol = 1e-12;
    o.threads = 1;
    return o;
}

static void assert_no_nan(const so_ot_result *r)
{
    for (size_t k = 0; k < r->n * r->m; k++)
        assert_false(isnan(r->plan[k]));
    assert_false(isnan(r->cost));
    assert_false(isnan(r->objective));
}

/* a = b = (0.5, 0.5), M = [[100, 101], [101, 100]], reg = 0.01: exp(-M/reg) underflows to
 * zero. Subtracting 100 leaves the plan unchanged, so the result is the plan of
 * [[0, 1], [1, 0]]: off-diagonal x with x^2 / (0.5 - x)^2 = exp(-2 / 0.01), so
 * x = 0.5 exp(-100) / (1 + exp(-100)) = 1.86e-44. */
static void kernel_underflow(void **state)
{
    const double a[2] = {0.5, 0.5}, M[4] = {100, 101, 101, 100};
    const double off = 0.5 * exp(-100.0) / (1.0 + exp(-100.0));
    const so_ot_method methods[] = {SO_OT_LOG, SO_OT_EPS_SCALING, SO_OT_SNS};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        so_ot_options o = options(methods[k], 0.01);
        so_ot_result r;
        assert_int_equal(so_ot_solve(M, 2, 2, a, a, &o, &r), SO_OK);
        assert_no_nan(&r);
        /* The potentials are about 100, so their rounding of 1e-14 becomes 1e-12 relative
         * in exp((f + g - C) / 0.01). */
        assert_true(fabs(r.plan[0] - 0.5) < 1e-12 && fabs(r.plan[3] - 0.5) < 1e-12);
        assert_true(fabs(r.plan[1] - off) < 1e-9 * off && fabs(r.plan[2] - off) < 1e-9 * off);
        assert_true(fabs(r.cost - 100.0) < 1e-10);
        so_ot_result_clear(&r);
    }
    /* The scaling form fails with a message that points to the log domain... */
    so_ot_options o = options(SO_OT_SINKHORN, 0.01);
    so_ot_result r;
    assert_int_equal(so_ot_solve(M, 2, 2, a, a, &o, &r), SO_ERR_NUMERIC);
    assert_non_null(strstr(so_last_error(), "underflow"));
    assert_non_null(strstr(so_last_error(), "log-domain"));
    assert_null(r.plan);
    /* ... or continues there when asked. */
    o.fallback = 1;
    assert_int_equal(so_ot_solve(M, 2, 2, a, a, &o, &r), SO_OK);
    assert_int_equal(r.fell_back, 1);
    assert_int_equal(r.method_used, SO_OT_LOG);
    assert_true(fabs(r.plan[1] - off) < 1e-9 * off);
    so_ot_result_clear(&r);
}

/* a = (1, 0), b = (0.5, 0.5), M = [[0, 1], [1, 0]], reg = 0.1: the only row with mass
 * must send half to each column, whatever the cost. */
static void zero_marginal_entries(void **state)
{
    const double a[2] = {1, 0}, b[2] = {0.5, 0.5}, M[4] = {0, 1, 1, 0};
    const double expect[4] = {0.5, 0.5, 0, 0};
    const so_ot_method methods[] = {SO_OT_SINKHORN, SO_OT_LOG, SO_OT_EPS_SCALING, SO_OT_SNS};
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        so_ot_options o = options(methods[k], 0.1);
        so_ot_result r;
        assert_int_equal(so_ot_solve(M, 2, 2, a, b, &o, &r), SO_OK);
        assert_no_nan(&r);
        for (int q = 0; q < 4; q++)
            assert_true(fabs(r.plan[q] - expect[q]) < 1e-12);
        assert_true(fabs(r.cost - 0.5) < 1e-12);
        assert_true(isinf(r.f[1]) && r.f[1] < 0);
        assert_true(isfinite(r.f[0]) && isfinite(r.g[0]) && isfinite(r.g[1]));
        so_ot_result_clear(&r);
    }
}

static double plan_l1_distance(const so_ot_result *x, const so_ot_result *y)
{
    double d = 0.0;
    for (size_t k = 0; k < x->n * x->m; k++)
        d += fabs(x->plan[k] - y->plan[k]);
    return d;
}

/* n = 100 points in [0, 10]^2, squared Euclidean cost up to 200, reg = 0.01. Sinkhorn
 * needs well over 10^5 iterations here, so the reference is SNS to 1e-9, checked against
 * epsilon scaling to 1e-5. The scaling form (with fallback) must iterate, not fail. */
static void small_regularization(void **state)
{
    enum { N = 100 };
    static double X[2 * N], Y[2 * N], C[N * N];
    (void)state;
    so_rng rng;
    so_rng_init(&rng, 7, 0);
    for (size_t k = 0; k < 2 * N; k++) {
        X[k] = 10.0 * so_rng_uniform(&rng);
        Y[k] = 10.0 * so_rng_uniform(&rng);
    }
    assert_int_equal(so_ot_cost_matrix(X, N, Y, N, 2, SO_OT_SQEUCLIDEAN, C), SO_OK);
    so_ot_options o = options(SO_OT_SNS, 0.01);
    o.tol = 1e-9;
    so_ot_result ref, r;
    assert_int_equal(so_ot_solve(C, N, N, NULL, NULL, &o, &ref), SO_OK);
    assert_true(ref.marginal_error <= 1e-9);
    assert_no_nan(&ref);
    o.method = SO_OT_EPS_SCALING;
    o.tol = 1e-5;
    assert_int_equal(so_ot_solve(C, N, N, NULL, NULL, &o, &r), SO_OK);
    assert_true(plan_l1_distance(&r, &ref) < 1e-3);
    assert_true(fabs(r.cost - ref.cost) < 1e-4);
    so_ot_result_clear(&r);
    o.method = SO_OT_SINKHORN;
    o.fallback = 1;
    o.max_iter = 2000;
    int status = so_ot_solve(C, N, N, NULL, NULL, &o, &r);
    assert_true(status == SO_OK || status == SO_NOT_CONVERGED);
    assert_int_equal(r.iterations, 2000);
    assert_no_nan(&r);
    /* After 2000 iterations the plan is still 0.02 off in marginal error. */
    assert_true(r.marginal_error < 0.05);
    assert_true(fabs(r.cost - ref.cost) < 0.05);
    so_ot_result_clear(&r);
    so_ot_result_clear(&ref);
}

/* With max_iter 1 no method meets tol 1e-12, and the result still contains the state. */
static void not_converged_with_one_iteration(void **state)
{
    const double a[3] = {0.2, 0.3, 0.5}, b[3] = {0.6, 0.1, 0.3};
    const double M[9] = {0, 1, 4, 1, 0, 1, 4, 1, 0};
    (void)state;
    for (int k = 0; k < 4; k++) {
        so_ot_options o = options((so_ot_method)k, 0.5);
        o.max_iter = 1;
        so_ot_result r;
        assert_int_equal(so_ot_solve(M, 3, 3, a, b, &o, &r), SO_NOT_CONVERGED);
        assert_int_equal(r.status, SO_NOT_CONVERGED);
        assert_int_equal(r.iterations, 1);
        assert_true(r.marginal_error > o.tol && isfinite(r.marginal_error));
        assert_non_null(r.plan);
        so_ot_result_clear(&r);
    }
}

static void expect_invalid(const double *C, size_t n, size_t m, const double *a,
                           const double *b, double reg, const char *fragment)
{
    so_ot_options o = options(SO_OT_LOG, reg);
    so_ot_result r;
    int status = so_ot_solve(C, n, m, a, b, &o, &r);
    assert_true(status < 0);
    if (strstr(so_last_error(), fragment) == NULL)
        fail_msg("expected '%s' in '%s'", fragment, so_last_error());
}

static void invalid_inputs_rejected(void **state)
{
    const double M[4] = {0, 1, 1, 0}, half[2] = {0.5, 0.5};
    const double negative[2] = {1.5, -0.5}, heavy[2] = {0.5, 0.6}, empty[2] = {0, 0};
    const double with_nan[4] = {0, NAN, 1, 0}, inf_mass[2] = {INFINITY, 0.5};
    (void)state;
    expect_invalid(M, 2, 2, negative, half, 1.0, "a[1] = -0.5");
    expect_invalid(M, 2, 2, half, heavy, 1.0, "different total mass");
    expect_invalid(M, 2, 2, half, empty, 1.0, "total mass 0");
    expect_invalid(M, 2, 2, inf_mass, half, 1.0, "a[0] = inf");
    expect_invalid(with_nan, 2, 2, half, half, 1.0, "C[0][1] = nan");
    expect_invalid(M, 2, 2, half, half, 0.0, "reg = 0");
    expect_invalid(M, 2, 2, half, half, -1.0, "reg = -1");
    expect_invalid(M, 2, 2, half, half, NAN, "reg = nan");
    expect_invalid(M, 0, 2, half, half, 1.0, "0 x 2");
    double X[4] = {0, 1, 2, 3}, C[4];
    assert_int_equal(so_ot_cost_matrix(X, 2, X, 2, 0, SO_OT_L1, C), SO_ERR_INVALID);
    X[3] = NAN;
    assert_int_equal(so_ot_cost_matrix(X, 2, X, 2, 2, SO_OT_L1, C), SO_ERR_NONFINITE);
    assert_int_equal(so_ot_method_from_name("sns"), SO_OT_SNS);
    assert_int_equal(so_ot_method_from_name("greenkhorn"), -1);
    assert_int_equal(so_ot_cost_from_name("l1"), SO_OT_L1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernel_underflow),
        cmocka_unit_test(zero_marginal_entries),
        cmocka_unit_test(small_regularization),
        cmocka_unit_test(not_converged_with_one_iteration),
        cmocka_unit_test(invalid_inputs_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
