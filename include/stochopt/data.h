/* Datasets and file formats: IDX (plain or gzip), LIBSVM/svmlight, CSV and NPY.
 * Every reader either returns a complete result or fails with nothing allocated, and the
 * error detail (so_last_error) names the file, the line or byte offset, what was expected
 * and what was found. Byte offsets of gzip input count decompressed bytes; row numbers in
 * messages about loaded datasets start at 0. Text numbers are parsed with strtod in the
 * "C" locale whatever the process locale, and NaN or infinity is rejected. The *_read
 * functions of the text and NPY formats also accept gzip files. */
#ifndef STOCHOPT_DATA_H
#define STOCHOPT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- N-dimensional arrays, as read from IDX and NPY files */

enum { SO_ARRAY_MAX_DIMS = 8 };

typedef enum so_dtype {
    SO_DTYPE_U8, SO_DTYPE_I8, SO_DTYPE_U16, SO_DTYPE_I16, SO_DTYPE_U32, SO_DTYPE_I32,
    SO_DTYPE_U64, SO_DTYPE_I64, SO_DTYPE_F32, SO_DTYPE_F64, SO_DTYPE_BOOL
} so_dtype;

/* Size in bytes of one element of dtype, or 0 for an unknown dtype. */
size_t so_dtype_size(so_dtype dtype);
/* Returns the dtype name as NumPy spells it ("uint8", "float64", ...). */
const char *so_dtype_name(so_dtype dtype);

/* A dense array in C (row-major) order and host byte order; readers convert Fortran
 * order and foreign byte order on load. */
typedef struct so_array {
    so_dtype dtype;
    int ndim;                          /* 0 for a scalar */
    size_t shape[SO_ARRAY_MAX_DIMS];
    size_t size;                       /* product of shape, 1 for a scalar */
    void *data;                        /* size * so_dtype_size(dtype) bytes */
} so_array;

/* Allocates a zeroed array; shape may be NULL when ndim is 0. */
int so_array_new(so_dtype dtype, int ndim, const size_t *shape, so_array **out);
void so_array_free(so_array **array);

/* Reads an IDX file (LeCun's MNIST format); gzip input is recognized by its magic bytes.
 * The data length must match the shape exactly: missing and trailing bytes are errors. */
int so_idx_read(const char *path, so_array **out);
/* Parses an IDX image already in memory; `name` is used in error messages. */
int so_idx_parse(const void *bytes, size_t length, const char *name, so_array **out);

/* Reads an NPY file, format versions 1.0, 2.0 and 3.0, with dtypes b1, i1, u1, i2, u2,
 * i4, u4, i8, u8, f4 and f8 in either byte order. */
int so_npy_read(const char *path, so_array **out);
int so_npy_parse(const void *bytes, size_t length, const char *name, so_array **out);
/* Writes an NPY file, version 1.0 (2.0 when the header needs it), little endian, C order.
 * The file is written to a temporary name and renamed, so readers never see half a file. */
int so_npy_write(const char *path, const so_array *array);

/* ---- Datasets: rows of features and one target per row */

typedef enum so_features {
    SO_FEATURES_U8,   /* bytes, scaled by u8_scale when gathered (images stay bytes) */
    SO_FEATURES_F32,  /* dense float rows */
    SO_FEATURES_CSR   /* sparse rows in compressed sparse row form */
} so_features;

typedef struct so_dataset {
    size_t n;                 /* rows */
    size_t d;                 /* features per row */
    so_features kind;
    uint8_t *x_u8;            /* n * d, for SO_FEATURES_U8 */
    float u8_scale;           /* multiplier applied to x_u8 when gathering, 1/255 for images */
    float *x_f32;             /* n * d, for SO_FEATURES_F32 */
    size_t *row_ptr;          /* n + 1 offsets into col and val, for SO_FEATURES_CSR */
    uint32_t *col;            /* zero-based column of each stored value */
    float *val;
    double *target;           /* n targets as read from the file */
    int32_t *label;           /* n class indices in [0, num_classes), or NULL */
    int num_classes;          /* 0 until labels are encoded */
    double *class_value;      /* num_classes target values, sorted: label i means class_value[i] */
    float *mean;              /* d per-feature offsets subtracted when gathering, or NULL */
    float *inv_std;           /* d per-feature multipliers applied after the offset, or NULL */
    char *name;               /* file name used in messages */
} so_dataset;

void so_dataset_free(so_dataset **ds);

typedef enum so_format {
    SO_FORMAT_AUTO,   /* by extension: .npy, .csv, .svm/.libsvm/.txt; a directory is IDX */
    SO_FORMAT_IDX,
    SO_FORMAT_LIBSVM,
    SO_FORMAT_CSV,
    SO_FORMAT_NPY
} so_format;

/* Parses "auto", "idx", "libsvm" (or "svmlight"), "csv", "npy". Returns -1 if unknown. */
int so_format_from_name(const char *name);

typedef struct so_read_options {
    int zero_based;           /* LIBSVM: indices start at 0 (default: 1) */
    size_t num_features;      /* LIBSVM: at least this many columns (0: largest index seen) */
    int csv_header;           /* CSV: 1 first line is a header, 0 none, -1 detect (default):
                               * a header has no numeric field, and a first line that mixes
                               * numbers and text is rejected */
    int label_column;         /* CSV and NPY: column holding the target; -1 means last */
    char csv_delimiter;       /* CSV: ',' by default */
} so_read_options;

/* Returns the defaults described above. */
so_read_options so_read_options_default(void);

/* Loads a LIBSVM/svmlight file: "label idx:val idx:val ... # comment", optional
 * "qid:N" (ignored), CRLF line ends, blank and comment-only lines skipped. */
int so_libsvm_read(const char *path, const so_read_options *opt, so_dataset **out);
int so_libsvm_parse(const char *text, size_t length, const char *name,
                    const so_read_options *opt, so_dataset **out);

/* Loads a CSV file of numbers with one target column. */
int so_csv_read(const char *path, const so_read_options *opt, so_dataset **out);
int so_csv_parse(const char *text, size_t length, const char *name,
                 const so_read_options *opt, so_dataset **out);

/* Loads a 2-D NPY array whose label_column contains the targets. */
int so_npy_dataset_read(const char *path, const so_read_options *opt, so_dataset **out);

/* Builds a dataset from an IDX images file (n x ... bytes) and an IDX labels file. Byte
 * images stay bytes (SO_FEATURES_U8 with u8_scale 1/255); images of other dtypes become
 * float features. The labels are encoded with so_dataset_encode_labels. */
int so_idx_dataset_read(const char *images_path, const char *labels_path, so_dataset **out);

/* Loads train and test sets from a directory holding the four MNIST-style IDX files
 * (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte, each optionally ending in .gz). A missing file gives
 * SO_ERR_NOT_FOUND naming its path. The test set is encoded with the training set's
 * classes; test may be NULL to load the training set only. */
int so_idx_dir_read(const char *dir, so_dataset **train, so_dataset **test);

/* Loads one file in the given format (SO_FORMAT_AUTO picks by extension, ignoring a final
 * ".gz"). For SO_FORMAT_IDX, path is a directory (its training set is loaded) or an images
 * file whose labels file has the same name with "images-idx3" replaced by "labels-idx1". */
int so_dataset_read(const char *path, so_format format, const so_read_options *opt,
                    so_dataset **out);

/* Maps targets to class indices 0..k-1 in increasing order of value. Fails when a
 * target is not an integer or there are more than max_classes distinct values. */
int so_dataset_encode_labels(so_dataset *ds, int max_classes);

/* Uses the classes of `reference` for `ds` (for a test set that must share the training
 * set's encoding). Fails naming the first row whose target is not a class of reference. */
int so_dataset_encode_labels_like(so_dataset *ds, const so_dataset *reference);

/* Splits ds into a shuffled part of round(fraction * n) rows and the rest: the first part
 * is the first rows of the identity permutation shuffled with so_rng stream (seed, 0).
 * Each part keeps its rows in file order. The parts are new datasets; ds is unchanged. */
int so_dataset_split(const so_dataset *ds, double fraction, uint64_t seed,
                     so_dataset **first, so_dataset **rest);

/* Computes per-feature mean and inverse standard deviation on `train` and applies them to
 * train and to each of the `count` datasets in `others` at gather time. Features with zero
 * variance get a multiplier of 1. */
int so_dataset_standardize(so_dataset *train, so_dataset **others, size_t count);

/* Copies rows idx[0..count-1] into x (count x d floats, scaled and standardized) and
 * their labels into y (may be NULL). Requires encoded labels when y is not NULL. */
int so_dataset_gather(const so_dataset *ds, const uint32_t *idx, size_t count, float *x,
                      int32_t *y);

/* ---- Seeded minibatch iterator. The order in epoch e is a permutation drawn from the
 * stream (seed, e), so resuming at epoch e needs only the seed and e. */

typedef struct so_batcher so_batcher;

/* n rows, batches of batch_size; drop_last drops a short final batch; shuffle 0 keeps
 * the file order. */
int so_batcher_new(size_t n, size_t batch_size, uint64_t seed, int shuffle, int drop_last,
                   so_batcher **out);
void so_batcher_free(so_batcher **b);
/* Starts epoch `epoch` (from 0): draws its permutation and rewinds. */
void so_batcher_start_epoch(so_batcher *b, uint64_t epoch);
/* Sets *idx to the next batch's row indices and returns its size, 0 at the end of the
 * epoch. The indices stay valid until the next call. */
size_t so_batcher_next(so_batcher *b, const uint32_t **idx);
/* Batches per epoch. */
size_t so_batcher_batches(const so_batcher *b);

#ifdef __cplusplus
}
#endif

#endif
