/* Logging through a handler that the application installs. */
#include <stdarg.h>
#include <stdio.h>

#include "core/internal.h"

static so_log_fn log_fn;
static void *log_user;
static so_log_level log_min_level = SO_LOG_INFO;

void so_set_log_handler(so_log_fn fn, void *user, so_log_level min_level)
{
    log_fn = fn;
    log_user = user;
    log_min_level = min_level;
}

void so_log_(so_log_level level, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    /* Check the level before formatting, so disabled messages cost one comparison. */
    if (log_fn == NULL || level < log_min_level)
        return;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    log_fn(log_user, level, message);
}
