/* Brownian paths from the bridge tree: the same numbers whatever the query order, exact
 * additivity of increments, the right variances and covariances of increments and their
 * time integrals, and independent components. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/sde.h"

#define QUERIES 64

static void path_same_in_any_query_order(void **state)
{
    double times[QUERIES], forward[QUERIES][2], backward[QUERIES][2], shuffled[QUERIES][2];
    uint32_t order[QUERIES];
    so_brownian *a = NULL, *b = NULL, *c = NULL;
    so_rng rng;
    (void)state;
    so_rng_init(&rng, 3, 0);
    for (int i = 0; i < QUERIES; i++) {
        /* Half on the dyadic grid of depth 10, half anywhere. */
        times[i] = i % 2 ? so_rng_uniform(&rng) : (double)so_rng_below(&rng, 1025) / 1024.0;
        order[i] = (uint32_t)i;
    }
    so_rng_shuffle(&rng, order, QUERIES);
    assert_int_equal(so_brownian_new(2, 0.0, 1.0, 10, 77, 5, &a), SO_OK);
    assert_int_equal(so_brownian_new(2, 0.0, 1.0, 10, 77, 5, &b), SO_OK);
    assert_int_equal(so_brownian_new(2, 0.0, 1.0, 10, 77, 5, &c), SO_OK);
    for (int i = 0; i < QUERIES; i++)
        assert_int_equal(so_brownian_value(a, times[i], forward[i]), SO_OK);
    for (int i = QUERIES - 1; i >= 0; i--)
        assert_int_equal(so_brownian_value(b, times[i], backward[i]), SO_OK);
    for (int i = 0; i < QUERIES; i++)
        assert_int_equal(so_brownian_value(c, times[order[i]], shuffled[order[i]]), SO_OK);
    for (int i = 0; i < QUERIES; i++)
        for (int j = 0; j < 2; j++) {
            assert_true(forward[i][j] == backward[i][j]);
            assert_true(forward[i][j] == shuffled[i][j]);
        }
    so_brownian_free(&a);
    so_brownian_free(&b);
    so_brownian_free(&c);
    assert_null(a);
}

static void increments_add_up(void **state)
{
    so_brownian *b = NULL;
    double w1, wh, whole, first, second, z_whole, z_first, z_second;
    (void)state;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 20, 1, 0, &b), SO_OK);
    assert_int_equal(so_brownian_value(b, 1.0, &w1), SO_OK);
    assert_int_equal(so_brownian_value(b, 0.5, &wh), SO_OK);
    assert_int_equal(so_brownian_increment(b, 0.0, 1.0, &whole, &z_whole), SO_OK);
    assert_int_equal(so_brownian_increment(b, 0.0, 0.5, &first, &z_first), SO_OK);
    assert_int_equal(so_brownian_increment(b, 0.5, 1.0, &second, &z_second), SO_OK);
    assert_true(whole == w1);
    assert_true(fabs(first + second - whole) < 1e-15);
    /* int_0^1 (W - W(0)) = int_0^.5 + 0.5 W(.5) + int_.5^1 (W - W(.5)). */
    assert_true(fabs(z_first + 0.5 * first + z_second - z_whole) < 1e-15);
    assert_true(first == wh);
    so_brownian_free(&b);
}

struct moments {
    double sum_w, sum_ww, sum_z, sum_zz, sum_wz, sum_wv;
};

/* Accumulates increments over [s, u] and the increment over [u, v] of `paths` paths. */
static void sample(double s, double u, double v, int depth, int paths, struct moments *mo)
{
    so_brownian *b = NULL;
    memset(mo, 0, sizeof *mo);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, depth, 11, 0, &b), SO_OK);
    for (int p = 0; p < paths; p++) {
        double dw, dz, dv;
        so_brownian_set_path(b, 11, (uint32_t)p);
        assert_int_equal(so_brownian_increment(b, s, u, &dw, &dz), SO_OK);
        assert_int_equal(so_brownian_increment(b, u, v, &dv, NULL), SO_OK);
        mo->sum_w += dw;
        mo->sum_ww += dw * dw;
        mo->sum_z += dz;
        mo->sum_zz += dz * dz;
        mo->sum_wz += dw * dz;
        mo->sum_wv += dw * dv;
    }
    so_brownian_free(&b);
}

/* Checks E dW = 0, Var dW = h, Var dZ = h^3 / 3, Cov(dW, dZ) = h^2 / 2 and that the
 * next increment is uncorrelated, each within five standard errors. */
static void check_moments(double s, double u, double v, int depth)
{
    const int paths = 20000;
    const double h = u - s, hv = v - u;
    struct moments mo;
    sample(s, u, v, depth, paths, &mo);
    double mean_w = mo.sum_w / paths, var_w = mo.sum_ww / paths;
    double var_z = mo.sum_zz / paths, cov_wz = mo.sum_wz / paths, cov_wv = mo.sum_wv / paths;
    assert_true(fabs(mean_w) < 5.0 * sqrt(h / paths));
    assert_true(fabs(var_w - h) < 5.0 * h * sqrt(2.0 / paths));
    assert_true(fabs(var_z - h * h * h / 3.0) < 5.0 * h * h * h / 3.0 * sqrt(2.0 / paths));
    /* Var(dW dZ) = E dW^2 E dZ^2 + E(dW dZ)^2 = h^4 / 3 + h^4 / 4 for jointly normal. */
    assert_true(fabs(cov_wz - h * h / 2.0) < 5.0 * h * h * sqrt(7.0 / 12.0 / paths));
    assert_true(fabs(cov_wv) < 5.0 * sqrt(h * hv / paths));
}

static void increment_moments_dyadic(void **state)
{
    (void)state;
    check_moments(0.25, 0.375, 0.5, 12);
    check_moments(0.0, 1.0 / 1024.0, 2.0 / 1024.0, 10);
}

static void increment_moments_off_grid(void **state)
{
    (void)state;
    check_moments(0.1, 0.35, 0.8, 30);
    check_moments(0.3, 0.3 + 1e-5, 0.3 + 3e-5, 40);
}

static void components_are_independent(void **state)
{
    const int paths = 20000;
    double s01 = 0.0, s_paths = 0.0;
    so_brownian *b = NULL;
    double previous = 0.0;
    (void)state;
    assert_int_equal(so_brownian_new(2, 0.0, 2.0, 8, 5, 0, &b), SO_OK);
    assert_int_equal(so_brownian_dim(b), 2);
    for (int p = 0; p < paths; p++) {
        double w[2];
        so_brownian_set_path(b, 5, (uint32_t)p);
        assert_int_equal(so_brownian_value(b, 1.3, w), SO_OK);
        s01 += w[0] * w[1];
        s_paths += w[0] * previous;
        previous = w[0];
    }
    /* E W0 W1 = 0 with standard deviation 1.3 / sqrt(paths). */
    assert_true(fabs(s01 / paths) < 5.0 * 1.3 / sqrt(paths));
    assert_true(fabs(s_paths / paths) < 5.0 * 1.3 / sqrt(paths));
    so_brownian_free(&b);
}

static void finest_cell_is_continuous(void **state)
{
    so_brownian *b = NULL;
    double grid, near, step;
    (void)state;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 6, 9, 0, &b), SO_OK);
    assert_int_equal(so_brownian_value(b, 0.5, &grid), SO_OK);
    assert_int_equal(so_brownian_value(b, 0.5 + 1e-12, &near), SO_OK);
    assert_true(fabs(near - grid) < 1e-9);
    assert_int_equal(so_brownian_value(b, 0.5 - 1e-12, &near), SO_OK);
    assert_true(fabs(near - grid) < 1e-9);
    assert_int_equal(so_brownian_increment(b, 0.5, 0.5, &step, NULL), SO_OK);
    assert_true(step == 0.0);
    so_brownian_free(&b);
}

static void rejects_bad_arguments(void **state)
{
    so_brownian *b = NULL;
    double w, z;
    (void)state;
    assert_int_equal(so_brownian_new(0, 0.0, 1.0, 10, 0, 0, &b), SO_ERR_INVALID);
    assert_int_equal(so_brownian_new(1, 1.0, 1.0, 10, 0, 0, &b), SO_ERR_INVALID);
    assert_int_equal(so_brownian_new(1, 0.0, NAN, 10, 0, 0, &b), SO_ERR_INVALID);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 0, 0, 0, &b), SO_ERR_INVALID);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, SO_BROWNIAN_MAX_DEPTH + 1, 0, 0, &b),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "depth = 53"));
    assert_null(b);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 10, 0, 0, &b), SO_OK);
    assert_int_equal(so_brownian_value(b, 1.5, &w), SO_ERR_RANGE);
    assert_non_null(strstr(so_last_error(), "t = 1.5"));
    assert_int_equal(so_brownian_increment(b, 0.6, 0.4, &w, &z), SO_ERR_INVALID);
    assert_int_equal(so_brownian_increment(b, -0.1, 0.4, &w, &z), SO_ERR_RANGE);
    so_brownian_free(&b);
    so_brownian_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_same_in_any_query_order),
        cmocka_unit_test(increments_add_up),
        cmocka_unit_test(increment_moments_dyadic),
        cmocka_unit_test(increment_moments_off_grid),
        cmocka_unit_test(components_are_independent),
        cmocka_unit_test(finest_cell_is_continuous),
        cmocka_unit_test(rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
