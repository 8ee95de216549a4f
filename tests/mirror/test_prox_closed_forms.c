/* Proximal operators, projections and the entropic step against closed forms: soft
 * threshold, shrinkage, clamping, simplex projections of known vectors and the KKT
 * conditions of random ones, and multiplicative weights. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/mirror.h"

static void soft_threshold_known_values(void **state)
{
    const double x[5] = {3.0, -3.0, 0.5, -0.5, 1.0};
    double out[5];
    (void)state;
    so_prox_l1(5, x, 1.0, out);
    assert_true(out[0] == 2.0);
    assert_true(out[1] == -2.0);
    assert_true(out[2] == 0.0);
    assert_true(out[3] == 0.0);
    assert_true(out[4] == 0.0);
}

static void shrink_and_clamp(void **state)
{
    double x[3] = {2.0, -4.0, 0.25}, out[3];
    (void)state;
    so_prox_l2sq(3, x, 1.0, out);
    assert_true(out[0] == 1.0 && out[1] == -2.0 && out[2] == 0.125);
    so_proj_box(3, x, -1.0, 1.0, x);
    assert_true(x[0] == 1.0 && x[1] == -1.0 && x[2] == 0.25);
}

static void simplex_known_vectors(void **state)
{
    double a[2] = {1.0, 1.0}, b[3] = {2.0, 0.0, -1.0}, c[3] = {0.3, 0.2, 0.9};
    double d[3] = {0.2, 0.3, 0.5}, e[2] = {5.0, 1.0};
    (void)state;
    assert_int_equal(so_proj_simplex(2, a, 1.0, a), SO_OK);
    assert_true(a[0] == 0.5 && a[1] == 0.5);
    assert_int_equal(so_proj_simplex(3, b, 1.0, b), SO_OK);
    assert_true(b[0] == 1.0 && b[1] == 0.0 && b[2] == 0.0);
    /* theta = (1.4 - 1) / 3, so each entry drops by 2/15. */
    assert_int_equal(so_proj_simplex(3, c, 1.0, c), SO_OK);
    assert_true(fabs(c[0] - 1.0 / 6) < 1e-15);
    assert_true(fabs(c[1] - 1.0 / 15) < 1e-15);
    assert_true(fabs(c[2] - 23.0 / 30) < 1e-15);
    /* A point of the simplex is its own projection. */
    assert_int_equal(so_proj_simplex(3, d, 1.0, d), SO_OK);
    assert_true(fabs(d[0] - 0.2) < 1e-16 && fabs(d[1] - 0.3) < 1e-16);
    /* Radius 4: theta = (6 - 4) / 2 = 1. */
    assert_int_equal(so_proj_simplex(2, e, 4.0, e), SO_OK);
    assert_true(e[0] == 4.0 && e[1] == 0.0);
    assert_int_equal(so_proj_simplex(2, e, 0.0, e), SO_ERR_INVALID);
}

/* The projection y of x is characterised by one threshold theta: y_i = x_i - theta where
 * y_i > 0 and x_i <= theta where y_i = 0. */
static void simplex_satisfies_kkt(void **state)
{
    so_rng rng;
    double x[20], y[20];
    (void)state;
    so_rng_init(&rng, 5, 0);
    for (int trial = 0; trial < 200; trial++) {
        double sum = 0, theta = NAN;
        for (int i = 0; i < 20; i++)
            x[i] = 4 * so_rng_normal(&rng);
        assert_int_equal(so_proj_simplex(20, x, 2.5, y), SO_OK);
        for (int i = 0; i < 20; i++) {
            assert_true(y[i] >= 0);
            sum += y[i];
            if (y[i] > 0 && isnan(theta))
                theta = x[i] - y[i];
        }
        assert_true(fabs(sum - 2.5) < 1e-12);
        for (int i = 0; i < 20; i++) {
            if (y[i] > 0)
                assert_true(fabs(x[i] - y[i] - theta) < 1e-12);
            else
                assert_true(x[i] <= theta + 1e-12);
        }
    }
}

static void entropic_step_is_multiplicative_weights(void **state)
{
    const double x[3] = {0.2, 0.3, 0.5}, g[3] = {1.0, -2.0, 0.5};
    double out[3], z = 0, w[3];
    (void)state;
    so_entropic_step(3, x, g, 0.7, out);
    for (int i = 0; i < 3; i++) {
        w[i] = x[i] * exp(-0.7 * g[i]);
        z += w[i];
    }
    for (int i = 0; i < 3; i++)
        assert_true(fabs(out[i] - w[i] / z) < 1e-15);
    /* Gradients near 1e6 overflow exp without the shift; the limit is the best vertex. */
    const double big[3] = {1e6, -1e6, 0.0};
    so_entropic_step(3, x, big, 1.0, out);
    assert_true(out[0] == 0.0 && out[1] == 1.0 && out[2] == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(soft_threshold_known_values),
        cmocka_unit_test(shrink_and_clamp),
        cmocka_unit_test(simplex_known_vectors),
        cmocka_unit_test(simplex_satisfies_kkt),
        cmocka_unit_test(entropic_step_is_multiplicative_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
