/* Dataset operations: label encoding, split, standardization and gather on all three
 * feature kinds, checked against hand-computed values. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/data_test_util.h"
#include "stochopt/data.h"

static so_dataset *parse_csv(const char *text)
{
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;
    opt.csv_header = 0;
    assert_int_equal(so_csv_parse(text, strlen(text), "t.csv", &opt, &ds), SO_OK);
    return ds;
}

static so_dataset *parse_svm(const char *text)
{
    so_dataset *ds = NULL;
    assert_int_equal(so_libsvm_parse(text, strlen(text), "t.svm", NULL, &ds), SO_OK);
    return ds;
}

/* A U8 dataset of 2 rows, 2 features: {0, 255} and {255, 255}, built through IDX. */
static so_dataset *make_u8(void)
{
    static const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2,
                                           0, 255, 255, 255};
    static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 4, 9};
    char dir[256], ipath[512], lpath[512];
    so_dataset *ds = NULL;
    make_temp_dir(dir, sizeof dir);
    write_file(dir, "u-images-idx3-ubyte", images, sizeof images, ipath, sizeof ipath);
    write_file(dir, "u-labels-idx1-ubyte", labels, sizeof labels, lpath, sizeof lpath);
    assert_int_equal(so_idx_dataset_read(ipath, lpath, &ds), SO_OK);
    remove_temp_dir(dir);
    return ds;
}

static void assert_close(float actual, double expected)
{
    if (fabs(actual - expected) > 1e-6 * (1 + fabs(expected))) {
        print_error("%.9g is not close to %.9g\n", (double)actual, expected);
        fail();
    }
}

static void encode_labels_sorted_by_value(void **state)
{
    so_dataset *ds = parse_csv("0,3\n0,-1\n0,3\n0,7\n");
    (void)state;
    assert_int_equal(so_dataset_encode_labels(ds, 10), SO_OK);
    assert_int_equal(ds->num_classes, 3);
    assert_true(ds->class_value[0] == -1);
    assert_true(ds->class_value[1] == 3);
    assert_true(ds->class_value[2] == 7);
    assert_int_equal(ds->label[0], 1);
    assert_int_equal(ds->label[1], 0);
    assert_int_equal(ds->label[2], 1);
    assert_int_equal(ds->label[3], 2);

    assert_int_equal(so_dataset_encode_labels(ds, 2), SO_ERR_RANGE);
    assert_error_contains("expected at most 2 classes, found 3 distinct targets");
    /* The failed call keeps the previous encoding. */
    assert_int_equal(ds->num_classes, 3);
    assert_int_equal(so_dataset_encode_labels(ds, 0), SO_ERR_INVALID);
    so_dataset_free(&ds);

    ds = parse_csv("0,1\n0,0.5\n");
    assert_int_equal(so_dataset_encode_labels(ds, 10), SO_ERR_FORMAT);
    assert_error_contains("t.csv: row 1");
    assert_error_contains("found 0.5");
    assert_null(ds->label);
    assert_int_equal(ds->num_classes, 0);
    so_dataset_free(&ds);
}

static void encode_labels_like_reference(void **state)
{
    so_dataset *train = parse_csv("0,3\n0,-1\n0,7\n");
    so_dataset *test = parse_csv("0,7\n0,-1\n");
    so_dataset *stray = parse_csv("0,7\n0,5\n");
    (void)state;
    assert_int_equal(so_dataset_encode_labels_like(test, train), SO_ERR_STATE);
    assert_int_equal(so_dataset_encode_labels(train, 10), SO_OK);
    assert_int_equal(so_dataset_encode_labels_like(test, train), SO_OK);
    assert_int_equal(test->num_classes, 3);
    assert_int_equal(test->label[0], 2);
    assert_int_equal(test->label[1], 0);
    assert_true(test->class_value[1] == 3);
    assert_int_equal(so_dataset_encode_labels_like(stray, train), SO_ERR_FORMAT);
    assert_error_contains("row 1");
    assert_error_contains("found 5");
    assert_null(stray->label);
    so_dataset_free(&train);
    so_dataset_free(&test);
    so_dataset_free(&stray);
}

static void split_follows_seeded_permutation(void **state)
{
    char text[256] = "";
    uint32_t perm[10];
    int in_first[10] = {0};
    so_dataset *ds, *first = NULL, *rest = NULL;
    so_rng rng;
    size_t f = 0, r = 0;
    (void)state;
    for (int i = 0; i < 10; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%d,%d\n", i, i % 3);
    ds = parse_csv(text);
    assert_int_equal(so_dataset_encode_labels(ds, 3), SO_OK);
    assert_int_equal(so_dataset_split(ds, 0.25, 42, &first, &rest), SO_OK);
    /* round(0.25 * 10) = 3 rows: the first three of the identity shuffled by stream
     * (42, 0), each part in file order. */
    for (uint32_t i = 0; i < 10; i++)
        perm[i] = i;
    so_rng_init(&rng, 42, 0);
    so_rng_shuffle(&rng, perm, 10);
    for (int i = 0; i < 3; i++)
        in_first[perm[i]] = 1;
    assert_int_equal(first->n, 3);
    assert_int_equal(rest->n, 7);
    for (int i = 0; i < 10; i++) {
        const so_dataset *part = in_first[i] ? first : rest;
        size_t row = in_first[i] ? f++ : r++;
        assert_true(part->x_f32[row] == (float)i);
        assert_true(part->target[row] == i % 3);
        assert_int_equal(part->label[row], i % 3);
    }
    assert_int_equal(first->num_classes, 3);
    assert_int_equal(rest->num_classes, 3);
    assert_true(ds->n == 10);
    so_dataset_free(&first);
    so_dataset_free(&rest);

    assert_int_equal(so_dataset_split(ds, 0.0, 1, &first, &rest), SO_OK);
    assert_int_equal(first->n, 0);
    assert_int_equal(rest->n, 10);
    so_dataset_free(&first);
    so_dataset_free(&rest);
    assert_int_equal(so_dataset_split(ds, 1.5, 1, &first, &rest), SO_ERR_INVALID);
    assert_int_equal(so_dataset_split(ds, NAN, 1, &first, &rest), SO_ERR_INVALID);
    assert_null(first);
    assert_null(rest);
    so_dataset_free(&ds);
}

static void split_copies_sparse_and_byte_rows(void **state)
{
    so_dataset *svm = parse_svm("0 1:1\n1 2:2 3:3\n2\n3 1:4 3:5\n");
    so_dataset *u8 = make_u8(), *a = NULL, *b = NULL;
    float x[3];
    uint32_t zero = 0;
    (void)state;
    assert_int_equal(so_dataset_split(svm, 0.5, 3, &a, &b), SO_OK);
    assert_int_equal(a->n + b->n, 4);
    assert_int_equal(a->row_ptr[a->n] + b->row_ptr[b->n], 5);
    /* Every row of the parts equals the source row with the same target. */
    for (int part = 0; part < 2; part++) {
        const so_dataset *p = part == 0 ? a : b;
        for (uint32_t i = 0; i < p->n; i++) {
            float y[3];
            uint32_t src = (uint32_t)p->target[i];
            assert_int_equal(so_dataset_gather(p, &i, 1, x, NULL), SO_OK);
            assert_int_equal(so_dataset_gather(svm, &src, 1, y, NULL), SO_OK);
            assert_memory_equal(x, y, sizeof x);
        }
    }
    so_dataset_free(&a);
    so_dataset_free(&b);

    assert_int_equal(so_dataset_split(u8, 0.5, 3, &a, &b), SO_OK);
    assert_int_equal(a->kind, SO_FEATURES_U8);
    assert_true(a->u8_scale == u8->u8_scale);
    assert_int_equal(so_dataset_gather(a, &zero, 1, x, NULL), SO_OK);
    assert_true(x[1] == 1.0f);
    assert_true(x[0] == (a->target[0] == 4 ? 0.0f : 1.0f));
    so_dataset_free(&a);
    so_dataset_free(&b);
    so_dataset_free(&svm);
    so_dataset_free(&u8);
}

static void standardize_dense_hand_computed(void **state)
{
    so_dataset *train = parse_csv("1,10,0\n2,10,1\n3,10,0\n");
    so_dataset *test = parse_csv("4,11,1\n");
    so_dataset *others[1];
    uint32_t idx[2] = {0, 2};
    int32_t y[2];
    float x[4];
    (void)state;
    others[0] = test;
    assert_int_equal(so_dataset_standardize(train, others, 1), SO_OK);
    /* Feature 0: mean 2, population variance 2/3. Feature 1 is constant: multiplier 1. */
    assert_close(train->mean[0], 2.0);
    assert_close(train->inv_std[0], 1.0 / sqrt(2.0 / 3.0));
    assert_close(train->mean[1], 10.0);
    assert_true(train->inv_std[1] == 1.0f);
    assert_int_equal(so_dataset_encode_labels(train, 2), SO_OK);
    assert_int_equal(so_dataset_gather(train, idx, 2, x, y), SO_OK);
    assert_close(x[0], -1.0 / sqrt(2.0 / 3.0));
    assert_close(x[1], 0.0);
    assert_close(x[2], 1.0 / sqrt(2.0 / 3.0));
    assert_int_equal(y[0], 0);
    /* The test set uses the training statistics. */
    assert_int_equal(so_dataset_gather(test, idx, 1, x, NULL), SO_OK);
    assert_close(x[0], 2.0 / sqrt(2.0 / 3.0));
    assert_close(x[1], 1.0);
    so_dataset_free(&train);
    so_dataset_free(&test);
}

static void standardize_bytes_on_scaled_values(void **state)
{
    so_dataset *ds = make_u8();
    uint32_t idx[2] = {0, 1};
    float x[4];
    (void)state;
    assert_int_equal(so_dataset_standardize(ds, NULL, 0), SO_OK);
    /* Scaled features: {0, 1} and {1, 1}: means 0.5 and 1, deviations 0.5 and 0. */
    assert_close(ds->mean[0], 0.5);
    assert_close(ds->inv_std[0], 2.0);
    assert_close(ds->mean[1], 1.0);
    assert_true(ds->inv_std[1] == 1.0f);
    assert_int_equal(so_dataset_gather(ds, idx, 2, x, NULL), SO_OK);
    assert_close(x[0], -1.0);
    assert_close(x[1], 0.0);
    assert_close(x[2], 1.0);
    assert_close(x[3], 0.0);
    so_dataset_free(&ds);
}

static void standardize_sparse_counts_implicit_zeros(void **state)
{
    so_dataset *ds = parse_svm("1 1:2\n2 2:4\n3\n4 1:2 2:4\n");
    uint32_t idx[2] = {2, 0};
    float x[4];
    (void)state;
    assert_int_equal(so_dataset_standardize(ds, NULL, 0), SO_OK);
    /* Feature 0 is {2, 0, 0, 2}: mean 1, variance 1. Feature 1 is {0, 4, 0, 4}: mean 2,
     * variance 4. */
    assert_close(ds->mean[0], 1.0);
    assert_close(ds->inv_std[0], 1.0);
    assert_close(ds->mean[1], 2.0);
    assert_close(ds->inv_std[1], 0.5);
    assert_int_equal(so_dataset_gather(ds, idx, 2, x, NULL), SO_OK);
    assert_close(x[0], -1.0);
    assert_close(x[1], -1.0);
    assert_close(x[2], 1.0);
    assert_close(x[3], -1.0);
    so_dataset_free(&ds);
}

static void standardize_rejects_mismatched_features(void **state)
{
    so_dataset *train = parse_csv("1,2,0\n3,4,1\n");
    so_dataset *narrow = parse_csv("1,0\n");
    so_dataset *others[1];
    (void)state;
    others[0] = narrow;
    assert_int_equal(so_dataset_standardize(train, others, 1), SO_ERR_INVALID);
    assert_error_contains("2 features");
    assert_null(train->mean);
    assert_null(narrow->mean);
    so_dataset_free(&train);
    so_dataset_free(&narrow);
}

static void gather_densifies_sparse_rows(void **state)
{
    so_dataset *ds = parse_svm("5 2:1.5 4:-3\n6 1:2\n");
    uint32_t idx[3] = {1, 0, 1};
    int32_t y[3];
    float x[12];
    (void)state;
    assert_int_equal(ds->d, 4);
    assert_int_equal(so_dataset_encode_labels(ds, 2), SO_OK);
    assert_int_equal(so_dataset_gather(ds, idx, 3, x, y), SO_OK);
    static const float expected[12] = {2, 0, 0, 0, 0, 1.5f, 0, -3, 2, 0, 0, 0};
    for (int i = 0; i < 12; i++)
        assert_true(x[i] == expected[i]);
    assert_int_equal(y[0], 1);
    assert_int_equal(y[1], 0);
    so_dataset_free(&ds);
}

static void gather_rejects_bad_requests(void **state)
{
    so_dataset *ds = parse_csv("1,2,0\n3,4,1\n");
    uint32_t idx[2] = {1, 2};
    float x[4] = {7, 7, 7, 7};
    int32_t y[2];
    (void)state;
    assert_int_equal(so_dataset_gather(ds, idx, 2, x, NULL), SO_ERR_RANGE);
    assert_error_contains("batch entry 1: expected a row index below 2, found 2");
    assert_true(x[0] == 7);
    assert_int_equal(so_dataset_gather(ds, idx, 1, x, y), SO_ERR_STATE);
    assert_error_contains("so_dataset_encode_labels");
    assert_true(x[0] == 7);
    assert_int_equal(so_dataset_gather(ds, idx, 1, x, NULL), SO_OK);
    assert_true(x[0] == 3);
    so_dataset_free(&ds);
}

static void format_names_and_default_options(void **state)
{
    so_read_options opt = so_read_options_default();
    (void)state;
    assert_int_equal(so_format_from_name("auto"), SO_FORMAT_AUTO);
    assert_int_equal(so_format_from_name("IDX"), SO_FORMAT_IDX);
    assert_int_equal(so_format_from_name("libsvm"), SO_FORMAT_LIBSVM);
    assert_int_equal(so_format_from_name("svmlight"), SO_FORMAT_LIBSVM);
    assert_int_equal(so_format_from_name("csv"), SO_FORMAT_CSV);
    assert_int_equal(so_format_from_name("npy"), SO_FORMAT_NPY);
    assert_int_equal(so_format_from_name("parquet"), -1);
    assert_error_contains("found 'parquet'");
    assert_int_equal(so_format_from_name(NULL), -1);
    assert_int_equal(opt.zero_based, 0);
    assert_int_equal(opt.num_features, 0);
    assert_int_equal(opt.csv_header, -1);
    assert_int_equal(opt.label_column, -1);
    assert_int_equal(opt.csv_delimiter, ',');
}

static void array_new_checks_arguments(void **state)
{
    static const size_t shape[2] = {3, 4};
    static const size_t huge[2] = {SIZE_MAX / 2, 3};
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_array_new(SO_DTYPE_I16, 2, shape, &a), SO_OK);
    assert_int_equal(a->size, 12);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(((int16_t *)a->data)[i], 0);
    so_array_free(&a);
    assert_null(a);
    so_array_free(&a);
    assert_int_equal(so_array_new(SO_DTYPE_I16, 9, shape, &a), SO_ERR_INVALID);
    assert_int_equal(so_array_new((so_dtype)99, 1, shape, &a), SO_ERR_INVALID);
    assert_int_equal(so_array_new(SO_DTYPE_U8, 2, huge, &a), SO_ERR_RANGE);
    assert_null(a);
    assert_int_equal(so_dtype_size(SO_DTYPE_F64), 8);
    assert_string_equal(so_dtype_name(SO_DTYPE_BOOL), "bool");
    assert_string_equal(so_dtype_name(SO_DTYPE_U16), "uint16");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_labels_sorted_by_value),
        cmocka_unit_test(encode_labels_like_reference),
        cmocka_unit_test(split_follows_seeded_permutation),
        cmocka_unit_test(split_copies_sparse_and_byte_rows),
        cmocka_unit_test(standardize_dense_hand_computed),
        cmocka_unit_test(standardize_bytes_on_scaled_values),
        cmocka_unit_test(standardize_sparse_counts_implicit_zeros),
        cmocka_unit_test(standardize_rejects_mismatched_features),
        cmocka_unit_test(gather_densifies_sparse_rows),
        cmocka_unit_test(gather_rejects_bad_requests),
        cmocka_unit_test(format_names_and_default_options),
        cmocka_unit_test(array_new_checks_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
