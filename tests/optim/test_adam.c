/* Adam, AdamW and AMSGrad single steps whose results follow by hand from the update rules
 * of torch.optim.Adam and AdamW 1.13 (see src/optim/adam.c), and the other placements of
 * eps. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stochopt/optim.h"

static so_optimizer *new_adam(size_t n, so_precision precision, const so_optim_params *hp)
{
    so_optimizer *opt = NULL;
    assert_int_equal(so_optimizer_new(so_optim_adam, n, precision, hp, &opt), SO_OK);
    return opt;
}

/* One step from p = 0 with g = 1e-8, lr = 1 and eps = 1e-8, returned in float64 and
 * float32 for a method and an eps placement. */
static void one_tiny_step(const so_optim_type *type, int placement, double *p64, float *p32)
{
    so_optim_params hp = so_optim_params_default(type);
    so_optimizer *opt = NULL;
    double g = 1e-8;
    float gf = 1e-8f;
    hp.lr = 1.0;
    hp.eps = 1e-8;
    hp.weight_decay = 0.0;
    hp.eps_placement = placement;

    *p64 = 0.0;
    assert_int_equal(so_optimizer_new(type, 1, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p64, &g), SO_OK);
    so_optimizer_free(&opt);
    *p32 = 0.0f;
    assert_int_equal(so_optimizer_new(type, 1, SO_F32, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p32, &gf), SO_OK);
    so_optimizer_free(&opt);
}

/* PyTorch's placement: the corrected moments are m = 1e-8 and sqrt(v) = 1e-8, so
 * p1 = -1e-8 / (1e-8 + eps) = -0.5, for Adam, AdamW and AMSGrad alike. */
static void eps_after_bias_correction_gives_half(void **state)
{
    const so_optim_type *const types[] = {so_optim_adam, so_optim_adamw, so_optim_amsgrad};
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        double p;
        float pf;
        one_tiny_step(types[k], SO_EPS_AFTER_CORRECTION, &p, &pf);
        assert_true(fabs(p + 0.5) <= 1e-12);
        assert_true(fabsf(pf + 0.5f) <= 1e-6f);
    }
}

/* eps added to sqrt(v) = sqrt(1e-3 * 1e-16) before the correction:
 * p1 = -sqrt(1 - beta2) / (1 - beta1) * m / (sqrt(v) + eps) = -0.030653..., not the
 * -0.5 of the default placement. */
static void eps_before_bias_correction_option(void **state)
{
    const so_optim_type *const types[] = {so_optim_adam, so_optim_adamw, so_optim_amsgrad};
    const double m = 0.1 * 1e-8, v = 0.001 * 1e-16;
    const double expected = -(sqrt(0.001) / 0.1) * m / (sqrt(v) + 1e-8);
    (void)state;
    assert_true(fabs(expected + 0.030653) <= 5e-7);
    for (size_t k = 0; k < 3; k++) {
        double p;
        float pf;
        one_tiny_step(types[k], SO_EPS_BEFORE_CORRECTION, &p, &pf);
        assert_true(fabs(p - expected) <= 1e-15);
        assert_true(fabsf(pf - (float)expected) <= 1e-7f);
    }
}

/* eps inside the square root: p1 = -1e-8 / sqrt(1e-16 + 1e-8), about -1e-4. */
static void eps_inside_sqrt_option(void **state)
{
    const double expected = -1e-8 / sqrt(1e-16 + 1e-8);
    double p;
    float pf;
    (void)state;
    one_tiny_step(so_optim_adam, SO_EPS_INSIDE_SQRT, &p, &pf);
    assert_true(fabs(p - expected) <= 1e-18);
    assert_true(fabsf(pf - (float)expected) <= 1e-11f);
}

/* Decoupled decay shrinks the parameter that the gradient was taken at: from p0 = 1 with
 * g = 1, lr = 0.1, weight_decay = 0.5 and eps = 0, p1 = 1 * (1 - 0.05) - 0.1 = 0.85.
 * Decaying after the update would give 0.9 * 0.95 = 0.855, and L2 decay in Adam gives
 * 1 - 0.1 = 0.9 because the corrected step is lr whatever the gradient. */
static void decoupled_decay_uses_previous_parameters(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adamw);
    so_optimizer *opt = NULL;
    double p = 1.0, g = 1.0;
    (void)state;
    hp.lr = 0.1;
    hp.weight_decay = 0.5;
    hp.eps = 0.0;
    assert_int_equal(so_optimizer_new(so_optim_adamw, 1, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(fabs(p - 0.85) <= 1e-15);
    assert_true(fabs(p - 0.855) > 1e-3);
    so_optimizer_free(&opt);

    /* Adam with decoupled_weight_decay = 1 is AdamW. */
    hp = so_optim_params_default(so_optim_adam);
    hp.lr = 0.1;
    hp.weight_decay = 0.5;
    hp.eps = 0.0;
    hp.decoupled_weight_decay = 1;
    p = 1.0;
    assert_int_equal(so_optimizer_new(so_optim_adam, 1, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(fabs(p - 0.85) <= 1e-15);
    so_optimizer_free(&opt);

    hp.decoupled_weight_decay = 0;
    p = 1.0;
    assert_int_equal(so_optimizer_new(so_optim_adam, 1, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(fabs(p - 0.9) <= 1e-15);
    so_optimizer_free(&opt);
}

/* The presets differ from adam only in their defaults. */
static void presets_follow_torch_defaults(void **state)
{
    so_optim_params adamw = so_optim_params_default(so_optim_adamw);
    so_optim_params amsgrad = so_optim_params_default(so_optim_amsgrad);
    (void)state;
    assert_true(adamw.lr == 1e-3);
    assert_true(adamw.weight_decay == 1e-2);
    assert_int_equal(adamw.decoupled_weight_decay, 1);
    assert_int_equal(adamw.amsgrad, 0);
    assert_int_equal(adamw.eps_placement, SO_EPS_AFTER_CORRECTION);
    assert_int_equal(amsgrad.amsgrad, 1);
    assert_true(amsgrad.weight_decay == 0.0);
    assert_true(amsgrad.beta2 == 0.999);
}

/* With a constant gradient of 1 and eps = 0 every corrected step is exactly lr, because
 * m_t / (1 - beta1^t) = 1 and v_t / (1 - beta2^t) = 1. Storing the corrected moments in
 * the state would make the second and third steps larger. */
static void bias_corrected_moments_are_not_stored(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    const double expected[3] = {-0.01, -0.02, -0.03};
    (void)state;
    hp.lr = 0.01;
    hp.eps = 0.0;

    so_optimizer *opt = new_adam(1, SO_F64, &hp);
    double p = 0.0, g = 1.0;
    for (int t = 0; t < 3; t++) {
        assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
        assert_true(fabs(p - expected[t]) <= 1e-15);
    }
    assert_int_equal(so_optimizer_steps(opt), 3);
    so_optimizer_free(&opt);

    /* Nine float32 values run both the eight-lane kernel and its scalar tail. */
    float pf[9] = {0}, gf[9];
    for (int i = 0; i < 9; i++)
        gf[i] = 1.0f;
    opt = new_adam(9, SO_F32, &hp);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(so_optimizer_step(opt, pf, gf), SO_OK);
        for (int i = 0; i < 9; i++)
            assert_true(fabsf(pf[i] - (float)expected[t]) <= 1e-8f);
    }
    so_optimizer_free(&opt);
}

/* L2 weight decay enters the gradient: with g = 0, p = 1 and weight_decay = 0.1 the first
 * step uses d = 0.1 and moves p by lr * 0.1 / (0.1 + eps). */
static void weight_decay_adds_to_gradient(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    (void)state;
    hp.lr = 0.01;
    hp.weight_decay = 0.1;

    so_optimizer *opt = new_adam(1, SO_F64, &hp);
    double p = 1.0, g = 0.0;
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(fabs(p - (1.0 - 0.01 * 0.1 / (0.1 + 1e-8))) <= 1e-15);
    so_optimizer_free(&opt);
}

/* Maximizing negates the gradient, so a positive gradient moves p up by about lr. */
static void maximize_ascends(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    (void)state;
    hp.maximize = 1;

    so_optimizer *opt = new_adam(2, SO_F64, &hp);
    double p[2] = {0.0, 0.0}, g[2] = {2.0, -3.0};
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    assert_true(fabs(p[0] - 1e-3) <= 1e-10);
    assert_true(fabs(p[1] + 1e-3) <= 1e-10);
    so_optimizer_free(&opt);
}

/* After one large gradient, AMSGrad keeps normalizing by the largest second moment, so
 * its later steps are smaller than plain Adam's. */
static void amsgrad_normalizes_by_the_running_maximum(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    (void)state;
    hp.lr = 0.1;
    so_optimizer *plain = new_adam(1, SO_F64, &hp);
    hp.amsgrad = 1;
    so_optimizer *ams = new_adam(1, SO_F64, &hp);

    double p_plain = 0.0, p_ams = 0.0;
    for (int t = 0; t < 20; t++) {
        double g = t == 0 ? 100.0 : 0.01;
        double before_plain = p_plain, before_ams = p_ams;
        assert_int_equal(so_optimizer_step(plain, &p_plain, &g), SO_OK);
        assert_int_equal(so_optimizer_step(ams, &p_ams, &g), SO_OK);
        if (t == 0)
            assert_true(p_plain == p_ams);
        else
            assert_true(fabs(p_ams - before_ams) <= fabs(p_plain - before_plain));
    }
    assert_true(p_ams > p_plain);
    so_optimizer_free(&plain);
    so_optimizer_free(&ams);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eps_after_bias_correction_gives_half),
        cmocka_unit_test(eps_before_bias_correction_option),
        cmocka_unit_test(eps_inside_sqrt_option),
        cmocka_unit_test(decoupled_decay_uses_previous_parameters),
        cmocka_unit_test(presets_follow_torch_defaults),
        cmocka_unit_test(bias_corrected_moments_are_not_stored),
        cmocka_unit_test(weight_decay_adds_to_gradient),
        cmocka_unit_test(maximize_ascends),
        cmocka_unit_test(amsgrad_normalizes_by_the_running_maximum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
