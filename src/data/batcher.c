/* Seeded minibatch iterator. Epoch e visits the rows in the order of a permutation
 * drawn from the RNG stream (seed, e), so an epoch's order depends only on the seed and
 * e, and training resumed at epoch e gets the same batches. */
#include <stdlib.h>

#include "data/data_internal.h"

struct so_batcher {
    size_t n;
    size_t batch_size;
    uint64_t seed;
    int shuffle;
    int drop_last;
    uint32_t *perm;  /* row order of the current epoch */
    size_t pos;      /* first row of the next batch */
};

int so_batcher_new(size_t n, size_t batch_size, uint64_t seed, int shuffle, int drop_last,
                   so_batcher **out)
{
    so_batcher *b;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_batcher_new: out is NULL");
    *out = NULL;
    if (n == 0 || batch_size == 0)
        return so_fail_(SO_ERR_INVALID, "so_batcher_new: expected n and batch_size >= 1, "
                        "found n = %zu and batch_size = %zu", n, batch_size);
    if (n > UINT32_MAX)
        return so_fail_(SO_ERR_RANGE, "so_batcher_new: expected at most 2^32 - 1 rows, found "
                        "%zu", n);
    b = so_calloc_(1, sizeof *b);
    if (b == NULL)
        return SO_ERR_NOMEM;
    b->perm = so_calloc_(n, sizeof *b->perm);
    if (b->perm == NULL) {
        free(b);
        return SO_ERR_NOMEM;
    }
    b->n = n;
    b->batch_size = batch_size;
    b->seed = seed;
    b->shuffle = shuffle != 0;
    b->drop_last = drop_last != 0;
    so_batcher_start_epoch(b, 0);
    *out = b;
    return SO_OK;
}

void so_batcher_free(so_batcher **b)
{
    if (b == NULL || *b == NULL)
        return;
    free((*b)->perm);
    free(*b);
    *b = NULL;
}

void so_batcher_start_epoch(so_batcher *b, uint64_t epoch)
{
    if (b == NULL)
        return;
    /* Shuffle the identity, not the previous epoch's order, so that epoch e does not
     * depend on which epochs ran before it. */
    for (size_t i = 0; i < b->n; i++)
        b->perm[i] = (uint32_t)i;
    if (b->shuffle) {
        so_rng rng;
        so_rng_init(&rng, b->seed, epoch);
        so_rng_shuffle(&rng, b->perm, b->n);
    }
    b->pos = 0;
}

size_t so_batcher_next(so_batcher *b, const uint32_t **idx)
{
    size_t size;

    if (b == NULL || idx == NULL || b->pos >= b->n)
        return 0;
    size = b->n - b->pos < b->batch_size ? b->n - b->pos : b->batch_size;
    if (size < b->batch_size && b->drop_last) {
        b->pos = b->n;
        return 0;
    }
    *idx = b->perm + b->pos;
    b->pos += size;
    return size;
}

size_t so_batcher_batches(const so_batcher *b)
{
    if (b == NULL)
        return 0;
    return b->drop_last ? b->n / b->batch_size : (b->n + b->batch_size - 1) / b->batch_size;
}
