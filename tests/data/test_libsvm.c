/* LIBSVM/svmlight reader: comments, white space, index base, qid, num_features and the
 * rejection of malformed lines. */
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

static int parse(const char *text, const so_read_options *opt, so_dataset **ds)
{
    return so_libsvm_parse(text, strlen(text), "bad.svm", opt, ds);
}

/* Checks that row r stores exactly the given columns and values. */
static void assert_row(const so_dataset *ds, size_t r, const uint32_t *cols,
                       const float *vals, size_t count)
{
    assert_int_equal(ds->row_ptr[r + 1] - ds->row_ptr[r], count);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(ds->col[ds->row_ptr[r] + i], cols[i]);
        assert_true(ds->val[ds->row_ptr[r] + i] == vals[i]);
    }
}

static void libsvm_comment_lines_skipped(void **state)
{
    static const uint32_t cols[2] = {0, 2};
    static const float vals[2] = {0.5f, 2.0f};
    so_dataset *ds = NULL;
    (void)state;
    assert_int_equal(parse("1 1:0.5 3:2 # id=42\n#only comment\n", NULL, &ds), SO_OK);
    assert_int_equal(ds->kind, SO_FEATURES_CSR);
    assert_int_equal(ds->n, 1);
    assert_int_equal(ds->d, 3);
    assert_true(ds->target[0] == 1.0);
    assert_row(ds, 0, cols, vals, 2);
    assert_null(ds->label);
    so_dataset_free(&ds);
}

static void libsvm_mixed_whitespace_and_crlf(void **state)
{
    static const uint32_t cols[2] = {0, 2};
    static const float vals[2] = {0.5f, 2.0f};
    so_dataset *ds = NULL;
    (void)state;
    assert_int_equal(parse("1  1:0.5   3:2 \t\r\n", NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 1);
    assert_int_equal(ds->d, 3);
    assert_true(ds->target[0] == 1.0);
    assert_row(ds, 0, cols, vals, 2);
    so_dataset_free(&ds);

    /* Leading tabs, blank lines in between and a last line without a line end. */
    assert_int_equal(parse("\r\n\t-1\t2:4\r\n   \n\n+1 1:1e-3 7:-2.5", NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    assert_int_equal(ds->d, 7);
    assert_true(ds->target[0] == -1.0);
    assert_true(ds->target[1] == 1.0);
    assert_true(ds->val[2] == -2.5f);
    assert_true(ds->val[1] == 1e-3f);
    so_dataset_free(&ds);
}

static void libsvm_index_zero_needs_zero_based(void **state)
{
    static const uint32_t cols[2] = {0, 2};
    static const float vals[2] = {1.5f, 3.0f};
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;
    (void)state;
    assert_int_equal(parse("1 0:1.5 2:3\n", NULL, &ds), SO_ERR_FORMAT);
    assert_null(ds);
    assert_error_contains("bad.svm: line 1");
    assert_error_contains("feature index 0: indices start at 1");
    assert_error_contains("zero-based");

    opt.zero_based = 1;
    assert_int_equal(parse("1 0:1.5 2:3\n", &opt, &ds), SO_OK);
    assert_int_equal(ds->d, 3);
    assert_row(ds, 0, cols, vals, 2);
    so_dataset_free(&ds);
}

static void libsvm_qid_ignored_and_empty_rows_kept(void **state)
{
    static const uint32_t cols[1] = {1};
    static const float vals[1] = {4.0f};
    so_dataset *ds = NULL;
    (void)state;
    assert_int_equal(parse("3 qid:12 2:4\n0 qid:12\n2\n", NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 3);
    assert_int_equal(ds->d, 2);
    assert_row(ds, 0, cols, vals, 1);
    assert_row(ds, 1, NULL, NULL, 0);
    assert_row(ds, 2, NULL, NULL, 0);
    assert_true(ds->target[2] == 2.0);
    so_dataset_free(&ds);
}

static void libsvm_num_features_is_a_minimum(void **state)
{
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;
    (void)state;
    opt.num_features = 10;
    assert_int_equal(parse("1 3:1\n", &opt, &ds), SO_OK);
    assert_int_equal(ds->d, 10);
    so_dataset_free(&ds);
    opt.num_features = 2;
    assert_int_equal(parse("1 3:1\n", &opt, &ds), SO_OK);
    assert_int_equal(ds->d, 3);
    so_dataset_free(&ds);
}

static void libsvm_malformed_lines_rejected(void **state)
{
    static const struct {
        const char *text;
        int status;
        const char *needles[3];
    } cases[] = {
        {"1 1:1\n1 3:1 2:1\n", SO_ERR_FORMAT,
         {"line 2, column 7", "strictly increasing", "found 2 after index 3"}},
        {"1 2:1 2:1\n", SO_ERR_FORMAT, {"line 1, column 7", "strictly increasing", "after index 2"}},
        {"1 1:1\n\n1 2:x\n", SO_ERR_FORMAT,
         {"line 3, column 5", "expected a numeric feature value", "found 'x'"}},
        {"1 2:\n", SO_ERR_FORMAT, {"line 1, column 5", "numeric feature value", "found ''"}},
        {"1 2:1.5e\n", SO_ERR_FORMAT, {"line 1, column 5", "numeric feature value", "'1.5e'"}},
        {"1 2:nan\n", SO_ERR_NONFINITE, {"line 1, column 5", "finite feature value", "'nan'"}},
        {"1 2:-inf\n", SO_ERR_NONFINITE, {"line 1, column 5", "finite", "'-inf'"}},
        {"1 2:1e39\n", SO_ERR_RANGE, {"line 1, column 5", "float range", "'1e39'"}},
        {"inf 2:1\n", SO_ERR_NONFINITE, {"line 1, column 1", "finite label", "'inf'"}},
        {"a 2:1\n", SO_ERR_FORMAT, {"line 1, column 1", "numeric label", "found 'a'"}},
        {"1,2 2:1\n", SO_ERR_FORMAT, {"line 1, column 1", "numeric label", "'1,2'"}},
        {"1 2\n", SO_ERR_FORMAT, {"line 1, column 3", "expected index:value", "found '2'"}},
        {"1 -2:1\n", SO_ERR_FORMAT, {"line 1, column 3", "feature index", "'-2'"}},
        {"1 x:1\n", SO_ERR_FORMAT, {"line 1, column 3", "feature index", "'x'"}},
        {"1 :1\n", SO_ERR_FORMAT, {"line 1, column 3", "feature index", "found ''"}},
        {"1 4294967297:1\n", SO_ERR_RANGE, {"line 1, column 3", "below 4294967296", "4294967297"}},
        {"1 99999999999999999999999:1\n", SO_ERR_FORMAT, {"line 1, column 3", "feature index", "999"}},
        {"1 qid:x 2:1\n", SO_ERR_FORMAT, {"line 1, column 7", "query id", "'x'"}},
        {"", SO_ERR_FORMAT, {"bad.svm", "at least one data row", "found only blank"}},
        {"# nothing\n\n  \n", SO_ERR_FORMAT, {"line 3", "at least one data row", "comment"}},
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

static void libsvm_binary_garbage_rejected(void **state)
{
    static const char text[] = {'1', ' ', '2', ':', '1', '\0', '5', '\n'};
    so_dataset *ds = NULL;
    (void)state;
    assert_int_equal(so_libsvm_parse(text, sizeof text, "nul.svm", NULL, &ds), SO_ERR_FORMAT);
    assert_null(ds);
    assert_error_contains("line 1, column 5");
    assert_error_contains("found '1?5'");
}

static void libsvm_read_file_by_extension(void **state)
{
    static const char text[] = "2 1:0.25\n4 2:8\n";
    char dir[256], path[512];
    so_dataset *ds = NULL;
    (void)state;
    make_temp_dir(dir, sizeof dir);
    write_file(dir, "a.libsvm", text, strlen(text), path, sizeof path);
    assert_int_equal(so_dataset_read(path, SO_FORMAT_AUTO, NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    assert_int_equal(ds->d, 2);
    assert_string_equal(ds->name, path);
    so_dataset_free(&ds);

    /* A gzip file is inflated, and the extension before ".gz" picks the format. */
    snprintf(path, sizeof path, "%s/b.svm.gz", dir);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzputs(gz, text), (int)strlen(text));
    assert_int_equal(gzclose(gz), Z_OK);
    assert_int_equal(so_dataset_read(path, SO_FORMAT_AUTO, NULL, &ds), SO_OK);
    assert_int_equal(ds->n, 2);
    assert_true(ds->val[1] == 8.0f);
    so_dataset_free(&ds);
    assert_int_equal(so_libsvm_read("/nonexistent/a.svm", NULL, &ds), SO_ERR_NOT_FOUND);
    assert_null(ds);
    assert_error_contains("/nonexistent/a.svm");
    remove_temp_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libsvm_comment_lines_skipped),
        cmocka_unit_test(libsvm_mixed_whitespace_and_crlf),
        cmocka_unit_test(libsvm_index_zero_needs_zero_based),
        cmocka_unit_test(libsvm_qid_ignored_and_empty_rows_kept),
        cmocka_unit_test(libsvm_num_features_is_a_minimum),
        cmocka_unit_test(libsvm_malformed_lines_rejected),
        cmocka_unit_test(libsvm_binary_garbage_rejected),
        cmocka_unit_test(libsvm_read_file_by_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
