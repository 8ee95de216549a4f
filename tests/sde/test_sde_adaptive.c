/* Adaptive SDE stepping. The tests cover the strong error against the closed form of
 * geometric Brownian motion as the tolerance falls, convergence on single paths,
 * reproducibility, rejected steps on the Brownian tree, save times, SRA1 on an
 * Ornstein-Uhlenbeck process, and the error statuses. Each convergence test prints its
 * table, and docs/sde.md records them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/sde.h"

#define DEPTH 20

struct gbm {
    double mu, sigma;
};

static int gbm_drift(void *user, double t, const double *x, double *f)
{
    const struct gbm *p = user;
    (void)t;
    f[0] = p->mu * x[0];
    return 0;
}

static int gbm_diffusion(void *user, double t, const double *x, double *g)
{
    const struct gbm *p = user;
    (void)t;
    g[0] = p->sigma * x[0];
    return 0;
}

static int gbm_jvp(void *user, double t, const double *x, const double *g, double *lg)
{
    const struct gbm *p = user;
    (void)t, (void)x;
    lg[0] = p->sigma * g[0];
    return 0;
}

static struct gbm gbm_params = {2.0, 1.0};

static so_sde *new_gbm(void)
{
    so_sde_system sys = {1, 1, SO_SDE_NOISE_DIAGONAL, gbm_drift, gbm_diffusion, gbm_jvp,
                         &gbm_params};
    so_sde *s = NULL;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    return s;
}

static double gbm_exact(const so_brownian *w, double t, int stratonovich)
{
    double wt;
    assert_int_equal(so_brownian_value(w, t, &wt), SO_OK);
    double drift = stratonovich ? gbm_params.mu
                                : gbm_params.mu - 0.5 * gbm_params.sigma * gbm_params.sigma;
    return exp(drift * t + gbm_params.sigma * wt);
}

static so_sde_adaptive_options options_with_tolerance(double tol)
{
    so_sde_adaptive_options o = so_sde_adaptive_options_default();
    o.rtol = tol;
    o.atol = tol;
    return o;
}

static void gbm_error_table(so_sde_scheme scheme, int stratonovich, double *errors)
{
    static const double tolerances[4] = {1e-1, 1e-2, 1e-3, 1e-4};
    const int paths = 100;
    so_sde *s = new_gbm();
    so_brownian *w = NULL;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, DEPTH, 11, 0, &w), SO_OK);
    print_message("%s on GBM mu=2 sigma=1, %d paths:\n", so_sde_scheme_name(scheme), paths);
    for (int level = 0; level < 4; level++) {
        so_sde_adaptive_options o = options_with_tolerance(tolerances[level]);
        double error = 0.0, accepted = 0.0, rejected = 0.0;
        for (int p = 0; p < paths; p++) {
            so_sde_adaptive_stats stats;
            double x = 1.0;
            so_brownian_set_path(w, 11, (uint32_t)p);
            assert_int_equal(so_sde_solve_adaptive(s, scheme, w, 0.0, 1.0, &x, &o, NULL, 0,
                                                   NULL, NULL, NULL, &stats), SO_OK);
            assert_true(stats.t == 1.0);
            error += fabs(x - gbm_exact(w, 1.0, stratonovich)) / paths;
            accepted += (double)stats.accepted / paths;
            rejected += (double)stats.rejected / paths;
        }
        errors[level] = error;
        print_message("  tol=%.0e mean|err|=%.4g accepted=%.1f rejected=%.1f\n",
                      tolerances[level], error, accepted, rejected);
    }
    so_brownian_free(&w);
    so_sde_free(&s);
}

static void gbm_error_falls_with_tolerance(void **state)
{
    double errors[4];
    (void)state;
    gbm_error_table(SO_SDE_MILSTEIN, 0, errors);
    for (int level = 1; level < 4; level++)
        assert_true(errors[level] < 0.5 * errors[level - 1]);
    gbm_error_table(SO_SDE_MILSTEIN_STRATONOVICH, 1, errors);
    for (int level = 1; level < 4; level++)
        assert_true(errors[level] < 0.5 * errors[level - 1]);
}

/* On each of a few fixed paths, the solution approaches the exact one as tol -> 0. */
static void converges_on_same_path(void **state)
{
    so_sde *s = new_gbm();
    so_brownian *w = NULL;
    (void)state;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, DEPTH, 12, 0, &w), SO_OK);
    for (uint32_t p = 0; p < 3; p++) {
        so_brownian_set_path(w, 12, p);
        double exact = gbm_exact(w, 1.0, 0), errors[4];
        print_message("path %u, exact %.6f, relative errors:", p, exact);
        for (int level = 0; level < 4; level++) {
            so_sde_adaptive_options o = options_with_tolerance(pow(10.0, -2.0 - level));
            double x = 1.0;
            assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, &o,
                                                   NULL, 0, NULL, NULL, NULL, NULL), SO_OK);
            errors[level] = fabs(x - exact) / exact;
            print_message(" tol 1e-%d: %.3g", 2 + level, errors[level]);
        }
        print_message("\n");
        /* A single path is noisy from one tolerance to the next, so the check spans the
         * factor 1000 in tolerance. */
        assert_true(errors[3] < 0.01 * errors[0]);
        assert_true(errors[3] < 1e-3);
    }
    so_brownian_free(&w);
    so_sde_free(&s);
}

struct grid {
    size_t count;
    double t[4096], x[4096];
};

static int record_step(void *user, size_t step, double t, const double *x)
{
    struct grid *g = user;
    assert_int_equal(step, g->count);
    assert_true(g->count < 4096);
    g->t[g->count] = t;
    g->x[g->count] = x[0];
    g->count++;
    return 0;
}

/* Same seed and path give bit-identical results whatever ran in between. */
static void same_seed_bit_identical(void **state)
{
    so_sde *s = new_gbm();
    so_brownian *w = NULL;
    so_sde_adaptive_options o = options_with_tolerance(1e-4);
    double first, second, other;
    so_sde_adaptive_stats a, b;
    (void)state;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, DEPTH, 13, 3, &w), SO_OK);
    first = 1.0;
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &first, &o, NULL,
                                           0, NULL, NULL, NULL, &a), SO_OK);
    so_brownian_set_path(w, 13, 4);
    other = 1.0;
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &other, &o, NULL,
                                           0, NULL, NULL, NULL, NULL), SO_OK);
    so_brownian_set_path(w, 13, 3);
    second = 1.0;
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &second, &o, NULL,
                                           0, NULL, NULL, NULL, &b), SO_OK);
    assert_memory_equal(&first, &second, sizeof first);
    assert_true(other != first);
    assert_int_equal(a.accepted, b.accepted);
    assert_int_equal(a.rejected, b.rejected);
    assert_int_equal(a.nfev, b.nfev);
    so_brownian_free(&w);
    so_sde_free(&s);
}

/* Rejected attempts leave no trace: replaying the accepted grid with fixed steps on the
 * same path reproduces every accepted state bit for bit. */
static void rejected_steps_use_same_path(void **state)
{
    so_sde *s = new_gbm();
    so_brownian *w = NULL;
    so_sde_adaptive_options o = options_with_tolerance(1e-3);
    so_sde_adaptive_stats stats;
    static struct grid grid;
    double x = 1.0;
    (void)state;
    grid.count = 0;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, DEPTH, 14, 0, &w), SO_OK);
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, &o, NULL, 0,
                                           NULL, record_step, &grid, &stats), SO_OK);
    print_message("accepted %ld, rejected %ld, nfev %ld\n", stats.accepted, stats.rejected,
                  stats.nfev);
    assert_true(stats.rejected > 0);
    assert_int_equal(grid.count, (size_t)stats.accepted + 1);
    assert_int_equal(stats.nfev, stats.accepted + stats.rejected);
    double replay = 1.0;
    for (size_t k = 1; k < grid.count; k++) {
        double dw;
        assert_int_equal(so_brownian_increment(w, grid.t[k - 1], grid.t[k], &dw, NULL), SO_OK);
        assert_int_equal(so_sde_step(s, SO_SDE_MILSTEIN, grid.t[k - 1],
                                     grid.t[k] - grid.t[k - 1], &dw, NULL, &replay), SO_OK);
        assert_memory_equal(&replay, &grid.x[k], sizeof replay);
    }
    assert_true(grid.t[grid.count - 1] == 1.0);
    so_brownian_free(&w);
    so_sde_free(&s);
}

static void save_times_hit_exactly(void **state)
{
    so_sde *s = new_gbm();
    so_brownian *w = NULL;
    so_sde_adaptive_options o = options_with_tolerance(1e-3);
    static struct grid grid;
    const double t_save[5] = {0.0, 0.1, 0.25, 0.25, 1.0};
    double x_save[5], x = 1.0;
    (void)state;
    grid.count = 0;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, DEPTH, 15, 0, &w), SO_OK);
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, &o, t_save, 5,
                                           x_save, record_step, &grid, NULL), SO_OK);
    assert_true(x_save[0] == 1.0);
    assert_true(x_save[2] == x_save[3]);
    assert_memory_equal(&x_save[4], &x, sizeof x);
    for (int k = 1; k < 4; k++) {
        int found = 0;
        for (size_t i = 0; i < grid.count; i++)
            if (grid.t[i] == t_save[k]) {
                found = 1;
                assert_memory_equal(&grid.x[i], &x_save[k], sizeof x);
            }
        assert_true(found);
        double exact = gbm_exact(w, t_save[k], 0);
        assert_true(fabs(x_save[k] - exact) < 0.1 * exact);
    }
    so_brownian_free(&w);
    so_sde_free(&s);
}

/* OU dX = theta (mu - X) dt + sigma dW with additive noise. */
static int ou_drift(void *user, double t, const double *x, double *f)
{
    (void)user, (void)t;
    f[0] = 4.0 * (1.0 - x[0]);
    return 0;
}

static int ou_diffusion(void *user, double t, const double *x, double *g)
{
    (void)user, (void)t, (void)x;
    g[0] = 1.0;
    return 0;
}

/* SRA1 on OU against the exact solution on the same path, computed as
 * x(t + h) = mu + e^(-theta h) (x - mu) + sigma int e^(-theta (t + h - r)) dW(r) over the
 * 2^16 finest cells. On a cell the stochastic integral is dW - theta dZ up to terms of
 * order theta^2 h^(5/2), because int (t + h - r) dW(r) = dZ. */
static double ou_exact(const so_brownian *w)
{
    const int cells = 1 << 16;
    const double h = 1.0 / cells;
    double x = 0.0;
    for (int k = 0; k < cells; k++) {
        double dw, dz;
        assert_int_equal(so_brownian_increment(w, k * h, (k + 1) * h, &dw, &dz), SO_OK);
        x = 1.0 + exp(-4.0 * h) * (x - 1.0) + dw - 4.0 * dz;
    }
    return x;
}

static void sra1_error_falls_with_tolerance(void **state)
{
    so_sde_system sys = {1, 1, SO_SDE_NOISE_ADDITIVE, ou_drift, ou_diffusion, NULL, NULL};
    so_sde *s = NULL;
    so_brownian *w = NULL;
    const int paths = 20;
    double exact[20], errors[3];
    (void)state;
    assert_int_equal(so_sde_new(&sys, &s), SO_OK);
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 16, 16, 0, &w), SO_OK);
    for (int p = 0; p < paths; p++) {
        so_brownian_set_path(w, 16, (uint32_t)p);
        exact[p] = ou_exact(w);
    }
    print_message("sra1 on OU theta=4 mu=1 sigma=1, %d paths:\n", paths);
    for (int level = 0; level < 3; level++) {
        double tol = pow(10.0, -2.0 - level), accepted = 0.0;
        so_sde_adaptive_options o = options_with_tolerance(tol);
        errors[level] = 0.0;
        for (int p = 0; p < paths; p++) {
            so_sde_adaptive_stats stats;
            double x = 0.0;
            so_brownian_set_path(w, 16, (uint32_t)p);
            assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_SRA1, w, 0.0, 1.0, &x, &o, NULL,
                                                   0, NULL, NULL, NULL, &stats), SO_OK);
            assert_int_equal(stats.nfev, 2 * (stats.accepted + stats.rejected));
            errors[level] += fabs(x - exact[p]) / paths;
            accepted += (double)stats.accepted / paths;
        }
        print_message("  tol=%.0e mean|err|=%.4g accepted=%.1f\n", tol, errors[level],
                      accepted);
    }
    assert_true(errors[1] < 0.5 * errors[0]);
    assert_true(errors[2] < 0.5 * errors[1]);
    so_brownian_free(&w);
    so_sde_free(&s);
}

static void rejects_invalid_requests(void **state)
{
    so_sde *s = new_gbm();
    so_brownian *w = NULL, *coarse = NULL;
    so_sde_adaptive_options o = so_sde_adaptive_options_default();
    double x = 1.0;
    (void)state;
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 10, 17, 0, &w), SO_OK);
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_EULER_MARUYAMA, w, 0.0, 1.0, &x, NULL,
                                           NULL, 0, NULL, NULL, NULL, NULL),
                     SO_ERR_UNSUPPORTED);
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_SRA1, w, 0.0, 1.0, &x, NULL, NULL, 0,
                                           NULL, NULL, NULL, NULL), SO_ERR_UNSUPPORTED);
    /* dt_min below the tree's finest cell 2^-10. */
    o.dt_min = 1e-4;
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, &o, NULL, 0,
                                           NULL, NULL, NULL, NULL), SO_ERR_INVALID);
    /* A tolerance that the steps at dt_min cannot meet. */
    o = options_with_tolerance(1e-9);
    o.dt_min = 0.01;
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, &o, NULL, 0,
                                           NULL, NULL, NULL, NULL), SO_ERR_NUMERIC);
    o = options_with_tolerance(1e-2);
    o.max_steps = 10;
    x = 1.0;
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, &o, NULL, 0,
                                           NULL, NULL, NULL, NULL), SO_NOT_CONVERGED);
    const double unsorted[2] = {0.5, 0.25};
    double saved[2];
    x = 1.0;
    assert_int_equal(so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, NULL, unsorted,
                                           2, saved, NULL, NULL, NULL), SO_ERR_INVALID);
    /* Too coarse a tree for the default dt_min still runs, with dt_min = 1/2. */
    assert_int_equal(so_brownian_new(1, 0.0, 1.0, 1, 17, 0, &coarse), SO_OK);
    assert_true(so_brownian_resolution(coarse) == 0.5);
    so_brownian_free(&coarse);
    so_brownian_free(&w);
    so_sde_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gbm_error_falls_with_tolerance),
        cmocka_unit_test(converges_on_same_path),
        cmocka_unit_test(same_seed_bit_identical),
        cmocka_unit_test(rejected_steps_use_same_path),
        cmocka_unit_test(save_times_hit_exactly),
        cmocka_unit_test(sra1_error_falls_with_tolerance),
        cmocka_unit_test(rejects_invalid_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
