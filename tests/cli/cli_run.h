/* Runs the stochopt program from the CLI tests. Include after <cmocka.h>; the build
 * defines SO_CLI_PATH as the path of the program. */
#ifndef STOCHOPT_TESTS_CLI_RUN_H
#define STOCHOPT_TESTS_CLI_RUN_H

#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

/* Runs the program with `args` through the shell. Returns its exit status (-1 when a
 * signal ended it) and the combined output in out. */
static inline int cli_run(char *out, size_t size, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", SO_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(out, 1, size - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs the program and fails the test with its output unless it exits with `expected`. */
static inline void cli_run_expect(char *out, size_t size, int expected, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int status = cli_run(out, size, args);
    if (status != expected)
        fail_msg("'%s' gave status %d (expected %d) and output: %s", args, status, expected,
                 out);
}

#endif
