/* Datasets from 2-D NPY arrays: one row per sample, and the label column contains the
 * target. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "data/data_internal.h"

/* Splits the array's columns into float features and double targets, rejecting
 * non-finite values. */
static int fill_rows(const so_array *a, size_t label, const char *name, so_dataset *ds)
{
    size_t cols = a->shape[1];

    for (size_t r = 0; r < a->shape[0]; r++) {
        float *x = ds->x_f32 + r * ds->d;
        for (size_t c = 0; c < cols; c++) {
            double v = so_array_get_double_(a, r * cols + c);
            if (!isfinite(v) || (c != label && fabs(v) > FLT_MAX))
                return so_fail_(isfinite(v) ? SO_ERR_RANGE : SO_ERR_NONFINITE,
                                "%s: row %zu, column %zu: expected a finite %s, found %g",
                                name, r, c, isfinite(v) ? "value within the float range"
                                                        : "number", v);
            if (c == label)
                ds->target[r] = v;
            else
                *x++ = (float)v;
        }
    }
    return SO_OK;
}

int so_npy_dataset_read(const char *path, const so_read_options *opt, so_dataset **out)
{
    so_read_options defaults = so_read_options_default();
    so_array *a;
    so_dataset *ds;
    size_t label;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_npy_dataset_read: out is NULL");
    *out = NULL;
    if (opt == NULL)
        opt = &defaults;
    status = so_npy_read(path, &a);
    if (status != SO_OK)
        return status;
    if (a->ndim != 2 || a->shape[1] < 2 || a->shape[0] == 0) {
        char shape[256];
        status = so_fail_(SO_ERR_FORMAT, "%s: expected a 2-D array with at least one row and "
                          "2 columns (features and a target), found shape %s", path,
                          so_format_shape_(shape, sizeof shape, a->ndim, a->shape));
    } else if (opt->label_column < -1 || (opt->label_column >= 0 &&
                                          (size_t)opt->label_column >= a->shape[1])) {
        status = so_fail_(SO_ERR_RANGE, "%s: expected a label column from 0 to %zu or -1, "
                          "found %d", path, a->shape[1] - 1, opt->label_column);
    }
    if (status == SO_OK) {
        label = opt->label_column == -1 ? a->shape[1] - 1 : (size_t)opt->label_column;
        status = so_dataset_alloc_(SO_FEATURES_F32, a->shape[0], a->shape[1] - 1, path, &ds);
        if (status == SO_OK && (status = fill_rows(a, label, path, ds)) != SO_OK)
            so_dataset_free(&ds);
    }
    so_array_free(&a);
    if (status == SO_OK)
        *out = ds;
    return status;
}
