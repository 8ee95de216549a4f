/* Plans against POT 0.8.2 (tests/reference/gen_ot_pot.py): every method reaches POT's
 * converged plans, and under POT's stopping rule the scaling and log-domain forms stop at
 * POT's iteration with POT's iterate. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "stochopt/data.h"
#include "stochopt/ot.h"

enum { CASES = 4 };

static so_array *load(int k, const char *name)
{
    char path[512];
    so_array *a = NULL;
    snprintf(path, sizeof path, "%s/reference/ot/case%d_%s.npy", SO_TEST_DATA_DIR, k, name);
    if (so_npy_read(path, &a) != SO_OK)
        fail_msg("%s", so_last_error());
    assert_int_equal(a->dtype, SO_DTYPE_F64);
    return a;
}

typedef struct fixture {
    so_array *C, *a, *b, *reg;
} fixture;

static void fixture_load(int k, fixture *fx)
{
    fx->C = load(k, "C");
    fx->a = load(k, "a");
    fx->b = load(k, "b");
    fx->reg = load(k, "reg");
}

static void fixture_free(fixture *fx)
{
    so_array_free(&fx->C);
    so_array_free(&fx->a);
    so_array_free(&fx->b);
    so_array_free(&fx->reg);
}

static so_ot_result solve_threads(const fixture *fx, so_ot_method method,
                                  so_ot_stop_rule rule, double tol, int threads)
{
    so_ot_options o = so_ot_options_default();
    o.method = method;
    o.reg = *(const double *)fx->reg->data;
    o.tol = tol;
    o.stop_rule = rule;
    o.threads = threads;
    so_ot_result r;
    int status = so_ot_solve(fx->C->data, fx->C->shape[0], fx->C->shape[1], fx->a->data,
                             fx->b->data, &o, &r);
    if (status != SO_OK)
        fail_msg("%s: status %d: %s", so_ot_method_name(method), status, so_last_error());
    return r;
}

static so_ot_result solve(const fixture *fx, so_ot_method method, so_ot_stop_rule rule,
                          double tol)
{
    return solve_threads(fx, method, rule, tol, 1);
}

/* Returns max |P - Q| / max |Q|. */
static double relative_difference(const double *P, const so_array *Q)
{
    const double *q = Q->data;
    double diff = 0.0, scale = 0.0;
    for (size_t k = 0; k < Q->size; k++) {
        diff = fmax(diff, fabs(P[k] - q[k]));
        scale = fmax(scale, fabs(q[k]));
    }
    return diff / scale;
}

static void converged_plans_match_pot(void **state)
{
    (void)state;
    for (int k = 0; k < CASES; k++) {
        fixture fx;
        fixture_load(k, &fx);
        so_array *scaling = load(k, "plan_sinkhorn"), *logd = load(k, "plan_log");
        const so_ot_method methods[] = {SO_OT_SINKHORN, SO_OT_LOG, SO_OT_EPS_SCALING,
                                        SO_OT_SNS};
        for (int q = 0; q < 4; q++) {
            so_ot_result r = solve(&fx, methods[q], SO_OT_STOP_L1, 1e-12);
            const so_array *ref = methods[q] == SO_OT_SINKHORN ? scaling : logd;
            double d = relative_difference(r.plan, ref);
            if (!(d <= 1e-9))
                fail_msg("case %d, %s: plans differ by %g relative", k,
                         so_ot_method_name(methods[q]), d);
            so_ot_result_clear(&r);
        }
        so_array_free(&scaling);
        so_array_free(&logd);
        fixture_free(&fx);
    }
}

static void pot_stopping_rule_gives_pot_iterates(void **state)
{
    (void)state;
    for (int k = 0; k < CASES; k++) {
        fixture fx;
        fixture_load(k, &fx);
        const char *plans[2] = {"stop_sinkhorn", "stop_log"};
        const char *niters[2] = {"niter_sinkhorn", "niter_log"};
        const so_ot_method methods[2] = {SO_OT_SINKHORN, SO_OT_LOG};
        for (int q = 0; q < 2; q++) {
            so_array *plan = load(k, plans[q]), *niter = load(k, niters[q]);
            so_ot_result r = solve(&fx, methods[q], SO_OT_STOP_POT, 1e-9);
            /* POT's niter is the index of its last iteration. */
            assert_int_equal(r.iterations, (long)*(const double *)niter->data + 1);
            double d = relative_difference(r.plan, plan);
            if (!(d <= 1e-12))
                fail_msg("case %d, %s: iterates differ by %g relative", k, plans[q], d);
            so_ot_result_clear(&r);
            so_array_free(&plan);
            so_array_free(&niter);
        }
        fixture_free(&fx);
    }
}

/* Three threads split rows unevenly and add column sums in another order, which may
 * change the last bits but not the plan. */
static void threads_give_same_plans(void **state)
{
    (void)state;
    for (int k = 0; k < CASES; k++) {
        fixture fx;
        fixture_load(k, &fx);
        so_array *logd = load(k, "plan_log");
        for (int q = 0; q < 4; q++) {
            so_ot_result r = solve_threads(&fx, (so_ot_method)q, SO_OT_STOP_L1, 1e-12, 3);
            double d = relative_difference(r.plan, logd);
            if (!(d <= 1e-9))
                fail_msg("case %d, %s with 3 threads: plans differ by %g relative", k,
                         so_ot_method_name((so_ot_method)q), d);
            so_ot_result_clear(&r);
        }
        so_array_free(&logd);
        fixture_free(&fx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converged_plans_match_pot),
        cmocka_unit_test(pot_stopping_rule_gives_pot_iterates),
        cmocka_unit_test(threads_give_same_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
