/* Model specs: accepted forms with their layer sizes and canonical descriptions, rejected
 * forms with their messages, and argument checks of the model calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/nn.h"

static void accepted_specs_build_expected_models(void **state)
{
    static const struct {
        const char *spec;
        size_t in, out, params;
        const char *canonical;
    } cases[] = {
        {"linear", 784, 10, 784 * 10 + 10, "linear"},
        {"mlp:256,128", 784, 10, 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
         "mlp:256,128:relu"},
        {"mlp:64:tanh", 20, 3, 20 * 64 + 64 + 64 * 3 + 3, "mlp:64:tanh"},
        {"mlp:32,32:sigmoid", 8, 2, 8 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2,
         "mlp:32,32:sigmoid"},
        {"mlp:7:relu", 3, 4, 3 * 7 + 7 + 7 * 4 + 4, "mlp:7:relu"},
        {"mlp:1048576", 1, 1, 3 * 1048576 + 1, "mlp:1048576:relu"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        so_model *m = NULL;
        char text[64];
        assert_int_equal(so_model_new(cases[i].spec, cases[i].in, cases[i].out, &m), SO_OK);
        assert_int_equal(so_model_num_params(m), cases[i].params);
        assert_int_equal(so_model_in_dim(m), cases[i].in);
        assert_int_equal(so_model_out_dim(m), cases[i].out);
        so_model_describe(m, text, sizeof text);
        assert_string_equal(text, cases[i].canonical);
        /* Parameters start at zero. */
        for (size_t k = 0; k < cases[i].params; k += 997)
            assert_true(so_model_params(m)[k] == 0.0f);
        so_model_free(&m);
        assert_null(m);
    }
}

static void malformed_specs_rejected_with_form(void **state)
{
    static const char *const bad[] = {
        "mlp:", "mlp:0", "mlp:12x", "conv:3", "mlp:99999999999999999999999999999",
        "mlp:1048577", "mlp:4,", "mlp:4,,4", "mlp:4:gelu", "mlp:4:", "", "MLP:4",
        "mlp:-4", "mlp: 4", "linear:3", "mlp", "mlp:4:relu:tanh",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        so_model *m = NULL;
        assert_int_equal(so_model_new(bad[i], 4, 2, &m), SO_ERR_INVALID);
        assert_null(m);
        assert_non_null(strstr(so_last_error(), bad[i]));
        assert_non_null(strstr(so_last_error(), "expected"));
    }
    assert_int_equal(so_model_new(NULL, 4, 2, &(so_model *){NULL}), SO_ERR_INVALID);
}

static void messages_name_the_bad_part(void **state)
{
    so_model *m = NULL;
    (void)state;
    assert_int_equal(so_model_new("mlp:12x", 4, 2, &m), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "'x'"));
    assert_int_equal(so_model_new("mlp:0", 4, 2, &m), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "1 .. 1048576"));
    assert_int_equal(so_model_new("mlp:4:gelu", 4, 2, &m), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "\"gelu\""));
    assert_int_equal(so_model_new("conv:3", 4, 2, &m), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "unknown model type"));
}

static void bad_dimensions_are_rejected(void **state)
{
    so_model *m = NULL;
    (void)state;
    assert_int_equal(so_model_new("linear", 0, 2, &m), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "in_dim is 0"));
    assert_int_equal(so_model_new("linear", 4, 0, &m), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "out_dim is 0"));
    assert_int_equal(so_model_new("mlp:8", (size_t)1 << 40, 2, &m), SO_ERR_INVALID);
    assert_null(m);
    assert_int_equal(so_model_new("linear", 4, 2, NULL), SO_ERR_INVALID);
}

static void labels_out_of_range_name_the_row(void **state)
{
    so_model *m = NULL;
    float x[3 * 2] = {0};
    const int32_t high[3] = {0, 1, 3}, negative[3] = {-1, 0, 0};
    double loss = 0.0, sum = 0.0;
    size_t correct = 0;
    (void)state;
    assert_int_equal(so_model_new("mlp:4", 2, 3, &m), SO_OK);
    assert_int_equal(so_model_loss_grad(m, x, high, 3, &loss), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "labels[2] is 3"));
    assert_non_null(strstr(so_last_error(), "[0, 3)"));
    assert_int_equal(so_model_evaluate(m, x, negative, 3, &sum, &correct), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "labels[0] is -1"));
    assert_true(sum == 0.0);
    assert_int_equal(correct, 0);
    so_model_free(&m);
}

static void null_and_empty_arguments_are_rejected(void **state)
{
    so_model *m = NULL;
    float x[2] = {0}, logits[3];
    const int32_t labels[1] = {0};
    double loss, sum = 0.0, params[1] = {0}, grads[1];
    size_t correct = 0;
    (void)state;
    assert_int_equal(so_model_new("mlp:4", 2, 3, &m), SO_OK);
    assert_int_equal(so_model_forward(NULL, x, 1, logits), SO_ERR_INVALID);
    assert_int_equal(so_model_forward(m, NULL, 1, logits), SO_ERR_INVALID);
    assert_int_equal(so_model_forward(m, x, 1, NULL), SO_ERR_INVALID);
    assert_int_equal(so_model_forward(m, x, 0, logits), SO_OK);
    assert_int_equal(so_model_loss_grad(m, x, labels, 0, &loss), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "batch is 0"));
    assert_int_equal(so_model_loss_grad(m, x, NULL, 1, &loss), SO_ERR_INVALID);
    assert_int_equal(so_model_loss_grad(m, x, labels, 1, NULL), SO_ERR_INVALID);
    assert_int_equal(so_model_evaluate(m, x, labels, 0, &sum, &correct), SO_OK);
    assert_int_equal(so_model_evaluate(m, x, labels, 1, NULL, &correct), SO_ERR_INVALID);
    assert_int_equal(so_model_loss_grad_f64(m, NULL, NULL, labels, 1, &loss, grads),
                     SO_ERR_INVALID);
    assert_int_equal(so_model_loss_grad_f64(m, params, NULL, labels, 0, &loss, grads),
                     SO_ERR_INVALID);
    assert_int_equal(so_model_init(NULL, SO_INIT_AUTO, 0), SO_ERR_INVALID);
    assert_int_equal(so_model_init(m, (so_init)7, 0), SO_ERR_INVALID);
    assert_int_equal(so_model_num_params(NULL), 0);
    assert_null(so_model_params(NULL));
    so_model_free(&m);
    so_model_free(&m);
    so_model_free(NULL);
}

static void describe_truncates_safely(void **state)
{
    so_model *m = NULL;
    char small[8];
    (void)state;
    assert_int_equal(so_model_new("mlp:256,128", 4, 2, &m), SO_OK);
    memset(small, 'z', sizeof small);
    so_model_describe(m, small, sizeof small);
    assert_string_equal(small, "mlp:256");
    so_model_describe(m, small, 0);
    so_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_specs_build_expected_models),
        cmocka_unit_test(malformed_specs_rejected_with_form),
        cmocka_unit_test(messages_name_the_bad_part),
        cmocka_unit_test(bad_dimensions_are_rejected),
        cmocka_unit_test(labels_out_of_range_name_the_row),
        cmocka_unit_test(null_and_empty_arguments_are_rejected),
        cmocka_unit_test(describe_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
