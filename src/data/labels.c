/* Label encoding: class indices 0..k-1 assigned in increasing order of target value. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Returns the index of value in sorted[0..k), or -1. */
static long find_class(const double *sorted, size_t k, double value)
{
    size_t lo = 0, hi = k;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k && sorted[lo] == value ? (long)lo : -1;
}

/* Maps every target to its class index in classes[0..k), or fails at the first target
 * that is not a class. */
static int map_targets(const so_dataset *ds, const double *classes, size_t k,
                       const char *source, int32_t **labels)
{
    int32_t *label = so_calloc_(ds->n, sizeof *label);

    if (label == NULL)
        return SO_ERR_NOMEM;
    for (size_t i = 0; i < ds->n; i++) {
        long c = find_class(classes, k, ds->target[i]);
        if (c < 0) {
            free(label);
            return so_fail_(SO_ERR_FORMAT, "%s: row %zu: expected a target that is a class of "
                            "%s, found %g", ds->name, i, source, ds->target[i]);
        }
        label[i] = (int32_t)c;
    }
    *labels = label;
    return SO_OK;
}

/* Replaces the encoding of ds with the given arrays, which it takes over. */
static void install(so_dataset *ds, int32_t *label, double *classes, size_t k)
{
    free(ds->label);
    free(ds->class_value);
    ds->label = label;
    ds->class_value = classes;
    ds->num_classes = (int)k;
}

/* Collects the sorted distinct targets of ds, at most max_classes of them. */
static int distinct_targets(const so_dataset *ds, int max_classes, double **classes,
                            size_t *k)
{
    double *sorted = so_calloc_(ds->n, sizeof *sorted);
    size_t count = 0;

    if (sorted == NULL)
        return SO_ERR_NOMEM;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->target[i] != floor(ds->target[i])) {
            free(sorted);
            return so_fail_(SO_ERR_FORMAT, "%s: row %zu: expected an integer target to use as "
                            "a class label, found %.17g", ds->name, i, ds->target[i]);
        }
        sorted[i] = ds->target[i];
    }
    qsort(sorted, ds->n, sizeof *sorted, compare_doubles);
    for (size_t i = 0; i < ds->n; i++)
        if (count == 0 || sorted[i] != sorted[count - 1])
            sorted[count++] = sorted[i];
    if (count > (size_t)max_classes) {
        free(sorted);
        return so_fail_(SO_ERR_RANGE, "%s: expected at most %d classes, found %zu distinct "
                        "targets", ds->name, max_classes, count);
    }
    /* Give back the room of the duplicates. A failed shrink keeps the larger block. */
    double *shrunk = realloc(sorted, count * sizeof *sorted);
    *classes = shrunk != NULL ? shrunk : sorted;
    *k = count;
    return SO_OK;
}

int so_dataset_encode_labels(so_dataset *ds, int max_classes)
{
    double *classes = NULL;
    int32_t *label = NULL;
    size_t k = 0;
    int status;

    if (ds == NULL || max_classes < 1)
        return so_fail_(SO_ERR_INVALID, "so_dataset_encode_labels: expected a dataset and "
                        "max_classes >= 1");
    if (ds->n == 0)
        return so_fail_(SO_ERR_INVALID, "%s: expected rows to encode, found none", ds->name);
    status = distinct_targets(ds, max_classes, &classes, &k);
    if (status != SO_OK)
        return status;
    status = map_targets(ds, classes, k, ds->name, &label);
    if (status != SO_OK) {
        free(classes);
        return status;
    }
    install(ds, label, classes, k);
    return SO_OK;
}

int so_dataset_encode_labels_like(so_dataset *ds, const so_dataset *reference)
{
    size_t k;
    double *classes;
    int32_t *label = NULL;
    int status;

    if (ds == NULL || reference == NULL)
        return so_fail_(SO_ERR_INVALID, "so_dataset_encode_labels_like: NULL dataset");
    if (reference->num_classes < 1 || reference->class_value == NULL)
        return so_fail_(SO_ERR_STATE, "%s: expected a reference dataset with encoded labels, "
                        "found none encoded", reference->name);
    k = (size_t)reference->num_classes;
    status = map_targets(ds, reference->class_value, k, reference->name, &label);
    if (status != SO_OK)
        return status;
    classes = so_calloc_(k, sizeof *classes);
    if (classes == NULL) {
        free(label);
        return SO_ERR_NOMEM;
    }
    memcpy(classes, reference->class_value, k * sizeof *classes);
    install(ds, label, classes, k);
    return SO_OK;
}
