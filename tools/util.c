/* Error printing and strict number parsing for the command-line program. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("stochopt: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_double(const char *option, const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v)) {
        cli_error("%s: expected a number, found '%s'", option, text);
        return -1;
    }
    if (errno == ERANGE && v != 0.0) {
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
    if (end == text || *end != '\0') {
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
