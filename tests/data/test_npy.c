/* NPY reader and writer: versions, byte orders, Fortran order, header syntax, exact data
 * length, atomic writes and NPY datasets. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "data/data_test_util.h"
#include "stochopt/data.h"

/* Builds an NPY file image of format version major.0 with the header dict padded to a
 * multiple of 64 bytes, followed by data. */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const void *data,
                       size_t data_len)
{
    size_t field = major == 1 ? 2 : 4, len = strlen(dict);
    size_t total = (8 + field + len + 1 + 63) / 64 * 64, header = total - 8 - field;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < field; i++)
        buf[8 + i] = (unsigned char)(header >> (8 * i));
    memcpy(buf + 8 + field, dict, len);
    memset(buf + 8 + field + len, ' ', header - len - 1);
    buf[total - 1] = '\n';
    if (data_len > 0)
        memcpy(buf + total, data, data_len);
    return total + data_len;
}

/* Stores doubles in little-endian (or big-endian) byte order whatever the host. */
static void put_f64(unsigned char *out, const double *values, size_t n, int big_endian)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &values[i], 8);
        for (int b = 0; b < 8; b++)
            out[8 * i + (size_t)(big_endian ? 7 - b : b)] = (unsigned char)(bits >> (8 * b));
    }
}

static void npy_fortran_order_converts_to_c(void **state)
{
    static const double values[6] = {1, 2, 3, 4, 5, 6};
    static const double fortran_expected[6] = {1, 3, 5, 2, 4, 6};
    unsigned char data[48], buf[256];
    so_array *a = NULL;
    size_t len;
    (void)state;
    put_f64(data, values, 6, 0);
    len = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", data,
                   48);
    assert_int_equal(so_npy_parse(buf, len, "f.npy", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_F64);
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    for (int i = 0; i < 6; i++)
        assert_true(((double *)a->data)[i] == fortran_expected[i]);
    so_array_free(&a);

    len = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", data,
                   48);
    assert_int_equal(so_npy_parse(buf, len, "c.npy", &a), SO_OK);
    for (int i = 0; i < 6; i++)
        assert_true(((double *)a->data)[i] == values[i]);
    so_array_free(&a);
}

static void npy_fortran_order_three_dims(void **state)
{
    /* Shape (2, 3, 2) in Fortran order: element [i][j][k] sits at i + 2 j + 6 k. */
    unsigned char data[12], buf[256];
    so_array *a = NULL;
    size_t len;
    (void)state;
    for (int f = 0; f < 12; f++)
        data[f] = (unsigned char)f;
    len = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3, 2), }",
                   data, 12);
    assert_int_equal(so_npy_parse(buf, len, "f3.npy", &a), SO_OK);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                assert_int_equal(((uint8_t *)a->data)[(i * 3 + j) * 2 + k], i + 2 * j + 6 * k);
    so_array_free(&a);
}

static void npy_truncated_data_rejected(void **state)
{
    static const double values[2] = {1, 2};
    unsigned char data[16], buf[256];
    so_array *a = NULL;
    size_t len;
    (void)state;
    put_f64(data, values, 2, 0);
    len = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", data,
                   16);
    assert_int_equal(so_npy_parse(buf, len, "t.npy", &a), SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("t.npy: byte 128");
    assert_error_contains("expected 4 elements");
    assert_error_contains("2 elements read");
}

static void npy_trailing_bytes_rejected(void **state)
{
    unsigned char data[3] = {1, 2, 3}, buf[256];
    so_array *a = NULL;
    size_t len = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }",
                          data, 3);
    (void)state;
    assert_int_equal(so_npy_parse(buf, len, "x.npy", &a), SO_ERR_FORMAT);
    assert_null(a);
    assert_error_contains("byte 130");
    assert_error_contains("found 1 trailing bytes");
}

static void npy_versions_one_two_three_agree(void **state)
{
    static const double values[3] = {0.5, -1, 1e300};
    unsigned char data[24], buf[256];
    (void)state;
    put_f64(data, values, 3, 0);
    for (int major = 1; major <= 3; major++) {
        so_array *a = NULL;
        size_t len = make_npy(buf, major, "{'descr': '<f8', 'fortran_order': False, "
                              "'shape': (3,), }", data, 24);
        assert_int_equal(so_npy_parse(buf, len, "v.npy", &a), SO_OK);
        assert_int_equal(a->ndim, 1);
        assert_int_equal(a->shape[0], 3);
        for (int i = 0; i < 3; i++)
            assert_true(((double *)a->data)[i] == values[i]);
        so_array_free(&a);
    }
}

static void npy_big_endian_dtypes_convert(void **state)
{
    static const double values[2] = {-2.5, 1024.125};
    static const unsigned char i4[8] = {0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF, 0xFF, 0xFE};
    static const unsigned char u2[4] = {0x12, 0x34, 0xFF, 0xFF};
    static const unsigned char i8[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFD,
                                         0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const unsigned char f4[8] = {0x3F, 0xC0, 0, 0, 0xC2, 0x28, 0, 0};
    unsigned char f8[16], buf[256];
    so_array *a = NULL;
    (void)state;
    put_f64(f8, values, 2, 1);
    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '>f8', 'fortran_order': "
                                  "False, 'shape': (2,), }", f8, 16), "be", &a), SO_OK);
    assert_true(((double *)a->data)[0] == -2.5);
    assert_true(((double *)a->data)[1] == 1024.125);
    so_array_free(&a);

    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '>i4', 'fortran_order': "
                                  "False, 'shape': (2,), }", i4, 8), "be", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_I32);
    assert_int_equal(((int32_t *)a->data)[0], 0x01020304);
    assert_int_equal(((int32_t *)a->data)[1], -2);
    so_array_free(&a);

    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '>u2', 'fortran_order': "
                                  "False, 'shape': (2,), }", u2, 4), "be", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_U16);
    assert_int_equal(((uint16_t *)a->data)[0], 0x1234);
    assert_int_equal(((uint16_t *)a->data)[1], 0xFFFF);
    so_array_free(&a);

    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '>i8', 'fortran_order': "
                                  "False, 'shape': (2,), }", i8, 16), "be", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_I64);
    assert_true(((int64_t *)a->data)[0] == -3);
    assert_true(((int64_t *)a->data)[1] == (int64_t)1 << 40);
    so_array_free(&a);

    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '>f4', 'fortran_order': "
                                  "False, 'shape': (2,), }", f4, 8), "be", &a), SO_OK);
    assert_true(((float *)a->data)[0] == 1.5f);
    assert_true(((float *)a->data)[1] == -42.0f);
    so_array_free(&a);
}

static void npy_big_endian_fortran_order(void **state)
{
    static const double values[6] = {1, 2, 3, 4, 5, 6};
    static const double expected[6] = {1, 4, 2, 5, 3, 6};
    unsigned char data[48], buf[256];
    so_array *a = NULL;
    (void)state;
    put_f64(data, values, 6, 1);
    assert_int_equal(so_npy_parse(buf, make_npy(buf, 2, "{'descr': '>f8', 'fortran_order': "
                                  "True, 'shape': (3, 2), }", data, 48), "bf", &a), SO_OK);
    assert_int_equal(a->shape[0], 3);
    assert_int_equal(a->shape[1], 2);
    for (int i = 0; i < 6; i++)
        assert_true(((double *)a->data)[i] == expected[i]);
    so_array_free(&a);
}

static void npy_one_byte_dtypes_and_bool(void **state)
{
    static const unsigned char bytes[3] = {0, 1, 0xFF};
    unsigned char buf[256];
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '|b1', 'fortran_order': "
                                  "False, 'shape': (3,), }", bytes, 3), "b", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_BOOL);
    assert_int_equal(((uint8_t *)a->data)[2], 1);
    so_array_free(&a);
    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '|i1', 'fortran_order': "
                                  "False, 'shape': (3,), }", bytes, 3), "i", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_I8);
    assert_int_equal(((int8_t *)a->data)[2], -1);
    so_array_free(&a);
    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '<u1', 'fortran_order': "
                                  "False, 'shape': (3,), }", bytes, 3), "u", &a), SO_OK);
    assert_int_equal(a->dtype, SO_DTYPE_U8);
    assert_int_equal(((uint8_t *)a->data)[2], 255);
    so_array_free(&a);
}

static void npy_header_syntax_variants_accepted(void **state)
{
    static const struct {
        const char *dict;
        int ndim;
        size_t shape0;
        size_t size;
    } cases[] = {
        {"{\"shape\": (2,), \"descr\": \"<u2\", \"fortran_order\": False}", 1, 2, 2},
        {"{'fortran_order':False,'shape':(2,),'descr':'<u2'}", 1, 2, 2},
        {"  {  'descr' : '=u2' ,\n 'fortran_order' : False , 'shape' : ( 2 , ) , }  ", 1, 2, 2},
        {"{'descr': '<u2', 'fortran_order': False, 'shape': (2L,), }", 1, 2, 2},
        {"{'descr': '<u2', 'fortran_order': False, 'shape': (1, 2), }", 2, 1, 2},
        {"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 1,), }", 2, 2, 2},
        {"{'descr': '<u2', 'fortran_order': False, 'shape': (0,), }", 1, 0, 0},
    };
    static const unsigned char data[4] = {1, 0, 2, 0};
    unsigned char buf[256];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        so_array *a = NULL;
        size_t len = make_npy(buf, 1, cases[i].dict, data, cases[i].size * 2);
        print_message("header: %s\n", cases[i].dict);
        assert_int_equal(so_npy_parse(buf, len, "h.npy", &a), SO_OK);
        assert_int_equal(a->ndim, cases[i].ndim);
        assert_int_equal(a->shape[0], cases[i].shape0);
        assert_int_equal(a->size, cases[i].size);
        if (a->size > 0)
            assert_int_equal(((uint16_t *)a->data)[1], 2);
        so_array_free(&a);
    }
}

static void npy_scalar_shape(void **state)
{
    static const double value = 3.25;
    unsigned char data[8], buf[256];
    so_array *a = NULL;
    (void)state;
    put_f64(data, &value, 1, 0);
    assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': "
                                  "False, 'shape': (), }", data, 8), "s", &a), SO_OK);
    assert_int_equal(a->ndim, 0);
    assert_int_equal(a->size, 1);
    assert_true(((double *)a->data)[0] == 3.25);
    so_array_free(&a);
}

static void npy_malformed_headers_rejected(void **state)
{
    static const struct {
        const char *dict;
        int status;
        const char *needles[2];
    } cases[] = {
        {"{'descr': '<f8', 'fortran_order': False}", SO_ERR_FORMAT, {"byte 10", "found no 'shape'"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", SO_ERR_FORMAT,
         {"byte 66", "expected one of the keys"}},
        {"{'descr': '<f8', 'descr': '<f8'}", SO_ERR_FORMAT, {"byte 27", "this key repeats"}},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (1,)}", SO_ERR_UNSUPPORTED,
         {"byte 20", "found '<f2'"}},
        {"{'descr': '|f8', 'fortran_order': False, 'shape': (1,)}", SO_ERR_UNSUPPORTED,
         {"byte 20", "found '|f8'"}},
        {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,)}",
         SO_ERR_UNSUPPORTED, {"byte 20", "structured"}},
        {"{'descr': '<f8', 'fortran_order': 1, 'shape': (1,)}", SO_ERR_FORMAT,
         {"byte 44", "expected True or False"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}", SO_ERR_FORMAT,
         {"byte 61", "found '-1,)}"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1 2)}", SO_ERR_FORMAT,
         {"byte 63", "expected ',' or ')'"}},
        {"{'descr': '<f8, 'fortran_order': False, 'shape': (1,)}", SO_ERR_UNSUPPORTED,
         {"byte 20", "found '<f8, '"}},
        {"{'descr': '<f8', 'fortran_order' False, 'shape': (1,)}", SO_ERR_FORMAT,
         {"byte 43", "expected ':'"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1,)", SO_ERR_FORMAT,
         {"byte 128", "found the end of the header"}},
        {"{'descr': '<f8", SO_ERR_FORMAT, {"byte 20", "expected a closing quote"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x", SO_ERR_FORMAT,
         {"byte 66", "expected only padding"}},
        {"['descr', '<f8']", SO_ERR_FORMAT, {"byte 10", "expected '{'"}},
        {"{'descr': '<f8' 'fortran_order': False}", SO_ERR_FORMAT,
         {"byte 26", "expected ',' or '}'"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}",
         SO_ERR_UNSUPPORTED, {"byte 77", "at most 8 dimensions"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
         SO_ERR_FORMAT, {"byte 61", "below 2^64"}},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
         SO_ERR_FORMAT, {"byte 128", "overflows"}},
    };
    unsigned char buf[256];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        so_array *a = NULL;
        print_message("header: %s\n", cases[i].dict);
        assert_int_equal(so_npy_parse(buf, make_npy(buf, 1, cases[i].dict, NULL, 0), "m.npy",
                                      &a), cases[i].status);
        assert_null(a);
        assert_error_contains("m.npy");
        assert_error_contains(cases[i].needles[0]);
        assert_error_contains(cases[i].needles[1]);
    }
}

static void npy_malformed_preamble_rejected(void **state)
{
    unsigned char buf[256];
    size_t len = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                          "\0\0\0\0\0\0\0\0", 8);
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_npy_parse(buf, 5, "p.npy", &a), SO_ERR_FORMAT);
    assert_error_contains("byte 0: expected the NPY magic string");
    assert_error_contains("found 93 4e 55 4d 50");
    buf[6] = 4;
    assert_int_equal(so_npy_parse(buf, len, "p.npy", &a), SO_ERR_UNSUPPORTED);
    assert_error_contains("byte 6");
    assert_error_contains("found 4.0");
    buf[6] = 1;
    buf[8] = 0xFF;
    assert_int_equal(so_npy_parse(buf, len, "p.npy", &a), SO_ERR_FORMAT);
    assert_error_contains("byte 10: expected a header of 255 bytes");
    assert_error_contains("found 126 bytes");
    assert_int_equal(so_npy_parse(buf, 9, "p.npy", &a), SO_ERR_FORMAT);
    assert_int_equal(so_npy_parse(buf, 0, "p.npy", &a), SO_ERR_FORMAT);
    assert_error_contains("found an empty file");
    assert_null(a);
}

/* Fills an array of any dtype with distinct values from its element index. */
static void fill_pattern(so_array *a)
{
    size_t elsize = so_dtype_size(a->dtype);
    for (size_t i = 0; i < a->size * elsize; i++)
        ((unsigned char *)a->data)[i] = (unsigned char)(i * 7 + 3);
    if (a->dtype == SO_DTYPE_BOOL)
        for (size_t i = 0; i < a->size; i++)
            ((unsigned char *)a->data)[i] = (unsigned char)(i % 2);
}

static void npy_writer_round_trip(void **state)
{
    static const so_dtype dtypes[] = {SO_DTYPE_U8,  SO_DTYPE_I8,  SO_DTYPE_U16, SO_DTYPE_I16,
                                      SO_DTYPE_U32, SO_DTYPE_I32, SO_DTYPE_U64, SO_DTYPE_I64,
                                      SO_DTYPE_F32, SO_DTYPE_F64, SO_DTYPE_BOOL};
    static const size_t shapes[][4] = {{0}, {1, 5}, {2, 2, 3}, {3, 2, 1, 3}, {1, 0}};
    char dir[256], path[512];
    (void)state;
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.npy", dir);
    for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            so_array *a = NULL, *b = NULL;
            unsigned char head[10];
            FILE *f;
            assert_int_equal(so_array_new(dtypes[t], (int)shapes[s][0], shapes[s] + 1, &a),
                             SO_OK);
            fill_pattern(a);
            assert_int_equal(so_npy_write(path, a), SO_OK);
            assert_int_equal(so_npy_read(path, &b), SO_OK);
            assert_int_equal(b->dtype, a->dtype);
            assert_int_equal(b->ndim, a->ndim);
            assert_int_equal(b->size, a->size);
            for (int k = 0; k < a->ndim; k++)
                assert_int_equal(b->shape[k], a->shape[k]);
            if (a->size > 0)
                assert_memory_equal(b->data, a->data, a->size * so_dtype_size(a->dtype));
            /* Version 1.0 with the data aligned to 64 bytes. */
            f = fopen(path, "rb");
            assert_non_null(f);
            assert_int_equal(fread(head, 1, 10, f), 10);
            fclose(f);
            assert_int_equal(head[6], 1);
            assert_int_equal(head[7], 0);
            assert_int_equal((10 + head[8] + 256 * head[9]) % 64, 0);
            so_array_free(&a);
            so_array_free(&b);
        }
    }
    remove_temp_dir(dir);
}

static void npy_writer_leaves_no_temp_file(void **state)
{
    static const size_t shape[1] = {3};
    char dir[256], path[512];
    so_array *a = NULL, *b = NULL;
    struct dirent *entry;
    DIR *d;
    int entries = 0;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/w.npy", dir);
    assert_int_equal(so_array_new(SO_DTYPE_F64, 1, shape, &a), SO_OK);
    ((double *)a->data)[0] = 1;
    assert_int_equal(so_npy_write(path, a), SO_OK);
    ((double *)a->data)[0] = 2;
    assert_int_equal(so_npy_write(path, a), SO_OK);
    assert_int_equal(so_npy_read(path, &b), SO_OK);
    assert_true(((double *)b->data)[0] == 2);
    d = opendir(dir);
    assert_non_null(d);
    while ((entry = readdir(d)) != NULL)
        entries += entry->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    so_array_free(&a);
    so_array_free(&b);
    remove_temp_dir(dir);
}

static void npy_writer_reports_bad_path(void **state)
{
    so_array *a = NULL;
    (void)state;
    assert_int_equal(so_array_new(SO_DTYPE_U8, 0, NULL, &a), SO_OK);
    assert_int_equal(so_npy_write("/nonexistent-dir/x.npy", a), SO_ERR_NOT_FOUND);
    assert_error_contains("/nonexistent-dir/x.npy");
    assert_int_equal(so_npy_write("/tmp/x.npy", NULL), SO_ERR_INVALID);
    so_array_free(&a);
}

/* Writes a 3 x 3 float64 array to dir/name. Row r is {r, 10 r, 100 r} + 1, except that
 * element [1][2] is `poison`. */
static void write_table(const char *dir, const char *name, char *path, size_t cap,
                        double poison)
{
    static const size_t shape[2] = {3, 3};
    so_array *a = NULL;
    snprintf(path, cap, "%s/%s", dir, name);
    assert_int_equal(so_array_new(SO_DTYPE_F64, 2, shape, &a), SO_OK);
    for (int r = 0; r < 3; r++) {
        ((double *)a->data)[3 * r] = r + 1;
        ((double *)a->data)[3 * r + 1] = 10 * r + 1;
        ((double *)a->data)[3 * r + 2] = 100 * r + 1;
    }
    ((double *)a->data)[5] = poison;
    assert_int_equal(so_npy_write(path, a), SO_OK);
    so_array_free(&a);
}

static void npy_dataset_takes_label_column(void **state)
{
    so_read_options opt = so_read_options_default();
    char dir[256], path[512];
    so_dataset *ds = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_table(dir, "t.npy", path, sizeof path, 101);
    assert_int_equal(so_dataset_read(path, SO_FORMAT_AUTO, NULL, &ds), SO_OK);
    assert_int_equal(ds->kind, SO_FEATURES_F32);
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->d, 2);
    assert_true(ds->target[2] == 201);
    assert_true(ds->x_f32[2 * 2 + 1] == 21.0f);
    so_dataset_free(&ds);

    opt.label_column = 0;
    assert_int_equal(so_npy_dataset_read(path, &opt, &ds), SO_OK);
    assert_true(ds->target[2] == 3);
    assert_true(ds->x_f32[2 * 2 + 0] == 21.0f);
    assert_true(ds->x_f32[2 * 2 + 1] == 201.0f);
    so_dataset_free(&ds);

    opt.label_column = 3;
    assert_int_equal(so_npy_dataset_read(path, &opt, &ds), SO_ERR_RANGE);
    assert_null(ds);
    assert_error_contains("found 3");
    remove_temp_dir(dir);
}

static void npy_dataset_rejects_nan_and_1d(void **state)
{
    static const size_t shape[1] = {4};
    char dir[256], path[512];
    so_dataset *ds = NULL;
    so_array *a = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_table(dir, "nan.npy", path, sizeof path, NAN);
    assert_int_equal(so_npy_dataset_read(path, NULL, &ds), SO_ERR_NONFINITE);
    assert_null(ds);
    assert_error_contains("nan.npy: row 1, column 2");
    assert_error_contains("found nan");

    write_table(dir, "big.npy", path, sizeof path, 1e300);
    assert_int_equal(so_npy_dataset_read(path, NULL, &ds), SO_OK);
    assert_true(ds->target[1] == 1e300);
    so_dataset_free(&ds);

    snprintf(path, sizeof path, "%s/v.npy", dir);
    assert_int_equal(so_array_new(SO_DTYPE_F32, 1, shape, &a), SO_OK);
    assert_int_equal(so_npy_write(path, a), SO_OK);
    so_array_free(&a);
    assert_int_equal(so_npy_dataset_read(path, NULL, &ds), SO_ERR_FORMAT);
    assert_null(ds);
    assert_error_contains("expected a 2-D array");
    assert_error_contains("found shape (4,)");
    remove_temp_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(npy_fortran_order_converts_to_c),
        cmocka_unit_test(npy_fortran_order_three_dims),
        cmocka_unit_test(npy_truncated_data_rejected),
        cmocka_unit_test(npy_trailing_bytes_rejected),
        cmocka_unit_test(npy_versions_one_two_three_agree),
        cmocka_unit_test(npy_big_endian_dtypes_convert),
        cmocka_unit_test(npy_big_endian_fortran_order),
        cmocka_unit_test(npy_one_byte_dtypes_and_bool),
        cmocka_unit_test(npy_header_syntax_variants_accepted),
        cmocka_unit_test(npy_scalar_shape),
        cmocka_unit_test(npy_malformed_headers_rejected),
        cmocka_unit_test(npy_malformed_preamble_rejected),
        cmocka_unit_test(npy_writer_round_trip),
        cmocka_unit_test(npy_writer_leaves_no_temp_file),
        cmocka_unit_test(npy_writer_reports_bad_path),
        cmocka_unit_test(npy_dataset_takes_label_column),
        cmocka_unit_test(npy_dataset_rejects_nan_and_1d),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
