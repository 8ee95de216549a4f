/* Private definition of so_model, shared by the nn module's source files. */
#ifndef STOCHOPT_NN_MODEL_H
#define STOCHOPT_NN_MODEL_H

#include "nn/layer.h"

struct so_model {
    so_spec spec;
    size_t in_dim, out_dim;
    so_layer *layers;        /* num_layers records, input to output */
    size_t num_layers;
    size_t num_params;
    float *params, *grads;   /* num_params each, same layout */
    /* Workspace for up to `capacity` rows. It grows to the largest batch seen and is
     * reused after that, so steady-state steps allocate nothing. */
    size_t capacity;
    float *workspace;        /* one block that the pointers below point into */
    float **outputs;         /* per layer: capacity x layer out; a fused activation
                              * shares the buffer of the linear layer before it */
    float *delta[2];         /* gradient buffers used in turn, capacity x max_width */
    size_t max_width;        /* the widest layer output */
};

/* Makes the workspace hold at least `batch` rows (batch <= INT_MAX, checked by callers).
 * On failure the old workspace stays as it was. */
int so_model_reserve_(so_model *model, size_t batch);

/* Checks the arguments every batch call shares: model, x and batch. */
int so_model_check_batch_(const so_model *model, const void *x, size_t batch,
                          const char *fn);

#endif
