/* stochopt sso: linear models trained by target-based surrogate optimization (SSO), SGD
 * or SGD with a stochastic line search (SLS). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/sso.h"

#define STEPS_MAX 1e9 /* outer steps, from --iters or --epochs */

typedef struct sso_cli {
    const char *data, *format, *history, *out;
    so_sso_loss loss;
    int intercept;
    double epochs;          /* > 0 when --epochs sets the step count */
    double target_loss;     /* NaN unless --target-loss */
    int iters_given, sso_only_given;
    const char *sso_only;   /* the last SSO-only option given, for the error message */
    const char *steps_option; /* --iters or --max-iter, as given */
    int label_column;
    so_sso_options opt;
} sso_cli;

static void sso_usage(FILE *out)
{
    so_sso_options d = so_sso_options_default();
    fprintf(out,
        "Usage: stochopt sso --data FILE [OPTIONS]\n"
        "\n"
        "Trains a linear model x . w (+ b) on the mean loss over the rows of FILE. SSO\n"
        "takes one batch gradient of the loss per outer step and then M cheap steps on a\n"
        "surrogate: the loss linearized at the current outputs z plus |f - z|^2 / (2 ETA)\n"
        "for outputs f (docs/optim/sso.md). SGD and SLS run on the same batches. There\n"
        "is no regularization term: the loss reported is the mean loss alone, while\n"
        "stochopt newton adds l2/2 |w|^2 to its f.\n"
        "\n"
        "Problem:\n"
        "  --data FILE         data set (LIBSVM, CSV or NPY; required)\n"
        "  --format NAME       auto, libsvm, csv or npy (default auto: by extension)\n"
        "  --label-column K    CSV/NPY column with the target, -1 for the last (default)\n"
        "  --loss NAME         logistic (two classes, targets +-1 or 0/1, default),\n"
        "                      squared or softmax (two or more classes)\n"
        "  --intercept         add an intercept b\n"
        "Method:\n"
        "  --method NAME       sso (default), sgd or sls (SGD with an Armijo line search).\n"
        "                      sls accepts the first trial step when it passes the Armijo\n"
        "                      test, which the default --lr 0.1 does on every step of\n"
        "                      heart_scale, so sls then gives the same result as sgd bit\n"
        "                      for bit. Give sls a larger --lr: the step grids in\n"
        "                      docs/optim/sso.md found first steps of 1 or 10 best in 7\n"
        "                      of its 10 tables\n"
        "  --batch B           rows per batch (default %zu; B >= rows uses every row)\n"
        "  --lr A              inner step of SSO with gd, SGD's learning rate, or the\n"
        "                      first trial step of each Armijo search (default %g)\n"
        "  --m M               SSO: surrogate steps per outer step (default %ld)\n"
        "  --eta E             SSO: step in target space (default %g)\n"
        "  --inner NAME        SSO: gd (fixed step, default) or armijo (backtracking)\n"
        "  --iters N           outer steps (default %ld); --max-iter N is the same\n"
        "  --epochs E          outer steps of E passes over the data, ceil(E rows / B),\n"
        "                      instead of --iters\n"
        "  --seed S            batches of epoch e come from random stream (S, e)\n"
        "                      (default %llu)\n"
        "Output:\n"
        "  --target-loss L     report the first step whose full loss is <= L\n"
        "  --history FILE      write one CSV row per outer step (the full loss is then\n"
        "                      computed after every step)\n"
        "  --out FILE          write the parameters, one value per line, or NPY when FILE\n"
        "                      ends in .npy (row-major, intercept last)\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit status: 0 success, 1 numerical failure or a final full loss above the\n"
        "initial one, 2 bad usage or input.\n",
        d.batch_size, d.alpha, d.inner_steps, d.eta, d.outer_iters,
        (unsigned long long)d.seed);
}

enum { OPT_DATA = 256, OPT_FORMAT, OPT_LOSS, OPT_INTERCEPT, OPT_METHOD, OPT_BATCH, OPT_LR,
       OPT_M, OPT_ETA, OPT_INNER, OPT_ITERS, OPT_EPOCHS, OPT_SEED, OPT_TARGET, OPT_HISTORY,
       OPT_OUT, OPT_MAX_ITER, OPT_LABEL_COLUMN };

static const struct option SSO_OPTIONS[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"intercept", no_argument, NULL, OPT_INTERCEPT},
    {"method", required_argument, NULL, OPT_METHOD},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"lr", required_argument, NULL, OPT_LR},
    {"m", required_argument, NULL, OPT_M},
    {"eta", required_argument, NULL, OPT_ETA},
    {"inner", required_argument, NULL, OPT_INNER},
    {"iters", required_argument, NULL, OPT_ITERS},
    {"max-iter", required_argument, NULL, OPT_MAX_ITER},
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"target-loss", required_argument, NULL, OPT_TARGET},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"out", required_argument, NULL, OPT_OUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const LOSS_NAMES[] = {"squared", "logistic", "softmax"};
static const char *const METHOD_NAMES[] = {"sso", "sgd", "sls"};
static const char *const INNER_NAMES[] = {"gd", "armijo"};

/* Index of arg in names, or -1 after an error naming the option. */
static int lookup(const char *option, const char *arg, const char *const *names, int count,
                  const char *expected)
{
    for (int i = 0; i < count; i++)
        if (strcmp(arg, names[i]) == 0)
            return i;
    cli_error("%s: unknown value '%s'; expected %s", option, arg, expected);
    return -1;
}

static int parse_name_option(int code, const char *arg, sso_cli *c)
{
    int k;
    switch (code) {
    case OPT_LOSS:
        if ((k = lookup("--loss", arg, LOSS_NAMES, 3, "logistic, squared or softmax")) < 0)
            return -1;
        c->loss = (so_sso_loss)k;
        return 0;
    case OPT_METHOD:
        if ((k = lookup("--method", arg, METHOD_NAMES, 3, "sso, sgd or sls")) < 0)
            return -1;
        c->opt.method = (so_sso_method)k;
        return 0;
    case OPT_INNER:
        if ((k = lookup("--inner", arg, INNER_NAMES, 2, "gd or armijo")) < 0)
            return -1;
        c->opt.inner = (so_sso_inner)k;
        return 0;
    default:
        return 1;
    }
}

/* Handles one option. Returns 0, or -1 after printing an error. */
static int parse_option(int code, const char *arg, sso_cli *c)
{
    so_sso_options *o = &c->opt;
    long v;
    if (code == OPT_M || code == OPT_ETA || code == OPT_INNER) {
        c->sso_only_given = 1;
        if (code == OPT_M)
            c->sso_only = "--m";
        else if (code == OPT_ETA)
            c->sso_only = "--eta";
        else
            c->sso_only = "--inner";
    }
    int rc = parse_name_option(code, arg, c);
    if (rc <= 0)
        return rc;
    switch (code) {
    case OPT_DATA: c->data = arg; return 0;
    case OPT_FORMAT: c->format = arg; return 0;
    case OPT_HISTORY: c->history = arg; return 0;
    case OPT_OUT: c->out = arg; return 0;
    case OPT_INTERCEPT: c->intercept = 1; return 0;
    case OPT_BATCH:
        if (cli_parse_long("--batch", arg, 1, 1000000000000L, &v) != 0)
            return -1;
        o->batch_size = (size_t)v;
        return 0;
    case OPT_LR: return cli_parse_double("--lr", arg, 1e-300, 1e300, &o->alpha);
    case OPT_M: return cli_parse_long("--m", arg, 1, 1000000000L, &o->inner_steps);
    case OPT_ETA: return cli_parse_double("--eta", arg, 1e-300, 1e300, &o->eta);
    case OPT_ITERS:
    case OPT_MAX_ITER:
        c->iters_given = 1;
        c->steps_option = code == OPT_ITERS ? "--iters" : "--max-iter";
        return cli_parse_long(c->steps_option, arg, 0, (long)STEPS_MAX, &o->outer_iters);
    case OPT_LABEL_COLUMN: return cli_parse_label_column(arg, &c->label_column);
    case OPT_EPOCHS: return cli_parse_double("--epochs", arg, 1e-300, 1e9, &c->epochs);
    case OPT_SEED:
        if (cli_parse_long("--seed", arg, 0, 9223372036854775807L, &v) != 0)
            return -1;
        o->seed = (uint64_t)v;
        return 0;
    case OPT_TARGET:
        return cli_parse_double("--target-loss", arg, -1e300, 1e300, &c->target_loss);
    default: return -1;
    }
}

static int check_options(const sso_cli *c)
{
    if (c->data == NULL) {
        cli_error("--data FILE is required, such as --data tests/data/heart_scale");
        return -1;
    }
    if (c->iters_given && c->epochs > 0) {
        cli_error("%s and --epochs both set the number of steps; give one of them",
                  c->steps_option);
        return -1;
    }
    if (c->sso_only_given && c->opt.method != SO_SSO_METHOD_SSO) {
        cli_error("%s does not apply to --method %s; --m, --eta and --inner set the SSO "
                  "inner loop", c->sso_only, METHOD_NAMES[c->opt.method]);
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
static int parse_args(int argc, char **argv, sso_cli *c)
{
    memset(c, 0, sizeof *c);
    c->opt = so_sso_options_default();
    c->format = "auto";
    c->loss = SO_SSO_LOGISTIC;
    c->target_loss = NAN;
    c->steps_option = "--iters";
    c->label_column = -1;
    int status = cli_parse_options(argc, argv, "sso", SSO_OPTIONS, handle_option, c);
    if (status == CLI_HELP) {
        sso_usage(stdout);
        return 1;
    }
    if (status != 0)
        return -1;
    return check_options(c);
}

static int write_history(const char *path, const so_sso_record *h, size_t count)
{
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (f == NULL)
        return cli_write_text("--history", path, NULL, 0);
    fprintf(f, "iteration,expensive_grads,cheap_grads,loss_evals,surrogate_evals,step,loss\n");
    for (size_t k = 0; k < count; k++)
        fprintf(f, "%ld,%ld,%ld,%ld,%ld,%.17g,%.17g\n", h[k].iteration, h[k].expensive_grads,
                h[k].cheap_grads, h[k].loss_evals, h[k].surrogate_evals, h[k].step,
                h[k].loss);
    fclose(f);
    return cli_write_text("--history", path, text, length);
}

static void print_method(const so_sso_options *o)
{
    printf("method          %s", METHOD_NAMES[o->method]);
    if (o->method == SO_SSO_METHOD_SSO)
        printf(" (m %ld, eta %g, inner %s, lr %g)", o->inner_steps, o->eta,
               INNER_NAMES[o->inner], o->alpha);
    else
        printf(" (lr %g)", o->alpha);
    printf(", batch %zu, seed %llu\n", o->batch_size, (unsigned long long)o->seed);
}

static void print_result(const sso_cli *c, const so_sso_problem *p, const so_sso_result *r,
                         const so_sso_record *h, double seconds)
{
    size_t rows = so_sso_problem_rows(p);
    size_t batch = c->opt.batch_size < rows ? c->opt.batch_size : rows;
    printf("data            %s: %zu rows, %zu parameters, %s loss%s\n", c->data, rows,
           so_sso_problem_params(p), LOSS_NAMES[c->loss], c->intercept ? ", intercept" : "");
    print_method(&c->opt);
    printf("steps           %ld (%.3g epochs)\n", r->iterations,
           (double)r->iterations * (double)batch / (double)rows);
    printf("gradients       %ld batch loss gradients, %ld surrogate gradients\n",
           r->expensive_grads, r->cheap_grads);
    printf("evaluations     %ld batch losses, %ld surrogates\n", r->loss_evals,
           r->surrogate_evals);
    printf("loss            %.17g (mean over all rows)\n", r->loss);
    if (isfinite(c->target_loss)) {
        size_t k = 0;
        while (k < r->history_count && !(h[k].loss <= c->target_loss))
            k++;
        if (k < r->history_count)
            printf("target loss     %g reached at step %ld (%ld batch loss gradients, %ld "
                   "surrogate gradients)\n", c->target_loss, h[k].iteration,
                   h[k].expensive_grads, h[k].cheap_grads);
        else
            printf("target loss     %g not reached\n", c->target_loss);
    }
    printf("time            %.3f s\n", seconds);
}

/* Loads the data into *p. Returns 0 or an exit status after printing the error. */
static int load_problem(const sso_cli *c, so_sso_problem **p)
{
    so_dataset *ds = NULL;
    int rc = cli_load_dataset("--data", c->data, c->format, c->label_column, &ds);
    if (rc != 0)
        return rc;
    int status = so_sso_problem_from_dataset(p, ds, c->loss, c->intercept);
    if (status == SO_ERR_INVALID && c->loss == SO_SSO_LOGISTIC &&
        so_dataset_encode_labels(ds, 100000) == SO_OK && ds->num_classes > 2) {
        cli_error("--data %s: found %d classes; use --loss softmax", c->data,
                  ds->num_classes);
        so_dataset_free(&ds);
        return CLI_EXIT_USAGE;
    }
    so_dataset_free(&ds);
    if (status != SO_OK) {
        cli_error("--data %s: %s", c->data, so_last_error());
        return status == SO_ERR_NOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
    }
    return 0;
}

/* Prints that the run ended above its initial full loss, and which options to change. */
static void report_rise(const so_sso_options *o, double loss0, double loss)
{
    if (o->method == SO_SSO_METHOD_SSO && o->inner == SO_SSO_INNER_GD)
        cli_error("the full loss rose from %.6g at the start to %.6g; lower --lr (now %g) "
                  "or --eta (now %g), or use --inner armijo", loss0, loss, o->alpha, o->eta);
    else if (o->method == SO_SSO_METHOD_SSO)
        cli_error("the full loss rose from %.6g at the start to %.6g; lower --eta (now %g)",
                  loss0, loss, o->eta);
    else
        cli_error("the full loss rose from %.6g at the start to %.6g; lower --lr (now %g)",
                  loss0, loss, o->alpha);
}

/* Runs the method. Returns the exit status. */
static int run_sso(sso_cli *c, const so_sso_problem *p)
{
    size_t params = so_sso_problem_params(p), rows = so_sso_problem_rows(p);
    if (c->epochs > 0) {
        size_t batch = c->opt.batch_size < rows ? c->opt.batch_size : rows;
        double steps = ceil(c->epochs * (double)rows / (double)batch);
        if (steps > STEPS_MAX) {
            cli_error("--epochs %g: %.3g steps of batch %zu; expected at most %.0e steps; "
                      "lower --epochs or raise --batch", c->epochs, steps, batch, STEPS_MAX);
            return CLI_EXIT_USAGE;
        }
        c->opt.outer_iters = (long)steps;
    }
    int want_history = c->history != NULL || isfinite(c->target_loss);
    if (want_history &&
        cli_check_history_memory(c->history != NULL ? "--history" : "--target-loss",
                                 c->epochs > 0 ? "--epochs" : c->steps_option,
                                 c->opt.outer_iters + 1, sizeof(so_sso_record)) != 0)
        return CLI_EXIT_USAGE;
    size_t capacity = want_history ? (size_t)c->opt.outer_iters + 1 : 0;
    double *theta = calloc(params, sizeof *theta);
    so_sso_record *h = want_history ? malloc(capacity * sizeof *h) : NULL;
    if (theta == NULL || (want_history && h == NULL)) {
        cli_error("out of memory for %zu parameters and %zu history rows", params, capacity);
        free(theta);
        free(h);
        return CLI_EXIT_FAILURE;
    }
    so_sso_result r;
    memset(&r, 0, sizeof r);
    double loss0 = NAN;
    if (so_sso_full_loss(p, theta, &loss0, NULL) != SO_OK)
        loss0 = NAN;
    double start = so_time_now();
    int status = so_sso_run(p, &c->opt, theta, h, capacity, &r);
    double seconds = so_time_now() - start;
    int rc = CLI_EXIT_OK;
    if (status != SO_OK) {
        cli_error("%s", so_last_error());
        rc = status == SO_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    }
    if (status != SO_ERR_INVALID) {
        print_result(c, p, &r, h, seconds);
        if (status == SO_OK && r.loss > loss0) {
            report_rise(&c->opt, loss0, r.loss);
            rc = CLI_EXIT_FAILURE;
        }
        if (c->history != NULL && write_history(c->history, h, r.history_count) != 0)
            rc = CLI_EXIT_FAILURE;
        if (c->out != NULL && cli_write_vector("--out", c->out, theta, params) != 0)
            rc = CLI_EXIT_FAILURE;
    }
    free(theta);
    free(h);
    return rc;
}

int cli_sso(int argc, char **argv)
{
    sso_cli c;
    int parsed = parse_args(argc, argv, &c);
    if (parsed != 0)
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    so_sso_problem *p = NULL;
    int rc = load_problem(&c, &p);
    if (rc == 0)
        rc = run_sso(&c, p);
    so_sso_problem_free(&p);
    return rc;
}
