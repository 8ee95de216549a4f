/* Measured convergence orders on geometric Brownian motion against its exact solution
 * driven by the same Brownian path: strong orders of Euler-Maruyama, Milstein (diagonal
 * and two-noise commutative), Euler-Heun and Stratonovich Milstein, and the weak order
 * of Euler-Maruyama. Each test prints its errors and fitted slope; docs/sde.md records
 * them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/sde.h"

#define LEVELS 5
#define MAX_PATHS 10000

/* Least-squares slope of log(error) against log(h). */
static double fitted_slope(const double *h, const double *error, int count)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < count; i++) {
        double lx = log(h[i]), ly = log(error[i]);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
    }
    return (count * sxy - sx * sy) / (count * sxx - sx * sx);
}

static double report(const char *name, const double *h, const double *error)
{
    double slope = fitted_slope(h, error, LEVELS);
    print_message("%s:", name);
    for (int level = 0; level < LEVELS; level++)
        print_message(" h=1/%.0f err=%.4g", 1.0 / h[level], error[level]);
    print_message(" slope=%.3f\n", slope);
    return slope;
}

/* GBM dX = mu X dt + sigma X dW (Ito) or dX = mu X dt + sigma X o dW (Stratonovich). */
struct gbm {
    double mu, sigma;
};

static int gbm_drift(void *user, double t, const double *x, double *f)
{
    const struct gbm *p = user;
    (void)t;
    f[0] = p->mu * x[0];
    return 0;
}

static int gbm_diffusion(void *user, double t, const double *x, double *g)
{
    const struct gbm *p = user;
    (void)t;
    g[0] = p->sigma * x[0];
    return 0;
}

static int gbm_jvp(void *user, double t, const double *x, const double *g, double *lg)
{
    const struct gbm *p = user;
    (void)t, (void)x;
    lg[0] = p->sigma * g[0];
    return 0;
}

/* Mean |X_N - X(1)| over `paths` paths for steps = first_steps * 2^level, X(0) = 1. */
static void gbm_strong_errors(so_sde_scheme scheme, int stratonovich, int paths,
                              int first_steps, double *h, double *error)
{
    struct gbm p = {2.0, 1.0};
    so_sde_system sys = {1, 1, SO_SDE_NOISE_DIAGONAL, gbm_drift, gbm_diffusion, gbm_jvp, &p};
    so_sde *s = NULL;
    so_brownian *w = NULL;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 12, 2024, 0, &w), SO_OK);
    for (int level = 0; level < LEVELS; level++) {
        size_t steps = (size_t)first_steps << level;
        h[level] = 1.0 / (double)steps;
        error[level] = 0.0;
    }
    for (int path = 0; path < paths; path++) {
        double w1;
        so_brownian_set_path(w, 2024, (uint32_t)path);
        assert_int_equal(so_brownian_value(w, 1.0, &w1), SO_OK);
        double drift = stratonovich ? p.mu : p.mu - 0.5 * p.sigma * p.sigma;
        double exact = exp(drift + p.sigma * w1);
        for (int level = 0; level < LEVELS; level++) {
            double x = 1.0;
            size_t steps = (size_t)first_steps << level;
            assert_int_equal(so_sde_solve(s, scheme, w, 0.0, 1.0, steps, &x, NULL, NULL),
                             SO_OK);
            error[level] += fabs(x - exact) / paths;
        }
    }
    so_brownian_free(&w);
    so_sde_free(&s);
}

static void euler_maruyama_strong_order_half(void **state)
{
    double h[LEVELS], error[LEVELS];
    (void)state;
    gbm_strong_errors(SO_SDE_EULER_MARUYAMA, 0, 1000, 16, h, error);
    double slope = report("euler-maruyama strong (GBM)", h, error);
    assert_true(fabs(slope - 0.5) < 0.1);
}

static void milstein_strong_order_one(void **state)
{
    double h[LEVELS], error[LEVELS];
    (void)state;
    gbm_strong_errors(SO_SDE_MILSTEIN, 0, 1000, 16, h, error);
    double slope = report("milstein strong (GBM)", h, error);
    assert_true(fabs(slope - 1.0) < 0.1);
}

static void stratonovich_schemes_strong_order_one(void **state)
{
    double h[LEVELS], error[LEVELS];
    (void)state;
    gbm_strong_errors(SO_SDE_EULER_HEUN, 1, 1000, 16, h, error);
    double slope = report("euler-heun strong (Stratonovich GBM)", h, error);
    assert_true(fabs(slope - 1.0) < 0.15);
    gbm_strong_errors(SO_SDE_MILSTEIN_STRATONOVICH, 1, 1000, 16, h, error);
    slope = report("milstein-stratonovich strong (Stratonovich GBM)", h, error);
    assert_true(fabs(slope - 1.0) < 0.1);
}

/* E X_N of Euler-Maruyama on GBM is (1 + mu h)^N exactly, so the weak error is known.
 * The estimate mean(X_N - X(1)) of E X_N - E X(1) uses the exact solution on the same
 * path as a control variate, which keeps the Monte Carlo error below the bias. */
static void euler_maruyama_weak_order_one(void **state)
{
    struct gbm p = {1.0, 0.3};
    so_sde_system sys = {1, 1, SO_SDE_NOISE_DIAGONAL, gbm_drift, gbm_diffusion, NULL, &p};
    const int paths = MAX_PATHS;
    double h[LEVELS], error[LEVELS], sum[LEVELS] = {0}, sum_sq[LEVELS] = {0};
    so_sde *s = NULL;
    so_brownian *w = NULL;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 8, 99, 0, &w), SO_OK);
    for (int path = 0; path < paths; path++) {
        double w1;
        so_brownian_set_path(w, 99, (uint32_t)path);
        assert_int_equal(so_brownian_value(w, 1.0, &w1), SO_OK);
        double exact = exp(p.mu - 0.5 * p.sigma * p.sigma + p.sigma * w1);
        for (int level = 0; level < LEVELS; level++) {
            double x = 1.0;
            size_t steps = (size_t)4 << level;
            assert_int_equal(so_sde_solve(s, SO_SDE_EULER_MARUYAMA, w, 0.0, 1.0, steps, &x,
                                          NULL, NULL), SO_OK);
            sum[level] += x - exact;
            sum_sq[level] += (x - exact) * (x - exact);
        }
    }
    for (int level = 0; level < LEVELS; level++) {
        double steps = (double)(4 << level);
        double mean = sum[level] / paths;
        double std_error = sqrt((sum_sq[level] / paths - mean * mean) / paths);
        double bias = pow(1.0 + p.mu / steps, steps) - exp(p.mu);
        h[level] = 1.0 / steps;
        error[level] = fabs(mean);
        assert_true(fabs(mean - bias) < 4.0 * std_error);
    }
    double slope = report("euler-maruyama weak (GBM mean)", h, error);
    assert_true(fabs(slope - 1.0) < 0.1);
    so_brownian_free(&w);
    so_sde_free(&s);
}

/* dX = mu X dt + s1 X dW1 + s2 X dW2: commutative two-dimensional noise, with exact
 * solution exp((mu - (s1^2 + s2^2) / 2) t + s1 W1 + s2 W2). */
static int two_noise_drift(void *user, double t, const double *x, double *f)
{
    (void)user, (void)t;
    f[0] = 1.0 * x[0];
    return 0;
}

static int two_noise_diffusion(void *user, double t, const double *x, double *g)
{
    (void)user, (void)t;
    g[0] = 0.6 * x[0];
    g[1] = 0.8 * x[0];
    return 0;
}

static int two_noise_jvp(void *user, double t, const double *x, const double *g, double *lg)
{
    static const double sigma[2] = {0.6, 0.8};
    (void)user, (void)t, (void)x;
    for (int j = 0; j < 2; j++)
        for (int k = 0; k < 2; k++)
            lg[j * 2 + k] = sigma[k] * g[j]; /* L^j g_k = g_j d(sigma_k x)/dx */
    return 0;
}

static void milstein_commutative_strong_order_one(void **state)
{
    so_sde_system sys = {1, 2, SO_SDE_NOISE_COMMUTATIVE, two_noise_drift, two_noise_diffusion,
                         two_noise_jvp, NULL};
    const int paths = 1000;
    double h[LEVELS], error[LEVELS] = {0};
    so_sde *s = NULL;
    so_brownian *w = NULL;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_brownian_new(2, 0.0, 1.0, 10, 31, 0, &w), SO_OK);
    for (int path = 0; path < paths; path++) {
        double w1[2];
        so_brownian_set_path(w, 31, (uint32_t)path);
        assert_int_equal(so_brownian_value(w, 1.0, w1), SO_OK);
        double exact = exp(1.0 - 0.5 + 0.6 * w1[0] + 0.8 * w1[1]);
        for (int level = 0; level < LEVELS; level++) {
            double x = 1.0;
            size_t steps = (size_t)16 << level;
            h[level] = 1.0 / (double)steps;
            assert_int_equal(so_sde_solve(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, steps, &x, NULL,
                                          NULL), SO_OK);
            error[level] += fabs(x - exact) / paths;
        }
    }
    double slope = report("milstein strong (two-noise commutative GBM)", h, error);
    assert_true(fabs(slope - 1.0) < 0.1);
    so_brownian_free(&w);
    so_sde_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(euler_maruyama_strong_order_half),
        cmocka_unit_test(milstein_strong_order_one),
        cmocka_unit_test(milstein_commutative_strong_order_one),
        cmocka_unit_test(stratonovich_schemes_strong_order_one),
        cmocka_unit_test(euler_maruyama_weak_order_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
