/* The gradient-normalized regularized Newton method and its baselines: the step bound
 * ||Delta||_B <= gamma, Newton behaviour on a strongly convex quadratic, convergence on
 * logistic regression (heart_scale), the history and the error statuses. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cblas.h>
#include <cmocka.h>
#include <lapacke.h>

#include "problem/problem_test_util.h"
#include "stochopt/newton.h"
#include "stochopt/problem.h"

typedef struct step_bound {
    double eps;
    long checked, failed_factorizations;
    double worst; /* max of ||Delta||_B / (gamma + eps) */
} step_bound;

static int check_step(void *user, const so_newton_trial *t)
{
    step_bound *b = user;
    if (t->factorization_failed) {
        b->failed_factorizations++;
        return 0;
    }
    b->checked++;
    b->worst = fmax(b->worst, t->step_norm / (t->gamma + b->eps));
    return 0;
}

static void run_step_bound(const so_problem *p, so_curvature kind, const double *b_diag)
{
    so_newton_options o = so_newton_options_default();
    step_bound b = {o.lambda_eps, 0, 0, 0.0};
    o.curvature = kind;
    o.b_diag = b_diag;
    o.trial_callback = check_step;
    o.callback_user = &b;
    o.max_iter = 300;
    double *x = calloc(p->n, sizeof *x);
    assert_non_null(x);
    so_newton_result r;
    assert_int_equal(so_newton_minimize(p, x, &o, &r), SO_OK);
    print_message("%s %s%s: %ld iterations, %ld trials, max |Delta| / gamma = %.6f\n", p->name,
                  so_curvature_name(kind), b_diag ? " (diagonal B)" : "", r.iterations,
                  b.checked, b.worst);
    assert_int_equal(b.checked, r.trials);
    assert_int_equal(b.failed_factorizations, 0);
    assert_true(b.checked > 0);
    assert_true(b.worst <= 1.0 + 1e-12);
    free(x);
}

static void step_within_gamma(void **state)
{
    (void)state;
    so_dataset *heart = load_heart_scale();
    so_problem p;
    assert_int_equal(so_problem_logistic(&p, heart, 1e-3, 1), SO_OK);
    double diag[14];
    for (size_t i = 0; i < 14; i++)
        diag[i] = 0.5 + 0.25 * (double)(i % 5);
    run_step_bound(&p, SO_CURVATURE_FISHER, NULL);
    run_step_bound(&p, SO_CURVATURE_EXACT, NULL);
    run_step_bound(&p, SO_CURVATURE_FISHER, diag);
    so_problem_destroy(&p);
    so_dataset_free(&heart);
}

/* x* of least squares from the normal equations ((1/N) A^T A + l2 I) x = (1/N) A^T b. */
static void least_squares_solution(const so_problem *p, double *xs)
{
    const size_t n = p->n;
    double *H = calloc(n * n, sizeof *H), *zero = calloc(n, sizeof *zero), f;
    assert_non_null(H);
    assert_non_null(zero);
    assert_int_equal(so_problem_value_grad(p, zero, &f, xs), SO_OK);
    free(zero);
    for (size_t i = 0; i < n; i++)
        xs[i] = -xs[i];
    assert_int_equal(so_problem_curvature(p, SO_CURVATURE_EXACT, xs, H), SO_OK);
    assert_int_equal(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, 1, H, (lapack_int)n,
                                   xs, 1), 0);
    free(H);
}

static double distance(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

static void quadratic_behaves_as_newton(void **state)
{
    (void)state;
    so_dataset *ds = synthetic_dataset(300, 8, 2, 31);
    so_problem p;
    assert_int_equal(so_problem_least_squares(&p, ds, 1e-2), SO_OK);
    double xs[8], x[8];
    least_squares_solution(&p, xs);

    /* Adaptive: lambda = |g| / gamma falls with |g| while gamma doubles, so the steps
     * approach Newton steps and the convergence is fast. */
    so_newton_options o = so_newton_options_default();
    o.grad_tol = 1e-12;
    so_newton_result r;
    memset(x, 0, sizeof x);
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_OK);
    print_message("adaptive: %ld iterations, |x - x*| = %.3g\n", r.iterations,
                  distance(x, xs, 8));
    assert_true(r.iterations <= 12);
    assert_true(distance(x, xs, 8) <= 1e-10);

    /* One step with a huge fixed gamma (lambda -> 0) is the Newton step, which lands on
     * x*; the distance shrinks in proportion to lambda. */
    double prev = INFINITY;
    const double gammas[] = {1e2, 1e4, 1e6, 1e8};
    for (size_t q = 0; q < 4; q++) {
        o = so_newton_options_default();
        o.method = SO_NEWTON_GRAD_NORM_FIXED;
        o.gamma0 = gammas[q];
        o.max_iter = 1;
        memset(x, 0, sizeof x);
        assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_NOT_CONVERGED);
        const double dist = distance(x, xs, 8);
        print_message("fixed gamma %g: one step, |x - x*| = %.3g\n", gammas[q], dist);
        assert_true(dist < prev);
        assert_true(dist <= 100.0 / gammas[q]);
        prev = dist;
    }

    /* Exact damped Newton takes one full step. */
    o = so_newton_options_default();
    o.method = SO_NEWTON_DAMPED;
    o.grad_tol = 1e-10;
    memset(x, 0, sizeof x);
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_OK);
    assert_int_equal(r.iterations, 1);
    assert_true(distance(x, xs, 8) <= 1e-12);
    so_problem_destroy(&p);
    free_dense(ds);
}

typedef struct run_summary {
    so_newton_result r;
    double x[14];
} run_summary;

static void run_logistic(const so_problem *p, so_newton_method method, so_curvature kind,
                         so_newton_record *hist, size_t cap, run_summary *out, int expect)
{
    so_newton_options o = so_newton_options_default();
    o.method = method;
    o.curvature = kind;
    o.grad_tol = 1e-7;
    o.max_iter = 5000;
    o.history = hist;
    o.history_capacity = cap;
    memset(out->x, 0, sizeof out->x);
    assert_int_equal(so_newton_minimize(p, out->x, &o, &out->r), expect);
    print_message("%s/%s: %ld iterations, f = %.15g, |g| = %.3g, %ld factorizations\n",
                  so_newton_method_name(method), so_curvature_name(kind), out->r.iterations,
                  out->r.f, out->r.grad_norm, out->r.factorizations);
}

static void logistic_heart_scale_converges(void **state)
{
    (void)state;
    so_dataset *heart = load_heart_scale();
    so_problem p;
    assert_int_equal(so_problem_logistic(&p, heart, 1e-3, 1), SO_OK);
    enum { CAP = 400 };
    so_newton_record *hist = calloc(CAP, sizeof *hist);
    assert_non_null(hist);
    run_summary newton, fisher, exact, gd;
    run_logistic(&p, SO_NEWTON_DAMPED, SO_CURVATURE_EXACT, NULL, 0, &newton, SO_OK);
    run_logistic(&p, SO_NEWTON_GRAD_NORM, SO_CURVATURE_FISHER, hist, CAP, &fisher, SO_OK);
    run_logistic(&p, SO_NEWTON_GRAD_NORM, SO_CURVATURE_EXACT, NULL, 0, &exact, SO_OK);
    run_logistic(&p, SO_NEWTON_GRADIENT, SO_CURVATURE_EXACT, NULL, 0, &gd, SO_OK);
    assert_true(newton.r.iterations <= 15);
    assert_true(exact.r.iterations <= 40);
    assert_true(fisher.r.iterations <= 300);
    assert_true(gd.r.iterations > fisher.r.iterations);
    assert_true(fabs(fisher.r.f - newton.r.f) <= 1e-12);
    assert_true(fabs(exact.r.f - newton.r.f) <= 1e-12);
    /* |g| <= 1e-7 with strong convexity 1e-3 bounds the distance by 1e-4. */
    assert_true(distance(fisher.x, newton.x, 14) <= 1e-4);

    /* The history: one record per iteration from 0, f decreasing, counters monotone. */
    assert_int_equal(fisher.r.history_count, (size_t)fisher.r.iterations + 1);
    assert_int_equal(hist[0].iteration, 0);
    assert_int_equal(hist[0].trials, 0);
    assert_true(fabs(hist[0].f - log(2.0)) <= 1e-14);
    long trials = 0;
    for (size_t k = 1; k < fisher.r.history_count; k++) {
        assert_int_equal(hist[k].iteration, (long)k);
        assert_true(hist[k].f < hist[k - 1].f);
        assert_true(hist[k].factorizations >= hist[k - 1].factorizations + hist[k].trials);
        assert_true(hist[k].time >= hist[k - 1].time);
        assert_true(hist[k].trials >= 1);
        trials += hist[k].trials;
    }
    assert_int_equal(trials, fisher.r.trials);
    assert_int_equal(fisher.r.factorizations, fisher.r.trials);
    assert_true(fabs(hist[fisher.r.history_count - 1].f - fisher.r.f) == 0.0);
    free(hist);
    so_problem_destroy(&p);
    so_dataset_free(&heart);
}

static int stop_at_three(void *user, const so_newton_record *rec, const double *x)
{
    (void)user;
    (void)x;
    return rec->iteration == 3;
}

static int nan_far(void *user, const double *x, double *f, double *g)
{
    (void)user;
    /* f = x^2 / 2 + x^4 for |x| < 3, NaN beyond. */
    *f = fabs(x[0]) < 3.0 ? 0.5 * x[0] * x[0] + pow(x[0], 4) : NAN;
    if (g != NULL)
        g[0] = x[0] + 4.0 * pow(x[0], 3);
    return 0;
}

static int nan_far_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    if (kind != SO_CURVATURE_EXACT)
        return SO_ERR_UNSUPPORTED;
    H[0] = 1.0 + 12.0 * x[0] * x[0];
    return 0;
}

/* A curvature far below the Hessian, so that steps are too long. */
static int flat_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    (void)x;
    (void)kind;
    H[0] = 0.01;
    return 0;
}

static void errors_and_stops(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_rosenbrock(&p, 2), SO_OK);
    so_newton_options o = so_newton_options_default();
    so_newton_result r;

    /* Damped Newton where the Rosenbrock Hessian is indefinite. */
    double x[2] = {0.0, 1.0};
    o.method = SO_NEWTON_DAMPED;
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_ERR_NUMERIC);
    assert_non_null(strstr(so_last_error(), "not positive definite"));
    assert_int_equal(r.failed_factorizations, 1);
    assert_true(x[0] == 0.0 && x[1] == 1.0);

    /* The callback stops the run. */
    o = so_newton_options_default();
    o.callback = stop_at_three;
    memcpy(x, p.x0, sizeof x);
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_ERR_CALLBACK);
    assert_int_equal(r.iterations, 3);

    /* Not converged within max_iter. */
    o = so_newton_options_default();
    o.max_iter = 5;
    memcpy(x, p.x0, sizeof x);
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_NOT_CONVERGED);
    assert_int_equal(r.iterations, 5);

    /* Invalid options and a NaN start. */
    o = so_newton_options_default();
    o.gamma0 = 0.0;
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_ERR_INVALID);
    o = so_newton_options_default();
    x[1] = NAN;
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_ERR_NONFINITE);
    so_problem_destroy(&p);

    /* Trial points where f is NaN are rejected; the method still converges. */
    so_problem q = {0};
    q.name = "nan-far";
    q.n = 1;
    q.value_grad = nan_far;
    q.curvature = nan_far_curvature;
    double y = 2.5;
    o = so_newton_options_default();
    o.gamma0 = 100.0;
    assert_int_equal(so_newton_minimize(&q, &y, &o, &r), SO_OK);
    assert_true(fabs(y) <= 1e-8);
    /* Gradient descent rejects the long first trials the same way. */
    y = 2.5;
    o = so_newton_options_default();
    o.method = SO_NEWTON_GRADIENT;
    o.lipschitz0 = 1e-3;
    o.max_iter = 10000;
    assert_int_equal(so_newton_minimize(&q, &y, &o, &r), SO_OK);
    assert_true(fabs(y) <= 1e-8);
    /* With a fixed gamma there is one trial, so a NaN point is an error. */
    q.curvature = flat_curvature;
    y = 2.5;
    o = so_newton_options_default();
    o.method = SO_NEWTON_GRAD_NORM_FIXED;
    o.curvature = SO_CURVATURE_GAUSS_NEWTON;
    o.gamma0 = 1e6;
    assert_int_equal(so_newton_minimize(&q, &y, &o, &r), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "lower gamma0"));
    assert_true(y == 2.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(step_within_gamma),
        cmocka_unit_test(quadratic_behaves_as_newton),
        cmocka_unit_test(logistic_heart_scale_converges),
        cmocka_unit_test(errors_and_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
