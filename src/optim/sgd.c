/* Stochastic gradient descent as torch.optim.SGD of PyTorch 1.13 defines it
 * (_single_tensor_sgd), with mu = momentum and tau = dampening:
 *   d_t = g_t (or -g_t when maximizing) + weight_decay * p_{t-1}
 *   b_t = d_t at the first step, mu * b_{t-1} + (1 - tau) * d_t after it
 *   d_t = d_t + mu * b_t with Nesterov momentum, b_t without     (only when mu != 0)
 *   p_t = p_{t-1} - lr * d_t
 * The float32 kernel rounds every hyperparameter to float first, as torch does when it
 * applies a Python scalar to a float32 tensor. */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void sgd_defaults(so_optim_params *hp)
{
    /* NOTE: torch.optim.SGD has no default learning rate; 0.01 is this library's choice. */
    hp->lr = 0.01;
}

static int sgd_validate(const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_("sgd", hp)) != SO_OK ||
        (rc = so_optim_check_range_("sgd", "momentum", hp->momentum, 0.0, INFINITY, 1)) !=
            SO_OK ||
        (rc = so_optim_check_range_("sgd", "dampening", hp->dampening, 0.0, 1.0, 0)) != SO_OK ||
        (rc = so_optim_check_flag_("sgd", "nesterov", hp->nesterov)) != SO_OK)
        return rc;
    if (hp->nesterov && (hp->momentum <= 0.0 || hp->dampening != 0.0))
        return so_fail_(SO_ERR_INVALID,
                        "sgd: nesterov = 1 with momentum = %g and dampening = %g is invalid: "
                        "Nesterov momentum needs momentum > 0 and dampening = 0",
                        hp->momentum, hp->dampening);
    return SO_OK;
}

static size_t sgd_buffers(const so_optim_params *hp, const char *names[SO_OPTIM_MAX_BUFFERS])
{
    if (hp->momentum == 0.0)
        return 0;
    names[0] = "momentum_buffer";
    return 1;
}

static void sgd_step_f32(const so_optim_update *u, size_t lo, size_t hi, float *params,
                         const float *grads, float *const *buf)
{
    const so_optim_params *hp = u->hp;
    const float scale = (float)u->grad_scale * (hp->maximize ? -1.0f : 1.0f);
    const float wd = (float)hp->weight_decay, mu = (float)hp->momentum;
    const float keep = (float)(1.0 - hp->dampening), neg_lr = (float)-hp->lr;
    float d[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b;
        const float *restrict g = grads + b;
        const float *dir = d;

        /* Multiplying by a scale of +-1 is exact, so the unclipped path loses nothing. */
        for (size_t i = 0; i < len; i++)
            d[i] = g[i] * scale;
        if (hp->weight_decay != 0.0)
            for (size_t i = 0; i < len; i++)
                d[i] = d[i] + wd * p[i];
        if (hp->momentum != 0.0) {
            float *restrict m = buf[0] + b;
            if (u->step == 1)
                for (size_t i = 0; i < len; i++)
                    m[i] = d[i];
            else
                for (size_t i = 0; i < len; i++)
                    m[i] = m[i] * mu + keep * d[i];
            if (hp->nesterov)
                for (size_t i = 0; i < len; i++)
                    d[i] = d[i] + mu * m[i];
            else
                dir = m;
        }
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + neg_lr * dir[i];
    }
}

static void sgd_step_f64(const so_optim_update *u, size_t lo, size_t hi, double *params,
                         const double *grads, double *const *buf)
{
    const so_optim_params *hp = u->hp;
    const double scale = u->grad_scale * (hp->maximize ? -1.0 : 1.0);
    const double wd = hp->weight_decay, mu = hp->momentum;
    const double keep = 1.0 - hp->dampening, neg_lr = -hp->lr;
    double d[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b;
        const double *restrict g = grads + b;
        const double *dir = d;

        for (size_t i = 0; i < len; i++)
            d[i] = g[i] * scale;
        if (hp->weight_decay != 0.0)
            for (size_t i = 0; i < len; i++)
                d[i] = d[i] + wd * p[i];
        if (hp->momentum != 0.0) {
            double *restrict m = buf[0] + b;
            if (u->step == 1)
                for (size_t i = 0; i < len; i++)
                    m[i] = d[i];
            else
                for (size_t i = 0; i < len; i++)
                    m[i] = m[i] * mu + keep * d[i];
            if (hp->nesterov)
                for (size_t i = 0; i < len; i++)
                    d[i] = d[i] + mu * m[i];
            else
                dir = m;
        }
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + neg_lr * dir[i];
    }
}

const so_optim_type so_optim_sgd_type_ = {
    .name = "sgd",
    .defaults = sgd_defaults,
    .validate = sgd_validate,
    .buffers = sgd_buffers,
    .step_f32 = sgd_step_f32,
    .step_f64 = sgd_step_f64,
};

const so_optim_type *const so_optim_sgd = &so_optim_sgd_type_;
