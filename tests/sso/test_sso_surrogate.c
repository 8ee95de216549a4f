/* The surrogate's minimizer and the majorization property: many inner steps on one
 * full-batch surrogate reach the least-squares fit of X theta to z_t - eta l'(z_t)
 * (LAPACKE_dgels), and full-batch SSO with eta <= 1/L never increases the loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <string.h>

#include <cmocka.h>
#include <lapacke.h>

#include "sso_test_util.h"

enum { N = 40, D = 5, P = D + 1 };

/* Design matrix with the intercept column, N x P row-major. */
static void design(const double *x, double *a)
{
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < D; j++)
            a[i * P + j] = x[i * D + j];
        a[i * P + D] = 1.0;
    }
}

/* Largest eigenvalue of A^T A. */
static double gram_max_eigenvalue(const double *a)
{
    double g[P * P], w[P];
    memset(g, 0, sizeof g);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < P; j++)
            for (size_t k = 0; k < P; k++)
                g[j * P + k] += a[i * P + j] * a[i * P + k];
    assert_int_equal(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', P, g, P, w), 0);
    return w[P - 1];
}

enum { K_MAX = 3 };

/* Outputs per row of the test problems: 3 classes for softmax, else 1. */
static size_t outputs_of(so_sso_loss loss)
{
    return loss == SO_SSO_SOFTMAX ? 3 : 1;
}

static void fill_data(so_sso_loss loss, uint64_t seed, double *x, double *y)
{
    if (loss == SO_SSO_SOFTMAX)
        sso_test_multiclass(N, D, 3, seed, x, y);
    else
        sso_test_data(N, D, loss, seed, x, y);
}

/* Writes dl/dz at the k outputs z of a row with target y. */
static void loss_derivative(so_sso_loss loss, size_t k, const double *z, double y,
                            double *dl)
{
    if (loss == SO_SSO_SQUARED) {
        dl[0] = z[0] - y;
    } else if (loss == SO_SSO_LOGISTIC) {
        dl[0] = -y / (1.0 + exp(y * z[0]));
    } else {
        double sum = 0.0;
        for (size_t c = 0; c < k; c++)
            sum += exp(z[c]);
        for (size_t c = 0; c < k; c++)
            dl[c] = exp(z[c]) / sum - (c == (size_t)y ? 1.0 : 0.0);
    }
}

static void check_surrogate_minimizer(so_sso_loss loss)
{
    size_t k = outputs_of(loss);
    double x[N * D], y[N], a[N * P], target[N * K_MAX], theta0[P * K_MAX], theta[P * K_MAX];
    double eta = 0.8;
    fill_data(loss, 21, x, y);
    design(x, a);
    so_sso_problem *p = NULL;
    assert_int_equal(so_sso_problem_new(&p, N, D, x, y, loss, 1), SO_OK);
    assert_int_equal(so_sso_problem_params(p), P * k);
    for (size_t j = 0; j < P * k; j++)
        theta0[j] = 0.3 - 0.1 * (double)j;

    /* Targets z_t - eta l'(z_t) at theta0 (N x k), then their least-squares fit. */
    for (size_t i = 0; i < N; i++) {
        double z[K_MAX] = {0}, dl[K_MAX];
        for (size_t c = 0; c < k; c++)
            for (size_t j = 0; j < P; j++)
                z[c] += a[i * P + j] * theta0[j * k + c];
        loss_derivative(loss, k, z, y[i], dl);
        for (size_t c = 0; c < k; c++)
            target[i * k + c] = z[c] - eta * dl[c];
    }
    double a_copy[N * P];
    memcpy(a_copy, a, sizeof a);
    assert_int_equal(LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', N, P, (lapack_int)k, a_copy, P,
                                   target, (lapack_int)k),
                     0);

    /* One outer step with many inner steps of 1 / lambda_max of the surrogate Hessian
     * A^T A / (eta N). The solution is the first P rows of target. */
    so_sso_options o = so_sso_options_default();
    o.batch_size = N;
    o.outer_iters = 1;
    o.eta = eta;
    o.inner_steps = 3000;
    o.alpha = eta * N / gram_max_eigenvalue(a);
    memcpy(theta, theta0, sizeof theta);
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_OK);
    for (size_t j = 0; j < P * k; j++)
        assert_true(fabs(theta[j] - target[j]) <= 1e-10);

    /* The Armijo inner search reaches the same point. */
    o.inner = SO_SSO_INNER_ARMIJO;
    o.alpha = 10.0;
    memcpy(theta, theta0, sizeof theta);
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_OK);
    for (size_t j = 0; j < P * k; j++)
        assert_true(fabs(theta[j] - target[j]) <= 1e-8);
    so_sso_problem_free(&p);
}

static void surrogate_minimizer_squared(void **state)
{
    (void)state;
    check_surrogate_minimizer(SO_SSO_SQUARED);
}

static void surrogate_minimizer_logistic(void **state)
{
    (void)state;
    check_surrogate_minimizer(SO_SSO_LOGISTIC);
}

static void surrogate_minimizer_softmax(void **state)
{
    (void)state;
    check_surrogate_minimizer(SO_SSO_SOFTMAX);
}

enum { ITERS = 60 };

static void check_monotone(so_sso_loss loss, so_sso_inner inner)
{
    size_t k = outputs_of(loss);
    double x[N * D], y[N], a[N * P], theta[P * K_MAX];
    fill_data(loss, 33, x, y);
    design(x, a);
    so_sso_problem *p = NULL;
    assert_int_equal(so_sso_problem_new(&p, N, D, x, y, loss, 1), SO_OK);
    so_sso_options o = so_sso_options_default();
    o.batch_size = N;
    o.outer_iters = ITERS;
    o.inner_steps = 10;
    o.inner = inner;
    /* eta = 1/L: L is 1 for squared, 1/4 for logistic and 1/2 for softmax loss. */
    if (loss == SO_SSO_SQUARED)
        o.eta = 1.0;
    else if (loss == SO_SSO_LOGISTIC)
        o.eta = 4.0;
    else
        o.eta = 2.0;
    /* GD on the surrogate decreases it for any step up to 1/lambda_max; Armijo from a
     * step far beyond that. */
    o.alpha = inner == SO_SSO_INNER_GD ? o.eta * N / gram_max_eigenvalue(a) : 50.0;
    for (size_t j = 0; j < P * k; j++)
        theta[j] = 1.0 - 0.4 * (double)(j % 7);
    so_sso_record h[ITERS + 1];
    assert_int_equal(so_sso_run(p, &o, theta, h, ITERS + 1, NULL), SO_OK);
    /* Majorization gives L(theta_{t+1}) <= g_t(theta_{t+1}) <= g_t(theta_t) = L(theta_t)
     * in exact arithmetic; the computed loss may rise by its rounding error (a few ulps)
     * once theta has converged. */
    for (size_t t = 1; t <= ITERS; t++)
        assert_true(h[t].loss <= h[t - 1].loss * (1.0 + 8.0 * DBL_EPSILON));
    assert_true(h[ITERS].loss < 0.9 * h[0].loss);

    /* The decrease reaches the minimum found by so_sso_solve_full. */
    double best[P * K_MAX], best_loss;
    assert_int_equal(so_sso_solve_full(p, 1e-12, best, &best_loss), SO_OK);
    assert_true(h[ITERS].loss >= best_loss - 1e-14);
    assert_true(h[ITERS].loss - best_loss < 1e-3 * best_loss);
    so_sso_problem_free(&p);
}

static void full_batch_monotone_squared(void **state)
{
    (void)state;
    check_monotone(SO_SSO_SQUARED, SO_SSO_INNER_GD);
    check_monotone(SO_SSO_SQUARED, SO_SSO_INNER_ARMIJO);
}

static void full_batch_monotone_logistic(void **state)
{
    (void)state;
    check_monotone(SO_SSO_LOGISTIC, SO_SSO_INNER_GD);
    check_monotone(SO_SSO_LOGISTIC, SO_SSO_INNER_ARMIJO);
}

static void full_batch_monotone_softmax(void **state)
{
    (void)state;
    check_monotone(SO_SSO_SOFTMAX, SO_SSO_INNER_GD);
    check_monotone(SO_SSO_SOFTMAX, SO_SSO_INNER_ARMIJO);
}

static void solve_full_zero_gradient(void **state)
{
    (void)state;
    so_sso_loss losses[3] = {SO_SSO_SQUARED, SO_SSO_LOGISTIC, SO_SSO_SOFTMAX};
    for (int l = 0; l < 3; l++) {
        so_sso_problem *p = sso_test_problem(200, D, losses[l], 1, 4);
        assert_non_null(p);
        double theta[P * K_MAX], grad[P * K_MAX], loss, loss_again;
        assert_int_equal(so_sso_solve_full(p, 1e-10, theta, &loss), SO_OK);
        assert_int_equal(so_sso_full_loss(p, theta, &loss_again, grad), SO_OK);
        assert_memory_equal(&loss, &loss_again, sizeof loss);
        for (size_t j = 0; j < so_sso_problem_params(p); j++)
            assert_true(fabs(grad[j]) <= 1e-10);
        so_sso_problem_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(surrogate_minimizer_squared),
        cmocka_unit_test(surrogate_minimizer_logistic),
        cmocka_unit_test(surrogate_minimizer_softmax),
        cmocka_unit_test(full_batch_monotone_squared),
        cmocka_unit_test(full_batch_monotone_logistic),
        cmocka_unit_test(full_batch_monotone_softmax),
        cmocka_unit_test(solve_full_zero_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
