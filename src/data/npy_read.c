/* NPY reader, format versions 1.0, 2.0 and 3.0 (numpy/lib/format.py): the magic string
 * "\x93NUMPY", a major and minor version byte, a little-endian header length (2 bytes in
 * version 1, 4 bytes after), the header dict, then the raw elements. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* Checks the preamble and sets *header_at and *header_length to the header text. */
static int read_preamble(const unsigned char *b, size_t length, const char *name,
                         size_t *header_at, size_t *header_length)
{
    char hex[32];
    size_t field;

    if (length < 10 || memcmp(b, npy_magic, 6) != 0)
        return so_fail_(SO_ERR_FORMAT, "%s: byte 0: expected the NPY magic string "
                        "93 4e 55 4d 50 59 (\\x93NUMPY), found %s", name,
                        length == 0 ? "an empty file"
                                    : so_hex_(hex, sizeof hex, b, length < 6 ? length : 6));
    if (b[6] < 1 || b[6] > 3 || b[7] != 0)
        return so_fail_(SO_ERR_UNSUPPORTED, "%s: byte 6: expected NPY format version 1.0, 2.0 "
                        "or 3.0, found %u.%u", name, b[6], b[7]);
    field = b[6] == 1 ? 2 : 4;
    if (length < 8 + field)
        return so_fail_(SO_ERR_FORMAT, "%s: byte 8: expected a %zu-byte header length, found "
                        "%zu bytes", name, field, length - 8);
    *header_length = (size_t)b[8] | (size_t)b[9] << 8;
    if (field == 4)
        *header_length |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    *header_at = 8 + field;
    if (*header_length > length - *header_at)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected a header of %zu bytes, found "
                        "%zu bytes before the end of the file", name, *header_at,
                        *header_length, length - *header_at);
    return SO_OK;
}

/* Copies Fortran-ordered (first index fastest) elements into C order. */
static void fortran_to_c(const unsigned char *src, unsigned char *dst, const so_array *a)
{
    size_t elsize = so_dtype_size(a->dtype);
    size_t index[SO_ARRAY_MAX_DIMS] = {0}, stride[SO_ARRAY_MAX_DIMS];
    size_t f = 0;

    stride[0] = 1;
    for (int k = 1; k < a->ndim; k++)
        stride[k] = stride[k - 1] * a->shape[k - 1];
    for (size_t i = 0; i < a->size; i++) {
        memcpy(dst + i * elsize, src + f * elsize, elsize);
        /* Step the C-order multi-index, last index fastest, and follow it in Fortran
         * offsets. */
        for (int k = a->ndim - 1; k >= 0; k--) {
            index[k]++;
            f += stride[k];
            if (index[k] < a->shape[k])
                break;
            f -= stride[k] * a->shape[k];
            index[k] = 0;
        }
    }
}

/* Checks the data length and converts the elements to C order and host byte order. */
static int fill_array(const unsigned char *data, size_t available, size_t data_at,
                      const so_npy_header_ *h, const char *name, so_array **out)
{
    size_t elsize = so_dtype_size(h->dtype), size, bytes;
    so_array *a;
    int status;

    if (!so_shape_count_(h->ndim, h->shape, elsize, &size, &bytes))
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected a shape whose byte count fits "
                        "in size_t, found sizes whose product overflows", name, data_at);
    if (available < bytes)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected %zu elements of %s (%zu bytes), "
                        "found %zu bytes (%zu elements read)", name, data_at, size,
                        so_dtype_name(h->dtype), bytes, available, available / elsize);
    if (available > bytes)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected the end of the file after %zu "
                        "elements, found %zu trailing bytes", name, data_at + bytes, size,
                        available - bytes);
    status = so_array_new(h->dtype, h->ndim, h->shape, &a);
    if (status != SO_OK)
        return status;
    if (h->fortran_order && h->ndim >= 2)
        fortran_to_c(data, a->data, a);
    else if (bytes > 0)
        memcpy(a->data, data, bytes);
    if (h->big_endian == so_host_is_little_())
        so_swap_bytes_(a->data, size, elsize);
    if (h->dtype == SO_DTYPE_BOOL) {
        unsigned char *p = a->data;
        for (size_t i = 0; i < size; i++)
            p[i] = p[i] != 0;
    }
    *out = a;
    return SO_OK;
}

int so_npy_parse(const void *bytes, size_t length, const char *name, so_array **out)
{
    const unsigned char *b = bytes;
    so_npy_header_ h;
    size_t header_at = 0, header_length = 0, data_at;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_npy_parse: out is NULL");
    *out = NULL;
    if (bytes == NULL && length > 0)
        return so_fail_(SO_ERR_INVALID, "so_npy_parse: bytes is NULL");
    name = so_data_name_(name);
    status = read_preamble(b, length, name, &header_at, &header_length);
    if (status != SO_OK)
        return status;
    status = so_npy_parse_header_((const char *)b + header_at, header_length, header_at, name,
                                  &h);
    if (status != SO_OK)
        return status;
    data_at = header_at + header_length;
    return fill_array(b + data_at, length - data_at, data_at, &h, name, out);
}

int so_npy_read(const char *path, so_array **out)
{
    unsigned char *bytes;
    size_t length;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_npy_read: out is NULL");
    *out = NULL;
    status = so_load_file_(path, &bytes, &length);
    if (status != SO_OK)
        return status;
    status = so_npy_parse(bytes, length, path, out);
    free(bytes);
    return status;
}
