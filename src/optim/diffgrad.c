/* diffGrad (Dubey et al., "diffGrad: an optimization method for convolutional neural
 * networks", IEEE TNNLS 31(11), 2020, eqs. 17-20): Adam whose first moment is scaled per
 * parameter by the friction coefficient
 *   xi_t = 1 / (1 + exp(-|d_{t-1} - d_t|)),  d_0 = 0,
 * which lies in [0.5, 1): steps shrink to half of Adam's where the gradient stops
 * changing. With the moments and the denominator of adam_core.c:
 *   p_t = p_{t-1} - lr / (1 - beta1^t) * xi_t * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)
 * The paper's eq. 20 adds eps to sqrt(v_hat), which is this default placement; the
 * authors' code adds it before the bias correction (eps_placement =
 * SO_EPS_BEFORE_CORRECTION reproduces it).
 *
 * d_{t-1} is a copy of the previous direction in its own buffer. The authors' first
 * release stored a reference to the gradient tensor instead, so the difference was always
 * zero and xi stayed 0.5; the copy made here does not depend on whether the caller reuses
 * its gradient array. The direction includes L2 weight decay, as in the authors' fixed
 * code (diffGrad_v2.py). */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void diffgrad_defaults(so_optim_params *hp)
{
    hp->lr = 1e-3;
    hp->beta1 = 0.9;
    hp->beta2 = 0.999;
    hp->eps = 1e-8;
}

static int diffgrad_validate(const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_("diffgrad", hp)) != SO_OK ||
        (rc = so_optim_check_range_("diffgrad", "beta1", hp->beta1, 0.0, 1.0, 1)) != SO_OK ||
        (rc = so_optim_check_range_("diffgrad", "beta2", hp->beta2, 0.0, 1.0, 1)) != SO_OK ||
        (rc = so_optim_check_range_("diffgrad", "eps", hp->eps, 0.0, INFINITY, 1)) != SO_OK)
        return rc;
    return SO_OK;
}

static size_t diffgrad_buffers(const so_optim_params *hp,
                               const char *names[SO_OPTIM_MAX_BUFFERS])
{
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    names[2] = "previous_grad";
    if (!hp->amsgrad)
        return 3;
    names[3] = "max_exp_avg_sq";
    return 4;
}

static void diffgrad_step_f32(const so_optim_update *u, size_t lo, size_t hi, float *params,
                              const float *grads, float *const *buf)
{
    const so_optim_params *hp = u->hp;
    const so_adam_scalars s = so_adam_scalars_(u);
    const float neg_step = (float)s.neg_step;
    float d[SO_OPTIM_BLOCK], den[SO_OPTIM_BLOCK], xi[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b, *restrict m = buf[0] + b, *restrict prev = buf[2] + b;
        float *vmax = hp->amsgrad ? buf[3] + b : NULL;

        so_optim_direction_f32_(u, p, grads + b, d, len);
        so_adam_moments_f32_(hp, d, m, buf[1] + b, vmax, den, len);
        for (size_t i = 0; i < len; i++) {
            xi[i] = 1.0f / (1.0f + expf(-fabsf(prev[i] - d[i])));
            prev[i] = d[i];
        }
        so_adam_denominator_f32_(hp, &s, den, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_step * (m[i] * xi[i])) / den[i];
    }
}

static void diffgrad_step_f64(const so_optim_update *u, size_t lo, size_t hi, double *params,
                              const double *grads, double *const *buf)
{
    const so_optim_params *hp = u->hp;
    const so_adam_scalars s = so_adam_scalars_(u);
    const double neg_step = s.neg_step;
    double d[SO_OPTIM_BLOCK], den[SO_OPTIM_BLOCK], xi[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b, *restrict m = buf[0] + b;
        double *restrict prev = buf[2] + b;
        double *vmax = hp->amsgrad ? buf[3] + b : NULL;

        so_optim_direction_f64_(u, p, grads + b, d, len);
        so_adam_moments_f64_(hp, d, m, buf[1] + b, vmax, den, len);
        for (size_t i = 0; i < len; i++) {
            xi[i] = 1.0 / (1.0 + exp(-fabs(prev[i] - d[i])));
            prev[i] = d[i];
        }
        so_adam_denominator_f64_(hp, &s, den, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_step * (m[i] * xi[i])) / den[i];
    }
}

const so_optim_type so_optim_diffgrad_type_ = {
    .name = "diffgrad",
    .params = "lr,beta1,beta2,eps,amsgrad,eps_placement,weight_decay,decoupled_weight_decay,"
              "maximize,clip_norm,clip_value",
    .defaults = diffgrad_defaults,
    .validate = diffgrad_validate,
    .buffers = diffgrad_buffers,
    .step_f32 = diffgrad_step_f32,
    .step_f64 = diffgrad_step_f64,
};

const so_optim_type *const so_optim_diffgrad = &so_optim_diffgrad_type_;
