/* Error printing, strict number parsing and file helpers for the command-line
 * program. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "stochopt/data.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("stochopt: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* strtod and strtol skip leading white space, but the options take none. */
static int starts_number(const char *text)
{
    return text[0] != '\0' && strchr("+-.0123456789", text[0]) != NULL;
}

int cli_parse_double(const char *option, const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    const char *digits = text + (text[0] == '+' || text[0] == '-');
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        cli_error("%s: expected a decimal number, found '%s'", option, text);
        return -1;
    }
    double v = strtod(text, &end);
    if (!starts_number(text) || end == text || *end != '\0' || isnan(v) ||
        (isinf(v) && errno != ERANGE)) {
        cli_error("%s: expected a number, found '%s'", option, text);
        return -1;
    }
    if (errno == ERANGE && isinf(v)) {
        cli_error("%s: %s is outside the range of a double", option, text);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_error("%s: %s is outside the valid range [%g, %g]", option, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_long(const char *option, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!starts_number(text) || end == text || *end != '\0') {
        cli_error("%s: expected an integer, found '%s'", option, text);
        return -1;
    }
    if (errno == ERANGE) {
        cli_error("%s: %s is outside the valid range [%ld, %ld]", option, text, lo, hi);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_error("%s: %s is outside the valid range [%ld, %ld]", option, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_options(int argc, char **argv, const char *command,
                      const struct option *options, cli_option_fn handle, void *ctx)
{
    int code;

    opterr = 0;
    optind = 1;
    while ((code = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (code == 'h')
            return CLI_HELP;
        if (code == ':') {
            cli_error("option %s needs a value", argv[optind - 1]);
            return -1;
        }
        if (code == '?') {
            cli_error("unknown or ambiguous option %s; run 'stochopt %s --help' for the "
                      "list", argv[optind - 1], command);
            return -1;
        }
        if (handle(code, optarg, ctx) != 0)
            return -1;
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'; options start with --", argv[optind]);
        return -1;
    }
    return 0;
}

int cli_check_output_path(const char *option, const char *path)
{
    struct stat st;
    if (path == NULL)
        return 0;
    if (path[0] == '\0') {
        cli_error("%s: the file name is empty", option);
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("%s %s: is a directory; expected a file name", option, path);
        return -1;
    }
    /* The output is written beside the target and renamed over it, which would replace
     * a device or FIFO such as /dev/null by a regular file. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        cli_error("%s %s: is not a regular file; expected a new or regular file name",
                  option, path);
        return -1;
    }
    if (path[strlen(path) - 1] == '/') {
        cli_error("%s %s: ends in '/'; expected a file name", option, path);
        return -1;
    }
    char *copy = strdup(path);
    if (copy == NULL) {
        cli_error("%s %s: out of memory", option, path);
        return -1;
    }
    const char *dir = dirname(copy);
    int ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    if (!ok) {
        cli_error("%s %s: directory %s does not exist; create it or choose another path",
                  option, path, dir);
    } else if (access(dir, W_OK) != 0) {
        cli_error("%s %s: directory %s is not writable", option, path, dir);
        ok = 0;
    }
    free(copy);
    return ok ? 0 : -1;
}

int cli_check_distinct(const char *option_a, const char *path_a, const char *option_b,
                       const char *path_b)
{
    struct stat sa, sb;
    if (path_a == NULL || path_b == NULL)
        return 0;
    int same = strcmp(path_a, path_b) == 0 ||
               (stat(path_a, &sa) == 0 && stat(path_b, &sb) == 0 && sa.st_dev == sb.st_dev &&
                sa.st_ino == sb.st_ino);
    if (same) {
        cli_error("%s %s and %s %s name the same file; give %s another name", option_a,
                  path_a, option_b, path_b, option_b);
        return -1;
    }
    return 0;
}

int cli_check_history_memory(const char *option, const char *steps_option, long rows,
                             size_t row_bytes)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double need = (double)rows * (double)row_bytes;
    if (pages > 0 && page > 0 && need > (double)pages * (double)page) {
        cli_error("%s: %ld rows of history need %.3g GB, more than the %.3g GB of memory; "
                  "lower %s", option, rows, need / 1e9, (double)pages * (double)page / 1e9,
                  steps_option);
        return -1;
    }
    return 0;
}

int cli_load_dataset(const char *option, const char *path, const char *format_name,
                     int label_column, so_dataset **out)
{
    struct stat st;
    int format = so_format_from_name(format_name);
    if (format < 0 || format == SO_FORMAT_IDX) {
        cli_error("--format: unknown format '%s'; expected auto, libsvm, csv or npy",
                  format_name);
        return CLI_EXIT_USAGE;
    }
    if (stat(path, &st) != 0) {
        cli_error("%s %s: %s", option, path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        cli_error("%s %s: is a directory; expected a LIBSVM, CSV or NPY file", option, path);
        return CLI_EXIT_USAGE;
    }
    /* Reading a FIFO or a device could wait forever for a writer. */
    if (!S_ISREG(st.st_mode)) {
        cli_error("%s %s: is not a regular file; expected a LIBSVM, CSV or NPY file",
                  option, path);
        return CLI_EXIT_USAGE;
    }
    so_read_options ro = so_read_options_default();
    ro.label_column = label_column;
    int status = so_dataset_read(path, (so_format)format, &ro, out);
    if (status == SO_ERR_UNSUPPORTED && format == SO_FORMAT_AUTO) {
        cli_error("%s: %s with --format libsvm, csv or npy", option, so_last_error());
        return CLI_EXIT_USAGE;
    }
    if (status != SO_OK) {
        /* The reader's message starts with the file name. */
        cli_error("%s: %s", option, so_last_error());
        return status == SO_ERR_NOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
    }
    return 0;
}

int cli_write_text(const char *option, const char *path, char *text, size_t length)
{
    int status = 0;
    if (text == NULL) {
        cli_error("%s %s: out of memory for the output", option, path);
        return -1;
    }
    if (cli_write_file_atomic(path, text, length) != 0) {
        cli_error("%s %s: cannot write the file: %s", option, path, strerror(errno));
        status = -1;
    }
    free(text);
    return status;
}

static int has_npy_suffix(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".npy") == 0;
}

int cli_write_vector(const char *option, const char *path, const double *x, size_t n)
{
    if (has_npy_suffix(path)) {
        so_array *arr = NULL;
        int status = so_array_new(SO_DTYPE_F64, 1, &n, &arr);
        if (status == SO_OK) {
            memcpy(arr->data, x, n * sizeof *x);
            status = so_npy_write(path, arr);
        }
        so_array_free(&arr);
        if (status != SO_OK)
            cli_error("%s %s: %s", option, path, so_last_error());
        return status == SO_OK ? 0 : -1;
    }
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (f == NULL) {
        cli_error("%s %s: out of memory for the output", option, path);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.17g\n", x[i]);
    fclose(f);
    return cli_write_text(option, path, text, length);
}

int cli_parse_label_column(const char *text, int *out)
{
    long v;
    if (cli_parse_long("--label-column", text, -1, 1000000, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}
