/* AdaSketch-Newton benchmarks.
 *
 *   bench_adasketch [HEART_SCALE] [PDE_N] [OUT_PREFIX]
 *
 * runs AdaSketch-Newton with randomized Kaczmarz, Gaussian sketches and exact LU
 * Newton steps on HS6, HS7, HS28, BT2 and BOOTH from their standard starts, on logistic
 * regression over the LIBSVM file HEART_SCALE (default: tests/data/heart_scale, a copy of the liblinear-tools example) with
 * 5 Gaussian linear constraints (seed 0) and |w|^2 = 1, and on the PDE control problem
 * with an N x N grid (default 4), all to a KKT residual of 1e-6. It prints a Markdown
 * table, writes every iteration to OUT_PREFIX-history.csv and the logistic constraint
 * data A | b to OUT_PREFIX-logistic-Ab.csv for bench/adasketch_scipy.py (default
 * prefix: adasketch). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/constrained.h"
#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/problem.h"

enum { LOGISTIC_ROWS = 5 };

static const char default_heart[] = "tests/data/heart_scale";

static void run_one(const so_problem *p, so_kkt_solver solver, FILE *csv)
{
    so_adasketch_options opt;
    so_adasketch_options_default(&opt);
    opt.solver = solver;
    opt.tol = 1e-6;
    opt.max_iter = 1000;
    double *x = malloc(p->n * sizeof *x), *lambda = calloc(p->m, sizeof *lambda);
    if (x == NULL || lambda == NULL) {
        fprintf(stderr, "bench_adasketch: out of memory\n");
        exit(1);
    }
    memcpy(x, p->x0, p->n * sizeof *x);
    so_adasketch_stats st;
    const int status = so_adasketch_newton(p, &opt, x, lambda, &st);
    if (status < 0)
        fprintf(stderr, "bench_adasketch: %s\n", so_last_error());
    double dx = NAN;
    if (p->x_star != NULL) {
        dx = 0.0;
        for (size_t i = 0; i < p->n; i++)
            dx = fmax(dx, fabs(x[i] - p->x_star[i]));
    }
    printf("| %s | %s | %s | %ld | %ld | %.2e | %.10g | %.2e | %.2e | %.2e | %.4f |\n",
           p->name, so_kkt_solver_name(solver), status == SO_OK ? "ok" : so_strerror(status),
           st.iterations, st.sketch_iters, st.kkt, st.f, st.c_norm, dx, st.flops, st.seconds);
    for (size_t i = 0; i < st.history_len; i++) {
        const so_adasketch_record *r = &st.history[i];
        fprintf(csv, "%s,%s,%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%ld,%.17g,%.17g\n",
                p->name, so_kkt_solver_name(solver), r->iter, r->kkt, r->f, r->c_norm, r->mu,
                r->nu, r->alpha, r->sketch_iters, r->flops, r->seconds);
    }
    so_adasketch_stats_free(&st);
    free(x);
    free(lambda);
}

/* Writes the Gaussian constraint data of so_problem_constrained_logistic: the same draws
 * from stream (seed, 0), A row by row, then b. */
static void write_logistic_ab(const char *path, size_t rows, size_t d, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_adasketch: cannot write %s\n", path);
        exit(1);
    }
    so_rng rng;
    so_rng_init(&rng, seed, 0);
    double *A = malloc(rows * d * sizeof *A);
    for (size_t k = 0; k < rows * d; k++)
        A[k] = so_rng_normal(&rng);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < d; j++)
            fprintf(f, "%.17g,", A[r * d + j]);
        fprintf(f, "%.17g\n", so_rng_normal(&rng));
    }
    free(A);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *heart = argc > 1 ? argv[1] : default_heart;
    const size_t pde_n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 4;
    const char *prefix = argc > 3 ? argv[3] : "adasketch";
    char path[4096];
    snprintf(path, sizeof path, "%s-history.csv", prefix);
    FILE *csv = fopen(path, "w");
    if (csv == NULL) {
        fprintf(stderr, "bench_adasketch: cannot write %s\n", path);
        return 1;
    }
    fprintf(csv, "problem,solver,iter,kkt,f,c_norm,mu,nu,alpha,sketch_iters,flops,seconds\n");
    printf("| problem | solver | status | iterations | sketch steps | KKT | f | abs c | "
           "max abs(x - x*) | flops | seconds |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    const so_kkt_solver solvers[] = {SO_KKT_KACZMARZ, SO_KKT_GAUSSIAN, SO_KKT_LU};
    int (*ctor[])(so_problem *) = {so_problem_hs6, so_problem_hs7, so_problem_hs28,
                                   so_problem_bt2, so_problem_booth};
    for (size_t c = 0; c < sizeof ctor / sizeof ctor[0]; c++) {
        for (size_t s = 0; s < 3; s++) {
            so_problem p;
            if (ctor[c](&p) != SO_OK)
                return 1;
            run_one(&p, solvers[s], csv);
            so_problem_destroy(&p);
        }
    }

    so_dataset *ds = NULL;
    so_read_options ro = so_read_options_default();
    if (so_libsvm_read(heart, &ro, &ds) != SO_OK) {
        fprintf(stderr, "bench_adasketch: %s\n", so_last_error());
        return 1;
    }
    so_problem p;
    if (so_problem_constrained_logistic(&p, ds, LOGISTIC_ROWS, 0) != SO_OK) {
        fprintf(stderr, "bench_adasketch: %s\n", so_last_error());
        return 1;
    }
    snprintf(path, sizeof path, "%s-logistic-Ab.csv", prefix);
    write_logistic_ab(path, LOGISTIC_ROWS, ds->d, 0);
    so_dataset_free(&ds);
    for (size_t s = 0; s < 3; s++)
        run_one(&p, solvers[s], csv);
    so_problem_destroy(&p);

    if (so_problem_pde_control(&p, pde_n) != SO_OK) {
        fprintf(stderr, "bench_adasketch: %s\n", so_last_error());
        return 1;
    }
    for (size_t s = 0; s < 3; s++)
        run_one(&p, solvers[s], csv);
    so_problem_destroy(&p);
    fclose(csv);
    return 0;
}
