/* IPOPT 3.11 (Debian coinor-libipopt-dev) on the problems of bench_adasketch, through the
 * problem definitions of the static library: dense Jacobian, dense lower-triangular
 * Hessian of the Lagrangian, tol 1e-8. Prints a Markdown table with the KKT residual
 * |(grad f + G^T lambda, c)| measured here (lambda from IPOPT's multipliers) and the
 * solve time. Not built by default; docs/constrained/adasketch.md gives the command.
 *
 *   adasketch_ipopt [HEART_SCALE] [PDE_N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coin/IpStdCInterface.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/problem.h"

typedef struct ipopt_data {
    const so_problem *p;
    double *c, *J, *H, *Hc;
} ipopt_data;

static Bool eval_f(Index n, Number *x, Bool new_x, Number *obj, UserDataPtr user)
{
    ipopt_data *s = user;
    (void)n;
    (void)new_x;
    return s->p->value_grad(s->p->user, x, obj, NULL) == SO_OK;
}

static Bool eval_grad_f(Index n, Number *x, Bool new_x, Number *grad, UserDataPtr user)
{
    ipopt_data *s = user;
    double f;
    (void)n;
    (void)new_x;
    return s->p->value_grad(s->p->user, x, &f, grad) == SO_OK;
}

static Bool eval_g(Index n, Number *x, Bool new_x, Index m, Number *g, UserDataPtr user)
{
    ipopt_data *s = user;
    (void)n;
    (void)m;
    (void)new_x;
    return s->p->constraints(s->p->user, x, g, NULL) == SO_OK;
}

static Bool eval_jac_g(Index n, Number *x, Bool new_x, Index m, Index nele, Index *iRow,
                       Index *jCol, Number *values, UserDataPtr user)
{
    ipopt_data *s = user;
    (void)new_x;
    (void)nele;
    if (values == NULL) {
        for (Index i = 0; i < m; i++)
            for (Index j = 0; j < n; j++) {
                iRow[i * n + j] = i;
                jCol[i * n + j] = j;
            }
        return TRUE;
    }
    return s->p->constraints(s->p->user, x, s->c, values) == SO_OK;
}

static Bool eval_h(Index n, Number *x, Bool new_x, Number obj_factor, Index m, Number *lambda,
                   Bool new_lambda, Index nele, Index *iRow, Index *jCol, Number *values,
                   UserDataPtr user)
{
    ipopt_data *s = user;
    (void)new_x;
    (void)new_lambda;
    (void)nele;
    (void)m;
    Index k = 0;
    if (values == NULL) {
        for (Index i = 0; i < n; i++)
            for (Index j = 0; j <= i; j++) {
                iRow[k] = i;
                jCol[k] = j;
                k++;
            }
        return TRUE;
    }
    if (s->p->curvature(s->p->user, SO_CURVATURE_EXACT, x, s->H) != SO_OK)
        return FALSE;
    memset(s->Hc, 0, (size_t)n * (size_t)n * sizeof *s->Hc);
    if (s->p->constraint_hessian(s->p->user, x, lambda, s->Hc) != SO_OK)
        return FALSE;
    for (Index i = 0; i < n; i++)
        for (Index j = 0; j <= i; j++)
            values[k++] = obj_factor * s->H[i * n + j] + s->Hc[i * n + j];
    return TRUE;
}

static void solve(const so_problem *p)
{
    const Index n = (Index)p->n, m = (Index)p->m;
    ipopt_data s = {p, calloc(p->m, sizeof(double)), calloc(p->m * p->n, sizeof(double)),
             calloc(p->n * p->n, sizeof(double)), calloc(p->n * p->n, sizeof(double))};
    double *xl = malloc(p->n * sizeof *xl), *xu = malloc(p->n * sizeof *xu);
    double *gl = calloc(p->m, sizeof *gl), *gu = calloc(p->m, sizeof *gu);
    double *x = malloc(p->n * sizeof *x), *lambda = calloc(p->m, sizeof *lambda);
    double *g = malloc(p->n * sizeof *g);
    for (Index i = 0; i < n; i++) {
        xl[i] = -1e20;
        xu[i] = 1e20;
    }
    memcpy(x, p->x0, p->n * sizeof *x);
    IpoptProblem ip = CreateIpoptProblem(n, xl, xu, m, gl, gu, n * m, n * (n + 1) / 2, 0,
                                         eval_f, eval_g, eval_grad_f, eval_jac_g, eval_h);
    AddIpoptNumOption(ip, "tol", 1e-8);
    AddIpoptIntOption(ip, "print_level", 0);
    AddIpoptStrOption(ip, "sb", "yes");
    AddIpoptIntOption(ip, "max_iter", 3000);
    double obj = NAN;
    const double t0 = so_time_now();
    const int status = IpoptSolve(ip, x, NULL, &obj, lambda, NULL, NULL, &s);
    const double seconds = so_time_now() - t0;
    /* KKT residual with IPOPT's multipliers (its Lagrangian is f + lambda^T c). */
    double f = NAN, kkt = 0.0;
    p->value_grad(p->user, x, &f, g);
    p->constraints(p->user, x, s.c, s.J);
    for (Index j = 0; j < n; j++) {
        double r = g[j];
        for (Index i = 0; i < m; i++)
            r += s.J[i * n + j] * lambda[i];
        kkt += r * r;
    }
    for (Index i = 0; i < m; i++)
        kkt += s.c[i] * s.c[i];
    double dx = NAN;
    if (p->x_star != NULL) {
        dx = 0.0;
        for (Index i = 0; i < n; i++)
            dx = fmax(dx, fabs(x[i] - p->x_star[i]));
    }
    printf("| %s | IPOPT 3.11 | %d | %.2e | %.10g | %.2e | %.4f |\n", p->name, status,
           sqrt(kkt), f, dx, seconds);
    FreeIpoptProblem(ip);
    free(s.c);
    free(s.J);
    free(s.H);
    free(s.Hc);
    free(xl);
    free(xu);
    free(gl);
    free(gu);
    free(x);
    free(lambda);
    free(g);
}

int main(int argc, char **argv)
{
    const char *heart =
        argc > 1 ? argv[1] : "tests/data/heart_scale";
    const size_t pde_n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 4;
    printf("| problem | solver | IPOPT status | KKT | f | max abs(x - x*) | seconds |\n");
    printf("|---|---|---|---|---|---|---|\n");
    int (*ctor[])(so_problem *) = {so_problem_hs6, so_problem_hs7, so_problem_hs28,
                                   so_problem_bt2, so_problem_booth};
    so_problem p;
    for (size_t c = 0; c < sizeof ctor / sizeof ctor[0]; c++) {
        ctor[c](&p);
        solve(&p);
        so_problem_destroy(&p);
    }
    so_dataset *ds = NULL;
    so_read_options ro = so_read_options_default();
    if (so_libsvm_read(heart, &ro, &ds) != SO_OK ||
        so_problem_constrained_logistic(&p, ds, 5, 0) != SO_OK) {
        fprintf(stderr, "adasketch_ipopt: %s\n", so_last_error());
        return 1;
    }
    so_dataset_free(&ds);
    solve(&p);
    so_problem_destroy(&p);
    if (so_problem_pde_control(&p, pde_n) != SO_OK) {
        fprintf(stderr, "adasketch_ipopt: %s\n", so_last_error());
        return 1;
    }
    solve(&p);
    so_problem_destroy(&p);
    return 0;
}
