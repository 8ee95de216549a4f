/* Neural networks: float32 dense layers on OpenBLAS SGEMM, with double-precision
 * reference paths used by the finite-difference tests. A model keeps all its parameters
 * in one flat buffer and all gradients in another of the same layout, so optimizers act
 * on plain arrays. */
#ifndef STOCHOPT_NN_H
#define STOCHOPT_NN_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum so_layer_kind {
    SO_LAYER_LINEAR,   /* y = x W^T + b, W is out x in (row-major), b has out entries */
    SO_LAYER_RELU,
    SO_LAYER_TANH,
    SO_LAYER_SIGMOID
} so_layer_kind;

typedef enum so_init {
    SO_INIT_AUTO,      /* He for layers followed by ReLU, Glorot otherwise */
    SO_INIT_HE,        /* normal with variance 2 / fan_in */
    SO_INIT_GLOROT     /* uniform on +-sqrt(6 / (fan_in + fan_out)) */
} so_init;

typedef struct so_model so_model;

/* Builds a model from a spec. "mlp:256,128" is Linear(in,256), ReLU, Linear(256,128),
 * ReLU, Linear(128,out); "mlp:64:tanh" uses tanh (also "relu", "sigmoid"); "linear" is
 * one Linear(in,out) layer (softmax regression). The output is raw logits; the loss
 * applies softmax. Parameters start at zero until so_model_init. Hidden widths are
 * 1 .. 1048576, with at most 64 hidden layers, and in_dim and out_dim are 1 .. INT_MAX.
 * A malformed spec gives SO_ERR_INVALID with a message that quotes it. */
int so_model_new(const char *spec, size_t in_dim, size_t out_dim, so_model **out);
void so_model_free(so_model **model);

size_t so_model_num_params(const so_model *model);
size_t so_model_in_dim(const so_model *model);
size_t so_model_out_dim(const so_model *model);
/* Writes a canonical description such as "mlp:256,128:relu" (at most size bytes). */
void so_model_describe(const so_model *model, char *buf, size_t size);

/* The flat parameter and gradient buffers, valid until so_model_free. Layer k's weight
 * matrix is followed by its bias, in layer order. */
float *so_model_params(so_model *model);
float *so_model_grads(so_model *model);

/* Draws every weight with `init` from the stream (seed, 0); biases start at zero. */
int so_model_init(so_model *model, so_init init, uint64_t seed);

/* Forward pass on a batch x (batch x in_dim, row-major); logits receives batch x out_dim.
 * Grows internal workspaces as needed, so the first call with a larger batch allocates.
 * A batch of 0 does nothing. Results are bitwise reproducible for a given OpenBLAS thread
 * count, which is the only parallelism used. */
int so_model_forward(so_model *model, const float *x, size_t batch, float *logits);

/* Mean softmax cross-entropy over the batch and its gradient in so_model_grads
 * (overwritten, not accumulated). labels are class indices in [0, out_dim), and batch
 * is at least 1. A non-finite loss or gradient (a diverged model) is returned as it is
 * with SO_OK, so the caller decides whether to skip the step. */
int so_model_loss_grad(so_model *model, const float *x, const int32_t *labels, size_t batch,
                       double *loss);

/* Adds the summed cross-entropy of the batch to *loss_sum and the number of correct
 * argmax predictions (the first maximum on ties) to *correct. No gradients. */
int so_model_evaluate(so_model *model, const float *x, const int32_t *labels, size_t batch,
                      double *loss_sum, size_t *correct);

/* Double-precision reference of so_model_loss_grad using the same layout: params and
 * grads have so_model_num_params entries. Used by tests and finite-difference checks. */
int so_model_loss_grad_f64(const so_model *model, const double *params, const double *x,
                           const int32_t *labels, size_t batch, double *loss, double *grads);

#ifdef __cplusplus
}
#endif

#endif
