/* Parser for the header of an NPY file: a Python dict literal such as
 * {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
 * as described in numpy/lib/format.py. Keys may come in any order, strings may use single
 * or double quotes, and white space and a trailing comma are allowed where Python allows
 * them. */
#include <string.h>

#include "data/data_internal.h"

typedef struct cursor {
    const char *text;
    size_t pos;
    size_t length;
    size_t offset; /* file offset of text[0] */
    const char *name;
} cursor;

static void skip_space(cursor *c)
{
    while (c->pos < c->length && (c->text[c->pos] == ' ' || c->text[c->pos] == '\t' ||
                                  c->text[c->pos] == '\n' || c->text[c->pos] == '\r'))
        c->pos++;
}

/* Fails with "expected <what>, found <the text at the cursor>". */
static int fail_at(const cursor *c, int status, const char *what)
{
    char found[64];

    if (c->pos >= c->length)
        return so_fail_(status, "%s: byte %zu: expected %s in the NPY header, found the end "
                        "of the header", c->name, c->offset + c->pos, what);
    so_quote_(found, sizeof found, c->text + c->pos, c->length - c->pos);
    return so_fail_(status, "%s: byte %zu: expected %s in the NPY header, found %s", c->name,
                    c->offset + c->pos, what, found);
}

static int expect_char(cursor *c, char ch, const char *what)
{
    skip_space(c);
    if (c->pos >= c->length || c->text[c->pos] != ch)
        return fail_at(c, SO_ERR_FORMAT, what);
    c->pos++;
    return SO_OK;
}

/* Reads a quoted string without escapes, which is all NPY headers contain. */
static int read_string(cursor *c, const char **s, size_t *len, const char *what)
{
    const char *close;
    char quote;

    skip_space(c);
    if (c->pos >= c->length || (c->text[c->pos] != '\'' && c->text[c->pos] != '"'))
        return fail_at(c, SO_ERR_FORMAT, what);
    quote = c->text[c->pos];
    close = memchr(c->text + c->pos + 1, quote, c->length - c->pos - 1);
    if (close == NULL)
        return fail_at(c, SO_ERR_FORMAT, "a closing quote");
    *s = c->text + c->pos + 1;
    *len = (size_t)(close - *s);
    c->pos = (size_t)(close - c->text) + 1;
    return SO_OK;
}

/* Maps a NumPy type string such as "<f8" or "|u1" to a dtype and byte order. */
static int parse_descr(cursor *c, so_npy_header_ *h)
{
    static const struct { char kind; char size; so_dtype dtype; } known[] = {
        {'b', '1', SO_DTYPE_BOOL}, {'i', '1', SO_DTYPE_I8},  {'u', '1', SO_DTYPE_U8},
        {'i', '2', SO_DTYPE_I16},  {'u', '2', SO_DTYPE_U16}, {'i', '4', SO_DTYPE_I32},
        {'u', '4', SO_DTYPE_U32},  {'i', '8', SO_DTYPE_I64}, {'u', '8', SO_DTYPE_U64},
        {'f', '4', SO_DTYPE_F32},  {'f', '8', SO_DTYPE_F64},
    };
    const char *s;
    size_t len, start;
    char found[64];
    int status;

    skip_space(c);
    start = c->pos;
    if (c->pos < c->length && c->text[c->pos] == '[')
        return fail_at(c, SO_ERR_UNSUPPORTED, "a plain dtype string (structured dtypes are "
                       "not supported)");
    status = read_string(c, &s, &len, "a dtype string such as '<f8'");
    if (status != SO_OK)
        return status;
    for (size_t i = 0; len == 3 && i < sizeof known / sizeof known[0]; i++) {
        if (s[1] != known[i].kind || s[2] != known[i].size)
            continue;
        /* '|' (order not applicable) is only meaningful for one-byte types. */
        if (s[0] == '<' || s[0] == '>' || s[0] == '=' || (s[0] == '|' && s[2] == '1')) {
            h->dtype = known[i].dtype;
            h->big_endian = s[0] == '>' || (s[0] == '=' && !so_host_is_little_());
            return SO_OK;
        }
    }
    return so_fail_(SO_ERR_UNSUPPORTED, "%s: byte %zu: expected a dtype of b1, i1, u1, i2, "
                    "u2, i4, u4, i8, u8, f4 or f8 with byte order <, >, | or =, found %s",
                    c->name, c->offset + start, so_quote_(found, sizeof found, s, len));
}

static int parse_bool(cursor *c, int *value)
{
    skip_space(c);
    if (c->length - c->pos >= 4 && memcmp(c->text + c->pos, "True", 4) == 0) {
        *value = 1;
        c->pos += 4;
        return SO_OK;
    }
    if (c->length - c->pos >= 5 && memcmp(c->text + c->pos, "False", 5) == 0) {
        *value = 0;
        c->pos += 5;
        return SO_OK;
    }
    return fail_at(c, SO_ERR_FORMAT, "True or False for 'fortran_order'");
}

static int parse_size(cursor *c, size_t *value)
{
    size_t start = c->pos;
    uint64_t v;

    while (c->pos < c->length && c->text[c->pos] >= '0' && c->text[c->pos] <= '9')
        c->pos++;
    if (!so_parse_index_(c->text + start, c->pos - start, SIZE_MAX, &v)) {
        c->pos = start;
        return fail_at(c, SO_ERR_FORMAT, "a non-negative dimension size below 2^64");
    }
    /* Files written by Python 2 spell long integers with an L suffix. */
    if (c->pos < c->length && c->text[c->pos] == 'L')
        c->pos++;
    *value = (size_t)v;
    return SO_OK;
}

/* Parses a shape tuple: (), (n,), (n, m) or (n, m,). */
static int parse_shape(cursor *c, so_npy_header_ *h)
{
    int status = expect_char(c, '(', "a shape tuple such as (2, 3)");

    h->ndim = 0;
    while (status == SO_OK) {
        skip_space(c);
        if (c->pos < c->length && c->text[c->pos] == ')') {
            c->pos++;
            return SO_OK;
        }
        if (h->ndim == SO_ARRAY_MAX_DIMS)
            return fail_at(c, SO_ERR_UNSUPPORTED, "at most 8 dimensions");
        status = parse_size(c, &h->shape[h->ndim]);
        if (status != SO_OK)
            return status;
        h->ndim++;
        skip_space(c);
        if (c->pos < c->length && c->text[c->pos] == ',')
            c->pos++;
        else if (c->pos >= c->length || c->text[c->pos] != ')')
            return fail_at(c, SO_ERR_FORMAT, "',' or ')' in the shape tuple");
    }
    return status;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4, KEY_ALL = 7 };

static int parse_entry(cursor *c, so_npy_header_ *h, int *seen)
{
    const char *key;
    size_t len, start;
    int bit, status;

    skip_space(c);
    start = c->pos;
    status = read_string(c, &key, &len, "a quoted key");
    if (status != SO_OK)
        return status;
    if (len == 5 && memcmp(key, "descr", 5) == 0)
        bit = KEY_DESCR;
    else if (len == 13 && memcmp(key, "fortran_order", 13) == 0)
        bit = KEY_FORTRAN;
    else if (len == 5 && memcmp(key, "shape", 5) == 0)
        bit = KEY_SHAPE;
    else
        bit = 0;
    if (bit == 0 || (*seen & bit) != 0) {
        c->pos = start;
        return fail_at(c, SO_ERR_FORMAT, bit == 0 ? "one of the keys 'descr', "
                       "'fortran_order' and 'shape'" : "each key once, but this key repeats");
    }
    *seen |= bit;
    status = expect_char(c, ':', "':' after the key");
    if (status != SO_OK)
        return status;
    if (bit == KEY_DESCR)
        return parse_descr(c, h);
    if (bit == KEY_FORTRAN)
        return parse_bool(c, &h->fortran_order);
    return parse_shape(c, h);
}

int so_npy_parse_header_(const char *text, size_t length, size_t offset, const char *name,
                         so_npy_header_ *header)
{
    cursor c = {text, 0, length, offset, name};
    int seen = 0, status;

    memset(header, 0, sizeof *header);
    status = expect_char(&c, '{', "'{' opening the header dict");
    while (status == SO_OK) {
        skip_space(&c);
        if (c.pos < c.length && c.text[c.pos] == '}')
            break;
        status = parse_entry(&c, header, &seen);
        if (status != SO_OK)
            return status;
        skip_space(&c);
        if (c.pos < c.length && c.text[c.pos] == ',')
            c.pos++;
        else if (c.pos >= c.length || c.text[c.pos] != '}')
            return fail_at(&c, SO_ERR_FORMAT, "',' or '}' after a value");
    }
    if (status != SO_OK)
        return status;
    c.pos++;
    skip_space(&c);
    if (c.pos < c.length)
        return fail_at(&c, SO_ERR_FORMAT, "only padding after the header dict");
    if (seen != KEY_ALL)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected the keys 'descr', "
                        "'fortran_order' and 'shape' in the NPY header, found no %s", name,
                        offset, (seen & KEY_DESCR) == 0 ? "'descr'" :
                        (seen & KEY_FORTRAN) == 0 ? "'fortran_order'" : "'shape'");
    return SO_OK;
}
