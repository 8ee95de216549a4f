/* IDX reader: dtypes, byte order, exact data length, malformed headers, gzip input and
 * IDX datasets. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "data/data_test_util.h"
#include "stochopt/data.h"

/* Builds an IDX image: magic 00 00 type ndim, big-endian sizes, then `data`. */
static size_t make_idx(unsigned char *buf, unsigned type, int ndim, const uint32_t *shape,
                       const void *data, size_t data_len)
{
    size_t w = 0;
    buf[w++] = 0;
    buf[w++] = 0;
    buf[w++] = (unsigned char)type;
    buf[w++] = (unsigned char)ndim;
    for (int k = 0; k < ndim; k++) {
        buf[w++] = (unsigned char)(shape[k] >> 24);
        buf[w++] = (unsigned char)(shape[k] >> 16);
        buf[w++] = (unsigned char)(shape[k] >> 8);
        buf[w++] = (unsigned char)shape[k];
    }
    if (data_len > 0)
        memcpy(buf + w, data, data_len);
    return w + data_len;
}

/* The 2 x 3 x 4 array of bytes 0x00..0x17 with `extra` data bytes added (or removed). */
static size_t make_counting_idx(unsigned char *buf, int extra)
{
    static const uint32_t shape[3] = {2, 3, 4};
    unsigned char data[32];
    for (int i = 0; i < 32; i++)
        data[i] = (unsigned char)i;
    return make_idx(buf, 0x08, 3, shape, data, (size_t)(24 + extra));
}

static void write_gzip(const char *path, const void *bytes, size_t length)
{
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, bytes, (unsigned)length), (int)length);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void idx_bytes_keep_big_endian_shape(void **state)
{
    static const unsigned char expected_header[16] = {0, 0, 8, 3, 0, 0, 0, 2,
                                                      0, 0, 0, 3, 0, 0, 0, 4};
    unsigned char buf[64];
    size_t len = make_counting_idx(buf, 0);
    so_array *a = NULL;
    (void)state;
    assert_memory_equal(buf, expected_header, 16);
    assert_int_equal(so_idx_parse(buf, len, "byte_order.idx", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_U8);
    assert_int_equal(a->ndim, 3);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    assert_int_equal(a->shape[2], 4);
    assert_int_equal(a->size, 24);
    assert_int_equal(((const uint8_t(*)[3][4])a->data)[1][2][3], 23);
    assert_int_equal(((const uint8_t *)a->data)[0], 0);
    so_array_free(&a);
    assert_null(a);
}

static void idx_missing_data_byte_rejected(void **state)
{
    unsigned char buf[64];
    size_t len = make_counting_idx(buf, -1);
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_idx_parse(buf, len, "short.idx", &a), SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("short.idx: byte 16");
    assert_error_contains("expected 24 data bytes");
    assert_error_contains("found 23");
}

static void idx_trailing_byte_rejected(void **state)
{
    unsigned char buf[64];
    size_t len = make_counting_idx(buf, 1);
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_idx_parse(buf, len, "long.idx", &a), SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("byte 40");
    assert_error_contains("found 1 trailing bytes");
}

static void idx_signed_and_float_dtypes_convert(void **state)
{
    static const uint32_t two = 2;
    static const unsigned char i8[2] = {0xFE, 0x7F};
    static const unsigned char i16[4] = {0xFF, 0xFE, 0x01, 0x02};
    static const unsigned char i32[8] = {0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF, 0xFF, 0xFB};
    static const unsigned char f32[8] = {0x3F, 0xC0, 0, 0, 0xC2, 0x28, 0, 0};
    static const unsigned char f64[16] = {0xC0, 0x02, 0, 0, 0, 0, 0, 0,
                                          0x3F, 0xF0, 0, 0, 0, 0, 0, 0};
    unsigned char buf[64];
    so_array *a = NULL;
    (void)state;

    assert_int_equal(so_idx_parse(buf, make_idx(buf, 0x09, 1, &two, i8, 2), "i8", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_I8);
    assert_int_equal(((int8_t *)a->data)[0], -2);
    assert_int_equal(((int8_t *)a->data)[1], 127);
    so_array_free(&a);

    assert_int_equal(so_idx_parse(buf, make_idx(buf, 0x0B, 1, &two, i16, 4), "i16", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_I16);
    assert_int_equal(((int16_t *)a->data)[0], -2);
    assert_int_equal(((int16_t *)a->data)[1], 258);
    so_array_free(&a);

    assert_int_equal(so_idx_parse(buf, make_idx(buf, 0x0C, 1, &two, i32, 8), "i32", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_I32);
    assert_int_equal(((int32_t *)a->data)[0], 0x01020304);
    assert_int_equal(((int32_t *)a->data)[1], -5);
    so_array_free(&a);

    assert_int_equal(so_idx_parse(buf, make_idx(buf, 0x0D, 1, &two, f32, 8), "f32", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_F32);
    assert_true(((float *)a->data)[0] == 1.5f);
    assert_true(((float *)a->data)[1] == -42.0f);
    so_array_free(&a);

    assert_int_equal(so_idx_parse(buf, make_idx(buf, 0x0E, 1, &two, f64, 16), "f64", &a),
                     SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_F64);
    assert_true(((double *)a->data)[0] == -2.25);
    assert_true(((double *)a->data)[1] == 1.0);
    so_array_free(&a);
}

static void idx_malformed_headers_rejected(void **state)
{
    static const struct {
        const char *description;
        unsigned char bytes[12];
        size_t length;
        const char *needles[2];
    } cases[] = {
        {"empty", {0}, 0, {"byte 0", "found 0 bytes"}},
        {"bad magic", {1, 0, 8, 1, 0, 0, 0, 0}, 8, {"byte 0", "found 01 00 08 01"}},
        {"unknown type", {0, 0, 0x0A, 1, 0, 0, 0, 0}, 8, {"byte 2", "found 0a"}},
        {"no dimensions", {0, 0, 8, 0}, 4, {"byte 3", "expected 1 to 8 dimensions, found 0"}},
        {"nine dimensions", {0, 0, 8, 9}, 4, {"byte 3", "found 9"}},
        {"cut sizes", {0, 0, 8, 2, 0, 0, 0, 1, 0, 0}, 10, {"byte 4", "found 6 bytes"}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        so_array *a = NULL;
        print_message("case: %s\n", cases[i].description);
        assert_int_equal(so_idx_parse(cases[i].bytes, cases[i].length, "bad.idx", &a),
                         SO_ERR_FORMAT);
        assert_null(a);
        assert_error_contains("bad.idx");
        assert_error_contains(cases[i].needles[0]);
        assert_error_contains(cases[i].needles[1]);
    }
}

static void idx_huge_shape_rejected_without_allocating(void **state)
{
    static const uint32_t overflow[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    static const uint32_t huge[2] = {0xFFFFFFFFu, 0xFFFFFFFFu};
    unsigned char buf[64];
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_idx_parse(buf, make_idx(buf, 0x08, 3, overflow, NULL, 0), "o.idx", &a),
                     SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("overflow");
    /* 2^64 - 2^33 + 1 bytes would be claimed: the reader must compare with the input length
     * before allocating. */
    assert_int_equal(so_idx_parse(buf, make_idx(buf, 0x08, 2, huge, NULL, 0), "h.idx", &a),
                     SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("found 0");
}

static void idx_gzip_file_matches_plain(void **state)
{
    char dir[256], path[512];
    unsigned char buf[64];
    size_t len = make_counting_idx(buf, 0);
    so_array *plain = NULL, *packed = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/small-idx3-ubyte.gz", dir);
    write_gzip(path, buf, len);
    assert_int_equal(so_idx_parse(buf, len, "plain", &plain), SO_OK);
    assert_int_equal(so_idx_read(path, &packed), SO_OK);
    assert_int_equal(packed->ndim, 3);
    assert_int_equal(packed->size, plain->size);
    assert_memory_equal(packed->data, plain->data, 24);
    so_array_free(&plain);
    so_array_free(&packed);
    remove_temp_dir(dir);
}

static void idx_gzip_length_errors_match_plain(void **state)
{
    char dir[256], path[512];
    unsigned char buf[64];
    so_array *a = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/short.gz", dir);
    write_gzip(path, buf, make_counting_idx(buf, -1));
    assert_int_equal(so_idx_read(path, &a), SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("byte 16: expected 24 data bytes");
    assert_error_contains("found 23");

    snprintf(path, sizeof path, "%s/long.gz", dir);
    write_gzip(path, buf, make_counting_idx(buf, 3));
    assert_int_equal(so_idx_read(path, &a), SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("found 3 trailing bytes");
    remove_temp_dir(dir);
}

static void idx_truncated_gzip_rejected(void **state)
{
    unsigned char plain[64], packed[128];
    uLongf packed_len = sizeof packed;
    size_t len = make_counting_idx(plain, 0);
    z_stream zs;
    so_array *a = NULL;
    (void)state;
    /* Compress with a gzip wrapper (windowBits 15 + 16) into memory. */
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = plain;
    zs.avail_in = (uInt)len;
    zs.next_out = packed;
    zs.avail_out = (uInt)packed_len;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    packed_len = zs.total_out;
    deflateEnd(&zs);
    assert_int_equal(so_idx_parse(packed, packed_len, "whole.gz", &a), SO_OK);
    so_array_free(&a);
    for (size_t cut = 1; cut < packed_len; cut++) {
        assert_int_not_equal(so_idx_parse(packed, packed_len - cut, "cut.gz", &a), SO_OK);
        assert_null(a);
        assert_error_contains("cut.gz");
    }
    /* Damage a byte of the deflate data instead of the length. */
    packed[packed_len / 2] ^= 0x55;
    assert_int_not_equal(so_idx_parse(packed, packed_len, "bad.gz", &a), SO_OK);
    assert_null(a);
}

static void idx_read_missing_file_not_found(void **state)
{
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_idx_read("/nonexistent/dir/x-idx1-ubyte", &a), SO_ERR_NOT_FOUND);
    assert_null(a);
    assert_error_contains("/nonexistent/dir/x-idx1-ubyte");
}

/* Writes an images file of n 2x2 images whose pixel j of image i is 10 * i + j and a
 * labels file with the given labels. */
static void write_idx_pair(const char *dir, const char *images, const char *labels,
                           const unsigned char *label_values, uint32_t n, int gzip)
{
    unsigned char buf[256], pixels[64];
    uint32_t shape[3] = {n, 2, 2};
    char path[512];
    size_t len;
    for (uint32_t i = 0; i < 4 * n; i++)
        pixels[i] = (unsigned char)(10 * (i / 4) + i % 4);
    len = make_idx(buf, 0x08, 3, shape, pixels, 4 * n);
    if (gzip) {
        snprintf(path, sizeof path, "%s/%s", dir, images);
        write_gzip(path, buf, len);
    } else {
        write_file(dir, images, buf, len, path, sizeof path);
    }
    len = make_idx(buf, 0x08, 1, &n, label_values, n);
    if (gzip) {
        snprintf(path, sizeof path, "%s/%s", dir, labels);
        write_gzip(path, buf, len);
    } else {
        write_file(dir, labels, buf, len, path, sizeof path);
    }
}

static void idx_dataset_keeps_bytes_and_encodes(void **state)
{
    static const unsigned char labels[3] = {7, 3, 7};
    char dir[256], images_path[512], labels_path[512];
    so_dataset *ds = NULL;
    float x[4];
    int32_t y;
    uint32_t row = 2;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_idx_pair(dir, "a-images-idx3-ubyte", "a-labels-idx1-ubyte", labels, 3, 0);
    snprintf(images_path, sizeof images_path, "%s/a-images-idx3-ubyte", dir);
    snprintf(labels_path, sizeof labels_path, "%s/a-labels-idx1-ubyte", dir);
    assert_int_equal(so_idx_dataset_read(images_path, labels_path, &ds), SO_OK);
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->d, 4);
    assert_int_equal(ds->kind, SO_FEATURES_U8);
    assert_non_null(ds->x_u8);
    assert_null(ds->x_f32);
    assert_true(ds->u8_scale == 1.0f / 255.0f);
    assert_int_equal(ds->x_u8[2 * 4 + 3], 23);
    assert_true(ds->target[0] == 7.0);
    assert_true(ds->target[1] == 3.0);
    assert_int_equal(ds->num_classes, 2);
    assert_int_equal(ds->label[0], 1);
    assert_int_equal(ds->label[1], 0);
    assert_int_equal(ds->label[2], 1);
    assert_int_equal(so_dataset_gather(ds, &row, 1, x, &y), SO_OK);
    assert_true(x[1] == 21.0f * (1.0f / 255.0f));
    assert_int_equal(y, 1);
    so_dataset_free(&ds);
    assert_null(ds);

    /* so_dataset_read pairs an images file with its labels file by name. */
    assert_int_equal(so_dataset_read(images_path, SO_FORMAT_AUTO, NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 3);
    so_dataset_free(&ds);
    remove_temp_dir(dir);
}

static void idx_dataset_float_images_become_f32(void **state)
{
    static const unsigned char pixels[8] = {0x3F, 0xC0, 0, 0, 0xC2, 0x28, 0, 0};
    static const unsigned char labels[2] = {1, 0};
    static const uint32_t shape[2] = {2, 1};
    static const uint32_t two = 2;
    char dir[256], images_path[512], labels_path[512];
    unsigned char buf[64];
    so_dataset *ds = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_file(dir, "f-images-idx3-ubyte", buf, make_idx(buf, 0x0D, 2, shape, pixels, 8),
               images_path, sizeof images_path);
    write_file(dir, "f-labels-idx1-ubyte", buf, make_idx(buf, 0x08, 1, &two, labels, 2),
               labels_path, sizeof labels_path);
    assert_int_equal(so_idx_dataset_read(images_path, labels_path, &ds), SO_OK);
    assert_int_equal(ds->kind, SO_FEATURES_F32);
    assert_int_equal(ds->d, 1);
    assert_null(ds->x_u8);
    assert_true(ds->x_f32[0] == 1.5f);
    assert_true(ds->x_f32[1] == -42.0f);
    so_dataset_free(&ds);

    /* An IDX path that names neither a directory nor an images file. */
    assert_int_equal(so_dataset_read(labels_path, SO_FORMAT_IDX, NULL, &ds), SO_ERR_INVALID);
    assert_error_contains("images-idx3");
    assert_null(ds);
    remove_temp_dir(dir);
}

static void idx_dataset_label_count_mismatch(void **state)
{
    static const unsigned char labels[3] = {1, 2, 3};
    static const uint32_t two = 2;
    char dir[256], images_path[512], labels_path[512];
    unsigned char buf[64];
    so_dataset *ds = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_idx_pair(dir, "b-images-idx3-ubyte", "unused", labels, 3, 0);
    snprintf(images_path, sizeof images_path, "%s/b-images-idx3-ubyte", dir);
    write_file(dir, "b-labels-idx1-ubyte", buf, make_idx(buf, 0x08, 1, &two, labels, 2),
               labels_path, sizeof labels_path);
    assert_int_equal(so_idx_dataset_read(images_path, labels_path, &ds), SO_ERR_FORMAT);
    assert_null(ds);
    assert_error_contains("b-labels-idx1-ubyte");
    assert_error_contains("expected a 1-D array of 3 labels");
    assert_error_contains("found 1 dimensions and 2 elements");
    remove_temp_dir(dir);
}

static void idx_dir_reads_plain_and_gzip(void **state)
{
    static const unsigned char train_labels[4] = {5, 9, 5, 0};
    static const unsigned char test_labels[2] = {9, 0};
    char dir[256];
    so_dataset *train = NULL, *test = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_idx_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", train_labels, 4,
                   0);
    write_idx_pair(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", test_labels,
                   2, 1);
    assert_int_equal(so_idx_dir_read(dir, &train, &test), SO_OK);
    assert_int_equal(train->n, 4);
    assert_int_equal(test->n, 2);
    assert_int_equal(train->num_classes, 3);
    /* The test set has only classes 0 and 9 but must use the training set's indices. */
    assert_int_equal(test->num_classes, 3);
    assert_int_equal(test->label[0], 2);
    assert_int_equal(test->label[1], 0);
    assert_int_equal(test->x_u8[4 + 1], 11);
    so_dataset_free(&train);
    so_dataset_free(&test);

    assert_int_equal(so_dataset_read(dir, SO_FORMAT_AUTO, NULL, &train), SO_OK);
    assert_int_equal(train->n, 4);
    so_dataset_free(&train);
    remove_temp_dir(dir);
}

static void idx_dir_unknown_test_class_rejected(void **state)
{
    static const unsigned char train_labels[2] = {1, 2};
    static const unsigned char test_labels[2] = {2, 4};
    char dir[256];
    so_dataset *train = NULL, *test = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_idx_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", train_labels, 2,
                   0);
    write_idx_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", test_labels, 2, 0);
    assert_int_equal(so_idx_dir_read(dir, &train, &test), SO_ERR_FORMAT);
    assert_null(train);
    assert_null(test);
    assert_error_contains("row 1");
    assert_error_contains("found 4");
    remove_temp_dir(dir);
}

static void idx_dir_missing_file_not_found(void **state)
{
    static const unsigned char labels[1] = {0};
    char dir[256], expected[512];
    so_dataset *train = NULL, *test = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_idx_pair(dir, "train-images-idx3-ubyte", "ignored", labels, 1, 0);
    assert_int_equal(so_idx_dir_read(dir, &train, &test), SO_ERR_NOT_FOUND);
    assert_null(train);
    assert_null(test);
    snprintf(expected, sizeof expected, "%s/train-labels-idx1-ubyte", dir);
    assert_error_contains(expected);
    remove_temp_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idx_bytes_keep_big_endian_shape),
        cmocka_unit_test(idx_missing_data_byte_rejected),
        cmocka_unit_test(idx_trailing_byte_rejected),
        cmocka_unit_test(idx_signed_and_float_dtypes_convert),
        cmocka_unit_test(idx_malformed_headers_rejected),
        cmocka_unit_test(idx_huge_shape_rejected_without_allocating),
        cmocka_unit_test(idx_gzip_file_matches_plain),
        cmocka_unit_test(idx_gzip_length_errors_match_plain),
        cmocka_unit_test(idx_truncated_gzip_rejected),
        cmocka_unit_test(idx_read_missing_file_not_found),
        cmocka_unit_test(idx_dataset_keeps_bytes_and_encodes),
        cmocka_unit_test(idx_dataset_float_images_become_f32),
        cmocka_unit_test(idx_dataset_label_count_mismatch),
        cmocka_unit_test(idx_dir_reads_plain_and_gzip),
        cmocka_unit_test(idx_dir_unknown_test_class_rejected),
        cmocka_unit_test(idx_dir_missing_file_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
