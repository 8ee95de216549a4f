/* Consensus weights: alpha = 0 gives the mean, large alpha the best point, values near
 * 1e6 (and 1e300) give the same point as values near 0, +inf points get no weight, and
 * the effective-sample-size alpha hits its target. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/global.h"

static const double pts[4 * 2] = {1, 0, 0, 1, -1, 0, 2, 2};
static const double vals[4] = {0.3, 0.1, 0.7, 0.2};

static void alpha_zero_is_mean(void **state)
{
    double v[2];
    (void)state;
    assert_int_equal(so_cbo_consensus(4, 2, pts, vals, 0.0, v), SO_OK);
    assert_true(fabs(v[0] - 0.5) < 1e-15 && fabs(v[1] - 0.75) < 1e-15);
}

static void large_alpha_is_best_point(void **state)
{
    double v[2];
    (void)state;
    assert_int_equal(so_cbo_consensus(4, 2, pts, vals, 1e300, v), SO_OK);
    assert_true(v[0] == 0.0 && v[1] == 1.0);
}

/* exp(-alpha f) for f ~ 1e6 underflows to 0 for every point. The shifted weights do not
 * underflow, and they equal the closed form exp(-alpha (f - 0.1)). */
static void weights_stable_for_large_values(void **state)
{
    const double shifts[3] = {1e6, 1e12, 1e300};
    double v0[2], v[2];
    (void)state;
    assert_int_equal(so_cbo_consensus(4, 2, pts, vals, 5.0, v0), SO_OK);
    double w[4], ws = 0, want0 = 0, want1 = 0;
    for (int j = 0; j < 4; j++) {
        w[j] = exp(-5.0 * (vals[j] - 0.1));
        ws += w[j];
        want0 += w[j] * pts[2 * j];
        want1 += w[j] * pts[2 * j + 1];
    }
    assert_true(fabs(v0[0] - want0 / ws) < 1e-15 && fabs(v0[1] - want1 / ws) < 1e-15);
    for (int s = 0; s < 2; s++) {
        double big[4];
        for (int j = 0; j < 4; j++)
            big[j] = vals[j] + shifts[s];
        assert_int_equal(so_cbo_consensus(4, 2, pts, big, 5.0, v), SO_OK);
        /* Adding 1e6 rounds the differences to multiples of 2^-33; 1e12 to 2^-13. */
        double tol = s == 0 ? 1e-9 : 1e-3;
        assert_true(isfinite(v[0]) && isfinite(v[1]));
        assert_true(fabs(v[0] - v0[0]) < tol && fabs(v[1] - v0[1]) < tol);
    }
    double huge[4] = {1e300, 1e300, 1e300, 1e300};
    assert_int_equal(so_cbo_consensus(4, 2, pts, huge, 1e3, v), SO_OK);
    assert_true(fabs(v[0] - 0.5) < 1e-15 && fabs(v[1] - 0.75) < 1e-15);
}

static void infinite_values_get_no_weight(void **state)
{
    double v[2], f[4] = {INFINITY, 0.1, INFINITY, 0.1};
    double all_inf[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    (void)state;
    assert_int_equal(so_cbo_consensus(4, 2, pts, f, 1.0, v), SO_OK);
    assert_true(fabs(v[0] - 1.0) < 1e-15 && fabs(v[1] - 1.5) < 1e-15);
    assert_int_equal(so_cbo_consensus(4, 2, pts, all_inf, 1.0, v), SO_ERR_NUMERIC);
    assert_non_null(strstr(so_last_error(), "+inf"));
}

static void ess_alpha_reaches_target(void **state)
{
    double f[50];
    so_rng rng;
    (void)state;
    so_rng_init(&rng, 11, 0);
    for (int j = 0; j < 50; j++)
        f[j] = 1e6 + 10 * so_rng_uniform(&rng);
    assert_true(fabs(so_cbo_ess(50, f, 0.0) - 50) < 1e-9);
    double a = so_cbo_alpha_for_ess(50, f, 0.3, 1e5);
    assert_true(a > 0 && a < 1e5);
    assert_true(fabs(so_cbo_ess(50, f, a) - 15) < 1e-6);
    /* A target below what alpha_max reaches returns alpha_max. */
    double two[2] = {0, 1e-12};
    assert_true(so_cbo_alpha_for_ess(2, two, 0.5, 10) == 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alpha_zero_is_mean),
        cmocka_unit_test(large_alpha_is_best_point),
        cmocka_unit_test(weights_stable_for_large_values),
        cmocka_unit_test(infinite_values_get_no_weight),
        cmocka_unit_test(ess_alpha_reaches_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
