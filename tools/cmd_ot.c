/* stochopt ot: entropic optimal transport between two point clouds or for a cost matrix. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "stochopt/stochopt.h"

static void ot_usage(FILE *out)
{
    fprintf(out,
        "Usage: stochopt ot X Y --reg R [OPTIONS]\n"
        "       stochopt ot C --cost matrix --reg R [OPTIONS]\n"
        "\n"
        "Solves entropic optimal transport, min <C, P> + R sum P log P over plans P with\n"
        "row sums a and column sums b, between the rows of X (n x d) and Y (m x d), or for\n"
        "the n x m cost matrix C. Inputs are NPY files or plain numeric CSV files (a\n"
        "header line without numbers is skipped).\n"
        "\n"
        "Options:\n"
        "  --reg R             entropic regularization, > 0 (required)\n"
        "  --method NAME       sinkhorn (scaling form), log (log domain, default), eps\n"
        "                      (epsilon scaling) or sns (Sinkhorn-Newton-Sparse)\n"
        "  --cost NAME         sqeuclidean (default), euclidean, l1 or matrix\n"
        "  --a FILE, --b FILE  marginals (default uniform); non-negative with equal sums\n"
        "  --plan FILE.npy     write the n x m plan\n"
        "  --tol T             stop at L1 marginal error <= T (default 1e-9)\n"
        "  --max-iter N        iteration limit (default 100000)\n"
        "  --no-fallback       with sinkhorn, fail on kernel underflow instead of\n"
        "                      continuing in the log domain\n"
        "  --threads N         OpenMP threads over rows (default 1)\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit status: 0 converged, 1 not converged or numerical failure, 2 bad usage or\n"
        "input.\n");
}

enum { OPT_REG = 256, OPT_METHOD, OPT_COST, OPT_A, OPT_B, OPT_PLAN, OPT_TOL, OPT_MAX_ITER,
       OPT_NO_FALLBACK, OPT_THREADS };

static const struct option OT_OPTIONS[] = {
    {"reg", required_argument, NULL, OPT_REG},
    {"method", required_argument, NULL, OPT_METHOD},
    {"cost", required_argument, NULL, OPT_COST},
    {"a", required_argument, NULL, OPT_A},
    {"b", required_argument, NULL, OPT_B},
    {"plan", required_argument, NULL, OPT_PLAN},
    {"tol", required_argument, NULL, OPT_TOL},
    {"max-iter", required_argument, NULL, OPT_MAX_ITER},
    {"no-fallback", no_argument, NULL, OPT_NO_FALLBACK},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct ot_cli {
    const char *first, *second, *a_path, *b_path, *plan_path;
    int cost_matrix;       /* --cost matrix */
    so_ot_cost cost;
    so_ot_options opt;
} ot_cli;

/* A dense matrix of doubles read from a file; vectors are n x 1 or 1 x n. */
typedef struct matrix {
    size_t rows, cols;
    double *data;
} matrix;

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Converts an NPY array of any numeric dtype to doubles. */
static int array_to_matrix(const char *path, const so_array *arr, matrix *out)
{
    if (arr->ndim < 1 || arr->ndim > 2 || arr->size == 0) {
        cli_error("%s: expected a non-empty 1-D or 2-D array, found %d dimensions and %zu "
                  "values", path, arr->ndim, arr->size);
        return -1;
    }
    out->rows = arr->shape[0];
    out->cols = arr->ndim == 2 ? arr->shape[1] : 1;
    out->data = malloc(arr->size * sizeof *out->data);
    if (out->data == NULL) {
        cli_error("%s: out of memory for %zu values", path, arr->size);
        return -1;
    }
    for (size_t k = 0; k < arr->size; k++) {
        switch (arr->dtype) {
        case SO_DTYPE_F64: out->data[k] = ((const double *)arr->data)[k]; break;
        case SO_DTYPE_F32: out->data[k] = ((const float *)arr->data)[k]; break;
        case SO_DTYPE_I64: out->data[k] = (double)((const int64_t *)arr->data)[k]; break;
        case SO_DTYPE_I32: out->data[k] = ((const int32_t *)arr->data)[k]; break;
        case SO_DTYPE_U8: out->data[k] = ((const uint8_t *)arr->data)[k]; break;
        default:
            cli_error("%s: dtype %s is not supported; expected float64, float32, int64, "
                      "int32 or uint8", path, so_dtype_name(arr->dtype));
            free(out->data);
            out->data = NULL;
            return -1;
        }
    }
    return 0;
}

/* Parses one CSV field as a finite number; returns 0 on success. */
static int parse_field(const char *s, size_t len, double *value)
{
    char buf[128], *end;
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *value = strtod(buf, &end);
    return *end == '\0' && isfinite(*value) ? 0 : -1;
}

/* Parses one CSV line into out (appending). Returns the field count, or -1 with *bad
 * set to the first field that is not a number. */
static long parse_line(const char *line, size_t len, double **values, size_t *count,
                       size_t *cap, long *bad)
{
    long fields = 0, numeric = 0;
    *bad = -1;
    for (size_t start = 0; start <= len; fields++) {
        size_t stop = start;
        while (stop < len && line[stop] != ',')
            stop++;
        double v;
        if (parse_field(line + start, stop - start, &v) == 0) {
            if (*count == *cap) {
                size_t grown = *cap ? 2 * *cap : 1024;
                double *p = realloc(*values, grown * sizeof *p);
                if (p == NULL)
                    return -2;
                *values = p;
                *cap = grown;
            }
            (*values)[(*count)++] = v;
            numeric++;
        } else if (*bad < 0) {
            *bad = fields;
        }
        start = stop + 1;
    }
    return numeric == 0 ? 0 : (*bad >= 0 ? -1 : fields);
}

static int read_csv(const char *path, matrix *out)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        cli_error("%s: %s", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    char *line = NULL;
    size_t linecap = 0, count = 0, cap = 0, lineno = 0;
    double *values = NULL;
    ssize_t got;
    int status = 0;
    memset(out, 0, sizeof *out);
    while (status == 0 && (got = getline(&line, &linecap, fp)) >= 0) {
        size_t len = (size_t)got;
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        long bad, fields = parse_line(line, len, &values, &count, &cap, &bad);
        if (fields == 0 && out->rows == 0 && lineno == 1)
            continue; /* a header: no field is a number */
        if (fields <= 0) {
            cli_error("%s: line %zu, field %ld: expected a number", path, lineno, bad + 1);
            status = -1;
        } else if (out->rows > 0 && (size_t)fields != out->cols) {
            cli_error("%s: line %zu has %ld fields; expected %zu like the first row", path,
                      lineno, fields, out->cols);
            status = -1;
        } else {
            out->cols = (size_t)fields;
            out->rows++;
        }
    }
    free(line);
    fclose(fp);
    if (status == 0 && out->rows == 0) {
        cli_error("%s: no numeric rows found", path);
        status = -1;
    }
    if (status != 0) {
        free(values);
        return CLI_EXIT_USAGE;
    }
    out->data = values;
    return 0;
}

/* Reads an NPY file or, for any other name, a CSV file. */
static int read_matrix(const char *path, matrix *out)
{
    memset(out, 0, sizeof *out);
    if (!has_suffix(path, ".npy") && !has_suffix(path, ".npy.gz"))
        return read_csv(path, out);
    so_array *arr = NULL;
    if (so_npy_read(path, &arr) != SO_OK) {
        cli_error("%s", so_last_error());
        return CLI_EXIT_USAGE;
    }
    int status = array_to_matrix(path, arr, out);
    so_array_free(&arr);
    return status == 0 ? 0 : CLI_EXIT_USAGE;
}

/* Reads a marginal of `expected` entries, stored as a vector, a row or a column. */
static int read_marginal(const char *option, const char *path, size_t expected, double **out)
{
    matrix w;
    int status = read_matrix(path, &w);
    if (status != 0)
        return status;
    if (w.rows * w.cols != expected || (w.rows != 1 && w.cols != 1)) {
        cli_error("%s %s: %zu x %zu values; expected a vector of %zu masses, one per %s",
                  option, path, w.rows, w.cols, expected,
                  strcmp(option, "--a") == 0 ? "row of the cost" : "column of the cost");
        free(w.data);
        return CLI_EXIT_USAGE;
    }
    *out = w.data;
    return 0;
}

/* Handles one option; returns 0, -1 on a bad value or 1 for --help. */
static int parse_option(int code, const char *arg, ot_cli *c)
{
    long v;
    switch (code) {
    case OPT_REG:
        return cli_parse_double("--reg", arg, 1e-300, 1e300, &c->opt.reg);
    case OPT_TOL:
        return cli_parse_double("--tol", arg, 0.0, 1e300, &c->opt.tol);
    case OPT_MAX_ITER:
        return cli_parse_long("--max-iter", arg, 1, 1000000000L, &c->opt.max_iter);
    case OPT_THREADS:
        if (cli_parse_long("--threads", arg, 1, 4096, &v) != 0)
            return -1;
        c->opt.threads = (int)v;
        return 0;
    case OPT_METHOD: {
        int m = so_ot_method_from_name(arg);
        if (m < 0) {
            cli_error("--method: unknown method '%s'; expected sinkhorn, log, eps or sns", arg);
            return -1;
        }
        c->opt.method = (so_ot_method)m;
        return 0;
    }
    case OPT_COST: {
        int k = so_ot_cost_from_name(arg);
        c->cost_matrix = strcmp(arg, "matrix") == 0;
        if (k < 0 && !c->cost_matrix) {
            cli_error("--cost: unknown cost '%s'; expected sqeuclidean, euclidean, l1 or "
                      "matrix", arg);
            return -1;
        }
        c->cost = k < 0 ? SO_OT_SQEUCLIDEAN : (so_ot_cost)k;
        return 0;
    }
    case OPT_A: c->a_path = arg; return 0;
    case OPT_B: c->b_path = arg; return 0;
    case OPT_PLAN: c->plan_path = arg; return 0;
    case OPT_NO_FALLBACK: c->opt.fallback = 0; return 0;
    case 'h': return 1;
    default:
        return -1;
    }
}

/* Returns -1 to exit with CLI_EXIT_USAGE, 1 after --help, 0 to run. */
static int parse_args(int argc, char **argv, ot_cli *c)
{
    memset(c, 0, sizeof *c);
    c->opt = so_ot_options_default();
    c->opt.fallback = 1;
    c->cost = SO_OT_SQEUCLIDEAN;
    int code, reg_given = 0;
    opterr = 0;
    optind = 1;
    while ((code = getopt_long(argc, argv, ":h", OT_OPTIONS, NULL)) != -1) {
        if (code == '?' || code == ':') {
            cli_error(code == ':' ? "option %s needs a value" : "unknown option %s; run "
                      "'stochopt ot --help' for the list", argv[optind - 1]);
            return -1;
        }
        reg_given |= code == OPT_REG;
        int r = parse_option(code, optarg, c);
        if (r != 0)
            return r;
    }
    int files = argc - optind, want = c->cost_matrix ? 1 : 2;
    if (files != want) {
        cli_error(c->cost_matrix ? "expected one input file, the cost matrix, with --cost "
                  "matrix; found %d" : "expected two input files, X and Y; found %d "
                  "(use --cost matrix for a cost matrix)", files);
        return -1;
    }
    if (!reg_given) {
        cli_error("--reg is required: the entropic regularization, such as 0.05 times the "
                  "typical cost");
        return -1;
    }
    c->first = argv[optind];
    c->second = c->cost_matrix ? NULL : argv[optind + 1];
    return 0;
}

/* Builds the cost matrix from the inputs; returns 0 or an exit status. */
static int load_cost(const ot_cli *c, matrix *C)
{
    matrix X, Y;
    int status = read_matrix(c->first, &X);
    if (status != 0 || c->cost_matrix) {
        *C = X;
        return status;
    }
    if ((status = read_matrix(c->second, &Y)) != 0) {
        free(X.data);
        return status;
    }
    if (X.cols != Y.cols) {
        cli_error("%s has %zu columns but %s has %zu; expected points of the same dimension",
                  c->first, X.cols, c->second, Y.cols);
        status = CLI_EXIT_USAGE;
    } else if ((C->data = malloc(X.rows * Y.rows * sizeof *C->data)) == NULL) {
        cli_error("out of memory for a %zu x %zu cost matrix", X.rows, Y.rows);
        status = CLI_EXIT_FAILURE;
    } else if (so_ot_cost_matrix(X.data, X.rows, Y.data, Y.rows, X.cols, c->cost,
                                 C->data) != SO_OK) {
        cli_error("%s", so_last_error());
        status = CLI_EXIT_USAGE;
    }
    C->rows = X.rows;
    C->cols = Y.rows;
    free(X.data);
    free(Y.data);
    return status;
}

static int write_plan(const char *path, const so_ot_result *r)
{
    size_t shape[2] = {r->n, r->m};
    so_array *arr = NULL;
    int status = so_array_new(SO_DTYPE_F64, 2, shape, &arr);
    if (status == SO_OK) {
        memcpy(arr->data, r->plan, r->n * r->m * sizeof *r->plan);
        status = so_npy_write(path, arr);
    }
    so_array_free(&arr);
    if (status != SO_OK)
        cli_error("--plan %s: %s", path, so_last_error());
    return status == SO_OK ? 0 : CLI_EXIT_FAILURE;
}

static void print_result(const ot_cli *c, const so_ot_result *r, double seconds)
{
    printf("method          %s%s\n", so_ot_method_name(c->opt.method),
           r->fell_back ? " (kernel underflow: continued in the log domain)" : "");
    printf("size            %zu x %zu, reg %g\n", r->n, r->m, c->opt.reg);
    printf("cost            %.17g\n", r->cost);
    printf("objective       %.17g\n", r->objective);
    if (c->opt.method == SO_OT_SNS)
        printf("iterations      %ld (%ld Newton steps)\n", r->iterations, r->newton_steps);
    else
        printf("iterations      %ld\n", r->iterations);
    printf("time            %.3f s\n", seconds);
    printf("marginal error  %.3g\n", r->marginal_error);
    printf("status          %s\n", r->status == SO_OK ? "converged"
           : "not converged (tolerance not reached within --max-iter)");
}

int cli_ot(int argc, char **argv)
{
    ot_cli c;
    int parsed = parse_args(argc, argv, &c);
    if (parsed != 0) {
        if (parsed > 0)
            ot_usage(stdout);
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    matrix C = {0, 0, NULL};
    double *a = NULL, *b = NULL;
    int status = load_cost(&c, &C);
    if (status == 0 && c.a_path != NULL)
        status = read_marginal("--a", c.a_path, C.rows, &a);
    if (status == 0 && c.b_path != NULL)
        status = read_marginal("--b", c.b_path, C.cols, &b);
    so_ot_result r;
    memset(&r, 0, sizeof r);
    if (status == 0) {
        c.opt.want_plan = c.plan_path != NULL;
        double start = so_time_now();
        int s = so_ot_solve(C.data, C.rows, C.cols, a, b, &c.opt, &r);
        if (s < 0) {
            cli_error("%s", so_last_error());
            /* Rejected input is a usage error; a numerical failure is a failed run. */
            status = s == SO_ERR_NUMERIC || s == SO_ERR_NOMEM ? CLI_EXIT_FAILURE
                                                               : CLI_EXIT_USAGE;
        } else {
            print_result(&c, &r, so_time_now() - start);
            status = s == SO_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
            if (c.plan_path != NULL && write_plan(c.plan_path, &r) != 0)
                status = CLI_EXIT_FAILURE;
        }
    }
    so_ot_result_clear(&r);
    free(C.data);
    free(a);
    free(b);
    return status;
}
