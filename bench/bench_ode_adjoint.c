/* Cost of the discrete adjoint against the forward solve on a tanh neural ODE
 * y' = tanh(W y + b) with n states and n^2 + n parameters, Tsit5.
 *
 *   bench_ode_adjoint [N] [T] [RTOL] [REPS]
 *                      defaults 4, 10, 1e-6, 200: for each of N and 4 N (when N < 64),
 *                      one Markdown row with the steps, evaluation and VJP counts and
 *                      the median seconds over REPS runs of the adaptive solve (with
 *                      step recording), of the replay and of the adjoint
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/ode.h"

typedef struct neural {
    size_t n;
    double *w; /* n x n, row-major */
    double *b; /* n */
    double *z; /* n scratch */
} neural;

static int neural_rhs(void *user, double t, const double *y, double *dydt)
{
    const neural *nn = user;
    (void)t;
    for (size_t i = 0; i < nn->n; i++) {
        double z = nn->b[i];
        for (size_t j = 0; j < nn->n; j++)
            z += nn->w[i * nn->n + j] * y[j];
        dydt[i] = tanh(z);
    }
    return 0;
}

static int neural_vjp(void *user, double t, const double *y, const double *v, double *vy,
                      double *vp)
{
    const neural *nn = user;
    const size_t n = nn->n;
    double *u = nn->z;
    (void)t;
    for (size_t i = 0; i < n; i++) {
        double z = nn->b[i];
        for (size_t j = 0; j < n; j++)
            z += nn->w[i * n + j] * y[j];
        double th = tanh(z);
        u[i] = v[i] * (1.0 - th * th);
    }
    for (size_t j = 0; j < n; j++)
        vy[j] = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            vy[j] += nn->w[i * n + j] * u[i];
    if (vp != NULL) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++)
                vp[i * n + j] = u[i] * y[j];
            vp[n * n + i] = u[i];
        }
    }
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int count)
{
    qsort(v, (size_t)count, sizeof *v, compare_doubles);
    return count % 2 ? v[count / 2] : 0.5 * (v[count / 2 - 1] + v[count / 2]);
}

static void fail(const char *step)
{
    fprintf(stderr, "bench_ode_adjoint: %s: %s\n", step, so_last_error());
    exit(1);
}

static void run_size(size_t n, double T, double rtol, int reps)
{
    const size_t np = n * n + n;
    neural nn = {n, calloc(n * n, sizeof(double)), calloc(n, sizeof(double)),
                 calloc(n, sizeof(double))};
    double *y0 = calloc(n, sizeof(double)), *ysave = calloc(n, sizeof(double));
    double *dl = calloc(n, sizeof(double)), *gy = calloc(n, sizeof(double));
    double *gp = calloc(np, sizeof(double));
    double *times = calloc((size_t)reps * 3, sizeof(double));
    if (!nn.w || !nn.b || !nn.z || !y0 || !ysave || !dl || !gy || !gp || !times) {
        fprintf(stderr, "bench_ode_adjoint: out of memory\n");
        exit(1);
    }
    /* From Philox seed 0: W uniform in [-1.5, 1.5] / sqrt(n), b in [-0.1, 0.1] and y0
     * in [-1, 1]. */
    so_rng rng;
    so_rng_init(&rng, 0, 0);
    const double scale = 1.5 / sqrt((double)n);
    for (size_t i = 0; i < n * n; i++)
        nn.w[i] = scale * (2.0 * so_rng_uniform(&rng) - 1.0);
    for (size_t i = 0; i < n; i++) {
        nn.b[i] = 0.1 * (2.0 * so_rng_uniform(&rng) - 1.0);
        y0[i] = 2.0 * so_rng_uniform(&rng) - 1.0;
        dl[i] = 1.0;
    }
    so_ode_options o = so_ode_options_default();
    o.rtol = rtol;
    o.atol = rtol * 1e-2;
    so_ode *ode = NULL;
    if (so_ode_new(&ode, &so_ode_tsit5, n, &o) != SO_OK)
        fail("so_ode_new");
    so_ode_record_steps(ode, 1);
    so_ode_stats stats;
    so_ode_adjoint_stats ast;
    so_ode_replay_stats rst;
    size_t nsteps = 0;
    const so_ode_step *steps = NULL;
    for (int r = 0; r < reps; r++) {
        double start = so_time_now();
        if (so_ode_solve(ode, neural_rhs, &nn, 0.0, T, y0, &T, 1, ysave, &stats) != SO_OK)
            fail("so_ode_solve");
        times[r] = so_time_now() - start;
        steps = so_ode_steps(ode, &nsteps);
        start = so_time_now();
        if (so_ode_replay(ode, neural_rhs, &nn, y0, steps, nsteps, &T, 1, ysave, NULL,
                          &rst) != SO_OK)
            fail("so_ode_replay");
        times[reps + r] = so_time_now() - start;
        start = so_time_now();
        if (so_ode_adjoint(ode, neural_rhs, neural_vjp, &nn, y0, np, steps, nsteps, &T, 1,
                           dl, 0.1, 0.01, gy, gp, &ast) != SO_OK)
            fail("so_ode_adjoint");
        times[2 * reps + r] = so_time_now() - start;
    }
    double t_solve = median(times, reps), t_replay = median(times + reps, reps);
    double t_adjoint = median(times + 2 * reps, reps);
    printf("| %zu | %zu | %zu | %ld | %ld | %ld | %.2f | %.2f | %.2f | %.2f |\n", n, np,
           nsteps, stats.nfev, ast.nfev, ast.nvjp, t_solve * 1e6, t_replay * 1e6,
           t_adjoint * 1e6, t_adjoint / t_solve);
    so_ode_free(&ode);
    free(nn.w);
    free(nn.b);
    free(nn.z);
    free(y0);
    free(ysave);
    free(dl);
    free(gy);
    free(gp);
    free(times);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 4;
    double T = argc > 2 ? atof(argv[2]) : 10.0;
    double rtol = argc > 3 ? atof(argv[3]) : 1e-6;
    int reps = argc > 4 ? atoi(argv[4]) : 200;
    if (n == 0 || !(T > 0.0) || !(rtol > 0.0) || reps < 1) {
        fprintf(stderr, "usage: bench_ode_adjoint [N >= 1] [T > 0] [RTOL > 0] [REPS >= 1]\n");
        return 2;
    }
    printf("Tsit5, t in [0, %g], rtol = %g, atol = %g, loss y(T) summed + 0.1 R_E + "
           "0.01 R_S, median of %d runs\n\n", T, rtol, rtol * 1e-2, reps);
    printf("| n | parameters | steps | solve nfev | adjoint nfev | adjoint VJPs | solve us "
           "| replay us | adjoint us | adjoint / solve |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    run_size(n, T, rtol, reps);
    if (n < 64)
        run_size(4 * n, T, rtol, reps);
    return 0;
}
