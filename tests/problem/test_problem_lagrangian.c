/* The constraint side of the problem table on a small hand-coded problem:
 * f = x0^2 + 2 x1^2 + x0 x2, c = (x0 x1 - 1, x1^2 + x2^3). so_problem_lagrangian_hessian
 * adds the constraint Hessians to the exact curvature, and so_problem_check_derivatives
 * checks the Jacobian and the constraint Hessians and detects a wrong one. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/problem.h"

static int toy_value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    *f = x[0] * x[0] + 2.0 * x[1] * x[1] + x[0] * x[2];
    if (g != NULL) {
        g[0] = 2.0 * x[0] + x[2];
        g[1] = 4.0 * x[1];
        g[2] = x[0];
    }
    return 0;
}

static int toy_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    (void)x;
    if (kind != SO_CURVATURE_EXACT)
        return SO_ERR_UNSUPPORTED;
    const double h[9] = {2, 0, 1, 0, 4, 0, 1, 0, 0};
    memcpy(H, h, sizeof h);
    return 0;
}

static int toy_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = x[0] * x[1] - 1.0;
    c[1] = x[1] * x[1] + x[2] * x[2] * x[2];
    if (J != NULL) {
        const double j[6] = {x[1], x[0], 0, 0, 2.0 * x[1], 3.0 * x[2] * x[2]};
        memcpy(J, j, sizeof j);
    }
    return 0;
}

/* Adds lambda_0 Hessian(c_0) + lambda_1 Hessian(c_1). When *(int *)user is 1, the x2 term
 * of Hessian(c_1) is left out. */
static int toy_constraint_hessian(void *user, const double *x, const double *lambda,
                                  double *H)
{
    const int wrong = user != NULL && *(const int *)user;
    H[0 * 3 + 1] += lambda[0];
    H[1 * 3 + 0] += lambda[0];
    H[1 * 3 + 1] += 2.0 * lambda[1];
    if (!wrong)
        H[2 * 3 + 2] += 6.0 * lambda[1] * x[2];
    return 0;
}

static so_problem toy_problem(int *wrong)
{
    so_problem p;
    memset(&p, 0, sizeof p);
    p.name = "toy";
    p.n = 3;
    p.m = 2;
    p.user = wrong;
    p.value_grad = toy_value_grad;
    p.curvature = toy_curvature;
    p.constraints = toy_constraints;
    p.constraint_hessian = toy_constraint_hessian;
    return p;
}

static void lagrangian_hessian_adds_constraints(void **state)
{
    (void)state;
    so_problem p = toy_problem(NULL);
    const double x[3] = {0.5, -1.5, 2.0}, lambda[2] = {3.0, -0.5};
    double H[9];
    assert_int_equal(so_problem_lagrangian_hessian(&p, x, lambda, H), SO_OK);
    const double want[9] = {2, 3, 1, 3, 4 - 1.0, 0, 1, 0, 6.0 * -0.5 * 2.0};
    for (size_t q = 0; q < 9; q++)
        assert_true(fabs(H[q] - want[q]) <= 1e-15);
    assert_int_equal(so_problem_lagrangian_hessian(&p, x, NULL, H), SO_ERR_INVALID);
}

static void check_covers_constraints(void **state)
{
    (void)state;
    int wrong = 0;
    so_problem p = toy_problem(&wrong);
    const double x[3] = {0.5, -1.5, 2.0};
    double err = -1.0;
    assert_int_equal(so_problem_check_derivatives(&p, x, 0.0, &err), SO_OK);
    assert_true(err >= 0.0);
    assert_true(err < 1e-8);
    wrong = 1;
    assert_int_equal(so_problem_check_derivatives(&p, x, 0.0, &err), SO_OK);
    assert_true(err > 0.1);
    p.constraint_hessian = NULL;
    assert_int_equal(so_problem_check_derivatives(&p, x, 0.0, &err), SO_ERR_INVALID);
    p = toy_problem(NULL);
    assert_int_equal(so_problem_check_derivatives(&p, x, -1.0, &err), SO_ERR_INVALID);
    assert_int_equal(so_problem_check_derivatives(&p, x, 1e-5, &err), SO_OK);
    assert_true(err < 1e-8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lagrangian_hessian_adds_constraints),
        cmocka_unit_test(check_covers_constraints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
