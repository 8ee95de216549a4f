/* 1-D densities on a grid: as reg shrinks, the transport cost of the entropic plan tends
 * to the exact W1 and W2^2. In 1-D those come from the quantile functions, which for
 * discrete measures means the monotone coupling. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stochopt/ot.h"

enum { N = 60, M = 50 };

typedef struct densities {
    double x[N], y[M], a[N], b[M];
} densities;

/* A bump at 0.3 against a density rising linearly on [0, 1], both normalized. */
static void make_densities(densities *d)
{
    double sa = 0.0, sb = 0.0;
    for (int i = 0; i < N; i++) {
        d->x[i] = (i + 0.5) / N;
        sa += d->a[i] = exp(-0.5 * pow((d->x[i] - 0.3) / 0.08, 2));
    }
    for (int j = 0; j < M; j++) {
        d->y[j] = (j + 0.5) / M;
        sb += d->b[j] = 0.2 + d->y[j];
    }
    for (int i = 0; i < N; i++)
        d->a[i] /= sa;
    for (int j = 0; j < M; j++)
        d->b[j] /= sb;
}

/* int_0^1 |F^-1(t) - G^-1(t)|^p dt: walk both cumulative distributions together. */
static double quantile_cost(const densities *d, int p)
{
    double w = 0.0, ra = d->a[0], rb = d->b[0];
    int i = 0, j = 0;
    while (i < N && j < M) {
        double t = ra < rb ? ra : rb;
        w += t * pow(fabs(d->x[i] - d->y[j]), p);
        ra -= t;
        rb -= t;
        if (ra <= rb) {
            if (++i < N)
                ra = d->a[i];
            rb = rb > 0 ? rb : 0;
        } else if (++j < M) {
            rb = d->b[j];
        }
    }
    return w;
}

static double entropic_cost(const densities *d, so_ot_cost kind, double reg)
{
    static double C[N * M];
    assert_int_equal(so_ot_cost_matrix(d->x, N, d->y, M, 1, kind, C), SO_OK);
    so_ot_options o = so_ot_options_default();
    o.method = SO_OT_EPS_SCALING;
    o.reg = reg;
    o.tol = 1e-10;
    o.max_iter = 200000;
    so_ot_result r;
    int status = so_ot_solve(C, N, M, d->a, d->b, &o, &r);
    if (status != SO_OK)
        fail_msg("reg %g: status %d, marginal error %g: %s", reg, status, r.marginal_error,
                 so_last_error());
    double cost = r.cost;
    so_ot_result_clear(&r);
    return cost;
}

/* The entropic plan's cost exceeds the exact one by at most reg log(N M). The reason is
 * that sum P log P lies in [-log(N M), 0] for every plan, so the entropic objective of the
 * exact plan is at most W. The gap must also shrink with reg. */
static void converges_to_quantile_distance(void **state)
{
    (void)state;
    densities d;
    make_densities(&d);
    const so_ot_cost kinds[2] = {SO_OT_L1, SO_OT_SQEUCLIDEAN};
    for (int p = 1; p <= 2; p++) {
        double exact = quantile_cost(&d, p), previous = INFINITY;
        for (double reg = 1e-2; reg >= 1e-4 * 0.99; reg *= 0.1) {
            double gap = entropic_cost(&d, kinds[p - 1], reg) - exact;
            if (!(gap >= -1e-9 && gap <= reg * log((double)N * M) && gap < previous))
                fail_msg("W%d: reg %g: entropic cost exceeds the exact %.10g by %g "
                         "(previous gap %g)", p, reg, exact, gap, previous);
            previous = gap;
        }
        /* At reg 1e-4 the plan is within 1e-3 relative of the exact distance. */
        assert_true(previous < 1e-3 * exact);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converges_to_quantile_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
