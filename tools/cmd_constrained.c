/* stochopt constrained: equality-constrained test problems solved by AdaSketch-Newton. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stochopt/constrained.h"
#include "stochopt/data.h"
#include "stochopt/problem.h"

/* pde:N has n = 2 N^2 variables and m = N^2 constraints. so_adasketch_newton takes
 * n + m <= 46340, so N <= 124.
 * NOTE: the dense KKT matrix then has (n + m)^2 entries, 17 GB at N = 124, so large N
 * (and logistic data with tens of thousands of features) can still fail for memory. */
enum { LOGISTIC_ROWS_DEFAULT = 5, PDE_N_MAX = 124 };

/* Default seconds between progress lines on stderr. */
#define PROGRESS_SECONDS_DEFAULT 2.0

typedef struct constrained_cli {
    const char *problem, *data, *format, *history, *out;
    long rows, pde_n;
    int rows_given;
    double progress_seconds; /* 0 prints every iteration, negative prints none */
    so_adasketch_options opt;
} constrained_cli;

/* State of the progress lines: wall time of the last line and sketch steps so far. */
typedef struct progress_state {
    double interval, last;
    long sketch_steps;
} progress_state;

static void constrained_usage(FILE *out)
{
    so_adasketch_options d;
    so_adasketch_options_default(&d);
    fprintf(out,
        "Usage: stochopt constrained --problem NAME [OPTIONS]\n"
        "\n"
        "Minimizes f(x) subject to c(x) = 0 by AdaSketch-Newton: Newton steps on the KKT\n"
        "conditions, solved inexactly by randomized sketching, with a line search on the\n"
        "exact augmented Lagrangian (docs/constrained/adasketch.md).\n"
        "\n"
        "Problem:\n"
        "  --problem NAME      hs6, hs7, hs28, bt2, booth (Hock-Schittkowski and CUTEst\n"
        "                      problems with known solutions), pde:N (optimal control on\n"
        "                      an N x N grid, 1 <= N <= %d) or logistic (logistic\n"
        "                      regression with |w| = 1 and Gaussian linear constraints)\n"
        "  --data FILE         data set of --problem logistic, two classes (LIBSVM, CSV\n"
        "                      or NPY)\n"
        "  --format NAME       auto, libsvm, csv or npy (default auto: by extension)\n"
        "  --rows K            Gaussian constraints A w = b of --problem logistic\n"
        "                      (default %d)\n"
        "Method:\n"
        "  --solver NAME       kaczmarz (default), gaussian or lu (dense LAPACK solve).\n"
        "                      On pde:N, kaczmarz and gaussian take on the order of 1e5\n"
        "                      sketch steps per iteration and thousands of iterations\n"
        "                      (pde:8: 4776 iterations, minutes). lu is the fast choice\n"
        "                      for small problems: pde:32 converges in one iteration\n"
        "                      (about 1.5 s on 2 cores)\n"
        "  --tol T             stop when the KKT residual |(grad_x L, c)| <= T\n"
        "                      (default %g)\n"
        "  --max-iter N        Newton iterations (default %ld)\n"
        "  --seed S            sketches use random stream (S, iteration); with logistic S\n"
        "                      also draws A and b (default %llu)\n"
        "  --mu0 M             initial penalty on |c|^2 (default %g)\n"
        "  --nu0 V             initial weight of |grad_x L|^2 (default %g)\n"
        "  --delta0 D          initial sketching accuracy (default %g)\n"
        "  --delta-min D       floor of the sketching accuracy (default %g)\n"
        "  --max-sketch N      sketch steps per direction (default %ld)\n"
        "Output:\n"
        "  --progress S        print iteration, KKT residual and sketch steps so far to\n"
        "                      stderr at most every S seconds of wall time; 0 prints\n"
        "                      every iteration, -1 none (default %g)\n"
        "  --history FILE      write one CSV row per iteration\n"
        "  --out FILE          write x, one value per line, or NPY when FILE ends in .npy\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit status: 0 converged, 1 not converged or numerical failure, 2 bad usage or\n"
        "input.\n",
        PDE_N_MAX, LOGISTIC_ROWS_DEFAULT, d.tol, d.max_iter, (unsigned long long)d.seed,
        d.mu0, d.nu0, d.delta0, d.delta_min, d.max_sketch, PROGRESS_SECONDS_DEFAULT);
}

enum { OPT_PROBLEM = 256, OPT_DATA, OPT_FORMAT, OPT_ROWS, OPT_SOLVER, OPT_TOL, OPT_MAX_ITER,
       OPT_SEED, OPT_MU0, OPT_NU0, OPT_DELTA0, OPT_DELTA_MIN, OPT_MAX_SKETCH, OPT_HISTORY,
       OPT_OUT, OPT_PROGRESS };

static const struct option CONSTRAINED_OPTIONS[] = {
    {"problem", required_argument, NULL, OPT_PROBLEM},
    {"data", required_argument, NULL, OPT_DATA},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"solver", required_argument, NULL, OPT_SOLVER},
    {"tol", required_argument, NULL, OPT_TOL},
    {"max-iter", required_argument, NULL, OPT_MAX_ITER},
    {"seed", required_argument, NULL, OPT_SEED},
    {"mu0", required_argument, NULL, OPT_MU0},
    {"nu0", required_argument, NULL, OPT_NU0},
    {"delta0", required_argument, NULL, OPT_DELTA0},
    {"delta-min", required_argument, NULL, OPT_DELTA_MIN},
    {"max-sketch", required_argument, NULL, OPT_MAX_SKETCH},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"out", required_argument, NULL, OPT_OUT},
    {"progress", required_argument, NULL, OPT_PROGRESS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_solver(const char *arg, so_kkt_solver *solver)
{
    const so_kkt_solver all[] = {SO_KKT_KACZMARZ, SO_KKT_GAUSSIAN, SO_KKT_LU};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(arg, so_kkt_solver_name(all[i])) == 0) {
            *solver = all[i];
            return 0;
        }
    cli_error("--solver: unknown solver '%s'; expected kaczmarz, gaussian or lu", arg);
    return -1;
}

/* Handles one option. Returns 0, or -1 after printing an error. */
static int parse_option(int code, const char *arg, constrained_cli *c)
{
    so_adasketch_options *o = &c->opt;
    long v;
    switch (code) {
    case OPT_PROBLEM: c->problem = arg; return 0;
    case OPT_DATA: c->data = arg; return 0;
    case OPT_FORMAT: c->format = arg; return 0;
    case OPT_HISTORY: c->history = arg; return 0;
    case OPT_OUT: c->out = arg; return 0;
    case OPT_SOLVER: return parse_solver(arg, &o->solver);
    case OPT_ROWS:
        c->rows_given = 1;
        return cli_parse_long("--rows", arg, 1, 100000, &c->rows);
    case OPT_TOL: return cli_parse_double("--tol", arg, 0, 1e300, &o->tol);
    case OPT_MAX_ITER: return cli_parse_long("--max-iter", arg, 0, 1000000000L, &o->max_iter);
    case OPT_SEED:
        if (cli_parse_long("--seed", arg, 0, 9223372036854775807L, &v) != 0)
            return -1;
        o->seed = (uint64_t)v;
        return 0;
    case OPT_MU0: return cli_parse_double("--mu0", arg, 1e-300, 1e300, &o->mu0);
    case OPT_NU0: return cli_parse_double("--nu0", arg, 1e-300, 1e300, &o->nu0);
    case OPT_DELTA0: return cli_parse_double("--delta0", arg, 1e-300, 1e300, &o->delta0);
    case OPT_DELTA_MIN:
        return cli_parse_double("--delta-min", arg, 1e-300, 1e300, &o->delta_min);
    case OPT_MAX_SKETCH:
        return cli_parse_long("--max-sketch", arg, 1, 1000000000000L, &o->max_sketch);
    case OPT_PROGRESS:
        if (strcmp(arg, "-1") == 0) {
            c->progress_seconds = -1.0;
            return 0;
        }
        return cli_parse_double("--progress", arg, 0, 1e9, &c->progress_seconds);
    default: return -1;
    }
}

/* Checks --problem and the options that depend on it. Returns 0 or -1 after an error. */
static int check_problem(constrained_cli *c)
{
    static const char *const fixed[] = {"hs6", "hs7", "hs28", "bt2", "booth", "logistic"};
    int known = 0;
    if (c->problem == NULL) {
        cli_error("--problem is required: hs6, hs7, hs28, bt2, booth, pde:N or logistic");
        return -1;
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        known |= strcmp(c->problem, fixed[i]) == 0;
    if (strncmp(c->problem, "pde:", 4) == 0) {
        if (cli_parse_long("--problem pde:N", c->problem + 4, 1, PDE_N_MAX, &c->pde_n) != 0)
            return -1;
        known = 1;
    }
    if (!known) {
        cli_error("--problem: unknown problem '%s'; expected hs6, hs7, hs28, bt2, booth, "
                  "pde:N or logistic", c->problem);
        return -1;
    }
    int logistic = strcmp(c->problem, "logistic") == 0;
    if (logistic && c->data == NULL) {
        cli_error("--problem logistic needs --data FILE, a data set with two classes such "
                  "as tests/data/heart_scale");
        return -1;
    }
    if (!logistic && (c->data != NULL || c->rows_given)) {
        cli_error("%s applies to --problem logistic only", c->data ? "--data" : "--rows");
        return -1;
    }
    if (cli_check_output_path("--history", c->history) != 0 ||
        cli_check_output_path("--out", c->out) != 0 ||
        cli_check_distinct("--data", c->data, "--history", c->history) != 0 ||
        cli_check_distinct("--data", c->data, "--out", c->out) != 0 ||
        cli_check_distinct("--history", c->history, "--out", c->out) != 0)
        return -1;
    if (c->history != NULL &&
        cli_check_history_memory("--history", "--max-iter", c->opt.max_iter + 1,
                                 sizeof(so_adasketch_record)) != 0)
        return -1;
    return 0;
}

static int handle_option(int code, const char *arg, void *ctx)
{
    return parse_option(code, arg, ctx);
}

/* Returns -1 on a usage error, 1 when --help was handled, 0 to run. */
static int parse_args(int argc, char **argv, constrained_cli *c)
{
    memset(c, 0, sizeof *c);
    so_adasketch_options_default(&c->opt);
    c->format = "auto";
    c->rows = LOGISTIC_ROWS_DEFAULT;
    c->progress_seconds = PROGRESS_SECONDS_DEFAULT;
    int status = cli_parse_options(argc, argv, "constrained", CONSTRAINED_OPTIONS, handle_option, c);
    if (status == CLI_HELP) {
        constrained_usage(stdout);
        return 1;
    }
    if (status != 0)
        return -1;
    return check_problem(c);
}

/* Builds the problem. Returns 0 or an exit status after printing the error. */
static int make_problem(const constrained_cli *c, so_problem *p)
{
    int (*const ctor[])(so_problem *) = {so_problem_hs6, so_problem_hs7, so_problem_hs28,
                                         so_problem_bt2, so_problem_booth};
    static const char *const names[] = {"hs6", "hs7", "hs28", "bt2", "booth"};
    int status = SO_ERR_INVALID;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(c->problem, names[i]) == 0)
            status = ctor[i](p);
    if (c->pde_n > 0)
        status = so_problem_pde_control(p, (size_t)c->pde_n);
    if (c->data != NULL) {
        so_dataset *ds = NULL;
        int rc = cli_load_dataset("--data", c->data, c->format, -1, &ds);
        if (rc != 0)
            return rc;
        status = so_problem_constrained_logistic(p, ds, (size_t)c->rows, c->opt.seed);
        so_dataset_free(&ds);
        if (status == SO_OK && p->n + p->m > 46340) {
            cli_error("--data %s: %zu variables and %zu constraints (--rows %ld); expected "
                      "n + m <= 46340 for the dense KKT system; use fewer features", c->data,
                      p->n, p->m, c->rows);
            so_problem_destroy(p);
            return CLI_EXIT_USAGE;
        }
        if (status == SO_ERR_INVALID) {
            cli_error("--data %s: %s", c->data, so_last_error());
            return CLI_EXIT_USAGE;
        }
    }
    if (status != SO_OK) {
        cli_error("--problem %s: %s", c->problem, so_last_error());
        return status == SO_ERR_NOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
    }
    return 0;
}

static int write_history(const char *path, const so_adasketch_stats *st)
{
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (f == NULL)
        return cli_write_text("--history", path, NULL, 0);
    fprintf(f, "iteration,kkt,f,c_norm,mu,nu,delta,shift,alpha,sketch_iters,flops,seconds\n");
    for (size_t k = 0; k < st->history_len; k++) {
        const so_adasketch_record *r = &st->history[k];
        fprintf(f, "%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%ld,%.17g,%.6f\n",
                r->iter, r->kkt, r->f, r->c_norm, r->mu, r->nu, r->delta, r->shift,
                r->alpha, r->sketch_iters, r->flops, r->seconds);
    }
    fclose(f);
    return cli_write_text("--history", path, text, length);
}

/* Prints a progress line to stderr when the interval has passed since the last one.
 * Record 0 (the start) only starts the clock. */
static int print_progress(void *user, const so_adasketch_record *rec)
{
    progress_state *ps = user;
    ps->sketch_steps += rec->sketch_iters;
    if (rec->iter == 0) {
        ps->last = rec->seconds;
        return 0;
    }
    if (rec->seconds - ps->last < ps->interval)
        return 0;
    ps->last = rec->seconds;
    fprintf(stderr, "stochopt: iteration %ld, KKT residual %.3e, %ld sketch steps, %.1f s\n",
            rec->iter, rec->kkt, ps->sketch_steps, rec->seconds);
    fflush(stderr);
    return 0;
}

static const char *status_text(int status)
{
    if (status == SO_OK)
        return "converged";
    if (status == SO_NOT_CONVERGED)
        return "not converged (KKT residual above --tol after --max-iter iterations)";
    return "failed";
}

static void print_result(const constrained_cli *c, const so_problem *p, const double *x,
                         const so_adasketch_stats *st, int status)
{
    printf("problem         %s (n %zu, m %zu)\n", p->name ? p->name : c->problem, p->n, p->m);
    printf("solver          %s\n", so_kkt_solver_name(c->opt.solver));
    printf("status          %s\n", status_text(status));
    printf("iterations      %ld (%ld sketch steps)\n", st->iterations, st->sketch_iters);
    printf("KKT residual    %.6e\n", st->kkt);
    printf("f               %.17g\n", st->f);
    printf("|c|             %.6e\n", st->c_norm);
    if (p->x_star != NULL) {
        double sq = 0, mx = 0;
        for (size_t i = 0; i < p->n; i++) {
            double e = fabs(x[i] - p->x_star[i]);
            sq += e * e;
            mx = e > mx ? e : mx;
        }
        printf("|x - x*|        %.6e (max abs %.6e)\n", sqrt(sq), mx);
    }
    if (isfinite(p->f_star))
        printf("f - f*          %.6e\n", st->f - p->f_star);
    if (p->n <= 10) {
        printf("x              ");
        for (size_t i = 0; i < p->n; i++)
            printf(" %.10g", x[i]);
        printf("\n");
    }
    printf("time            %.3f s\n", st->seconds);
}

int cli_constrained(int argc, char **argv)
{
    constrained_cli c;
    int parsed = parse_args(argc, argv, &c);
    if (parsed != 0)
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    so_problem p;
    memset(&p, 0, sizeof p);
    int rc = make_problem(&c, &p);
    if (rc != 0)
        return rc;
    double *x = calloc(p.n, sizeof *x);
    if (x == NULL) {
        cli_error("out of memory for %zu variables", p.n);
        so_problem_destroy(&p);
        return CLI_EXIT_FAILURE;
    }
    if (p.x0 != NULL)
        memcpy(x, p.x0, p.n * sizeof *x);
    so_adasketch_stats st;
    memset(&st, 0, sizeof st);
    c.opt.record_history = c.history != NULL;
    progress_state progress = {c.progress_seconds, 0.0, 0};
    if (c.progress_seconds >= 0) {
        c.opt.callback = print_progress;
        c.opt.callback_user = &progress;
    }
    int status = so_adasketch_newton(&p, &c.opt, x, NULL, &st);
    if (status < 0) {
        cli_error("%s", so_last_error());
        rc = status == SO_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    } else {
        rc = status == SO_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    }
    /* An error before the first iteration leaves no result to print. */
    if (status != SO_ERR_INVALID && (status >= 0 || st.iterations > 0)) {
        print_result(&c, &p, x, &st, status);
        if (c.history != NULL && write_history(c.history, &st) != 0)
            rc = CLI_EXIT_FAILURE;
        if (c.out != NULL && cli_write_vector("--out", c.out, x, p.n) != 0)
            rc = CLI_EXIT_FAILURE;
    }
    so_adasketch_stats_free(&st);
    so_problem_destroy(&p);
    free(x);
    return rc;
}
