/* Usability checks of the solver subcommands. stochopt constrained prints progress
 * lines, and sso exits with status 1 when it ends above its initial loss. newton labels
 * its f, starts logsumexp away from the optimum and checks the curvature kind per
 * problem. newton and sso read --label-column, sso reads --max-iter, and --help
 * explains these. */
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

#define HEART SO_TEST_DATA_DIR "/data/heart_scale --format libsvm"

static char dir[256];

/* Fails the test with the output unless it contains text. */
static void expect_text(const char *out, const char *text)
{
    if (strstr(out, text) == NULL)
        fail_msg("expected '%s' in the output: %s", text, out);
}

static void expect_no_text(const char *out, const char *text)
{
    if (strstr(out, text) != NULL)
        fail_msg("expected no '%s' in the output: %s", text, out);
}

static size_t count_text(const char *out, const char *text)
{
    size_t count = 0;
    for (const char *p = strstr(out, text); p != NULL; p = strstr(p + 1, text))
        count++;
    return count;
}

/* The value after `label` in the output, or NaN. */
static double value_after(const char *out, const char *label)
{
    const char *p = strstr(out, label);
    return p == NULL ? NAN : strtod(p + strlen(label), NULL);
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stochopt-cli-usability-%ld", (long)getpid());
    mkdir(dir, 0700);
    /* The same two-class rows with the label first and last, and three classes. */
    write_file("first.csv", "y,a,b\n0,1,2\n1,2,1\n0,0,1\n1,3,1\n0,1,0\n1,2,3\n");
    write_file("last.csv", "a,b,y\n1,2,0\n2,1,1\n0,1,0\n3,1,1\n1,0,0\n2,3,1\n");
    write_file("three.csv", "y,a,b\n0,1,2\n1,2,1\n2,0,1\n0,1,1\n1,3,1\n2,1,0\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* ---- stochopt constrained */

static void constrained_progress_every_iteration(void **state)
{
    char out[1 << 15];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "constrained --problem hs6 --progress 0");
    long iterations = (long)value_after(out, "iterations      ");
    assert_true(iterations >= 1);
    assert_int_equal(count_text(out, "stochopt: iteration "), (size_t)iterations);
    expect_text(out, "stochopt: iteration 1, KKT residual ");
    expect_text(out, "sketch steps, ");
}

static void constrained_progress_off_or_quiet(void **state)
{
    char out[1 << 15];
    (void)state;
    /* A run shorter than the default 2 s interval prints no progress line. */
    cli_run_expect(out, sizeof out, 0, "constrained --problem hs6");
    expect_no_text(out, "stochopt: iteration");
    cli_run_expect(out, sizeof out, 0, "constrained --problem hs6 --progress -1");
    expect_no_text(out, "stochopt: iteration");
    cli_run_expect(out, sizeof out, 2, "constrained --problem hs6 --progress -2");
    expect_text(out, "--progress");
}

static void constrained_help_names_lu(void **state)
{
    char out[1 << 15];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "constrained --help");
    expect_text(out, "1e5");
    expect_text(out, "lu is the fast choice");
    expect_text(out, "--progress S");
}

/* ---- stochopt sso */

static void sso_rising_loss_exits_one(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 1, "sso --data " HEART " --lr 3");
    expect_text(out, "stochopt: the full loss rose from 0.693147 at the start to ");
    expect_text(out, "lower --lr (now 3)");
    expect_text(out, "--inner armijo");
    cli_run_expect(out, sizeof out, 1, "sso --data " HEART " --method sgd --lr 1000");
    expect_text(out, "stochopt: the full loss rose from");
    expect_text(out, "lower --lr (now 1000)");
    cli_run_expect(out, sizeof out, 0, "sso --data " HEART);
    expect_no_text(out, "rose");
}

static void sso_help_explains_loss_and_sls(void **state)
{
    char out[1 << 15];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "sso --help");
    expect_text(out, "no regularization term");
    expect_text(out, "same result as sgd bit");
    expect_text(out, "--max-iter N is the same");
    expect_text(out, "--label-column K");
}

/* The help's claim: with the defaults sls equals sgd, and a larger --lr differs. */
static void sso_sls_defaults_equal_sgd(void **state)
{
    char sgd[8192], sls[8192];
    (void)state;
    cli_run_expect(sgd, sizeof sgd, 0, "sso --data " HEART " --method sgd");
    cli_run_expect(sls, sizeof sls, 0, "sso --data " HEART " --method sls");
    assert_true(value_after(sgd, "loss            ") == value_after(sls, "loss            "));
    cli_run_expect(sls, sizeof sls, 0, "sso --data " HEART " --method sls --lr 1");
    assert_true(isfinite(value_after(sls, "loss            ")));
    assert_true(value_after(sgd, "loss            ") != value_after(sls, "loss            "));
}

static void sso_max_iter_is_iters(void **state)
{
    char out[8192], other[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "sso --data " HEART " --max-iter 7");
    expect_text(out, "steps           7 ");
    cli_run_expect(other, sizeof other, 0, "sso --data " HEART " --iters 7");
    assert_true(value_after(out, "loss            ") == value_after(other, "loss            "));
    cli_run_expect(out, sizeof out, 2, "sso --data " HEART " --max-iter 7 --epochs 1");
    expect_text(out, "--max-iter and --epochs both set the number of steps");
}

static void sso_label_column_and_classes(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 2, "sso --data %s/three.csv --label-column 0", dir);
    expect_text(out, "found 3 classes; use --loss softmax");
    cli_run_expect(out, sizeof out, 0, "sso --data %s/three.csv --label-column 0 --loss softmax",
               dir);
    expect_text(out, "6 rows, 6 parameters, softmax loss");
    cli_run_expect(out, sizeof out, 0, "sso --data %s/first.csv --label-column 0", dir);
    double first = value_after(out, "loss            ");
    cli_run_expect(out, sizeof out, 0, "sso --data %s/last.csv", dir);
    assert_true(first == value_after(out, "loss            "));
    cli_run_expect(out, sizeof out, 2, "sso --data %s/first.csv --label-column -2", dir);
    expect_text(out, "--label-column");
}

/* ---- stochopt newton */

static void newton_f_names_penalty(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "newton --problem logistic --data " HEART);
    expect_text(out, "(mean loss + l2/2 |w|^2, l2 = 0.001)");
    cli_run_expect(out, sizeof out, 0, "newton --problem logistic --data " HEART " --l2 0.01");
    expect_text(out, "l2 = 0.01)");
    cli_run_expect(out, sizeof out, 0, "newton --problem rosenbrock:2");
    expect_no_text(out, "mean loss");
}

static void newton_logsumexp_default_start(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 1, "newton --problem logsumexp --max-iter 0");
    assert_true(value_after(out, "f - f*          ") > 1.0);
    cli_run_expect(out, sizeof out, 0, "newton --problem logsumexp");
    expect_no_text(out, "|x - x*|");
    double gap = value_after(out, "f - f*          ");
    assert_true(gap >= -1e-12);
    assert_true(gap < 1e-8);
}

static void newton_curvature_checked_per_problem(void **state)
{
    static const struct {
        const char *args, *message;
    } rejected[] = {
        {"--problem rosenbrock:3 --curvature fisher",
         "--curvature fisher: rosenbrock:3 provides exact and gauss-newton; use one of those"},
        {"--problem rosenbrock:3 --curvature weighted-gn",
         "--curvature weighted-gn: rosenbrock:3 provides exact and gauss-newton"},
        {"--problem logsumexp --curvature gauss-newton",
         "--curvature gauss-newton: logsumexp provides exact and weighted-gn"},
        {"--problem logistic --data " HEART " --curvature weighted-gn",
         "--curvature weighted-gn: logistic provides exact, fisher and gauss-newton"},
    };
    static const char *const accepted[] = {
        "--problem rosenbrock:3 --curvature gauss-newton",
        "--problem logsumexp --curvature weighted-gn",
        "--problem logistic --data " HEART " --curvature fisher",
        "--problem logistic --data " HEART " --curvature gauss-newton",
        "--problem least-squares --data " HEART " --curvature fisher",
    };
    char out[8192];
    (void)state;
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        cli_run_expect(out, sizeof out, 2, "newton %s", rejected[i].args);
        expect_text(out, rejected[i].message);
        expect_no_text(out, "so_curvature");
    }
    /* Each listed kind runs: the methods may stop short (1) but never reject it (2). */
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        char args[512];
        snprintf(args, sizeof args, "newton --max-iter 5 %s", accepted[i]);
        int status = cli_run(out, sizeof out, args);
        if (status != 0 && status != 1)
            fail_msg("'%s' gave status %d and output: %s", args, status, out);
        expect_text(out, "status          ");
    }
}

static void newton_rejected_trials_name_options(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 1, "newton --problem rosenbrock:2 --tol 1e-30 --max-trials 3");
    expect_text(out, "grad-norm rejected all 3 trials after 3 iterations");
    expect_text(out, "raise --tol");
    expect_text(out, "raise --max-trials");
    expect_no_text(out, "max_trials");
}

static void newton_label_column(void **state)
{
    char out[8192];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "newton --problem logistic --data %s/first.csv "
               "--label-column 0", dir);
    double first = value_after(out, "f               ");
    cli_run_expect(out, sizeof out, 0, "newton --problem logistic --data %s/last.csv", dir);
    assert_true(first == value_after(out, "f               "));
    cli_run_expect(out, sizeof out, 0, "newton --problem softmax --data %s/three.csv "
               "--label-column 0", dir);
    expect_text(out, "problem         softmax (n 6)");
    cli_run_expect(out, sizeof out, 2, "newton --problem rosenbrock:2 --label-column 0");
    expect_text(out, "--label-column do not apply to --problem rosenbrock:2");
}

static void newton_help_lists_curvatures(void **state)
{
    char out[1 << 15];
    (void)state;
    cli_run_expect(out, sizeof out, 0, "newton --help");
    expect_text(out, "rosenbrock:N: exact, gauss-newton");
    expect_text(out, "logsumexp: exact, weighted-gn");
    expect_text(out, "--label-column K");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constrained_progress_every_iteration),
        cmocka_unit_test(constrained_progress_off_or_quiet),
        cmocka_unit_test(constrained_help_names_lu),
        cmocka_unit_test(sso_rising_loss_exits_one),
        cmocka_unit_test(sso_help_explains_loss_and_sls),
        cmocka_unit_test(sso_sls_defaults_equal_sgd),
        cmocka_unit_test(sso_max_iter_is_iters),
        cmocka_unit_test(sso_label_column_and_classes),
        cmocka_unit_test(newton_f_names_penalty),
        cmocka_unit_test(newton_logsumexp_default_start),
        cmocka_unit_test(newton_curvature_checked_per_problem),
        cmocka_unit_test(newton_rejected_trials_name_options),
        cmocka_unit_test(newton_label_column),
        cmocka_unit_test(newton_help_lists_curvatures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
