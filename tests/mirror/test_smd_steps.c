/* Stochastic mirror descent against closed forms. A composite step equals the prox of a
 * gradient step, and the entropy map gives multiplicative weights. The averaged output is
 * the mean of the iterates, and each step rule follows its formula. The noise models have
 * the right moments, and the last iterate converges on a noisy strongly convex problem. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/mirror.h"

static void composite_step_is_prox_of_gradient_step(void **state)
{
    so_smd_config c = so_smd_config_default(3);
    const double x0[3] = {1.0, -0.2, 0.05}, g[3] = {0.5, -1.0, 0.0};
    double want[3];
    so_smd *s = NULL;
    (void)state;
    c.composite = SO_COMPOSITE_L1;
    c.reg = 0.3;
    c.rule = SO_STEP_CONSTANT;
    c.eta = 0.5;
    assert_int_equal(so_smd_new(&c, x0, &s), SO_OK);
    assert_int_equal(so_smd_step(s, g), SO_OK);
    for (int i = 0; i < 3; i++)
        want[i] = x0[i] - 0.5 * g[i];
    so_prox_l1(3, want, 0.15, want);
    assert_memory_equal(so_smd_last(s), want, sizeof want);
    assert_true(so_smd_last(s)[2] == 0.0);
    so_smd_free(&s);
    assert_null(s);
}

static void entropy_map_matches_weights_and_average(void **state)
{
    so_smd_config c = so_smd_config_default(3);
    const double x0[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3}, g[3] = {1.0, 0.0, -1.0};
    double x1[3], x2[3];
    so_smd *s = NULL;
    (void)state;
    c.map = SO_MIRROR_ENTROPY;
    c.composite = SO_COMPOSITE_SIMPLEX;
    c.rule = SO_STEP_SQRT;
    c.eta = 1.0;
    assert_int_equal(so_smd_new(&c, x0, &s), SO_OK);
    assert_int_equal(so_smd_step(s, g), SO_OK);
    assert_int_equal(so_smd_step(s, g), SO_OK);
    so_entropic_step(3, x0, g, 1.0, x1);
    so_entropic_step(3, x1, g, 1.0 / sqrt(2.0), x2);
    for (int i = 0; i < 3; i++) {
        assert_true(fabs(so_smd_last(s)[i] - x2[i]) < 1e-15);
        assert_true(fabs(so_smd_average(s)[i] - 0.5 * (x1[i] + x2[i])) < 1e-15);
    }
    assert_int_equal(so_smd_steps(s), 2);
    so_smd_free(&s);
    c.composite = SO_COMPOSITE_BOX;
    assert_int_equal(so_smd_new(&c, x0, &s), SO_ERR_UNSUPPORTED);
    const double bad[3] = {0.5, 0.5, 0.0};
    c.composite = SO_COMPOSITE_NONE;
    assert_int_equal(so_smd_new(&c, bad, &s), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "x0[2] = 0"));
}

static void step_rules_follow_formulas(void **state)
{
    so_smd_config c = so_smd_config_default(1);
    (void)state;
    c.eta = 2.0;
    assert_true(so_smd_step_size(&c, 4) == 1.0);
    c.smooth_l = 1.0;
    assert_true(so_smd_step_size(&c, 4) == 0.5);
    c.rule = SO_STEP_STRONG;
    c.mu = 0.1;
    c.smooth_l = 0;
    assert_true(fabs(so_smd_step_size(&c, 5) - 2.0) < 1e-15);
    c.rule = SO_STEP_HEAVY_TAIL;
    c.p = 1.5;
    assert_true(fabs(so_smd_step_size(&c, 8) - 2.0 / 4.0) < 1e-15);
    c.rule = SO_STEP_LINEAR_DECAY;
    c.horizon = 100;
    assert_true(fabs(so_smd_step_size(&c, 1) - 2.0 * 100 / 1000) < 1e-15);
    assert_true(fabs(so_smd_step_size(&c, 100) - 2.0 / 1000) < 1e-15);
}

static void noise_moments(void **state)
{
    so_rng rng;
    const int n = 400000;
    so_noise gauss = {SO_NOISE_GAUSSIAN, 2.0, 0}, t5 = {SO_NOISE_STUDENT_T, 1.0, 5.0};
    double sg = 0, sgg = 0, st = 0, stt = 0, sk = 0;
    (void)state;
    so_rng_init(&rng, 9, 0);
    for (int i = 0; i < n; i++) {
        double a = so_noise_draw(&gauss, &rng), b = so_noise_draw(&t5, &rng);
        sg += a;
        sgg += a * a;
        st += b;
        stt += b * b;
        sk += so_noise_gamma(&rng, 0.5);
    }
    assert_true(fabs(sg / n) < 5 * 2.0 / sqrt(n));
    assert_true(fabs(sgg / n - 4.0) < 5 * 4.0 * sqrt(2.0 / n));
    assert_true(fabs(st / n) < 5 * sqrt(5.0 / 3.0 / n));
    /* t_5 has variance 5/3; its fourth moment is finite, but heavy: allow 3%. */
    assert_true(fabs(stt / n - 5.0 / 3.0) < 0.05);
    assert_true(fabs(sk / n - 0.5) < 5 * sqrt(0.5 / n));
}

/* P(|xi| > s) = (1 + s/c)^{-a} puts the median of |xi| at c (2^{1/a} - 1) and gives
 * P(|xi| > 99 c) = 100^{-a}. Both signs have probability 1/2. */
static void lomax_tail(void **state)
{
    so_rng rng;
    const int n = 400000;
    const double a = 1.55, c = 2.0, q = pow(100.0, -a);
    so_noise lomax = {SO_NOISE_LOMAX, c, a};
    long below_median = 0, far = 0, positive = 0;
    (void)state;
    so_rng_init(&rng, 11, 0);
    for (int i = 0; i < n; i++) {
        double v = so_noise_draw(&lomax, &rng);
        below_median += fabs(v) < c * (pow(2.0, 1.0 / a) - 1.0);
        far += fabs(v) > 99.0 * c;
        positive += v > 0;
    }
    assert_true(fabs((double)below_median / n - 0.5) < 5 * sqrt(0.25 / n));
    assert_true(fabs((double)far / n - q) < 5 * sqrt(q * (1 - q) / n));
    assert_true(fabs((double)positive / n - 0.5) < 5 * sqrt(0.25 / n));
}

/* f(x) = mu |x - 1|^2 / 2 with N(0, 1) gradient noise and eta_t = 1/(mu t): the last
 * iterate is the running mean of noisy targets, so E|x_T - 1|^2 = d / (mu^2 T). Over 200
 * seeds and 4 coordinates the estimate has a relative standard error of 5%. */
static void last_iterate_converges_strongly_convex(void **state)
{
    const double mu = 2.0;
    double err[2] = {0, 0};
    (void)state;
    for (int seed = 0; seed < 200; seed++) {
        so_smd_config c = so_smd_config_default(4);
        const double x0[4] = {5, -5, 3, 0};
        so_smd *s = NULL;
        so_rng rng;
        c.rule = SO_STEP_STRONG;
        c.mu = mu;
        so_rng_init(&rng, (uint64_t)seed, 1);
        assert_int_equal(so_smd_new(&c, x0, &s), SO_OK);
        for (long t = 1; t <= 1000; t++) {
            double g[4];
            const double *x = so_smd_last(s);
            for (int i = 0; i < 4; i++)
                g[i] = mu * (x[i] - 1.0) + so_rng_normal(&rng);
            assert_int_equal(so_smd_step(s, g), SO_OK);
            if (t == 100 || t == 1000)
                for (int i = 0; i < 4; i++)
                    err[t == 1000] += (x[i] - 1.0) * (x[i] - 1.0) / 200;
        }
        so_smd_free(&s);
    }
    assert_true(fabs(err[0] / (4.0 / (mu * mu * 100)) - 1) < 0.25);
    assert_true(fabs(err[1] / (4.0 / (mu * mu * 1000)) - 1) < 0.25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(composite_step_is_prox_of_gradient_step),
        cmocka_unit_test(entropy_map_matches_weights_and_average),
        cmocka_unit_test(step_rules_follow_formulas),
        cmocka_unit_test(noise_moments),
        cmocka_unit_test(lomax_tail),
        cmocka_unit_test(last_iterate_converges_strongly_convex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
