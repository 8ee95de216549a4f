/* Online learners. Optimistic OMD with a zero hint is OGD bit for bit. Optimistic and
 * FTRL rounds match their closed forms, and so do the ONS step and its ball projection.
 * The regret of a fixed smooth loss stops growing, the linearized regret has its closed
 * form, and protocol errors come back as statuses. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/online.h"

enum { D = 5, T = 500 };

static void run_pair(so_online_config c, const double *x0)
{
    so_online *ogd = NULL, *omd = NULL;
    double xa[D], xb[D], g[D];
    so_rng rng;
    so_rng_init(&rng, 21, 0);
    c.method = SO_ONLINE_OGD;
    assert_int_equal(so_online_new(&c, x0, &ogd), SO_OK);
    c.method = SO_ONLINE_OPTIMISTIC_OMD;
    c.hint = SO_HINT_ZERO;
    assert_int_equal(so_online_new(&c, x0, &omd), SO_OK);
    for (int t = 0; t < T; t++) {
        assert_int_equal(so_online_predict(ogd, NULL, xa), SO_OK);
        assert_int_equal(so_online_predict(omd, NULL, xb), SO_OK);
        assert_memory_equal(xa, xb, sizeof xa);
        for (int i = 0; i < D; i++)
            g[i] = xa[i] - 0.3 + so_rng_normal(&rng);
        assert_int_equal(so_online_update(ogd, g), SO_OK);
        assert_int_equal(so_online_update(omd, g), SO_OK);
    }
    assert_true(so_online_linear_regret(ogd) == so_online_linear_regret(omd));
    so_online_free(&ogd);
    so_online_free(&omd);
}

static void zero_hint_is_ogd_bit_for_bit(void **state)
{
    const double x0[D] = {0.1, 0.2, 0.3, 0.2, 0.2};
    so_online_config c = so_online_config_default(D);
    (void)state;
    run_pair(c, x0);
    c.domain = SO_DOMAIN_BOX;
    c.lo = -0.5;
    c.hi = 0.5;
    c.step = SO_ONLINE_STEP_SQRT;
    run_pair(c, x0);
    c.domain = SO_DOMAIN_SIMPLEX;
    c.map = SO_MIRROR_ENTROPY;
    c.step = SO_ONLINE_STEP_ADAPTIVE;
    run_pair(c, x0);
    c.domain = SO_DOMAIN_FREE;
    c.map = SO_MIRROR_EUCLIDEAN;
    run_pair(c, x0);
}

/* Free domain, constant step: x_t = xhat - eta M_t and xhat' = xhat - eta g_t. */
static void optimistic_round_closed_form(void **state)
{
    so_online_config c = so_online_config_default(2);
    const double x0[2] = {1.0, -1.0}, m[2] = {0.5, 0.25}, g[2] = {2.0, -4.0};
    double x[2];
    so_online *o = NULL;
    (void)state;
    c.method = SO_ONLINE_OPTIMISTIC_OMD;
    c.domain = SO_DOMAIN_FREE;
    c.step = SO_ONLINE_STEP_CONSTANT;
    c.eta = 0.5;
    c.hint = SO_HINT_USER;
    assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
    assert_int_equal(so_online_predict(o, m, x), SO_OK);
    assert_true(x[0] == 0.75 && x[1] == -1.125);
    assert_int_equal(so_online_update(o, g), SO_OK);
    assert_int_equal(so_online_predict(o, g, x), SO_OK);
    /* xhat_2 = (0, 1); the hint g moves it by -eta g = (-1, 2). */
    assert_true(x[0] == -1.0 && x[1] == 3.0);
    so_online_free(&o);
}

/* Optimistic FTRL on the unit ball from x0 = 0: x_t = P(-eta_t (G_{t-1} + M_t)). */
static void ftrl_is_lazy_projection(void **state)
{
    so_online_config c = so_online_config_default(2);
    const double x0[2] = {0, 0}, g1[2] = {3.0, 4.0}, g2[2] = {-1.0, 0.0};
    double x[2];
    so_online *o = NULL;
    (void)state;
    c.method = SO_ONLINE_OPTIMISTIC_FTRL;
    c.step = SO_ONLINE_STEP_CONSTANT;
    c.eta = 0.1;
    assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    assert_true(x[0] == 0.0 && x[1] == 0.0);
    assert_int_equal(so_online_update(o, g1), SO_OK);
    /* Round 2: G = g1, M = g1, so y = -0.1 (6, 8) with norm 1: on the sphere. */
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    assert_true(fabs(x[0] + 0.6) < 1e-15 && fabs(x[1] + 0.8) < 1e-15);
    assert_int_equal(so_online_update(o, g2), SO_OK);
    /* Round 3: G + M = (2, 4) + (-1, 0) = (1, 4); y = -(0.1, 0.4) inside the ball. */
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    assert_true(fabs(x[0] + 0.1) < 1e-15 && fabs(x[1] + 0.4) < 1e-15);
    so_online_free(&o);
}

/* First ONS step: A = eps I + g g', so A^{-1} g = g / (eps + |g|^2). */
static void ons_step_and_projection(void **state)
{
    so_online_config c = so_online_config_default(3);
    const double x0[3] = {0.1, 0.2, -0.1}, g[3] = {1.0, -2.0, 0.5};
    double x[3];
    so_online *o = NULL;
    (void)state;
    c.method = SO_ONLINE_ONS;
    c.domain = SO_DOMAIN_FREE;
    c.ons_gamma = 0.5;
    c.ons_eps = 2.0;
    assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    assert_int_equal(so_online_update(o, g), SO_OK);
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(x[i] - (x0[i] - g[i] / (0.5 * (2.0 + 5.25)))) < 1e-15);
    so_online_free(&o);
    /* In the unit ball the step (about 0.55 long from near 0) leaves the ball for
     * gamma = 0.05; the A-norm projection lands on the sphere, and A (y - z) is
     * parallel to -y (the KKT condition). */
    c.domain = SO_DOMAIN_BALL;
    c.ons_gamma = 0.05;
    assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    assert_int_equal(so_online_update(o, g), SO_OK);
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    double z[3], r[3], nx = 0, cosang = 0, nr = 0;
    for (int i = 0; i < 3; i++)
        z[i] = x0[i] - g[i] / (0.05 * (2.0 + 5.25));
    for (int i = 0; i < 3; i++) {
        r[i] = 2.0 * (x[i] - z[i]);
        for (int j = 0; j < 3; j++)
            r[i] += g[i] * g[j] * (x[j] - z[j]);
        nx += x[i] * x[i];
    }
    for (int i = 0; i < 3; i++) {
        cosang -= r[i] * x[i];
        nr += r[i] * r[i];
    }
    assert_true(fabs(sqrt(nx) - 1.0) < 1e-9);
    assert_true(fabs(cosang / sqrt(nr * nx) - 1.0) < 1e-9);
    so_online_free(&o);
}

/* f(x) = |x - c|^2 / 2 every round, with c inside the ball: the optimistic learner's
 * regret against c stops growing. */
static void fixed_loss_regret_plateaus(void **state)
{
    so_online_config c = so_online_config_default(D);
    const double x0[D] = {0}, target[D] = {0.3, -0.2, 0.1, 0.0, 0.4};
    double x[D], g[D], at1000 = 0;
    so_regret reg = {0, 0, 0};
    so_online *o = NULL;
    (void)state;
    c.method = SO_ONLINE_OPTIMISTIC_OMD;
    assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
    for (int t = 1; t <= 20000; t++) {
        double loss = 0;
        assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
        for (int i = 0; i < D; i++) {
            g[i] = x[i] - target[i];
            loss += 0.5 * g[i] * g[i];
        }
        so_regret_add(&reg, loss, 0.0);
        assert_int_equal(so_online_update(o, g), SO_OK);
        if (t == 1000)
            at1000 = so_regret_value(&reg);
    }
    assert_true(reg.rounds == 20000);
    assert_true(so_regret_value(&reg) - at1000 < 1e-6);
    so_online_free(&o);
}

static void linear_regret_closed_forms(void **state)
{
    so_online_config c = so_online_config_default(2);
    const double x0[2] = {0, 0}, g[2] = {3.0, -4.0};
    double x[2];
    so_online *o = NULL;
    (void)state;
    c.step = SO_ONLINE_STEP_CONSTANT;
    c.eta = 1e-3;
    for (int dom = 0; dom < 3; dom++) {
        c.domain = dom == 0 ? SO_DOMAIN_BALL : (dom == 1 ? SO_DOMAIN_BOX : SO_DOMAIN_SIMPLEX);
        c.lo = -1;
        c.hi = 2;
        assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
        assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
        assert_int_equal(so_online_update(o, g), SO_OK);
        double played = g[0] * x[0] + g[1] * x[1];
        double best = dom == 0 ? -5.0 : (dom == 1 ? 3.0 * -1 + -4.0 * 2 : -4.0);
        assert_true(fabs(so_online_linear_regret(o) - (played - best)) < 1e-15);
        so_online_free(&o);
    }
}

static void protocol_errors(void **state)
{
    so_online_config c = so_online_config_default(2);
    const double x0[2] = {0, 0}, g[2] = {NAN, 0};
    double x[2];
    so_online *o = NULL;
    (void)state;
    assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
    assert_int_equal(so_online_update(o, g), SO_ERR_STATE);
    assert_int_equal(so_online_predict(o, NULL, x), SO_OK);
    assert_int_equal(so_online_predict(o, NULL, x), SO_ERR_STATE);
    assert_int_equal(so_online_update(o, g), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "g[0] = nan"));
    so_online_free(&o);
    c.method = SO_ONLINE_OPTIMISTIC_OMD;
    c.hint = SO_HINT_USER;
    assert_int_equal(so_online_new(&c, x0, &o), SO_OK);
    assert_int_equal(so_online_predict(o, NULL, x), SO_ERR_INVALID);
    so_online_free(&o);
    c.map = SO_MIRROR_ENTROPY;
    assert_int_equal(so_online_new(&c, x0, &o), SO_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_hint_is_ogd_bit_for_bit),
        cmocka_unit_test(optimistic_round_closed_form),
        cmocka_unit_test(ftrl_is_lazy_projection),
        cmocka_unit_test(ons_step_and_projection),
        cmocka_unit_test(fixed_loss_regret_plateaus),
        cmocka_unit_test(linear_regret_closed_forms),
        cmocka_unit_test(protocol_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
