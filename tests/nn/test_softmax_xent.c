/* Softmax cross-entropy: finite and correct on logits of magnitude 1e4, its gradient
 * against finite differences, and so_model_evaluate on a hand-made linear model. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nn/layer.h"
#include "nn/nn_test_util.h"
#include "stochopt/nn.h"

/* Row 0 is certain and right (loss 0), row 1 certain and wrong by 2e4 (loss 2e4), row 2
 * a tie between two classes (loss log 2). */
static const double huge_logits[9] = {1e4, -1e4, 5e3, -1e4, 1e4, 0.0, 3e4, 3e4, -3e4};
static const int32_t huge_labels[3] = {0, 0, 1};
static const double huge_grad[9] = {0.0, 0.0, 0.0, -1.0 / 3, 1.0 / 3, 0.0,
                                    1.0 / 6, -1.0 / 6, 0.0};

static void huge_logits_give_exact_finite_loss(void **state)
{
    const double expected = 2e4 + log(2.0);
    float zf[9], gf[9];
    double g[9], got;
    (void)state;
    got = so_softmax_xent_f64_(huge_logits, huge_labels, 3, 3, 1.0 / 3, g);
    assert_true(fabs(got - expected) < 1e-12 * expected);
    for (int i = 0; i < 9; i++)
        assert_true(fabs(g[i] - huge_grad[i]) < 1e-15);

    to_float(huge_logits, zf, 9);
    got = so_softmax_xent_(zf, huge_labels, 3, 3, 1.0f / 3, gf);
    assert_true(isfinite(got));
    assert_true(fabs(got - expected) < 1e-9 * expected);
    for (int i = 0; i < 9; i++)
        assert_true(fabsf(gf[i] - (float)huge_grad[i]) < 1e-7f);
    /* Without a gradient buffer the loss is the same. */
    assert_true(so_softmax_xent_(zf, huge_labels, 3, 3, 0.0f, NULL) == got);
}

/* A linear model whose weights make the logits of magnitude 1e4 trains without
 * overflow: the loss and every gradient entry stay finite. */
static void model_step_is_finite_on_huge_logits(void **state)
{
    so_model *m = NULL;
    const float x[2] = {1.0f, -1.0f};
    const int32_t labels[2] = {1, 2};
    double loss;
    (void)state;
    assert_int_equal(so_model_new("linear", 1, 3, &m), SO_OK);
    memcpy(so_model_params(m), (const float[6]){1e4f, -1e4f, 0.0f, 0.0f, 0.0f, 0.0f},
           6 * sizeof(float));
    assert_int_equal(so_model_loss_grad(m, x, labels, 2, &loss), SO_OK);
    /* Row 0: logits (1e4, -1e4, 0), label 1: loss 2e4. Row 1: (-1e4, 1e4, 0), label 2:
     * loss 1e4. Mean 1.5e4. */
    assert_true(fabs(loss - 1.5e4) < 1e-3);
    for (int i = 0; i < 6; i++)
        assert_true(isfinite(so_model_grads(m)[i]));
    so_model_free(&m);
}

static void gradient_matches_finite_differences(void **state)
{
    enum { ROWS = 4, CLASSES = 5, N = ROWS * CLASSES };
    const double h = 1e-6;
    double z[N], g[N], fd[N];
    int32_t labels[ROWS];
    float zf[N], gf[N];
    double gfd[N];
    so_rng rng;
    (void)state;
    so_rng_init(&rng, 9, 0);
    fill_uniform(&rng, z, N, -3.0, 3.0);
    for (int i = 0; i < ROWS; i++)
        labels[i] = (int32_t)so_rng_below(&rng, CLASSES);
    so_softmax_xent_f64_(z, labels, ROWS, CLASSES, 1.0 / ROWS, g);
    for (int i = 0; i < N; i++) {
        const double saved = z[i];
        z[i] = saved + h;
        double up = so_softmax_xent_f64_(z, labels, ROWS, CLASSES, 0.0, NULL);
        z[i] = saved - h;
        double down = so_softmax_xent_f64_(z, labels, ROWS, CLASSES, 0.0, NULL);
        z[i] = saved;
        fd[i] = (up - down) / (2.0 * h) / ROWS;
    }
    assert_true(max_relative_error(g, fd, N, 1e-2) < 1e-6);
    /* The float pass agrees to float precision. */
    to_float(z, zf, N);
    to_double(zf, z, N);
    so_softmax_xent_f64_(z, labels, ROWS, CLASSES, 1.0 / ROWS, g);
    so_softmax_xent_(zf, labels, ROWS, CLASSES, 1.0f / ROWS, gf);
    to_double(gf, gfd, N);
    assert_true(max_relative_error(gfd, g, N, 1e-2) < 1e-5);
}

/* Logits = x W^T + b with W = [[1, 0], [0, 1], [-1, -1]], b = (0, 0, 0.5). */
static void evaluate_counts_hand_made_predictions(void **state)
{
    enum { ROWS = 6 };
    static const float params[9] = {1, 0, 0, 1, -1, -1, 0, 0, 0.5f};
    static const float x[ROWS * 2] = {2, 0, 0, 3, -1, -1, 1, 0.5f, 0, 0, 1, 1};
    /* Logits per row, and the argmax (the first on ties):
     * (2, 0, -1.5) -> 0, (0, 3, -2.5) -> 1, (-1, -1, 2.5) -> 2, (1, 0.5, -1) -> 0,
     * (0, 0, 0.5) -> 2, (1, 1, -1.5) -> 0 (tie with 1). */
    static const double logits[ROWS * 3] = {2, 0, -1.5, 0, 3, -2.5, -1, -1, 2.5,
                                            1, 0.5, -1, 0, 0, 0.5, 1, 1, -1.5};
    static const int32_t labels[ROWS] = {0, 1, 0, 0, 1, 1};
    double expected = 1.5, loss_sum = 1.5;
    size_t correct = 4;
    float out[ROWS * 3];
    so_model *m = NULL;
    (void)state;
    assert_int_equal(so_model_new("linear", 2, 3, &m), SO_OK);
    memcpy(so_model_params(m), params, sizeof params);
    for (int i = 0; i < ROWS; i++) {
        const double *row = logits + 3 * i;
        expected += log(exp(row[0]) + exp(row[1]) + exp(row[2])) - row[labels[i]];
    }
    /* Both sums accumulate onto what the caller passes in. */
    assert_int_equal(so_model_evaluate(m, x, labels, ROWS, &loss_sum, &correct), SO_OK);
    assert_int_equal(correct, 4 + 3);
    assert_true(fabs(loss_sum - expected) < 1e-6);
    assert_int_equal(so_model_forward(m, x, ROWS, out), SO_OK);
    for (int i = 0; i < ROWS * 3; i++)
        assert_true(out[i] == (float)logits[i]);
    so_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(huge_logits_give_exact_finite_loss),
        cmocka_unit_test(model_step_is_finite_on_huge_logits),
        cmocka_unit_test(gradient_matches_finite_differences),
        cmocka_unit_test(evaluate_counts_hand_made_predictions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
