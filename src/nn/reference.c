/* Double-precision reference of the training step. It runs every layer on its own, with
 * no fusion and no BLAS, so that tests can hold the float path and finite differences
 * against an independent computation of the same network. Speed is not a goal. */
#include <stdint.h>
#include <stdlib.h>

#include "core/internal.h"
#include "nn/model.h"

static int check_f64_args(const so_model *model, const double *params, const double *x,
                          const int32_t *labels, size_t batch, const double *loss,
                          const double *grads)
{
    const char *fn = "so_model_loss_grad_f64";
    int rc = so_model_check_batch_(model, x, batch, fn);

    if (rc != SO_OK)
        return rc;
    if (batch == 0)
        return so_fail_(SO_ERR_INVALID, "%s: batch is 0, expected at least one row", fn);
    if (params == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: params is NULL", fn);
    if (labels == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: labels is NULL", fn);
    if (loss == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: loss is NULL", fn);
    if (grads == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: grads is NULL", fn);
    return so_check_labels_(labels, batch, model->out_dim, fn);
}

int so_model_loss_grad_f64(const so_model *model, const double *params, const double *x,
                           const int32_t *labels, size_t batch, double *loss, double *grads)
{
    const size_t n_layers = model == NULL ? 0 : model->num_layers;
    size_t total = 0, max_width = 0;
    double **outs, *block, *dy, *spare, sum;
    int rc = check_f64_args(model, params, x, labels, batch, loss, grads);

    if (rc != SO_OK)
        return rc;
    /* One buffer per layer output (batch x out), then two of batch x max_width for the
     * gradients. The total is at most (n_layers + 2) x batch x max_width. */
    for (size_t k = 0; k < n_layers; k++)
        max_width = model->layers[k].out > max_width ? model->layers[k].out : max_width;
    if (max_width > SIZE_MAX / (n_layers + 2) / batch)
        return so_fail_(SO_ERR_NOMEM, "so_model_loss_grad_f64: %zu rows of %zu layers "
                        "overflow size_t; use a smaller batch", batch, n_layers);
    for (size_t k = 0; k < n_layers; k++)
        total += batch * model->layers[k].out;
    total += 2 * batch * max_width;
    outs = so_calloc_(n_layers, sizeof *outs);
    block = outs == NULL ? NULL : so_calloc_(total, sizeof *block);
    if (block == NULL) {
        free(outs);
        return SO_ERR_NOMEM;
    }
    for (size_t k = 0, offset = 0; k < n_layers; k++) {
        outs[k] = block + offset;
        offset += batch * model->layers[k].out;
    }
    dy = block + total - 2 * batch * max_width;
    spare = dy + batch * max_width;

    for (size_t k = 0; k < n_layers; k++) {
        const so_layer *l = &model->layers[k];
        l->ops->forward_f64(l, params + l->param_offset, k == 0 ? x : outs[k - 1], batch,
                            outs[k]);
    }
    sum = so_softmax_xent_f64_(outs[n_layers - 1], labels, batch, model->out_dim,
                               1.0 / (double)batch, dy);
    for (size_t k = n_layers; k-- > 0;) {
        const so_layer *l = &model->layers[k];
        double *dx = k == 0 ? NULL : spare;
        l->ops->backward_f64(l, params + l->param_offset, k == 0 ? x : outs[k - 1], outs[k],
                             dy, batch, grads + l->param_offset, dx);
        spare = dy;
        dy = dx;
    }
    *loss = sum / (double)batch;
    free(block);
    free(outs);
    return SO_OK;
}
