/* Internal helpers shared by every module; not part of the public API. */
#ifndef STOCHOPT_INTERNAL_H
#define STOCHOPT_INTERNAL_H

#include <stddef.h>

#include "stochopt/core.h"

#if defined(__GNUC__)
#define SO_PRINTF_(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SO_PRINTF_(fmt, args)
#endif

/* Records `status` with a printf-style detail for so_last_error() and returns status,
 * so that failures read `return so_fail_(SO_ERR_FORMAT, "%s: line %zu: ...", ...);`. */
int so_fail_(int status, const char *fmt, ...) SO_PRINTF_(2, 3);

/* Prepends "prefix: " to the current error detail, for callers that add context. */
void so_error_prefix_(const char *fmt, ...) SO_PRINTF_(1, 2);

/* Sends a message to the installed log handler when its level is enabled. */
void so_log_(so_log_level level, const char *fmt, ...) SO_PRINTF_(2, 3);

/* Allocation aligned to 64 bytes; the size is rounded up to a multiple of 64. Free with
 * so_free_aligned_. Returns NULL (and sets the error detail) on failure or overflow. */
void *so_alloc_aligned_(size_t count, size_t size);
void so_free_aligned_(void *p);

/* calloc that records an error detail on failure and checks count * size overflow. */
void *so_calloc_(size_t count, size_t size);

#endif
