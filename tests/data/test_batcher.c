/* Minibatch iterator: the order of epoch e comes from RNG stream (seed, e), every row is
 * visited once per epoch, and a fresh iterator resumes any epoch exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/data.h"

/* Runs one epoch, concatenates its batches into order[] and returns the row count. */
static size_t run_epoch(so_batcher *b, uint64_t epoch, uint32_t *order)
{
    const uint32_t *idx;
    size_t got, total = 0;
    so_batcher_start_epoch(b, epoch);
    while ((got = so_batcher_next(b, &idx)) > 0) {
        memcpy(order + total, idx, got * sizeof *idx);
        total += got;
    }
    return total;
}

static void batcher_epoch_matches_rng_stream(void **state)
{
    uint32_t expected[10], order[10];
    so_batcher *b = NULL;
    (void)state;
    assert_int_equal(so_batcher_new(10, 3, 7, 1, 0, &b), SO_OK);
    for (uint64_t epoch = 0; epoch < 4; epoch++) {
        so_rng rng;
        for (uint32_t i = 0; i < 10; i++)
            expected[i] = i;
        so_rng_init(&rng, 7, epoch);
        so_rng_shuffle(&rng, expected, 10);
        assert_int_equal(run_epoch(b, epoch, order), 10);
        assert_memory_equal(order, expected, sizeof order);
    }
    so_batcher_free(&b);
    assert_null(b);
}

static void batcher_resume_reproduces_epoch(void **state)
{
    uint32_t first[4][100], resumed[100];
    so_batcher *a = NULL, *b = NULL;
    (void)state;
    assert_int_equal(so_batcher_new(100, 16, 12345, 1, 0, &a), SO_OK);
    for (uint64_t e = 0; e < 4; e++)
        assert_int_equal(run_epoch(a, e, first[e]), 100);
    /* Consecutive epochs differ. */
    assert_memory_not_equal(first[0], first[1], sizeof first[0]);
    assert_memory_not_equal(first[2], first[3], sizeof first[0]);
    /* A new iterator started directly at epoch 3 replays it, and so does re-running
     * epoch 1 after epoch 3. */
    assert_int_equal(so_batcher_new(100, 16, 12345, 1, 0, &b), SO_OK);
    assert_int_equal(run_epoch(b, 3, resumed), 100);
    assert_memory_equal(resumed, first[3], sizeof resumed);
    assert_int_equal(run_epoch(b, 1, resumed), 100);
    assert_memory_equal(resumed, first[1], sizeof resumed);
    so_batcher_free(&a);
    so_batcher_free(&b);
}

static void batcher_covers_each_row_once(void **state)
{
    enum { N = 1000, BATCH = 64 };
    so_batcher *b = NULL;
    (void)state;
    assert_int_equal(so_batcher_new(N, BATCH, 99, 1, 0, &b), SO_OK);
    assert_int_equal(so_batcher_batches(b), 16);
    for (uint64_t epoch = 0; epoch < 3; epoch++) {
        int seen[N] = {0};
        const uint32_t *idx;
        size_t got, batches = 0;
        so_batcher_start_epoch(b, epoch);
        while ((got = so_batcher_next(b, &idx)) > 0) {
            batches++;
            assert_int_equal(got, batches < 16 ? BATCH : N - 15 * BATCH);
            for (size_t i = 0; i < got; i++)
                seen[idx[i]]++;
        }
        assert_int_equal(batches, 16);
        for (int i = 0; i < N; i++)
            assert_int_equal(seen[i], 1);
        assert_int_equal(so_batcher_next(b, &idx), 0);
    }
    so_batcher_free(&b);
}

static void batcher_drop_last_and_file_order(void **state)
{
    const uint32_t *idx;
    so_batcher *b = NULL;
    (void)state;
    assert_int_equal(so_batcher_new(10, 4, 1, 0, 1, &b), SO_OK);
    assert_int_equal(so_batcher_batches(b), 2);
    /* Without shuffling the rows come in file order, from epoch 0 on without a start
     * call. */
    assert_int_equal(so_batcher_next(b, &idx), 4);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[3], 3);
    assert_int_equal(so_batcher_next(b, &idx), 4);
    assert_int_equal(idx[0], 4);
    assert_int_equal(so_batcher_next(b, &idx), 0);
    assert_int_equal(so_batcher_next(b, &idx), 0);
    so_batcher_free(&b);

    assert_int_equal(so_batcher_new(3, 5, 1, 1, 1, &b), SO_OK);
    assert_int_equal(so_batcher_batches(b), 0);
    assert_int_equal(so_batcher_next(b, &idx), 0);
    so_batcher_free(&b);
    assert_int_equal(so_batcher_new(3, 5, 1, 1, 0, &b), SO_OK);
    assert_int_equal(so_batcher_batches(b), 1);
    assert_int_equal(so_batcher_next(b, &idx), 3);
    so_batcher_free(&b);
}

static void batcher_rejects_empty_sizes(void **state)
{
    so_batcher *b = NULL;
    (void)state;
    assert_int_equal(so_batcher_new(0, 4, 1, 1, 0, &b), SO_ERR_INVALID);
    assert_null(b);
    assert_int_equal(so_batcher_new(4, 0, 1, 1, 0, &b), SO_ERR_INVALID);
    assert_null(b);
    assert_non_null(strstr(so_last_error(), "batch_size = 0"));
    assert_int_equal(so_batcher_new(4, 1, 1, 1, 0, NULL), SO_ERR_INVALID);
    so_batcher_free(&b);
    so_batcher_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batcher_epoch_matches_rng_stream),
        cmocka_unit_test(batcher_resume_reproduces_epoch),
        cmocka_unit_test(batcher_covers_each_row_once),
        cmocka_unit_test(batcher_drop_last_and_file_order),
        cmocka_unit_test(batcher_rejects_empty_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
