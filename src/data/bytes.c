/* Byte order, overflow-checked sizes and the quoting of input in error messages. */
#include <stdio.h>
#include <string.h>

#include "data/data_internal.h"

const char *so_data_name_(const char *name)
{
    return name != NULL ? name : "(buffer)";
}

int so_host_is_little_(void)
{
    const uint16_t probe = 1;
    unsigned char first;

    memcpy(&first, &probe, 1);
    return first == 1;
}

void so_swap_bytes_(void *data, size_t count, size_t elsize)
{
    unsigned char *p = data;

    if (elsize < 2)
        return;
    for (size_t i = 0; i < count; i++, p += elsize) {
        for (size_t lo = 0, hi = elsize - 1; lo < hi; lo++, hi--) {
            unsigned char t = p[lo];
            p[lo] = p[hi];
            p[hi] = t;
        }
    }
}

const char *so_quote_(char *buf, size_t cap, const char *s, size_t len)
{
    enum { QUOTED_MAX = 40 };
    size_t copied = len < QUOTED_MAX ? len : QUOTED_MAX;
    size_t w = 0;

    if (cap < 8) {
        if (cap > 0)
            buf[0] = '\0';
        return buf;
    }
    /* Leave room for the two quotes, "..." and the terminator. */
    if (copied > cap - 7)
        copied = cap - 7;
    buf[w++] = '\'';
    for (size_t i = 0; i < copied; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[w++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (copied < len) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w++] = '\'';
    buf[w] = '\0';
    return buf;
}

const char *so_hex_(char *buf, size_t cap, const unsigned char *data, size_t len)
{
    size_t w = 0;

    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < len && w + 4 <= cap; i++)
        w += (size_t)snprintf(buf + w, cap - w, i == 0 ? "%02x" : " %02x", data[i]);
    return buf;
}

int so_mul_size_(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    *out = a * b;
    return 1;
}

const char *so_format_shape_(char *buf, size_t cap, int ndim, const size_t *shape)
{
    size_t w = 0;

    if (cap < 4) {
        if (cap > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[w++] = '(';
    for (int k = 0; k < ndim && w + 24 < cap; k++)
        w += (size_t)snprintf(buf + w, cap - w, k == 0 ? "%zu" : ", %zu", shape[k]);
    if (ndim == 1 && w + 2 < cap)
        buf[w++] = ',';
    buf[w++] = ')';
    buf[w] = '\0';
    return buf;
}

int so_shape_count_(int ndim, const size_t *shape, size_t elsize, size_t *size, size_t *bytes)
{
    size_t count = 1;

    /* A zero size anywhere makes the array empty, however large the other sizes are. */
    for (int k = 0; k < ndim; k++)
        if (shape[k] == 0)
            count = 0;
    for (int k = 0; k < ndim && count != 0; k++)
        if (!so_mul_size_(count, shape[k], &count))
            return 0;
    if (!so_mul_size_(count, elsize, bytes))
        return 0;
    *size = count;
    return 1;
}
