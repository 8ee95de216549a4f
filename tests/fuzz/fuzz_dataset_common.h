/* Exercises the dataset operations on a parsed dataset inside the fuzz harnesses, with
 * caps that keep one input's memory small. */
#ifndef SO_FUZZ_DATASET_COMMON_H
#define SO_FUZZ_DATASET_COMMON_H

#include <stdlib.h>

#include "stochopt/data.h"

/* Largest gather buffer, in floats, and widest dataset standardized per input. */
enum { FUZZ_MAX_CELLS = 1 << 20, FUZZ_MAX_FEATURES = 1 << 12 };

static inline void fuzz_dataset_operations(so_dataset *ds)
{
    so_dataset *first = NULL, *rest = NULL;
    uint32_t *idx;
    float *x;
    int32_t *y;

    if (ds->d > FUZZ_MAX_FEATURES || ds->n * ds->d > FUZZ_MAX_CELLS)
        return;
    (void)so_dataset_encode_labels(ds, 1000);
    (void)so_dataset_standardize(ds, NULL, 0);
    if (so_dataset_split(ds, 0.5, 1, &first, &rest) == SO_OK) {
        if (rest->n > 0)
            (void)so_dataset_encode_labels_like(rest, ds);
        so_dataset_free(&first);
        so_dataset_free(&rest);
    }
    idx = malloc(ds->n * sizeof *idx);
    x = malloc((ds->n * ds->d + 1) * sizeof *x);
    y = malloc(ds->n * sizeof *y);
    if (idx != NULL && x != NULL && y != NULL) {
        for (size_t i = 0; i < ds->n; i++)
            idx[i] = (uint32_t)(ds->n - 1 - i);
        (void)so_dataset_gather(ds, idx, ds->n, x, ds->label != NULL ? y : NULL);
    }
    free(idx);
    free(x);
    free(y);
}

#endif
