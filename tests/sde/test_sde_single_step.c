/* Single steps of every scheme against hand-computed values, including the commutative
 * two-noise Milstein example, and rejection of systems a scheme does not support. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/sde.h"

/* dX = X dW1 + X dW2: f = 0, g = (x, x), and L^j g_k = x for every j, k. */
static int zero_drift(void *user, double t, const double *x, double *f)
{
    (void)user, (void)t, (void)x;
    f[0] = 0.0;
    return 0;
}

static int two_noise_diffusion(void *user, double t, const double *x, double *g)
{
    (void)user, (void)t;
    g[0] = x[0];
    g[1] = x[0];
    return 0;
}

static int two_noise_jvp(void *user, double t, const double *x, const double *g, double *lg)
{
    (void)user, (void)t, (void)g;
    for (int i = 0; i < 4; i++)
        lg[i] = x[0];
    return 0;
}

static void milstein_commutative_two_noise(void **state)
{
    so_sde_system sys = {1, 2, SO_SDE_NOISE_COMMUTATIVE, zero_drift, two_noise_diffusion,
                         two_noise_jvp, NULL};
    const double dw[2] = {0.1, 0.2};
    double x = 1.0;
    so_sde *s = NULL;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_sde_step(s, SO_SDE_MILSTEIN, 0.0, 0.01, dw, NULL, &x), SO_OK);
    /* 1 + 0.3 + (1/2) (0.3^2) - (1/2) (2) (0.01). The formula with the diagonal terms
     * only would give 1.315, and the exact solution is e^0.29 = 1.33643. */
    assert_true(fabs(x - 1.335) < 1e-14);
    assert_true(fabs(x - 1.315) > 0.01);
    assert_true(fabs(x - exp(0.29)) < 2e-3);
    x = 1.0;
    assert_int_equal(so_sde_step(s, SO_SDE_MILSTEIN_STRATONOVICH, 0.0, 0.01, dw, NULL, &x),
                     SO_OK);
    assert_true(fabs(x - 1.345) < 1e-14);
    so_sde_free(&s);
    assert_null(s);
}

/* Geometric Brownian motion dX = mu X dt + sigma X dW with diagonal noise, n = m = 2. */
struct gbm {
    double mu, sigma;
};

static int gbm_drift(void *user, double t, const double *x, double *f)
{
    const struct gbm *p = user;
    (void)t;
    f[0] = p->mu * x[0];
    f[1] = p->mu * x[1];
    return 0;
}

static int gbm_diffusion(void *user, double t, const double *x, double *g)
{
    const struct gbm *p = user;
    (void)t;
    g[0] = p->sigma * x[0];
    g[1] = p->sigma * x[1];
    return 0;
}

static int gbm_jvp(void *user, double t, const double *x, const double *g, double *lg)
{
    const struct gbm *p = user;
    (void)t, (void)x;
    lg[0] = p->sigma * g[0];
    lg[1] = p->sigma * g[1];
    return 0;
}

static void diagonal_steps_match_formulas(void **state)
{
    struct gbm p = {0.5, 0.4};
    so_sde_system sys = {2, 2, SO_SDE_NOISE_DIAGONAL, gbm_drift, gbm_diffusion, gbm_jvp, &p};
    const double h = 0.1, dw[2] = {0.3, -0.2};
    so_sde *s = NULL;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    for (int i = 0; i < 2; i++) {
        double x[2] = {1.0, 2.0};
        double x0 = x[i], mu = p.mu, sg = p.sigma, w = dw[i];
        assert_int_equal(so_sde_step(s, SO_SDE_EULER_MARUYAMA, 0.0, h, dw, NULL, x), SO_OK);
        assert_true(fabs(x[i] - x0 * (1 + mu * h + sg * w)) < 1e-14);
        x[0] = 1.0, x[1] = 2.0;
        assert_int_equal(so_sde_step(s, SO_SDE_MILSTEIN, 0.0, h, dw, NULL, x), SO_OK);
        assert_true(fabs(x[i] - x0 * (1 + mu * h + sg * w + 0.5 * sg * sg * (w * w - h)))
                    < 1e-14);
        x[0] = 1.0, x[1] = 2.0;
        assert_int_equal(so_sde_step(s, SO_SDE_EULER_HEUN, 0.0, h, dw, NULL, x), SO_OK);
        /* Predictor x0 (1 + sg w); the diffusions average to sg x0 (1 + sg w / 2). */
        assert_true(fabs(x[i] - x0 * (1 + mu * h + sg * w + 0.5 * sg * sg * w * w)) < 1e-14);
    }
    so_sde_free(&s);
}

/* dX = lambda X dt + c dW with additive noise. */
static int linear_drift(void *user, double t, const double *x, double *f)
{
    (void)user, (void)t;
    f[0] = -2.0 * x[0];
    return 0;
}

static int constant_diffusion(void *user, double t, const double *x, double *g)
{
    (void)user, (void)t, (void)x;
    g[0] = 0.5;
    return 0;
}

static void sra1_step_matches_expansion(void **state)
{
    so_sde_system sys = {1, 1, SO_SDE_NOISE_ADDITIVE, linear_drift, constant_diffusion, NULL,
                         NULL};
    const double h = 0.1, lambda = -2.0, c = 0.5, dw = 0.3, dz = 0.02;
    double x = 1.5;
    so_sde *s = NULL;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_sde_step(s, SO_SDE_SRA1, 0.0, h, &dw, &dz, &x), SO_OK);
    /* For linear drift SRA1 is x (1 + lambda h + (lambda h)^2 / 2) + c dW + lambda c dZ,
     * the Taylor expansion of the exact solution to this order. */
    double want = 1.5 * (1 + lambda * h + 0.5 * lambda * lambda * h * h) + c * dw
                  + lambda * c * dz;
    assert_true(fabs(x - want) < 1e-14);
    assert_int_equal(so_sde_step(s, SO_SDE_SRA1, 0.0, h, &dw, NULL, &x), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "dz"));
    so_sde_free(&s);
}

static int skew_jvp(void *user, double t, const double *x, const double *g, double *lg)
{
    (void)user, (void)t, (void)g;
    lg[0] = x[0];
    lg[1] = 2.0 * x[0]; /* L^0 g_1 != L^1 g_0 */
    lg[2] = x[0];
    lg[3] = x[0];
    return 0;
}

static int stopping_drift(void *user, double t, const double *x, double *f)
{
    (void)user, (void)t, (void)x, (void)f;
    return -1;
}

static void rejects_unsupported_systems(void **state)
{
    so_sde_system sys = {1, 2, SO_SDE_NOISE_GENERAL, zero_drift, two_noise_diffusion,
                         two_noise_jvp, NULL};
    const double dw[2] = {0.1, 0.2};
    double x = 1.0;
    so_sde *s = NULL;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_sde_step(s, SO_SDE_MILSTEIN, 0.0, 0.01, dw, NULL, &x),
                     SO_ERR_UNSUPPORTED);
    assert_non_null(strstr(so_last_error(), "Levy areas"));
    assert_int_equal(so_sde_step(s, SO_SDE_SRA1, 0.0, 0.01, dw, dw, &x), SO_ERR_UNSUPPORTED);
    assert_int_equal(so_sde_step(s, SO_SDE_EULER_MARUYAMA, 0.0, 0.01, dw, NULL, &x), SO_OK);
    assert_true(fabs(x - 1.3) < 1e-15);
    so_sde_free(&s);

    sys.noise = SO_SDE_NOISE_COMMUTATIVE;
    sys.diffusion_jvp = skew_jvp;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_sde_step(s, SO_SDE_MILSTEIN, 0.0, 0.01, dw, NULL, &x), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "not commutative"));
    so_sde_free(&s);

    sys.diffusion_jvp = NULL;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_sde_step(s, SO_SDE_MILSTEIN, 0.0, 0.01, dw, NULL, &x), SO_ERR_INVALID);
    so_sde_free(&s);

    sys.drift = stopping_drift;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_sde_step(s, SO_SDE_EULER_MARUYAMA, 0.0, 0.01, dw, NULL, &x),
                     SO_ERR_CALLBACK);
    so_sde_free(&s);

    sys.noise = SO_SDE_NOISE_DIAGONAL; /* needs m = n */
    assert_int_equal(so_sde_new(&sys, &s), SO_ERR_INVALID);
    assert_null(s);
    sys.noise = SO_SDE_NOISE_GENERAL;
    sys.drift = NULL;
    assert_int_equal(so_sde_new(&sys, &s), SO_ERR_INVALID);
    assert_null(so_sde_scheme_name((so_sde_scheme)99));
    assert_string_equal(so_sde_scheme_name(SO_SDE_SRA1), "sra1");
}

static int count_observations(void *user, size_t step, double t, const double *x)
{
    size_t *count = user;
    (void)t, (void)x;
    if (*count != step)
        return -1;
    (*count)++;
    return step == 5 ? -1 : 0;
}

static void solve_observes_and_stops(void **state)
{
    struct gbm p = {0.5, 0.4};
    so_sde_system sys = {2, 2, SO_SDE_NOISE_DIAGONAL, gbm_drift, gbm_diffusion, gbm_jvp, &p};
    so_brownian *w = NULL, *w1 = NULL;
    so_sde *s = NULL;
    double x[2] = {1.0, 1.0};
    size_t count = 0;
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_brownian_new(2, 0.0, 1.0, 8, 1, 0, &w), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 8, 1, 0, &w1), SO_OK);
    assert_int_equal(so_sde_solve(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, 8, x, count_observations,
                                  &count), SO_ERR_CALLBACK);
    assert_int_equal(count, 6);
    assert_int_equal(so_sde_solve(s, SO_SDE_MILSTEIN, w1, 0.0, 1.0, 8, x, NULL, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_sde_solve(s, SO_SDE_MILSTEIN, w, 0.0, 2.0, 8, x, NULL, NULL),
                     SO_ERR_RANGE);
    assert_int_equal(so_sde_solve(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, 0, x, NULL, NULL),
                     SO_ERR_INVALID);
    so_brownian_free(&w);
    so_brownian_free(&w1);
    so_sde_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(milstein_commutative_two_noise),
        cmocka_unit_test(diagonal_steps_match_formulas),
        cmocka_unit_test(sra1_step_matches_expansion),
        cmocka_unit_test(rejects_unsupported_systems),
        cmocka_unit_test(solve_observes_and_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
