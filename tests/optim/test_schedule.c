/* Learning-rate schedules: each kind's closed form, the warm-up, validation, lookup by
 * name and an optimizer that follows a schedule. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/optim.h"

/* lr0 = 0.5, T_max = 5, eta_min = 0: the closed form gives exactly 0 at t = 5 and 0.5 at
 * t = 10, with no NaN on the way. A recursive form divides by 1 + cos(pi (t - 1) / 5),
 * which is 0 at t = 6. */
static void cosine_never_divides_by_zero(void **state)
{
    const double expected[11] = {0.5,      0.452254, 0.327254, 0.172746, 0.047746, 0.0,
                                 0.047746, 0.172746, 0.327254, 0.452254, 0.5};
    so_schedule s = so_schedule_default(so_schedule_cosine);
    (void)state;
    s.t_max = 5;
    for (uint64_t t = 0; t <= 10; t++) {
        double lr = so_schedule_lr(&s, 0.5, t);
        assert_false(isnan(lr));
        assert_true(fabs(lr - expected[t]) <= 1e-6);
    }
    assert_true(so_schedule_lr(&s, 0.5, 5) == 0.0);
    assert_true(so_schedule_lr(&s, 0.5, 10) == 0.5);
    assert_true(so_schedule_lr(&s, 0.5, 1000000000000) == 0.5);
    s.eta_min = 0.1;
    assert_true(fabs(so_schedule_lr(&s, 0.5, 5) - 0.1) <= 1e-15);
    const double pi = 3.14159265358979323846;
    assert_true(fabs(so_schedule_lr(&s, 0.5, 2) - (0.1 + 0.4 * (1 + cos(0.4 * pi)) / 2)) <=
                1e-15);
}

static void step_and_exponential_decay(void **state)
{
    so_schedule step = so_schedule_default(so_schedule_step);
    so_schedule exponential = so_schedule_default(so_schedule_exponential);
    (void)state;
    step.step_size = 3;
    step.gamma = 0.5;
    assert_true(so_schedule_lr(&step, 0.8, 0) == 0.8);
    assert_true(so_schedule_lr(&step, 0.8, 2) == 0.8);
    assert_true(so_schedule_lr(&step, 0.8, 3) == 0.4);
    assert_true(so_schedule_lr(&step, 0.8, 7) == 0.2);
    exponential.gamma = 0.9;
    assert_true(so_schedule_lr(&exponential, 2.0, 0) == 2.0);
    assert_true(fabs(so_schedule_lr(&exponential, 2.0, 3) - 2.0 * 0.729) <= 1e-15);
    so_schedule constant = so_schedule_default(so_schedule_constant);
    assert_true(so_schedule_lr(&constant, 0.3, 12345) == 0.3);
}

/* inv_sqrt: lr0 / sqrt(t + 1). last_iterate with T = 4: lr0 (T - t) / T^(3/2), that is
 * lr0 * 4/8, 3/8, 2/8, 1/8, then 0. */
static void inverse_sqrt_and_last_iterate(void **state)
{
    so_schedule inv = so_schedule_default(so_schedule_inv_sqrt);
    so_schedule last = so_schedule_default(so_schedule_last_iterate);
    const double expected[6] = {0.5, 0.375, 0.25, 0.125, 0.0, 0.0};
    (void)state;
    assert_true(so_schedule_lr(&inv, 0.6, 0) == 0.6);
    assert_true(fabs(so_schedule_lr(&inv, 0.6, 3) - 0.3) <= 1e-16);
    last.t_max = 4;
    for (uint64_t t = 0; t < 6; t++)
        assert_true(fabs(so_schedule_lr(&last, 1.0, t) - expected[t]) <= 1e-16);
}

/* A warm-up of W = 4 steps from factor 0.2 rises linearly to lr0, then the schedule runs
 * from its own t = 0. */
static void warmup_precedes_schedule(void **state)
{
    so_schedule s = so_schedule_default(so_schedule_cosine);
    (void)state;
    s.t_max = 10;
    s.warmup_steps = 4;
    s.warmup_start_factor = 0.2;
    assert_true(fabs(so_schedule_lr(&s, 1.0, 0) - 0.2) <= 1e-15);
    assert_true(fabs(so_schedule_lr(&s, 1.0, 2) - 0.6) <= 1e-15);
    assert_true(fabs(so_schedule_lr(&s, 1.0, 3) - 0.8) <= 1e-15);
    assert_true(so_schedule_lr(&s, 1.0, 4) == 1.0);
    so_schedule plain = s;
    plain.warmup_steps = 0;
    for (uint64_t t = 4; t < 30; t++)
        assert_true(so_schedule_lr(&s, 1.0, t) == so_schedule_lr(&plain, 1.0, t - 4));
}

typedef struct bad_schedule {
    const char *name;
    const char *field;
    double value;
    const char *message;
} bad_schedule;

static void invalid_schedules_are_rejected(void **state)
{
    const bad_schedule cases[] = {
        {"step", "step_size", 0, "step schedule: step_size = 0 is invalid"},
        {"step", "gamma", 0, "step schedule: gamma = 0 is invalid"},
        {"exponential", "gamma", NAN, "exponential schedule: gamma = nan is invalid"},
        {"exponential", "gamma", INFINITY, "gamma = inf is invalid"},
        {"cosine", "t_max", 0, "cosine schedule: t_max = 0 is invalid"},
        {"cosine", "eta_min", -0.1, "cosine schedule: eta_min = -0.1 is invalid"},
        {"last_iterate", "t_max", 0, "last_iterate schedule: t_max = 0 is invalid"},
        {"constant", "warmup_start_factor", 1.5, "warmup_start_factor = 1.5 is invalid"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        so_schedule s = so_schedule_default(so_schedule_type_find(cases[i].name));
        if (strcmp(cases[i].field, "step_size") == 0)
            s.step_size = (uint64_t)cases[i].value;
        else if (strcmp(cases[i].field, "gamma") == 0)
            s.gamma = cases[i].value;
        else if (strcmp(cases[i].field, "t_max") == 0)
            s.t_max = (uint64_t)cases[i].value;
        else if (strcmp(cases[i].field, "eta_min") == 0)
            s.eta_min = cases[i].value;
        else
            s.warmup_start_factor = cases[i].value;
        assert_int_equal(so_schedule_validate(&s), SO_ERR_INVALID);
        if (strstr(so_last_error(), cases[i].message) == NULL)
            fail_msg("case %zu: detail \"%s\" lacks \"%s\"", i, so_last_error(),
                     cases[i].message);
        assert_true(isnan(so_schedule_lr(&s, 0.1, 3)));
    }
    so_schedule forged = so_schedule_default(so_schedule_step);
    forged.type = (const so_schedule_type *)&forged;
    assert_int_equal(so_schedule_validate(&forged), SO_ERR_INVALID);
    assert_int_equal(so_schedule_validate(NULL), SO_ERR_INVALID);
}

static void schedules_are_found_by_name(void **state)
{
    char list[128], small[12];
    (void)state;
    assert_ptr_equal(so_schedule_type_find("Cosine"), so_schedule_cosine);
    assert_ptr_equal(so_schedule_type_find("last_iterate"), so_schedule_last_iterate);
    assert_null(so_schedule_type_find("linear"));
    assert_null(so_schedule_type_find(NULL));
    assert_string_equal(so_schedule_type_name(so_schedule_inv_sqrt), "inv_sqrt");
    so_schedule_type_list(list, sizeof list);
    assert_string_equal(list, "constant,step,exponential,cosine,inv_sqrt,last_iterate");
    so_schedule_type_list(small, sizeof small);
    assert_string_equal(small, "constant");
    assert_ptr_equal(so_schedule_default(NULL).type, so_schedule_constant);
}

/* SGD without momentum moves p by exactly -lr * g, so each step shows the rate it used. */
static void optimizer_follows_schedule(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    so_schedule s = so_schedule_default(so_schedule_cosine);
    so_optimizer *opt = NULL;
    double p = 0.0, g = 1.0;
    (void)state;
    hp.lr = 0.5;
    s.t_max = 5;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F64, &hp, &opt), SO_OK);
    assert_null(so_optimizer_schedule(opt));
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK); /* one step before attaching */
    assert_int_equal(so_optimizer_set_schedule(opt, &s), SO_OK);
    assert_non_null(so_optimizer_schedule(opt));
    assert_true(so_optimizer_base_lr(opt) == 0.5);
    for (uint64_t t = 0; t < 12; t++) {
        double lr = so_schedule_lr(&s, 0.5, t), before = p;
        assert_true(so_optimizer_lr(opt) == lr);
        assert_true(so_optimizer_params(opt)->lr == lr);
        assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
        assert_true(p == before - lr);
    }
    /* set_lr changes the base rate that the schedule scales. */
    so_optimizer_set_lr(opt, 1.0);
    assert_true(so_optimizer_base_lr(opt) == 1.0);
    assert_true(so_optimizer_lr(opt) == so_schedule_lr(&s, 1.0, 12));
    /* Detaching keeps the current rate. */
    double current = so_optimizer_lr(opt);
    assert_int_equal(so_optimizer_set_schedule(opt, NULL), SO_OK);
    assert_true(so_optimizer_lr(opt) == current);
    assert_true(so_optimizer_base_lr(opt) == current);
    s.t_max = 0;
    assert_int_equal(so_optimizer_set_schedule(opt, &s), SO_ERR_INVALID);
    assert_null(so_optimizer_schedule(opt));
    assert_int_equal(so_optimizer_set_schedule(NULL, &s), SO_ERR_INVALID);
    so_optimizer_free(&opt);
}

/* A skipped step does not advance the schedule. */
static void skipped_step_keeps_rate(void **state)
{
    so_schedule s = so_schedule_default(so_schedule_inv_sqrt);
    so_optimizer *opt = NULL;
    double p = 0.0, g = 1.0, bad = NAN;
    (void)state;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F64, NULL, &opt), SO_OK);
    assert_int_equal(so_optimizer_set_schedule(opt, &s), SO_OK);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    double lr = so_optimizer_lr(opt);
    assert_true(lr == 0.01 / sqrt(2.0));
    assert_int_equal(so_optimizer_step(opt, &p, &bad), SO_ERR_NONFINITE);
    assert_true(so_optimizer_lr(opt) == lr);
    so_optimizer_free(&opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cosine_never_divides_by_zero),
        cmocka_unit_test(step_and_exponential_decay),
        cmocka_unit_test(inverse_sqrt_and_last_iterate),
        cmocka_unit_test(warmup_precedes_schedule),
        cmocka_unit_test(invalid_schedules_are_rejected),
        cmocka_unit_test(schedules_are_found_by_name),
        cmocka_unit_test(optimizer_follows_schedule),
        cmocka_unit_test(skipped_step_keeps_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
