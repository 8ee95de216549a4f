/* Dataset allocation, release and row subsets. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

void so_dataset_free(so_dataset **ds)
{
    so_dataset *d;

    if (ds == NULL || *ds == NULL)
        return;
    d = *ds;
    so_free_aligned_(d->x_u8);
    so_free_aligned_(d->x_f32);
    free(d->row_ptr);
    free(d->col);
    free(d->val);
    free(d->target);
    free(d->label);
    free(d->class_value);
    free(d->mean);
    free(d->inv_std);
    free(d->name);
    free(d);
    *ds = NULL;
}

static char *copy_string(const char *s)
{
    size_t len = strlen(s);
    char *copy = so_calloc_(len + 1, 1);

    if (copy != NULL)
        memcpy(copy, s, len + 1);
    return copy;
}

int so_dataset_shell_(so_features kind, size_t n, size_t d, const char *name,
                      so_dataset **out)
{
    so_dataset *ds = so_calloc_(1, sizeof *ds);

    *out = NULL;
    if (ds == NULL)
        return SO_ERR_NOMEM;
    ds->n = n;
    ds->d = d;
    ds->kind = kind;
    ds->u8_scale = 1.0f;
    ds->name = copy_string(so_data_name_(name));
    ds->target = so_calloc_(n, sizeof *ds->target);
    if (ds->name == NULL || ds->target == NULL) {
        so_dataset_free(&ds);
        return SO_ERR_NOMEM;
    }
    *out = ds;
    return SO_OK;
}

int so_dataset_alloc_(so_features kind, size_t n, size_t d, const char *name,
                      so_dataset **out)
{
    so_dataset *ds;
    size_t cells;
    int status = so_dataset_shell_(kind, n, d, name, &ds);

    if (status != SO_OK)
        return status;
    if (kind != SO_FEATURES_CSR && !so_mul_size_(n, d, &cells)) {
        so_dataset_free(&ds);
        return so_fail_(SO_ERR_NOMEM, "%s: %zu rows of %zu features overflow size_t",
                        so_data_name_(name), n, d);
    }
    if (kind == SO_FEATURES_U8) {
        ds->x_u8 = so_alloc_aligned_(cells, 1);
        if (ds->x_u8 != NULL)
            memset(ds->x_u8, 0, cells);
    } else if (kind == SO_FEATURES_F32) {
        ds->x_f32 = so_alloc_aligned_(cells, sizeof(float));
        if (ds->x_f32 != NULL)
            memset(ds->x_f32, 0, cells * sizeof(float));
    }
    if ((kind == SO_FEATURES_U8 && ds->x_u8 == NULL) ||
        (kind == SO_FEATURES_F32 && ds->x_f32 == NULL)) {
        so_dataset_free(&ds);
        return SO_ERR_NOMEM;
    }
    *out = ds;
    return SO_OK;
}

/* Copies the CSR rows idx[] of src into dst, which has row_ptr, col and val unset. */
static int copy_csr_rows(const so_dataset *src, const uint32_t *idx, size_t count,
                         so_dataset *dst)
{
    size_t nnz = 0;

    for (size_t i = 0; i < count; i++)
        nnz += src->row_ptr[idx[i] + 1] - src->row_ptr[idx[i]];
    dst->row_ptr = so_calloc_(count + 1, sizeof *dst->row_ptr);
    dst->col = so_calloc_(nnz, sizeof *dst->col);
    dst->val = so_calloc_(nnz, sizeof *dst->val);
    if (dst->row_ptr == NULL || dst->col == NULL || dst->val == NULL)
        return SO_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        size_t begin = src->row_ptr[idx[i]], len = src->row_ptr[idx[i] + 1] - begin;
        size_t at = dst->row_ptr[i];
        memcpy(dst->col + at, src->col + begin, len * sizeof *dst->col);
        memcpy(dst->val + at, src->val + begin, len * sizeof *dst->val);
        dst->row_ptr[i + 1] = at + len;
    }
    return SO_OK;
}

/* Copies a float array of `count` elements, or leaves *dst NULL when src is NULL. */
static int copy_floats(const float *src, size_t count, float **dst)
{
    *dst = NULL;
    if (src == NULL)
        return SO_OK;
    *dst = so_calloc_(count, sizeof **dst);
    if (*dst == NULL)
        return SO_ERR_NOMEM;
    memcpy(*dst, src, count * sizeof **dst);
    return SO_OK;
}

/* Copies the label encoding and standardization of src into dst. */
static int copy_encoding(const so_dataset *src, so_dataset *dst)
{
    dst->num_classes = src->num_classes;
    if (src->class_value != NULL && src->num_classes > 0) {
        dst->class_value = so_calloc_((size_t)src->num_classes, sizeof *dst->class_value);
        if (dst->class_value == NULL)
            return SO_ERR_NOMEM;
        memcpy(dst->class_value, src->class_value,
               (size_t)src->num_classes * sizeof *dst->class_value);
    }
    if (copy_floats(src->mean, src->d, &dst->mean) != SO_OK ||
        copy_floats(src->inv_std, src->d, &dst->inv_std) != SO_OK)
        return SO_ERR_NOMEM;
    return SO_OK;
}

int so_dataset_subset_(const so_dataset *ds, const uint32_t *idx, size_t count,
                       so_dataset **out)
{
    so_dataset *sub;
    int status = so_dataset_alloc_(ds->kind, count, ds->d, ds->name, &sub);

    if (status != SO_OK)
        return status;
    sub->u8_scale = ds->u8_scale;
    for (size_t i = 0; i < count; i++) {
        size_t r = idx[i];
        if (ds->kind == SO_FEATURES_U8)
            memcpy(sub->x_u8 + i * ds->d, ds->x_u8 + r * ds->d, ds->d);
        else if (ds->kind == SO_FEATURES_F32)
            memcpy(sub->x_f32 + i * ds->d, ds->x_f32 + r * ds->d, ds->d * sizeof(float));
        sub->target[i] = ds->target[r];
    }
    if (ds->kind == SO_FEATURES_CSR)
        status = copy_csr_rows(ds, idx, count, sub);
    if (status == SO_OK && ds->label != NULL) {
        sub->label = so_calloc_(count, sizeof *sub->label);
        if (sub->label == NULL)
            status = SO_ERR_NOMEM;
        for (size_t i = 0; status == SO_OK && i < count; i++)
            sub->label[i] = ds->label[idx[i]];
    }
    if (status == SO_OK)
        status = copy_encoding(ds, sub);
    if (status != SO_OK) {
        so_dataset_free(&sub);
        return status;
    }
    *out = sub;
    return SO_OK;
}
