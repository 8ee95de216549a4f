/* Per-feature standardization: x' = (x - mean) * inv_std, applied when rows are gathered.
 * The statistics are sums in double over two passes, first the mean and then the squared
 * deviations, which avoids the cancellation of the one-pass sum-of-squares formula. The
 * variance is the population variance (divided by n). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* Value of feature j in dense row i, after the u8 scale. */
static double dense_value(const so_dataset *ds, size_t i, size_t j)
{
    if (ds->kind == SO_FEATURES_U8)
        return (double)ds->x_u8[i * ds->d + j] * (double)ds->u8_scale;
    return (double)ds->x_f32[i * ds->d + j];
}

static void dense_moments(const so_dataset *ds, double *mean, double *var)
{
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->d; j++)
            mean[j] += dense_value(ds, i, j);
    for (size_t j = 0; j < ds->d; j++)
        mean[j] /= (double)ds->n;
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->d; j++) {
            double dev = dense_value(ds, i, j) - mean[j];
            var[j] += dev * dev;
        }
}

/* Sparse rows contain only the stored values. Every absent entry is a zero whose squared
 * deviation is mean^2. */
static int sparse_moments(const so_dataset *ds, double *mean, double *var)
{
    size_t nnz = ds->row_ptr[ds->n];
    size_t *stored = so_calloc_(ds->d, sizeof *stored);

    if (stored == NULL)
        return SO_ERR_NOMEM;
    for (size_t t = 0; t < nnz; t++)
        mean[ds->col[t]] += ds->val[t];
    for (size_t j = 0; j < ds->d; j++)
        mean[j] /= (double)ds->n;
    for (size_t t = 0; t < nnz; t++) {
        double dev = ds->val[t] - mean[ds->col[t]];
        var[ds->col[t]] += dev * dev;
        stored[ds->col[t]]++;
    }
    for (size_t j = 0; j < ds->d; j++)
        var[j] += (double)(ds->n - stored[j]) * mean[j] * mean[j];
    free(stored);
    return SO_OK;
}

/* Gives each of the count datasets its own copy of the offsets and multipliers. Either
 * all of them change or, when memory runs out, none does. */
static int attach_all(so_dataset **sets, size_t count, const float *mean,
                      const float *inv_std, size_t d)
{
    float **copies = so_calloc_(2 * count, sizeof *copies);
    int status = copies != NULL ? SO_OK : SO_ERR_NOMEM;

    for (size_t i = 0; i < 2 * count && status == SO_OK; i++) {
        copies[i] = so_calloc_(d, sizeof **copies);
        if (copies[i] == NULL)
            status = SO_ERR_NOMEM;
        else
            memcpy(copies[i], i % 2 == 0 ? mean : inv_std, d * sizeof **copies);
    }
    for (size_t i = 0; i < count && status == SO_OK; i++) {
        free(sets[i]->mean);
        free(sets[i]->inv_std);
        sets[i]->mean = copies[2 * i];
        sets[i]->inv_std = copies[2 * i + 1];
        copies[2 * i] = copies[2 * i + 1] = NULL;
    }
    for (size_t i = 0; copies != NULL && i < 2 * count; i++)
        free(copies[i]);
    free(copies);
    return status;
}

static int check_args(const so_dataset *train, so_dataset **others, size_t count)
{
    if (train == NULL || (count > 0 && others == NULL))
        return so_fail_(SO_ERR_INVALID, "so_dataset_standardize: NULL dataset");
    if (train->n == 0)
        return so_fail_(SO_ERR_INVALID, "%s: expected rows to compute statistics on, found "
                        "none", train->name);
    for (size_t i = 0; i < count; i++)
        if (others[i] == NULL || others[i]->d != train->d)
            return so_fail_(SO_ERR_INVALID, "so_dataset_standardize: expected dataset %zu of "
                            "others to have %zu features like %s, found %s", i, train->d,
                            train->name, others[i] == NULL ? "NULL" : "a different count");
    return SO_OK;
}

/* Turns the moments into float offsets and multipliers. */
static void finish(const double *mean, const double *var, size_t n, size_t d, float *mean_f,
                   float *inv_f)
{
    for (size_t j = 0; j < d; j++) {
        double sd = sqrt(var[j] / (double)n);
        mean_f[j] = (float)mean[j];
        /* A constant feature, or one too narrow for a float multiplier, keeps its scale:
         * only the offset is removed. */
        inv_f[j] = sd > 0.0 && 1.0 / sd <= FLT_MAX ? (float)(1.0 / sd) : 1.0f;
    }
}

int so_dataset_standardize(so_dataset *train, so_dataset **others, size_t count)
{
    double *mean = NULL, *var = NULL;
    float *mean_f = NULL, *inv_f = NULL;
    so_dataset **sets = NULL;
    int status = check_args(train, others, count);

    if (status != SO_OK)
        return status;
    mean = so_calloc_(train->d, sizeof *mean);
    var = so_calloc_(train->d, sizeof *var);
    mean_f = so_calloc_(train->d, sizeof *mean_f);
    inv_f = so_calloc_(train->d, sizeof *inv_f);
    sets = so_calloc_(count + 1, sizeof *sets);
    if (mean == NULL || var == NULL || mean_f == NULL || inv_f == NULL || sets == NULL)
        status = SO_ERR_NOMEM;
    if (status == SO_OK && train->kind == SO_FEATURES_CSR)
        status = sparse_moments(train, mean, var);
    else if (status == SO_OK)
        dense_moments(train, mean, var);
    if (status == SO_OK) {
        finish(mean, var, train->n, train->d, mean_f, inv_f);
        sets[0] = train;
        for (size_t i = 0; i < count; i++)
            sets[i + 1] = others[i];
        status = attach_all(sets, count + 1, mean_f, inv_f, train->d);
    }
    free(mean);
    free(var);
    free(mean_f);
    free(inv_f);
    free(sets);
    return status;
}
