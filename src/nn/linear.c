/* The linear (fully connected) layer y = x W^T + b. W is out x in, row-major, and is
 * followed by b (out entries) in the parameter slice. The float path runs on SGEMM with
 * the transposes expressed as flags, so no matrix is ever copied. The bias and the
 * following activation (the epilogue) take one pass over the output. */
#include <cblas.h>

#include "nn/layer.h"

static size_t linear_num_params(size_t in, size_t out)
{
    return out * in + out;
}

/* Model construction checks every dimension against INT_MAX before it reaches BLAS. */
static void linear_forward(const so_layer *layer, const float *params, const float *x,
                           size_t batch, float *y)
{
    const int n = (int)batch, in = (int)layer->in, out = (int)layer->out;
    const float *w = params;          /* out x in */
    const float *b = params + (size_t)out * (size_t)in;

    /* y (batch x out) = x (batch x in) * W^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in,
                0.0f, y, out);
    layer->epilogue->apply(y, b, batch, layer->out);
}

static void linear_backward(const so_layer *layer, const float *params, const float *x,
                            const float *y, float *dy, size_t batch, float *grads, float *dx)
{
    const int n = (int)batch, in = (int)layer->in, out = (int)layer->out;
    const float *w = params;
    float *dw = grads;                /* out x in */
    float *db = grads + (size_t)out * (size_t)in;

    /* Turn the gradient at the epilogue's output into the gradient at the pre-activation
     * and take the bias gradient (column sums) in the same pass. */
    layer->epilogue->derive(y, dy, batch, layer->out, db);
    /* dW (out x in) = dy^T (out x batch) * x (batch x in) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in,
                0.0f, dw, in);
    /* dx (batch x in) = dy (batch x out) * W (out x in); skipped for the first layer. */
    if (dx != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w,
                    in, 0.0f, dx, in);
}

static void linear_forward_f64(const so_layer *layer, const double *params, const double *x,
                               size_t batch, double *y)
{
    const size_t in = layer->in, out = layer->out;
    const double *w = params, *b = params + out * in;

    for (size_t i = 0; i < batch; i++)
        for (size_t o = 0; o < out; o++) {
            double s = b[o];
            for (size_t k = 0; k < in; k++)
                s += x[i * in + k] * w[o * in + k];
            y[i * out + o] = s;
        }
}

static void linear_backward_f64(const so_layer *layer, const double *params, const double *x,
                                const double *y, const double *dy, size_t batch,
                                double *grads, double *dx)
{
    const size_t in = layer->in, out = layer->out;
    const double *w = params;
    double *dw = grads, *db = grads + out * in;

    (void)y;
    for (size_t o = 0; o < out; o++) {
        double sb = 0.0;
        for (size_t i = 0; i < batch; i++)
            sb += dy[i * out + o];
        db[o] = sb;
        for (size_t k = 0; k < in; k++) {
            double s = 0.0;
            for (size_t i = 0; i < batch; i++)
                s += dy[i * out + o] * x[i * in + k];
            dw[o * in + k] = s;
        }
    }
    if (dx == NULL)
        return;
    for (size_t i = 0; i < batch; i++)
        for (size_t k = 0; k < in; k++) {
            double s = 0.0;
            for (size_t o = 0; o < out; o++)
                s += dy[i * out + o] * w[o * in + k];
            dx[i * in + k] = s;
        }
}

const so_layer_ops so_layer_linear_ops_ = {
    .kind = SO_LAYER_LINEAR,
    .name = "linear",
    .num_params = linear_num_params,
    .forward = linear_forward,
    .backward = linear_backward,
    .forward_f64 = linear_forward_f64,
    .backward_f64 = linear_backward_f64,
    .apply = NULL,
    .derive = NULL,
};
