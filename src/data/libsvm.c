/* LIBSVM/svmlight reader: one row per line, "label index:value index:value ... # comment",
 * indices 1-based and strictly increasing unless the zero_based option is set, "qid:N"
 * ignored (it groups rows for ranking in svmlight), stored as compressed sparse rows. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

typedef struct parser {
    const char *name;
    const so_read_options *opt;
    size_t line;
    const char *text;  /* current line */
    so_vec_ target;    /* double per row */
    so_vec_ row_ptr;   /* size_t per row, plus the leading 0 */
    so_vec_ col;       /* uint32_t per stored value */
    so_vec_ val;       /* float per stored value */
    size_t d;          /* columns seen so far: largest column + 1 */
} parser;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Finds the next white-space separated token of line[*pos..len). */
static int next_token(const char *line, size_t len, size_t *pos, size_t *start,
                      size_t *tok_len)
{
    size_t p = *pos;

    while (p < len && is_space(line[p]))
        p++;
    if (p == len)
        return 0;
    *start = p;
    while (p < len && !is_space(line[p]))
        p++;
    *tok_len = p - *start;
    *pos = p;
    return 1;
}

/* Fails naming the line, the 1-based column of the token and the token itself. */
static int fail_token(const parser *ps, int status, size_t start, size_t len,
                      const char *expected)
{
    char found[64];
    return so_fail_(status, "%s: line %zu, column %zu: expected %s, found %s", ps->name,
                    ps->line, start + 1, expected,
                    so_quote_(found, sizeof found, ps->text + start, len));
}

static int parse_label(parser *ps, size_t start, size_t len)
{
    double y;
    int kind = so_parse_number_(ps->text + start, len, &y);

    if (kind == SO_NUMBER_INVALID_)
        return fail_token(ps, SO_ERR_FORMAT, start, len, "a numeric label");
    if (kind == SO_NUMBER_NONFINITE_)
        return fail_token(ps, SO_ERR_NONFINITE, start, len, "a finite label");
    if (so_vec_reserve_(&ps->target, 1) != SO_OK)
        return SO_ERR_NOMEM;
    ((double *)ps->target.data)[ps->target.count++] = y;
    return SO_OK;
}

/* Converts the index text before the colon into a zero-based column. */
static int parse_column(parser *ps, size_t start, size_t len, uint32_t *column)
{
    uint64_t index;

    if (!so_parse_index_(ps->text + start, len, UINT64_MAX, &index))
        return fail_token(ps, SO_ERR_FORMAT, start, len, "a non-negative integer feature "
                          "index");
    if (index == 0 && !ps->opt->zero_based)
        return so_fail_(SO_ERR_FORMAT, "%s: line %zu, column %zu: feature index 0: indices "
                        "start at 1 (use zero-based indices option)", ps->name, ps->line,
                        start + 1);
    if (!ps->opt->zero_based)
        index--;
    if (index >= UINT32_MAX)
        return so_fail_(SO_ERR_RANGE, "%s: line %zu, column %zu: expected a feature index "
                        "below %llu, found %.*s", ps->name, ps->line, start + 1,
                        (unsigned long long)UINT32_MAX + !ps->opt->zero_based, (int)len,
                        ps->text + start);
    *column = (uint32_t)index;
    return SO_OK;
}

/* Parses one "index:value" token of the current row. A "qid:N" token is checked and
 * skipped. */
static int parse_feature(parser *ps, size_t start, size_t len, size_t row_begin)
{
    const char *tok = ps->text + start, *colon = memchr(tok, ':', len);
    size_t key_len, value_start;
    uint32_t column = 0;
    uint64_t qid;
    double v;
    int kind, status;

    if (colon == NULL)
        return fail_token(ps, SO_ERR_FORMAT, start, len, "index:value");
    key_len = (size_t)(colon - tok);
    value_start = start + key_len + 1;
    if (key_len == 3 && memcmp(tok, "qid", 3) == 0) {
        if (!so_parse_index_(colon + 1, len - key_len - 1, UINT64_MAX, &qid))
            return fail_token(ps, SO_ERR_FORMAT, value_start, len - key_len - 1,
                              "a non-negative integer query id");
        return SO_OK;
    }
    status = parse_column(ps, start, key_len, &column);
    if (status != SO_OK)
        return status;
    if (ps->col.count > row_begin) {
        uint32_t previous = ((uint32_t *)ps->col.data)[ps->col.count - 1];
        if (column <= previous)
            return so_fail_(SO_ERR_FORMAT, "%s: line %zu, column %zu: expected feature indices "
                            "in strictly increasing order, found %.*s after index %lu",
                            ps->name, ps->line, start + 1, (int)key_len, tok,
                            (unsigned long)previous + !ps->opt->zero_based);
    }
    kind = so_parse_number_(colon + 1, len - key_len - 1, &v);
    if (kind == SO_NUMBER_INVALID_)
        return fail_token(ps, SO_ERR_FORMAT, value_start, len - key_len - 1,
                          "a numeric feature value");
    if (kind == SO_NUMBER_NONFINITE_)
        return fail_token(ps, SO_ERR_NONFINITE, value_start, len - key_len - 1,
                          "a finite feature value");
    if (fabs(v) > FLT_MAX)
        return fail_token(ps, SO_ERR_RANGE, value_start, len - key_len - 1,
                          "a feature value within the float range");
    if (so_vec_reserve_(&ps->col, 1) != SO_OK || so_vec_reserve_(&ps->val, 1) != SO_OK)
        return SO_ERR_NOMEM;
    ((uint32_t *)ps->col.data)[ps->col.count++] = column;
    ((float *)ps->val.data)[ps->val.count++] = (float)v;
    if ((size_t)column + 1 > ps->d)
        ps->d = (size_t)column + 1;
    return SO_OK;
}

/* Parses one line. Blank and comment-only lines add no row. */
static int parse_line(parser *ps, const char *line, size_t len)
{
    const char *hash = memchr(line, '#', len);
    size_t pos = 0, start, tok_len, row_begin = ps->col.count;
    int status;

    ps->text = line;
    if (hash != NULL)
        len = (size_t)(hash - line);
    if (!next_token(line, len, &pos, &start, &tok_len))
        return SO_OK;
    status = parse_label(ps, start, tok_len);
    while (status == SO_OK && next_token(line, len, &pos, &start, &tok_len))
        status = parse_feature(ps, start, tok_len, row_begin);
    if (status != SO_OK)
        return status;
    if (so_vec_reserve_(&ps->row_ptr, 1) != SO_OK)
        return SO_ERR_NOMEM;
    ((size_t *)ps->row_ptr.data)[ps->row_ptr.count++] = ps->col.count;
    return SO_OK;
}

/* Moves the parsed rows into a new dataset. */
static int build_dataset(parser *ps, so_dataset **out)
{
    size_t n = ps->target.count;
    size_t d = ps->opt->num_features > ps->d ? ps->opt->num_features : ps->d;
    so_dataset *ds;
    int status;

    if (n == 0)
        return so_fail_(SO_ERR_FORMAT, "%s: line %zu: expected at least one data row, found "
                        "only blank or comment lines", ps->name, ps->line);
    status = so_dataset_alloc_(SO_FEATURES_CSR, n, d, ps->name, &ds);
    if (status != SO_OK)
        return status;
    memcpy(ds->target, ps->target.data, n * sizeof *ds->target);
    ds->row_ptr = so_vec_take_(&ps->row_ptr);
    ds->col = so_vec_take_(&ps->col);
    ds->val = so_vec_take_(&ps->val);
    if (ds->row_ptr == NULL || ds->col == NULL || ds->val == NULL) {
        so_dataset_free(&ds);
        return SO_ERR_NOMEM;
    }
    *out = ds;
    return SO_OK;
}

int so_libsvm_parse(const char *text, size_t length, const char *name,
                    const so_read_options *opt, so_dataset **out)
{
    so_read_options defaults = so_read_options_default();
    parser ps = {so_data_name_(name), opt != NULL ? opt : &defaults, 0, NULL, {0}, {0}, {0},
                 {0}, 0};
    so_line_reader_ lines;
    so_c_locale_ locale;
    const char *line;
    size_t len;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_libsvm_parse: out is NULL");
    *out = NULL;
    if (text == NULL && length > 0)
        return so_fail_(SO_ERR_INVALID, "so_libsvm_parse: text is NULL");
    so_vec_init_(&ps.target, sizeof(double));
    so_vec_init_(&ps.row_ptr, sizeof(size_t));
    so_vec_init_(&ps.col, sizeof(uint32_t));
    so_vec_init_(&ps.val, sizeof(float));
    status = so_vec_reserve_(&ps.row_ptr, 1);
    if (status == SO_OK)
        ((size_t *)ps.row_ptr.data)[ps.row_ptr.count++] = 0;
    so_c_locale_enter_(&locale);
    so_lines_init_(&lines, text, length);
    while (status == SO_OK && so_lines_next_(&lines, &line, &len)) {
        ps.line = lines.line;
        status = parse_line(&ps, line, len);
    }
    so_c_locale_leave_(&locale);
    if (status == SO_OK)
        status = build_dataset(&ps, out);
    so_vec_free_(&ps.target);
    so_vec_free_(&ps.row_ptr);
    so_vec_free_(&ps.col);
    so_vec_free_(&ps.val);
    return status;
}

int so_libsvm_read(const char *path, const so_read_options *opt, so_dataset **out)
{
    unsigned char *bytes;
    size_t length;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_libsvm_read: out is NULL");
    *out = NULL;
    status = so_load_file_(path, &bytes, &length);
    if (status != SO_OK)
        return status;
    status = so_libsvm_parse((const char *)bytes, length, path, opt, out);
    free(bytes);
    return status;
}
