/* SGD trajectories worked out by hand from the update rule of torch.optim.SGD 1.13
 * (see src/optim/sgd.c). With a constant gradient of 1 and lr = 1, p_t is minus the sum
 * of the step directions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stochopt/optim.h"

/* Runs both precisions; float32 results are held to float32 accuracy. */
static void run_constant_gradient(const so_optim_params *hp, const double *expected,
                                  int steps)
{
    so_optimizer *opt = NULL, *opt32 = NULL;
    double p = 0.0, g = 1.0;
    float p32 = 0.0f, g32 = 1.0f;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F64, hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F32, hp, &opt32), SO_OK);
    for (int t = 0; t < steps; t++) {
        assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
        assert_int_equal(so_optimizer_step(opt32, &p32, &g32), SO_OK);
        assert_true(fabs(p - expected[t]) <= 1e-14);
        assert_true(fabs(p32 - expected[t]) <= 1e-6 * fabs(expected[t]));
    }
    so_optimizer_free(&opt);
    so_optimizer_free(&opt32);
}

/* The first step copies d into the buffer without dampening: b = 1, 0.9 + 0.5 = 1.4,
 * 1.26 + 0.5 = 1.76. */
static void momentum_buffer_starts_at_first_gradient(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    const double expected[3] = {-1.0, -2.4, -4.16};
    (void)state;
    hp.lr = 1.0;
    hp.momentum = 0.9;
    hp.dampening = 0.5;
    run_constant_gradient(&hp, expected, 3);
}

/* Nesterov steps along d + mu * b: b = 1 then 1.9, so the steps are 1.9 and 2.71. */
static void nesterov_looks_ahead_along_the_buffer(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    const double expected[2] = {-1.9, -4.61};
    (void)state;
    hp.lr = 1.0;
    hp.momentum = 0.9;
    hp.nesterov = 1;
    run_constant_gradient(&hp, expected, 2);
}

/* Without momentum SGD is p - lr * g, in float32 as well. */
static void plain_step_in_float32(void **state)
{
    so_optimizer *opt = NULL;
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    float p[2] = {1.0f, 2.0f}, g[2] = {0.5f, -1.0f};
    (void)state;
    hp.lr = 0.1;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 2, SO_F32, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    assert_true(p[0] == 1.0f + (float)-0.1 * 0.5f);
    assert_true(p[1] == 2.0f + (float)-0.1 * -1.0f);
    assert_true(g[0] == 0.5f);
    assert_true(g[1] == -1.0f);
    so_optimizer_free(&opt);
}

/* Weight decay still pulls towards zero when maximizing, because torch negates only the
 * gradient: d = -0 + 0.5 * 2 = 1, so p goes from 2 to 1.9. */
static void weight_decay_shrinks_even_when_maximizing(void **state)
{
    so_optimizer *opt = NULL;
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    double p = 2.0, g = 0.0;
    (void)state;
    hp.lr = 0.1;
    hp.weight_decay = 0.5;
    hp.maximize = 1;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(fabs(p - 1.9) <= 1e-15);
    so_optimizer_free(&opt);
}

/* The presets run SGD's kernel with momentum 0.9 (and Nesterov): their trajectories equal
 * those of sgd with the same settings, bit for bit. */
static void presets_equal_sgd_with_momentum(void **state)
{
    const so_optim_type *const presets[2] = {so_optim_momentum, so_optim_nesterov};
    (void)state;
    for (int k = 0; k < 2; k++) {
        so_optim_params hp = so_optim_params_default(so_optim_sgd);
        so_optimizer *preset = NULL, *sgd = NULL;
        double p_preset[3] = {1, -2, 3}, p_sgd[3] = {1, -2, 3};
        hp.momentum = 0.9;
        hp.nesterov = k;
        assert_int_equal(so_optimizer_new(presets[k], 3, SO_F64, NULL, &preset), SO_OK);
        assert_int_equal(so_optimizer_new(so_optim_sgd, 3, SO_F64, &hp, &sgd), SO_OK);
        for (int t = 0; t < 10; t++) {
            double g[3] = {p_sgd[0] + 0.1 * t, 2.0 * p_sgd[1], sin(t)};
            assert_int_equal(so_optimizer_step(preset, p_preset, g), SO_OK);
            assert_int_equal(so_optimizer_step(sgd, p_sgd, g), SO_OK);
        }
        assert_memory_equal(p_preset, p_sgd, sizeof p_sgd);
        so_optimizer_free(&preset);
        so_optimizer_free(&sgd);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(momentum_buffer_starts_at_first_gradient),
        cmocka_unit_test(nesterov_looks_ahead_along_the_buffer),
        cmocka_unit_test(plain_step_in_float32),
        cmocka_unit_test(weight_decay_shrinks_even_when_maximizing),
        cmocka_unit_test(presets_equal_sgd_with_momentum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
