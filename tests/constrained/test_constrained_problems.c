/* Derivatives of the equality-constrained test problems against central differences:
 * gradient, constraint Jacobian, exact Hessian of f and the weighted constraint
 * Hessians sum_k lambda_k Hessian(c_k), at points near each standard start. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/problem.h"

/* Relative error |a - b| / max(1, |a|, |b|). */
static double rel_err(double a, double b)
{
    return fabs(a - b) / fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* Checks every derivative of p at x against central differences with step h and
 * returns the largest relative error. */
static double check_problem(const so_problem *p, const double *x, const double *lambda)
{
    const size_t n = p->n, m = p->m;
    double *g = calloc(n, sizeof *g), *gp = calloc(n, sizeof *gp), *gm = calloc(n, sizeof *gm);
    double *c = calloc(m, sizeof *c), *cp = calloc(m, sizeof *cp), *cm = calloc(m, sizeof *cm);
    double *J = calloc(m * n, sizeof *J), *Jp = calloc(m * n, sizeof *Jp);
    double *Jm = calloc(m * n, sizeof *Jm);
    double *H = calloc(n * n, sizeof *H), *C = calloc(n * n, sizeof *C);
    double *xp = calloc(n, sizeof *xp);
    assert_non_null(g);
    assert_non_null(H);
    assert_non_null(xp);
    double f = 0.0, fp = 0.0, fm = 0.0, worst = 0.0;
    assert_int_equal(p->value_grad(p->user, x, &f, g), SO_OK);
    assert_int_equal(p->constraints(p->user, x, c, J), SO_OK);
    assert_int_equal(p->curvature(p->user, SO_CURVATURE_EXACT, x, H), SO_OK);
    assert_int_equal(p->constraint_hessian(p->user, x, lambda, C), SO_OK);
    for (size_t j = 0; j < n; j++) {
        const double h = 1e-5 * fmax(1.0, fabs(x[j]));
        memcpy(xp, x, n * sizeof *xp);
        xp[j] = x[j] + h;
        assert_int_equal(p->value_grad(p->user, xp, &fp, gp), SO_OK);
        assert_int_equal(p->constraints(p->user, xp, cp, Jp), SO_OK);
        xp[j] = x[j] - h;
        assert_int_equal(p->value_grad(p->user, xp, &fm, gm), SO_OK);
        assert_int_equal(p->constraints(p->user, xp, cm, Jm), SO_OK);
        worst = fmax(worst, rel_err(g[j], (fp - fm) / (2.0 * h)));
        for (size_t i = 0; i < m; i++)
            worst = fmax(worst, rel_err(J[i * n + j], (cp[i] - cm[i]) / (2.0 * h)));
        for (size_t i = 0; i < n; i++) {
            worst = fmax(worst, rel_err(H[i * n + j], (gp[i] - gm[i]) / (2.0 * h)));
            double dc = 0.0;
            for (size_t k = 0; k < m; k++)
                dc += lambda[k] * (Jp[k * n + i] - Jm[k * n + i]) / (2.0 * h);
            worst = fmax(worst, rel_err(C[i * n + j], dc));
        }
    }
    free(g);
    free(gp);
    free(gm);
    free(c);
    free(cp);
    free(cm);
    free(J);
    free(Jp);
    free(Jm);
    free(H);
    free(C);
    free(xp);
    return worst;
}

/* Checks p at x0 plus a uniform perturbation in [-0.3, 0.3] with random multipliers. */
static void check_near_start(const so_problem *p, uint64_t seed)
{
    so_rng rng;
    so_rng_init(&rng, seed, 1);
    double *x = calloc(p->n, sizeof *x), *lambda = calloc(p->m, sizeof *lambda);
    assert_non_null(x);
    assert_non_null(lambda);
    for (size_t i = 0; i < p->n; i++)
        x[i] = p->x0[i] + 0.6 * (so_rng_uniform(&rng) - 0.5);
    for (size_t i = 0; i < p->m; i++)
        lambda[i] = 2.0 * so_rng_uniform(&rng) - 1.0;
    const double err = check_problem(p, x, lambda);
    print_message("%-22s n %4zu m %4zu: max relative error %.2e\n", p->name, p->n, p->m,
                  err);
    assert_true(err < 1e-6);
    free(x);
    free(lambda);
}

static void hs_problems_match_differences(void **state)
{
    (void)state;
    int (*ctor[])(so_problem *) = {so_problem_hs6, so_problem_hs7, so_problem_hs28,
                                   so_problem_bt2, so_problem_booth};
    for (size_t i = 0; i < sizeof ctor / sizeof ctor[0]; i++) {
        so_problem p;
        assert_int_equal(ctor[i](&p), SO_OK);
        check_near_start(&p, 10 + i);
        so_problem_destroy(&p);
    }
}

static void hs_problems_known_optima_are_kkt_points(void **state)
{
    (void)state;
    int (*ctor[])(so_problem *) = {so_problem_hs6, so_problem_hs7, so_problem_hs28,
                                   so_problem_bt2, so_problem_booth};
    for (size_t i = 0; i < sizeof ctor / sizeof ctor[0]; i++) {
        so_problem p;
        double f, g[3], c[2], J[6];
        assert_int_equal(ctor[i](&p), SO_OK);
        assert_non_null(p.x_star);
        assert_int_equal(p.value_grad(p.user, p.x_star, &f, g), SO_OK);
        assert_int_equal(p.constraints(p.user, p.x_star, c, J), SO_OK);
        assert_true(fabs(f - p.f_star) < 1e-8);
        for (size_t k = 0; k < p.m; k++)
            assert_true(fabs(c[k]) < 1e-9);
        so_problem_destroy(&p);
    }
}

static const char small_libsvm[] = "+1 1:0.5 2:-0.2 3:0.1 4:0.7 5:-0.3\n"
                                   "-1 1:-0.4 2:0.3 3:0.9 5:0.2\n"
                                   "+1 1:0.8 2:0.1 4:-0.5 5:0.6\n"
                                   "-1 2:-0.7 3:-0.2 4:0.4 5:-0.9\n"
                                   "+1 1:0.2 2:0.6 3:-0.8 4:0.1 5:0.3\n"
                                   "-1 1:-0.9 3:0.4 4:-0.6 5:0.5\n";

static void constrained_logistic_matches_differences(void **state)
{
    (void)state;
    so_dataset *ds = NULL;
    so_read_options ro = so_read_options_default();
    assert_int_equal(so_libsvm_parse(small_libsvm, sizeof small_libsvm - 1, "small", &ro, &ds),
                     SO_OK);
    so_problem p;
    assert_int_equal(so_problem_constrained_logistic(&p, ds, 2, 7), SO_OK);
    so_dataset_free(&ds); /* the problem keeps its own copy */
    assert_int_equal((int)p.n, 5);
    assert_int_equal((int)p.m, 3);
    check_near_start(&p, 20);
    /* x0 lies on the unit sphere, so the last constraint is zero there. */
    double c[3];
    assert_int_equal(p.constraints(p.user, p.x0, c, NULL), SO_OK);
    assert_true(fabs(c[2]) < 1e-14);
    so_problem_destroy(&p);
}

static void pde_control_matches_differences(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_pde_control(&p, 4), SO_OK);
    assert_int_equal((int)p.n, 32);
    assert_int_equal((int)p.m, 16);
    check_near_start(&p, 30);
    so_problem_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hs_problems_match_differences),
        cmocka_unit_test(hs_problems_known_optima_are_kkt_points),
        cmocka_unit_test(constrained_logistic_matches_differences),
        cmocka_unit_test(pde_control_matches_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
