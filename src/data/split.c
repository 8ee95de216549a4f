/* Random split of a dataset into two parts. */
#include <math.h>
#include <stdlib.h>

#include "data/data_internal.h"

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int so_dataset_split(const so_dataset *ds, double fraction, uint64_t seed,
                     so_dataset **first, so_dataset **rest)
{
    so_dataset *a = NULL, *b = NULL;
    uint32_t *perm;
    so_rng rng;
    size_t k;
    int status;

    if (first == NULL || rest == NULL)
        return so_fail_(SO_ERR_INVALID, "so_dataset_split: first and rest must not be NULL");
    *first = NULL;
    *rest = NULL;
    if (ds == NULL || !(fraction >= 0.0 && fraction <= 1.0))
        return so_fail_(SO_ERR_INVALID, "so_dataset_split: expected a dataset and a fraction "
                        "in [0, 1], found %g", fraction);
    if (ds->n > UINT32_MAX)
        return so_fail_(SO_ERR_RANGE, "%s: expected at most 2^32 - 1 rows to split, found %zu",
                        ds->name, ds->n);
    perm = so_calloc_(ds->n, sizeof *perm);
    if (perm == NULL)
        return SO_ERR_NOMEM;
    /* The first k entries of a uniformly shuffled identity are a uniform k-subset. */
    for (size_t i = 0; i < ds->n; i++)
        perm[i] = (uint32_t)i;
    so_rng_init(&rng, seed, 0);
    so_rng_shuffle(&rng, perm, ds->n);
    k = (size_t)llround(fraction * (double)ds->n);
    /* Each part keeps the rows in file order, because shuffling for training is the
     * batcher's job. */
    qsort(perm, k, sizeof *perm, compare_u32);
    qsort(perm + k, ds->n - k, sizeof *perm, compare_u32);
    status = so_dataset_subset_(ds, perm, k, &a);
    if (status == SO_OK)
        status = so_dataset_subset_(ds, perm + k, ds->n - k, &b);
    free(perm);
    if (status != SO_OK) {
        so_dataset_free(&a);
        return status;
    }
    *first = a;
    *rest = b;
    return SO_OK;
}
