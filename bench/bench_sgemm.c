/* SGEMM throughput of this machine through OpenBLAS, at one thread by default: the
 * bound for dense-layer training. Measures the eight products of one training step of a
 * 784-256-128-10 MLP at batch 128 (forward, weight gradients, input gradients but the
 * first), and a large square product for the kernel's peak. Prints GFLOP/s and the
 * samples/s bound of the MLP. Usage: bench_sgemm [threads] */
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>

#include "stochopt/core.h"

typedef struct gemm_shape {
    CBLAS_TRANSPOSE ta, tb;
    int m, n, k;
} gemm_shape;

/* Seconds per call of C = op(A) op(B), the minimum over repeats. */
static double time_gemm(const gemm_shape *s, float *a, float *b, float *c, int repeats)
{
    double best = 1e30;
    int lda = s->ta == CblasNoTrans ? s->k : s->m;
    int ldb = s->tb == CblasNoTrans ? s->n : s->k;
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        for (int i = 0; i < 10; i++)
            cblas_sgemm(CblasRowMajor, s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb,
                        0.0f, c, s->n);
        double t = (so_time_now() - t0) / 10;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    enum { BIG = 2048, BATCH = 128 };
    /* One step of mlp:256,128 on 784 inputs and 10 classes at batch 128. */
    const gemm_shape step[] = {
        {CblasNoTrans, CblasTrans, BATCH, 256, 784},  /* forward layer 1 */
        {CblasNoTrans, CblasTrans, BATCH, 128, 256},  /* forward layer 2 */
        {CblasNoTrans, CblasTrans, BATCH, 10, 128},   /* forward layer 3 */
        {CblasTrans, CblasNoTrans, 10, 128, BATCH},   /* dW3 = dY3^T X3 */
        {CblasNoTrans, CblasNoTrans, BATCH, 128, 10}, /* dX3 = dY3 W3 */
        {CblasTrans, CblasNoTrans, 128, 256, BATCH},  /* dW2 */
        {CblasNoTrans, CblasNoTrans, BATCH, 256, 128},/* dX2 */
        {CblasTrans, CblasNoTrans, 256, 784, BATCH},  /* dW1 */
    };
    float *a = malloc(sizeof(float) * BIG * BIG), *b = malloc(sizeof(float) * BIG * BIG);
    float *c = malloc(sizeof(float) * BIG * BIG);
    if (a == NULL || b == NULL || c == NULL)
        return 1;
    for (size_t i = 0; i < (size_t)BIG * BIG; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    openblas_set_num_threads(threads);

    gemm_shape square = {CblasNoTrans, CblasNoTrans, BIG, BIG, BIG};
    double t = time_gemm(&square, a, b, c, 3);
    printf("sgemm %dx%dx%d: %.1f GFLOP/s (%d thread%s)\n", BIG, BIG, BIG,
           2.0 * BIG * BIG * BIG / t * 1e-9, threads, threads == 1 ? "" : "s");

    double step_time = 0.0, step_flops = 0.0;
    for (size_t i = 0; i < sizeof step / sizeof step[0]; i++) {
        double ti = time_gemm(&step[i], a, b, c, 20);
        double flops = 2.0 * step[i].m * step[i].n * step[i].k;
        step_time += ti;
        step_flops += flops;
    }
    printf("sgemm in one mlp:256,128 step at batch %d: %.1f GFLOP/s, %.0f us per step\n",
           BATCH, step_flops / step_time * 1e-9, step_time * 1e6);
    printf("bound from SGEMM alone: %.0f samples/s\n", BATCH / step_time);
    free(a);
    free(b);
    free(c);
    return 0;
}
