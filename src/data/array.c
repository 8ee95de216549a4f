/* Dense N-dimensional arrays and their element types. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

size_t so_dtype_size(so_dtype dtype)
{
    switch (dtype) {
    case SO_DTYPE_U8:
    case SO_DTYPE_I8:
    case SO_DTYPE_BOOL:
        return 1;
    case SO_DTYPE_U16:
    case SO_DTYPE_I16:
        return 2;
    case SO_DTYPE_U32:
    case SO_DTYPE_I32:
    case SO_DTYPE_F32:
        return 4;
    case SO_DTYPE_U64:
    case SO_DTYPE_I64:
    case SO_DTYPE_F64:
        return 8;
    }
    return 0;
}

const char *so_dtype_name(so_dtype dtype)
{
    switch (dtype) {
    case SO_DTYPE_U8: return "uint8";
    case SO_DTYPE_I8: return "int8";
    case SO_DTYPE_U16: return "uint16";
    case SO_DTYPE_I16: return "int16";
    case SO_DTYPE_U32: return "uint32";
    case SO_DTYPE_I32: return "int32";
    case SO_DTYPE_U64: return "uint64";
    case SO_DTYPE_I64: return "int64";
    case SO_DTYPE_F32: return "float32";
    case SO_DTYPE_F64: return "float64";
    case SO_DTYPE_BOOL: return "bool";
    }
    return "unknown";
}

int so_array_new(so_dtype dtype, int ndim, const size_t *shape, so_array **out)
{
    size_t elsize = so_dtype_size(dtype), size = 1, bytes;
    so_array *a;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_array_new: out is NULL");
    *out = NULL;
    if (elsize == 0)
        return so_fail_(SO_ERR_INVALID, "so_array_new: unknown dtype %d", (int)dtype);
    if (ndim < 0 || ndim > SO_ARRAY_MAX_DIMS)
        return so_fail_(SO_ERR_INVALID, "so_array_new: expected 0 to %d dimensions, found %d",
                        SO_ARRAY_MAX_DIMS, ndim);
    if (ndim > 0 && shape == NULL)
        return so_fail_(SO_ERR_INVALID, "so_array_new: shape is NULL for %d dimensions", ndim);
    for (int k = 0; k < ndim; k++)
        if (!so_mul_size_(size, shape[k], &size))
            return so_fail_(SO_ERR_RANGE, "so_array_new: the element count of the shape "
                            "overflows size_t");
    if (!so_mul_size_(size, elsize, &bytes))
        return so_fail_(SO_ERR_RANGE, "so_array_new: %zu elements of %zu bytes overflow size_t",
                        size, elsize);
    a = so_calloc_(1, sizeof *a);
    if (a == NULL)
        return SO_ERR_NOMEM;
    a->data = so_alloc_aligned_(bytes, 1);
    if (a->data == NULL) {
        free(a);
        return SO_ERR_NOMEM;
    }
    memset(a->data, 0, bytes);
    a->dtype = dtype;
    a->ndim = ndim;
    for (int k = 0; k < ndim; k++)
        a->shape[k] = shape[k];
    a->size = size;
    *out = a;
    return SO_OK;
}

void so_array_free(so_array **array)
{
    if (array == NULL || *array == NULL)
        return;
    so_free_aligned_((*array)->data);
    free(*array);
    *array = NULL;
}

double so_array_get_double_(const so_array *a, size_t i)
{
    const unsigned char *p = (const unsigned char *)a->data + i * so_dtype_size(a->dtype);

    switch (a->dtype) {
    case SO_DTYPE_U8:
    case SO_DTYPE_BOOL:
        return (double)*p;
    case SO_DTYPE_I8: { int8_t v; memcpy(&v, p, 1); return v; }
    case SO_DTYPE_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case SO_DTYPE_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case SO_DTYPE_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case SO_DTYPE_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case SO_DTYPE_U64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    case SO_DTYPE_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case SO_DTYPE_F32: { float v; memcpy(&v, p, 4); return v; }
    case SO_DTYPE_F64: { double v; memcpy(&v, p, 8); return v; }
    }
    return 0.0;
}
