/* Markov-approximate fractional Brownian motion: the incomplete gamma function against
 * SciPy, the closed-form normal equations against quadrature, the variance and residual
 * of the approximation, Monte Carlo variance of simulated paths, and an fBM-driven
 * Ornstein-Uhlenbeck process. Fixtures come from tests/reference/gen_mafbm_scipy.py. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/sde.h"

#define MAX_K 12

static const double hurst_values[5] = {0.1, 0.3, 0.5, 0.7, 0.9};

/* Reads a fixture: a leading row count, then rows of `columns` float64 values. */
static double *read_fixture(const char *name, size_t columns, size_t *rows)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/reference/sde/%s", SO_TEST_DATA_DIR, name);
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    double count;
    assert_int_equal(fread(&count, sizeof count, 1, file), 1);
    *rows = (size_t)count;
    double *data = malloc(*rows * columns * sizeof *data);
    assert_non_null(data);
    assert_int_equal(fread(data, sizeof *data, *rows * columns, file), *rows * columns);
    fclose(file);
    return data;
}

static void gamma_p_matches_scipy(void **state)
{
    size_t rows;
    double *data = read_fixture("gammainc_p.bin", 3, &rows);
    double worst = 0.0;
    (void)state;
    assert_true(rows > 500);
    for (size_t r = 0; r < rows; r++) {
        double a = data[3 * r], x = data[3 * r + 1], expected = data[3 * r + 2], p;
        assert_int_equal(so_gamma_p(a, x, &p), SO_OK);
        double relative = fabs(p - expected) / expected;
        if (relative > worst)
            worst = relative;
        if (!(relative <= 1e-13))
            print_error("P(%g, %g) = %.17g, SciPy %.17g\n", a, x, p, expected);
        assert_true(relative <= 1e-13);
    }
    print_message("gamma_p: %zu fixtures, largest relative error %.3g\n", rows, worst);
    free(data);
}

static void gamma_p_rejects_invalid(void **state)
{
    double p;
    (void)state;
    assert_int_equal(so_gamma_p(0.0, 1.0, &p), SO_ERR_INVALID);
    assert_int_equal(so_gamma_p(1.0, -1.0, &p), SO_ERR_INVALID);
    assert_int_equal(so_gamma_p(NAN, 1.0, &p), SO_ERR_INVALID);
    assert_int_equal(so_gamma_p(1.0, 0.0, &p), SO_OK);
    assert_true(p == 0.0);
    assert_int_equal(so_gamma_p(1.0, INFINITY, &p), SO_OK);
    assert_true(p == 1.0);
}

static void normal_equations_match_quadrature(void **state)
{
    size_t rows;
    double *data = read_fixture("mafbm_b.bin", 5, &rows);
    (void)state;
    for (size_t r = 0; r < rows; r++) {
        const double *row = &data[5 * r];
        so_mafbm_type type = row[0] == 2.0 ? SO_MAFBM_TYPE_II : SO_MAFBM_TYPE_I;
        double b;
        assert_int_equal(so_mafbm_normal_equations(type, row[1], row[3], 1, &row[2], NULL,
                                                   &b, NULL), SO_OK);
        double relative = fabs(b - row[4]) / fabs(row[4]);
        if (!(relative < 1e-10))
            print_error("type %g H %g gamma %g T %g: b = %.17g, quadrature %.17g\n", row[0],
                        row[1], row[2], row[3], b, row[4]);
        assert_true(relative < 1e-10);
    }
    free(data);

    double *vh = read_fixture("mafbm_vh.bin", 2, &rows);
    for (size_t r = 0; r < rows; r++) {
        double var;
        assert_int_equal(so_mafbm_fbm_variance(SO_MAFBM_TYPE_I, vh[2 * r], 1.0, &var), SO_OK);
        assert_true(fabs(var - vh[2 * r + 1]) < 1e-9 * vh[2 * r + 1]);
    }
    free(vh);
}

/* Simpson's rule for the time average of the pointwise mean squared error. */
static double average_mse(so_mafbm_type type, double H, size_t K, const double *gamma,
                          const double *w, double T)
{
    const int intervals = 4000;
    double sum = 0.0;
    for (int i = 0; i <= intervals; i++) {
        double mse, t = T * i / intervals;
        /* The integrand behaves like t^(2H) near 0; the rule's error there is small. */
        assert_int_equal(so_mafbm_mse(type, H, K, gamma, w, t, &mse), SO_OK);
        double weight = (i == 0 || i == intervals) ? 1.0 : (i % 2 ? 4.0 : 2.0);
        sum += weight * mse;
    }
    return sum / (3.0 * intervals);
}

static void variance_within_residual(void **state)
{
    double gamma[MAX_K], w[MAX_K];
    (void)state;
    for (int type_index = 0; type_index < 2; type_index++) {
        so_mafbm_type type = type_index == 0 ? SO_MAFBM_TYPE_II : SO_MAFBM_TYPE_I;
        for (int h = 0; h < 5; h++) {
            double H = hurst_values[h], residual;
            assert_int_equal(so_mafbm_gammas(5, 20.0, gamma), SO_OK);
            assert_int_equal(so_mafbm_weights(type, H, 1.0, 5, gamma, w, &residual), SO_OK);
            double average = average_mse(type, H, 5, gamma, w, 1.0);
            print_message("type %s H=%.1f residual=%.4g simpson mean mse=%.4g\n",
                          type_index == 0 ? "II" : "I", H, residual, average);
            /* The residual is the time average of the pointwise error. */
            assert_true(fabs(average - residual) <= 2e-3 * residual + 1e-12);
            for (int i = 1; i <= 4; i++) {
                double t = 0.25 * i, var_hat, var, mse;
                assert_int_equal(so_mafbm_variance(type, 5, gamma, w, t, &var_hat), SO_OK);
                assert_int_equal(so_mafbm_fbm_variance(type, H, t, &var), SO_OK);
                assert_int_equal(so_mafbm_mse(type, H, 5, gamma, w, t, &mse), SO_OK);
                assert_true(mse >= -1e-12);
                /* |Var B_hat - Var B| = |E (B_hat - B)(B_hat + B)| <= sqrt(mse) (sd + sd). */
                double bound = sqrt(fmax(mse, 0.0)) * (sqrt(var_hat) + sqrt(var));
                assert_true(fabs(var_hat - var) <= bound + 1e-12);
                /* With the time-averaged residual in place of mse, up to a factor 10 for
                 * the variation of the error over [0, T]. */
                assert_true(fabs(var_hat - var) <= 10.0 * sqrt(residual / t)
                                                       * (sqrt(var_hat) + sqrt(var)) + 1e-9);
            }
        }
    }
}

/* The residual against the minimum computed in 60-digit arithmetic. The tolerance
 * widens at K = 11 and 12, where the type II weights reach 1e11 to 1e13, so their
 * rounding to double limits the attainable residual. */
static void residual_falls_with_k(void **state)
{
    size_t rows;
    double *data = read_fixture("mafbm_residual.bin", 4, &rows);
    double gamma[MAX_K], w[MAX_K], previous_exact = INFINITY, previous = INFINITY;
    double first_exact = INFINITY;
    (void)state;
    assert_int_equal(rows, 2 * 5 * (MAX_K - 1));
    for (size_t r = 0; r < rows; r++) {
        const double *row = &data[4 * r];
        so_mafbm_type type = row[0] == 2.0 ? SO_MAFBM_TYPE_II : SO_MAFBM_TYPE_I;
        double H = row[1], exact = row[3], residual;
        size_t K = (size_t)row[2];
        if (K == 2)
            previous_exact = previous = INFINITY;
        assert_int_equal(so_mafbm_gammas(K, 20.0, gamma), SO_OK);
        assert_int_equal(so_mafbm_weights(type, H, 1.0, K, gamma, w, &residual), SO_OK);
        double excess = (residual - exact) / fmax(exact, 1e-300);
        print_message("type %s H=%.1f K=%zu residual=%.6g exact=%.6g relative excess %.2g\n",
                      row[0] == 2.0 ? "II" : "I", H, K, residual, exact, excess);
        /* The speed sets for K and K + 1 are not nested, so the exact minimum may rise
         * slightly from one K to the next (at most 0.8 % in the fixture), but it falls
         * overall. */
        assert_true(exact < 1.01 * previous_exact);
        if (K == 2)
            first_exact = exact;
        if (K == MAX_K)
            assert_true(exact < 0.9 * first_exact);
        previous_exact = exact;
        /* The residual cannot fall below the exact minimum, except by the rounding of
         * c - b^T w. For type I the b_k carry about 1e-14 relative error from P(a, x),
         * which the cancellation raises to about 1e-10 of the residual. At K = 12 the
         * double-double value of w^T A w with weights near 1e13 errs by up to 4e-5 of it.
         * The absolute slack 1e-13 covers H = 1/2 (type II), where the minimum is
         * below 1e-10. Largest relative excess measured: 2.0e-11 for K <= 10, 1.1e-8 at
         * K = 11 and 7.4e-5 at K = 12. */
        double tolerance = 2e-10;
        if (K == 11)
            tolerance = 1e-7;
        else if (K == 12)
            tolerance = 5e-4;
        assert_true(residual >= exact * (1.0 - fmax(1e-6, tolerance)) - 1e-13);
        assert_true(residual <= exact * (1.0 + tolerance) + 1e-13);
        if (exact > 1e-10)
            assert_true(residual < 1.01 * previous);
        previous = residual;
    }
    free(data);
}

static void half_is_brownian_motion(void **state)
{
    double gamma[5], w[5], residual;
    so_brownian *path = NULL;
    (void)state;
    assert_int_equal(so_mafbm_gammas(5, 20.0, gamma), SO_OK);
    assert_int_equal(so_mafbm_weights(SO_MAFBM_TYPE_II, 0.5, 1.0, 5, gamma, w, &residual),
                     SO_OK);
    print_message("H=0.5: residual %.3g, weights %g %g %g %g %g\n", residual, w[0], w[1],
                  w[2], w[3], w[4]);
    assert_true(residual < 1e-6);
    for (int i = 1; i <= 4; i++) {
        double var;
        assert_int_equal(so_mafbm_variance(SO_MAFBM_TYPE_II, 5, gamma, w, 0.25 * i, &var),
                         SO_OK);
        assert_true(fabs(var - 0.25 * i) < 1e-3 * 0.25 * i);
    }
    /* On one path, B_hat(1) follows W(1). */
    double mse;
    assert_int_equal(so_mafbm_mse(SO_MAFBM_TYPE_II, 0.5, 5, gamma, w, 1.0, &mse), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 10, 5, 0, &path), SO_OK);
    double sum_sq = 0.0;
    for (uint32_t p = 0; p < 200; p++) {
        double y[5] = {0}, b, w1;
        so_brownian_set_path(path, 5, p);
        assert_int_equal(so_mafbm_simulate(5, gamma, w, path, 0.0, 1.0, 1024, y, &b), SO_OK);
        assert_int_equal(so_brownian_value(path, 1.0, &w1), SO_OK);
        sum_sq += (b - w1) * (b - w1) / 200.0;
    }
    print_message("H=0.5: mean (B_hat(1) - W(1))^2 = %.3g over 200 paths, exact mse %.3g\n",
                  sum_sq, mse);
    assert_true(sum_sq < 1e-5);
    so_brownian_free(&path);
}

/* Sample variance of B_hat(T) over `paths` paths against w^T C(T) w, with the standard
 * error of a variance estimate from the sample fourth moment. */
static void check_monte_carlo(so_mafbm_type type, double H, int paths, size_t steps)
{
    double gamma[5], w[5], exact;
    so_brownian *path = NULL;
    assert_int_equal(so_mafbm_gammas(5, 20.0, gamma), SO_OK);
    assert_int_equal(so_mafbm_weights(type, H, 1.0, 5, gamma, w, NULL), SO_OK);
    assert_int_equal(so_mafbm_variance(type, 5, gamma, w, 1.0, &exact), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 6, 77, 0, &path), SO_OK);
    double sum = 0.0, sum2 = 0.0, sum4 = 0.0;
    for (int p = 0; p < paths; p++) {
        double y[5], b;
        so_rng rng;
        so_rng_init(&rng, 78, (uint64_t)p);
        so_brownian_set_path(path, 77, (uint32_t)p);
        assert_int_equal(so_mafbm_initial(type, 5, gamma, &rng, y), SO_OK);
        assert_int_equal(so_mafbm_simulate(5, gamma, w, path, 0.0, 1.0, steps, y, &b), SO_OK);
        sum += b;
        sum2 += b * b;
        sum4 += b * b * b * b;
    }
    double mean = sum / paths, var = sum2 / paths - mean * mean;
    double std_error = sqrt((sum4 / paths - (sum2 / paths) * (sum2 / paths)) / paths);
    print_message("type %s H=%.1f: Monte Carlo Var B_hat(1) = %.5f +- %.5f, w^T C w = %.5f "
                  "(%d paths, %zu steps)\n", type == SO_MAFBM_TYPE_II ? "II" : "I", H, var,
                  std_error, exact, paths, steps);
    assert_true(fabs(var - exact) < 3.0 * std_error);
    assert_true(fabs(mean) < 4.0 * sqrt(var / paths));
    so_brownian_free(&path);
}

static void monte_carlo_variance(void **state)
{
    (void)state;
    check_monte_carlo(SO_MAFBM_TYPE_II, 0.3, 20000, 64);
    check_monte_carlo(SO_MAFBM_TYPE_II, 0.7, 20000, 64);
    check_monte_carlo(SO_MAFBM_TYPE_I, 0.7, 20000, 64);
}

/* The OU update's noise alpha dw + beta dz has variance alpha^2 h + alpha beta h^2 +
 * beta^2 h^3 / 3, which falls short of the exact (1 - e^(-2 g h)) / (2 g) only slightly. */
static void ou_step_variance_shortfall(void **state)
{
    const double gamma[4] = {0.05, 1.0, 20.0, 200.0};
    const double h = 1.0 / 128.0;
    (void)state;
    for (int k = 0; k < 4; k++) {
        double y = 0.0, alpha, beta;
        assert_int_equal(so_mafbm_ou_step(1, &gamma[k], h, 1.0, 0.0, &y), SO_OK);
        alpha = y;
        y = 0.0;
        assert_int_equal(so_mafbm_ou_step(1, &gamma[k], h, 0.0, 1.0, &y), SO_OK);
        beta = y;
        double var = alpha * alpha * h + alpha * beta * h * h + beta * beta * h * h * h / 3.0;
        double exact = -expm1(-2.0 * gamma[k] * h) / (2.0 * gamma[k]);
        double shortfall = 1.0 - var / exact, x = gamma[k] * h;
        print_message("gamma h = %.4g: relative variance shortfall %.3g\n", x, shortfall);
        assert_true(shortfall >= -1e-13);
        assert_true(shortfall <= x * x * x * x / 500.0 + 1e-13);
    }
}

struct fou {
    double theta, sigma;
};

static int fou_drift(void *user, double t, const double *x, double *f)
{
    const struct fou *p = user;
    (void)t;
    f[0] = -p->theta * x[0];
    return 0;
}

static int fou_diffusion(void *user, double t, const double *x, double *g)
{
    const struct fou *p = user;
    (void)t, (void)x;
    g[0] = p->sigma;
    return 0;
}

static void fractional_ou_process(void **state)
{
    double gamma[5], w[5];
    so_brownian *path = NULL;
    (void)state;
    assert_int_equal(so_mafbm_gammas(5, 20.0, gamma), SO_OK);
    assert_int_equal(so_mafbm_weights(SO_MAFBM_TYPE_II, 0.3, 1.0, 5, gamma, w, NULL), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 12, 9, 0, &path), SO_OK);

    /* theta = 0: X(1) = X(0) + sigma B_hat(1). */
    struct fou zero = {0.0, 0.7};
    so_mafbm_sde sys = {1, fou_drift, fou_diffusion, &zero};
    double y[5] = {0}, x = 1.0, y2[5] = {0}, b;
    assert_int_equal(so_mafbm_sde_solve(&sys, 5, gamma, w, path, 0.0, 1.0, 256, y, &x, NULL,
                                        NULL), SO_OK);
    assert_int_equal(so_mafbm_simulate(5, gamma, w, path, 0.0, 1.0, 256, y2, &b), SO_OK);
    assert_true(fabs(x - (1.0 + 0.7 * b)) < 1e-13);

    /* theta = 2: halving the step roughly halves the difference to a 4096-step run. */
    struct fou decay = {2.0, 0.7};
    sys.user = &decay;
    double errors[3] = {0};
    for (uint32_t p = 0; p < 50; p++) {
        double reference = 1.0, yr[5] = {0};
        so_brownian_set_path(path, 9, p);
        assert_int_equal(so_mafbm_sde_solve(&sys, 5, gamma, w, path, 0.0, 1.0, 4096, yr,
                                            &reference, NULL, NULL), SO_OK);
        for (int level = 0; level < 3; level++) {
            double xl = 1.0, yl[5] = {0};
            assert_int_equal(so_mafbm_sde_solve(&sys, 5, gamma, w, path, 0.0, 1.0,
                                                (size_t)64 << level, yl, &xl, NULL, NULL),
                             SO_OK);
            errors[level] += fabs(xl - reference) / 50.0;
        }
    }
    print_message("fractional OU, theta 2: mean |X - X_4096| at 64, 128, 256 steps: %.3g "
                  "%.3g %.3g\n", errors[0], errors[1], errors[2]);
    assert_true(errors[1] < 0.7 * errors[0]);
    assert_true(errors[2] < 0.7 * errors[1]);
    so_brownian_free(&path);
}

static void rejects_invalid_arguments(void **state)
{
    double gamma[3] = {0.5, 1.0, 1.0}, w[3], var;
    so_brownian *path = NULL;
    (void)state;
    assert_int_equal(so_mafbm_gammas(3, 1.0, gamma), SO_ERR_INVALID);
    assert_int_equal(so_mafbm_gammas(0, 20.0, gamma), SO_ERR_INVALID);
    gamma[0] = 0.5, gamma[1] = 1.0, gamma[2] = 1.0;
    assert_int_equal(so_mafbm_weights(SO_MAFBM_TYPE_II, 0.3, 1.0, 3, gamma, w, NULL),
                     SO_ERR_INVALID); /* repeated speed */
    gamma[2] = 2.0;
    assert_int_equal(so_mafbm_weights(SO_MAFBM_TYPE_II, 1.0, 1.0, 3, gamma, w, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_mafbm_weights(SO_MAFBM_TYPE_II, 0.3, 0.0, 3, gamma, w, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_mafbm_weights((so_mafbm_type)7, 0.3, 1.0, 3, gamma, w, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_mafbm_variance(SO_MAFBM_TYPE_II, 3, gamma, w, -1.0, &var),
                     SO_ERR_INVALID);
    assert_int_equal(so_mafbm_initial(SO_MAFBM_TYPE_I, 3, gamma, NULL, w), SO_ERR_INVALID);
    assert_int_equal(so_brownian_new(2, 0.0, 1.0, 4, 1, 0, &path), SO_OK);
    double y[3] = {0};
    assert_int_equal(so_mafbm_simulate(3, gamma, w, path, 0.0, 1.0, 8, y, NULL),
                     SO_ERR_INVALID); /* two components */
    so_brownian_free(&path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gamma_p_matches_scipy),
        cmocka_unit_test(gamma_p_rejects_invalid),
        cmocka_unit_test(normal_equations_match_quadrature),
        cmocka_unit_test(variance_within_residual),
        cmocka_unit_test(residual_falls_with_k),
        cmocka_unit_test(half_is_brownian_motion),
        cmocka_unit_test(ou_step_variance_shortfall),
        cmocka_unit_test(monte_carlo_variance),
        cmocka_unit_test(fractional_ou_process),
        cmocka_unit_test(rejects_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
