/* Times the training step of an MLP at one BLAS thread and compares its FLOP rate with a
 * plain large SGEMM on the same machine.
 *
 * Usage: bench_nn [spec [batch [steps]]], default "mlp:256,128" 128 500, on
 * Fashion-MNIST-shaped data (784 inputs, 10 classes, random pixels in [0, 1)).
 * Build: cc -O2 -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread
 *        bench/bench_nn.c build/libstochopt.a -lopenblas -llapacke -lz -fopenmp -lm */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "stochopt/nn.h"

enum { IN_DIM = 784, CLASSES = 10, GEMM_N = 2048 };

/* Multiply-adds of one training step counted as 2 FLOPs: every linear layer's forward
 * product and weight gradient, and the input gradient of every layer but the first. */
static double step_flops(const so_model *m, size_t batch)
{
    char spec[256];
    size_t widths[70], n = 0, prev = IN_DIM;
    double flops = 0.0;
    const char *p;

    so_model_describe(m, spec, sizeof spec);
    for (p = spec; *p && *p != ':'; p++)
        ;
    while (*p == ':' || *p == ',') {
        char *end;
        unsigned long w = strtoul(p + 1, &end, 10);
        if (end == p + 1)
            break;
        widths[n++] = w;
        p = end;
    }
    widths[n++] = CLASSES;
    for (size_t k = 0; k < n; k++) {
        const double mac = (double)batch * (double)prev * (double)widths[k];
        flops += 2.0 * mac * (k == 0 ? 2.0 : 3.0);
        prev = widths[k];
    }
    return flops;
}

static double large_sgemm_gflops(void)
{
    float *a = calloc((size_t)GEMM_N * GEMM_N, sizeof *a);
    float *b = calloc((size_t)GEMM_N * GEMM_N, sizeof *b);
    float *c = calloc((size_t)GEMM_N * GEMM_N, sizeof *c);
    double best = 0.0;

    for (size_t i = 0; i < (size_t)GEMM_N * GEMM_N; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    for (int r = 0; r < 4; r++) {
        double t0 = so_time_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, GEMM_N, GEMM_N, GEMM_N, 1.0f,
                    a, GEMM_N, b, GEMM_N, 0.0f, c, GEMM_N);
        double gf = 2.0 * GEMM_N * GEMM_N * (double)GEMM_N / (so_time_now() - t0) * 1e-9;
        best = gf > best ? gf : best;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

int main(int argc, char **argv)
{
    const char *spec = argc > 1 ? argv[1] : "mlp:256,128";
    const size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 128;
    const long steps = argc > 3 ? strtol(argv[3], NULL, 10) : 500;
    float *x = malloc(batch * IN_DIM * sizeof *x);
    int32_t *labels = malloc(batch * sizeof *labels);
    so_model *m = NULL;
    double loss = 0.0, best = 1e30, grad_total = 0.0, step_total = 0.0;
    so_rng rng;

    openblas_set_num_threads(1);
    if (so_model_new(spec, IN_DIM, CLASSES, &m) != SO_OK || so_model_init(m, SO_INIT_AUTO, 0)) {
        fprintf(stderr, "bench_nn: %s\n", so_last_error());
        return 1;
    }
    so_rng_init(&rng, 1, 0);
    for (size_t i = 0; i < batch * IN_DIM; i++)
        x[i] = so_rng_uniform_f(&rng);
    for (size_t i = 0; i < batch; i++)
        labels[i] = (int32_t)so_rng_below(&rng, CLASSES);

    /* Warm-up allocates the workspace and the BLAS buffers. Each step is a training step:
     * loss and gradient (timed on its own as forward + backward) and a plain SGD update,
     * so the parameters move as in training. */
    float *params = so_model_params(m);
    const float *grads = so_model_grads(m);
    const size_t num_params = so_model_num_params(m);
    for (long s = -20; s < steps; s++) {
        double t0 = so_time_now(), t1, t2;
        so_model_loss_grad(m, x, labels, batch, &loss);
        t1 = so_time_now();
        for (size_t i = 0; i < num_params; i++)
            params[i] -= 0.01f * grads[i];
        t2 = so_time_now();
        if (s >= 0) {
            grad_total += t1 - t0;
            step_total += t2 - t0;
            best = t1 - t0 < best ? t1 - t0 : best;
        }
    }
    const double flops = step_flops(m, batch), mean = grad_total / (double)steps;
    const double peak = large_sgemm_gflops();
    printf("spec %s  batch %zu  steps %ld  threads 1  final loss %.4f\n", spec, batch, steps,
           loss);
    printf("forward+backward: mean %.3f ms  best %.3f ms  (%.1f MFLOP)\n", mean * 1e3,
           best * 1e3, flops * 1e-6);
    printf("with SGD update: mean %.3f ms\n", step_total / (double)steps * 1e3);
    printf("rate: %.1f GFLOP/s mean, %.1f GFLOP/s best\n", flops / mean * 1e-9,
           flops / best * 1e-9);
    printf("plain sgemm %dx%dx%d: %.1f GFLOP/s  (forward+backward mean reaches %.0f%%)\n",
           GEMM_N, GEMM_N, GEMM_N, peak, 100.0 * flops / mean * 1e-9 / peak);
    so_model_free(&m);
    free(x);
    free(labels);
    return 0;
}
