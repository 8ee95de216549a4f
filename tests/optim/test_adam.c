/* Adam single steps whose results follow by hand from the update rule of
 * torch.optim.Adam 1.13 (see src/optim/adam.c). */
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

/* One step from p = 0 with g = 1e-8, lr = 1, eps = 1e-8. The corrected moments are
 * m = 1e-8 and sqrt(v) = 1e-8, so p1 = -1e-8 / (1e-8 + eps) = -0.5. Adding eps before the
 * correction of v would give about -0.97 instead. */
static void eps_is_added_after_bias_correction(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    (void)state;
    hp.lr = 1.0;
    hp.eps = 1e-8;

    so_optimizer *opt = new_adam(1, SO_F64, &hp);
    double p = 0.0, g = 1e-8;
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(fabs(p + 0.5) <= 1e-12);
    so_optimizer_free(&opt);

    opt = new_adam(1, SO_F32, &hp);
    float pf = 0.0f, gf = 1e-8f;
    assert_int_equal(so_optimizer_step(opt, &pf, &gf), SO_OK);
    assert_true(fabsf(pf + 0.5f) <= 1e-6f);
    so_optimizer_free(&opt);
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
        cmocka_unit_test(eps_is_added_after_bias_correction),
        cmocka_unit_test(bias_corrected_moments_are_not_stored),
        cmocka_unit_test(weight_decay_adds_to_gradient),
        cmocka_unit_test(maximize_ascends),
        cmocka_unit_test(amsgrad_normalizes_by_the_running_maximum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
