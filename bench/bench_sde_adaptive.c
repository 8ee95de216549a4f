/* Adaptive SDE stepping against fixed steps on geometric Brownian motion.
 *
 *   bench_sde_adaptive [PATHS] [DEPTH]
 *
 * dX = 2 X dt + X dW (Ito), X(0) = 1 on [0, 1], defaults 200 paths and a Brownian tree
 * of depth 20. For each tolerance rtol = atol, Milstein with the Milstein/Euler-Maruyama
 * pair reports the mean absolute error at t = 1 against exp(1.5 + W(1)) on the same
 * path, the mean accepted and rejected steps, the smallest accepted step over all paths,
 * and, for comparison, fixed-step Milstein with the nearest power of two to the mean
 * number of attempted steps. Prints a Markdown table.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stochopt/core.h"
#include "stochopt/sde.h"

static int drift(void *user, double t, const double *x, double *f)
{
    (void)user, (void)t;
    f[0] = 2.0 * x[0];
    return 0;
}

static int diffusion(void *user, double t, const double *x, double *g)
{
    (void)user, (void)t;
    g[0] = x[0];
    return 0;
}

static int diffusion_jvp(void *user, double t, const double *x, const double *g, double *lg)
{
    (void)user, (void)t, (void)x;
    lg[0] = g[0];
    return 0;
}

int main(int argc, char **argv)
{
    int paths = argc > 1 ? atoi(argv[1]) : 200;
    int depth = argc > 2 ? atoi(argv[2]) : 20;
    static const double tolerances[4] = {1e-1, 1e-2, 1e-3, 1e-4};
    so_sde_system sys = {1, 1, SO_SDE_NOISE_DIAGONAL, drift, diffusion, diffusion_jvp, NULL};
    so_sde *s = NULL;
    so_brownian *w = NULL;
    if (paths < 1 || so_sde_new(&sys, &s) != SO_OK
        || so_brownian_new(1, 0.0, 1.0, depth, 2026, 0, &w) != SO_OK) {
        fprintf(stderr, "bench_sde_adaptive: setup failed: %s\n", so_last_error());
        return 1;
    }
    printf("| rtol = atol | mean abs error | accepted | rejected | smallest step | "
           "fixed steps | fixed-step error |\n|---|---|---|---|---|---|---|\n");
    for (int level = 0; level < 4; level++) {
        so_sde_adaptive_options o = so_sde_adaptive_options_default();
        o.rtol = o.atol = tolerances[level];
        double error = 0.0, accepted = 0.0, rejected = 0.0, smallest = INFINITY;
        for (int p = 0; p < paths; p++) {
            so_sde_adaptive_stats stats;
            double x = 1.0, w1;
            so_brownian_set_path(w, 2026, (uint32_t)p);
            int status = so_sde_solve_adaptive(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, &x, &o, NULL,
                                               0, NULL, NULL, NULL, &stats);
            if (status != SO_OK) {
                fprintf(stderr, "bench_sde_adaptive: path %d, tol %g: %s\n", p,
                        tolerances[level], so_last_error());
                return 1;
            }
            so_brownian_value(w, 1.0, &w1);
            error += fabs(x - exp(1.5 + w1)) / paths;
            accepted += (double)stats.accepted / paths;
            rejected += (double)stats.rejected / paths;
            if (stats.dt_smallest > 0.0 && stats.dt_smallest < smallest)
                smallest = stats.dt_smallest;
        }
        size_t steps = (size_t)1 << (int)lround(log2(accepted + rejected));
        double fixed_error = 0.0;
        for (int p = 0; p < paths; p++) {
            double x = 1.0, w1;
            so_brownian_set_path(w, 2026, (uint32_t)p);
            so_sde_solve(s, SO_SDE_MILSTEIN, w, 0.0, 1.0, steps, &x, NULL, NULL);
            so_brownian_value(w, 1.0, &w1);
            fixed_error += fabs(x - exp(1.5 + w1)) / paths;
        }
        printf("| %.0e | %.4g | %.1f | %.1f | %.3g | %zu | %.4g |\n", tolerances[level],
               error, accepted, rejected, smallest, steps, fixed_error);
    }
    so_brownian_free(&w);
    so_sde_free(&s);
    return 0;
}
