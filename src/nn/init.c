/* Weight initialization. Every weight is drawn from the single stream (seed, 0) in
 * parameter order, so a seed fixes the whole model whatever the thread count.
 * He: K. He et al., "Delving deep into rectifiers", ICCV 2015 (normal, variance
 * 2 / fan_in). Glorot: X. Glorot and Y. Bengio, AISTATS 2010 (uniform on
 * +-sqrt(6 / (fan_in + fan_out))). */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "nn/model.h"

/* SO_INIT_AUTO picks He for a linear layer that feeds a ReLU and Glorot for the rest,
 * the output layer included. */
static so_init resolve_init(const so_model *m, size_t k, so_init init)
{
    if (init != SO_INIT_AUTO)
        return init;
    if (k + 1 < m->num_layers && m->layers[k + 1].ops == &so_layer_relu_ops_)
        return SO_INIT_HE;
    return SO_INIT_GLOROT;
}

static void init_linear(const so_layer *l, so_init init, so_rng *rng, float *params)
{
    const size_t count = l->out * l->in;
    float *bias = params + count;

    if (init == SO_INIT_HE) {
        const double std = sqrt(2.0 / (double)l->in);
        for (size_t i = 0; i < count; i++)
            params[i] = (float)(so_rng_normal(rng) * std);
    } else {
        const double limit = sqrt(6.0 / ((double)l->in + (double)l->out));
        for (size_t i = 0; i < count; i++)
            params[i] = (float)((2.0 * so_rng_uniform(rng) - 1.0) * limit);
    }
    memset(bias, 0, l->out * sizeof *bias);
}

int so_model_init(so_model *model, so_init init, uint64_t seed)
{
    so_rng rng;

    if (model == NULL)
        return so_fail_(SO_ERR_INVALID, "so_model_init: model is NULL");
    if (init != SO_INIT_AUTO && init != SO_INIT_HE && init != SO_INIT_GLOROT)
        return so_fail_(SO_ERR_INVALID, "so_model_init: init is %d, expected SO_INIT_AUTO, "
                        "SO_INIT_HE or SO_INIT_GLOROT", (int)init);
    so_rng_init(&rng, seed, 0);
    for (size_t k = 0; k < model->num_layers; k++) {
        const so_layer *l = &model->layers[k];
        if (l->ops == &so_layer_linear_ops_)
            init_linear(l, resolve_init(model, k, init), &rng,
                        model->params + l->param_offset);
    }
    return SO_OK;
}
