/* Error paths of the SSO module: divergence to NaN or infinity, invalid options and
 * targets, and problems built from parsed datasets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sso_test_util.h"
#include "stochopt/data.h"

enum { N = 30, D = 4, ITERS = 200 };

static void divergence_reports_nonfinite(void **state)
{
    (void)state;
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_SQUARED, 1, 2);
    assert_non_null(p);
    so_sso_method methods[2] = {SO_SSO_METHOD_SSO, SO_SSO_METHOD_SGD};
    for (int m = 0; m < 2; m++) {
        double theta[D + 1] = {0};
        so_sso_record h[ITERS + 1];
        so_sso_result r;
        so_sso_options o = so_sso_options_default();
        o.method = methods[m];
        o.batch_size = 5;
        o.outer_iters = ITERS;
        o.alpha = 50.0; /* far beyond 2 / L: the iterates grow geometrically */
        int status = so_sso_run(p, &o, theta, h, ITERS + 1, &r);
        assert_int_equal(status, SO_ERR_NONFINITE);
        assert_non_null(strstr(so_last_error(), "lower alpha"));
        assert_true(r.iterations < ITERS);
        assert_true(r.history_count == (size_t)r.iterations + 1);
        assert_true(isnan(r.loss));
        /* theta is the last finite iterate, whose loss is the last history row. */
        double loss;
        assert_int_equal(so_sso_full_loss(p, theta, &loss, NULL), SO_OK);
        assert_memory_equal(&loss, &h[r.iterations].loss, sizeof loss);
    }
    so_sso_problem_free(&p);
}

static void invalid_options_rejected(void **state)
{
    (void)state;
    so_sso_problem *p = sso_test_problem(N, D, SO_SSO_SQUARED, 0, 2);
    assert_non_null(p);
    double theta[D] = {0};
    so_sso_options o = so_sso_options_default();
    o.eta = 0.0;
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "eta"));
    o = so_sso_options_default();
    o.alpha = -1.0;
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_ERR_INVALID);
    o = so_sso_options_default();
    o.batch_size = 0;
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_ERR_INVALID);
    o = so_sso_options_default();
    o.inner_steps = 0;
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_ERR_INVALID);
    o = so_sso_options_default();
    o.armijo_beta = 1.0;
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_ERR_INVALID);
    o = so_sso_options_default();
    theta[1] = NAN;
    assert_int_equal(so_sso_run(p, &o, theta, NULL, 0, NULL), SO_ERR_NONFINITE);
    assert_int_equal(so_sso_run(NULL, &o, theta, NULL, 0, NULL), SO_ERR_INVALID);
    so_sso_problem_free(&p);
}

static void invalid_problem_rejected(void **state)
{
    (void)state;
    double x[4] = {1.0, 2.0, 3.0, 4.0}, y[2] = {1.0, 2.0};
    so_sso_problem *p = NULL;
    assert_int_equal(so_sso_problem_new(&p, 2, 2, x, y, SO_SSO_LOGISTIC, 0), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "row 1"));
    assert_null(p);
    x[3] = INFINITY;
    assert_int_equal(so_sso_problem_new(&p, 2, 2, x, y, SO_SSO_SQUARED, 0), SO_ERR_NONFINITE);
    x[3] = 4.0;
    assert_int_equal(so_sso_problem_new(&p, 0, 2, x, y, SO_SSO_SQUARED, 0), SO_ERR_INVALID);
    /* 0/1 labels become -1/+1. */
    y[0] = 0.0;
    y[1] = 1.0;
    assert_int_equal(so_sso_problem_new(&p, 2, 2, x, y, SO_SSO_LOGISTIC, 0), SO_OK);
    double theta[2] = {0.0, 0.0}, loss;
    assert_int_equal(so_sso_full_loss(p, theta, &loss, NULL), SO_OK);
    assert_true(fabs(loss - log(2.0)) < 1e-15);
    so_sso_problem_free(&p);
    assert_null(p);

    /* Softmax: one distinct target is not a classification problem; values 5 and 7
     * become classes 0 and 1. */
    y[0] = 5.0;
    y[1] = 5.0;
    assert_int_equal(so_sso_problem_new(&p, 2, 2, x, y, SO_SSO_SOFTMAX, 0), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "found 1"));
    y[1] = 7.0;
    assert_int_equal(so_sso_problem_new(&p, 2, 2, x, y, SO_SSO_SOFTMAX, 0), SO_OK);
    assert_int_equal(so_sso_problem_outputs(p), 2);
    double theta4[4] = {0.0, 0.0, 0.0, 0.0};
    assert_int_equal(so_sso_full_loss(p, theta4, &loss, NULL), SO_OK);
    assert_true(fabs(loss - log(2.0)) < 1e-15);
    so_sso_problem_free(&p);
}

/* The same rows as CSV (dense) and LIBSVM (sparse) give the same loss and gradient. */
static void dataset_dense_and_sparse_agree(void **state)
{
    (void)state;
    const char csv[] = "0.5,0,-1.25,1\n0,1,0.75,-1\n-0.3,0,1.5,1\n0,2,-0.5,-1\n";
    const char svm[] = "1 1:0.5 3:-1.25\n-1 2:1 3:0.75\n1 1:-0.3 3:1.5\n-1 2:2 3:-0.5\n";
    so_read_options ro = so_read_options_default();
    ro.csv_header = 0;
    so_dataset *dense = NULL, *sparse = NULL;
    assert_int_equal(so_csv_parse(csv, sizeof csv - 1, "rows.csv", &ro, &dense), SO_OK);
    assert_int_equal(so_libsvm_parse(svm, sizeof svm - 1, "rows.svm", &ro, &sparse), SO_OK);
    so_sso_problem *pd = NULL, *ps = NULL;
    assert_int_equal(so_sso_problem_from_dataset(&pd, dense, SO_SSO_LOGISTIC, 1), SO_OK);
    assert_int_equal(so_sso_problem_from_dataset(&ps, sparse, SO_SSO_LOGISTIC, 1), SO_OK);
    assert_int_equal(so_sso_problem_rows(pd), 4);
    assert_int_equal(so_sso_problem_params(pd), 4);
    assert_int_equal(so_sso_problem_params(ps), 4);
    double theta[4] = {0.3, -0.7, 1.1, 0.2}, gd[4], gs[4], ld, ls;
    assert_int_equal(so_sso_full_loss(pd, theta, &ld, gd), SO_OK);
    assert_int_equal(so_sso_full_loss(ps, theta, &ls, gs), SO_OK);
    assert_true(fabs(ld - ls) < 1e-15);
    for (int j = 0; j < 4; j++)
        assert_true(fabs(gd[j] - gs[j]) < 1e-15);
    so_sso_problem_free(&pd);
    so_sso_problem_free(&ps);
    so_dataset_free(&dense);
    so_dataset_free(&sparse);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(divergence_reports_nonfinite),
        cmocka_unit_test(invalid_options_rejected),
        cmocka_unit_test(invalid_problem_rejected),
        cmocka_unit_test(dataset_dense_and_sparse_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
