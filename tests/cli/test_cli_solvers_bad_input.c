/* Hostile input to stochopt constrained, newton and sso: malformed numbers, data files
 * that are not data, outputs that would replace an input or a device, sizes that cannot
 * fit in memory, and SIGINT during a run. Each bad input must give exit status 2 and one
 * line naming the option; no input file may change. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli_run.h"

#define HEART SO_TEST_DATA_DIR "/data/heart_scale --format libsvm"

static char dir[256];

static size_t count_lines(const char *text)
{
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    return lines;
}

/* Runs `args` (with %s replaced by the test directory) and fails unless the program
 * exits with status 2 and prints one line containing `message`. */
static void expect_usage(const char *args_fmt, const char *message)
{
    char args[2048], out[8192];
    snprintf(args, sizeof args, args_fmt, dir, dir, dir);
    int status = cli_run(out, sizeof out, args);
    if (status != 2 || strstr(out, message) == NULL)
        fail_msg("'%s' gave status %d (expected 2 and '%s') and output: %s", args, status,
                 message, out);
    if (count_lines(out) != 1)
        fail_msg("'%s' printed more than one line: %s", args, out);
}

static void write_file(const char *name, const char *text, size_t length)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, length, f), length);
    assert_int_equal(fclose(f), 0);
}

/* Reads up to size - 1 bytes of a file in the test directory. Returns the length, or -1
 * when the file cannot be opened. */
static long read_file(const char *name, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

static int setup(void **state)
{
    static const char two_classes[] = "1 1:0.5 2:1\n-1 1:0.2 2:3\n1 1:1 2:2\n-1 2:1\n";
    static const char one_class[] = "1 1:0.5 2:1\n1 1:0.2 2:3\n1 1:1 3:2\n";
    static const char four_classes[] = "1 1:0.5 2:1\n2 1:0.2 2:3\n3 1:1 3:2\n-1 2:1\n";
    static const char wide[] = "1 1:0.5 2:1\n-1 1:0.2\n1 100000:0.5\n";
    static const char nan_csv[] = "1,0.5,2\n0,nan,1\n1,0.3,0.2\n";
    char garbage[512], path[512];
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stochopt-cli-bad-input-%ld", (long)getpid());
    if (mkdir(dir, 0700) != 0)
        return -1;
    uint32_t s = 12345u;
    for (size_t i = 0; i < sizeof garbage; i++) {
        s = s * 1664525u + 1013904223u;
        garbage[i] = (char)(s >> 24);
    }
    write_file("two.svm", two_classes, sizeof two_classes - 1);
    write_file("one.svm", one_class, sizeof one_class - 1);
    write_file("four.svm", four_classes, sizeof four_classes - 1);
    write_file("wide.svm", wide, sizeof wide - 1);
    write_file("nan.csv", nan_csv, sizeof nan_csv - 1);
    write_file("empty.svm", "", 0);
    write_file("garbage.svm", garbage, sizeof garbage);
    write_file("garbage.npy", garbage, sizeof garbage);
    snprintf(path, sizeof path, "%s/fifo.svm", dir);
    if (mkfifo(path, 0600) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/subdir", dir);
    return mkdir(path, 0700);
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Every numeric option takes a plain decimal number: no white space, hexadecimal,
 * NaN, infinity or trailing characters. */
static void malformed_numbers_are_rejected(void **state)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"constrained --problem hs6 --tol ''", "--tol: expected a number, found ''"},
        {"constrained --problem hs6 --tol ' 5'", "--tol: expected a number, found ' 5'"},
        {"constrained --problem hs6 --tol 0x10", "--tol: expected a decimal number"},
        {"constrained --problem hs6 --mu0 0x1p3", "--mu0: expected a decimal number"},
        {"constrained --problem hs6 --tol 1e999", "--tol: 1e999 is outside the range"},
        {"constrained --problem hs6 --nu0 nan", "--nu0: expected a number, found 'nan'"},
        {"constrained --problem hs6 --delta0 -inf", "--delta0: expected a number"},
        {"constrained --problem hs6 --max-iter ' 5'", "--max-iter: expected an integer"},
        {"constrained --problem hs6 --max-iter 0x10", "--max-iter: expected an integer"},
        {"constrained --problem hs6 --max-sketch 99999999999999999999",
         "--max-sketch: 99999999999999999999 is outside the valid range"},
        {"constrained --problem 'pde: 3'", "--problem pde:N: expected an integer"},
        {"constrained --problem pde:125", "--problem pde:N: 125 is outside the valid range"},
        {"constrained --problem pde:99999999999999999999", "is outside the valid range"},
        {"newton --problem rosenbrock:0x10", "--problem rosenbrock:N: expected an integer"},
        {"newton --problem rosenbrock:10001", "10001 is outside the valid range"},
        {"newton --problem logsumexp --rows 1000000 --dim 10000",
         "entries in A; expected at most"},
        {"newton --problem logsumexp --mu 5x", "--mu: expected a number, found '5x'"},
        {"newton --problem rosenbrock:2 --gamma0 -1", "--gamma0: -1 is outside"},
        {"newton --problem rosenbrock:2 --max-trials 0", "--max-trials: 0 is outside"},
        {"sso --data " HEART " --target-loss nan", "--target-loss: expected a number"},
        {"sso --data " HEART " --epochs 0", "--epochs: 0 is outside the valid range"},
        {"sso --data " HEART " --epochs inf", "--epochs: expected a number"},
        {"sso --data " HEART " --iters -1", "--iters: -1 is outside the valid range"},
        {"sso --data " HEART " --seed -1", "--seed: -1 is outside the valid range"},
        {"sso --data " HEART " --eta 1e-400", "--eta: 1e-400 is outside the valid range"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_usage(cases[i].args, cases[i].message);
}

/* Data files that are not a data set, or not one the problem can use. */
static void bad_data_files_are_rejected(void **state)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"sso --data %s/empty.svm", "expected at least one data row"},
        {"sso --data %s/garbage.svm", "expected a numeric label"},
        {"newton --problem logistic --data %s/garbage.npy", "expected the NPY magic"},
        {"sso --data %s/nan.csv", "expected a finite number"},
        {"sso --data %s/subdir --format libsvm", "is a directory"},
        {"sso --data %s/fifo.svm", "fifo.svm: is not a regular file"},
        {"newton --problem logistic --data %s/fifo.svm", "is not a regular file"},
        {"constrained --problem logistic --data %s/fifo.svm", "is not a regular file"},
        {"newton --problem logistic --data %s/one.svm", "has 1 classes; expected 2"},
        {"newton --problem softmax --data %s/one.svm", "has 1 class; expected at least 2"},
        {"newton --problem logistic --data %s/four.svm", "expected at most 2 classes"},
        {"constrained --problem logistic --data %s/one.svm --rows 1",
         "expected binary labels"},
        {"constrained --problem logistic --data %s/four.svm --rows 1",
         "more than two target values"},
        {"sso --data %s/four.svm", "found 4 classes; use --loss softmax"},
        {"sso --data %s/one.svm --loss softmax", "the softmax loss needs 2 to 1000"},
        {"newton --problem least-squares --data %s/wide.svm",
         "100000 features give 100000 variables; expected at most 10000"},
        {"constrained --problem logistic --data %s/wide.svm --rows 1",
         "expected n + m <= 46340"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_usage(cases[i].args, cases[i].message);
}

/* --out and --history may not name the data file, each other, a FIFO or a directory;
 * the data file keeps its bytes. */
static void outputs_never_replace_inputs(void **state)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"sso --data %s/two.svm --iters 2 --out %s/two.svm",
         "name the same file; give --out another name"},
        {"newton --problem logistic --data %s/two.svm --out %s/two.svm",
         "name the same file; give --out another name"},
        {"constrained --problem logistic --data %s/two.svm --rows 1 --history %s/two.svm",
         "name the same file; give --history another name"},
        {"sso --data " HEART " --iters 2 --out %s/x.txt --history %s/x.txt",
         "name the same file; give --out another name"},
        {"newton --problem rosenbrock:2 --out %s/fifo.svm", "is not a regular file"},
        {"constrained --problem hs6 --history %s/fifo.svm", "is not a regular file"},
        {"sso --data " HEART " --out %s/subdir/x/", "ends in '/'; expected a file name"},
        {"sso --data " HEART " --out %s/subdir", "is a directory"},
    };
    char before[4096], after[4096], args[1024], out[256];
    (void)state;
    long length = read_file("two.svm", before, sizeof before);
    assert_true(length > 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_usage(cases[i].args, cases[i].message);
        assert_int_equal(read_file("two.svm", after, sizeof after), length);
        assert_memory_equal(before, after, (size_t)length);
    }
    /* The same file through another spelling of its path. */
    snprintf(args, sizeof args, "sso --data %%s/two.svm --iters 2 --history %%s/../%s/two.svm",
             strrchr(dir, '/') + 1);
    expect_usage(args, "name the same file; give --history another name");
    assert_int_equal(read_file("two.svm", after, sizeof after), length);
    assert_memory_equal(before, after, (size_t)length);
    /* Nothing was written. */
    assert_int_equal(read_file("x.txt", out, sizeof out), -1);
}

/* Step counts whose history or run cannot fit. */
static void oversized_runs_are_rejected(void **state)
{
    (void)state;
    expect_usage("sso --data " HEART " --epochs 1e9 --batch 1 --target-loss 0.1",
                 "--epochs 1e+09: 2.7e+11 steps of batch 1; expected at most 1e+09 steps");
    expect_usage("sso --data " HEART " --epochs 1e9 --batch 1", "lower --epochs");
    /* A history of 1e9 + 1 rows takes 56 GB for sso and 96 GB for constrained. The check
     * depends on the machine's memory, so it runs only below 50 GB. */
    double memory = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (memory > 0 && memory < 5e10) {
        expect_usage("sso --data " HEART " --iters 1000000000 --history %s/h.csv",
                     "rows of history need");
        expect_usage("constrained --problem hs6 --max-iter 1000000000 --history %s/h.csv",
                     "lower --max-iter");
    }
}

/* Edge values that are valid: no steps, a batch larger than the data, repeated
 * options (the last one counts). */
static void edge_values_run(void **state)
{
    char out[8192], args[1024], text[4096];
    (void)state;
    snprintf(args, sizeof args, "sso --data " HEART " --iters 0 --target-loss 1 "
             "--history %s/zero.csv", dir);
    assert_int_equal(cli_run(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "target loss     1 reached at step 0"));
    assert_true(read_file("zero.csv", text, sizeof text) > 0);
    assert_int_equal(count_lines(text), 2);

    assert_int_equal(cli_run(out, sizeof out, "sso --data " HEART " --batch 1000000 --iters 2"),
                     0);
    assert_non_null(strstr(out, "batch 1000000"));
    assert_non_null(strstr(out, "steps           2 (2 epochs)"));

    assert_int_equal(cli_run(out, sizeof out, "sso --data " HEART " --iters 3 --iters 4"), 0);
    assert_non_null(strstr(out, "steps           4 "));

    /* Zero iterations from a start that is not optimal is a run that did not converge. */
    assert_int_equal(cli_run(out, sizeof out, "constrained --problem hs6 --max-iter 0"), 1);
    assert_non_null(strstr(out, "not converged"));
    assert_int_equal(cli_run(out, sizeof out, "newton --problem rosenbrock:2 --max-iter 0"), 1);
    assert_non_null(strstr(out, "not converged"));
}

/* SIGINT ends a long run at once, without leaving an output or temporary file. */
static void sigint_stops_a_long_run(void **state)
{
    char path[512], listing[4096];
    (void)state;
    snprintf(path, sizeof path, "%s/sig", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char out[600];
        snprintf(out, sizeof out, "%s/theta.txt", path);
        signal(SIGINT, SIG_DFL);
        execl(SO_CLI_PATH, SO_CLI_PATH, "sso", "--data",
              SO_TEST_DATA_DIR "/data/heart_scale", "--format", "libsvm", "--iters",
              "1000000000", "--out", out, (char *)NULL);
        _exit(127);
    }
    struct timespec pause = {0, 500000000L};
    nanosleep(&pause, NULL);
    assert_int_equal(kill(pid, SIGINT), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGINT);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls -A '%s'", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(listing, 1, sizeof listing - 1, p);
    listing[n] = '\0';
    pclose(p);
    assert_string_equal(listing, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_numbers_are_rejected),
        cmocka_unit_test(bad_data_files_are_rejected),
        cmocka_unit_test(outputs_never_replace_inputs),
        cmocka_unit_test(oversized_runs_are_rejected),
        cmocka_unit_test(edge_values_run),
        cmocka_unit_test(sigint_stops_a_long_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
