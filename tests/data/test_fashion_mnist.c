/* Loads the Fashion-MNIST files when the machine has them: shapes, class balance and the
 * load time of the 60000-image training set. Skipped when the files are absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "stochopt/data.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void fashion_mnist_training_set_loads_quickly(void **state)
{
    const char *images = FASHION_DIR "/train-images-idx3-ubyte.gz";
    const char *labels = FASHION_DIR "/train-labels-idx1-ubyte.gz";
    so_dataset *ds = NULL;
    size_t counts[10] = {0};
    double start, seconds;
    (void)state;
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0)
        skip();
    start = so_time_now();
    assert_int_equal(so_idx_dataset_read(images, labels, &ds), SO_OK);
    seconds = so_time_now() - start;
    print_message("Fashion-MNIST training set loaded in %.3f s\n", seconds);
    assert_int_equal(ds->n, 60000);
    assert_int_equal(ds->d, 784);
    assert_int_equal(ds->kind, SO_FEATURES_U8);
    assert_int_equal(ds->num_classes, 10);
    for (size_t i = 0; i < ds->n; i++)
        counts[ds->label[i]]++;
    for (int c = 0; c < 10; c++)
        assert_int_equal(counts[c], 6000);
    /* A generous bound that still catches a quadratic or per-byte-call reader, also under
     * the sanitizers; the target without them is well under a second. */
    assert_true(seconds < 5.0);
    so_dataset_free(&ds);
}

static void fashion_mnist_directory_has_both_sets(void **state)
{
    so_dataset *train = NULL, *test = NULL;
    double start;
    (void)state;
    if (access(FASHION_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
        skip();
    start = so_time_now();
    assert_int_equal(so_idx_dir_read(FASHION_DIR, &train, &test), SO_OK);
    print_message("Fashion-MNIST directory loaded in %.3f s\n", so_time_now() - start);
    assert_int_equal(train->n, 60000);
    assert_int_equal(test->n, 10000);
    assert_int_equal(test->d, 784);
    assert_int_equal(test->num_classes, 10);
    so_dataset_free(&train);
    so_dataset_free(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fashion_mnist_training_set_loads_quickly),
        cmocka_unit_test(fashion_mnist_directory_has_both_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
