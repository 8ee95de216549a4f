/* so_adasketch_options.callback receives record 0 and every iteration with the same
 * values as the stored history. A nonzero return stops the run with SO_ERR_CALLBACK at
 * the last accepted iterate. */
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

enum { MAX_RECORDS = 64 };

typedef struct recorder {
    so_adasketch_record seen[MAX_RECORDS];
    size_t count;
    long stop_at; /* return nonzero at this iteration, -1 never */
} recorder;

static int record_iteration(void *user, const so_adasketch_record *rec)
{
    recorder *r = user;
    if (r->count < MAX_RECORDS)
        r->seen[r->count] = *rec;
    r->count++;
    return rec->iter == r->stop_at;
}

/* BT2 is nonlinear, so the default run takes several iterations. */
static void start_bt2(so_problem *p, double *x)
{
    assert_int_equal(so_problem_bt2(p), SO_OK);
    assert_non_null(p->x0);
    memcpy(x, p->x0, p->n * sizeof *x);
}

static void defaults_have_no_callback(void **state)
{
    (void)state;
    so_adasketch_options o;
    so_adasketch_options_default(&o);
    assert_null(o.callback);
    assert_null(o.callback_user);
}

static void callback_sees_every_record(void **state)
{
    (void)state;
    so_problem p;
    double x[8];
    start_bt2(&p, x);
    recorder r = {.stop_at = -1};
    so_adasketch_options o;
    so_adasketch_options_default(&o);
    o.solver = SO_KKT_LU;
    o.callback = record_iteration;
    o.callback_user = &r;
    so_adasketch_stats st;
    assert_int_equal(so_adasketch_newton(&p, &o, x, NULL, &st), SO_OK);
    assert_true(st.iterations >= 1);
    assert_int_equal(r.count, (size_t)st.iterations + 1);
    assert_int_equal(r.count, st.history_len);
    for (size_t k = 0; k < r.count && k < MAX_RECORDS; k++) {
        assert_int_equal(r.seen[k].iter, (long)k);
        assert_true(r.seen[k].kkt == st.history[k].kkt);
        assert_true(r.seen[k].f == st.history[k].f);
    }
    so_adasketch_stats_free(&st);
    so_problem_destroy(&p);
}

static void nonzero_return_stops_run(void **state)
{
    (void)state;
    so_problem p;
    double x[8], x_ref[8];
    start_bt2(&p, x);
    memcpy(x_ref, x, sizeof x);

    /* Reference run stopped by max_iter = 1 at the same iterate. */
    so_adasketch_options o;
    so_adasketch_options_default(&o);
    o.max_iter = 1;
    assert_int_equal(so_adasketch_newton(&p, &o, x_ref, NULL, NULL), SO_NOT_CONVERGED);

    recorder r = {.stop_at = 1};
    so_adasketch_options_default(&o);
    o.callback = record_iteration;
    o.callback_user = &r;
    so_adasketch_stats st;
    assert_int_equal(so_adasketch_newton(&p, &o, x, NULL, &st), SO_ERR_CALLBACK);
    assert_int_equal(r.count, 2);
    assert_int_equal(st.iterations, 1);
    assert_memory_equal(x, x_ref, p.n * sizeof *x);
    so_adasketch_stats_free(&st);
    so_problem_destroy(&p);
}

static void stop_at_start_leaves_x(void **state)
{
    (void)state;
    so_problem p;
    double x[8];
    start_bt2(&p, x);
    recorder r = {.stop_at = 0};
    so_adasketch_options o;
    so_adasketch_options_default(&o);
    o.callback = record_iteration;
    o.callback_user = &r;
    assert_int_equal(so_adasketch_newton(&p, &o, x, NULL, NULL), SO_ERR_CALLBACK);
    assert_int_equal(r.count, 1);
    assert_memory_equal(x, p.x0, p.n * sizeof *x);
    so_problem_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_have_no_callback),
        cmocka_unit_test(callback_sees_every_record),
        cmocka_unit_test(nonzero_return_stops_run),
        cmocka_unit_test(stop_at_start_leaves_x),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
