/* Entropic OT benchmarks.
 *
 *   bench_ot sns [N] [ETA] [TOL] [MAX_ITER]
 *                                     random assignment, C ~ U[0, 1] (N x N), reg = 1/ETA:
 *                                     SNS against log-domain Sinkhorn, which stops after
 *                                     MAX_ITER iterations, as a Markdown table (defaults
 *                                     500, 1200, 1e-12, 20000; the experiment of
 *                                     Tang et al., ICLR 2024)
 *   bench_ot blobs [ETA] [TOL] [MAX_ITER]
 *                                     two synthetic 28 x 28 blob images with L1 and L2 grid
 *                                     costs, SNS against log-domain Sinkhorn
 *   bench_ot solve C.npy METHOD REG TOL MAX_ITER
 *                                     one solve under POT's stopping rule, for
 *                                     bench/ot_pot.py; prints "iterations seconds error"
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/ot.h"

typedef struct run_row {
    const char *name;
    long iterations, newton;
    double seconds, error, cost;
    int status;
} run_row;

static run_row run(const double *C, size_t n, size_t m, const double *a, const double *b,
                   so_ot_method method, double reg, double tol, long max_iter)
{
    so_ot_options o = so_ot_options_default();
    o.method = method;
    o.reg = reg;
    o.tol = tol;
    o.max_iter = max_iter;
    o.want_plan = 0;
    so_ot_result r;
    run_row row = {so_ot_method_name(method), 0, 0, 0, 0, 0, 0};
    double start = so_time_now();
    row.status = so_ot_solve(C, n, m, a, b, &o, &r);
    row.seconds = so_time_now() - start;
    if (row.status < 0) {
        fprintf(stderr, "bench_ot: %s\n", so_last_error());
        exit(1);
    }
    row.iterations = r.iterations;
    row.newton = r.newton_steps;
    row.error = r.marginal_error;
    row.cost = r.cost;
    so_ot_result_clear(&r);
    return row;
}

static void print_pair(const char *problem, const run_row *sns, const run_row *log_row)
{
    printf("| %s | SNS | %ld (%ld Newton) | %.3f | %.2e | %s |\n", problem, sns->iterations,
           sns->newton, sns->seconds, sns->error, sns->status == SO_OK ? "converged" : "not converged");
    printf("| %s | Sinkhorn (log) | %ld | %.3f | %.2e | %s |\n", problem, log_row->iterations,
           log_row->seconds, log_row->error,
           log_row->status == SO_OK ? "converged" : "not converged");
    printf("| %s | ratio | %s%.0fx fewer | %s%.1fx faster | | |\n", problem,
           log_row->status == SO_OK ? "" : "over ",
           (double)log_row->iterations / (double)sns->iterations,
           log_row->status == SO_OK ? "" : "over ", log_row->seconds / sns->seconds);
}

static void header(void)
{
    printf("| problem | method | iterations | seconds | marginal error | status |\n");
    printf("|---|---|---|---|---|---|\n");
}

static int bench_sns(size_t n, double eta, double tol, long max_iter)
{
    double *C = malloc(n * n * sizeof *C);
    if (C == NULL)
        return 1;
    so_rng rng;
    so_rng_init(&rng, 2024, 0);
    for (size_t k = 0; k < n * n; k++)
        C[k] = so_rng_uniform(&rng);
    char problem[96];
    snprintf(problem, sizeof problem, "random assignment n=%zu, eta=%g", n, eta);
    header();
    run_row sns = run(C, n, n, NULL, NULL, SO_OT_SNS, 1.0 / eta, tol, 1000000);
    run_row log_row = run(C, n, n, NULL, NULL, SO_OT_LOG, 1.0 / eta, tol, max_iter);
    print_pair(problem, &sns, &log_row);
    printf("\ncosts: SNS %.15g, Sinkhorn %.15g\n", sns.cost, log_row.cost);
    free(C);
    return 0;
}

/* A 28 x 28 image of two or three Gaussian blobs, normalized to unit mass, with a small
 * floor so that every pixel has mass as in the MNIST experiments. */
static void blob_image(double *img, const double (*blobs)[3], int count)
{
    double total = 0.0;
    for (int p = 0; p < 28 * 28; p++) {
        double x = p % 28, y = p / 28, v = 1e-3;
        for (int k = 0; k < count; k++)
            v += exp(-((x - blobs[k][0]) * (x - blobs[k][0]) +
                       (y - blobs[k][1]) * (y - blobs[k][1])) / (2 * blobs[k][2] * blobs[k][2]));
        total += img[p] = v;
    }
    for (int p = 0; p < 28 * 28; p++)
        img[p] /= total;
}

static int bench_blobs(double eta, double tol, long max_iter)
{
    enum { P = 28 * 28 };
    static const double first[2][3] = {{8, 9, 3}, {19, 18, 2.5}};
    static const double second[3][3] = {{20, 7, 2.5}, {7, 20, 3}, {14, 14, 2}};
    static double a[P], b[P], grid[2 * P], C[P * P];
    blob_image(a, first, 2);
    blob_image(b, second, 3);
    /* Pixel coordinates scaled to [0, 1]. */
    for (int p = 0; p < P; p++) {
        grid[2 * p] = (p % 28) / 27.0;
        grid[2 * p + 1] = (p / 28) / 27.0;
    }
    header();
    const so_ot_cost costs[2] = {SO_OT_L1, SO_OT_EUCLIDEAN};
    const char *names[2] = {"28x28 blobs, L1", "28x28 blobs, L2"};
    for (int k = 0; k < 2; k++) {
        if (so_ot_cost_matrix(grid, P, grid, P, 2, costs[k], C) != SO_OK)
            return 1;
        run_row sns = run(C, P, P, a, b, SO_OT_SNS, 1.0 / eta, tol, 1000000);
        run_row log_row = run(C, P, P, a, b, SO_OT_LOG, 1.0 / eta, tol, max_iter);
        print_pair(names[k], &sns, &log_row);
    }
    return 0;
}

static int bench_solve(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: bench_ot solve C.npy METHOD REG TOL MAX_ITER\n");
        return 2;
    }
    so_array *arr = NULL;
    if (so_npy_read(argv[2], &arr) != SO_OK || arr->dtype != SO_DTYPE_F64 || arr->ndim != 2) {
        fprintf(stderr, "bench_ot: %s: expected a 2-D float64 array %s\n", argv[2],
                so_last_error());
        return 2;
    }
    so_ot_options o = so_ot_options_default();
    o.method = (so_ot_method)so_ot_method_from_name(argv[3]);
    o.reg = atof(argv[4]);
    o.tol = atof(argv[5]);
    o.max_iter = atol(argv[6]);
    o.stop_rule = SO_OT_STOP_POT;
    o.want_plan = 0;
    so_ot_result r;
    double start = so_time_now();
    int status = so_ot_solve(arr->data, arr->shape[0], arr->shape[1], NULL, NULL, &o, &r);
    double seconds = so_time_now() - start;
    if (status < 0) {
        fprintf(stderr, "bench_ot: %s\n", so_last_error());
        so_array_free(&arr);
        return 1;
    }
    printf("%ld %.6f %.3e\n", r.iterations, seconds, r.marginal_error);
    so_ot_result_clear(&r);
    so_array_free(&arr);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "sns") == 0)
        return bench_sns(argc > 2 ? (size_t)atol(argv[2]) : 500,
                         argc > 3 ? atof(argv[3]) : 1200.0, argc > 4 ? atof(argv[4]) : 1e-12,
                         argc > 5 ? atol(argv[5]) : 20000);
    if (argc >= 2 && strcmp(argv[1], "blobs") == 0)
        return bench_blobs(argc > 2 ? atof(argv[2]) : 1200.0, argc > 3 ? atof(argv[3]) : 1e-12,
                           argc > 4 ? atol(argv[4]) : 20000);
    if (argc >= 2 && strcmp(argv[1], "solve") == 0)
        return bench_solve(argc, argv);
    fprintf(stderr, "usage: bench_ot sns [N] [ETA] [TOL] [MAX_ITER] | blobs [ETA] [TOL] "
                    "[MAX_ITER] | "
                    "solve C.npy METHOD REG TOL MAX_ITER\n");
    return 2;
}
