/* The SO_SSO_SCHEDULE_SQRT option: outer step t uses eta / sqrt(t) (SSO) or
 * alpha / sqrt(t) (SGD, SLS), the default stays constant, and the inner step of SSO does
 * not change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sso_test_util.h"

enum { N = 60, D = 4, ITERS = 30, PARAMS = D + 1 };

static void schedule_default_and_invalid(void **state)
{
    (void)state;
    so_sso_options o = so_sso_options_default();
    assert_int_equal(o.schedule, SO_SSO_SCHEDULE_CONSTANT);
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_LOGISTIC, 1, 5);
    assert_non_null(p);
    double theta[PARAMS] = {0};
    o.schedule = (so_sso_schedule)7;
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_ERR_INVALID);
    so_sso_problem_free(&p);
}

/* SGD and SLS record the scheduled step alpha / sqrt(t) exactly, and full-batch SGD
 * follows theta -= alpha / sqrt(t) * grad L(theta). */
static void schedule_sgd_steps(void **state)
{
    (void)state;
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_LOGISTIC, 1, 5);
    assert_non_null(p);
    so_sso_options o = so_sso_options_default();
    o.method = SO_SSO_METHOD_SGD;
    o.batch_size = N; /* every row, in file order */
    o.outer_iters = ITERS;
    o.alpha = 2.0;
    o.schedule = SO_SSO_SCHEDULE_SQRT;
    double theta[PARAMS] = {0}, manual[PARAMS] = {0}, grad[PARAMS], loss;
    so_sso_record h[ITERS + 1];
    assert_int_equal(so_sso_run(p, &o, theta, h, ITERS + 1, NULL), SO_OK);
    for (long t = 1; t <= ITERS; t++) {
        double step = o.alpha / sqrt((double)t);
        assert_true(h[t].step == step);
        assert_int_equal(so_sso_full_loss(p, manual, &loss, grad), SO_OK);
        for (size_t j = 0; j < PARAMS; j++)
            manual[j] -= step * grad[j];
    }
    for (size_t j = 0; j < PARAMS; j++)
        assert_true(fabs(theta[j] - manual[j]) <= 1e-12 * (1.0 + fabs(manual[j])));
    assert_true(h[ITERS].loss < h[0].loss);

    /* SLS with an initial step small enough to be accepted takes the same steps. */
    o.method = SO_SSO_METHOD_SLS;
    o.alpha = 0.01;
    memset(theta, 0, sizeof theta);
    assert_int_equal(so_sso_run(p, &o, theta, h, ITERS + 1, NULL), SO_OK);
    for (long t = 1; t <= ITERS; t++)
        assert_true(h[t].step == o.alpha / sqrt((double)t));
    so_sso_problem_free(&p);
}

/* The first inner gradient does not depend on eta, so SSO with m = 1, an inner step
 * alpha and the schedule on eta is still SGD with the constant learning rate alpha. */
static void schedule_leaves_inner_step(void **state)
{
    (void)state;
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_SQUARED, 1, 6);
    assert_non_null(p);
    so_sso_options o = so_sso_options_default();
    o.batch_size = 7;
    o.outer_iters = ITERS;
    o.alpha = 0.05;
    o.seed = 3;
    o.inner_steps = 1;
    o.schedule = SO_SSO_SCHEDULE_SQRT;
    double a[PARAMS] = {0}, b[PARAMS] = {0};
    assert_int_equal(so_sso_run(p, &o, a, NULL, 0, NULL), SO_OK);
    o.method = SO_SSO_METHOD_SGD;
    o.schedule = SO_SSO_SCHEDULE_CONSTANT;
    assert_int_equal(so_sso_run(p, &o, b, NULL, 0, NULL), SO_OK);
    assert_memory_equal(a, b, sizeof a);
    so_sso_problem_free(&p);
}

/* Full-batch SSO on the squared loss with the surrogate solved exactly maps the outputs
 * to z_{t+1} = (1 - eta_t) z_t + eta_t z*, so the gap L - L* = |z - z*|^2 / (2n)
 * shrinks by (1 - eta_t)^2 per outer step, where eta_t = eta / sqrt(t) with the schedule. */
static void schedule_sso_contraction(void **state)
{
    (void)state;
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_SQUARED, 1, 7);
    assert_non_null(p);
    double opt[PARAMS], best;
    assert_int_equal(so_sso_solve_full(p, 1e-12, opt, &best), SO_OK);
    so_sso_options o = so_sso_options_default();
    o.batch_size = N;
    o.outer_iters = 5;
    o.eta = 0.5;
    o.inner = SO_SSO_INNER_ARMIJO;
    o.alpha = 10.0;
    o.inner_steps = 3000;
    for (int sqrt_schedule = 0; sqrt_schedule <= 1; sqrt_schedule++) {
        o.schedule = sqrt_schedule ? SO_SSO_SCHEDULE_SQRT : SO_SSO_SCHEDULE_CONSTANT;
        double theta[PARAMS] = {0};
        so_sso_record h[6];
        assert_int_equal(so_sso_run(p, &o, theta, h, 6, NULL), SO_OK);
        for (long t = 1; t <= 5; t++) {
            double eta_t = sqrt_schedule ? o.eta / sqrt((double)t) : o.eta;
            double expected = (1.0 - eta_t) * (1.0 - eta_t);
            double ratio = (h[t].loss - best) / (h[t - 1].loss - best);
            assert_true(fabs(ratio - expected) <= 1e-4 * expected);
        }
    }
    so_sso_problem_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schedule_default_and_invalid),
        cmocka_unit_test(schedule_sgd_steps),
        cmocka_unit_test(schedule_leaves_inner_step),
        cmocka_unit_test(schedule_sso_contraction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
