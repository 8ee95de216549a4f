/* Hostile input to AdaSketch-Newton and its helpers: sizes whose sum wraps, NaN
 * options, a NaN start or multiplier, a NaN Hessian, a rank-deficient Jacobian, and
 * non-finite or invalid arguments of the merit and the sketch solver. Each must fail
 * with a status and a detail that names the cause. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/constrained.h"
#include "stochopt/core.h"
#include "stochopt/problem.h"

/* min |x|^2 subject to x0 + x1 = 1 (and, with m = 2, the same row doubled). */
static int value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    *f = x[0] * x[0] + x[1] * x[1];
    if (g != NULL) {
        g[0] = 2.0 * x[0];
        g[1] = 2.0 * x[1];
    }
    return 0;
}

static int curvature(void *user, so_curvature kind, const double *x, double *H)
{
    const int *nan_hessian = user;
    (void)x;
    if (kind != SO_CURVATURE_EXACT)
        return SO_ERR_UNSUPPORTED;
    H[0] = *nan_hessian ? NAN : 2.0;
    H[1] = 0.0;
    H[2] = 0.0;
    H[3] = 2.0;
    return 0;
}

static int constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = x[0] + x[1] - 1.0;
    if (J != NULL) {
        J[0] = 1.0;
        J[1] = 1.0;
    }
    return 0;
}

static int doubled_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = x[0] + x[1] - 1.0;
    c[1] = 2.0 * c[0];
    if (J != NULL) {
        J[0] = 1.0;
        J[1] = 1.0;
        J[2] = 2.0;
        J[3] = 2.0;
    }
    return 0;
}

static int no_constraint_hessian(void *user, const double *x, const double *lambda,
                                 double *H)
{
    (void)user;
    (void)x;
    (void)lambda;
    (void)H;
    return 0;
}

static so_problem line_problem(int *nan_hessian)
{
    so_problem p;
    memset(&p, 0, sizeof p);
    p.name = "line";
    p.n = 2;
    p.m = 1;
    p.user = nan_hessian;
    p.value_grad = value_grad;
    p.curvature = curvature;
    p.constraints = constraints;
    p.constraint_hessian = no_constraint_hessian;
    p.f_star = NAN;
    return p;
}

static void assert_detail_mentions(const char *word)
{
    const char *msg = so_last_error();
    assert_non_null(msg);
    assert_non_null(strstr(msg, word));
}

/* The 46340 limit applies even when n + m wraps around (n = SIZE_MAX, m = 2 gives 1). */
static void size_sum_wraps(void **state)
{
    (void)state;
    int nan_hessian = 0;
    so_problem p = line_problem(&nan_hessian);
    double x[2] = {3.0, -1.0}, lambda[2] = {0.0, 0.0}, value = 0.0;
    p.n = SIZE_MAX;
    p.m = 2;
    assert_int_equal(so_adasketch_newton(&p, NULL, x, lambda, NULL), SO_ERR_RANGE);
    assert_detail_mentions("46340");
    assert_int_equal(so_augmented_lagrangian(&p, x, lambda, 1.0, 1.0, &value, NULL),
                     SO_ERR_RANGE);
}

/* NaN mu_max, nu_min or curv_tol and infinite mu0 or delta0 are rejected. */
static void nonfinite_options(void **state)
{
    (void)state;
    int nan_hessian = 0;
    so_problem p = line_problem(&nan_hessian);
    double x[2] = {3.0, -1.0};
    so_adasketch_options o;
    double *fields[] = {&o.mu_max, &o.nu_min, &o.curv_tol, &o.mu0, &o.delta0};
    const double values[] = {NAN, NAN, NAN, INFINITY, INFINITY};
    for (int i = 0; i < 5; i++) {
        so_adasketch_options_default(&o);
        *fields[i] = values[i];
        assert_int_equal(so_adasketch_newton(&p, &o, x, NULL, NULL), SO_ERR_INVALID);
        assert_detail_mentions("invalid options");
    }
}

/* A NaN start or an infinite multiplier is rejected with a message that names it. */
static void nonfinite_start(void **state)
{
    (void)state;
    int nan_hessian = 0;
    so_problem p = line_problem(&nan_hessian);
    double x[2] = {NAN, 1.0}, lambda[1] = {INFINITY};
    assert_int_equal(so_adasketch_newton(&p, NULL, x, NULL, NULL), SO_ERR_NONFINITE);
    assert_detail_mentions("x[0]");
    x[0] = 3.0;
    assert_int_equal(so_adasketch_newton(&p, NULL, x, lambda, NULL), SO_ERR_NONFINITE);
    assert_detail_mentions("lambda[0]");
}

/* A NaN Hessian of the Lagrangian fails with SO_ERR_NONFINITE before it reaches LAPACK. */
static void nan_hessian_is_named(void **state)
{
    (void)state;
    int nan_hessian = 1;
    so_problem p = line_problem(&nan_hessian);
    double x[2] = {3.0, -1.0};
    so_adasketch_stats stats;
    assert_int_equal(so_adasketch_newton(&p, NULL, x, NULL, &stats), SO_ERR_NONFINITE);
    assert_detail_mentions("Hessian");
    so_adasketch_stats_free(&stats);
}

/* Dependent constraints: the singularity test reports the rank deficiency. A run that
 * stops at max_iter writes its own detail in place of an older one. */
static void rank_deficient_and_max_iter(void **state)
{
    (void)state;
    int nan_hessian = 0;
    so_problem p = line_problem(&nan_hessian);
    p.m = 2;
    p.constraints = doubled_constraints;
    double x[2] = {3.0, -1.0};
    so_adasketch_stats stats;
    assert_int_equal(so_adasketch_newton(&p, NULL, x, NULL, &stats), SO_ERR_NUMERIC);
    assert_int_equal(stats.singular_iter, 0);
    assert_int_equal(stats.rank_deficiency, 1);
    so_adasketch_stats_free(&stats);

    p = line_problem(&nan_hessian);
    so_adasketch_options o;
    so_adasketch_options_default(&o);
    o.max_iter = 0;
    assert_int_equal(so_adasketch_newton(&p, &o, x, NULL, NULL), SO_NOT_CONVERGED);
    assert_detail_mentions("max_iter = 0");
}

/* The merit rejects NaN and infinite weights and accepts finite ones. */
static void merit_weights(void **state)
{
    (void)state;
    int nan_hessian = 0;
    so_problem p = line_problem(&nan_hessian);
    double x[2] = {3.0, -1.0}, lambda[1] = {0.0}, value = 0.0;
    assert_int_equal(so_augmented_lagrangian(&p, x, lambda, NAN, 1.0, &value, NULL),
                     SO_ERR_INVALID);
    assert_detail_mentions("mu = nan");
    assert_int_equal(so_augmented_lagrangian(&p, x, lambda, 1.0, INFINITY, &value, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_augmented_lagrangian(&p, x, lambda, 1.0, 0.1, &value, NULL), SO_OK);
    assert_true(isfinite(value));
}

/* The sketch solver rejects a NaN tolerance and a negative max_iter, reports a NaN K as
 * SO_ERR_NONFINITE and explains SO_NOT_CONVERGED in the detail. */
static void sketch_solver_arguments(void **state)
{
    (void)state;
    const double K[4] = {2.0, 1.0, 1.0, 2.0}, Kn[4] = {NAN, 0.0, 0.0, 1.0};
    const double b[2] = {1.0, 1.0};
    double z[2] = {0.0, 0.0};
    long iters = 0;
    so_rng rng;
    so_rng_init(&rng, 1, 0);
    assert_int_equal(so_kkt_sketch_solve(K, 2, b, SO_KKT_GAUSSIAN, NAN, 100, &rng, z, &iters,
                                         NULL),
                     SO_ERR_INVALID);
    assert_detail_mentions("resid_tol");
    assert_int_equal(so_kkt_sketch_solve(K, 2, b, SO_KKT_KACZMARZ, 1e-8, -5, &rng, z, &iters,
                                         NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_kkt_sketch_solve(Kn, 2, b, SO_KKT_KACZMARZ, 1e-8, 100, &rng, z,
                                         &iters, NULL),
                     SO_ERR_NONFINITE);
    z[0] = z[1] = 0.0;
    assert_int_equal(so_kkt_sketch_solve(K, 2, b, SO_KKT_KACZMARZ, 1e-300, 3, &rng, z, &iters,
                                         NULL),
                     SO_NOT_CONVERGED);
    assert_detail_mentions("max_iter = 3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(size_sum_wraps),
        cmocka_unit_test(nonfinite_options),
        cmocka_unit_test(nonfinite_start),
        cmocka_unit_test(nan_hessian_is_named),
        cmocka_unit_test(rank_deficient_and_max_iter),
        cmocka_unit_test(merit_weights),
        cmocka_unit_test(sketch_solver_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
