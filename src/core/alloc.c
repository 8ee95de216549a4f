/* Checked and aligned allocation. */
#include <stdint.h>
#include <stdlib.h>

#include "core/internal.h"

enum { SO_ALIGNMENT = 64 };

void *so_alloc_aligned_(size_t count, size_t size)
{
    size_t bytes;
    void *p;

    if (size != 0 && count > SIZE_MAX / size) {
        so_fail_(SO_ERR_NOMEM, "allocation of %zu x %zu bytes overflows size_t", count, size);
        return NULL;
    }
    bytes = count * size;
    if (bytes > SIZE_MAX - (SO_ALIGNMENT - 1)) {
        so_fail_(SO_ERR_NOMEM, "allocation of %zu bytes is too large", bytes);
        return NULL;
    }
    bytes = (bytes + SO_ALIGNMENT - 1) / SO_ALIGNMENT * SO_ALIGNMENT;
    if (bytes == 0)
        bytes = SO_ALIGNMENT;
    p = aligned_alloc(SO_ALIGNMENT, bytes);
    if (p == NULL)
        so_fail_(SO_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void so_free_aligned_(void *p)
{
    free(p);
}

void *so_calloc_(size_t count, size_t size)
{
    void *p;

    if (size != 0 && count > SIZE_MAX / size) {
        so_fail_(SO_ERR_NOMEM, "allocation of %zu x %zu bytes overflows size_t", count, size);
        return NULL;
    }
    p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
    if (p == NULL)
        so_fail_(SO_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}
