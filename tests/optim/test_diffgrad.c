/* diffGrad (Dubey et al., IEEE TNNLS 2020) against its equations: a double-precision
 * reference written from eqs. 11-13 and 17-20 of the paper, the copy of the previous
 * gradient, the half-size steps under a constant gradient and the paper's F1 experiment. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/optim.h"

enum { N = 8, STEPS = 200 };

static so_optimizer *new_optimizer(const so_optim_type *type, so_precision precision,
                                   const so_optim_params *hp)
{
    so_optimizer *opt = NULL;
    assert_int_equal(so_optimizer_new(type, N, precision, hp, &opt), SO_OK);
    return opt;
}

/* lr = 0.1, eps = 1e-8, p0 = 0, gradients +1 then -1 through one reused buffer, as a
 * training loop passes them. The first step compares with d_0 = 0, so
 * xi_1 = sigmoid(1) = 0.731059 and p1 = -0.1 * xi_1 = -0.0731059. The second has
 * m_hat = -0.01 / 0.19, v_hat = 1 and xi_2 = sigmoid(|1 - (-1)|) = 0.880797, so
 * p2 = p1 + 0.1 * 0.880797 / 19 = -0.0684701. A previous gradient that aliased the
 * caller's buffer would give xi = 0.5: p1 = -0.05 and p2 = -0.0473684. */
static void previous_gradient_is_copied(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_diffgrad);
    (void)state;
    hp.lr = 0.1;
    hp.eps = 1e-8;
    for (int k = 0; k < 2; k++) {
        so_precision precision = k == 0 ? SO_F64 : SO_F32;
        so_optimizer *opt = NULL;
        double p64 = 0.0, g64 = 1.0;
        float p32 = 0.0f, g32 = 1.0f;
        void *p = precision == SO_F64 ? (void *)&p64 : (void *)&p32;
        void *g = precision == SO_F64 ? (void *)&g64 : (void *)&g32;
        assert_int_equal(so_optimizer_new(so_optim_diffgrad, 1, precision, &hp, &opt), SO_OK);

        assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
        double p1 = precision == SO_F64 ? p64 : p32;
        assert_true(fabs(p1 - (-0.1 / (1.0 + exp(-1.0)))) <= 1e-7);
        assert_true(fabs(p1 + 0.0731059) <= 1e-7);
        assert_true(fabs(p1 + 0.05) > 1e-3);

        g64 = -1.0; /* the same buffer, overwritten */
        g32 = -1.0f;
        assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
        double p2 = precision == SO_F64 ? p64 : p32;
        assert_true(fabs(p2 + 0.0684701) <= 1e-7);
        assert_true(fabs(p2 + 0.0473684) > 1e-3);
        so_optimizer_free(&opt);
    }
}

/* The state of the reference implementation. */
typedef struct reference {
    double p[N], m[N], v[N], vmax[N], previous[N];
} reference;

/* One step of diffGrad written from the paper: d = g (or -g) + wd p for L2 decay, eqs. 11
 * and 12 for the moments, eq. 13 for the bias correction, eqs. 17-19 for xi and eq. 20
 * for the update, with eps where hp->eps_placement puts it. */
static void reference_step(reference *r, const so_optim_params *hp, const double *g, int t)
{
    const double bc1 = 1.0 - pow(hp->beta1, t), bc2 = 1.0 - pow(hp->beta2, t);
    for (int i = 0; i < N; i++) {
        double d = hp->maximize ? -g[i] : g[i];
        if (hp->decoupled_weight_decay)
            r->p[i] *= 1.0 - hp->lr * hp->weight_decay;
        else
            d += hp->weight_decay * r->p[i];
        r->m[i] = hp->beta1 * r->m[i] + (1.0 - hp->beta1) * d;
        r->v[i] = hp->beta2 * r->v[i] + (1.0 - hp->beta2) * d * d;
        r->vmax[i] = fmax(r->vmax[i], r->v[i]);
        double v = hp->amsgrad ? r->vmax[i] : r->v[i];
        double m_hat = r->m[i] / bc1, v_hat = v / bc2;
        double xi = 1.0 / (1.0 + exp(-fabs(r->previous[i] - d)));
        r->previous[i] = d;
        double denominator = sqrt(v_hat) + hp->eps;
        if (hp->eps_placement == SO_EPS_BEFORE_CORRECTION)
            denominator = (sqrt(v) + hp->eps) / sqrt(bc2);
        else if (hp->eps_placement == SO_EPS_INSIDE_SQRT)
            denominator = sqrt(v_hat + hp->eps);
        r->p[i] -= hp->lr * xi * m_hat / denominator;
    }
}

/* A noisy quadratic gradient at the reference's parameters, so that both see the same. */
static void gradient(const reference *r, int t, double *g)
{
    for (int i = 0; i < N; i++)
        g[i] = (0.2 + 0.25 * i) * (r->p[i] - 0.3 * i) + 0.3 * sin(1.7 * t + 0.9 * i);
}

static void check_against_reference(const so_optim_params *hp, const char *label)
{
    reference r;
    double p[N], g[N], worst = 0.0;
    so_optimizer *opt = new_optimizer(so_optim_diffgrad, SO_F64, hp);
    memset(&r, 0, sizeof r);
    for (int i = 0; i < N; i++)
        r.p[i] = p[i] = 1.5 - 0.4 * i;
    for (int t = 1; t <= STEPS; t++) {
        gradient(&r, t, g);
        reference_step(&r, hp, g, t);
        assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
        double diff = 0.0, scale = 0.0;
        for (int i = 0; i < N; i++) {
            diff = fmax(diff, fabs(p[i] - r.p[i]));
            scale = fmax(scale, fabs(r.p[i]));
        }
        worst = fmax(worst, diff / scale);
        if (!(diff <= 1e-12 * scale))
            fail_msg("%s: step %d: relative error %.3g exceeds 1e-12", label, t, diff / scale);
    }
    print_message("%s: max relative error %.3g over %d steps\n", label, worst, STEPS);
    so_optimizer_free(&opt);
}

static void matches_paper_equations(void **state)
{
    const so_optim_params base = so_optim_params_default(so_optim_diffgrad);
    so_optim_params hp;
    (void)state;
    hp = base, hp.lr = 0.05;
    check_against_reference(&hp, "default");
    hp = base, hp.lr = 0.05, hp.eps = 1e-3, hp.eps_placement = SO_EPS_BEFORE_CORRECTION;
    check_against_reference(&hp, "eps before the bias correction");
    hp = base, hp.lr = 0.05, hp.eps = 1e-3, hp.eps_placement = SO_EPS_INSIDE_SQRT;
    check_against_reference(&hp, "eps inside the square root");
    hp = base, hp.lr = 0.05, hp.weight_decay = 0.1;
    check_against_reference(&hp, "L2 weight decay");
    hp = base, hp.lr = 0.05, hp.weight_decay = 0.1, hp.decoupled_weight_decay = 1;
    check_against_reference(&hp, "decoupled weight decay");
    hp = base, hp.lr = 0.05, hp.beta1 = 0.95, hp.maximize = 1, hp.amsgrad = 1;
    check_against_reference(&hp, "maximize and amsgrad");
}

/* With a constant gradient, d_{t-1} = d_t from step 2 on, so xi = sigmoid(0) = 1/2 and
 * each step is half of Adam's with the same eps placement. */
static void constant_gradient_halves_adam_steps(void **state)
{
    (void)state;
    for (int placement = 0; placement <= SO_EPS_INSIDE_SQRT; placement++) {
        so_optim_params hp = so_optim_params_default(so_optim_diffgrad);
        hp.lr = 0.01;
        hp.eps = 1e-3;
        hp.eps_placement = placement;
        so_optimizer *diffgrad = new_optimizer(so_optim_diffgrad, SO_F64, &hp);
        so_optimizer *adam = new_optimizer(so_optim_adam, SO_F64, &hp);
        double p_diff[N] = {0}, p_adam[N] = {0}, g[N];
        for (int i = 0; i < N; i++)
            g[i] = 0.01 + 0.3 * i;
        for (int t = 1; t <= 20; t++) {
            double before_diff = p_diff[3], before_adam = p_adam[3];
            assert_int_equal(so_optimizer_step(diffgrad, p_diff, g), SO_OK);
            assert_int_equal(so_optimizer_step(adam, p_adam, g), SO_OK);
            double step_diff = p_diff[3] - before_diff, step_adam = p_adam[3] - before_adam;
            /* The first step compares with d_0 = 0: xi_1 = sigmoid(|g|). */
            double xi = t == 1 ? 1.0 / (1.0 + exp(-fabs(g[3]))) : 0.5;
            assert_true(fabs(step_diff - xi * step_adam) <= 1e-14 * fabs(step_adam));
        }
        so_optimizer_free(&diffgrad);
        so_optimizer_free(&adam);
    }
}

/* F1(x) = (x + 0.3)^2 for x <= 0, (x - 0.2)^2 + 0.05 for x > 0, from x0 = -1 with
 * lr 0.1, beta1 0.95, beta2 0.999 for 300 steps (Section V of the paper): Adam
 * overshoots the global minimum at -0.3 and stays in the local one at 0.2; diffGrad
 * stops at -0.3. */
static double minimize_f1(const so_optim_type *type)
{
    so_optim_params hp = so_optim_params_default(type);
    so_optimizer *opt = NULL;
    double x = -1.0;
    hp.lr = 0.1;
    hp.beta1 = 0.95;
    hp.beta2 = 0.999;
    assert_int_equal(so_optimizer_new(type, 1, SO_F64, &hp, &opt), SO_OK);
    for (int t = 0; t < 300; t++) {
        double g = x <= 0.0 ? 2.0 * (x + 0.3) : 2.0 * (x - 0.2);
        assert_int_equal(so_optimizer_step(opt, &x, &g), SO_OK);
    }
    so_optimizer_free(&opt);
    return x;
}

static void reaches_f1_global_minimum(void **state)
{
    (void)state;
    double x_diffgrad = minimize_f1(so_optim_diffgrad), x_adam = minimize_f1(so_optim_adam);
    print_message("F1 after 300 steps: diffgrad x = %.5f, adam x = %.5f\n", x_diffgrad,
                  x_adam);
    assert_true(fabs(x_diffgrad + 0.3) <= 0.01);
    assert_true(fabs(x_adam - 0.2) <= 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(previous_gradient_is_copied),
        cmocka_unit_test(matches_paper_equations),
        cmocka_unit_test(constant_gradient_halves_adam_steps),
        cmocka_unit_test(reaches_f1_global_minimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
