/* Building a sequential model from a spec, its accessors and its workspace. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nn/model.h"

/* Buffers inside the workspace start on 64-byte boundaries (16 floats). */
enum { SO_FLOATS_PER_LINE = 16 };

static void set_layer(so_layer *layer, const so_layer_ops *ops, size_t in, size_t out)
{
    layer->ops = ops;
    layer->in = in;
    layer->out = out;
    layer->param_offset = 0;
    layer->epilogue = NULL;
    layer->fused = 0;
}

/* Lays out Linear, activation pairs for each hidden width, then the output Linear. */
static void build_layers(so_model *m)
{
    const so_layer_ops *act = so_layer_ops_for_(m->spec.activation);
    size_t n = 0, prev = m->in_dim;

    for (size_t h = 0; h < m->spec.num_hidden; h++) {
        set_layer(&m->layers[n++], &so_layer_linear_ops_, prev, m->spec.hidden[h]);
        set_layer(&m->layers[n++], act, m->spec.hidden[h], m->spec.hidden[h]);
        prev = m->spec.hidden[h];
    }
    set_layer(&m->layers[n++], &so_layer_linear_ops_, prev, m->out_dim);
    m->num_layers = n;
    /* A linear layer runs the activation after it as its epilogue. */
    for (size_t k = 0; k < n; k++) {
        so_layer *l = &m->layers[k];
        if (l->ops != &so_layer_linear_ops_)
            continue;
        l->epilogue = &so_layer_identity_ops_;
        if (k + 1 < n && m->layers[k + 1].ops->apply != NULL) {
            l->epilogue = m->layers[k + 1].ops;
            m->layers[k + 1].fused = 1;
        }
    }
}

/* Assigns parameter offsets in layer order and totals them, rejecting overflow. */
static int assign_params(so_model *m)
{
    size_t total = 0;

    for (size_t k = 0; k < m->num_layers; k++) {
        so_layer *l = &m->layers[k];
        if (l->out > (SIZE_MAX - total) / (l->in + 1))
            return so_fail_(SO_ERR_INVALID, "model: %zu x %zu layer makes the parameter count "
                            "overflow size_t; use smaller dimensions", l->out, l->in);
        l->param_offset = total;
        total += l->ops->num_params(l->in, l->out);
    }
    m->num_params = total;
    return SO_OK;
}

static int check_dims(size_t in_dim, size_t out_dim)
{
    if (in_dim == 0 || in_dim > INT_MAX)
        return so_fail_(SO_ERR_INVALID, "model: in_dim is %zu, expected 1 .. %d", in_dim,
                        INT_MAX);
    if (out_dim == 0 || out_dim > INT_MAX)
        return so_fail_(SO_ERR_INVALID, "model: out_dim is %zu, expected 1 .. %d (the number "
                        "of classes)", out_dim, INT_MAX);
    return SO_OK;
}

int so_model_new(const char *spec, size_t in_dim, size_t out_dim, so_model **out)
{
    so_model *m;
    int rc;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_model_new: out is NULL, expected a pointer to "
                        "receive the model");
    m = so_calloc_(1, sizeof *m);
    if (m == NULL)
        return SO_ERR_NOMEM;
    m->in_dim = in_dim;
    m->out_dim = out_dim;
    rc = so_spec_parse_(spec, &m->spec);
    if (rc == SO_OK)
        rc = check_dims(in_dim, out_dim);
    if (rc == SO_OK) {
        m->layers = so_calloc_(2 * m->spec.num_hidden + 1, sizeof *m->layers);
        m->outputs = so_calloc_(2 * m->spec.num_hidden + 1, sizeof *m->outputs);
        rc = m->layers != NULL && m->outputs != NULL ? SO_OK : SO_ERR_NOMEM;
    }
    if (rc == SO_OK) {
        build_layers(m);
        rc = assign_params(m);
    }
    if (rc == SO_OK) {
        m->params = so_alloc_aligned_(m->num_params, sizeof *m->params);
        m->grads = so_alloc_aligned_(m->num_params, sizeof *m->grads);
        rc = m->params != NULL && m->grads != NULL ? SO_OK : SO_ERR_NOMEM;
    }
    if (rc != SO_OK) {
        so_model_free(&m);
        return rc;
    }
    memset(m->params, 0, m->num_params * sizeof *m->params);
    memset(m->grads, 0, m->num_params * sizeof *m->grads);
    *out = m;
    return SO_OK;
}

void so_model_free(so_model **model)
{
    so_model *m;

    if (model == NULL || *model == NULL)
        return;
    m = *model;
    so_free_aligned_(m->params);
    so_free_aligned_(m->grads);
    so_free_aligned_(m->workspace);
    free(m->outputs);
    free(m->layers);
    free(m);
    *model = NULL;
}

size_t so_model_num_params(const so_model *model)
{
    return model == NULL ? 0 : model->num_params;
}

size_t so_model_in_dim(const so_model *model)
{
    return model == NULL ? 0 : model->in_dim;
}

size_t so_model_out_dim(const so_model *model)
{
    return model == NULL ? 0 : model->out_dim;
}

float *so_model_params(so_model *model)
{
    return model == NULL ? NULL : model->params;
}

float *so_model_grads(so_model *model)
{
    return model == NULL ? NULL : model->grads;
}

void so_model_describe(const so_model *model, char *buf, size_t size)
{
    size_t used;

    if (buf == NULL || size == 0)
        return;
    if (model == NULL || model->spec.num_hidden == 0) {
        snprintf(buf, size, "%s", model == NULL ? "" : "linear");
        return;
    }
    used = (size_t)snprintf(buf, size, "mlp:");
    for (size_t h = 0; h < model->spec.num_hidden && used < size; h++)
        used += (size_t)snprintf(buf + used, size - used, "%s%zu", h ? "," : "",
                                 model->spec.hidden[h]);
    if (used < size)
        snprintf(buf + used, size - used, ":%s",
                 so_layer_ops_for_(model->spec.activation)->name);
}

static size_t round_to_line(size_t count)
{
    return (count + SO_FLOATS_PER_LINE - 1) / SO_FLOATS_PER_LINE * SO_FLOATS_PER_LINE;
}

/* Adds a batch x width buffer, rounded to whole cache lines, to *total floats. */
static int add_buffer(size_t *total, size_t batch, size_t width)
{
    size_t count;

    if (batch > (SIZE_MAX - SO_FLOATS_PER_LINE) / width)
        return so_fail_(SO_ERR_NOMEM, "model workspace: %zu x %zu floats overflow size_t; "
                        "use a smaller batch", batch, width);
    count = round_to_line(batch * width);
    if (count > SIZE_MAX - *total)
        return so_fail_(SO_ERR_NOMEM, "model workspace for %zu rows overflows size_t; use a "
                        "smaller batch", batch);
    *total += count;
    return SO_OK;
}

int so_model_reserve_(so_model *m, size_t batch)
{
    size_t total = 0, max_width = 0, offset = 0;
    float *block;
    int rc = SO_OK;

    if (batch <= m->capacity)
        return SO_OK;
    for (size_t k = 0; k < m->num_layers && rc == SO_OK; k++) {
        max_width = m->layers[k].out > max_width ? m->layers[k].out : max_width;
        if (!m->layers[k].fused)
            rc = add_buffer(&total, batch, m->layers[k].out);
    }
    for (int i = 0; i < 2 && rc == SO_OK; i++)
        rc = add_buffer(&total, batch, max_width);
    if (rc != SO_OK)
        return rc;
    block = so_alloc_aligned_(total, sizeof *block);
    if (block == NULL) {
        so_error_prefix_("model workspace for %zu rows", batch);
        return SO_ERR_NOMEM;
    }
    /* Only now, with the new block in hand, is the old one released. */
    so_free_aligned_(m->workspace);
    m->workspace = block;
    for (size_t k = 0; k < m->num_layers; k++) {
        if (m->layers[k].fused) {
            m->outputs[k] = m->outputs[k - 1];
            continue;
        }
        m->outputs[k] = block + offset;
        offset += round_to_line(batch * m->layers[k].out);
    }
    m->delta[0] = block + offset;
    m->delta[1] = m->delta[0] + round_to_line(batch * max_width);
    m->max_width = max_width;
    m->capacity = batch;
    return SO_OK;
}

int so_model_check_batch_(const so_model *model, const void *x, size_t batch, const char *fn)
{
    if (model == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: model is NULL", fn);
    if (x == NULL && batch > 0)
        return so_fail_(SO_ERR_INVALID, "%s: x is NULL, expected batch x %zu inputs", fn,
                        model->in_dim);
    if (batch > INT_MAX)
        return so_fail_(SO_ERR_INVALID, "%s: batch is %zu, expected at most %d rows; split "
                        "the batch", fn, batch, INT_MAX);
    return SO_OK;
}
