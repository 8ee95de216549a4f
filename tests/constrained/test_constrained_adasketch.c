/* AdaSketch-Newton checks. An equality-constrained convex QP is solved in one exact
 * step, and the sketch solvers reach the LU solution of its KKT system. The merit
 * gradient matches central differences. HS6, HS7, HS28, BT2 and BOOTH converge to their
 * known optima, and a singular constraint Jacobian returns SO_ERR_NUMERIC. */
#include <lapacke.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/constrained.h"
#include "stochopt/core.h"
#include "stochopt/problem.h"

/* ---- A convex QP: f = 1/2 x^T Q x + q^T x, c = A x - a, n = 4, m = 2. */

static const double qp_Q[16] = {4, 1, 0, 0, 1, 3, 1, 0, 0, 1, 5, 2, 0, 0, 2, 6};
static const double qp_q[4] = {1, -2, 0.5, 3};
static const double qp_A[8] = {1, 1, 1, 1, 1, -1, 2, 0};
static const double qp_a[2] = {1, 2};

static int qp_value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    double s = 0.0;
    for (int i = 0; i < 4; i++) {
        double qi = 0.0;
        for (int j = 0; j < 4; j++)
            qi += qp_Q[i * 4 + j] * x[j];
        s += 0.5 * x[i] * qi + qp_q[i] * x[i];
        if (g != NULL)
            g[i] = qi + qp_q[i];
    }
    *f = s;
    return SO_OK;
}

static int qp_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    (void)x;
    if (kind != SO_CURVATURE_EXACT)
        return SO_ERR_UNSUPPORTED;
    memcpy(H, qp_Q, sizeof qp_Q);
    return SO_OK;
}

static int qp_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    for (int i = 0; i < 2; i++) {
        c[i] = -qp_a[i];
        for (int j = 0; j < 4; j++)
            c[i] += qp_A[i * 4 + j] * x[j];
    }
    if (J != NULL)
        memcpy(J, qp_A, sizeof qp_A);
    return SO_OK;
}

static int qp_constraint_hessian(void *user, const double *x, const double *lambda,
                                 double *H)
{
    (void)user;
    (void)x;
    (void)lambda;
    (void)H;
    return SO_OK;
}

static void qp_problem(so_problem *p)
{
    memset(p, 0, sizeof *p);
    p->name = "qp";
    p->n = 4;
    p->m = 2;
    p->value_grad = qp_value_grad;
    p->curvature = qp_curvature;
    p->constraints = qp_constraints;
    p->constraint_hessian = qp_constraint_hessian;
    p->f_star = NAN;
}

/* The QP's KKT matrix [Q A^T; A 0] (6 x 6) and right side (-q, a). */
static void qp_kkt(double *K, double *b)
{
    memset(K, 0, 36 * sizeof *K);
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++)
            K[i * 6 + j] = qp_Q[i * 4 + j];
        for (int k = 0; k < 2; k++) {
            K[i * 6 + 4 + k] = qp_A[k * 4 + i];
            K[(4 + k) * 6 + i] = qp_A[k * 4 + i];
        }
        b[i] = -qp_q[i];
    }
    b[4] = qp_a[0];
    b[5] = qp_a[1];
}

static void qp_solved_in_one_lu_step(void **state)
{
    (void)state;
    so_problem p;
    qp_problem(&p);
    double K[36], sol[6];
    int ipiv[6];
    qp_kkt(K, sol);
    assert_int_equal(LAPACKE_dgesv(LAPACK_ROW_MAJOR, 6, 1, K, 6, ipiv, sol, 1), 0);

    so_adasketch_options opt;
    so_adasketch_options_default(&opt);
    opt.solver = SO_KKT_LU;
    opt.tol = 1e-9;
    double x[4] = {3, -1, 2, 0.5}, lambda[2] = {0, 0};
    so_adasketch_stats st;
    assert_int_equal(so_adasketch_newton(&p, &opt, x, lambda, &st), SO_OK);
    assert_int_equal((int)st.iterations, 1);
    assert_true(st.history_len == 2);
    assert_true(st.history[1].alpha == 1.0);
    for (int i = 0; i < 4; i++)
        assert_true(fabs(x[i] - sol[i]) < 1e-12);
    for (int i = 0; i < 2; i++)
        assert_true(fabs(lambda[i] - sol[4 + i]) < 1e-12);
    so_adasketch_stats_free(&st);
}

static void sketches_converge_to_lu_solution(void **state)
{
    (void)state;
    double K[36], b[6], sol[6], Kf[36];
    int ipiv[6];
    qp_kkt(K, b);
    memcpy(Kf, K, sizeof K);
    memcpy(sol, b, sizeof b);
    assert_int_equal(LAPACKE_dgesv(LAPACK_ROW_MAJOR, 6, 1, Kf, 6, ipiv, sol, 1), 0);
    const so_kkt_solver kinds[] = {SO_KKT_KACZMARZ, SO_KKT_GAUSSIAN};
    for (int s = 0; s < 2; s++) {
        /* The error shrinks as the residual tolerance does. */
        double previous = INFINITY;
        const double tols[] = {1e-2, 1e-6, 1e-10};
        for (int t = 0; t < 3; t++) {
            so_rng rng;
            so_rng_init(&rng, 5, 0);
            double z[6] = {0};
            long iters = 0;
            assert_int_equal(so_kkt_sketch_solve(K, 6, b, kinds[s], tols[t], 1000000, &rng,
                                                 z, &iters, NULL),
                             SO_OK);
            double err = 0.0;
            for (int i = 0; i < 6; i++)
                err = fmax(err, fabs(z[i] - sol[i]));
            print_message("%-8s tol %.0e: %7ld steps, max error vs LU %.2e\n",
                          so_kkt_solver_name(kinds[s]), tols[t], iters, err);
            assert_true(err < previous);
            previous = err;
        }
        assert_true(previous < 1e-8);
    }
}

static void sketch_is_bit_reproducible(void **state)
{
    (void)state;
    double K[36], b[6], z1[6] = {0}, z2[6] = {0};
    qp_kkt(K, b);
    long i1, i2;
    so_rng r1, r2;
    so_rng_init(&r1, 9, 3);
    so_rng_init(&r2, 9, 3);
    assert_int_equal(so_kkt_sketch_solve(K, 6, b, SO_KKT_KACZMARZ, 1e-8, 100000, &r1, z1, &i1,
                                         NULL),
                     SO_OK);
    assert_int_equal(so_kkt_sketch_solve(K, 6, b, SO_KKT_KACZMARZ, 1e-8, 100000, &r2, z2, &i2,
                                         NULL),
                     SO_OK);
    assert_int_equal(i1, i2);
    assert_memory_equal(z1, z2, sizeof z1);
}

static void merit_gradient_matches_differences(void **state)
{
    (void)state;
    int (*ctor[])(so_problem *) = {so_problem_hs6, so_problem_hs7, so_problem_bt2,
                                   so_problem_booth};
    for (size_t c = 0; c < sizeof ctor / sizeof ctor[0]; c++) {
        so_problem p;
        assert_int_equal(ctor[c](&p), SO_OK);
        const size_t n = p.n, m = p.m;
        double x[3], lambda[2] = {0.7, -0.4}, grad[5], xp[3], lp[2];
        for (size_t i = 0; i < n; i++)
            x[i] = p.x0[i] * 0.3 + 0.1 * (double)i;
        double v, vp, vm, worst = 0.0;
        const double mu = 2.0, nu = 0.3;
        assert_int_equal(so_augmented_lagrangian(&p, x, lambda, mu, nu, &v, grad), SO_OK);
        for (size_t j = 0; j < n + m; j++) {
            memcpy(xp, x, sizeof xp);
            memcpy(lp, lambda, sizeof lp);
            double *slot = j < n ? &xp[j] : &lp[j - n];
            const double base = *slot, h = 1e-6 * fmax(1.0, fabs(base));
            *slot = base + h;
            assert_int_equal(so_augmented_lagrangian(&p, xp, lp, mu, nu, &vp, NULL), SO_OK);
            *slot = base - h;
            assert_int_equal(so_augmented_lagrangian(&p, xp, lp, mu, nu, &vm, NULL), SO_OK);
            const double fd = (vp - vm) / (2.0 * h);
            worst = fmax(worst, fabs(fd - grad[j]) / fmax(1.0, fabs(grad[j])));
        }
        print_message("%-6s merit gradient: max relative error %.2e\n", p.name, worst);
        assert_true(worst < 1e-6);
        so_problem_destroy(&p);
    }
}

static void solves_hs_problems_to_known_optima(void **state)
{
    (void)state;
    int (*ctor[])(so_problem *) = {so_problem_hs6, so_problem_hs7, so_problem_hs28,
                                   so_problem_bt2, so_problem_booth};
    const so_kkt_solver kinds[] = {SO_KKT_LU, SO_KKT_KACZMARZ, SO_KKT_GAUSSIAN};
    for (size_t c = 0; c < sizeof ctor / sizeof ctor[0]; c++) {
        for (size_t s = 0; s < 3; s++) {
            so_problem p;
            assert_int_equal(ctor[c](&p), SO_OK);
            so_adasketch_options opt;
            so_adasketch_options_default(&opt);
            opt.solver = kinds[s];
            opt.tol = 1e-6;
            double x[3], lambda[2] = {0, 0};
            memcpy(x, p.x0, p.n * sizeof *x);
            so_adasketch_stats st;
            const int status = so_adasketch_newton(&p, &opt, x, lambda, &st);
            double dx = 0.0;
            for (size_t i = 0; i < p.n; i++)
                dx = fmax(dx, fabs(x[i] - p.x_star[i]));
            print_message("%-6s %-8s status %d: %3ld iterations, %7ld sketch steps, KKT "
                          "%.2e, |x - x*| %.2e, f - f* %.2e\n",
                          p.name, so_kkt_solver_name(kinds[s]), status, st.iterations,
                          st.sketch_iters, st.kkt, dx, st.f - p.f_star);
            assert_int_equal(status, SO_OK);
            assert_true(st.kkt <= 1e-6);
            assert_true(dx < 1e-5);
            assert_true(fabs(st.f - p.f_star) < 1e-6);
            so_adasketch_stats_free(&st);
            so_problem_destroy(&p);
        }
    }
}

static void runs_are_bit_reproducible(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_hs7(&p), SO_OK);
    so_adasketch_options opt;
    so_adasketch_options_default(&opt);
    opt.seed = 42;
    opt.tol = 1e-6;
    double x1[2] = {2, 2}, x2[2] = {2, 2}, l1[1] = {0}, l2[1] = {0};
    so_adasketch_stats s1, s2;
    assert_int_equal(so_adasketch_newton(&p, &opt, x1, l1, &s1), SO_OK);
    assert_int_equal(so_adasketch_newton(&p, &opt, x2, l2, &s2), SO_OK);
    assert_memory_equal(x1, x2, sizeof x1);
    assert_memory_equal(l1, l2, sizeof l1);
    assert_int_equal(s1.sketch_iters, s2.sketch_iters);
    so_adasketch_stats_free(&s1);
    so_adasketch_stats_free(&s2);
    so_problem_destroy(&p);
}

/* HS28 with its constraint repeated: G = [1 2 3; 1 2 3] has rank 1 of 2. */
static int dup_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = c[1] = x[0] + 2.0 * x[1] + 3.0 * x[2] - 1.0;
    if (J != NULL) {
        for (int r = 0; r < 2; r++) {
            J[r * 3 + 0] = 1.0;
            J[r * 3 + 1] = 2.0;
            J[r * 3 + 2] = 3.0;
        }
    }
    return SO_OK;
}

static void singular_jacobian_reports_rank_deficiency(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_hs28(&p), SO_OK);
    p.m = 2;
    p.constraints = dup_constraints;
    double x[3] = {-4, 1, 1}, lambda[2] = {0, 0};
    so_adasketch_stats st;
    assert_int_equal(so_adasketch_newton(&p, NULL, x, lambda, &st), SO_ERR_NUMERIC);
    assert_int_equal(st.singular_iter, 0);
    assert_int_equal(st.rank_deficiency, 1);
    assert_non_null(strstr(so_last_error(), "singular"));
    assert_non_null(strstr(so_last_error(), "rank deficiency 1"));
    so_adasketch_stats_free(&st);
    so_problem_destroy(&p);
}

static void rejects_invalid_arguments(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_hs6(&p), SO_OK);
    double x[2] = {-1.2, 1.0};
    so_adasketch_options opt;
    so_adasketch_options_default(&opt);
    opt.beta = 0.7;
    assert_int_equal(so_adasketch_newton(&p, &opt, x, NULL, NULL), SO_ERR_INVALID);
    assert_int_equal(so_adasketch_newton(NULL, NULL, x, NULL, NULL), SO_ERR_INVALID);
    so_problem q = p;
    q.m = 0;
    assert_int_equal(so_adasketch_newton(&q, NULL, x, NULL, NULL), SO_ERR_INVALID);
    so_problem_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qp_solved_in_one_lu_step),
        cmocka_unit_test(sketches_converge_to_lu_solution),
        cmocka_unit_test(sketch_is_bit_reproducible),
        cmocka_unit_test(merit_gradient_matches_differences),
        cmocka_unit_test(solves_hs_problems_to_known_optima),
        cmocka_unit_test(runs_are_bit_reproducible),
        cmocka_unit_test(singular_jacobian_reports_rank_deficiency),
        cmocka_unit_test(rejects_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
