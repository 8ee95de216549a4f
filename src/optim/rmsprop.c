/* RMSProp (Tieleman and Hinton, 2012, lecture 6.5 of "Neural Networks for Machine
 * Learning"), with the centered variant of Graves (2013, arXiv:1308.0850), as
 * torch.optim.RMSprop of PyTorch 1.13 computes it (_single_tensor_rmsprop):
 *   d_t = g_t (or -g_t when maximizing) + weight_decay * p_{t-1}
 *   s_t = alpha * s_{t-1} + (1 - alpha) * d_t^2
 *   a_t = alpha * a_{t-1} + (1 - alpha) * d_t                 (centered only)
 *   r_t = sqrt(s_t - a_t^2) centered, sqrt(s_t) otherwise, plus eps
 *   b_t = momentum * b_{t-1} + d_t / r_t,  p_t = p_{t-1} - lr * b_t  (momentum > 0)
 *   p_t = p_{t-1} - lr * d_t / r_t                                  (momentum = 0)
 * The buffers are named and ordered as torch's state: square_avg, then momentum_buffer
 * when momentum > 0, then grad_avg when centered. */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void rmsprop_defaults(so_optim_params *hp)
{
    hp->lr = 1e-2;
    hp->alpha = 0.99;
    hp->eps = 1e-8;
}

static int rmsprop_validate(const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_("rmsprop", hp)) != SO_OK ||
        (rc = so_optim_check_range_("rmsprop", "alpha", hp->alpha, 0.0, 1.0, 0)) != SO_OK ||
        (rc = so_optim_check_range_("rmsprop", "eps", hp->eps, 0.0, INFINITY, 1)) != SO_OK ||
        (rc = so_optim_check_range_("rmsprop", "momentum", hp->momentum, 0.0, INFINITY, 1)) !=
            SO_OK)
        return rc;
    return SO_OK;
}

static size_t rmsprop_buffers(const so_optim_params *hp,
                              const char *names[SO_OPTIM_MAX_BUFFERS])
{
    size_t count = 0;
    names[count++] = "square_avg";
    if (hp->momentum > 0.0)
        names[count++] = "momentum_buffer";
    if (hp->centered)
        names[count++] = "grad_avg";
    return count;
}

static void rmsprop_step_f32(const so_optim_update *u, size_t lo, size_t hi, float *params,
                             const float *grads, float *const *buf)
{
    const so_optim_params *hp = u->hp;
    const float alpha = (float)hp->alpha, keep = (float)(1.0 - hp->alpha);
    const float eps = (float)hp->eps, mu = (float)hp->momentum, neg_lr = (float)-u->lr;
    /* grad_avg follows momentum_buffer when both exist, as in rmsprop_buffers. */
    const size_t grad_avg_index = hp->momentum > 0.0 ? 2 : 1;
    float *square_avg = buf[0], *momentum_buffer = hp->momentum > 0.0 ? buf[1] : NULL;
    float *grad_avg = hp->centered ? buf[grad_avg_index] : NULL;
    float d[SO_OPTIM_BLOCK], r[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b, *restrict s = square_avg + b;

        so_optim_direction_f32_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++)
            r[i] = s[i] = s[i] * alpha + (keep * d[i]) * d[i];
        if (grad_avg != NULL) {
            float *restrict a = grad_avg + b;
            for (size_t i = 0; i < len; i++) {
                a[i] = a[i] * alpha + keep * d[i];
                r[i] = r[i] - a[i] * a[i];
            }
        }
        so_sqrt_inplace_f32_(r, len);
        if (momentum_buffer != NULL) {
            float *restrict m = momentum_buffer + b;
            for (size_t i = 0; i < len; i++) {
                m[i] = m[i] * mu + d[i] / (r[i] + eps);
                p[i] = p[i] + neg_lr * m[i];
            }
        } else {
            for (size_t i = 0; i < len; i++)
                p[i] = p[i] + (neg_lr * d[i]) / (r[i] + eps);
        }
    }
}

static void rmsprop_step_f64(const so_optim_update *u, size_t lo, size_t hi, double *params,
                             const double *grads, double *const *buf)
{
    const so_optim_params *hp = u->hp;
    const double alpha = hp->alpha, keep = 1.0 - hp->alpha;
    const double eps = hp->eps, mu = hp->momentum, neg_lr = -u->lr;
    /* grad_avg follows momentum_buffer when both exist, as in rmsprop_buffers. */
    const size_t grad_avg_index = hp->momentum > 0.0 ? 2 : 1;
    double *square_avg = buf[0], *momentum_buffer = hp->momentum > 0.0 ? buf[1] : NULL;
    double *grad_avg = hp->centered ? buf[grad_avg_index] : NULL;
    double d[SO_OPTIM_BLOCK], r[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b, *restrict s = square_avg + b;

        so_optim_direction_f64_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++)
            r[i] = s[i] = s[i] * alpha + (keep * d[i]) * d[i];
        if (grad_avg != NULL) {
            double *restrict a = grad_avg + b;
            for (size_t i = 0; i < len; i++) {
                a[i] = a[i] * alpha + keep * d[i];
                r[i] = r[i] - a[i] * a[i];
            }
        }
        so_sqrt_inplace_f64_(r, len);
        if (momentum_buffer != NULL) {
            double *restrict m = momentum_buffer + b;
            for (size_t i = 0; i < len; i++) {
                m[i] = m[i] * mu + d[i] / (r[i] + eps);
                p[i] = p[i] + neg_lr * m[i];
            }
        } else {
            for (size_t i = 0; i < len; i++)
                p[i] = p[i] + (neg_lr * d[i]) / (r[i] + eps);
        }
    }
}

const so_optim_type so_optim_rmsprop_type_ = {
    .name = "rmsprop",
    .params = "lr,alpha,eps,momentum,centered,weight_decay,decoupled_weight_decay,maximize,"
              "clip_norm,clip_value",
    .defaults = rmsprop_defaults,
    .validate = rmsprop_validate,
    .buffers = rmsprop_buffers,
    .step_f32 = rmsprop_step_f32,
    .step_f64 = rmsprop_step_f64,
};

const so_optim_type *const so_optim_rmsprop = &so_optim_rmsprop_type_;
