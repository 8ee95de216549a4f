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
