/* The solver subcommands of the stochopt program end to end: stochopt constrained,
 * stochopt newton and stochopt sso on small problems, their CSV histories and solution
 * files, --help, and the exit statuses and messages for bad input. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli_run.h"

#include "stochopt/core.h"
#include "stochopt/data.h"

#define HEART SO_TEST_DATA_DIR "/data/heart_scale --format libsvm"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stochopt-cli-solvers-%ld", (long)getpid());
    mkdir(dir, 0700);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static char *read_text(const char *name)
{
    char path[512];
    static char buf[1 << 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static size_t count_lines(const char *text)
{
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    return lines;
}

/* Parses the "x" line of a result table into x (up to cap values); returns the count. */
static size_t parse_x_line(const char *out, double *x, size_t cap)
{
    const char *line = strstr(out, "\nx ");
    assert_non_null(line);
    char *p = (char *)line + 2, *end;
    size_t count = 0;
    while (count < cap) {
        double v = strtod(p, &end);
        if (end == p)
            break;
        x[count++] = v;
        p = end;
    }
    return count;
}

static void constrained_hs6_converges(void **state)
{
    char out[8192];
    double x[4];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "constrained --problem hs6 --history %s/hs6.csv "
               "--out %s/hs6.txt", dir, dir);
    assert_non_null(strstr(out, "status          converged"));
    assert_non_null(strstr(out, "|x - x*|"));
    assert_int_equal(parse_x_line(out, x, 4), 2);
    assert_true(fabs(x[0] - 1.0) < 1e-6);
    assert_true(fabs(x[1] - 1.0) < 1e-6);

    const char *csv = read_text("hs6.csv");
    assert_true(starts_with(csv, "iteration,kkt,f,c_norm,mu,nu,delta,shift,alpha,sketch_iters,"
                             "flops,seconds\n0,"));
    char *xs = read_text("hs6.txt");
    assert_int_equal(count_lines(xs), 2);
    char *end;
    double x0 = strtod(xs, &end), x1 = strtod(end, NULL);
    assert_true(fabs(x0 - x[0]) < 1e-9);
    assert_true(fabs(x1 - x[1]) < 1e-9);
}

static void constrained_logistic_runs(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "constrained --problem logistic --data " HEART
               " --rows 3 --solver lu --tol 1e-8");
    assert_non_null(strstr(out, "(n 13, m 4)"));
    assert_non_null(strstr(out, "status          converged"));
}

static void constrained_iteration_limit_fails(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 1, "constrained --problem pde:3 --max-iter 1");
    assert_non_null(strstr(out, "not converged"));
}

static void newton_rosenbrock_converges(void **state)
{
    char out[8192];
    double x[4];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "newton --problem rosenbrock:2 --history %s/rosen.csv",
               dir);
    assert_non_null(strstr(out, "status          converged"));
    assert_int_equal(parse_x_line(out, x, 4), 2);
    assert_true(fabs(x[0] - 1.0) < 1e-6);
    assert_true(fabs(x[1] - 1.0) < 1e-6);
    const char *csv = read_text("rosen.csv");
    assert_true(starts_with(csv, "iteration,f,grad_norm,gamma,trials,step_norm,seconds,"
                             "factorizations\n0,409,"));
}

/* The NPY solution file has one float64 entry per variable: 13 features plus the
 * intercept of heart_scale. */
static void newton_logistic_writes_npy(void **state)
{
    char out[8192], path[512];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "newton --problem logistic --data " HEART
               " --intercept --curvature fisher --tol 1e-6 --out %s/w.npy", dir);
    assert_non_null(strstr(out, "(n 14)"));
    snprintf(path, sizeof path, "%s/w.npy", dir);
    so_array *w = NULL;
    assert_int_equal(so_npy_read(path, &w), SO_OK);
    assert_int_equal(w->dtype, SO_DTYPE_F64);
    assert_int_equal(w->ndim, 1);
    assert_int_equal(w->shape[0], 14);
    so_array_free(&w);
}

static void newton_every_method_runs(void **state)
{
    static const char *const methods[] = {"grad-norm", "grad-norm-fixed", "damped-newton",
                                          "gradient"};
    char out[8192];
    (void)state;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        cli_run_expect(out, sizeof out, 0, "newton --problem rosenbrock:3 --method %s --tol 1e-6 "
                   "--max-iter 100000", methods[i]);
        assert_non_null(strstr(out, "status          converged"));
    }
}

/* The random log-sum-exp problem is shifted so that x = 0 is a minimizer, which gives
 * the reported f - f*. */
static void newton_logsumexp_reaches_optimum(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "newton --problem logsumexp --rows 40 --dim 8 --seed 3 "
               "--curvature weighted-gn --tol 1e-8");
    const char *gap = strstr(out, "f - f*");
    assert_non_null(gap);
    double value = strtod(gap + 6, NULL);
    assert_true(value >= -1e-12);
    assert_true(value < 1e-8);
}

static void sso_heart_writes_history(void **state)
{
    char out[8192], first[1 << 14];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "sso --data " HEART " --iters 20 --target-loss 0.5 "
               "--history %s/sso.csv --out %s/theta.txt", dir, dir);
    assert_non_null(strstr(out, "target loss     0.5 reached at step"));
    const char *csv = read_text("sso.csv");
    /* Row 0 is the start theta = 0, where the logistic loss is log 2. */
    assert_true(starts_with(csv, "iteration,expensive_grads,cheap_grads,loss_evals,"
                             "surrogate_evals,step,loss\n0,0,0,0,0,0,0.6931471805599"));
    assert_non_null(strstr(csv, "\n20,20,200,0,0,"));
    assert_int_equal(count_lines(csv), 22);
    strcpy(first, csv);
    assert_int_equal(count_lines(read_text("theta.txt")), 13);

    /* The same seed gives the same history bit for bit. */
    cli_run_expect(out, sizeof out, 0, "sso --data " HEART " --iters 20 --history %s/sso2.csv",
               dir);
    assert_string_equal(first, read_text("sso2.csv"));
}

static void sso_every_method_runs(void **state)
{
    static const char *const variants[] = {"--method sgd --iters 10",
                                           "--method sls --epochs 2",
                                           "--inner armijo --intercept --iters 10",
                                           "--loss squared --eta 0.5 --m 3 --iters 10",
                                           "--loss softmax --iters 10"};
    char out[8192];
    (void)state;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        cli_run_expect(out, sizeof out, 0, "sso --data " HEART " %s", variants[i]);
        assert_non_null(strstr(out, "(mean over all rows)"));
    }
}

static void sso_divergence_fails(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 1, "sso --data " HEART " --loss squared --method sgd "
               "--lr 1e6");
    assert_non_null(strstr(out, "stochopt: so_sso_run"));
}

static void help_lists_options(void **state)
{
    static const struct {
        const char *args, *text;
    } cases[] = {
        {"--help", "constrained"},
        {"--help", "newton"},
        {"--help", "sso"},
        {"constrained --help", "--solver NAME"},
        {"constrained --help", "--tol T             stop when the KKT residual"},
        {"newton --help", "--curvature KIND"},
        {"newton --help", "--history FILE"},
        {"sso --help", "--target-loss L"},
        {"sso --help", "--batch B           rows per batch (default 25"},
    };
    char out[8192];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = cli_run(out, sizeof out, cases[i].args);
        if (status != 0 || strstr(out, cases[i].text) == NULL)
            fail_msg("'%s' gave status %d and output: %s", cases[i].args, status, out);
    }
}

static void bad_input_exits_with_usage_status(void **state)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"constrained --problem hs99", "--problem: unknown problem 'hs99'"},
        {"constrained --problem pde:0", "--problem pde:N: 0 is outside the valid range"},
        {"constrained", "--problem is required"},
        {"constrained --problem logistic", "--problem logistic needs --data FILE"},
        {"constrained --problem logistic --data /nonexistent/x.svm",
         "--data /nonexistent/x.svm: No such file"},
        {"constrained --problem hs6 --tol -1", "--tol: -1 is outside the valid range"},
        {"constrained --problem hs6 --mu0 abc", "--mu0: expected a number, found 'abc'"},
        {"constrained --problem hs6 --solver qr", "--solver: unknown solver 'qr'"},
        {"constrained --problem hs6 --rows 3", "--rows applies to --problem logistic only"},
        {"constrained --problem hs6 --history /nonexistent/h.csv",
         "--history /nonexistent/h.csv: directory /nonexistent does not exist"},
        {"constrained --problem hs6 --frobnicate", "unknown or ambiguous option --frobnicate"},
        {"newton --problem quartic", "--problem: unknown problem 'quartic'"},
        {"newton --problem rosenbrock:1", "--problem rosenbrock:N: 1 is outside the valid"},
        {"newton --problem softmax --data /nonexistent.svm",
         "--data /nonexistent.svm: No such file"},
        {"newton --problem rosenbrock:2 --tol -1", "--tol: -1 is outside the valid range"},
        {"newton --problem rosenbrock:2 --max-iter 1e3",
         "--max-iter: expected an integer, found '1e3'"},
        {"newton --problem rosenbrock:2 --curvature fisher", "--curvature fisher: "},
        {"newton --problem rosenbrock:2 --method newton", "--method: unknown method 'newton'"},
        {"newton --problem rosenbrock:2 --l2 1", "--l2 does not apply to --problem"},
        {"newton --problem logistic --data " SO_TEST_DATA_DIR "/data/heart_scale",
         "with --format libsvm, csv or npy"},
        {"sso", "--data FILE is required"},
        {"sso --data /nonexistent.svm", "--data /nonexistent.svm: No such file"},
        {"sso --data " HEART " --lr fast", "--lr: expected a number, found 'fast'"},
        {"sso --data " HEART " --loss hinge", "--loss: unknown value 'hinge'"},
        {"sso --data " HEART " --method sgd --m 3", "--m does not apply to --method sgd"},
        {"sso --data " HEART " --iters 5 --epochs 1", "--iters and --epochs both set"},
        {"sso --data " HEART " --batch 0", "--batch: 0 is outside the valid range"},
        {"sso --data " HEART " --out " SO_TEST_DATA_DIR, "is a directory"},
    };
    char out[8192];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = cli_run(out, sizeof out, cases[i].args);
        if (status != 2 || strstr(out, cases[i].message) == NULL)
            fail_msg("'%s' gave status %d and output: %s", cases[i].args, status, out);
        if (count_lines(out) != 1)
            fail_msg("'%s' printed more than one line: %s", cases[i].args, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constrained_hs6_converges),
        cmocka_unit_test(constrained_logistic_runs),
        cmocka_unit_test(constrained_iteration_limit_fails),
        cmocka_unit_test(newton_rosenbrock_converges),
        cmocka_unit_test(newton_logistic_writes_npy),
        cmocka_unit_test(newton_every_method_runs),
        cmocka_unit_test(newton_logsumexp_reaches_optimum),
        cmocka_unit_test(sso_heart_writes_history),
        cmocka_unit_test(sso_every_method_runs),
        cmocka_unit_test(sso_divergence_fails),
        cmocka_unit_test(help_lists_options),
        cmocka_unit_test(bad_input_exits_with_usage_status),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
