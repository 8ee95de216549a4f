/* Forward and backward passes of a model in float: the training step
 * (so_model_loss_grad), inference (so_model_forward) and evaluation. */
#include "core/internal.h"
#include "nn/model.h"

/* Index of the last layer that runs on its own (the output layer). */
static size_t last_stage(const so_model *m)
{
    size_t k = m->num_layers - 1;
    while (k > 0 && m->layers[k].fused)
        k--;
    return k;
}

/* Runs the layers on x (batch x in_dim); the output layer writes logits
 * (batch x out_dim), the others their workspace buffers. */
static void run_forward(so_model *m, const float *x, size_t batch, float *logits)
{
    const size_t last = last_stage(m);
    const float *in = x;

    for (size_t k = 0; k <= last; k++) {
        const so_layer *l = &m->layers[k];
        float *y = k == last ? logits : m->outputs[k];
        if (l->fused)
            continue;
        l->ops->forward(l, m->params + l->param_offset, in, batch, y);
        in = y;
    }
}

/* Back-propagates delta[0] (batch x out_dim, the gradient at the logits) through every
 * layer into model->grads. The two delta buffers take turns as dy and dx. The first
 * layer's input gradient is never needed, so it is not computed. */
static void run_backward(so_model *m, const float *x, size_t batch)
{
    float *dy = m->delta[0];
    int current = 0;

    for (size_t k = m->num_layers; k-- > 0;) {
        const so_layer *l = &m->layers[k];
        const float *in = k == 0 ? x : m->outputs[k - 1];
        float *dx = k == 0 ? NULL : m->delta[1 - current];
        if (l->fused)
            continue;
        l->ops->backward(l, m->params + l->param_offset, in, m->outputs[k], dy, batch,
                         m->grads + l->param_offset, dx);
        dy = dx;
        current = 1 - current;
    }
}

int so_model_forward(so_model *model, const float *x, size_t batch, float *logits)
{
    int rc = so_model_check_batch_(model, x, batch, "so_model_forward");

    if (rc != SO_OK)
        return rc;
    if (logits == NULL && batch > 0)
        return so_fail_(SO_ERR_INVALID, "so_model_forward: logits is NULL, expected room for "
                        "batch x %zu floats", model->out_dim);
    if (batch == 0)
        return SO_OK;
    rc = so_model_reserve_(model, batch);
    if (rc != SO_OK)
        return rc;
    run_forward(model, x, batch, logits);
    return SO_OK;
}

int so_model_loss_grad(so_model *model, const float *x, const int32_t *labels, size_t batch,
                       double *loss)
{
    const char *fn = "so_model_loss_grad";
    int rc = so_model_check_batch_(model, x, batch, fn);
    float *logits;
    double sum;

    if (rc != SO_OK)
        return rc;
    if (batch == 0)
        return so_fail_(SO_ERR_INVALID, "%s: batch is 0, expected at least one row (the loss "
                        "is a mean over the batch)", fn);
    if (labels == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: labels is NULL, expected %zu labels", fn, batch);
    if (loss == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: loss is NULL", fn);
    rc = so_check_labels_(labels, batch, model->out_dim, fn);
    if (rc == SO_OK)
        rc = so_model_reserve_(model, batch);
    if (rc != SO_OK)
        return rc;
    logits = model->outputs[last_stage(model)];
    run_forward(model, x, batch, logits);
    /* The mean over the batch is folded into the logits' gradient. */
    sum = so_softmax_xent_(logits, labels, batch, model->out_dim, (float)(1.0 / (double)batch),
                           model->delta[0]);
    run_backward(model, x, batch);
    *loss = sum / (double)batch;
    return SO_OK;
}

/* Number of rows whose largest logit (the first, on ties) is at the label. */
static size_t count_correct(const float *logits, const int32_t *labels, size_t batch,
                            size_t classes)
{
    size_t correct = 0;

    for (size_t i = 0; i < batch; i++) {
        const float *row = logits + i * classes;
        size_t best = 0;
        for (size_t j = 1; j < classes; j++)
            if (row[j] > row[best])
                best = j;
        correct += best == (size_t)labels[i];
    }
    return correct;
}

int so_model_evaluate(so_model *model, const float *x, const int32_t *labels, size_t batch,
                      double *loss_sum, size_t *correct)
{
    const char *fn = "so_model_evaluate";
    int rc = so_model_check_batch_(model, x, batch, fn);
    float *logits;

    if (rc != SO_OK)
        return rc;
    if (loss_sum == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: loss_sum is NULL", fn);
    if (correct == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: correct is NULL", fn);
    if (labels == NULL && batch > 0)
        return so_fail_(SO_ERR_INVALID, "%s: labels is NULL, expected %zu labels", fn, batch);
    if (batch == 0)
        return SO_OK;
    rc = so_check_labels_(labels, batch, model->out_dim, fn);
    if (rc == SO_OK)
        rc = so_model_reserve_(model, batch);
    if (rc != SO_OK)
        return rc;
    logits = model->outputs[last_stage(model)];
    run_forward(model, x, batch, logits);
    *loss_sum += so_softmax_xent_(logits, labels, batch, model->out_dim, 0.0f, NULL);
    *correct += count_correct(logits, labels, batch, model->out_dim);
    return SO_OK;
}
