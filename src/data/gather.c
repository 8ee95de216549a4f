/* Copies selected rows into a dense float minibatch, applying the u8 scale and the
 * standardization of the dataset. */
#include <string.h>

#include "data/data_internal.h"

static void gather_row(const so_dataset *ds, size_t r, float *x)
{
    size_t d = ds->d;

    if (ds->kind == SO_FEATURES_U8) {
        const uint8_t *src = ds->x_u8 + r * d;
        for (size_t j = 0; j < d; j++)
            x[j] = (float)src[j] * ds->u8_scale;
    } else if (ds->kind == SO_FEATURES_F32) {
        memcpy(x, ds->x_f32 + r * d, d * sizeof *x);
    } else {
        memset(x, 0, d * sizeof *x);
        for (size_t t = ds->row_ptr[r]; t < ds->row_ptr[r + 1]; t++)
            x[ds->col[t]] = ds->val[t];
    }
    if (ds->mean != NULL && ds->inv_std != NULL)
        for (size_t j = 0; j < d; j++)
            x[j] = (x[j] - ds->mean[j]) * ds->inv_std[j];
}

int so_dataset_gather(const so_dataset *ds, const uint32_t *idx, size_t count, float *x,
                      int32_t *y)
{
    if (ds == NULL || (count > 0 && (idx == NULL || x == NULL)))
        return so_fail_(SO_ERR_INVALID, "so_dataset_gather: NULL argument");
    if (y != NULL && ds->label == NULL)
        return so_fail_(SO_ERR_STATE, "%s: labels are requested but not encoded; call "
                        "so_dataset_encode_labels first", ds->name);
    /* Check every index before writing, so that a bad batch leaves x and y untouched. */
    for (size_t i = 0; i < count; i++)
        if (idx[i] >= ds->n)
            return so_fail_(SO_ERR_RANGE, "%s: batch entry %zu: expected a row index below "
                            "%zu, found %u", ds->name, i, ds->n, (unsigned)idx[i]);
    for (size_t i = 0; i < count; i++) {
        gather_row(ds, idx[i], x + i * ds->d);
        if (y != NULL)
            y[i] = ds->label[idx[i]];
    }
    return SO_OK;
}
