/* gzip decompression of buffers in memory with zlib's inflate (RFC 1952 framing). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "data/data_internal.h"

int so_is_gzip_(const void *data, size_t length)
{
    const unsigned char *p = data;
    return length >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int so_gz_open_(so_gz_ *gz, const void *data, size_t length, const char *name)
{
    z_stream *zs = so_calloc_(1, sizeof *zs);

    memset(gz, 0, sizeof *gz);
    if (zs == NULL)
        return SO_ERR_NOMEM;
    /* 16 + MAX_WBITS selects gzip framing in inflateInit2 (zlib manual). */
    if (inflateInit2(zs, 16 + MAX_WBITS) != Z_OK) {
        free(zs);
        return so_fail_(SO_ERR_NOMEM, "%s: cannot start zlib inflate", so_data_name_(name));
    }
    gz->stream = zs;
    gz->next = data;
    gz->left = length;
    gz->length = length;
    gz->name = so_data_name_(name);
    return SO_OK;
}

void so_gz_close_(so_gz_ *gz)
{
    if (gz->stream != NULL) {
        inflateEnd(gz->stream);
        free(gz->stream);
    }
    gz->stream = NULL;
}

/* Handles the end of one gzip member: the data ends, or another member follows. */
static int end_member(so_gz_ *gz, z_stream *zs)
{
    /* Take back the input zlib has not used so that `next` is contiguous again. */
    gz->next = zs->next_in;
    gz->left += zs->avail_in;
    zs->avail_in = 0;
    if (gz->left == 0) {
        gz->ended = 1;
        return SO_OK;
    }
    if (!so_is_gzip_(gz->next, gz->left))
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu of the gzip file: expected another gzip "
                        "member or the end of the file, found %zu trailing bytes",
                        gz->name, gz->length - gz->left, gz->left);
    inflateReset(zs);
    return SO_OK;
}

int so_gz_read_(so_gz_ *gz, void *dst, size_t n, size_t *got)
{
    z_stream *zs = gz->stream;
    unsigned char *out = dst;
    size_t done = 0;

    while (done < n && !gz->ended) {
        size_t want = n - done, before;
        int ret;

        if (zs->avail_in == 0 && gz->left > 0) {
            size_t chunk = gz->left < UINT_MAX ? gz->left : UINT_MAX;
            zs->next_in = (unsigned char *)(uintptr_t)gz->next;
            zs->avail_in = (uInt)chunk;
            gz->next += chunk;
            gz->left -= chunk;
        }
        zs->next_out = out + done;
        zs->avail_out = (uInt)(want < UINT_MAX ? want : UINT_MAX);
        before = zs->avail_out;
        ret = inflate(zs, Z_NO_FLUSH);
        done += before - zs->avail_out;
        if (ret == Z_STREAM_END) {
            int status = end_member(gz, zs);
            if (status != SO_OK)
                return status;
        } else if (ret == Z_BUF_ERROR || (ret == Z_OK && zs->avail_in == 0 && gz->left == 0 &&
                                          before == zs->avail_out)) {
            return so_fail_(SO_ERR_FORMAT, "%s: byte %zu of the gzip file: expected more "
                            "compressed data, found the end of the file (truncated gzip file)",
                            gz->name, gz->length);
        } else if (ret != Z_OK) {
            return so_fail_(ret == Z_MEM_ERROR ? SO_ERR_NOMEM : SO_ERR_FORMAT,
                            "%s: byte %zu of the gzip file: invalid compressed data (%s)",
                            gz->name, gz->length - gz->left - zs->avail_in,
                            zs->msg != NULL ? zs->msg : "zlib error");
        }
    }
    gz->produced += done;
    *got = done;
    return SO_OK;
}

/* Guesses the decompressed size from the ISIZE trailer (size mod 2^32, RFC 1952 2.3.1),
 * bounded by deflate's maximum ratio of 1032:1 (zlib technical details). */
static size_t size_hint(const unsigned char *data, size_t length)
{
    size_t isize, bound = length < SIZE_MAX / 1032 ? length * 1032 : SIZE_MAX;

    if (length < 18)
        return 4096;
    isize = (size_t)data[length - 4] | (size_t)data[length - 3] << 8 |
            (size_t)data[length - 2] << 16 | (size_t)data[length - 1] << 24;
    return isize < bound ? isize + 1 : bound;
}

int so_gunzip_(const void *data, size_t length, const char *name, unsigned char **out,
               size_t *out_length)
{
    so_gz_ gz;
    size_t cap = size_hint(data, length), used = 0;
    unsigned char *buf = NULL;
    int status = so_gz_open_(&gz, data, length, name);

    *out = NULL;
    *out_length = 0;
    while (status == SO_OK && !gz.ended) {
        size_t got;
        unsigned char *grown = realloc(buf, cap);
        if (grown == NULL) {
            status = so_fail_(SO_ERR_NOMEM, "%s: out of memory inflating %zu bytes",
                              so_data_name_(name), cap);
            break;
        }
        buf = grown;
        status = so_gz_read_(&gz, buf + used, cap - used, &got);
        used += got;
        if (used == cap)
            cap = cap <= SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
    }
    so_gz_close_(&gz);
    if (status != SO_OK) {
        free(buf);
        return status;
    }
    *out = buf;
    *out_length = used;
    return SO_OK;
}
