/* Hostile input to the ready-made problems and the problem helpers: labels outside the
 * encoded classes, malformed CSR features, non-finite features and targets, NULL
 * feature arrays, sizes whose products overflow, and problems too large for a dense
 * n x n matrix. Each must fail at construction with a status and a detail. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/problem.h"

static float features[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static double targets[4] = {0, 1, 0, 1};
static int32_t labels[4] = {0, 1, 0, 1};
static double class_values[2] = {0, 1};

/* A 4 x 3 dense dataset with two encoded classes. */
static so_dataset dense4x3(void)
{
    so_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = 4;
    ds.d = 3;
    ds.kind = SO_FEATURES_F32;
    ds.x_f32 = features;
    ds.target = targets;
    ds.label = labels;
    ds.num_classes = 2;
    ds.class_value = class_values;
    ds.name = "bad-input";
    return ds;
}

static void assert_detail_mentions(const char *word)
{
    const char *msg = so_last_error();
    assert_non_null(msg);
    assert_non_null(strstr(msg, word));
}

/* Labels outside [0, num_classes), which would index past the work rows, are rejected. */
static void labels_out_of_range(void **state)
{
    (void)state;
    int32_t bad[4] = {0, 7, 0, -1};
    so_dataset ds = dense4x3();
    ds.label = bad;
    so_problem p;
    assert_int_equal(so_problem_softmax(&p, &ds, 0.0), SO_ERR_INVALID);
    assert_detail_mentions("label 7");
    assert_int_equal(so_problem_logistic(&p, &ds, 0.0, 0), SO_ERR_INVALID);
    bad[1] = 1;
    assert_int_equal(so_problem_logistic(&p, &ds, 0.0, 1), SO_ERR_INVALID);
    assert_detail_mentions("label -1");
}

/* CSR features with decreasing or shifted row offsets, column indices >= d, NaN values
 * or NULL arrays are rejected, and empty rows are accepted. */
static void malformed_csr(void **state)
{
    (void)state;
    size_t good_ptr[5] = {0, 0, 2, 2, 3};
    size_t decreasing[5] = {0, 3, 2, 2, 3};
    size_t shifted[5] = {1, 1, 2, 2, 3};
    uint32_t col[3] = {0, 2, 1}, bad_col[3] = {0, 9, 1};
    float val[3] = {1, 2, 3}, nan_val[3] = {1, NAN, 3};
    so_dataset ds = dense4x3();
    ds.kind = SO_FEATURES_CSR;
    ds.x_f32 = NULL;
    ds.row_ptr = good_ptr;
    ds.col = col;
    ds.val = val;
    so_problem p;
    /* Empty rows are fine. */
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_OK);
    so_problem_destroy(&p);

    ds.row_ptr = decreasing;
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_ERR_INVALID);
    assert_detail_mentions("row_ptr[2]");
    ds.row_ptr = shifted;
    assert_int_equal(so_problem_logistic(&p, &ds, 0.0, 0), SO_ERR_INVALID);
    ds.row_ptr = NULL;
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_ERR_INVALID);
    ds.row_ptr = good_ptr;
    ds.col = bad_col;
    assert_int_equal(so_problem_softmax(&p, &ds, 0.0), SO_ERR_INVALID);
    assert_detail_mentions("column index 9");
    ds.col = col;
    ds.val = nan_val;
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_ERR_NONFINITE);
    ds.val = NULL;
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_ERR_INVALID);
}

/* Non-finite features and targets are rejected when the problem is built. */
static void nonfinite_data(void **state)
{
    (void)state;
    float x[12];
    memcpy(x, features, sizeof x);
    x[4] = INFINITY;
    so_dataset ds = dense4x3();
    ds.x_f32 = x;
    so_problem p;
    assert_int_equal(so_problem_logistic(&p, &ds, 0.0, 0), SO_ERR_NONFINITE);
    assert_detail_mentions("row 1");
    double t[4] = {0, NAN, 0, 1};
    ds = dense4x3();
    ds.target = t;
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_ERR_NONFINITE);
    assert_detail_mentions("target");
}

/* A NULL feature or target array is rejected before the features are gathered. */
static void missing_arrays(void **state)
{
    (void)state;
    so_dataset ds = dense4x3();
    ds.x_f32 = NULL;
    so_problem p;
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_ERR_INVALID);
    assert_detail_mentions("x_f32");
    ds = dense4x3();
    ds.target = NULL;
    assert_int_equal(so_problem_least_squares(&p, &ds, 0.0), SO_ERR_INVALID);
}

/* Sizes whose product rows * n or k * n overflows, and a NaN matrix entry, are rejected. */
static void size_products_overflow(void **state)
{
    (void)state;
    double A[4] = {1, 0, 0, 1}, b[2] = {0, 0};
    so_problem p;
    assert_int_equal(so_problem_logsumexp(&p, A, b, (size_t)1 << 33, (size_t)1 << 31, 1.0),
                     SO_ERR_INVALID);
    assert_detail_mentions("does not fit");
    A[1] = NAN;
    assert_int_equal(so_problem_logsumexp(&p, A, b, 2, 2, 1.0), SO_ERR_NONFINITE);
    assert_int_equal(so_problem_nonlinear_equations(&p, (size_t)1 << 32, (size_t)1 << 32,
                                                    (so_residual_fn)(uintptr_t)1, NULL, 2.0),
                     SO_ERR_INVALID);
}

static int quadratic(void *user, const double *x, double *f, double *g)
{
    (void)user;
    *f = x[0] * x[0];
    if (g != NULL)
        g[0] = 2.0 * x[0];
    return 0;
}

/* The dense helpers reject an n whose n x n matrix overflows or exceeds a BLAS int. */
static void dense_helpers_reject_huge_n(void **state)
{
    (void)state;
    so_problem p;
    memset(&p, 0, sizeof p);
    p.name = "huge";
    p.n = (size_t)1 << 32;
    p.value_grad = quadratic;
    double x[1] = {1.0}, H[1], err = 0.0;
    assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_EXACT, x, H), SO_ERR_INVALID);
    assert_detail_mentions("n = 4294967296");
    assert_int_equal(so_problem_check_derivatives(&p, x, 0.0, &err), SO_ERR_INVALID);
}

/* A failed constructor leaves a cleared table, so so_problem_destroy is safe on it. */
static void failed_constructor_clears_table(void **state)
{
    (void)state;
    so_problem p;
    memset(&p, 0xA5, sizeof p);
    assert_int_equal(so_problem_logistic(&p, NULL, 0.0, 0), SO_ERR_INVALID);
    assert_null(p.user);
    assert_null(p.destroy);
    so_problem_destroy(&p);
    memset(&p, 0xA5, sizeof p);
    assert_int_equal(so_problem_pde_control(&p, 0), SO_ERR_INVALID);
    assert_null(p.destroy);
    so_problem_destroy(&p);
    memset(&p, 0xA5, sizeof p);
    so_dataset ds = dense4x3();
    assert_int_equal(so_problem_constrained_logistic(&p, &ds, 5, 1), SO_ERR_INVALID);
    assert_null(p.destroy);
    so_problem_destroy(&p);
}

/* Constrained logistic regression rejects one-class and NaN targets and a NULL feature
 * array. */
static void constrained_logistic_targets(void **state)
{
    (void)state;
    so_problem p;
    double one_class[4] = {1, 1, 1, 1}, nan_target[4] = {0, NAN, 1, 0};
    so_dataset ds = dense4x3();
    ds.target = one_class;
    assert_int_equal(so_problem_constrained_logistic(&p, &ds, 1, 1), SO_ERR_INVALID);
    assert_detail_mentions("two distinct values");
    ds.target = nan_target;
    assert_int_equal(so_problem_constrained_logistic(&p, &ds, 1, 1), SO_ERR_NONFINITE);
    ds = dense4x3();
    ds.x_f32 = NULL;
    assert_int_equal(so_problem_constrained_logistic(&p, &ds, 1, 1), SO_ERR_INVALID);
    ds = dense4x3();
    assert_int_equal(so_problem_constrained_logistic(&p, &ds, 1, 1), SO_OK);
    so_problem_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(labels_out_of_range),
        cmocka_unit_test(malformed_csr),
        cmocka_unit_test(nonfinite_data),
        cmocka_unit_test(missing_arrays),
        cmocka_unit_test(size_products_overflow),
        cmocka_unit_test(dense_helpers_reject_huge_n),
        cmocka_unit_test(failed_constructor_clears_table),
        cmocka_unit_test(constrained_logistic_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
