/* Status messages and the thread-local error detail. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

#ifndef SO_VERSION_STRING
#define SO_VERSION_STRING "0.0.0"
#endif

enum { SO_ERROR_DETAIL_MAX = 1024 };

static _Thread_local char last_error[SO_ERROR_DETAIL_MAX];

const char *so_strerror(int status)
{
    switch (status) {
#define SO_STATUS_CASE_(name, value, text) \
    case value:                            \
        return text;
        SO_STATUS_LIST(SO_STATUS_CASE_)
#undef SO_STATUS_CASE_
    default:
        return "unknown status";
    }
}

const char *so_last_error(void)
{
    return last_error;
}

void so_clear_error(void)
{
    last_error[0] = '\0';
}

const char *so_version(void)
{
    return SO_VERSION_STRING;
}

int so_fail_(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void so_error_prefix_(const char *fmt, ...)
{
    char prefix[SO_ERROR_DETAIL_MAX];
    char old[SO_ERROR_DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    /* Truncation is acceptable here: the detail is capped at SO_ERROR_DETAIL_MAX. */
    size_t used = strlen(prefix);
    memcpy(last_error, prefix, used + 1);
    if (used + 2 < sizeof last_error) {
        memcpy(last_error + used, ": ", 3);
        used += 2;
        size_t room = sizeof last_error - used - 1;
        size_t len = strnlen(old, room);
        memcpy(last_error + used, old, len);
        last_error[used + len] = '\0';
    }
}
