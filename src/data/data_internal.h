/* Helpers shared by the readers and dataset functions of the data module. Not public. */
#ifndef STOCHOPT_DATA_INTERNAL_H
#define STOCHOPT_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"
#include "stochopt/data.h"

/* ---- Names, bytes and quoting (bytes.c) */

/* Returns name, or "(buffer)" when the caller gave none. */
const char *so_data_name_(const char *name);

/* Returns 1 when the host stores integers least significant byte first. */
int so_host_is_little_(void);

/* Reverses the byte order of each of count elements of elsize bytes, in place. */
void so_swap_bytes_(void *data, size_t count, size_t elsize);

/* Writes a printable, length-limited, quoted copy of s[0..len) into buf for messages:
 * control bytes become '?', and a long token ends in "...". Returns buf. */
const char *so_quote_(char *buf, size_t cap, const char *s, size_t len);

/* Writes the first bytes of data as hex pairs ("50 4b 03 04") into buf. Returns buf. */
const char *so_hex_(char *buf, size_t cap, const unsigned char *data, size_t len);

/* Writes a shape as NumPy prints it, "(2, 3)", "(4,)" or "()", into buf. Returns buf. */
const char *so_format_shape_(char *buf, size_t cap, int ndim, const size_t *shape);

/* Sets *size to the element count of a shape and *bytes to size * elsize, or returns 0
 * when either overflows size_t. */
int so_shape_count_(int ndim, const size_t *shape, size_t elsize, size_t *size, size_t *bytes);

/* Sets *out to a * b, or returns 0 when the product overflows size_t. */
int so_mul_size_(size_t a, size_t b, size_t *out);

/* ---- Growable arrays for readers that do not know the row count in advance (vec.c) */

typedef struct so_vec_ {
    void *data;
    size_t count;   /* elements in use */
    size_t cap;     /* elements allocated */
    size_t elsize;
} so_vec_;

void so_vec_init_(so_vec_ *v, size_t elsize);
/* Makes room for `extra` more elements, doubling the capacity as needed. */
int so_vec_reserve_(so_vec_ *v, size_t extra);
/* Hands the buffer to the caller (at least one element long) and empties v. */
void *so_vec_take_(so_vec_ *v);
void so_vec_free_(so_vec_ *v);

/* ---- Files (file.c) */

/* Reads a whole file into a new malloc'ed buffer. A missing file gives SO_ERR_NOT_FOUND,
 * other failures SO_ERR_IO, and both name the path. */
int so_read_file_(const char *path, unsigned char **bytes, size_t *length);

/* Reads a whole file like so_read_file_ and inflates it when it starts with the gzip
 * magic bytes 1f 8b. */
int so_load_file_(const char *path, unsigned char **bytes, size_t *length);

/* ---- gzip streams over a buffer in memory (gzip.c) */

typedef struct so_gz_ {
    void *stream;           /* z_stream, allocated by so_gz_open_ */
    const unsigned char *next; /* input not yet handed to zlib */
    size_t left;            /* bytes at next */
    size_t length;          /* whole input length, for offsets in messages */
    size_t produced;        /* decompressed bytes returned so far */
    int ended;              /* 1 after the last gzip member */
    const char *name;
} so_gz_;

/* Returns 1 when data starts with the gzip magic bytes 1f 8b. */
int so_is_gzip_(const void *data, size_t length);

int so_gz_open_(so_gz_ *gz, const void *data, size_t length, const char *name);
/* Decompresses up to n bytes into dst. *got is less than n only at the end of the data.
 * Concatenated gzip members are read as one stream, as gzip(1) does. */
int so_gz_read_(so_gz_ *gz, void *dst, size_t n, size_t *got);
void so_gz_close_(so_gz_ *gz);

/* Inflates a whole gzip buffer into a new malloc'ed buffer. */
int so_gunzip_(const void *data, size_t length, const char *name, unsigned char **out,
               size_t *out_length);

/* ---- Text parsing (text.c) */

typedef struct so_line_reader_ {
    const char *pos;
    const char *end;
    size_t line;           /* number of the line last returned, from 1 */
} so_line_reader_;

void so_lines_init_(so_line_reader_ *reader, const char *text, size_t length);
/* Returns the next line without its "\n" or "\r\n" ending, or 0 at the end of the text. */
int so_lines_next_(so_line_reader_ *reader, const char **line, size_t *length);

enum so_number_kind_ {
    SO_NUMBER_OK_ = 0,
    SO_NUMBER_INVALID_ = 1,   /* empty, too long or not wholly consumed by strtod */
    SO_NUMBER_NONFINITE_ = 2  /* NaN, infinity, or a value beyond the double range */
};

/* Parses token s[0..len) with strtod, which must consume all of it. */
int so_parse_number_(const char *s, size_t len, double *value);

/* Parses a non-negative decimal integer of digits only. Returns 0 when it is not one or
 * exceeds max. */
int so_parse_index_(const char *s, size_t len, uint64_t max, uint64_t *value);

/* Makes strtod read '.' as the decimal point in this thread whatever the process
 * locale, and restores the previous locale. */
typedef struct so_c_locale_ {
    void *c_locale;
    void *previous;
} so_c_locale_;
void so_c_locale_enter_(so_c_locale_ *scope);
void so_c_locale_leave_(so_c_locale_ *scope);

/* ---- NPY header dictionary (npy_header.c) */

typedef struct so_npy_header_ {
    so_dtype dtype;
    int big_endian;        /* 1 when the file stores multi-byte elements big-endian */
    int fortran_order;
    int ndim;
    size_t shape[SO_ARRAY_MAX_DIMS];
} so_npy_header_;

/* Parses the Python dict literal of an NPY header, text[0..length), which starts at byte
 * `offset` of the file named `name`. */
int so_npy_parse_header_(const char *text, size_t length, size_t offset, const char *name,
                         so_npy_header_ *header);

/* ---- Arrays (array.c) */

/* Returns element i of a as a double. */
double so_array_get_double_(const so_array *a, size_t i);

/* ---- Datasets (dataset.c) */

/* Allocates a dataset of n rows and d features with a zeroed target array and a copy of
 * name, leaving every feature array to the caller. */
int so_dataset_shell_(so_features kind, size_t n, size_t d, const char *name,
                      so_dataset **out);

/* Allocates a dataset like so_dataset_shell_ plus, for the dense kinds, a zeroed feature
 * matrix. CSR arrays are left to the caller. */
int so_dataset_alloc_(so_features kind, size_t n, size_t d, const char *name,
                      so_dataset **out);

/* Copies rows idx[0..count-1] of ds, with its label encoding and standardization, into a
 * new dataset. */
int so_dataset_subset_(const so_dataset *ds, const uint32_t *idx, size_t count,
                       so_dataset **out);

#endif
