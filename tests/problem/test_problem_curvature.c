/* Curvature kinds of the data-driven problems. The Fisher matrix is the mean outer
 * product of the per-sample gradients and the logistic Gauss-Newton matrix is its
 * Hessian. Sparse and dense features give the same values, the fallbacks of
 * so_problem_curvature reproduce the problems' own matrices, and bad input is reported. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "problem/problem_test_util.h"
#include "stochopt/problem.h"

static double max_abs_diff(const double *a, const double *b, size_t count)
{
    double d = 0.0;
    for (size_t q = 0; q < count; q++)
        d = fmax(d, fabs(a[q] - b[q]));
    return d;
}

/* (1/N) sum_i g_i g_i^T from sample_grads, by plain loops. */
static double *mean_outer_product(const so_problem *p, const double *x)
{
    const size_t n = p->n, N = p->nsamples;
    double *G = calloc(N * n, sizeof *G), *F = calloc(n * n, sizeof *F);
    size_t *idx = calloc(N, sizeof *idx);
    assert_non_null(G);
    assert_non_null(F);
    assert_non_null(idx);
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    assert_int_equal(p->sample_grads(p->user, x, idx, N, G), SO_OK);
    for (size_t i = 0; i < N; i++)
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++)
                F[a * n + b] += G[i * n + a] * G[i * n + b] / (double)N;
    free(G);
    free(idx);
    return F;
}

static void check_fisher(const so_problem *p, double scale)
{
    const size_t n = p->n;
    double *x = calloc(n, sizeof *x), *H = calloc(n * n, sizeof *H);
    assert_non_null(x);
    assert_non_null(H);
    test_point(x, n, scale);
    assert_int_equal(so_problem_curvature(p, SO_CURVATURE_FISHER, x, H), SO_OK);
    double *F = mean_outer_product(p, x);
    double big = 0.0;
    for (size_t q = 0; q < n * n; q++)
        big = fmax(big, fabs(F[q]));
    print_message("%s: Fisher vs mean outer product: %.3g (largest entry %.3g)\n", p->name,
                  max_abs_diff(H, F, n * n), big);
    assert_true(max_abs_diff(H, F, n * n) <= 1e-13 * fmax(1.0, big));
    free(F);
    free(H);
    free(x);
}

static void fisher_is_mean_outer_product(void **state)
{
    (void)state;
    so_dataset *heart = load_heart_scale();
    so_dataset *multi = synthetic_dataset(120, 4, 3, 21);
    so_problem p;
    assert_int_equal(so_problem_logistic(&p, heart, 0.05, 1), SO_OK);
    check_fisher(&p, 0.3);
    so_problem_destroy(&p);
    assert_int_equal(so_problem_softmax(&p, multi, 0.05), SO_OK);
    check_fisher(&p, 0.4);
    so_problem_destroy(&p);
    assert_int_equal(so_problem_softmax(&p, heart, 0.0), SO_OK);
    check_fisher(&p, 0.2);
    so_problem_destroy(&p);
    assert_int_equal(so_problem_least_squares(&p, multi, 0.1), SO_OK);
    check_fisher(&p, 1.0);
    so_problem_destroy(&p);
    free_dense(multi);
    so_dataset_free(&heart);
}

static void logistic_gauss_newton_is_hessian(void **state)
{
    (void)state;
    so_dataset *heart = load_heart_scale();
    so_problem p;
    assert_int_equal(so_problem_logistic(&p, heart, 1e-3, 1), SO_OK);
    double x[14], H[14 * 14], GN[14 * 14];
    test_point(x, 14, 0.5);
    assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_EXACT, x, H), SO_OK);
    assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_GAUSS_NEWTON, x, GN), SO_OK);
    assert_true(max_abs_diff(H, GN, 14 * 14) == 0.0);
    assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_WEIGHTED_GN, x, GN),
                     SO_ERR_UNSUPPORTED);
    so_problem_destroy(&p);
    so_dataset_free(&heart);
}

/* Value, gradient, per-sample gradients, every curvature and its products agree between
 * the CSR dataset and its dense copy. */
static void compare_sparse_dense(const so_problem *s, const so_problem *d, double scale)
{
    const size_t n = s->n;
    assert_int_equal(d->n, n);
    double *x = calloc(n, sizeof *x), *gs = calloc(n, sizeof *gs), *gd = calloc(n, sizeof *gd);
    double *Hs = calloc(n * n, sizeof *Hs), *Hd = calloc(n * n, sizeof *Hd);
    assert_non_null(x);
    assert_non_null(gs);
    assert_non_null(gd);
    assert_non_null(Hs);
    assert_non_null(Hd);
    test_point(x, n, scale);
    double fs, fd;
    assert_int_equal(so_problem_value_grad(s, x, &fs, gs), SO_OK);
    assert_int_equal(so_problem_value_grad(d, x, &fd, gd), SO_OK);
    assert_true(fabs(fs - fd) <= 1e-14 * fabs(fd));
    assert_true(max_abs_diff(gs, gd, n) <= 1e-14);
    const size_t idx[3] = {0, 17, s->nsamples - 1};
    double *Gs = calloc(3 * n, sizeof *Gs), *Gd = calloc(3 * n, sizeof *Gd);
    assert_non_null(Gs);
    assert_non_null(Gd);
    assert_int_equal(s->sample_grads(s->user, x, idx, 3, Gs), SO_OK);
    assert_int_equal(d->sample_grads(d->user, x, idx, 3, Gd), SO_OK);
    assert_true(max_abs_diff(Gs, Gd, 3 * n) <= 1e-14);
    for (int kind = SO_CURVATURE_EXACT; kind <= SO_CURVATURE_GAUSS_NEWTON; kind++) {
        assert_int_equal(so_problem_curvature(s, (so_curvature)kind, x, Hs), SO_OK);
        assert_int_equal(so_problem_curvature(d, (so_curvature)kind, x, Hd), SO_OK);
        assert_true(max_abs_diff(Hs, Hd, n * n) <= 1e-13);
        assert_int_equal(s->curvature_vp(s->user, (so_curvature)kind, x, x, gs), SO_OK);
        assert_int_equal(d->curvature_vp(d->user, (so_curvature)kind, x, x, gd), SO_OK);
        assert_true(max_abs_diff(gs, gd, n) <= 1e-13);
    }
    free(Gs);
    free(Gd);
    free(Hs);
    free(Hd);
    free(gs);
    free(gd);
    free(x);
}

static void sparse_matches_dense(void **state)
{
    (void)state;
    so_dataset *sparse = load_heart_scale();
    so_dataset *dense = densify(sparse);
    so_problem s, d;
    assert_int_equal(so_problem_logistic(&s, sparse, 0.01, 1), SO_OK);
    assert_int_equal(so_problem_logistic(&d, dense, 0.01, 1), SO_OK);
    compare_sparse_dense(&s, &d, 0.4);
    so_problem_destroy(&s);
    so_problem_destroy(&d);
    assert_int_equal(so_problem_softmax(&s, sparse, 0.01), SO_OK);
    assert_int_equal(so_problem_softmax(&d, dense, 0.01), SO_OK);
    compare_sparse_dense(&s, &d, 0.4);
    so_problem_destroy(&s);
    so_problem_destroy(&d);
    assert_int_equal(so_problem_least_squares(&s, sparse, 0.01), SO_OK);
    assert_int_equal(so_problem_least_squares(&d, dense, 0.01), SO_OK);
    compare_sparse_dense(&s, &d, 0.4);
    so_problem_destroy(&s);
    so_problem_destroy(&d);
    free_dense(dense);
    so_dataset_free(&sparse);
}

/* Without p->curvature, FISHER comes from sample_grads and the other kinds from n
 * curvature-vector products. */
static void curvature_fallbacks(void **state)
{
    (void)state;
    so_dataset *ds = synthetic_dataset(90, 3, 3, 22);
    so_problem p;
    assert_int_equal(so_problem_softmax(&p, ds, 0.02), SO_OK);
    const size_t n = p.n;
    double x[9], H[81], F[81];
    test_point(x, n, 0.6);
    so_problem copy = p;
    copy.curvature = NULL;
    for (int kind = SO_CURVATURE_EXACT; kind <= SO_CURVATURE_GAUSS_NEWTON; kind++) {
        assert_int_equal(so_problem_curvature(&p, (so_curvature)kind, x, H), SO_OK);
        assert_int_equal(so_problem_curvature(&copy, (so_curvature)kind, x, F), SO_OK);
        assert_true(max_abs_diff(H, F, n * n) <= 1e-14);
    }
    copy.curvature_vp = NULL;
    assert_int_equal(so_problem_curvature(&copy, SO_CURVATURE_FISHER, x, F), SO_OK);
    assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_FISHER, x, H), SO_OK);
    assert_true(max_abs_diff(H, F, n * n) <= 1e-14);
    assert_int_equal(so_problem_curvature(&copy, SO_CURVATURE_EXACT, x, F), SO_ERR_UNSUPPORTED);
    assert_non_null(strstr(so_last_error(), "provides no exact curvature"));
    assert_int_equal(so_problem_curvature(&p, SO_CURVATURE_WEIGHTED_GN, x, F),
                     SO_ERR_UNSUPPORTED);
    so_problem_destroy(&p);
    free_dense(ds);
}

/* A gradient with an error in one entry must show up in the check. */
static int wrong_gradient(void *user, const double *x, double *f, double *g)
{
    (void)user;
    *f = x[0] * x[0] + 3.0 * x[1];
    if (g != NULL) {
        g[0] = 2.0 * x[0];
        g[1] = 3.001;
    }
    return 0;
}

static void check_detects_wrong_gradient(void **state)
{
    (void)state;
    so_problem p = {0};
    p.name = "wrong";
    p.n = 2;
    p.value_grad = wrong_gradient;
    double x[2] = {0.5, 1.0}, err = 0.0;
    assert_int_equal(so_problem_check_derivatives(&p, x, 0.0, &err), SO_OK);
    assert_true(err > 1e-4);
}

static int nan_value(void *user, const double *x, double *f, double *g)
{
    (void)user;
    *f = x[0] > 1.0 ? NAN : x[0];
    if (g != NULL)
        g[0] = 1.0;
    return 0;
}

static void errors_are_reported(void **state)
{
    (void)state;
    so_problem p = {0};
    p.name = "nan";
    p.n = 1;
    p.value_grad = nan_value;
    double x = 2.0, f, g;
    assert_int_equal(so_problem_value_grad(&p, &x, &f, &g), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "'nan'"));

    so_dataset *ds = synthetic_dataset(10, 2, 2, 1);
    ds->num_classes = 0;
    so_problem q;
    assert_int_equal(so_problem_logistic(&q, ds, 0.0, 0), SO_ERR_STATE);
    assert_non_null(strstr(so_last_error(), "so_dataset_encode_labels"));
    ds->num_classes = 3;
    assert_int_equal(so_problem_logistic(&q, ds, 0.0, 0), SO_ERR_INVALID);
    ds->num_classes = 2;
    assert_int_equal(so_problem_logistic(&q, ds, -1.0, 0), SO_ERR_INVALID);
    free_dense(ds);
    assert_int_equal(so_problem_rosenbrock(&q, 1), SO_ERR_INVALID);
    so_problem_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fisher_is_mean_outer_product),
        cmocka_unit_test(logistic_gauss_newton_is_hessian),
        cmocka_unit_test(sparse_matches_dense),
        cmocka_unit_test(curvature_fallbacks),
        cmocka_unit_test(check_detects_wrong_gradient),
        cmocka_unit_test(errors_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
