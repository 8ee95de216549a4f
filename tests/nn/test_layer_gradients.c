/* Each layer on its own: the double-precision backward pass against central finite
 * differences of the double forward pass, and the float passes (SGEMM and the fused
 * bias-activation epilogue) against the double ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/layer.h"
#include "nn/nn_test_util.h"

enum { BATCHES = 3 };
static const size_t batch_sizes[BATCHES] = {1, 3, 8};
static const double fd_step = 1e-6;

static void free_all(void **pointers, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(pointers[i]);
}

static so_layer make_layer(const so_layer_ops *ops, size_t in, size_t out,
                           const so_layer_ops *epilogue)
{
    so_layer l = {.ops = ops, .in = in, .out = out, .param_offset = 0,
                  .epilogue = epilogue, .fused = 0};
    return l;
}

/* The scalar whose derivatives are checked: sum over y of r * y for a fixed random r. */
static double projected_output(const so_layer *l, const double *p, const double *x,
                               size_t batch, const double *r, double *y)
{
    double s = 0.0;
    l->ops->forward_f64(l, p, x, batch, y);
    for (size_t i = 0; i < batch * l->out; i++)
        s += r[i] * y[i];
    return s;
}

/* Replaces each v[i] by the central difference of the projected output along v[i]. */
static void central_differences(const so_layer *l, double *p, double *x, size_t batch,
                                const double *r, double *y, double *v, size_t n, double *fd)
{
    for (size_t i = 0; i < n; i++) {
        const double saved = v[i];
        v[i] = saved + fd_step;
        double up = projected_output(l, p, x, batch, r, y);
        v[i] = saved - fd_step;
        double down = projected_output(l, p, x, batch, r, y);
        v[i] = saved;
        fd[i] = (up - down) / (2.0 * fd_step);
    }
}

/* Checks backward_f64 of one layer against finite differences for every batch size. */
static void check_layer_f64(const so_layer *l, uint64_t seed)
{
    const size_t np = l->ops->num_params(l->in, l->out);
    so_rng rng;

    so_rng_init(&rng, seed, 1);
    for (int b = 0; b < BATCHES; b++) {
        const size_t batch = batch_sizes[b], nx = batch * l->in, ny = batch * l->out;
        double *p = calloc(np + 1, sizeof *p), *grads = calloc(np + 1, sizeof *grads);
        double *fd_p = calloc(np + 1, sizeof *fd_p), *x = calloc(nx, sizeof *x);
        double *dx = calloc(nx, sizeof *dx), *fd_x = calloc(nx, sizeof *fd_x);
        double *r = calloc(ny, sizeof *r), *y = calloc(ny, sizeof *y);

        fill_uniform(&rng, p, np, -1.0, 1.0);
        fill_uniform(&rng, x, nx, -2.0, 2.0);
        fill_uniform(&rng, r, ny, -1.0, 1.0);
        l->ops->forward_f64(l, p, x, batch, y);
        l->ops->backward_f64(l, p, x, y, r, batch, grads, dx);
        central_differences(l, p, x, batch, r, y, p, np, fd_p);
        central_differences(l, p, x, batch, r, y, x, nx, fd_x);
        if (np > 0)
            assert_true(max_relative_error(grads, fd_p, np, 1e-3) < 1e-6);
        assert_true(max_relative_error(dx, fd_x, nx, 1e-3) < 1e-6);
        void *owned[] = {p, grads, fd_p, x, dx, fd_x, r, y};
        free_all(owned, sizeof owned / sizeof owned[0]);
    }
}

static void linear_backward_matches_finite_differences(void **state)
{
    so_layer l = make_layer(&so_layer_linear_ops_, 5, 4, &so_layer_identity_ops_);
    (void)state;
    check_layer_f64(&l, 11);
}

static void activation_backward_matches_finite_differences(void **state)
{
    const so_layer_ops *acts[3] = {&so_layer_relu_ops_, &so_layer_tanh_ops_,
                                   &so_layer_sigmoid_ops_};
    (void)state;
    for (int a = 0; a < 3; a++) {
        so_layer l = make_layer(acts[a], 6, 6, NULL);
        check_layer_f64(&l, 20 + (uint64_t)a);
    }
}

/* Runs the float layer, with the given epilogue for a linear layer, and compares its
 * output and gradients with the double passes of the layer followed by the epilogue's
 * activation as a separate layer. */
static void check_float_against_f64(const so_layer_ops *ops, const so_layer_ops *epilogue,
                                    size_t in, size_t out, size_t batch, uint64_t seed)
{
    const int is_linear = ops == &so_layer_linear_ops_;
    so_layer l = make_layer(ops, in, out, is_linear ? epilogue : NULL);
    so_layer act = make_layer(epilogue, out, out, NULL);
    const size_t np = ops->num_params(in, out), nx = batch * in, ny = batch * out;
    double *p = calloc(np + 1, sizeof *p), *x = calloc(nx, sizeof *x);
    double *pre = calloc(ny, sizeof *pre), *y = calloc(ny, sizeof *y);
    double *r = calloc(ny, sizeof *r), *dpre = calloc(ny, sizeof *dpre);
    double *grads = calloc(np + 1, sizeof *grads), *dx = calloc(nx, sizeof *dx);
    float *pf = calloc(np + 1, sizeof *pf), *xf = calloc(nx, sizeof *xf);
    float *yf = calloc(ny, sizeof *yf), *rf = calloc(ny, sizeof *rf);
    float *gradsf = calloc(np + 1, sizeof *gradsf), *dxf = calloc(nx, sizeof *dxf);
    double *back = calloc(np + nx + ny + 1, sizeof *back);
    so_rng rng;

    so_rng_init(&rng, seed, 2);
    fill_uniform(&rng, p, np, -1.0, 1.0);
    fill_uniform(&rng, x, nx, -2.0, 2.0);
    fill_uniform(&rng, r, ny, -1.0, 1.0);
    to_float(p, pf, np);
    to_float(x, xf, nx);
    to_float(r, rf, ny);
    /* Reference: the layer, then (for a linear layer) the epilogue as its own layer. */
    ops->forward_f64(&l, p, x, batch, is_linear ? pre : y);
    if (is_linear) {
        act.ops->forward_f64(&act, NULL, pre, batch, y);
        act.ops->backward_f64(&act, NULL, pre, y, r, batch, NULL, dpre);
    } else {
        memcpy(dpre, r, ny * sizeof *r);
    }
    ops->backward_f64(&l, p, x, is_linear ? pre : y, dpre, batch, grads, dx);

    ops->forward(&l, pf, xf, batch, yf);
    ops->backward(&l, pf, xf, yf, rf, batch, gradsf, dxf);
    to_double(yf, back, ny);
    assert_true(max_relative_error(back, y, ny, 1e-2) < 1e-5);
    to_double(gradsf, back, np);
    if (np > 0)
        assert_true(max_relative_error(back, grads, np, 1e-2) < 1e-4);
    to_double(dxf, back, nx);
    assert_true(max_relative_error(back, dx, nx, 1e-2) < 1e-4);
    void *owned[] = {p, x, pre, y, r, dpre, grads, dx, pf, xf, yf, rf, gradsf, dxf, back};
    free_all(owned, sizeof owned / sizeof owned[0]);
}

static void fused_linear_epilogues_match_f64(void **state)
{
    const so_layer_ops *epilogues[4] = {&so_layer_identity_ops_, &so_layer_relu_ops_,
                                        &so_layer_tanh_ops_, &so_layer_sigmoid_ops_};
    (void)state;
    for (int e = 0; e < 4; e++)
        for (int b = 0; b < BATCHES; b++)
            check_float_against_f64(&so_layer_linear_ops_, epilogues[e], 7, 5,
                                    batch_sizes[b], 100 + (uint64_t)(4 * e + b));
    /* Sizes past SGEMM's blocking, where its kernels take other paths. */
    check_float_against_f64(&so_layer_linear_ops_, &so_layer_relu_ops_, 300, 70, 33, 200);
}

static void float_activations_match_f64(void **state)
{
    const so_layer_ops *acts[3] = {&so_layer_relu_ops_, &so_layer_tanh_ops_,
                                   &so_layer_sigmoid_ops_};
    (void)state;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < BATCHES; b++)
            check_float_against_f64(acts[a], acts[a], 9, 9, batch_sizes[b],
                                    300 + (uint64_t)(4 * a + b));
}

/* The first layer of a model passes dx = NULL; the parameter gradient must not change. */
static void linear_backward_skipping_dx_keeps_grads(void **state)
{
    so_layer l = make_layer(&so_layer_linear_ops_, 6, 4, &so_layer_tanh_ops_);
    float p[28], x[18], y[12], dy1[12], dy2[12], g1[28], g2[28], dx[18];
    so_rng rng;
    (void)state;
    so_rng_init(&rng, 3, 0);
    for (size_t i = 0; i < 28; i++)
        p[i] = so_rng_uniform_f(&rng) - 0.5f;
    for (size_t i = 0; i < 18; i++)
        x[i] = so_rng_uniform_f(&rng) - 0.5f;
    for (size_t i = 0; i < 12; i++)
        dy1[i] = dy2[i] = so_rng_uniform_f(&rng) - 0.5f;
    so_layer_linear_ops_.forward(&l, p, x, 3, y);
    so_layer_linear_ops_.backward(&l, p, x, y, dy1, 3, g1, dx);
    so_layer_linear_ops_.backward(&l, p, x, y, dy2, 3, g2, NULL);
    assert_memory_equal(g1, g2, sizeof g1);
}

static void layer_tables_describe_their_kinds(void **state)
{
    (void)state;
    assert_ptr_equal(so_layer_ops_for_(SO_LAYER_LINEAR), &so_layer_linear_ops_);
    assert_ptr_equal(so_layer_ops_for_(SO_LAYER_RELU), &so_layer_relu_ops_);
    assert_ptr_equal(so_layer_ops_for_(SO_LAYER_TANH), &so_layer_tanh_ops_);
    assert_ptr_equal(so_layer_ops_for_(SO_LAYER_SIGMOID), &so_layer_sigmoid_ops_);
    assert_int_equal(so_layer_linear_ops_.num_params(784, 256), 784 * 256 + 256);
    assert_int_equal(so_layer_relu_ops_.num_params(256, 256), 0);
    assert_null(so_layer_linear_ops_.apply);
    assert_non_null(so_layer_sigmoid_ops_.derive);
    assert_string_equal(so_layer_tanh_ops_.name, "tanh");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_backward_matches_finite_differences),
        cmocka_unit_test(activation_backward_matches_finite_differences),
        cmocka_unit_test(fused_linear_epilogues_match_f64),
        cmocka_unit_test(float_activations_match_f64),
        cmocka_unit_test(linear_backward_skipping_dx_keeps_grads),
        cmocka_unit_test(layer_tables_describe_their_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
