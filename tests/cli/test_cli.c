/* The stochopt program end to end on a small generated IDX data set: options, exit
 * statuses, error messages, the CSV log, the SVG plot and resume through the CLI. */
#define _POSIX_C_SOURCE 200809L
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

#include "stochopt/core.h"

static char dir[256];

static void write_idx(const char *name, const unsigned char *header, size_t hlen,
                      const unsigned char *data, size_t dlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(header, 1, hlen, f), hlen);
    assert_int_equal(fwrite(data, 1, dlen, f), dlen);
    fclose(f);
}

/* Writes n images of 4x4 bytes whose class (0..2) sets which quarter is bright. */
static void write_set(const char *images, const char *labels, unsigned n, uint64_t seed)
{
    unsigned char ih[16] = {0, 0, 8, 3, 0, 0, (unsigned char)(n >> 8), (unsigned char)n,
                            0, 0, 0, 4, 0, 0, 0, 4};
    unsigned char lh[8] = {0, 0, 8, 1, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};
    unsigned char *x = malloc(n * 16), *y = malloc(n);
    so_rng rng;
    so_rng_init(&rng, seed, 0);
    for (unsigned i = 0; i < n; i++) {
        y[i] = (unsigned char)(i % 3);
        for (unsigned j = 0; j < 16; j++)
            x[i * 16 + j] = (unsigned char)(so_rng_below(&rng, 100) + (j / 4 == y[i] ? 150 : 0));
    }
    write_idx(images, ih, sizeof ih, x, n * 16);
    write_idx(labels, lh, sizeof lh, y, n);
    free(x);
    free(y);
}

/* Runs the program with `args` through the shell; returns its exit status and the
 * combined output in out. */
static int run(char *out, size_t size, const char *args)
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

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/stochopt-cli-%ld", (long)getpid());
    mkdir(dir, 0700);
    write_set("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 300, 1);
    write_set("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 90, 2);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void train_writes_log_and_plot(void **state)
{
    char out[8192], args[1024];
    (void)state;
    snprintf(args, sizeof args, "train --data %s --model mlp:8 --epochs 3 --batch 16 --lr 0.01 "
             "--log %s/run.csv --plot %s/run.svg", dir, dir, dir);
    assert_int_equal(run(out, sizeof out, args), 0);
    assert_non_null(strstr(out, "epoch   3/3"));
    assert_non_null(strstr(out, "final: epoch 3"));

    char path[512];
    snprintf(path, sizeof path, "%s/run.csv", dir);
    char *csv = read_text(path);
    assert_true(strncmp(csv, "epoch,step,samples,train_loss,test_loss,test_accuracy,lr,"
                        "batch_size,seconds\n1,19,300,", 80) == 0);
    assert_non_null(strstr(csv, "\n3,57,900,"));
    snprintf(path, sizeof path, "%s/run.svg", dir);
    char *svg = read_text(path);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "train loss"));
    assert_non_null(strstr(svg, "test loss"));
    assert_non_null(strstr(svg, "test accuracy"));
    assert_non_null(strstr(svg, "</svg>"));
}

/* Everything in the log but the timing column. */
static void strip_seconds(char *csv)
{
    for (char *line = csv; (line = strchr(line, '\n')) != NULL; line++) {
        char *comma = line;
        while (comma > csv && comma[-1] != ',')
            comma--;
        memset(comma, 'x', (size_t)(line - comma));
    }
}

static void same_seed_same_log_and_resume(void **state)
{
    char out[8192], args[1024], path[512];
    char first[1 << 14], second[1 << 14];
    (void)state;
    const char *common = "--model mlp:8 --batch 16 --lr 0.01 --seed 5";
    snprintf(args, sizeof args, "train --data %s %s --epochs 4 --log %s/a.csv", dir, common, dir);
    assert_int_equal(run(out, sizeof out, args), 0);
    snprintf(path, sizeof path, "%s/a.csv", dir);
    strcpy(first, read_text(path));

    snprintf(args, sizeof args, "train --data %s %s --epochs 2 --checkpoint %s/c.ckpt", dir,
             common, dir);
    assert_int_equal(run(out, sizeof out, args), 0);
    snprintf(args, sizeof args, "train --data %s %s --epochs 4 --resume %s/c.ckpt --log %s/b.csv",
             dir, common, dir, dir);
    assert_int_equal(run(out, sizeof out, args), 0);
    snprintf(path, sizeof path, "%s/b.csv", dir);
    strcpy(second, read_text(path));
    strip_seconds(first);
    strip_seconds(second);
    assert_string_equal(first, second);
}

static void bad_options_exit_with_usage_status(void **state)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"train --lr abc", "--lr: expected a number, found 'abc'"},
        {"train --lr -1", "--lr: -1 is outside the valid range"},
        {"train --batch 0", "--batch: 0 is outside the valid range"},
        {"train --epochs 2x", "--epochs: expected an integer, found '2x'"},
        {"train --optim lion", "unknown optimizer 'lion'"},
        {"train --frobnicate", "unknown or ambiguous option --frobnicate"},
        {"train --nesterov", "--nesterov does not apply to adam, which reads"},
        {"train --optim sgd --beta1 0.5", "--beta1 does not apply to sgd"},
        {"train --optim adam --beta1 1", "beta1 = 1 is invalid"},
        {"train --schedule zigzag", "--schedule: unknown schedule 'zigzag'"},
        {"train --eps-placement middle", "--eps-placement: expected after, before or inside"},
        {"train --optims adam,sgd", "option --optims does not apply to 'stochopt train'"},
        {"compare --optims adam,lion", "unknown optimizer 'lion'"},
        {"compare --optims adam,,sgd", "--optims: expected a comma-separated list"},
        {"compare --optims adam,adam", "--optims: adam is listed twice"},
        {"compare --optims adam --resume x", "option --resume does not apply to 'stochopt compare'"},
        {"compare", "compare needs --optims"},
        {"train --lr", "option --lr needs a value"},
        {"train --format parquet", "--format: unknown format 'parquet'"},
        {"train extra", "unexpected argument 'extra'"},
        {"train --data /nonexistent/fmnist", "--data /nonexistent/fmnist: No such file"},
        {"fly", "unknown command 'fly'"},
        {"train --log /nonexistent/x.csv", "--log /nonexistent/x.csv: directory /nonexistent "
                                            "does not exist"},
        {"train --plot /tmp", "--plot /tmp: is a directory"},
        {"train --model mlp:12x", "--model: "},
        {"train --resume /nonexistent.ckpt", "--resume: /nonexistent.ckpt: cannot open"},
    };
    char out[8192];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = run(out, sizeof out, cases[i].args);
        if (status != 2 || strstr(out, cases[i].message) == NULL)
            fail_msg("'%s' gave status %d and output: %s", cases[i].args, status, out);
    }
}

static void bad_model_spec_is_reported(void **state)
{
    char out[8192], args[1024];
    (void)state;
    snprintf(args, sizeof args, "train --data %s --model mlp:0 --epochs 1", dir);
    assert_int_equal(run(out, sizeof out, args), 2);
    assert_non_null(strstr(out, "mlp:0"));
}

static void truncated_data_file_is_reported(void **state)
{
    char out[8192], args[1024], path[512];
    (void)state;
    snprintf(path, sizeof path, "%s/bad", dir);
    mkdir(path, 0700);
    char saved[256];
    strcpy(saved, dir);
    strcpy(dir, path);
    write_set("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 30, 1);
    write_set("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 9, 2);
    strcpy(dir, saved);
    snprintf(args, sizeof args, "truncate -s 100 %s/train-images-idx3-ubyte", path);
    assert_int_equal(system(args), 0);
    snprintf(args, sizeof args, "train --data %s --epochs 1", path);
    assert_int_equal(run(out, sizeof out, args), 2);
    assert_non_null(strstr(out, "train-images-idx3-ubyte"));
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

/* Cases that need files: each must exit with status 2 and the given message. */
static void file_errors_exit_with_usage_status(void **state)
{
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"--data %s/mixed.csv", "found 2 numbers and text in field 3"},
        {"--data %s/ok.csv --log %s/ok.csv", "--log %s/ok.csv would overwrite the --data file"},
        {"--data %s/ok.csv --log %s/x.out --checkpoint %s/x.out", "name the same file"},
        {"--data %s --test %s/ok.csv", "--test and --test-split apply to a single data file"},
        {"--data %s/ok.csv --test-split 0.99", "leaves none of the 4 rows"},
        {"--data %s/ok.csv --resume %s", "is a directory"},
    };
    char out[8192], args[1024], message[512];
    (void)state;
    write_text("mixed.csv", "1,2,x\n3,4,0\n");
    write_text("ok.csv", "1,2,0\n3,4,1\n5,6,0\n7,8,1\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char fmt[256];
        snprintf(fmt, sizeof fmt, "train %s", cases[i].args);
        snprintf(args, sizeof args, fmt, dir, dir, dir);
        snprintf(message, sizeof message, cases[i].message, dir);
        int status = run(out, sizeof out, args);
        if (status != 2 || strstr(out, message) == NULL)
            fail_msg("'%s' gave status %d and output: %s", args, status, out);
    }
}

/* Adam with eps 0 divides 0 by 0 for a weight whose gradient is exactly zero (a dead ReLU
 * unit), which makes that parameter NaN although every gradient is finite. */
static void nonfinite_parameters_end_run(void **state)
{
    char out[8192], args[1024];
    (void)state;
    write_text("tiny.csv", "1,2,0\n3,4,1\n5,6,0\n7,8,1\n1,3,0\n3,5,1\n5,7,0\n7,9,1\n");
    snprintf(args, sizeof args, "train --data %s/tiny.csv --model mlp:4 --epochs 3 --eps 0 "
             "--test-split 0.25", dir);
    assert_int_equal(run(out, sizeof out, args), 1);
    assert_non_null(strstr(out, "parameters are no longer finite"));
}

static void resume_rejects_non_checkpoint(void **state)
{
    char out[8192], args[1024];
    (void)state;
    snprintf(args, sizeof args, "train --data %s --resume %s/train-labels-idx1-ubyte", dir, dir);
    assert_int_equal(run(out, sizeof out, args), 2);
    assert_non_null(strstr(out, "checkpoint magic"));
}

/* The program runs as a background job of sh, which sends it SIGINT after 1.5 s. */
static void interrupt_names_checkpoint(void **state)
{
    char out[8192], script[2048];
    (void)state;
    snprintf(script, sizeof script, "'%s' train --data %s --model mlp:8 --epochs 1000000 "
             "--quiet --checkpoint %s/int.ckpt 2>&1 & pid=$!; sleep 1.5; kill -INT $pid; "
             "wait $pid; echo status=$?", SO_CLI_PATH, dir, dir);
    FILE *p = popen(script, "r");
    assert_non_null(p);
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    pclose(p);
    if (strstr(out, "interrupted during epoch") == NULL || strstr(out, "--resume") == NULL ||
        strstr(out, "status=130") == NULL)
        fail_msg("unexpected output: %s", out);
}

/* Every optimizer and a schedule train through the CLI and write a log whose lr column
 * follows the schedule. */
static void every_optimizer_trains(void **state)
{
    static const char *const methods[] = {"sgd", "momentum", "nesterov", "adagrad",
                                          "adagrad_norm", "rmsprop", "adadelta", "adam",
                                          "adamw", "amsgrad", "diffgrad"};
    char out[8192], args[1024];
    (void)state;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        snprintf(args, sizeof args, "train --data %s --model mlp:8 --epochs 1 --batch 32 "
                 "--optim %s --quiet", dir, methods[i]);
        int status = run(out, sizeof out, args);
        if (status != 0 || strstr(out, "final: epoch 1") == NULL)
            fail_msg("'%s' gave status %d and output: %s", args, status, out);
    }
    snprintf(args, sizeof args, "train --data %s --model mlp:8 --epochs 2 --batch 30 "
             "--optim sgd --lr 0.1 --schedule cosine --log %s/cos.csv --quiet", dir, dir);
    assert_int_equal(run(out, sizeof out, args), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/cos.csv", dir);
    char *csv = read_text(path);
    /* 10 steps per epoch, T_max 20: after epoch 1 the rate is 0.05, after epoch 2 zero. */
    assert_non_null(strstr(csv, "\n1,10,300,"));
    assert_non_null(strstr(csv, ",0.05,30,"));
    assert_non_null(strstr(csv, ",0,30,"));
}

static void compare_writes_summary_and_overlay(void **state)
{
    char out[16384], args[2048], path[512];
    (void)state;
    snprintf(args, sizeof args, "compare --data %s --model mlp:8 --epochs 2 --batch 32 "
             "--optims adam,sgd,diffgrad --momentum 0.9 --summary %s/sum.csv --plot "
             "%s/cmp.svg --log %s/cmp", dir, dir, dir, dir);
    int status = run(out, sizeof out, args);
    if (status != 0)
        fail_msg("'%s' gave status %d and output: %s", args, status, out);
    snprintf(path, sizeof path, "%s/sum.csv", dir);
    char *csv = read_text(path);
    assert_true(strncmp(csv, "method,final_test_accuracy,best_test_accuracy,best_epoch,", 57) == 0);
    assert_non_null(strstr(csv, "\nadam,"));
    assert_non_null(strstr(csv, "\nsgd,"));
    assert_non_null(strstr(csv, "\ndiffgrad,"));
    snprintf(path, sizeof path, "%s/cmp.svg", dir);
    char *svg = read_text(path);
    assert_non_null(strstr(svg, ">diffgrad</text>"));
    assert_non_null(strstr(svg, "Test accuracy"));
    snprintf(path, sizeof path, "%s/cmp-sgd.csv", dir);
    assert_non_null(strstr(read_text(path), "\n2,20,600,"));

    /* The same seed gives each method the same start: adam's run equals stochopt train. */
    snprintf(args, sizeof args, "train --data %s --model mlp:8 --epochs 2 --batch 32 "
             "--log %s/single.csv", dir, dir);
    assert_int_equal(run(out, sizeof out, args), 0);
    char single[8192];
    snprintf(path, sizeof path, "%s/single.csv", dir);
    strcpy(single, read_text(path));
    snprintf(path, sizeof path, "%s/cmp-adam.csv", dir);
    char *from_compare = read_text(path);
    strip_seconds(single);
    strip_seconds(from_compare);
    assert_string_equal(single, from_compare);
}

static void help_and_version(void **state)
{
    char out[8192];
    (void)state;
    assert_int_equal(run(out, sizeof out, "train --help"), 0);
    assert_non_null(strstr(out, "--checkpoint FILE"));
    assert_int_equal(run(out, sizeof out, "--version"), 0);
    assert_non_null(strstr(out, "stochopt "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(train_writes_log_and_plot),
        cmocka_unit_test(same_seed_same_log_and_resume),
        cmocka_unit_test(bad_options_exit_with_usage_status),
        cmocka_unit_test(bad_model_spec_is_reported),
        cmocka_unit_test(truncated_data_file_is_reported),
        cmocka_unit_test(file_errors_exit_with_usage_status),
        cmocka_unit_test(nonfinite_parameters_end_run),
        cmocka_unit_test(resume_rejects_non_checkpoint),
        cmocka_unit_test(interrupt_names_checkpoint),
        cmocka_unit_test(every_optimizer_trains),
        cmocka_unit_test(compare_writes_summary_and_overlay),
        cmocka_unit_test(help_and_version),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
