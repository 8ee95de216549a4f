/* AdaGrad, AdaGrad-Norm, RMSProp and AdaDelta: single steps worked out by hand from their
 * update rules (see the headers of src/optim/adagrad.c, adagrad_norm.c, rmsprop.c and
 * adadelta.c), and AdaGrad-Norm, which torch.optim lacks, against a reference written
 * from Ward, Wu and Bottou's Algorithm 1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/optim.h"

static so_optimizer *new_f64(const so_optim_type *type, size_t n, const so_optim_params *hp)
{
    so_optimizer *opt = NULL;
    assert_int_equal(so_optimizer_new(type, n, SO_F64, hp, &opt), SO_OK);
    return opt;
}

/* p0 = 1, g = 2, lr = 0.1, initial_accumulator_value = 0.5: the sum becomes 4.5 and
 * p1 = 1 - 0.1 * 2 / (sqrt(4.5) + eps). With lr_decay 0.25 the third step uses
 * lr / (1 + 2 * 0.25). */
static void adagrad_steps_by_hand(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adagrad);
    double p = 1.0, g = 2.0;
    (void)state;
    hp.lr = 0.1;
    hp.initial_accumulator_value = 0.5;
    hp.lr_decay = 0.25;
    so_optimizer *opt = new_f64(so_optim_adagrad, 1, &hp);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    double expected = 1.0 - 0.1 * 2.0 / (sqrt(4.5) + 1e-10);
    assert_true(fabs(p - expected) <= 1e-15);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    expected -= 0.1 / 1.25 * 2.0 / (sqrt(8.5) + 1e-10);
    assert_true(fabs(p - expected) <= 1e-15);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    expected -= 0.1 / 1.5 * 2.0 / (sqrt(12.5) + 1e-10);
    assert_true(fabs(p - expected) <= 1e-15);
    so_optimizer_free(&opt);
}

/* Centered RMSProp, one step from p = 0 with g = 2, alpha 0.9, momentum 0.5:
 * s = 0.1 * 4 = 0.4, a = 0.2, r = sqrt(0.4 - 0.04) + eps, b = 2 / r, p1 = -lr * b. */
static void rmsprop_centered_momentum_by_hand(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_rmsprop);
    double p = 0.0, g = 2.0;
    (void)state;
    hp.lr = 0.01;
    hp.alpha = 0.9;
    hp.momentum = 0.5;
    hp.centered = 1;
    so_optimizer *opt = new_f64(so_optim_rmsprop, 1, &hp);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    double r = sqrt(0.4 - 0.04) + 1e-8, b = 2.0 / r;
    assert_true(fabs(p + 0.01 * b) <= 1e-15);
    /* Second step, g = 2 again: s = 0.76, a = 0.38, b = 0.5 b + 2 / r2. */
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    double r2 = sqrt(0.9 * 0.4 + 0.4 - (0.9 * 0.2 + 0.2) * (0.9 * 0.2 + 0.2)) + 1e-8;
    double b2 = 0.5 * b + 2.0 / r2;
    assert_true(fabs(p + 0.01 * b + 0.01 * b2) <= 1e-14);
    so_optimizer_free(&opt);
}

/* AdaDelta from p = 0 with g = 1, rho 0.9, eps 1e-6, lr 1: s = 0.1,
 * x = sqrt(0 + eps) / sqrt(0.1 + eps) * 1, p1 = -x. */
static void adadelta_step_by_hand(void **state)
{
    double p = 0.0, g = 1.0;
    (void)state;
    so_optimizer *opt = new_f64(so_optim_adadelta, 1, NULL);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    double x = sqrt(1e-6) / sqrt(0.1 + 1e-6);
    assert_true(fabs(p + x) <= 1e-18);
    so_optimizer_free(&opt);
}

/* Ward, Wu and Bottou's Algorithm 1 with L2 decay and a clipping coefficient, in double:
 * b^2 += ||d||^2, p -= lr d / (b + eps). */
static void adagrad_norm_reference_step(double *p, double *b2, const double *g, size_t n,
                                        const so_optim_params *hp, double scale)
{
    double d[8], norm2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        d[i] = scale * g[i] + hp->weight_decay * p[i];
        norm2 += d[i] * d[i];
    }
    *b2 += norm2;
    for (size_t i = 0; i < n; i++)
        p[i] -= hp->lr * d[i] / (sqrt(*b2) + hp->eps);
}

static void adagrad_norm_matches_algorithm(void **state)
{
    enum { N = 8, STEPS = 200 };
    so_optim_params hp = so_optim_params_default(so_optim_adagrad_norm);
    double p[N], ref[N], g[N], b2 = 0.25;
    (void)state;
    hp.lr = 0.5;
    hp.initial_accumulator_value = 0.25;
    for (int decay = 0; decay < 2; decay++) {
        hp.weight_decay = decay ? 0.05 : 0.0;
        b2 = 0.25;
        so_optimizer *opt = new_f64(so_optim_adagrad_norm, N, &hp);
        for (size_t i = 0; i < N; i++)
            p[i] = ref[i] = 1.0 - 0.3 * (double)i;
        for (int t = 1; t <= STEPS; t++) {
            for (size_t i = 0; i < N; i++)
                g[i] = (0.5 + 0.2 * (double)i) * ref[i] + 0.2 * sin(1.3 * t + (double)i);
            adagrad_norm_reference_step(ref, &b2, g, N, &hp, 1.0);
            assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
            for (size_t i = 0; i < N; i++)
                if (!(fabs(p[i] - ref[i]) <= 1e-12 * (fabs(ref[i]) + 1e-3)))
                    fail_msg("weight_decay %g, step %d, p[%zu] = %.17g, reference %.17g",
                             hp.weight_decay, t, i, p[i], ref[i]);
        }
        so_optimizer_free(&opt);
    }
}

/* No step is longer than lr, and an all-zero first gradient with b_0 = 0 leaves p
 * unchanged instead of dividing 0 by 0. */
static void adagrad_norm_step_bounded_by_lr(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adagrad_norm);
    double p[3] = {1, 2, 3}, zero[3] = {0, 0, 0}, g[3] = {30, -40, 0};
    (void)state;
    assert_true(hp.lr == 1.0);
    assert_true(hp.initial_accumulator_value == 0.0);
    hp.lr = 0.1;
    so_optimizer *opt = new_f64(so_optim_adagrad_norm, 3, &hp);
    assert_int_equal(so_optimizer_step(opt, p, zero), SO_OK);
    assert_true(p[0] == 1.0);
    assert_true(p[1] == 2.0);
    assert_true(p[2] == 3.0);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    /* b = ||g|| = 50, so the step is lr * g / 50, of length exactly lr. */
    assert_true(fabs(p[0] - (1.0 - 0.1 * 0.6)) <= 1e-15);
    assert_true(fabs(p[1] - (2.0 + 0.1 * 0.8)) <= 1e-15);
    assert_true(p[2] == 3.0);
    so_optimizer_free(&opt);
}

/* The accumulator uses the clipped gradient: with clip_norm 1 the direction has norm
 * 1 / (1 + 1e-6) * 50 / 50, just under 1. */
static void adagrad_norm_accumulates_clipped_gradient(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adagrad_norm);
    double p[2] = {0, 0}, g[2] = {30, 40}, ref[2] = {0, 0}, b2 = 0.0;
    (void)state;
    hp.clip_norm = 1.0;
    hp.lr = 0.1;
    so_optimizer *opt = new_f64(so_optim_adagrad_norm, 2, &hp);
    for (int t = 0; t < 3; t++) {
        double scale = 1.0 / (50.0 + 1e-6);
        adagrad_norm_reference_step(ref, &b2, g, 2, &hp, scale);
        assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
        assert_true(fabs(p[0] - ref[0]) <= 1e-15);
        assert_true(fabs(p[1] - ref[1]) <= 1e-15);
    }
    so_optimizer_free(&opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adagrad_steps_by_hand),
        cmocka_unit_test(rmsprop_centered_momentum_by_hand),
        cmocka_unit_test(adadelta_step_by_hand),
        cmocka_unit_test(adagrad_norm_matches_algorithm),
        cmocka_unit_test(adagrad_norm_step_bounded_by_lr),
        cmocka_unit_test(adagrad_norm_accumulates_clipped_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
