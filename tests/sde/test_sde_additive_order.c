/* Measured strong orders with additive noise: SRA1 and Euler-Maruyama on an
 * Ornstein-Uhlenbeck process against its exact solution driven by the same Brownian
 * path, and SRA1 on a nonlinear drift against a fine-step reference. Each test prints its
 * errors and fitted slope; docs/sde.md records them. */
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

/* Ornstein-Uhlenbeck dX = theta (mu - X) dt + sigma dW. */
struct ou {
    double theta, mu, sigma;
};

static int ou_drift(void *user, double t, const double *x, double *f)
{
    const struct ou *p = user;
    (void)t;
    f[0] = p->theta * (p->mu - x[0]);
    return 0;
}

static int ou_diffusion(void *user, double t, const double *x, double *g)
{
    const struct ou *p = user;
    (void)t, (void)x;
    g[0] = p->sigma;
    return 0;
}

/* The exact solution X(1) = mu + e^{-theta} (X0 - mu) + sigma int_0^1 e^{-theta (1-r)} dW_r,
 * with the stochastic integral summed over 2^12 cells of the same path. Over a cell of
 * length d, int e^{-theta (d - r)} dW_r = dW - theta dZ + O(d^{5/2}), so the sum is
 * accurate to O(2^-24), far below the errors being measured. */
static double ou_exact(const struct ou *p, const so_brownian *w, double x0)
{
    const size_t cells = (size_t)1 << 12;
    const double d = 1.0 / (double)cells, decay = exp(-p->theta * d);
    double y = x0 - p->mu;
    for (size_t k = 0; k < cells; k++) {
        double dw, dz;
        assert_int_equal(so_brownian_increment(w, (double)k * d, (double)(k + 1) * d, &dw, &dz),
                         SO_OK);
        y = decay * y + p->sigma * (dw - p->theta * dz);
    }
    return p->mu + y;
}

/* Mean |X_N - X(1)| of SRA1 (errors[0]) and Euler-Maruyama (errors[1]) on the same
 * paths, for steps = 8 * 2^level. */
static void ou_strong_errors(int paths, double *h, double errors[2][LEVELS])
{
    static const so_sde_scheme schemes[2] = {SO_SDE_SRA1, SO_SDE_EULER_MARUYAMA};
    struct ou p = {4.0, 1.0, 1.0};
    so_sde_system sys = {1, 1, SO_SDE_NOISE_ADDITIVE, ou_drift, ou_diffusion, NULL, &p};
    so_sde *s = NULL;
    so_brownian *w = NULL;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 12, 7, 0, &w), SO_OK);
    for (int level = 0; level < LEVELS; level++) {
        h[level] = 1.0 / (double)(8 << level);
        errors[0][level] = errors[1][level] = 0.0;
    }
    for (int path = 0; path < paths; path++) {
        so_brownian_set_path(w, 7, (uint32_t)path);
        double exact = ou_exact(&p, w, 2.0);
        for (int k = 0; k < 2; k++)
            for (int level = 0; level < LEVELS; level++) {
                double x = 2.0;
                size_t steps = (size_t)8 << level;
                assert_int_equal(so_sde_solve(s, schemes[k], w, 0.0, 1.0, steps, &x, NULL,
                                              NULL), SO_OK);
                errors[k][level] += fabs(x - exact) / paths;
            }
    }
    so_brownian_free(&w);
    so_sde_free(&s);
}

/* For linear drift the remainder terms that limit SRA1 to order 3/2 vanish, because they
 * carry the second derivative of the drift. The next terms are of global order 2, so the
 * fitted slope on OU is about 2, not 3/2. */
static void sra1_strong_order_on_ou(void **state)
{
    double h[LEVELS], errors[2][LEVELS];
    (void)state;
    ou_strong_errors(500, h, errors);
    double slope = report("sra1 strong (OU)", h, errors[0]);
    assert_true(slope > 1.4);
    assert_true(slope < 2.2);
    slope = report("euler-maruyama strong (OU, additive noise)", h, errors[1]);
    assert_true(fabs(slope - 1.0) < 0.1);
}

/* dX = -2 sin(X) dt + 3 dW: nonlinear drift with additive noise, where order 3/2 is
 * sharp. No closed form exists, so SRA1 with 2^11 steps on the same path is the
 * reference; its own error is about (2^-11 / 2^-7)^{3/2} = 1.6% of the finest error. */
static int sine_drift(void *user, double t, const double *x, double *f)
{
    (void)user, (void)t;
    f[0] = -2.0 * sin(x[0]);
    return 0;
}

static int unit_diffusion(void *user, double t, const double *x, double *g)
{
    (void)user, (void)t, (void)x;
    g[0] = 3.0;
    return 0;
}

static void sra1_strong_order_nonlinear_drift(void **state)
{
    so_sde_system sys = {1, 1, SO_SDE_NOISE_ADDITIVE, sine_drift, unit_diffusion, NULL, NULL};
    const int paths = 500;
    double h[LEVELS], error[LEVELS] = {0};
    so_sde *s = NULL;
    so_brownian *w = NULL;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 11, 13, 0, &w), SO_OK);
    for (int path = 0; path < paths; path++) {
        double reference = 1.0;
        so_brownian_set_path(w, 13, (uint32_t)path);
        assert_int_equal(so_sde_solve(s, SO_SDE_SRA1, w, 0.0, 1.0, 2048, &reference, NULL,
                                      NULL), SO_OK);
        for (int level = 0; level < LEVELS; level++) {
            double x = 1.0;
            size_t steps = (size_t)8 << level;
            h[level] = 1.0 / (double)steps;
            assert_int_equal(so_sde_solve(s, SO_SDE_SRA1, w, 0.0, 1.0, steps, &x, NULL, NULL),
                             SO_OK);
            error[level] += fabs(x - reference) / paths;
        }
    }
    double slope = report("sra1 strong (sine drift, additive noise)", h, error);
    assert_true(fabs(slope - 1.5) < 0.15);
    so_brownian_free(&w);
    so_sde_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sra1_strong_order_on_ou),
        cmocka_unit_test(sra1_strong_order_nonlinear_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
