/* The Lyapunov (dual) potential behind Sinkhorn-Newton-Sparse: its gradient and Hessian
 * against central differences, the null direction of the Hessian, a 2 x 2 problem with
 * a closed-form plan, and agreement of the dual value across methods. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ot.h"

enum { N = 4, M = 5, D = N + M };

typedef struct problem {
    double C[N * M], a[N], b[M], z[D];  /* z = (f, g) */
    double reg;
} problem;

static void random_problem(problem *p, uint64_t seed)
{
    so_rng rng;
    so_rng_init(&rng, seed, 0);
    double sa = 0.0, sb = 0.0;
    for (int k = 0; k < N * M; k++)
        p->C[k] = so_rng_uniform(&rng);
    for (int i = 0; i < N; i++)
        sa += p->a[i] = 0.5 + so_rng_uniform(&rng);
    for (int j = 0; j < M; j++)
        sb += p->b[j] = 0.5 + so_rng_uniform(&rng);
    for (int i = 0; i < N; i++)
        p->a[i] /= sa;
    for (int j = 0; j < M; j++)
        p->b[j] /= sb;
    for (int k = 0; k < D; k++)
        p->z[k] = 0.3 * so_rng_normal(&rng) - 0.5;
    p->reg = 0.3;
}

static double potential(const problem *p, const double *z, double *grad)
{
    return so_ot_lyapunov(p->C, N, M, p->a, p->b, p->reg, z, z + N, grad);
}

static void gradient_matches_central_differences(void **state)
{
    (void)state;
    problem p;
    random_problem(&p, 11);
    double grad[D], z[D];
    potential(&p, p.z, grad);
    for (int k = 0; k < D; k++) {
        const double h = 1e-5;
        for (int q = 0; q < D; q++)
            z[q] = p.z[q];
        z[k] = p.z[k] + h;
        double up = potential(&p, z, NULL);
        z[k] = p.z[k] - h;
        double down = potential(&p, z, NULL);
        double fd = (up - down) / (2 * h);
        /* Central differences err by h^2 L''' / 6 plus rounding of about 1e-16 / h. */
        if (fabs(fd - grad[k]) > 1e-9)
            fail_msg("d L / d z[%d]: analytic %.12g, central difference %.12g", k, grad[k], fd);
    }
}

static void hessian_matches_central_differences(void **state)
{
    (void)state;
    problem p;
    random_problem(&p, 12);
    double e[D], column[D], gp[D], gm[D], z[D];
    for (int k = 0; k < D; k++) {
        const double h = 1e-5;
        for (int q = 0; q < D; q++) {
            e[q] = q == k;
            z[q] = p.z[q];
        }
        so_ot_lyapunov_hessian_apply(p.C, N, M, p.reg, p.z, p.z + N, e, column);
        z[k] = p.z[k] + h;
        potential(&p, z, gp);
        z[k] = p.z[k] - h;
        potential(&p, z, gm);
        for (int q = 0; q < D; q++) {
            double fd = (gp[q] - gm[q]) / (2 * h);
            if (fabs(fd - column[q]) > 1e-8)
                fail_msg("H[%d][%d]: analytic %.12g, central difference %.12g", q, k,
                         column[q], fd);
        }
    }
}

/* M (1, ..., 1, -1, ..., -1) = 0 because each row and column of M sums P against -P:
 * adding t to f and subtracting t from g leaves P unchanged. */
static void hessian_annihilates_shift_direction(void **state)
{
    (void)state;
    problem p;
    random_problem(&p, 13);
    double v[D], out[D], ones[D], scale[D];
    for (int k = 0; k < D; k++) {
        v[k] = k < N ? 1.0 : -1.0;
        ones[k] = 1.0;
    }
    so_ot_lyapunov_hessian_apply(p.C, N, M, p.reg, p.z, p.z + N, v, out);
    so_ot_lyapunov_hessian_apply(p.C, N, M, p.reg, p.z, p.z + N, ones, scale);
    for (int k = 0; k < D; k++)
        assert_true(fabs(out[k]) <= 1e-15 * fabs(scale[k]));
}

/* a = b = (1/2, 1/2), C = [[0, 1], [1, 0]], reg = 1: by symmetry P = [[x, 1/2 - x],
 * [1/2 - x, x]] with x / (1/2 - x) = e, so x = e / (2 (1 + e)) = 0.36552929. */
static void two_by_two_closed_form(void **state)
{
    (void)state;
    const double a[2] = {0.5, 0.5}, C[4] = {0, 1, 1, 0};
    const double x = exp(1.0) / (2.0 * (1.0 + exp(1.0)));
    for (int k = 0; k < 4; k++) {
        so_ot_options o = so_ot_options_default();
        o.method = (so_ot_method)k;
        o.reg = 1.0;
        o.tol = 1e-14;
        so_ot_result r;
        assert_int_equal(so_ot_solve(C, 2, 2, a, a, &o, &r), SO_OK);
        assert_true(fabs(r.plan[0] - x) < 1e-14 && fabs(r.plan[3] - x) < 1e-14);
        assert_true(fabs(r.plan[1] - (0.5 - x)) < 1e-14);
        assert_true(fabs(r.cost - (1.0 - 2 * x)) < 1e-14);
        so_ot_result_clear(&r);
    }
}

/* At the optimum the primal objective <C, P> + reg sum P log P equals the dual a.f + b.g,
 * which is L + reg for unit mass. SNS and log-domain Sinkhorn agree on it to 1e-12. */
static void dual_value_agrees_across_methods(void **state)
{
    (void)state;
    enum { K = 40 };
    static double C[K * K];
    so_rng rng;
    so_rng_init(&rng, 21, 0);
    for (int q = 0; q < K * K; q++)
        C[q] = so_rng_uniform(&rng);
    double value[2], objective[2];
    const so_ot_method methods[2] = {SO_OT_LOG, SO_OT_SNS};
    for (int k = 0; k < 2; k++) {
        so_ot_options o = so_ot_options_default();
        o.method = methods[k];
        o.reg = 0.05;
        o.tol = 1e-13;
        so_ot_result r;
        double uniform[K];
        for (int q = 0; q < K; q++)
            uniform[q] = 1.0 / K;
        assert_int_equal(so_ot_solve(C, K, K, NULL, NULL, &o, &r), SO_OK);
        value[k] = so_ot_lyapunov(C, K, K, uniform, uniform, o.reg, r.f, r.g, NULL) + o.reg;
        objective[k] = r.objective;
        so_ot_result_clear(&r);
    }
    assert_true(fabs(value[0] - value[1]) < 1e-12);
    assert_true(fabs(objective[0] - value[0]) < 1e-12);
    assert_true(fabs(objective[1] - value[1]) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradient_matches_central_differences),
        cmocka_unit_test(hessian_matches_central_differences),
        cmocka_unit_test(hessian_annihilates_shift_direction),
        cmocka_unit_test(two_by_two_closed_form),
        cmocka_unit_test(dual_value_agrees_across_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
