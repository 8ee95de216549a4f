/* stochopt ot end to end: CSV and NPY inputs, the printed summary, the plan file, the
 * kernel-underflow fallback and the exit statuses 0, 1 and 2. */
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

#include "stochopt/data.h"

static char dir[256];
static char out[1 << 14];

static int run(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' ot %s 2>&1", dir, SO_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_text(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stochopt-ot-cli-%ld", (long)getpid());
    mkdir(dir, 0700);
    write_text("x.csv", "x,y\n0,0\n1,0\n0,1\n");
    write_text("y.csv", "0.1,0.1\n0.9,0.2\n0.2,0.8\n0.5,0.5\n");
    write_text("m.csv", "100,101\n101,100\n");
    write_text("a.csv", "0.2\n0.3\n0.5\n");
    write_text("neg.csv", "0.5,-0.1,0.6\n");
    write_text("short.csv", "0.5,0.5\n");
    write_text("ragged.csv", "1,2\n3\n");
    write_text("points3d.csv", "1,2,3\n4,5,6\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void converged_run_prints_summary_and_plan(void **state)
{
    (void)state;
    assert_int_equal(run("x.csv y.csv --reg 0.1 --method sns --a a.csv --plan p.npy "
                         "--tol 1e-10"), 0);
    assert_non_null(strstr(out, "status          converged"));
    assert_non_null(strstr(out, "objective"));
    assert_non_null(strstr(out, "Newton steps"));
    char path[512];
    snprintf(path, sizeof path, "%s/p.npy", dir);
    so_array *plan = NULL;
    assert_int_equal(so_npy_read(path, &plan), SO_OK);
    assert_int_equal(plan->shape[0], 3);
    assert_int_equal(plan->shape[1], 4);
    const double *p = plan->data;
    double row0 = p[0] + p[1] + p[2] + p[3];
    assert_true(fabs(row0 - 0.2) < 1e-9);
    so_array_free(&plan);
}

static void underflow_falls_back_unless_disabled(void **state)
{
    (void)state;
    assert_int_equal(run("m.csv --cost matrix --reg 0.01 --method sinkhorn"), 0);
    assert_non_null(strstr(out, "continued in the log domain"));
    assert_non_null(strstr(out, "cost            99.99999"));
    assert_int_equal(run("m.csv --cost matrix --reg 0.01 --method sinkhorn --no-fallback"), 1);
    assert_non_null(strstr(out, "kernel underflow"));
}

static void not_converged_exits_with_one(void **state)
{
    (void)state;
    assert_int_equal(run("x.csv y.csv --reg 0.1 --max-iter 1 --tol 1e-12"), 1);
    assert_non_null(strstr(out, "not converged"));
}

static void usage_and_input_errors_exit_with_two(void **state)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"x.csv y.csv", "--reg is required"},
        {"x.csv y.csv --reg 0", "outside the valid range"},
        {"x.csv y.csv --reg 0.1 --method greenkhorn", "unknown method 'greenkhorn'"},
        {"x.csv y.csv --reg 0.1 --cost cosine", "unknown cost 'cosine'"},
        {"x.csv --reg 0.1", "expected two input files"},
        {"m.csv y.csv --reg 0.1 --cost matrix", "expected one input file"},
        {"x.csv points3d.csv --reg 0.1", "expected points of the same dimension"},
        {"x.csv y.csv --reg 0.1 --a neg.csv", "a[1] = -0.1"},
        {"x.csv y.csv --reg 0.1 --a short.csv", "expected a vector of 3 masses"},
        {"ragged.csv y.csv --reg 0.1", "line 2 has 1 fields"},
        {"missing.csv y.csv --reg 0.1", "missing.csv: No such file"},
        {"x.csv y.csv --reg 0.1 --bogus", "unknown option --bogus"},
    };
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int status = run(cases[k].args);
        if (status != 2 || strstr(out, cases[k].message) == NULL)
            fail_msg("'%s': exit %d, output '%s'; expected 2 and '%s'", cases[k].args,
                     status, out, cases[k].message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converged_run_prints_summary_and_plan),
        cmocka_unit_test(underflow_falls_back_unless_disabled),
        cmocka_unit_test(not_converged_exits_with_one),
        cmocka_unit_test(usage_and_input_errors_exit_with_two),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
