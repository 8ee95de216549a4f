/* Shared pieces of the stochopt command-line program. */
#ifndef STOCHOPT_CLI_H
#define STOCHOPT_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Exit statuses: 0 success, 1 a run that failed, 2 bad usage or missing input. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

int cli_train(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_minimize(int argc, char **argv);
int cli_ot(int argc, char **argv);
int cli_constrained(int argc, char **argv);
int cli_newton(int argc, char **argv);
int cli_sso(int argc, char **argv);

/* Prints "stochopt: " and the message to stderr, followed by a newline. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Strict numeric option parsing: the whole string must be a number in [lo, hi].
 * On failure prints an error naming the option and returns -1. */
int cli_parse_double(const char *option, const char *text, double lo, double hi, double *out);
int cli_parse_long(const char *option, const char *text, long lo, long hi, long *out);

/* ---- Helpers of the solver commands (constrained, newton, sso) */

struct so_dataset;
struct option;

/* Handles one parsed option of a subcommand: code is its getopt_long value and arg its
 * value or NULL. Returns 0, or -1 after printing an error. */
typedef int (*cli_option_fn)(int code, const char *arg, void *ctx);

/* Reads the long options of subcommand `command` from argv with getopt_long, calling
 * handle for each. Returns CLI_HELP when --help or -h was given, -1 after printing an
 * error for an unknown option, a missing value or a stray argument, and 0 otherwise. */
enum { CLI_HELP = 1 };
int cli_parse_options(int argc, char **argv, const char *command,
                      const struct option *options, cli_option_fn handle, void *ctx);

/* Rejects an output path that is empty, ends in '/', names a directory or another file
 * that is not a regular file (a FIFO or a device), or lies in a missing or read-only
 * directory. Prints an error naming the option and returns -1. A NULL path
 * is accepted. */
int cli_check_output_path(const char *option, const char *path);

/* Rejects two paths that name the same file (equal names, or one existing file), so
 * that an output does not replace an input or another output. Prints an error naming
 * both options and returns -1. NULL paths are accepted. */
int cli_check_distinct(const char *option_a, const char *path_a, const char *option_b,
                       const char *path_b);

/* Rejects a history of `rows` rows of row_bytes each that is larger than the physical
 * memory. Prints an error naming the option and steps_option, the option that sets the
 * row count, and returns -1. */
int cli_check_history_memory(const char *option, const char *steps_option, long rows,
                             size_t row_bytes);

/* Loads a dataset file given with `option` (such as "--data") in the format named by
 * format_name (auto, libsvm, csv or npy). label_column is the CSV and NPY column that
 * holds the targets, -1 for the last. Returns 0, or prints an error naming the option
 * and the file and returns CLI_EXIT_USAGE. */
int cli_load_dataset(const char *option, const char *path, const char *format_name,
                     int label_column, struct so_dataset **out);

/* Parses --label-column K: a CSV or NPY column index from 0, or -1 for the last.
 * Returns 0, or -1 after printing an error. */
int cli_parse_label_column(const char *text, int *out);

/* Writes n values to path, atomically: NPY (float64, shape (n,)) when the name ends in
 * .npy, else text with one value per line in %.17g. Prints an error naming the option
 * and returns -1 on failure. */
int cli_write_vector(const char *option, const char *path, const double *x, size_t n);

/* Writes the text of a memory stream (open_memstream) to path atomically and frees it.
 * Prints an error naming the option and returns -1 on failure. */
int cli_write_text(const char *option, const char *path, char *text, size_t length);

/* ---- SVG line charts */

typedef struct plot_series {
    const char *label;
    const double *x, *y;   /* n points; non-finite y values are left out */
    size_t n;
    int dashed;
} plot_series;

typedef struct plot_panel {
    const char *title;
    const char *xlabel, *ylabel;
    const plot_series *series;
    size_t count;
} plot_panel;

/* Writes panels side by side into a self-contained SVG file, atomically. Returns 0 or
 * prints an error and returns -1. */
int plot_write_svg(const char *path, const plot_panel *panels, size_t count);

/* Writes `text` to path through a temporary file and rename. Returns 0 or -1 with errno. */
int cli_write_file_atomic(const char *path, const char *text, size_t length);

#endif
