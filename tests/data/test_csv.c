/* CSV reader: header detection, label column, delimiters, quoting, CRLF and the rejection
 * of malformed rows. */
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

static int parse(const char *text, const so_read_options *opt, so_dataset **ds)
{
    return so_csv_parse(text, strlen(text), "bad.csv", opt, ds);
}

static void assert_floats(const float *x, const float *expected, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(x[i] == expected[i]);
}

static void csv_header_detected_and_label_last(void **state)
{
    static const float x[4] = {1, 2, 4, 5};
    so_dataset *ds = NULL;
    (void)state;
    assert_int_equal(parse("a,b,y\n1,2,3\n4,5,6\n", NULL, &ds), SO_OK);
    assert_int_equal(ds->kind, SO_FEATURES_F32);
    assert_int_equal(ds->n, 2);
    assert_int_equal(ds->d, 2);
    assert_floats(ds->x_f32, x, 4);
    assert_true(ds->target[0] == 3);
    assert_true(ds->target[1] == 6);
    so_dataset_free(&ds);

    /* Without a header the first line is data. */
    assert_int_equal(parse("1,2,3\n4,5,6\n", NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    assert_floats(ds->x_f32, x, 4);
    so_dataset_free(&ds);
}

static void csv_header_option_overrides_detection(void **state)
{
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;
    (void)state;
    /* A numeric header is only skipped when csv_header says so. */
    opt.csv_header = 1;
    assert_int_equal(parse("10,20\n1,2\n", &opt, &ds), SO_OK);
    assert_int_equal(ds->n, 1);
    assert_true(ds->target[0] == 2);
    so_dataset_free(&ds);

    opt.csv_header = 0;
    assert_int_equal(parse("x,y\n1,2\n", &opt, &ds), SO_ERR_FORMAT);
    assert_null(ds);
    assert_error_contains("bad.csv: line 1, column 1");
    assert_error_contains("expected a number in field 1, found 'x'");
}

static void csv_label_column_first_and_middle(void **state)
{
    static const float first_x[4] = {2, 3, 5, 6};
    static const float middle_x[4] = {1, 3, 4, 6};
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;
    (void)state;
    opt.label_column = 0;
    assert_int_equal(parse("1,2,3\n4,5,6\n", &opt, &ds), SO_OK);
    assert_floats(ds->x_f32, first_x, 4);
    assert_true(ds->target[1] == 4);
    so_dataset_free(&ds);

    opt.label_column = 1;
    assert_int_equal(parse("1,2,3\n4,5,6\n", &opt, &ds), SO_OK);
    assert_floats(ds->x_f32, middle_x, 4);
    assert_true(ds->target[1] == 5);
    so_dataset_free(&ds);

    opt.label_column = 3;
    assert_int_equal(parse("1,2,3\n4,5,6\n", &opt, &ds), SO_ERR_RANGE);
    assert_null(ds);
    assert_error_contains("line 1");
    assert_error_contains("expected a label column below 3, found label column 3");
}

static void csv_delimiters_crlf_and_quotes(void **state)
{
    static const float x[4] = {1.5f, -2, 0.25f, 1e-3f};
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;
    (void)state;
    opt.csv_delimiter = ';';
    assert_int_equal(parse("\"width; cm\";\"say \"\"hi\"\"\";label\r\n"
                           " 1.5 ; -2 ; 0\r\n0.25;1e-3;1\r\n\r\n", &opt, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    assert_int_equal(ds->d, 2);
    assert_floats(ds->x_f32, x, 4);
    assert_true(ds->target[1] == 1);
    so_dataset_free(&ds);

    opt.csv_delimiter = '\t';
    assert_int_equal(parse("1.5\t-2\t7\n0.25\t1e-3\t8", &opt, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    assert_floats(ds->x_f32, x, 4);
    assert_true(ds->target[0] == 7);
    so_dataset_free(&ds);

    /* A byte order mark and quoted numbers in the data. */
    assert_int_equal(parse("\xEF\xBB\xBF" "a,b\n\"1\",\"2\"\n", NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 1);
    assert_true(ds->x_f32[0] == 1);
    so_dataset_free(&ds);
}

static void csv_malformed_rows_rejected(void **state)
{
    static const struct {
        const char *text;
        int status;
        const char *needles[3];
    } cases[] = {
        {"a,b,c\n1,2,3\n4,5\n", SO_ERR_FORMAT, {"line 3", "expected 3 fields", "found 2"}},
        {"1,2\n3,4,5,6\n", SO_ERR_FORMAT, {"line 2", "expected 2 fields", "found 4"}},
        {"a,b\n1,nan\n", SO_ERR_NONFINITE, {"line 2, column 3", "finite number in field 2", "'nan'"}},
        {"a,b\n1,2\ninf,2\n", SO_ERR_NONFINITE, {"line 3, column 1", "finite number", "'inf'"}},
        {"a,b\n1,,2\n", SO_ERR_FORMAT, {"line 2, column 3", "field 2", "an empty field"}},
        {"a,b\n1,2x\n", SO_ERR_FORMAT, {"line 2, column 3", "expected a number", "'2x'"}},
        {"a,b\n1e39,2\n", SO_ERR_RANGE, {"line 2, column 1", "float range", "'1e39'"}},
        {"\"a,b\n1,2\n", SO_ERR_FORMAT, {"line 1, column 1", "closing quote", "end of the line"}},
        {"\"a\"x,b\n1,2\n", SO_ERR_FORMAT, {"line 1, column 4", "delimiter after the closing", "'x'"}},
        {"a\n1\n", SO_ERR_FORMAT, {"line 1", "at least 2 fields", "found 1"}},
        {"a,b\n", SO_ERR_FORMAT, {"bad.csv", "at least one data row", "found none"}},
        {"", SO_ERR_FORMAT, {"bad.csv", "at least one data row", "found none"}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        so_dataset *ds = NULL;
        print_message("case %zu\n", i);
        assert_int_equal(parse(cases[i].text, NULL, &ds), cases[i].status);
        assert_null(ds);
        for (int k = 0; k < 3; k++)
            assert_error_contains(cases[i].needles[k]);
    }
}

static void csv_invalid_options_rejected(void **state)
{
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;
    (void)state;
    opt.csv_delimiter = '"';
    assert_int_equal(parse("1,2\n", &opt, &ds), SO_ERR_INVALID);
    opt = so_read_options_default();
    opt.label_column = -2;
    assert_int_equal(parse("1,2\n", &opt, &ds), SO_ERR_INVALID);
    assert_error_contains("found -2");
    opt = so_read_options_default();
    opt.csv_header = 2;
    assert_int_equal(parse("1,2\n", &opt, &ds), SO_ERR_INVALID);
    assert_null(ds);
    assert_int_equal(so_csv_parse("1,2", 3, "x", NULL, NULL), SO_ERR_INVALID);
}

static void csv_read_file_by_extension(void **state)
{
    static const char text[] = "f1,f2,label\n0.5,1,0\n2,4,1\n";
    char dir[256], path[512];
    so_dataset *ds = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_file(dir, "t.CSV", text, strlen(text), path, sizeof path);
    assert_int_equal(so_dataset_read(path, SO_FORMAT_AUTO, NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    assert_true(ds->x_f32[2] == 2.0f);
    so_dataset_free(&ds);
    write_file(dir, "t.dat", text, strlen(text), path, sizeof path);
    assert_int_equal(so_dataset_read(path, SO_FORMAT_AUTO, NULL, &ds), SO_ERR_UNSUPPORTED);
    assert_error_contains("t.dat");
    assert_int_equal(so_dataset_read(path, SO_FORMAT_CSV, NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    so_dataset_free(&ds);
    remove_temp_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_header_detected_and_label_last),
        cmocka_unit_test(csv_header_option_overrides_detection),
        cmocka_unit_test(csv_label_column_first_and_middle),
        cmocka_unit_test(csv_delimiters_crlf_and_quotes),
        cmocka_unit_test(csv_malformed_rows_rejected),
        cmocka_unit_test(csv_invalid_options_rejected),
        cmocka_unit_test(csv_read_file_by_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
