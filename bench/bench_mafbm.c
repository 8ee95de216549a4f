/* Markov-approximate fractional Brownian motion: weights, residual and variance.
 *
 *   bench_mafbm table [GAMMA_MAX]
 *       for type II and type I, H in {0.1, 0.3, 0.5, 0.7, 0.9} and K in {2, 3, 5, 7, 10, 12}
 *       on [0, 1]: the residual (time-averaged squared error) and the relative error of
 *       Var B_hat(1) = w^T C(1) w against the fBM variance (default gamma_max 20)
 *   bench_mafbm mc [PATHS] [STEPS]
 *       Monte Carlo variance of simulated B_hat(1) with K = 5, gamma_max = 20, against
 *       w^T C(1) w, with the standard error (defaults 20000 paths, 64 steps)
 * Prints Markdown tables.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/sde.h"

static const double hurst_values[5] = {0.1, 0.3, 0.5, 0.7, 0.9};

static int table(double gamma_max)
{
    static const size_t sizes[6] = {2, 3, 5, 7, 10, 12};
    double gamma[12], w[12];
    for (int type_index = 0; type_index < 2; type_index++) {
        so_mafbm_type type = type_index == 0 ? SO_MAFBM_TYPE_II : SO_MAFBM_TYPE_I;
        printf("\nType %s, gamma_max = %g, T = 1: residual / relative error of Var B_hat(1)"
               "\n\n| H | Var B(1) |", type_index == 0 ? "II" : "I", gamma_max);
        for (int k = 0; k < 6; k++)
            printf(" K = %zu |", sizes[k]);
        printf("\n|---|---|---|---|---|---|---|---|\n");
        for (int h = 0; h < 5; h++) {
            double var;
            if (so_mafbm_fbm_variance(type, hurst_values[h], 1.0, &var) != SO_OK)
                return 1;
            printf("| %.1f | %.4f |", hurst_values[h], var);
            for (int k = 0; k < 6; k++) {
                double residual, var_hat;
                if (so_mafbm_gammas(sizes[k], gamma_max, gamma) != SO_OK
                    || so_mafbm_weights(type, hurst_values[h], 1.0, sizes[k], gamma, w,
                                        &residual) != SO_OK
                    || so_mafbm_variance(type, sizes[k], gamma, w, 1.0, &var_hat) != SO_OK) {
                    fprintf(stderr, "bench_mafbm: %s\n", so_last_error());
                    return 1;
                }
                printf(" %.2e / %+.1e |", residual, (var_hat - var) / var);
            }
            printf("\n");
        }
    }
    return 0;
}

static int monte_carlo(int paths, size_t steps)
{
    double gamma[5], w[5];
    so_brownian *path = NULL;
    if (so_mafbm_gammas(5, 20.0, gamma) != SO_OK
        || so_brownian_new(1, 0.0, 1.0, 12, 77, 0, &path) != SO_OK)
        return 1;
    printf("| type | H | Monte Carlo Var B_hat(1) | standard error | w^T C(1) w | "
           "Var B(1) |\n|---|---|---|---|---|---|\n");
    for (int type_index = 0; type_index < 2; type_index++) {
        so_mafbm_type type = type_index == 0 ? SO_MAFBM_TYPE_II : SO_MAFBM_TYPE_I;
        for (int h = 0; h < 5; h++) {
            double exact, var_b;
            if (so_mafbm_weights(type, hurst_values[h], 1.0, 5, gamma, w, NULL) != SO_OK
                || so_mafbm_variance(type, 5, gamma, w, 1.0, &exact) != SO_OK
                || so_mafbm_fbm_variance(type, hurst_values[h], 1.0, &var_b) != SO_OK)
                return 1;
            double sum = 0.0, sum2 = 0.0, sum4 = 0.0;
            for (int p = 0; p < paths; p++) {
                double y[5], b;
                so_rng rng;
                so_rng_init(&rng, 78, (uint64_t)p);
                so_brownian_set_path(path, 77, (uint32_t)p);
                if (so_mafbm_initial(type, 5, gamma, &rng, y) != SO_OK
                    || so_mafbm_simulate(5, gamma, w, path, 0.0, 1.0, steps, y, &b) != SO_OK) {
                    fprintf(stderr, "bench_mafbm: %s\n", so_last_error());
                    return 1;
                }
                sum += b;
                sum2 += b * b;
                sum4 += b * b * b * b;
            }
            double mean = sum / paths, var = sum2 / paths - mean * mean;
            double std_error = sqrt((sum4 / paths - (sum2 / paths) * (sum2 / paths)) / paths);
            printf("| %s | %.1f | %.4f | %.4f | %.4f | %.4f |\n", type_index == 0 ? "II" : "I",
                   hurst_values[h], var, std_error, exact, var_b);
        }
    }
    so_brownian_free(&path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "table") == 0)
        return table(argc > 2 ? atof(argv[2]) : 20.0);
    if (argc > 1 && strcmp(argv[1], "mc") == 0)
        return monte_carlo(argc > 2 ? atoi(argv[2]) : 20000,
                           argc > 3 ? (size_t)atol(argv[3]) : 64);
    fprintf(stderr, "usage: bench_mafbm table [GAMMA_MAX] | mc [PATHS] [STEPS]\n");
    return 2;
}
