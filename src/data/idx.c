/* IDX reader. The format (LeCun, "THE MNIST DATABASE of handwritten digits") is a 4-byte
 * magic number 00 00 <type> <ndim>, ndim big-endian 32-bit sizes, then the elements in
 * C order and big-endian byte order. Files may be gzip-compressed. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* Source of IDX bytes: plain bytes in memory or a gzip stream over them. Offsets count
 * decompressed bytes. */
typedef struct idx_source {
    const unsigned char *bytes;
    size_t length;
    size_t offset;
    int gzip;
    so_gz_ gz;
    const char *name;
} idx_source;

static int source_read(idx_source *src, void *dst, size_t n, size_t *got)
{
    if (src->gzip) {
        int status = so_gz_read_(&src->gz, dst, n, got);
        if (status != SO_OK)
            return status;
    } else {
        size_t left = src->length - src->offset;
        *got = n < left ? n : left;
        if (*got > 0)
            memcpy(dst, src->bytes + src->offset, *got);
    }
    src->offset += *got;
    return SO_OK;
}

/* Counts the bytes left in the source, at most `limit`, for the error message. */
static int count_rest(idx_source *src, size_t limit, size_t *count)
{
    unsigned char scratch[4096];

    *count = 0;
    if (!src->gzip) {
        *count = src->length - src->offset;
        return SO_OK;
    }
    for (;;) {
        size_t got;
        int status = source_read(src, scratch, sizeof scratch, &got);
        if (status != SO_OK)
            return status;
        *count += got;
        if (got < sizeof scratch || *count > limit)
            return SO_OK;
    }
}

static int dtype_from_code(unsigned code, so_dtype *dtype)
{
    switch (code) {
    case 0x08: *dtype = SO_DTYPE_U8; return 1;
    case 0x09: *dtype = SO_DTYPE_I8; return 1;
    case 0x0B: *dtype = SO_DTYPE_I16; return 1;
    case 0x0C: *dtype = SO_DTYPE_I32; return 1;
    case 0x0D: *dtype = SO_DTYPE_F32; return 1;
    case 0x0E: *dtype = SO_DTYPE_F64; return 1;
    default: return 0;
    }
}

/* Reads the magic number and the sizes into dtype, ndim and shape. */
static int read_header(idx_source *src, so_dtype *dtype, int *ndim, size_t *shape)
{
    unsigned char magic[4], dims[4 * SO_ARRAY_MAX_DIMS];
    char hex[16];
    size_t got;
    int status = source_read(src, magic, 4, &got);

    if (status != SO_OK)
        return status;
    if (got < 4)
        return so_fail_(SO_ERR_FORMAT, "%s: byte 0: expected a 4-byte IDX magic number, "
                        "found %zu bytes", src->name, got);
    if (magic[0] != 0 || magic[1] != 0)
        return so_fail_(SO_ERR_FORMAT, "%s: byte 0: expected an IDX magic number "
                        "00 00 <type> <ndim>, found %s", src->name,
                        so_hex_(hex, sizeof hex, magic, 4));
    if (!dtype_from_code(magic[2], dtype))
        return so_fail_(SO_ERR_FORMAT, "%s: byte 2: expected an IDX type code (08, 09, 0b, "
                        "0c, 0d or 0e), found %02x", src->name, magic[2]);
    if (magic[3] < 1 || magic[3] > SO_ARRAY_MAX_DIMS)
        return so_fail_(SO_ERR_FORMAT, "%s: byte 3: expected 1 to %d dimensions, found %u",
                        src->name, SO_ARRAY_MAX_DIMS, magic[3]);
    *ndim = magic[3];
    status = source_read(src, dims, 4 * (size_t)*ndim, &got);
    if (status != SO_OK)
        return status;
    if (got < 4 * (size_t)*ndim)
        return so_fail_(SO_ERR_FORMAT, "%s: byte 4: expected %d dimension sizes (%d bytes), "
                        "found %zu bytes", src->name, *ndim, 4 * *ndim, got);
    for (int k = 0; k < *ndim; k++) {
        const unsigned char *b = dims + 4 * k;
        shape[k] = (size_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
                            (uint32_t)b[2] << 8 | (uint32_t)b[3]);
    }
    return SO_OK;
}

static int fail_short(idx_source *src, size_t header, size_t expected, size_t found,
                      const so_array *a)
{
    char shape[256];
    return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected %zu data bytes for shape %s of "
                    "%s, found %zu", src->name, header, expected,
                    so_format_shape_(shape, sizeof shape, a->ndim, a->shape),
                    so_dtype_name(a->dtype), found);
}

/* Reads exactly `expected` data bytes into the array and checks that nothing follows. */
static int read_data(idx_source *src, so_array *a, size_t expected)
{
    size_t header = src->offset, got, rest;
    unsigned char extra;
    int status;

    /* A gzip stream cannot expand more than 1032 times (deflate's maximum ratio, zlib
     * technical details), so a larger claim is a truncated or forged header: count what is
     * there instead of allocating what the header claims. */
    if (src->gzip ? expected / 1032 > src->length : expected > src->length - header) {
        status = count_rest(src, expected, &rest);
        return status != SO_OK ? status : fail_short(src, header, expected, rest, a);
    }
    a->data = so_alloc_aligned_(expected, 1);
    if (a->data == NULL)
        return SO_ERR_NOMEM;
    status = source_read(src, a->data, expected, &got);
    if (status != SO_OK)
        return status;
    if (got < expected)
        return fail_short(src, header, expected, got, a);
    status = source_read(src, &extra, 1, &got);
    if (status == SO_OK && got > 0 && (status = count_rest(src, SIZE_MAX, &rest)) == SO_OK)
        status = so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected the end of the data after "
                          "%zu data bytes, found %zu trailing bytes", src->name,
                          header + expected, expected, rest + 1);
    return status;
}

static int parse_source(idx_source *src, so_array **out)
{
    so_array *a = so_calloc_(1, sizeof *a);
    size_t bytes;
    int status;

    if (a == NULL)
        return SO_ERR_NOMEM;
    status = read_header(src, &a->dtype, &a->ndim, a->shape);
    if (status != SO_OK)
        goto fail;
    if (!so_shape_count_(a->ndim, a->shape, so_dtype_size(a->dtype), &a->size, &bytes)) {
        status = so_fail_(SO_ERR_FORMAT, "%s: byte 4: expected a shape whose byte count fits in size_t, "
                 "found sizes whose product overflows", src->name);
        goto fail;
    }
    status = read_data(src, a, bytes);
    if (status != SO_OK)
        goto fail;
    if (so_host_is_little_())
        so_swap_bytes_(a->data, a->size, so_dtype_size(a->dtype));
    *out = a;
    return SO_OK;
fail:
    so_array_free(&a);
    return status;
}

int so_idx_parse(const void *bytes, size_t length, const char *name, so_array **out)
{
    idx_source src;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_idx_parse: out is NULL");
    *out = NULL;
    if (bytes == NULL && length > 0)
        return so_fail_(SO_ERR_INVALID, "so_idx_parse: bytes is NULL");
    memset(&src, 0, sizeof src);
    src.bytes = bytes;
    src.length = length;
    src.name = so_data_name_(name);
    src.gzip = so_is_gzip_(bytes, length);
    if (src.gzip) {
        status = so_gz_open_(&src.gz, bytes, length, name);
        if (status != SO_OK)
            return status;
    }
    status = parse_source(&src, out);
    if (src.gzip)
        so_gz_close_(&src.gz);
    return status;
}

int so_idx_read(const char *path, so_array **out)
{
    unsigned char *bytes;
    size_t length;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_idx_read: out is NULL");
    *out = NULL;
    status = so_read_file_(path, &bytes, &length);
    if (status != SO_OK)
        return status;
    status = so_idx_parse(bytes, length, path, out);
    free(bytes);
    return status;
}
