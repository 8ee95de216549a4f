/* Whole-model gradients: the double reference against central finite differences for
 * every activation and several batch sizes, the float path against the reference, and
 * workspace reuse across batch sizes against fresh models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/model.h"
#include "nn/nn_test_util.h"
#include "stochopt/nn.h"

enum { IN_DIM = 5, OUT_DIM = 3, SPECS = 5, BATCHES = 3 };
static const char *const specs[SPECS] = {"linear", "mlp:4,3", "mlp:5:tanh", "mlp:4,3:sigmoid",
                                         "mlp:6:relu"};
static const size_t batch_sizes[BATCHES] = {1, 4, 9};

/* A random problem for one model: parameters, inputs and labels. */
typedef struct problem {
    so_model *model;
    size_t np, batch;
    double *params, *x;
    int32_t *labels;
} problem;

static problem make_problem(const char *spec, size_t batch, uint64_t seed)
{
    problem pr = {.batch = batch};
    so_rng rng;

    assert_int_equal(so_model_new(spec, IN_DIM, OUT_DIM, &pr.model), SO_OK);
    pr.np = so_model_num_params(pr.model);
    pr.params = calloc(pr.np, sizeof *pr.params);
    pr.x = calloc(batch * IN_DIM, sizeof *pr.x);
    pr.labels = calloc(batch, sizeof *pr.labels);
    assert_non_null(pr.params);
    so_rng_init(&rng, seed, 0);
    fill_uniform(&rng, pr.params, pr.np, -1.0, 1.0);
    fill_uniform(&rng, pr.x, batch * IN_DIM, -2.0, 2.0);
    for (size_t i = 0; i < batch; i++)
        pr.labels[i] = (int32_t)so_rng_below(&rng, OUT_DIM);
    return pr;
}

static void free_problem(problem *pr)
{
    so_model_free(&pr->model);
    free(pr->params);
    free(pr->x);
    free(pr->labels);
}

static double loss_at(const problem *pr, double *scratch)
{
    double loss = 0.0;
    assert_int_equal(so_model_loss_grad_f64(pr->model, pr->params, pr->x, pr->labels,
                                            pr->batch, &loss, scratch), SO_OK);
    return loss;
}

/* Root-mean-square error of got against want, relative to the norm of want. */
static double norm_relative_error(const double *got, const double *want, size_t n)
{
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < n; i++) {
        diff += (got[i] - want[i]) * (got[i] - want[i]);
        norm += want[i] * want[i];
    }
    return sqrt(diff / norm);
}

static void model_f64_gradient_matches_finite_differences(void **state)
{
    const double h = 1e-6;
    double worst_norm = 0.0, worst_entry = 0.0;
    (void)state;
    for (int s = 0; s < SPECS; s++)
        for (int b = 0; b < BATCHES; b++) {
            problem pr = make_problem(specs[s], batch_sizes[b], 10 + (uint64_t)(s * 4 + b));
            double *grads = calloc(pr.np, sizeof *grads), *fd = calloc(pr.np, sizeof *fd);
            double *scratch = calloc(pr.np, sizeof *scratch), loss;

            assert_int_equal(so_model_loss_grad_f64(pr.model, pr.params, pr.x, pr.labels,
                                                    pr.batch, &loss, grads), SO_OK);
            for (size_t i = 0; i < pr.np; i++) {
                const double saved = pr.params[i];
                pr.params[i] = saved + h;
                double up = loss_at(&pr, scratch);
                pr.params[i] = saved - h;
                double down = loss_at(&pr, scratch);
                pr.params[i] = saved;
                fd[i] = (up - down) / (2.0 * h);
            }
            double e_norm = norm_relative_error(grads, fd, pr.np);
            double e_entry = max_relative_error(grads, fd, pr.np, 1e-2);
            worst_norm = e_norm > worst_norm ? e_norm : worst_norm;
            worst_entry = e_entry > worst_entry ? e_entry : worst_entry;
            assert_true(e_norm < 1e-6);
            assert_true(e_entry < 1e-6);
            free(grads);
            free(fd);
            free(scratch);
            free_problem(&pr);
        }
    print_message("worst relative error against finite differences: %.2e (norm), %.2e "
                  "(entry)\n", worst_norm, worst_entry);
}

/* Runs the float path on the float-rounded problem and the reference on the same
 * rounded values, so the two differ only by float arithmetic. */
static void float_gradient_matches_f64_reference(void **state)
{
    double worst = 0.0;
    (void)state;
    for (int s = 0; s < SPECS; s++)
        for (int b = 0; b < BATCHES; b++) {
            problem pr = make_problem(specs[s], batch_sizes[b], 50 + (uint64_t)(s * 4 + b));
            const size_t nx = pr.batch * IN_DIM;
            float *xf = calloc(nx, sizeof *xf);
            double *grads = calloc(pr.np, sizeof *grads), *got = calloc(pr.np, sizeof *got);
            double loss64, loss32;

            to_float(pr.params, so_model_params(pr.model), pr.np);
            to_double(so_model_params(pr.model), pr.params, pr.np);
            to_float(pr.x, xf, nx);
            to_double(xf, pr.x, nx);
            assert_int_equal(so_model_loss_grad_f64(pr.model, pr.params, pr.x, pr.labels,
                                                    pr.batch, &loss64, grads), SO_OK);
            assert_int_equal(so_model_loss_grad(pr.model, xf, pr.labels, pr.batch, &loss32),
                             SO_OK);
            to_double(so_model_grads(pr.model), got, pr.np);
            assert_true(fabs(loss32 - loss64) <= 1e-5 * fabs(loss64));
            double err = max_relative_error(got, grads, pr.np, 1e-2);
            worst = err > worst ? err : worst;
            assert_true(err < 1e-4);
            free(xf);
            free(grads);
            free(got);
            free_problem(&pr);
        }
    print_message("worst relative error of float gradients against f64: %.2e\n", worst);
}

/* Runs so_model_loss_grad on the first `batch` rows and copies out loss and gradient. */
static void step(so_model *m, const float *x, const int32_t *labels, size_t batch,
                 double *loss, float *grads)
{
    assert_int_equal(so_model_loss_grad(m, x, labels, batch, loss), SO_OK);
    memcpy(grads, so_model_grads(m), so_model_num_params(m) * sizeof *grads);
}

static so_model *new_initialized(const char *spec, size_t in, size_t out)
{
    so_model *m = NULL;
    assert_int_equal(so_model_new(spec, in, out, &m), SO_OK);
    assert_int_equal(so_model_init(m, SO_INIT_AUTO, 77), SO_OK);
    return m;
}

static void reused_workspace_matches_fresh_model(void **state)
{
    enum { IN = 12, OUT = 5, MAX_BATCH = 40 };
    float x[MAX_BATCH * IN];
    int32_t labels[MAX_BATCH];
    so_model *reused = new_initialized("mlp:16,8", IN, OUT);
    const size_t np = so_model_num_params(reused);
    float *g_reused = calloc(np, sizeof *g_reused), *g_fresh = calloc(np, sizeof *g_fresh);
    double l_reused, l_fresh;
    so_rng rng;
    (void)state;
    so_rng_init(&rng, 5, 0);
    for (size_t i = 0; i < MAX_BATCH * IN; i++)
        x[i] = 2.0f * so_rng_uniform_f(&rng) - 1.0f;
    for (size_t i = 0; i < MAX_BATCH; i++)
        labels[i] = (int32_t)so_rng_below(&rng, OUT);

    /* Small, smaller, then larger: the last grows the workspace. */
    const size_t order[4] = {7, 3, MAX_BATCH, 3};
    for (int k = 0; k < 4; k++) {
        so_model *fresh = new_initialized("mlp:16,8", IN, OUT);
        step(reused, x, labels, order[k], &l_reused, g_reused);
        step(fresh, x, labels, order[k], &l_fresh, g_fresh);
        assert_true(l_reused == l_fresh);
        assert_memory_equal(g_reused, g_fresh, np * sizeof *g_reused);
        so_model_free(&fresh);
    }
    /* Once grown, smaller batches keep the same block. */
    const float *block = reused->workspace;
    assert_int_equal(reused->capacity, MAX_BATCH);
    step(reused, x, labels, 10, &l_reused, g_reused);
    assert_ptr_equal(reused->workspace, block);
    free(g_reused);
    free(g_fresh);
    so_model_free(&reused);
}

/* Forward, evaluate and the training step see the same logits, and repeated steps give
 * bitwise the same results. */
static void passes_agree_and_repeat_exactly(void **state)
{
    enum { IN = 10, OUT = 4, BATCH = 17 };
    float x[BATCH * IN], logits[BATCH * OUT];
    int32_t labels[BATCH];
    so_model *m = new_initialized("mlp:32,16:tanh", IN, OUT);
    const size_t np = so_model_num_params(m);
    float *g1 = calloc(np, sizeof *g1), *g2 = calloc(np, sizeof *g2);
    double loss1, loss2, loss_sum = 0.0;
    size_t correct = 0, argmax_hits = 0;
    so_rng rng;
    (void)state;
    so_rng_init(&rng, 8, 0);
    for (size_t i = 0; i < BATCH * IN; i++)
        x[i] = so_rng_uniform_f(&rng);
    for (size_t i = 0; i < BATCH; i++)
        labels[i] = (int32_t)so_rng_below(&rng, OUT);
    step(m, x, labels, BATCH, &loss1, g1);
    step(m, x, labels, BATCH, &loss2, g2);
    assert_true(loss1 == loss2);
    assert_memory_equal(g1, g2, np * sizeof *g1);
    assert_int_equal(so_model_evaluate(m, x, labels, BATCH, &loss_sum, &correct), SO_OK);
    assert_true(fabs(loss_sum / BATCH - loss1) <= 1e-12 * loss1);
    assert_int_equal(so_model_forward(m, x, BATCH, logits), SO_OK);
    for (size_t i = 0; i < BATCH; i++) {
        size_t best = 0;
        for (size_t j = 1; j < OUT; j++)
            best = logits[i * OUT + j] > logits[i * OUT + best] ? j : best;
        argmax_hits += best == (size_t)labels[i];
    }
    assert_int_equal(correct, argmax_hits);
    free(g1);
    free(g2);
    so_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_f64_gradient_matches_finite_differences),
        cmocka_unit_test(float_gradient_matches_f64_reference),
        cmocka_unit_test(reused_workspace_matches_fresh_model),
        cmocka_unit_test(passes_agree_and_repeat_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
