/* AdaDelta (Zeiler, arXiv:1212.5701, 2012, Algorithm 1) with a learning rate, as
 * torch.optim.Adadelta of PyTorch 1.13 computes it (_single_tensor_adadelta):
 *   d_t = g_t (or -g_t when maximizing) + weight_decay * p_{t-1}
 *   s_t = rho * s_{t-1} + (1 - rho) * d_t^2
 *   x_t = sqrt(a_{t-1} + eps) / sqrt(s_t + eps) * d_t
 *   a_t = rho * a_{t-1} + (1 - rho) * x_t^2
 *   p_t = p_{t-1} - lr * x_t
 * Zeiler's algorithm is lr = 1, torch's default. */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void adadelta_defaults(so_optim_params *hp)
{
    hp->lr = 1.0;
    hp->rho = 0.9;
    hp->eps = 1e-6;
}

static int adadelta_validate(const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_("adadelta", hp)) != SO_OK ||
        (rc = so_optim_check_range_("adadelta", "rho", hp->rho, 0.0, 1.0, 0)) != SO_OK ||
        (rc = so_optim_check_range_("adadelta", "eps", hp->eps, 0.0, INFINITY, 1)) != SO_OK)
        return rc;
    return SO_OK;
}

static size_t adadelta_buffers(const so_optim_params *hp,
                               const char *names[SO_OPTIM_MAX_BUFFERS])
{
    (void)hp;
    names[0] = "square_avg";
    names[1] = "acc_delta";
    return 2;
}

static void adadelta_step_f32(const so_optim_update *u, size_t lo, size_t hi, float *params,
                              const float *grads, float *const *buf)
{
    const so_optim_params *hp = u->hp;
    const float rho = (float)hp->rho, keep = (float)(1.0 - hp->rho);
    const float eps = (float)hp->eps, neg_lr = (float)-u->lr;
    float d[SO_OPTIM_BLOCK], std[SO_OPTIM_BLOCK], delta[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b, *restrict s = buf[0] + b, *restrict a = buf[1] + b;

        so_optim_direction_f32_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++) {
            s[i] = s[i] * rho + (keep * d[i]) * d[i];
            std[i] = s[i] + eps;
            delta[i] = a[i] + eps;
        }
        so_sqrt_inplace_f32_(std, len);
        so_sqrt_inplace_f32_(delta, len);
        for (size_t i = 0; i < len; i++) {
            delta[i] = delta[i] / std[i] * d[i];
            a[i] = a[i] * rho + (keep * delta[i]) * delta[i];
            p[i] = p[i] + neg_lr * delta[i];
        }
    }
}

static void adadelta_step_f64(const so_optim_update *u, size_t lo, size_t hi, double *params,
                              const double *grads, double *const *buf)
{
    const so_optim_params *hp = u->hp;
    const double rho = hp->rho, keep = 1.0 - hp->rho;
    const double eps = hp->eps, neg_lr = -u->lr;
    double d[SO_OPTIM_BLOCK], std[SO_OPTIM_BLOCK], delta[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b, *restrict s = buf[0] + b, *restrict a = buf[1] + b;

        so_optim_direction_f64_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++) {
            s[i] = s[i] * rho + (keep * d[i]) * d[i];
            std[i] = s[i] + eps;
            delta[i] = a[i] + eps;
        }
        so_sqrt_inplace_f64_(std, len);
        so_sqrt_inplace_f64_(delta, len);
        for (size_t i = 0; i < len; i++) {
            delta[i] = delta[i] / std[i] * d[i];
            a[i] = a[i] * rho + (keep * delta[i]) * delta[i];
            p[i] = p[i] + neg_lr * delta[i];
        }
    }
}

const so_optim_type so_optim_adadelta_type_ = {
    .name = "adadelta",
    .params = "lr,rho,eps,weight_decay,decoupled_weight_decay,maximize,clip_norm,clip_value",
    .defaults = adadelta_defaults,
    .validate = adadelta_validate,
    .buffers = adadelta_buffers,
    .step_f32 = adadelta_step_f32,
    .step_f64 = adadelta_step_f64,
};

const so_optim_type *const so_optim_adadelta = &so_optim_adadelta_type_;
