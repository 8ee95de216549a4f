/* stochopt newton: the gradient-normalized regularized Newton method and its baselines
 * on data-driven and synthetic test problems. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/newton.h"
#include "stochopt/problem.h"

/* Default --seed of logsumexp. bench_newton uses the same seed. With seed 0 the
 * start lies in the flat region around the minimizer (f - f* = 1e-6), because one row
 * dominates the maximum there. */
#define LSE_SEED_DEFAULT 9

/* The methods factor a dense n x n Hessian (800 MB at n = 10000), so every problem keeps
 * n <= VARIABLES_MAX. */
enum { ROSENBROCK_N_MAX = 10000, LSE_DIM_MAX = 10000, LSE_ROWS_MAX = 1000000,
       VARIABLES_MAX = 10000 };
#define LSE_VALUES_MAX 1e8 /* entries of the log-sum-exp matrix A */

typedef struct newton_cli {
    const char *problem, *data, *format, *history, *out;
    double l2, mu;
    long rows, dim, rosenbrock_n;
    uint64_t seed;
    int intercept, label_column;
    int data_given, l2_given, intercept_given, random_given; /* for option checks */
    so_newton_options opt;
} newton_cli;

static void newton_usage(FILE *out)
{
    so_newton_options d = so_newton_options_default();
    fprintf(out,
        "Usage: stochopt newton --problem NAME [OPTIONS]\n"
        "\n"
        "Minimizes a smooth function by the gradient-normalized regularized Newton method\n"
        "x+ = x - (H + lambda I)^-1 grad f, lambda = |grad f| / gamma, with H the chosen\n"
        "curvature (docs/newton/gradient-normalized.md), or by a baseline.\n"
        "\n"
        "Problem:\n"
        "  --problem NAME      logistic, softmax or least-squares (with --data),\n"
        "                      rosenbrock:N (N variables, 2 <= N <= %d) or logsumexp\n"
        "                      (random rows, shifted so that x = 0 is a minimizer; the\n"
        "                      minimizer is not unique, so only f - f* is printed)\n"
        "  --data FILE         data set (LIBSVM, CSV or NPY); logistic needs two classes\n"
        "  --format NAME       auto, libsvm, csv or npy (default auto: by extension)\n"
        "  --label-column K    CSV/NPY column with the target, -1 for the last (default)\n"
        "  --l2 L              l2 penalty L/2 |w|^2 of the data problems, so f is the mean\n"
        "                      loss plus L/2 |w|^2 (default 1e-3). stochopt sso reports\n"
        "                      the mean loss alone\n"
        "  --intercept         logistic: add an unpenalized intercept\n"
        "  --rows R            logsumexp: rows of A (default 200)\n"
        "  --dim D             logsumexp: variables (default 50)\n"
        "  --mu M              logsumexp: smoothing, f = M log sum exp((Ax - b)/M)\n"
        "                      (default 0.05)\n"
        "  --seed S            logsumexp: A and b come from random stream (S, 0)\n"
        "                      (default %d: with the default --rows, --dim and --mu the\n"
        "                      start has f - f* = 1.7)\n"
        "Method:\n"
        "  --method NAME       grad-norm (adaptive gamma, default), grad-norm-fixed\n"
        "                      (fixed gamma), damped-newton (Newton with backtracking)\n"
        "                      or gradient (gradient descent, backtracked 1/L step)\n"
        "  --curvature KIND    exact (default), fisher, gauss-newton or weighted-gn.\n"
        "                      logistic, softmax, least-squares: exact, fisher,\n"
        "                      gauss-newton. rosenbrock:N: exact, gauss-newton.\n"
        "                      logsumexp: exact, weighted-gn\n"
        "  --gamma0 G          initial gamma, the fixed one for grad-norm-fixed\n"
        "                      (default %g)\n"
        "  --max-trials N      gamma trials per iteration (default %d)\n"
        "  --tol T             stop when |grad f| <= T (default %g)\n"
        "  --max-iter N        iterations (default %ld)\n"
        "Output:\n"
        "  --history FILE      write one CSV row per iteration\n"
        "  --out FILE          write x, one value per line, or NPY when FILE ends in .npy\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit status: 0 converged, 1 not converged or numerical failure, 2 bad usage or\n"
        "input.\n",
        ROSENBROCK_N_MAX, LSE_SEED_DEFAULT, d.gamma0, d.max_trials, d.grad_tol, d.max_iter);
}

enum { OPT_PROBLEM = 256, OPT_DATA, OPT_FORMAT, OPT_L2, OPT_INTERCEPT, OPT_ROWS, OPT_DIM,
       OPT_MU, OPT_SEED, OPT_METHOD, OPT_CURVATURE, OPT_GAMMA0, OPT_MAX_TRIALS, OPT_TOL,
       OPT_MAX_ITER, OPT_HISTORY, OPT_OUT, OPT_LABEL_COLUMN };

static const struct option NEWTON_OPTIONS[] = {
    {"problem", required_argument, NULL, OPT_PROBLEM},
    {"data", required_argument, NULL, OPT_DATA},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"l2", required_argument, NULL, OPT_L2},
    {"intercept", no_argument, NULL, OPT_INTERCEPT},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"dim", required_argument, NULL, OPT_DIM},
    {"mu", required_argument, NULL, OPT_MU},
    {"seed", required_argument, NULL, OPT_SEED},
    {"method", required_argument, NULL, OPT_METHOD},
    {"curvature", required_argument, NULL, OPT_CURVATURE},
    {"gamma0", required_argument, NULL, OPT_GAMMA0},
    {"max-trials", required_argument, NULL, OPT_MAX_TRIALS},
    {"tol", required_argument, NULL, OPT_TOL},
    {"max-iter", required_argument, NULL, OPT_MAX_ITER},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"out", required_argument, NULL, OPT_OUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_method(const char *arg, so_newton_method *method)
{
    const so_newton_method all[] = {SO_NEWTON_GRAD_NORM, SO_NEWTON_GRAD_NORM_FIXED,
                                    SO_NEWTON_DAMPED, SO_NEWTON_GRADIENT};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(arg, so_newton_method_name(all[i])) == 0) {
            *method = all[i];
            return 0;
        }
    cli_error("--method: unknown method '%s'; expected grad-norm, grad-norm-fixed, "
              "damped-newton or gradient", arg);
    return -1;
}

static int parse_curvature(const char *arg, so_curvature *kind)
{
    const so_curvature all[] = {SO_CURVATURE_EXACT, SO_CURVATURE_FISHER,
                                SO_CURVATURE_GAUSS_NEWTON, SO_CURVATURE_WEIGHTED_GN};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(arg, so_curvature_name(all[i])) == 0) {
            *kind = all[i];
            return 0;
        }
    cli_error("--curvature: unknown kind '%s'; expected exact, fisher, gauss-newton or "
              "weighted-gn", arg);
    return -1;
}

/* Handles one option. Returns 0, or -1 after printing an error. */
static int parse_option(int code, const char *arg, newton_cli *c)
{
    so_newton_options *o = &c->opt;
    long v;
    c->data_given |= code == OPT_DATA || code == OPT_FORMAT || code == OPT_LABEL_COLUMN;
    c->l2_given |= code == OPT_L2;
    c->intercept_given |= code == OPT_INTERCEPT;
    c->random_given |= code == OPT_ROWS || code == OPT_DIM || code == OPT_MU ||
                       code == OPT_SEED;
    switch (code) {
    case OPT_PROBLEM: c->problem = arg; return 0;
    case OPT_DATA: c->data = arg; return 0;
    case OPT_FORMAT: c->format = arg; return 0;
    case OPT_HISTORY: c->history = arg; return 0;
    case OPT_OUT: c->out = arg; return 0;
    case OPT_INTERCEPT: c->intercept = 1; return 0;
    case OPT_LABEL_COLUMN: return cli_parse_label_column(arg, &c->label_column);
    case OPT_L2: return cli_parse_double("--l2", arg, 0, 1e300, &c->l2);
    case OPT_MU: return cli_parse_double("--mu", arg, 1e-300, 1e300, &c->mu);
    case OPT_ROWS: return cli_parse_long("--rows", arg, 1, LSE_ROWS_MAX, &c->rows);
    case OPT_DIM: return cli_parse_long("--dim", arg, 1, LSE_DIM_MAX, &c->dim);
    case OPT_SEED:
        if (cli_parse_long("--seed", arg, 0, 9223372036854775807L, &v) != 0)
            return -1;
        c->seed = (uint64_t)v;
        return 0;
    case OPT_METHOD: return parse_method(arg, &o->method);
    case OPT_CURVATURE: return parse_curvature(arg, &o->curvature);
    case OPT_GAMMA0: return cli_parse_double("--gamma0", arg, 1e-300, 1e300, &o->gamma0);
    case OPT_MAX_TRIALS:
        if (cli_parse_long("--max-trials", arg, 1, 1000, &v) != 0)
            return -1;
        o->max_trials = (int)v;
        return 0;
    case OPT_TOL: return cli_parse_double("--tol", arg, 0, 1e300, &o->grad_tol);
    case OPT_MAX_ITER: return cli_parse_long("--max-iter", arg, 0, 1000000000L, &o->max_iter);
    default: return -1;
    }
}

/* Checks that the problem provides the --curvature kind, which the methods need at
 * every iteration. Returns 0 or -1 after an error. */
static int check_curvature(const newton_cli *c, int data_problem, int lse)
{
    unsigned provided = 1u << SO_CURVATURE_EXACT;
    const char *names;
    if (data_problem) {
        provided |= 1u << SO_CURVATURE_FISHER | 1u << SO_CURVATURE_GAUSS_NEWTON;
        names = "exact, fisher and gauss-newton";
    } else if (lse) {
        provided |= 1u << SO_CURVATURE_WEIGHTED_GN;
        names = "exact and weighted-gn";
    } else {
        provided |= 1u << SO_CURVATURE_GAUSS_NEWTON;
        names = "exact and gauss-newton";
    }
    if (provided & 1u << c->opt.curvature)
        return 0;
    cli_error("--curvature %s: %s provides %s; use one of those",
              so_curvature_name(c->opt.curvature), c->problem, names);
    return -1;
}

/* Checks --problem and the options that depend on it. Returns 0 or -1 after an error. */
static int check_problem(newton_cli *c)
{
    if (c->problem == NULL) {
        cli_error("--problem is required: logistic, softmax, least-squares, rosenbrock:N or "
                  "logsumexp");
        return -1;
    }
    int data_problem = strcmp(c->problem, "logistic") == 0 ||
                       strcmp(c->problem, "softmax") == 0 ||
                       strcmp(c->problem, "least-squares") == 0;
    int lse = strcmp(c->problem, "logsumexp") == 0;
    if (strncmp(c->problem, "rosenbrock:", 11) == 0) {
        if (cli_parse_long("--problem rosenbrock:N", c->problem + 11, 2, ROSENBROCK_N_MAX,
                           &c->rosenbrock_n) != 0)
            return -1;
    } else if (!data_problem && !lse) {
        cli_error("--problem: unknown problem '%s'; expected logistic, softmax, "
                  "least-squares, rosenbrock:N or logsumexp", c->problem);
        return -1;
    }
    if (data_problem && c->data == NULL) {
        cli_error("--problem %s needs --data FILE, such as tests/data/heart_scale",
                  c->problem);
        return -1;
    }
    const char *misplaced = !data_problem && c->data_given
                                ? "--data, --format and --label-column do"
                            : !data_problem && c->l2_given ? "--l2 does"
                            : !lse && c->random_given ? "--rows, --dim, --mu and --seed do"
                            : c->intercept_given && strcmp(c->problem, "logistic") != 0
                                ? "--intercept does"
                                : NULL;
    if (misplaced != NULL) {
        cli_error("%s not apply to --problem %s; run 'stochopt newton --help'", misplaced,
                  c->problem);
        return -1;
    }
    if (check_curvature(c, data_problem, lse) != 0)
        return -1;
    if (lse && (double)c->rows * (double)c->dim > LSE_VALUES_MAX) {
        cli_error("--rows %ld --dim %ld: %.3g entries in A; expected at most %.0e", c->rows,
                  c->dim, (double)c->rows * (double)c->dim, LSE_VALUES_MAX);
        return -1;
    }
    if (cli_check_output_path("--history", c->history) != 0 ||
        cli_check_output_path("--out", c->out) != 0 ||
        cli_check_distinct("--data", c->data, "--history", c->history) != 0 ||
        cli_check_distinct("--data", c->data, "--out", c->out) != 0 ||
        cli_check_distinct("--history", c->history, "--out", c->out) != 0)
        return -1;
    return 0;
}

static int handle_option(int code, const char *arg, void *ctx)
{
    return parse_option(code, arg, ctx);
}

/* Returns -1 on a usage error, 1 when --help was handled, 0 to run. */
static int parse_args(int argc, char **argv, newton_cli *c)
{
    memset(c, 0, sizeof *c);
    c->opt = so_newton_options_default();
    c->format = "auto";
    c->l2 = 1e-3;
    c->rows = 200;
    c->dim = 50;
    c->mu = 0.05;
    c->seed = LSE_SEED_DEFAULT;
    c->label_column = -1;
    int status = cli_parse_options(argc, argv, "newton", NEWTON_OPTIONS, handle_option, c);
    if (status == CLI_HELP) {
        newton_usage(stdout);
        return 1;
    }
    if (status != 0)
        return -1;
    return check_problem(c);
}

/* A known solution of the problem, when there is one. */
typedef struct known_optimum {
    double *x_star; /* n values or NULL */
    double f_star;  /* NaN when unknown */
} known_optimum;

/* Builds log-sum-exp with rows a_i ~ N(0, I) and b_i ~ N(0, 1). Every row is then
 * shifted by -grad f(0), so that grad f(0) = 0 and f* = f(0). The minimizer x = 0 is
 * not unique (f is nearly flat around it for small mu), so only f* is stored. The start
 * has entries +-1/sqrt(n). */
static int make_logsumexp(const newton_cli *c, so_problem *p, double *x0, known_optimum *k)
{
    const size_t rows = (size_t)c->rows, n = (size_t)c->dim;
    double *A = malloc(rows * n * sizeof *A), *b = malloc(rows * sizeof *b);
    double *g = malloc(n * sizeof *g);
    int status = A && b && g ? SO_OK : SO_ERR_NOMEM;
    if (status == SO_OK) {
        so_rng rng;
        so_rng_init(&rng, c->seed, 0);
        for (size_t q = 0; q < rows * n; q++)
            A[q] = so_rng_normal(&rng);
        for (size_t i = 0; i < rows; i++)
            b[i] = so_rng_normal(&rng);
        memset(x0, 0, n * sizeof *x0);
        status = so_problem_logsumexp(p, A, b, rows, n, c->mu);
    }
    if (status == SO_OK)
        status = so_problem_value_grad(p, x0, &k->f_star, g);
    so_problem_destroy(p);
    if (status == SO_OK) {
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < n; j++)
                A[i * n + j] -= g[j];
        status = so_problem_logsumexp(p, A, b, rows, n, c->mu);
    }
    if (status == SO_OK)
        status = so_problem_value_grad(p, x0, &k->f_star, NULL);
    for (size_t j = 0; j < n; j++)
        x0[j] = (j % 2 == 0 ? 1.0 : -1.0) / sqrt((double)n);
    free(A);
    free(b);
    free(g);
    return status;
}

static int make_data_problem(const newton_cli *c, so_problem *p)
{
    so_dataset *ds = NULL;
    int rc = cli_load_dataset("--data", c->data, c->format, c->label_column, &ds);
    if (rc != 0)
        return rc;
    int status = SO_OK;
    int softmax = strcmp(c->problem, "softmax") == 0;
    if (strcmp(c->problem, "least-squares") != 0)
        status = so_dataset_encode_labels(ds, softmax ? 100000 : 2);
    double n = (double)ds->d * (softmax && status == SO_OK ? ds->num_classes : 1) +
               (c->intercept ? 1 : 0);
    if (status == SO_OK && n > VARIABLES_MAX) {
        cli_error("--data %s: %zu features%s give %.0f variables; expected at most %d for "
                  "the dense Hessian; use stochopt sso or train for wide data", c->data,
                  ds->d, softmax ? " times the classes" : "", n, VARIABLES_MAX);
        so_dataset_free(&ds);
        return CLI_EXIT_USAGE;
    }
    if (status == SO_OK && strcmp(c->problem, "logistic") == 0)
        status = so_problem_logistic(p, ds, c->l2, c->intercept);
    else if (status == SO_OK && strcmp(c->problem, "softmax") == 0)
        status = so_problem_softmax(p, ds, c->l2);
    else if (status == SO_OK)
        status = so_problem_least_squares(p, ds, c->l2);
    so_dataset_free(&ds);
    if (status != SO_OK) {
        cli_error("--data %s: %s", c->data, so_last_error());
        return status == SO_ERR_NOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
    }
    return 0;
}

/* Builds the problem and its start into *x0 (allocated). Returns 0 or an exit status
 * after printing the error. */
static int make_problem(const newton_cli *c, so_problem *p, double **x0, known_optimum *k)
{
    int status = SO_OK;
    k->x_star = NULL;
    k->f_star = NAN;
    if (c->data != NULL) {
        int rc = make_data_problem(c, p);
        if (rc != 0)
            return rc;
    } else if (c->rosenbrock_n > 0) {
        status = so_problem_rosenbrock(p, (size_t)c->rosenbrock_n);
    }
    size_t n = c->data == NULL && c->rosenbrock_n == 0 ? (size_t)c->dim : p->n;
    if (status == SO_OK && (*x0 = calloc(n, sizeof **x0)) == NULL)
        status = SO_ERR_NOMEM;
    if (status == SO_OK && c->data == NULL && c->rosenbrock_n == 0)
        status = make_logsumexp(c, p, *x0, k);
    else if (status == SO_OK && p->x0 != NULL)
        memcpy(*x0, p->x0, n * sizeof **x0);
    if (status != SO_OK) {
        cli_error("--problem %s: %s", c->problem, so_last_error());
        return status == SO_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    }
    return 0;
}

/* Collects the CSV history through the per-iteration callback. */
static int history_row(void *user, const so_newton_record *r, const double *x)
{
    (void)x;
    fprintf(user, "%ld,%.17g,%.17g,%.17g,%d,%.17g,%.6f,%ld\n", r->iteration, r->f,
            r->grad_norm, r->gamma, r->trials, r->step_norm, r->time, r->factorizations);
    return 0;
}

static const char *status_text(int status)
{
    if (status == SO_OK)
        return "converged";
    if (status == SO_NOT_CONVERGED)
        return "not converged (|grad f| above --tol after --max-iter iterations)";
    return "failed";
}

static void print_result(const newton_cli *c, const so_problem *p, const double *x,
                         const known_optimum *k, const so_newton_result *r, int status)
{
    printf("problem         %s (n %zu)\n", c->problem, p->n);
    printf("method          %s, curvature %s\n", so_newton_method_name(c->opt.method),
           so_curvature_name(c->opt.curvature));
    printf("status          %s\n", status_text(status));
    printf("iterations      %ld (%ld trials, %ld factorizations, %ld failed)\n",
           r->iterations, r->trials, r->factorizations, r->failed_factorizations);
    if (c->data != NULL)
        printf("f               %.17g (mean loss + l2/2 |w|^2, l2 = %g)\n", r->f, c->l2);
    else
        printf("f               %.17g\n", r->f);
    printf("|grad f|        %.6e\n", r->grad_norm);
    const double *x_star = k->x_star != NULL ? k->x_star : p->x_star;
    double f_star = isfinite(k->f_star) ? k->f_star : p->f_star;
    if (x_star != NULL) {
        double sq = 0;
        for (size_t i = 0; i < p->n; i++)
            sq += (x[i] - x_star[i]) * (x[i] - x_star[i]);
        printf("|x - x*|        %.6e\n", sqrt(sq));
    }
    if (isfinite(f_star))
        printf("f - f*          %.6e\n", r->f - f_star);
    if (p->n <= 10) {
        printf("x              ");
        for (size_t i = 0; i < p->n; i++)
            printf(" %.10g", x[i]);
        printf("\n");
    }
    printf("time            %.3f s\n", r->time);
}

/* Prints the error of a failed run in terms of the command-line options. */
static void print_failure(const newton_cli *c, const so_newton_result *r, int status)
{
    const char *detail = so_last_error();
    if (status == SO_ERR_UNSUPPORTED) {
        cli_error("--curvature %s: %s", so_curvature_name(c->opt.curvature), detail);
        return;
    }
    if (status == SO_ERR_NUMERIC && strstr(detail, "rejected all") != NULL) {
        cli_error("%s rejected all %d trials after %ld iterations with |grad f| = %.3g. "
                  "When |grad f| is near rounding error, --tol %g is too small for double "
                  "precision, so raise --tol; otherwise raise --max-trials",
                  so_newton_method_name(c->opt.method), c->opt.max_trials, r->iterations,
                  r->grad_norm, c->opt.grad_tol);
        return;
    }
    cli_error("%s", detail);
}

/* Runs the method, writing the history into a memory stream when requested. */
static int run_newton(newton_cli *c, const so_problem *p, double *x, so_newton_result *r,
                      char **text, size_t *length)
{
    FILE *f = NULL;
    if (c->history != NULL) {
        f = open_memstream(text, length);
        if (f == NULL) {
            cli_error("--history %s: out of memory for the history", c->history);
            return SO_ERR_NOMEM;
        }
        fprintf(f, "iteration,f,grad_norm,gamma,trials,step_norm,seconds,factorizations\n");
        c->opt.callback = history_row;
        c->opt.callback_user = f;
    }
    int status = so_newton_minimize(p, x, &c->opt, r);
    if (f != NULL)
        fclose(f);
    return status;
}

int cli_newton(int argc, char **argv)
{
    newton_cli c;
    int parsed = parse_args(argc, argv, &c);
    if (parsed != 0)
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    so_problem p;
    memset(&p, 0, sizeof p);
    double *x = NULL;
    known_optimum k;
    int rc = make_problem(&c, &p, &x, &k);
    if (rc != 0) {
        so_problem_destroy(&p);
        free(x);
        free(k.x_star);
        return rc;
    }
    so_newton_result r;
    memset(&r, 0, sizeof r);
    char *text = NULL;
    size_t length = 0;
    double f0 = NAN;
    if (so_problem_value_grad(&p, x, &f0, NULL) != SO_OK)
        f0 = NAN;
    int status = run_newton(&c, &p, x, &r, &text, &length);
    if (status < 0)
        print_failure(&c, &r, status);
    if (status == SO_ERR_UNSUPPORTED || status == SO_ERR_INVALID) {
        rc = CLI_EXIT_USAGE;
        free(text);
    } else {
        rc = status == SO_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        print_result(&c, &p, x, &k, &r, status);
        /* The methods accept only trials that decrease f, so a rise is a bug. */
        if (r.f > f0) {
            cli_error("f rose from %.6g at the start to %.6g; the run did not minimize f, "
                      "so try --method damped-newton or a smaller --gamma0", f0, r.f);
            rc = CLI_EXIT_FAILURE;
        }
        if (c.history != NULL && cli_write_text("--history", c.history, text, length) != 0)
            rc = CLI_EXIT_FAILURE;
        if (c.out != NULL && cli_write_vector("--out", c.out, x, p.n) != 0)
            rc = CLI_EXIT_FAILURE;
    }
    so_problem_destroy(&p);
    free(x);
    free(k.x_star);
    return rc;
}
