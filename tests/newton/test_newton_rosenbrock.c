/* The adaptive gradient-normalized Newton method on the 2-D Rosenbrock function from
 * (-2, 2) with the exact Hessian, against the iterates of an independent NumPy
 * implementation of the same rule (tests/reference/gen_newton_rosenbrock.py, data in
 * tests/reference/newton/rosenbrock.txt). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/newton.h"
#include "stochopt/problem.h"

enum { MAX_ROWS = 64, COMPARED = 40 };

typedef struct reference_row {
    long k;
    double x1, x2, f, grad_norm, gamma;
    int trials;
} reference_row;

static size_t read_reference(reference_row *rows)
{
    FILE *fp = fopen(SO_TEST_DATA_DIR "/reference/newton/rosenbrock.txt", "r");
    assert_non_null(fp);
    char line[512];
    size_t count = 0;
    while (fgets(line, sizeof line, fp) != NULL && count < MAX_ROWS) {
        if (line[0] == '#')
            continue;
        reference_row *r = &rows[count];
        assert_int_equal(sscanf(line, "%ld %lf %lf %lf %lf %lf %d", &r->k, &r->x1, &r->x2,
                                &r->f, &r->grad_norm, &r->gamma, &r->trials),
                         7);
        count++;
    }
    fclose(fp);
    return count;
}

typedef struct iterates {
    double x[MAX_ROWS][2];
} iterates;

static int save_iterate(void *user, const so_newton_record *rec, const double *x)
{
    iterates *it = user;
    if (rec->iteration < MAX_ROWS) {
        it->x[rec->iteration][0] = x[0];
        it->x[rec->iteration][1] = x[1];
    }
    return 0;
}

static void matches_numpy_iterates(void **state)
{
    (void)state;
    reference_row ref[MAX_ROWS];
    const size_t count = read_reference(ref);
    assert_true(count >= COMPARED + 1);

    so_problem p;
    assert_int_equal(so_problem_rosenbrock(&p, 2), SO_OK);
    so_newton_options o = so_newton_options_default();
    so_newton_record hist[MAX_ROWS];
    iterates it;
    o.max_iter = COMPARED;
    o.history = hist;
    o.history_capacity = MAX_ROWS;
    o.callback = save_iterate;
    o.callback_user = &it;
    double x[2];
    memcpy(x, p.x0, sizeof x);
    assert_true(x[0] == -2.0 && x[1] == 2.0);
    so_newton_result r;
    assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_NOT_CONVERGED);
    assert_int_equal(r.history_count, COMPARED + 1);

    double worst = 0.0;
    for (size_t k = 0; k <= COMPARED; k++) {
        const double dx = fmax(fabs(it.x[k][0] - ref[k].x1), fabs(it.x[k][1] - ref[k].x2));
        worst = fmax(worst, dx);
        assert_true(dx <= 1e-10);
        assert_true(fabs(hist[k].f - ref[k].f) <= 1e-10 * fmax(1.0, ref[k].f));
        assert_true(hist[k].gamma == ref[k].gamma);
        assert_int_equal(hist[k].trials, ref[k].trials);
    }
    print_message("largest iterate difference over %d iterations: %.3g (%ld of %ld "
                  "factorizations failed)\n", COMPARED, worst, r.failed_factorizations,
                  r.factorizations);
    so_problem_destroy(&p);
}

/* Run to convergence, the method reaches x* = (1, 1). */
static void converges_to_minimizer(void **state)
{
    (void)state;
    so_problem p;
    assert_int_equal(so_problem_rosenbrock(&p, 2), SO_OK);
    const so_curvature kinds[] = {SO_CURVATURE_EXACT, SO_CURVATURE_GAUSS_NEWTON};
    for (size_t q = 0; q < 2; q++) {
        so_newton_options o = so_newton_options_default();
        o.curvature = kinds[q];
        o.grad_tol = 1e-8;
        double x[2] = {-2.0, 2.0};
        so_newton_result r;
        assert_int_equal(so_newton_minimize(&p, x, &o, &r), SO_OK);
        print_message("%s: %ld iterations, %ld factorizations, |x - x*| = %.3g\n",
                      so_curvature_name(kinds[q]), r.iterations, r.factorizations,
                      hypot(x[0] - 1.0, x[1] - 1.0));
        assert_true(hypot(x[0] - 1.0, x[1] - 1.0) <= 1e-7);
    }
    so_problem_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_numpy_iterates),
        cmocka_unit_test(converges_to_minimizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
