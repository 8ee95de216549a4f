/* CSV reader for numeric tables (RFC 4180 quoting): an optional header line, then rows of
 * numbers with the same number of fields, one of which is the target. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* A field of a line, as an offset and a length. A quoted field excludes its quotes. */
typedef struct field {
    size_t start;
    size_t len;
} field;

typedef struct field_reader {
    const char *line;
    size_t len;
    size_t pos;
    char delimiter;
    int done;
} field_reader;

typedef struct parser {
    const char *name;
    size_t line;
    int label_column;
    size_t fields;      /* fields per row, fixed by the first line */
    so_vec_ target;     /* double per row */
    so_vec_ x;          /* float per feature */
} parser;

static int is_blank(char c, char delimiter)
{
    return (c == ' ' || c == '\t') && c != delimiter;
}

/* Returns 1 and the next field, 0 after the last field, or an error status. */
static int next_field(field_reader *r, const parser *ps, field *f)
{
    size_t p = r->pos, q;

    if (r->done)
        return 0;
    while (p < r->len && is_blank(r->line[p], r->delimiter))
        p++;
    if (p < r->len && r->line[p] == '"') {
        /* A quoted field ends at a quote not followed by another, because "" is an escaped
         * quote. */
        for (q = p + 1; q < r->len; q++)
            if (r->line[q] == '"' && !(q + 1 < r->len && r->line[q + 1] == '"'))
                break;
            else if (r->line[q] == '"')
                q++;
        if (q >= r->len)
            return so_fail_(SO_ERR_FORMAT, "%s: line %zu, column %zu: expected a closing "
                            "quote, found the end of the line", ps->name, ps->line, p + 1);
        f->start = p + 1;
        f->len = q - p - 1;
        for (q++; q < r->len && is_blank(r->line[q], r->delimiter);)
            q++;
        if (q < r->len && r->line[q] != r->delimiter)
            return so_fail_(SO_ERR_FORMAT, "%s: line %zu, column %zu: expected a delimiter "
                            "after the closing quote, found '%c'", ps->name, ps->line, q + 1,
                            r->line[q] >= 0x20 && r->line[q] < 0x7f ? r->line[q] : '?');
    } else {
        const char *stop = memchr(r->line + p, r->delimiter, r->len - p);
        q = stop != NULL ? (size_t)(stop - r->line) : r->len;
        f->start = p;
        f->len = q - p;
        while (f->len > 0 && is_blank(r->line[p + f->len - 1], r->delimiter))
            f->len--;
    }
    r->done = q >= r->len;
    r->pos = q + 1;
    return 1;
}

static void start_fields(field_reader *r, const char *line, size_t len, char delimiter)
{
    r->line = line;
    r->len = len;
    r->pos = 0;
    r->delimiter = delimiter;
    r->done = 0;
}

static int is_blank_line(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t')
            return 0;
    return 1;
}

/* Counts the fields of the first line and decides whether it is a header: with
 * csv_header -1 it is one when no field is a number. A line with both numbers and other
 * text is rejected, because guessing either way would drop a data row or misread a
 * header. */
static int inspect_first_line(parser *ps, const char *line, size_t len,
                              const so_read_options *opt, int *is_header)
{
    field_reader r;
    field f;
    int got;
    size_t numbers = 0, first_text = 0;
    double v;

    ps->fields = 0;
    start_fields(&r, line, len, opt->csv_delimiter);
    while ((got = next_field(&r, ps, &f)) == 1) {
        ps->fields++;
        if (so_parse_number_(line + f.start, f.len, &v) == SO_NUMBER_INVALID_) {
            if (first_text == 0)
                first_text = ps->fields;
        } else {
            numbers++;
        }
    }
    if (got < 0)
        return got;
    if (opt->csv_header == -1 && numbers > 0 && numbers < ps->fields)
        return so_fail_(SO_ERR_FORMAT, "%s: line %zu: expected a header of names or a row of "
                        "numbers, found %zu numbers and text in field %zu; fix the line or "
                        "say whether the file has a header", ps->name, ps->line, numbers,
                        first_text);
    *is_header = opt->csv_header == -1 ? numbers == 0 : opt->csv_header != 0;
    if (ps->fields < 2)
        return so_fail_(SO_ERR_FORMAT, "%s: line %zu: expected at least 2 fields (features "
                        "and a target), found %zu", ps->name, ps->line, ps->fields);
    if (opt->label_column != -1 && (size_t)opt->label_column >= ps->fields)
        return so_fail_(SO_ERR_RANGE, "%s: line %zu: expected a label column below %zu, found "
                        "label column %d", ps->name, ps->line, ps->fields, opt->label_column);
    ps->label_column = opt->label_column == -1 ? (int)ps->fields - 1 : opt->label_column;
    return SO_OK;
}

/* Parses one number field into the target or the features. */
static int store_field(parser *ps, const char *line, const field *f, size_t index)
{
    char found[64];
    double v;
    int kind = so_parse_number_(line + f->start, f->len, &v);

    if (kind != SO_NUMBER_OK_)
        return so_fail_(kind == SO_NUMBER_NONFINITE_ ? SO_ERR_NONFINITE : SO_ERR_FORMAT,
                        "%s: line %zu, column %zu: expected a %s in field %zu, found %s",
                        ps->name, ps->line, f->start + 1,
                        kind == SO_NUMBER_NONFINITE_ ? "finite number" : "number", index + 1,
                        f->len == 0 ? "an empty field"
                                    : so_quote_(found, sizeof found, line + f->start, f->len));
    if ((int)index == ps->label_column) {
        ((double *)ps->target.data)[ps->target.count++] = v;
        return SO_OK;
    }
    if (fabs(v) > FLT_MAX)
        return so_fail_(SO_ERR_RANGE, "%s: line %zu, column %zu: expected a value within the "
                        "float range in field %zu, found %s", ps->name, ps->line, f->start + 1,
                        index + 1, so_quote_(found, sizeof found, line + f->start, f->len));
    ((float *)ps->x.data)[ps->x.count++] = (float)v;
    return SO_OK;
}

static int parse_row(parser *ps, const char *line, size_t len, char delimiter)
{
    field_reader r;
    field f;
    size_t index = 0;
    int got;

    if (so_vec_reserve_(&ps->target, 1) != SO_OK ||
        so_vec_reserve_(&ps->x, ps->fields - 1) != SO_OK)
        return SO_ERR_NOMEM;
    start_fields(&r, line, len, delimiter);
    while ((got = next_field(&r, ps, &f)) == 1 && index < ps->fields) {
        int status = store_field(ps, line, &f, index);
        if (status != SO_OK)
            return status;
        index++;
    }
    /* Count the surplus fields too, so that the message gives the real number. */
    while (got == 1) {
        index++;
        got = next_field(&r, ps, &f);
    }
    if (got < 0)
        return got;
    if (index != ps->fields)
        return so_fail_(SO_ERR_FORMAT, "%s: line %zu: expected %zu fields, as on the first "
                        "line, found %zu", ps->name, ps->line, ps->fields, index);
    return SO_OK;
}

static int check_options(const so_read_options *opt)
{
    char d = opt->csv_delimiter;

    if (d == '"' || d == '\n' || d == '\r' || d == '\0')
        return so_fail_(SO_ERR_INVALID, "so_csv_parse: expected a delimiter other than a quote, "
                        "a line end or NUL, found code %d", d);
    if (opt->label_column < -1)
        return so_fail_(SO_ERR_INVALID, "so_csv_parse: expected label_column -1 (last) or a "
                        "column index, found %d", opt->label_column);
    if (opt->csv_header < -1 || opt->csv_header > 1)
        return so_fail_(SO_ERR_INVALID, "so_csv_parse: expected csv_header -1 (detect), 0 or 1, "
                        "found %d", opt->csv_header);
    return SO_OK;
}

/* Reads every line after the optional UTF-8 byte order mark. */
static int parse_lines(parser *ps, const char *text, size_t length, const so_read_options *opt)
{
    so_line_reader_ lines;
    const char *line;
    size_t len;
    int first = 1, status = SO_OK;

    if (length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        length -= 3;
    }
    so_lines_init_(&lines, text, length);
    while (status == SO_OK && so_lines_next_(&lines, &line, &len)) {
        int is_header = 0;
        ps->line = lines.line;
        if (is_blank_line(line, len))
            continue;
        if (first) {
            first = 0;
            status = inspect_first_line(ps, line, len, opt, &is_header);
            if (status != SO_OK || is_header)
                continue;
        }
        status = parse_row(ps, line, len, opt->csv_delimiter);
    }
    if (status == SO_OK && ps->target.count == 0)
        status = so_fail_(SO_ERR_FORMAT, "%s: line %zu: expected at least one data row, found "
                          "none", ps->name, ps->line);
    return status;
}

int so_csv_parse(const char *text, size_t length, const char *name,
                 const so_read_options *opt, so_dataset **out)
{
    so_read_options defaults = so_read_options_default();
    parser ps = {so_data_name_(name), 0, 0, 0, {0}, {0}};
    so_c_locale_ locale;
    so_dataset *ds = NULL;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_csv_parse: out is NULL");
    *out = NULL;
    if (text == NULL && length > 0)
        return so_fail_(SO_ERR_INVALID, "so_csv_parse: text is NULL");
    if (opt == NULL)
        opt = &defaults;
    status = check_options(opt);
    if (status != SO_OK)
        return status;
    so_vec_init_(&ps.target, sizeof(double));
    so_vec_init_(&ps.x, sizeof(float));
    so_c_locale_enter_(&locale);
    status = parse_lines(&ps, text, length, opt);
    so_c_locale_leave_(&locale);
    if (status == SO_OK)
        status = so_dataset_alloc_(SO_FEATURES_F32, ps.target.count, ps.fields - 1, ps.name,
                                   &ds);
    if (status == SO_OK) {
        memcpy(ds->target, ps.target.data, ds->n * sizeof *ds->target);
        memcpy(ds->x_f32, ps.x.data, ds->n * ds->d * sizeof *ds->x_f32);
        *out = ds;
    }
    so_vec_free_(&ps.target);
    so_vec_free_(&ps.x);
    return status;
}

int so_csv_read(const char *path, const so_read_options *opt, so_dataset **out)
{
    unsigned char *bytes;
    size_t length;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_csv_read: out is NULL");
    *out = NULL;
    status = so_load_file_(path, &bytes, &length);
    if (status != SO_OK)
        return status;
    status = so_csv_parse((const char *)bytes, length, path, opt, out);
    free(bytes);
    return status;
}
