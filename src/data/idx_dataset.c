/* Datasets from IDX image and label files, such as MNIST and Fashion-MNIST. */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_internal.h"

/* Distinct target values allowed in an IDX labels file. */
enum { IDX_MAX_CLASSES = 65536 };

/* Moves the image bytes into the dataset, or converts other dtypes to float. */
static int take_images(so_array *images, const char *path, so_dataset *ds)
{
    if (images->dtype == SO_DTYPE_U8) {
        /* Images stay bytes: 60000 x 784 is 47 MB as u8 but 188 MB as float. */
        ds->x_u8 = images->data;
        images->data = NULL;
        ds->u8_scale = 1.0f / 255.0f;
        return SO_OK;
    }
    ds->kind = SO_FEATURES_F32;
    ds->x_f32 = so_alloc_aligned_(images->size, sizeof(float));
    if (ds->x_f32 == NULL)
        return SO_ERR_NOMEM;
    for (size_t i = 0; i < images->size; i++) {
        double v = so_array_get_double_(images, i);
        if (!isfinite(v) || fabs(v) > FLT_MAX)
            return so_fail_(isfinite(v) ? SO_ERR_RANGE : SO_ERR_NONFINITE, "%s: element %zu: "
                            "expected a finite value within the float range, found %g", path,
                            i, v);
        ds->x_f32[i] = (float)v;
    }
    return SO_OK;
}

static int take_labels(const so_array *labels, const char *path, so_dataset *ds)
{
    if (labels->ndim != 1 || labels->shape[0] != ds->n)
        return so_fail_(SO_ERR_FORMAT, "%s: expected a 1-D array of %zu labels, one per image, "
                        "found %d dimensions and %zu elements", path, ds->n, labels->ndim,
                        labels->size);
    for (size_t i = 0; i < ds->n; i++) {
        ds->target[i] = so_array_get_double_(labels, i);
        if (!isfinite(ds->target[i]))
            return so_fail_(SO_ERR_NONFINITE, "%s: label %zu: expected a finite number, found "
                            "%g", path, i, ds->target[i]);
    }
    return SO_OK;
}

/* Builds the dataset from the two arrays, moving the image bytes into it. */
static int build(so_array *images, const so_array *labels, const char *images_path,
                 const char *labels_path, so_dataset **out)
{
    size_t d = 1;
    so_dataset *ds;
    int status;

    if (images->shape[0] == 0)
        return so_fail_(SO_ERR_FORMAT, "%s: expected at least one image, found none",
                        images_path);
    for (int k = 1; k < images->ndim; k++)
        d *= images->shape[k]; /* cannot overflow: the array's byte count fits size_t */
    if (d == 0)
        return so_fail_(SO_ERR_FORMAT, "%s: expected images of at least one pixel, found "
                        "a zero size in the shape", images_path);
    status = so_dataset_shell_(SO_FEATURES_U8, images->shape[0], d, images_path, &ds);
    if (status != SO_OK)
        return status;
    status = take_images(images, images_path, ds);
    if (status == SO_OK)
        status = take_labels(labels, labels_path, ds);
    if (status == SO_OK)
        status = so_dataset_encode_labels(ds, IDX_MAX_CLASSES);
    if (status != SO_OK) {
        so_dataset_free(&ds);
        return status;
    }
    *out = ds;
    return SO_OK;
}

int so_idx_dataset_read(const char *images_path, const char *labels_path, so_dataset **out)
{
    so_array *images = NULL, *labels = NULL;
    int status;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_idx_dataset_read: out is NULL");
    *out = NULL;
    status = so_idx_read(images_path, &images);
    if (status == SO_OK)
        status = so_idx_read(labels_path, &labels);
    if (status == SO_OK)
        status = build(images, labels, images_path, labels_path, out);
    so_array_free(&images);
    so_array_free(&labels);
    return status;
}

/* Finds dir/base or dir/base.gz, preferring the uncompressed file. */
static int find_file(const char *dir, const char *base, char *path, size_t cap)
{
    struct stat st;

    if ((size_t)snprintf(path, cap, "%s/%s", dir, base) >= cap)
        return so_fail_(SO_ERR_INVALID, "%s: directory path too long", dir);
    if (stat(path, &st) == 0)
        return SO_OK;
    snprintf(path, cap, "%s/%s.gz", dir, base);
    if (stat(path, &st) == 0)
        return SO_OK;
    return so_fail_(SO_ERR_NOT_FOUND, "%s/%s: file not found, with or without .gz", dir, base);
}

/* Loads one of the splits, prefix "train" or "t10k". */
static int read_split(const char *dir, const char *prefix, so_dataset **out)
{
    char images[4096], labels[4096], base[64];
    int status;

    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    status = find_file(dir, base, images, sizeof images);
    if (status != SO_OK)
        return status;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    status = find_file(dir, base, labels, sizeof labels);
    if (status != SO_OK)
        return status;
    return so_idx_dataset_read(images, labels, out);
}

int so_idx_dir_read(const char *dir, so_dataset **train, so_dataset **test)
{
    so_dataset *train_set = NULL, *test_set = NULL;
    int status;

    if (train == NULL || dir == NULL)
        return so_fail_(SO_ERR_INVALID, "so_idx_dir_read: dir and train must not be NULL");
    *train = NULL;
    if (test != NULL)
        *test = NULL;
    status = read_split(dir, "train", &train_set);
    if (status == SO_OK && test != NULL) {
        status = read_split(dir, "t10k", &test_set);
        /* The test set must use the training set's class indices. */
        if (status == SO_OK)
            status = so_dataset_encode_labels_like(test_set, train_set);
    }
    if (status != SO_OK) {
        so_dataset_free(&train_set);
        so_dataset_free(&test_set);
        return status;
    }
    *train = train_set;
    if (test != NULL)
        *test = test_set;
    return SO_OK;
}
