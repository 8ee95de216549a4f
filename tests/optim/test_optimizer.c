/* The optimizer object shared by all methods: the non-finite gradient guard for every
 * method, value and norm clipping, decoupled decay, hyperparameter validation and access
 * by name, lookup by name, defaults, the learning-rate setter and independence from the
 * thread count. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "stochopt/optim.h"

static unsigned char *save_state(const so_optimizer *opt, size_t *size)
{
    assert_int_equal(so_optimizer_save(opt, NULL, size), SO_OK);
    unsigned char *bytes = malloc(*size);
    assert_non_null(bytes);
    assert_int_equal(so_optimizer_save(opt, bytes, size), SO_OK);
    return bytes;
}

/* Sets hyperparameter `name` when the method reads it, to switch on every buffer. */
static void set_if_used(const so_optim_type *type, so_optim_params *hp, const char *name,
                        double value)
{
    const char *list = so_optim_type_params(type);
    size_t len = strlen(name);
    for (const char *at = strstr(list, name); at != NULL; at = strstr(at + 1, name))
        if ((at == list || at[-1] == ',') && (at[len] == ',' || at[len] == '\0')) {
            assert_int_equal(so_optim_params_set(hp, name, value), SO_OK);
            return;
        }
}

/* p = [1, 1] and clip_norm 0.2; one good step fills the buffers, then g = [0.5, NaN] must
 * change nothing: not the parameters, not a byte of the saved state (buffers, scalars,
 * step count, learning rate). */
static void check_nonfinite_step_is_skipped(const so_optim_type *type, so_precision precision)
{
    so_optim_params hp = so_optim_params_default(type);
    so_optimizer *opt = NULL;
    double p64[2] = {1, 1}, good64[2] = {0.5, 0.25}, bad64[2] = {0.5, NAN};
    float p32[2] = {1, 1}, good32[2] = {0.5f, 0.25f}, bad32[2] = {0.5f, NAN};
    void *p = precision == SO_F32 ? (void *)p32 : (void *)p64;
    size_t before_size, after_size;

    hp.lr = 0.1;
    hp.clip_norm = 0.2;
    set_if_used(type, &hp, "momentum", 0.9);
    set_if_used(type, &hp, "amsgrad", 1);
    set_if_used(type, &hp, "centered", 1);
    set_if_used(type, &hp, "weight_decay", 0.01);
    assert_int_equal(so_optimizer_new(type, 2, precision, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, precision == SO_F32 ? (void *)good32
                                                                   : (void *)good64),
                     SO_OK);
    float kept32[2] = {p32[0], p32[1]};
    double kept64[2] = {p64[0], p64[1]};
    unsigned char *before = save_state(opt, &before_size);

    assert_int_equal(so_optimizer_step(opt, p, precision == SO_F32 ? (void *)bad32
                                                                   : (void *)bad64),
                     SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "gradient 1 of 2"));
    assert_non_null(strstr(so_last_error(), "step 2"));
    assert_memory_equal(p32, kept32, sizeof p32);
    assert_memory_equal(p64, kept64, sizeof p64);
    assert_int_equal(so_optimizer_steps(opt), 1);
    unsigned char *after = save_state(opt, &after_size);
    assert_int_equal(before_size, after_size);
    assert_memory_equal(before, after, before_size);
    free(before);
    free(after);
    so_optimizer_free(&opt);
}

static void nonfinite_gradient_never_reaches_the_weights(void **state)
{
    char names[256];
    (void)state;
    so_optim_type_list(names, sizeof names);
    for (char *name = strtok(names, ","); name != NULL; name = strtok(NULL, ",")) {
        const so_optim_type *type = so_optim_type_find(name);
        assert_non_null(type);
        check_nonfinite_step_is_skipped(type, SO_F32);
        check_nonfinite_step_is_skipped(type, SO_F64);
    }
}

/* An infinity far into a long array, past the first scan chunk, is found and named. */
static void first_nonfinite_index_is_reported(void **state)
{
    const size_t n = 100000;
    float *p = calloc(n, sizeof *p), *g = calloc(n, sizeof *g);
    so_optimizer *opt = NULL;
    (void)state;
    assert_non_null(p);
    assert_non_null(g);
    g[70001] = -INFINITY;
    g[99999] = NAN;
    assert_int_equal(so_optimizer_new(so_optim_adam, n, SO_F32, NULL, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "gradient 70001 of 100000 is -inf"));
    for (size_t i = 0; i < n; i++)
        assert_true(p[i] == 0.0f);
    so_optimizer_free(&opt);
    free(p);
    free(g);
}

/* A gradient of norm 5 with clip_norm 1 is scaled by 1 / (5 + 1e-6), as
 * torch.nn.utils.clip_grad_norm_ does. One of norm 0.5 is left alone, and grads is not
 * modified in either case. */
static void clipping_scales_the_global_norm(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    so_optimizer *opt = NULL;
    double p[2] = {0, 0}, g[2] = {3, 4}, small[2] = {0.3, 0.4};
    (void)state;
    hp.lr = 1.0;
    hp.clip_norm = 1.0;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 2, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    assert_true(fabs(p[0] + 3.0 / (5.0 + 1e-6)) <= 1e-15);
    assert_true(fabs(p[1] + 4.0 / (5.0 + 1e-6)) <= 1e-15);
    assert_true(g[0] == 3.0);
    assert_true(g[1] == 4.0);
    p[0] = p[1] = 0.0;
    assert_int_equal(so_optimizer_step(opt, p, small), SO_OK);
    assert_true(p[0] == -0.3);
    assert_true(p[1] == -0.4);
    so_optimizer_free(&opt);
}

/* clip_value 1 clamps g = [3, -4, 0.5] to [1, -1, 0.5]; clip_norm 1 then scales by
 * 1 / (1.5 + 1e-6), 1.5 being the norm of the clamped gradient. */
static void value_clipping_precedes_norm_clipping(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    so_optimizer *opt = NULL;
    double p[3] = {0, 0, 0}, g[3] = {3, -4, 0.5};
    (void)state;
    hp.lr = 1.0;
    hp.clip_value = 1.0;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 3, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    assert_true(p[0] == -1.0);
    assert_true(p[1] == 1.0);
    assert_true(p[2] == -0.5);
    assert_true(g[0] == 3.0);
    so_optimizer_free(&opt);

    hp.clip_norm = 1.0;
    p[0] = p[1] = p[2] = 0.0;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 3, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    const double coef = 1.0 / (1.5 + 1e-6);
    assert_true(fabs(p[0] + coef) <= 1e-15);
    assert_true(fabs(p[1] - coef) <= 1e-15);
    assert_true(fabs(p[2] + 0.5 * coef) <= 1e-15);
    so_optimizer_free(&opt);
}

/* Decoupled decay works for every method; for SGD p1 = p0 (1 - lr wd) - lr g. */
static void decoupled_decay_for_sgd(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    so_optimizer *opt = NULL;
    double p = 2.0, g = 0.5;
    (void)state;
    hp.lr = 0.1;
    hp.weight_decay = 0.3;
    hp.decoupled_weight_decay = 1;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(fabs(p - (2.0 * (1.0 - 0.03) - 0.05)) <= 1e-15);
    so_optimizer_free(&opt);
}

typedef struct bad_case {
    const so_optim_type *const *type;
    const char *field;
    double value;
    const char *message;
} bad_case;

/* Writes the field directly, bypassing the checks of so_optim_params_set. */
static void set_field(so_optim_params *hp, const char *field, double value)
{
    if (strcmp(field, "nesterov") == 0)
        hp->nesterov = (int)value;
    else if (strcmp(field, "amsgrad") == 0)
        hp->amsgrad = (int)value;
    else if (strcmp(field, "maximize") == 0)
        hp->maximize = (int)value;
    else if (strcmp(field, "centered") == 0)
        hp->centered = (int)value;
    else if (strcmp(field, "decoupled_weight_decay") == 0)
        hp->decoupled_weight_decay = (int)value;
    else if (strcmp(field, "eps_placement") == 0)
        hp->eps_placement = (int)value;
    else if (so_optim_params_set(hp, field, value) != SO_OK)
        fail_msg("cannot set %s: %s", field, so_last_error());
}

static void invalid_hyperparameters_are_rejected_by_name(void **state)
{
    const bad_case cases[] = {
        {&so_optim_sgd, "lr", -0.1, "sgd: lr = -0.1 is invalid: expected a finite value >= 0"},
        {&so_optim_adam, "lr", NAN, "adam: lr = nan is invalid"},
        {&so_optim_adam, "lr", INFINITY, "adam: lr = inf is invalid"},
        {&so_optim_adam, "beta1", 1.0, "adam: beta1 = 1 is invalid: expected a value in [0, 1)"},
        {&so_optim_adam, "beta2", -0.5, "adam: beta2 = -0.5 is invalid"},
        {&so_optim_adam, "eps", -1e-8, "adam: eps = -1e-08 is invalid"},
        {&so_optim_adam, "weight_decay", -1.0, "adam: weight_decay = -1 is invalid"},
        {&so_optim_adam, "clip_norm", -2.0, "adam: clip_norm = -2 is invalid"},
        {&so_optim_adam, "amsgrad", 2.0, "adam: amsgrad = 2 is invalid: expected 0 (off) or 1"},
        {&so_optim_sgd, "momentum", -0.9, "sgd: momentum = -0.9 is invalid"},
        {&so_optim_sgd, "dampening", 1.5, "sgd: dampening = 1.5 is invalid: expected a value "
                                          "in [0, 1]"},
        {&so_optim_sgd, "maximize", -1.0, "sgd: maximize = -1 is invalid"},
        {&so_optim_sgd, "nesterov", 1.0, "Nesterov momentum needs momentum > 0"},
        {&so_optim_nesterov, "dampening", 0.5, "nesterov: nesterov = 1 with momentum = 0.9 "
                                               "and dampening = 0.5 is invalid"},
        {&so_optim_sgd, "clip_value", -1.0, "sgd: clip_value = -1 is invalid"},
        {&so_optim_adam, "eps_placement", 3.0, "adam: eps_placement = 3 is invalid: expected "
                                               "an integer from 0 to 2"},
        {&so_optim_sgd, "decoupled_weight_decay", 2.0, "sgd: decoupled_weight_decay = 2"},
        {&so_optim_rmsprop, "alpha", 1.5, "rmsprop: alpha = 1.5 is invalid: expected a value "
                                          "in [0, 1]"},
        {&so_optim_rmsprop, "centered", -1.0, "rmsprop: centered = -1 is invalid"},
        {&so_optim_rmsprop, "momentum", -0.5, "rmsprop: momentum = -0.5 is invalid"},
        {&so_optim_adadelta, "rho", 1.5, "adadelta: rho = 1.5 is invalid"},
        {&so_optim_adadelta, "eps", NAN, "adadelta: eps = nan is invalid"},
        {&so_optim_adagrad, "lr_decay", -1.0, "adagrad: lr_decay = -1 is invalid"},
        {&so_optim_adagrad, "initial_accumulator_value", -0.1,
         "adagrad: initial_accumulator_value = -0.1 is invalid"},
        {&so_optim_adagrad_norm, "eps", -1.0, "adagrad_norm: eps = -1 is invalid"},
        {&so_optim_diffgrad, "beta2", 1.0, "diffgrad: beta2 = 1 is invalid"},
        {&so_optim_adamw, "weight_decay", INFINITY, "adamw: weight_decay = inf is invalid"},
        {&so_optim_amsgrad, "beta1", -0.1, "amsgrad: beta1 = -0.1 is invalid"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        so_optim_params hp = so_optim_params_default(*cases[i].type);
        so_optimizer *opt = NULL;
        set_field(&hp, cases[i].field, cases[i].value);
        assert_int_equal(so_optimizer_new(*cases[i].type, 4, SO_F32, &hp, &opt),
                         SO_ERR_INVALID);
        assert_null(opt);
        if (strstr(so_last_error(), cases[i].message) == NULL)
            fail_msg("case %zu: detail \"%s\" lacks \"%s\"", i, so_last_error(),
                     cases[i].message);
    }
}

static void invalid_arguments_are_rejected(void **state)
{
    so_optimizer *opt = NULL;
    double x = 0.0;
    (void)state;
    assert_int_equal(so_optimizer_new(NULL, 4, SO_F32, NULL, &opt), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "type is NULL"));
    assert_int_equal(so_optimizer_new(so_optim_sgd, 0, SO_F32, NULL, &opt), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "n = 0"));
    assert_int_equal(so_optimizer_new(so_optim_sgd, 4, (so_precision)7, NULL, &opt),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "precision = 7"));
    assert_int_equal(so_optimizer_new(so_optim_sgd, 4, SO_F32, NULL, NULL), SO_ERR_INVALID);
    assert_int_equal(so_optimizer_new(so_optim_sgd, SIZE_MAX / 4, SO_F64, NULL, &opt),
                     SO_ERR_NOMEM);
    assert_non_null(strstr(so_last_error(), "overflow"));
    assert_null(opt);

    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F64, NULL, &opt), SO_OK);
    assert_int_equal(so_optimizer_step(opt, NULL, &x), SO_ERR_INVALID);
    assert_int_equal(so_optimizer_step(opt, &x, NULL), SO_ERR_INVALID);
    assert_int_equal(so_optimizer_step(NULL, &x, &x), SO_ERR_INVALID);
    so_optimizer_free(&opt);
    assert_null(opt);
    so_optimizer_free(&opt);
    so_optimizer_free(NULL);
}

static void methods_are_found_by_name(void **state)
{
    char list[256], small[6];
    (void)state;
    assert_ptr_equal(so_optim_type_find("sgd"), so_optim_sgd);
    assert_ptr_equal(so_optim_type_find("Adam"), so_optim_adam);
    assert_ptr_equal(so_optim_type_find("ADAGRAD_NORM"), so_optim_adagrad_norm);
    assert_ptr_equal(so_optim_type_find("diffgrad"), so_optim_diffgrad);
    assert_null(so_optim_type_find("adamx"));
    assert_null(so_optim_type_find(""));
    assert_null(so_optim_type_find(NULL));
    assert_string_equal(so_optim_type_name(so_optim_adam), "adam");
    so_optim_type_list(list, sizeof list);
    assert_string_equal(list, "sgd,adam,momentum,nesterov,adagrad,adagrad_norm,rmsprop,"
                              "adadelta,adamw,amsgrad,diffgrad");
    /* A short buffer gets whole names only. */
    so_optim_type_list(small, sizeof small);
    assert_string_equal(small, "sgd");
}

static void defaults_follow_torch(void **state)
{
    so_optim_params adam = so_optim_params_default(so_optim_adam);
    so_optim_params sgd = so_optim_params_default(so_optim_sgd);
    so_optim_params adagrad = so_optim_params_default(so_optim_adagrad);
    so_optim_params rmsprop = so_optim_params_default(so_optim_rmsprop);
    so_optim_params adadelta = so_optim_params_default(so_optim_adadelta);
    so_optim_params nesterov = so_optim_params_default(so_optim_nesterov);
    so_optim_params diffgrad = so_optim_params_default(so_optim_diffgrad);
    (void)state;
    assert_true(adam.lr == 1e-3);
    assert_true(adam.beta1 == 0.9);
    assert_true(adam.beta2 == 0.999);
    assert_true(adam.eps == 1e-8);
    assert_true(adam.weight_decay == 0.0);
    assert_true(adam.clip_norm == 0.0);
    assert_true(adam.clip_value == 0.0);
    assert_int_equal(adam.amsgrad, 0);
    assert_int_equal(adam.maximize, 0);
    assert_int_equal(adam.decoupled_weight_decay, 0);
    assert_int_equal(adam.eps_placement, SO_EPS_AFTER_CORRECTION);
    assert_true(sgd.lr == 0.01);
    assert_true(sgd.momentum == 0.0);
    assert_true(sgd.dampening == 0.0);
    assert_int_equal(sgd.nesterov, 0);
    assert_true(nesterov.momentum == 0.9);
    assert_int_equal(nesterov.nesterov, 1);
    assert_true(adagrad.lr == 1e-2);
    assert_true(adagrad.eps == 1e-10);
    assert_true(adagrad.lr_decay == 0.0);
    assert_true(adagrad.initial_accumulator_value == 0.0);
    assert_true(rmsprop.lr == 1e-2);
    assert_true(rmsprop.alpha == 0.99);
    assert_true(rmsprop.eps == 1e-8);
    assert_int_equal(rmsprop.centered, 0);
    assert_true(adadelta.lr == 1.0);
    assert_true(adadelta.rho == 0.9);
    assert_true(adadelta.eps == 1e-6);
    assert_true(diffgrad.lr == 1e-3);
    assert_true(diffgrad.eps == 1e-8);
}

/* Every name of so_optim_param_names can be set and read back; unknown names and values
 * a field cannot hold are rejected. */
static void hyperparameters_by_name(void **state)
{
    char names[512];
    so_optim_params hp = so_optim_params_default(so_optim_rmsprop);
    double value;
    (void)state;
    strcpy(names, so_optim_param_names());
    for (char *name = strtok(names, ","); name != NULL; name = strtok(NULL, ",")) {
        assert_int_equal(so_optim_params_set(&hp, name, 1.0), SO_OK);
        assert_int_equal(so_optim_params_get(&hp, name, &value), SO_OK);
        assert_true(value == 1.0);
    }
    assert_true(hp.rho == 1.0);
    assert_int_equal(hp.centered, 1);
    assert_int_equal(so_optim_params_set(&hp, "eps_placement", 2.0), SO_OK);
    assert_int_equal(hp.eps_placement, SO_EPS_INSIDE_SQRT);
    assert_int_equal(so_optim_params_set(&hp, "rh0", 0.9), SO_ERR_NOT_FOUND);
    assert_non_null(strstr(so_last_error(), "hyperparameter \"rh0\" is unknown: expected "
                                            "one of lr,"));
    assert_int_equal(so_optim_params_get(&hp, "", &value), SO_ERR_NOT_FOUND);
    assert_int_equal(so_optim_params_set(&hp, "centered", 0.5), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "centered = 0.5: expected 0 or 1"));
    assert_int_equal(so_optim_params_set(&hp, "eps_placement", 1.5), SO_ERR_INVALID);
    assert_int_equal(so_optim_params_set(&hp, "eps_placement", NAN), SO_ERR_INVALID);
    assert_int_equal(so_optim_params_set(NULL, "lr", 1.0), SO_ERR_INVALID);
    assert_string_equal(so_optim_type_params(so_optim_adadelta),
                        "lr,rho,eps,weight_decay,decoupled_weight_decay,maximize,clip_norm,"
                        "clip_value");
    assert_string_equal(so_optim_type_params(NULL), "");
}

static void learning_rate_can_be_changed(void **state)
{
    so_optimizer *opt = NULL;
    double p = 0.0, g = 1.0;
    (void)state;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 1, SO_F64, NULL, &opt), SO_OK);
    assert_true(so_optimizer_lr(opt) == 0.01);
    so_optimizer_set_lr(opt, 0.5);
    assert_true(so_optimizer_params(opt)->lr == 0.5);
    so_optimizer_set_lr(opt, -1.0);
    assert_non_null(strstr(so_last_error(), "lr = -1 ignored"));
    so_optimizer_set_lr(opt, NAN);
    assert_true(so_optimizer_lr(opt) == 0.5);
    assert_int_equal(so_optimizer_step(opt, &p, &g), SO_OK);
    assert_true(p == -0.5);
    assert_true(isnan(so_optimizer_lr(NULL)));
    assert_int_equal(so_optimizer_steps(NULL), 0);
    assert_null(so_optimizer_params(NULL));
    so_optimizer_free(&opt);
}

/* Chunked sums and per-element updates make the result independent of the thread count. */
static void result_independent_of_thread_count(void **state)
{
    const size_t n = 200003;
    float *g = malloc(n * sizeof *g), *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    so_optimizer *a = NULL, *b = NULL;
    (void)state;
    assert_non_null(g);
    assert_non_null(p1);
    assert_non_null(p2);
    for (size_t i = 0; i < n; i++) {
        g[i] = (float)sin((double)i) * 3.0f;
        p1[i] = p2[i] = (float)cos((double)i);
    }
    hp.clip_norm = 10.0;
    hp.amsgrad = 1;
    assert_int_equal(so_optimizer_new(so_optim_adam, n, SO_F32, &hp, &a), SO_OK);
    assert_int_equal(so_optimizer_new(so_optim_adam, n, SO_F32, &hp, &b), SO_OK);
    for (int t = 0; t < 3; t++) {
#ifdef _OPENMP
        omp_set_num_threads(1);
#endif
        assert_int_equal(so_optimizer_step(a, p1, g), SO_OK);
#ifdef _OPENMP
        omp_set_num_threads(3);
#endif
        assert_int_equal(so_optimizer_step(b, p2, g), SO_OK);
    }
    assert_memory_equal(p1, p2, n * sizeof *p1);
    so_optimizer_free(&a);
    so_optimizer_free(&b);
    free(g);
    free(p1);
    free(p2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nonfinite_gradient_never_reaches_the_weights),
        cmocka_unit_test(first_nonfinite_index_is_reported),
        cmocka_unit_test(clipping_scales_the_global_norm),
        cmocka_unit_test(value_clipping_precedes_norm_clipping),
        cmocka_unit_test(decoupled_decay_for_sgd),
        cmocka_unit_test(invalid_hyperparameters_are_rejected_by_name),
        cmocka_unit_test(invalid_arguments_are_rejected),
        cmocka_unit_test(methods_are_found_by_name),
        cmocka_unit_test(defaults_follow_torch),
        cmocka_unit_test(hyperparameters_by_name),
        cmocka_unit_test(learning_rate_can_be_changed),
        cmocka_unit_test(result_independent_of_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
