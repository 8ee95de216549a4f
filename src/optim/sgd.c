/* Stochastic gradient descent as torch.optim.SGD of PyTorch 1.13 defines it
 * (_single_tensor_sgd), with mu = momentum and tau = dampening:
 *   d_t = g_t (or -g_t when maximizing) + weight_decay * p_{t-1}
 *   b_t = d_t at the first step, mu * b_{t-1} + (1 - tau) * d_t after it
 *   d_t = d_t + mu * b_t with Nesterov momentum, b_t without     (only when mu != 0)
 *   p_t = p_{t-1} - lr * d_t
 * Heavy-ball momentum is Polyak's (1964) in this dampened form; the Nesterov variant is
 * the reformulation of Sutskever et al. (ICML 2013) that torch uses. The presets
 * "momentum" and "nesterov" differ from "sgd" only in their defaults. The float32 kernel
 * rounds every hyperparameter to float first, as torch does when it applies a Python
 * scalar to a float32 tensor. */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void sgd_defaults(so_optim_params *hp)
{
    /* NOTE: torch.optim.SGD has no default learning rate; 0.01 is this library's choice. */
    hp->lr = 0.01;
}

/* The presets' defaults: heavy-ball momentum 0.9, and Nesterov momentum 0.9. */
static void momentum_defaults(so_optim_params *hp)
{
    sgd_defaults(hp);
    hp->momentum = 0.9;
}

static void nesterov_defaults(so_optim_params *hp)
{
    momentum_defaults(hp);
    hp->nesterov = 1;
}

static int sgd_family_validate(const char *method, const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_(method, hp)) != SO_OK ||
        (rc = so_optim_check_range_(method, "momentum", hp->momentum, 0.0, INFINITY, 1)) !=
            SO_OK ||
        (rc = so_optim_check_range_(method, "dampening", hp->dampening, 0.0, 1.0, 0)) !=
            SO_OK)
        return rc;
    if (hp->nesterov && (hp->momentum <= 0.0 || hp->dampening != 0.0))
        return so_fail_(SO_ERR_INVALID,
                        "%s: nesterov = 1 with momentum = %g and dampening = %g is invalid: "
                        "Nesterov momentum needs momentum > 0 and dampening = 0",
                        method, hp->momentum, hp->dampening);
    return SO_OK;
}

static int sgd_validate(const so_optim_params *hp)
{
    return sgd_family_validate("sgd", hp);
}

static int momentum_validate(const so_optim_params *hp)
{
    return sgd_family_validate("momentum", hp);
}

static int nesterov_validate(const so_optim_params *hp)
{
    return sgd_family_validate("nesterov", hp);
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
    const float mu = (float)hp->momentum;
    const float keep = (float)(1.0 - hp->dampening), neg_lr = (float)-u->lr;
    float d[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b;
        const float *dir = d;

        so_optim_direction_f32_(u, p, grads + b, d, len);
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
    const double mu = hp->momentum;
    const double keep = 1.0 - hp->dampening, neg_lr = -u->lr;
    double d[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b;
        const double *dir = d;

        so_optim_direction_f64_(u, p, grads + b, d, len);
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

#define SGD_PARAMS                                                                         \
    "lr,momentum,dampening,nesterov,weight_decay,decoupled_weight_decay,maximize,clip_norm,"  \
    "clip_value"

const so_optim_type so_optim_sgd_type_ = {
    .name = "sgd",
    .params = SGD_PARAMS,
    .defaults = sgd_defaults,
    .validate = sgd_validate,
    .buffers = sgd_buffers,
    .step_f32 = sgd_step_f32,
    .step_f64 = sgd_step_f64,
};

const so_optim_type so_optim_momentum_type_ = {
    .name = "momentum",
    .params = SGD_PARAMS,
    .defaults = momentum_defaults,
    .validate = momentum_validate,
    .buffers = sgd_buffers,
    .step_f32 = sgd_step_f32,
    .step_f64 = sgd_step_f64,
};

const so_optim_type so_optim_nesterov_type_ = {
    .name = "nesterov",
    .params = SGD_PARAMS,
    .defaults = nesterov_defaults,
    .validate = nesterov_validate,
    .buffers = sgd_buffers,
    .step_f32 = sgd_step_f32,
    .step_f64 = sgd_step_f64,
};

const so_optim_type *const so_optim_sgd = &so_optim_sgd_type_;
const so_optim_type *const so_optim_momentum = &so_optim_momentum_type_;
const so_optim_type *const so_optim_nesterov = &so_optim_nesterov_type_;
