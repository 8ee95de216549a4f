/* Softmax cross-entropy on raw logits. Each row is shifted by its maximum before the
 * exponentials (the log-sum-exp shift), so logits of any finite magnitude give a finite
 * loss: loss = log(sum_j exp(z_j - m)) - (z_label - m), where the sum is at least 1. */
#include <math.h>

#include "core/internal.h"
#include "nn/layer.h"

int so_check_labels_(const int32_t *labels, size_t batch, size_t classes, const char *fn)
{
    for (size_t i = 0; i < batch; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return so_fail_(SO_ERR_INVALID,
                            "%s: labels[%zu] is %ld, expected a class index in [0, %zu); "
                            "encode the labels as 0 .. %zu",
                            fn, i, (long)labels[i], classes, classes - 1);
    return SO_OK;
}

double so_softmax_xent_(const float *z, const int32_t *labels, size_t batch, size_t classes,
                        float scale, float *grad)
{
    double total = 0.0;

    for (size_t i = 0; i < batch; i++) {
        const float *row = z + i * classes;
        const size_t label = (size_t)labels[i];
        float max = row[0], sum = 0.0f;

        for (size_t j = 1; j < classes; j++)
            max = row[j] > max ? row[j] : max;
        if (grad == NULL) {
            for (size_t j = 0; j < classes; j++)
                sum += expf(row[j] - max);
        } else {
            /* Keep the exponentials in grad and scale them once the sum is known, so the
             * logits are read once and the gradient is written twice while in cache. */
            float *g = grad + i * classes;
            for (size_t j = 0; j < classes; j++) {
                g[j] = expf(row[j] - max);
                sum += g[j];
            }
            const float factor = scale / sum;
            for (size_t j = 0; j < classes; j++)
                g[j] *= factor;
            g[label] -= scale;
        }
        total += log((double)sum) - ((double)row[label] - (double)max);
    }
    return total;
}

double so_softmax_xent_f64_(const double *z, const int32_t *labels, size_t batch,
                            size_t classes, double scale, double *grad)
{
    double total = 0.0;

    for (size_t i = 0; i < batch; i++) {
        const double *row = z + i * classes;
        const size_t label = (size_t)labels[i];
        double max = row[0], sum = 0.0;

        for (size_t j = 1; j < classes; j++)
            max = row[j] > max ? row[j] : max;
        for (size_t j = 0; j < classes; j++)
            sum += exp(row[j] - max);
        total += log(sum) - (row[label] - max);
        if (grad == NULL)
            continue;
        for (size_t j = 0; j < classes; j++)
            grad[i * classes + j] = exp(row[j] - max) / sum * scale;
        grad[i * classes + label] -= scale;
    }
    return total;
}
