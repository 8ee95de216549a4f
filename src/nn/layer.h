/* Private layer interface of the nn module: each layer kind is a constant table of
 * functions, and a model is an array of so_layer records that point at those tables.
 * Tests include this header to check each layer on its own. */
#ifndef STOCHOPT_NN_LAYER_H
#define STOCHOPT_NN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/nn.h"

typedef struct so_layer so_layer;

/* Functions of one layer kind. Buffers are row-major with one row per sample:
 * x is batch x in, y and dy are batch x out, dx is batch x in. `params` and `grads`
 * point at the layer's own slice of the flat buffers (num_params entries). */
typedef struct so_layer_ops {
    so_layer_kind kind;
    const char *name;
    size_t (*num_params)(size_t in, size_t out);
    /* Forward pass: y = layer(x), followed by the epilogue for a linear layer. */
    void (*forward)(const so_layer *layer, const float *params, const float *x, size_t batch,
                    float *y);
    /* Backward pass from the forward's x and y. dy is the gradient of the loss with
     * respect to y (the epilogue's output for a linear layer) and is overwritten as
     * scratch. Writes the parameter gradient to grads and, when dx is not NULL, the input
     * gradient to dx. */
    void (*backward)(const so_layer *layer, const float *params, const float *x,
                     const float *y, float *dy, size_t batch, float *grads, float *dx);
    /* The same two passes in double precision with plain loops, for reference checks.
     * They compute the layer alone and leave a linear layer's epilogue out, because the
     * reference model runs every activation as a separate layer. backward_f64 leaves dy
     * unchanged. */
    void (*forward_f64)(const so_layer *layer, const double *params, const double *x,
                        size_t batch, double *y);
    void (*backward_f64)(const so_layer *layer, const double *params, const double *x,
                         const double *y, const double *dy, size_t batch, double *grads,
                         double *dx);
    /* The two element-wise passes, NULL for linear. A linear layer runs them over its
     * output, so bias and activation cost one sweep of memory.
     * apply computes y = f(y + bias) in place. bias has width entries or is NULL.
     * derive computes dy = dy * f'(pre-activation), with f' taken from the output y.
     * When dbias is not NULL, it receives the column sums of the new dy (width entries). */
    void (*apply)(float *y, const float *bias, size_t batch, size_t width);
    void (*derive)(const float *y, float *dy, size_t batch, size_t width, float *dbias);
} so_layer_ops;

struct so_layer {
    const so_layer_ops *ops;
    size_t in, out;             /* row widths of the input and the output */
    size_t param_offset;        /* index of the layer's first entry in the flat buffers */
    /* Linear layers: the element-wise op run over the output after the bias (the next
     * activation, or so_layer_identity_ops_ when none follows). */
    const so_layer_ops *epilogue;
    /* Activation layers: nonzero when the previous linear layer runs this activation as
     * its epilogue, so the model skips the layer and shares its output buffer. */
    int fused;
};

extern const so_layer_ops so_layer_linear_ops_;
extern const so_layer_ops so_layer_relu_ops_;
extern const so_layer_ops so_layer_tanh_ops_;
extern const so_layer_ops so_layer_sigmoid_ops_;
/* Adds the bias and nothing else; the epilogue of a linear layer with no activation. */
extern const so_layer_ops so_layer_identity_ops_;

/* Returns the table of a public layer kind, or NULL for an unknown kind. */
const so_layer_ops *so_layer_ops_for_(so_layer_kind kind);

/* ---- Softmax cross-entropy on logits z (batch x classes); labels are already checked.
 * Returns the summed loss of the batch in double. When grad is not NULL it receives
 * (softmax(z) - onehot(label)) * scale, batch x classes, computed in the same pass. */
double so_softmax_xent_(const float *z, const int32_t *labels, size_t batch, size_t classes,
                        float scale, float *grad);
/* The double-precision reference of so_softmax_xent_. */
double so_softmax_xent_f64_(const double *z, const int32_t *labels, size_t batch,
                            size_t classes, double scale, double *grad);

/* Checks that every label is a class index in [0, classes); the error names the row. */
int so_check_labels_(const int32_t *labels, size_t batch, size_t classes, const char *fn);

/* ---- Spec parsing (spec.c). */

enum {
    SO_SPEC_MAX_HIDDEN = 64,        /* hidden layers in one mlp spec */
    SO_SPEC_MAX_WIDTH = 1 << 20     /* units in one hidden layer */
};

typedef struct so_spec {
    size_t hidden[SO_SPEC_MAX_HIDDEN]; /* hidden layer widths, num_hidden of them */
    size_t num_hidden;                 /* 0 for "linear" */
    so_layer_kind activation;          /* of every hidden layer */
} so_spec;

/* Parses "linear" or "mlp:W1,W2,...[:relu|tanh|sigmoid]" into *spec. */
int so_spec_parse_(const char *text, so_spec *spec);

#endif
