/* The CBO particle moves for a fixed consensus point v: the mean-square distance to v
 * contracts by (1 - lambda dt)^2 + sigma^2 dt per coordinate (anisotropic noise) or by
 * (1 - lambda dt)^2 + sigma^2 dt d (isotropic noise); sigma = 0 is exact geometric
 * contraction; hopping samples N(v, sigma^2 I). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "global/global_internal.h"

enum { M = 200000, D = 4 };

/* Fills x with v + N(0, 1) rows, runs one step, returns sum|x'-v|^2 / sum|x-v|^2. */
static double measured_factor(so_cbo_noise noise, double lambda, double sigma, double dt)
{
    double *x = malloc(sizeof(double) * M * D);
    size_t *idx = malloc(sizeof(size_t) * M);
    const double v[D] = {0.5, -1.0, 2.0, 0.0};
    double before = 0, after = 0;
    so_rng rng;
    assert_non_null(x);
    assert_non_null(idx);
    so_rng_init(&rng, 7, 0);
    for (size_t j = 0; j < M; j++) {
        idx[j] = j;
        for (size_t i = 0; i < D; i++) {
            x[j * D + i] = v[i] + so_rng_normal(&rng);
            before += (x[j * D + i] - v[i]) * (x[j * D + i] - v[i]);
        }
    }
    so_cbo_em_step_(x, D, idx, M, v, lambda, sigma, dt, noise, &rng);
    for (size_t j = 0; j < M * D; j++)
        after += (x[j] - v[j % D]) * (x[j] - v[j % D]);
    free(x);
    free(idx);
    return after / before;
}

static void anisotropic_factor_is_per_coordinate(void **state)
{
    (void)state;
    double want = (1 - 0.1) * (1 - 0.1) + 1.0 * 1.0 * 0.1;
    double got = measured_factor(SO_CBO_ANISOTROPIC, 1.0, 1.0, 0.1);
    /* The standard error of the ratio is about 0.4% here; allow 5 of them. */
    assert_true(fabs(got / want - 1) < 0.02);
}

static void isotropic_factor_grows_with_dimension(void **state)
{
    (void)state;
    double want = (1 - 0.1) * (1 - 0.1) + 1.0 * 1.0 * 0.1 * D;
    double got = measured_factor(SO_CBO_ISOTROPIC, 1.0, 1.0, 0.1);
    assert_true(fabs(got / want - 1) < 0.02);
}

static void zero_noise_is_geometric(void **state)
{
    double x[3 * 2] = {1, 2, -3, 4, 0.5, 0.25}, x0[6];
    const double v[2] = {0.1, -0.2};
    const size_t idx[3] = {0, 1, 2};
    so_rng rng;
    (void)state;
    so_rng_init(&rng, 1, 0);
    for (int i = 0; i < 6; i++)
        x0[i] = x[i];
    for (int k = 0; k < 10; k++)
        so_cbo_em_step_(x, 2, idx, 3, v, 2.0, 0.0, 0.05, SO_CBO_ANISOTROPIC, &rng);
    for (int i = 0; i < 6; i++) {
        double want = v[i % 2] + pow(1 - 2.0 * 0.05, 10) * (x0[i] - v[i % 2]);
        assert_true(fabs(x[i] - want) <= 1e-14 * (1 + fabs(want)));
    }
}

static void hopping_samples_around_consensus(void **state)
{
    enum { H = 100000 };
    double *x = malloc(sizeof(double) * H);
    size_t *idx = malloc(sizeof(size_t) * H);
    const double v[1] = {3.0};
    double s = 0, ss = 0;
    so_rng rng;
    (void)state;
    assert_non_null(x);
    assert_non_null(idx);
    so_rng_init(&rng, 3, 0);
    for (size_t j = 0; j < H; j++)
        idx[j] = j;
    so_cbo_hop_step_(x, 1, idx, H, v, 0.5, &rng);
    for (size_t j = 0; j < H; j++) {
        s += x[j];
        ss += (x[j] - 3.0) * (x[j] - 3.0);
    }
    assert_true(fabs(s / H - 3.0) < 5 * 0.5 / sqrt(H));
    assert_true(fabs(ss / H - 0.25) < 5 * 0.25 * sqrt(2.0 / H));
    free(x);
    free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anisotropic_factor_is_per_coordinate),
        cmocka_unit_test(isotropic_factor_grows_with_dimension),
        cmocka_unit_test(zero_noise_is_geometric),
        cmocka_unit_test(hopping_samples_around_consensus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
