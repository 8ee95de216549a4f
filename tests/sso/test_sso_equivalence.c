/* SSO against SGD. One inner gradient step of size alpha is the SGD step with learning
 * rate alpha, bit for bit. Runs repeat bit for bit for a seed, and the expensive and
 * cheap gradient counters follow the method. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sso_test_util.h"
#include "stochopt/data.h"

enum { N = 60, D = 6, ITERS = 40, MAX_PARAMS = (D + 1) * 3 };

/* Runs `o` from a fixed nonzero start; fills theta (params) and history (ITERS + 1). */
static void run_from_start(const so_sso_problem *p, const so_sso_options *o, double *theta,
                           so_sso_record *history, so_sso_result *result)
{
    size_t params = so_sso_problem_params(p);
    for (size_t j = 0; j < params; j++)
        theta[j] = 0.1 * (double)j - 0.2;
    assert_int_equal(so_sso_run(p, o, theta, history, ITERS + 1, result), SO_OK);
}

static void check_one_step_equals_sgd(const so_sso_problem *p, double alpha)
{
    double theta_sso[MAX_PARAMS], theta_sgd[MAX_PARAMS];
    so_sso_record h_sso[ITERS + 1], h_sgd[ITERS + 1];
    so_sso_result r_sso, r_sgd;
    so_sso_options o = so_sso_options_default();
    o.batch_size = 7;
    o.outer_iters = ITERS;
    o.alpha = alpha;
    o.seed = 11;
    o.method = SO_SSO_METHOD_SSO;
    o.inner_steps = 1;
    o.eta = 0.37; /* any eta: the proximal term has zero gradient at theta_t */
    run_from_start(p, &o, theta_sso, h_sso, &r_sso);
    o.method = SO_SSO_METHOD_SGD;
    run_from_start(p, &o, theta_sgd, h_sgd, &r_sgd);

    size_t params = so_sso_problem_params(p);
    assert_memory_equal(theta_sso, theta_sgd, params * sizeof(double));
    for (size_t t = 0; t <= ITERS; t++) {
        assert_memory_equal(&h_sso[t].loss, &h_sgd[t].loss, sizeof(double));
        assert_int_equal(h_sso[t].expensive_grads, h_sgd[t].expensive_grads);
    }
    assert_int_equal(r_sso.cheap_grads, ITERS);
    assert_int_equal(r_sgd.cheap_grads, 0);
    /* The run moved: a vacuous comparison of two unchanged starts would also pass. */
    assert_true(h_sso[ITERS].loss < h_sso[0].loss);
}

static void sso_one_step_is_sgd_dense(void **state)
{
    (void)state;
    so_sso_loss losses[3] = {SO_SSO_SQUARED, SO_SSO_LOGISTIC, SO_SSO_SOFTMAX};
    for (int l = 0; l < 3; l++) {
        for (int intercept = 0; intercept <= 1; intercept++) {
            so_sso_problem *p = sso_test_problem(N, D, losses[l], intercept, 3);
            assert_non_null(p);
            check_one_step_equals_sgd(p, 0.05);
            so_sso_problem_free(&p);
        }
    }
}

static void sso_one_step_is_sgd_sparse(void **state)
{
    (void)state;
    const char text[] = "1 1:0.5 3:-1.25 6:2\n-1 2:1 4:0.75\n1 1:-0.3 5:1.5 6:0.25\n"
                        "-1 3:2 4:-0.5\n1 2:-1 5:0.5\n-1 1:1 6:-1.5\n1 4:0.25 5:-0.75\n"
                        "-1 2:0.5 3:0.5 6:1\n1 1:1.5\n-1 5:-1 6:0.5\n";
    so_dataset *ds = NULL;
    so_read_options ro = so_read_options_default();
    assert_int_equal(so_libsvm_parse(text, sizeof text - 1, "sparse.svm", &ro, &ds), SO_OK);
    assert_int_equal(ds->kind, SO_FEATURES_CSR);
    so_sso_problem *p = NULL;
    assert_int_equal(so_sso_problem_from_dataset(&p, ds, SO_SSO_LOGISTIC, 1), SO_OK);
    assert_int_equal(so_sso_problem_params(p), 7);
    check_one_step_equals_sgd(p, 0.5);
    so_sso_problem_free(&p);

    /* The two labels as two softmax classes: outputs and parameters double. */
    assert_int_equal(so_sso_problem_from_dataset(&p, ds, SO_SSO_SOFTMAX, 1), SO_OK);
    assert_int_equal(so_sso_problem_outputs(p), 2);
    assert_int_equal(so_sso_problem_params(p), 14);
    check_one_step_equals_sgd(p, 0.5);
    so_sso_problem_free(&p);
    so_dataset_free(&ds);
}

static void sso_same_seed_same_history(void **state)
{
    (void)state;
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_SOFTMAX, 1, 5);
    assert_non_null(p);
    assert_int_equal(so_sso_problem_params(p), MAX_PARAMS);
    so_sso_method methods[3] = {SO_SSO_METHOD_SSO, SO_SSO_METHOD_SGD, SO_SSO_METHOD_SLS};
    for (int m = 0; m < 3; m++) {
        for (int inner = 0; inner <= 1; inner++) {
            double theta_a[MAX_PARAMS], theta_b[MAX_PARAMS], theta_c[MAX_PARAMS];
            so_sso_record h_a[ITERS + 1], h_b[ITERS + 1], h_c[ITERS + 1];
            so_sso_options o = so_sso_options_default();
            o.method = methods[m];
            o.inner = inner ? SO_SSO_INNER_ARMIJO : SO_SSO_INNER_GD;
            o.inner_steps = 5;
            o.batch_size = 9;
            o.outer_iters = ITERS;
            o.alpha = inner ? 4.0 : 0.3;
            o.seed = 42;
            run_from_start(p, &o, theta_a, h_a, NULL);
            run_from_start(p, &o, theta_b, h_b, NULL);
            assert_memory_equal(theta_a, theta_b, sizeof theta_a);
            assert_memory_equal(h_a, h_b, sizeof h_a);
            o.seed = 43;
            run_from_start(p, &o, theta_c, h_c, NULL);
            assert_memory_not_equal(theta_a, theta_c, sizeof theta_a);
        }
    }
    so_sso_problem_free(&p);
}

static void sso_counters_follow_method(void **state)
{
    (void)state;
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_SQUARED, 0, 9);
    assert_non_null(p);
    double theta[D];
    so_sso_record h[ITERS + 1];
    so_sso_result r;
    so_sso_options o = so_sso_options_default();
    o.outer_iters = ITERS;
    o.batch_size = 10;
    o.inner_steps = 5;

    /* SSO with fixed inner steps: one expensive and m cheap gradients per outer step. */
    run_from_start(p, &o, theta, h, &r);
    assert_int_equal(r.iterations, ITERS);
    assert_int_equal(r.history_count, ITERS + 1);
    assert_int_equal(r.expensive_grads, ITERS);
    assert_int_equal(r.cheap_grads, 5 * ITERS);
    assert_int_equal(r.surrogate_evals, 0);
    assert_int_equal(r.loss_evals, 0);
    for (long t = 0; t <= ITERS; t++) {
        assert_int_equal(h[t].iteration, t);
        assert_int_equal(h[t].expensive_grads, t);
        assert_int_equal(h[t].cheap_grads, 5 * t);
    }
    assert_memory_equal(&r.loss, &h[ITERS].loss, sizeof(double));

    /* Armijo: at least one surrogate evaluation per inner step, no loss evaluation. */
    o.inner = SO_SSO_INNER_ARMIJO;
    o.alpha = 100.0;
    run_from_start(p, &o, theta, h, &r);
    assert_int_equal(r.expensive_grads, ITERS);
    assert_int_equal(r.cheap_grads, 5 * ITERS);
    assert_true(r.surrogate_evals > 5 * ITERS); /* alpha = 100 must backtrack */
    assert_int_equal(r.loss_evals, 0);

    /* SGD: expensive gradients only. SLS: plus at least one batch loss per step. */
    o.method = SO_SSO_METHOD_SGD;
    o.alpha = 0.05;
    run_from_start(p, &o, theta, h, &r);
    assert_int_equal(r.expensive_grads, ITERS);
    assert_int_equal(r.cheap_grads, 0);
    assert_int_equal(r.loss_evals, 0);
    o.method = SO_SSO_METHOD_SLS;
    o.alpha = 100.0;
    run_from_start(p, &o, theta, h, &r);
    assert_int_equal(r.expensive_grads, ITERS);
    assert_int_equal(r.cheap_grads, 0);
    assert_true(r.loss_evals > ITERS);
    assert_int_equal(r.surrogate_evals, 0);

    /* A short history buffer receives the first rows only. */
    run_from_start(p, &o, theta, NULL, &r);
    assert_int_equal(r.history_count, 0);
    assert_true(isfinite(r.loss));
    so_sso_problem_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sso_one_step_is_sgd_dense),
        cmocka_unit_test(sso_one_step_is_sgd_sparse),
        cmocka_unit_test(sso_same_seed_same_history),
        cmocka_unit_test(sso_counters_follow_method),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
