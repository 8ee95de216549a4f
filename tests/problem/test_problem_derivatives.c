/* Derivatives of every ready-made unconstrained problem against central differences
 * (so_problem_check_derivatives): gradient, exact curvature, curvature-vector products of
 * every provided kind and the mean of the per-sample gradients. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "problem/problem_test_util.h"
#include "stochopt/problem.h"

/* Central differences with the default step are accurate to about 1e-9 here. */
static const double tolerance = 1e-6;

static void check_at(const so_problem *p, double scale)
{
    double *x = calloc(p->n, sizeof *x);
    assert_non_null(x);
    test_point(x, p->n, scale);
    double err = -1.0;
    assert_int_equal(so_problem_check_derivatives(p, x, 0.0, &err), SO_OK);
    print_message("%s (n = %zu) at scale %g: max relative error %.3g\n", p->name, p->n,
                  scale, err);
    assert_true(err >= 0.0);
    assert_true(err < tolerance);
    free(x);
}

static void logistic_sparse_and_dense(void **state)
{
    (void)state;
    so_dataset *sparse = load_heart_scale();
    so_dataset *dense = densify(sparse);
    so_problem p;
    for (int intercept = 0; intercept <= 1; intercept++) {
        assert_int_equal(so_problem_logistic(&p, sparse, 1e-2, intercept), SO_OK);
        assert_int_equal(p.n, 13 + (size_t)intercept);
        check_at(&p, 0.3);
        so_problem_destroy(&p);
        assert_int_equal(so_problem_logistic(&p, dense, 1e-2, intercept), SO_OK);
        check_at(&p, 0.3);
        so_problem_destroy(&p);
    }
    free_dense(dense);
    so_dataset_free(&sparse);
}

static void softmax_synthetic(void **state)
{
    (void)state;
    so_dataset *ds = synthetic_dataset(150, 5, 4, 11);
    so_problem p;
    assert_int_equal(so_problem_softmax(&p, ds, 1e-3), SO_OK);
    assert_int_equal(p.n, 20);
    check_at(&p, 0.5);
    so_problem_destroy(&p);
    free_dense(ds);
}

static void softmax_sparse(void **state)
{
    (void)state;
    so_dataset *ds = load_heart_scale();
    so_problem p;
    assert_int_equal(so_problem_softmax(&p, ds, 0.0), SO_OK);
    assert_int_equal(p.n, 26);
    check_at(&p, 0.2);
    so_problem_destroy(&p);
    so_dataset_free(&ds);
}

static void least_squares_synthetic(void **state)
{
    (void)state;
    so_dataset *ds = synthetic_dataset(80, 6, 2, 12);
    so_problem p;
    assert_int_equal(so_problem_least_squares(&p, ds, 0.1), SO_OK);
    check_at(&p, 1.0);
    so_problem_destroy(&p);
    free_dense(ds);
}

static void logsumexp_random(void **state)
{
    (void)state;
    enum { ROWS = 40, N = 7 };
    double A[ROWS * N], b[ROWS];
    so_rng rng;
    so_rng_init(&rng, 13, 0);
    for (size_t q = 0; q < ROWS * N; q++)
        A[q] = so_rng_normal(&rng);
    for (size_t i = 0; i < ROWS; i++)
        b[i] = so_rng_normal(&rng);
    so_problem p;
    assert_int_equal(so_problem_logsumexp(&p, A, b, ROWS, N, 0.5), SO_OK);
    check_at(&p, 0.3);
    so_problem_destroy(&p);
}

static void rosenbrock_points(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_rosenbrock(&p, 6), SO_OK);
    double err = -1.0;
    assert_int_equal(so_problem_check_derivatives(&p, p.x0, 0.0, &err), SO_OK);
    assert_true(err < tolerance);
    check_at(&p, 1.2);
    double f;
    assert_int_equal(so_problem_value_grad(&p, p.x_star, &f, NULL), SO_OK);
    assert_true(f == 0.0);
    so_problem_destroy(&p);
}

/* F(x) = (x0^2 + x1 - 1, x0 - x1^3, sin(x0 x1)). */
static int residuals(void *user, const double *x, double *F, double *J)
{
    (void)user;
    F[0] = x[0] * x[0] + x[1] - 1.0;
    F[1] = x[0] - x[1] * x[1] * x[1];
    F[2] = sin(x[0] * x[1]);
    if (J != NULL) {
        J[0] = 2.0 * x[0];
        J[1] = 1.0;
        J[2] = 1.0;
        J[3] = -3.0 * x[1] * x[1];
        J[4] = x[1] * cos(x[0] * x[1]);
        J[5] = x[0] * cos(x[0] * x[1]);
    }
    return 0;
}

static void nonlinear_equations_powers(void **state)
{
    (void)state;
    const double powers[] = {1.0, 1.5, 2.0, 3.0};
    for (size_t q = 0; q < sizeof powers / sizeof powers[0]; q++) {
        so_problem p;
        assert_int_equal(so_problem_nonlinear_equations(&p, 2, 3, residuals, NULL, powers[q]),
                         SO_OK);
        check_at(&p, 0.8);
        /* Only Gauss-Newton is provided. */
        double H[4], x[2] = {0.3, -0.4};
        assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_GAUSS_NEWTON, x, H), SO_OK);
        assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_EXACT, x, H),
                         SO_ERR_UNSUPPORTED);
        so_problem_destroy(&p);
    }
}

/* With power 2 the Gauss-Newton matrix is 2 J^T J. */
static void nonlinear_equations_gn(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_nonlinear_equations(&p, 2, 3, residuals, NULL, 2.0), SO_OK);
    double x[2] = {0.7, 0.2}, F[3], J[6], H[4];
    residuals(NULL, x, F, J);
    assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_GAUSS_NEWTON, x, H), SO_OK);
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 2; b++) {
            double want = 0.0;
            for (size_t k = 0; k < 3; k++)
                want += 2.0 * J[k * 2 + a] * J[k * 2 + b];
            assert_true(fabs(H[a * 2 + b] - want) <= 1e-13 * fmax(1.0, fabs(want)));
        }
    so_problem_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(logistic_sparse_and_dense),
        cmocka_unit_test(softmax_synthetic),
        cmocka_unit_test(softmax_sparse),
        cmocka_unit_test(least_squares_synthetic),
        cmocka_unit_test(logsumexp_random),
        cmocka_unit_test(rosenbrock_points),
        cmocka_unit_test(nonlinear_equations_powers),
        cmocka_unit_test(nonlinear_equations_gn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
