/* Line splitting and strict number parsing for the text formats. */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

void so_lines_init_(so_line_reader_ *reader, const char *text, size_t length)
{
    reader->pos = text;
    reader->end = text + length;
    reader->line = 0;
}

int so_lines_next_(so_line_reader_ *reader, const char **line, size_t *length)
{
    const char *start = reader->pos, *stop;
    size_t len;

    if (start >= reader->end)
        return 0;
    stop = memchr(start, '\n', (size_t)(reader->end - start));
    if (stop == NULL)
        stop = reader->end;
    len = (size_t)(stop - start);
    reader->pos = stop < reader->end ? stop + 1 : stop;
    if (len > 0 && start[len - 1] == '\r')
        len--;
    reader->line++;
    *line = start;
    *length = len;
    return 1;
}

int so_parse_number_(const char *s, size_t len, double *value)
{
    /* strtod needs a terminated string and the input is not, so the token is copied.
     * NOTE: tokens of 1024 bytes or more are rejected as not a number; data files do not
     * hold decimal literals that long. */
    char buf[1024];
    char *end;

    if (len == 0 || len >= sizeof buf)
        return SO_NUMBER_INVALID_;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* strtod skips leading white space, which a token must not contain. */
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n' || buf[0] == '\v' ||
        buf[0] == '\f' || buf[0] == '\r')
        return SO_NUMBER_INVALID_;
    *value = strtod(buf, &end);
    if (end != buf + len)
        return SO_NUMBER_INVALID_;
    if (!isfinite(*value))
        return SO_NUMBER_NONFINITE_;
    return SO_NUMBER_OK_;
}

int so_parse_index_(const char *s, size_t len, uint64_t max, uint64_t *value)
{
    uint64_t v = 0;

    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)s[i] - '0';
        if (digit > 9 || digit > max || v > (max - digit) / 10)
            return 0;
        v = v * 10 + digit;
    }
    *value = v;
    return 1;
}

void so_c_locale_enter_(so_c_locale_ *scope)
{
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);

    scope->c_locale = c;
    scope->previous = NULL;
    /* Without a locale object strtod follows the process locale, which is "C" unless the
     * application called setlocale. */
    if (c != (locale_t)0)
        scope->previous = uselocale(c);
}

void so_c_locale_leave_(so_c_locale_ *scope)
{
    if (scope->c_locale == NULL)
        return;
    uselocale((locale_t)scope->previous);
    freelocale((locale_t)scope->c_locale);
    scope->c_locale = NULL;
}
