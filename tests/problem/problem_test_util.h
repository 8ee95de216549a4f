/* Datasets shared by the problem and Newton tests: heart_scale (LIBSVM, 270 rows, 13
 * features, sparse), its dense copy, and seeded synthetic sets. Include after cmocka.h. */
#ifndef SO_PROBLEM_TEST_UTIL_H
#define SO_PROBLEM_TEST_UTIL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/data.h"

/* Loads tests/data/heart_scale with its labels encoded (classes -1, +1). */
static inline so_dataset *load_heart_scale(void)
{
    so_read_options o = so_read_options_default();
    so_dataset *ds = NULL;
    assert_int_equal(so_libsvm_read(SO_TEST_DATA_DIR "/data/heart_scale", &o, &ds), SO_OK);
    assert_int_equal(so_dataset_encode_labels(ds, 2), SO_OK);
    return ds;
}

/* A dataset with dense F32 features, built field by field; free with free_dense. */
static inline so_dataset *dense_dataset(size_t n, size_t d)
{
    so_dataset *ds = calloc(1, sizeof *ds);
    assert_non_null(ds);
    ds->n = n;
    ds->d = d;
    ds->kind = SO_FEATURES_F32;
    ds->x_f32 = calloc(n * d, sizeof *ds->x_f32);
    ds->target = calloc(n, sizeof *ds->target);
    ds->label = calloc(n, sizeof *ds->label);
    ds->class_value = calloc(64, sizeof *ds->class_value);
    assert_non_null(ds->x_f32);
    assert_non_null(ds->target);
    assert_non_null(ds->label);
    assert_non_null(ds->class_value);
    return ds;
}

static inline void free_dense(so_dataset *ds)
{
    free(ds->x_f32);
    free(ds->target);
    free(ds->label);
    free(ds->class_value);
    free(ds);
}

/* The dense copy of a CSR dataset, with the same targets and labels. */
static inline so_dataset *densify(const so_dataset *sparse)
{
    so_dataset *ds = dense_dataset(sparse->n, sparse->d);
    for (size_t i = 0; i < sparse->n; i++) {
        for (size_t q = sparse->row_ptr[i]; q < sparse->row_ptr[i + 1]; q++)
            ds->x_f32[i * sparse->d + sparse->col[q]] = sparse->val[q];
        ds->target[i] = sparse->target[i];
        ds->label[i] = sparse->label[i];
    }
    ds->num_classes = sparse->num_classes;
    for (int c = 0; c < sparse->num_classes; c++)
        ds->class_value[c] = sparse->class_value[c];
    return ds;
}

/* n rows of d Gaussian features. The label is the arg max over C classes of W^T a + noise
 * for a Gaussian W, and the target is a linear function plus noise. */
static inline so_dataset *synthetic_dataset(size_t n, size_t d, int C, uint64_t seed)
{
    so_dataset *ds = dense_dataset(n, d);
    so_rng rng;
    so_rng_init(&rng, seed, 0);
    double *W = calloc(d * (size_t)C, sizeof *W);
    assert_non_null(W);
    for (size_t q = 0; q < d * (size_t)C; q++)
        W[q] = so_rng_normal(&rng);
    for (size_t i = 0; i < n; i++) {
        double best = -INFINITY, lin = 0.0;
        for (size_t j = 0; j < d; j++) {
            ds->x_f32[i * d + j] = (float)so_rng_normal(&rng);
            lin += (0.5 + (double)j / (double)d) * ds->x_f32[i * d + j];
        }
        for (int c = 0; c < C; c++) {
            double s = 2.0 * so_rng_normal(&rng);
            for (size_t j = 0; j < d; j++)
                s += W[j * (size_t)C + (size_t)c] * ds->x_f32[i * d + j];
            if (s > best) {
                best = s;
                ds->label[i] = c;
            }
        }
        ds->target[i] = lin + 0.1 * so_rng_normal(&rng);
    }
    ds->num_classes = C;
    for (int c = 0; c < C; c++)
        ds->class_value[c] = c;
    free(W);
    return ds;
}

/* A point with entries of both signs and size about `scale`. */
static inline void test_point(double *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * sin(0.5 + 1.3 * (double)i);
}

#endif
