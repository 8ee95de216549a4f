/* stochopt minimize: results and success counts on test functions, independence of the
 * thread count, usage errors, and every failure of a --command program reported with the
 * point and the output. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

/* Runs the program with `args` (shell words) and returns its exit status; stdout and
 * stderr together go to out. */
static int run_cli(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s minimize %s 2>&1", SO_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(out, 1, cap - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void sphere_runs_succeed(void **state)
{
    char out[8192];
    (void)state;
    assert_int_equal(run_cli("--function sphere --dim 3 --steps 300 --runs 4", out,
                             sizeof out), 0);
    assert_non_null(strstr(out, "success 4/4"));
    assert_non_null(strstr(out, "evaluations 48164 (12041.0 per run)"));
    assert_non_null(strstr(out, "\nx "));
}

static void threads_do_not_change_results(void **state)
{
    char one[8192], two[8192];
    (void)state;
    assert_int_equal(run_cli("--function rastrigin --dim 4 --steps 200 --runs 3 --seed 5",
                             one, sizeof one), 0);
    assert_int_equal(run_cli("--function rastrigin --dim 4 --steps 200 --runs 3 --seed 5 "
                             "--threads 2", two, sizeof two), 0);
    assert_string_equal(one, two);
}

static void usage_errors_exit_2(void **state)
{
    char out[8192];
    (void)state;
    assert_int_equal(run_cli("--function sphere", out, sizeof out), 2);
    assert_non_null(strstr(out, "--dim is required"));
    assert_int_equal(run_cli("--function nope --dim 2", out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown function 'nope'"));
    assert_int_equal(run_cli("--function sphere --dim 2 --sigma abc", out, sizeof out), 2);
    assert_int_equal(run_cli("--function sphere --dim 2 --batch 100", out, sizeof out), 2);
    assert_non_null(strstr(out, "batch = 100"));
    assert_int_equal(run_cli("--dim 2", out, sizeof out), 2);
    assert_int_equal(run_cli("--function sphere --command true --dim 2", out, sizeof out), 2);
}

/* The point's values arrive as separate arguments, or as one line on stdin. */
static void command_objective(void **state)
{
    char out[8192];
    (void)state;
    assert_int_equal(run_cli("--command 'awk \"BEGIN { s = 0; for (i = 1; i < ARGC; i++) "
                             "s += (ARGV[i] - 1) ^ 2; print s }\"' --dim 2 --steps 40 "
                             "--particles 10", out, sizeof out), 0);
    assert_non_null(strstr(out, "evaluations 411"));
    assert_int_equal(run_cli("--command 'f() { test $# -eq 3 && echo 1; }; f' --dim 3 "
                             "--steps 2 --particles 4", out, sizeof out), 0);
    assert_int_equal(run_cli("--command 'read a b; test -n \"$b\" && echo 2' --stdin "
                             "--dim 2 --steps 2 --particles 4", out, sizeof out), 0);
    assert_non_null(strstr(out, "f 2\n"));
}

static void command_failures_name_point(void **state)
{
    char out[8192];
    (void)state;
    assert_int_equal(run_cli("--command 'exit 3' --dim 2", out, sizeof out), 1);
    assert_non_null(strstr(out, "exit status 3"));
    assert_non_null(strstr(out, "at x = ("));
    assert_int_equal(run_cli("--command 'sleep 5; echo 1' --timeout 0.2 --dim 2", out,
                             sizeof out), 1);
    assert_non_null(strstr(out, "timed out after 0.2 s"));
    assert_int_equal(run_cli("--command 'echo 1 2 #' --dim 2", out, sizeof out), 1);
    assert_non_null(strstr(out, "expected exactly one finite number"));
    assert_non_null(strstr(out, "output: '1 2\\n'"));
    assert_int_equal(run_cli("--command 'echo inf #' --dim 2", out, sizeof out), 1);
    assert_int_equal(run_cli("--command 'yes 1 #' --dim 2", out, sizeof out), 1);
    assert_non_null(strstr(out, "more than 4096 bytes"));
    assert_int_equal(run_cli("--command 'kill -9 $$' --dim 2", out, sizeof out), 1);
    assert_non_null(strstr(out, "killed by signal 9"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sphere_runs_succeed),
        cmocka_unit_test(threads_do_not_change_results),
        cmocka_unit_test(usage_errors_exit_2),
        cmocka_unit_test(command_objective),
        cmocka_unit_test(command_failures_name_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
