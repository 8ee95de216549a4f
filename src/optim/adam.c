/* Adam (Kingma and Ba, ICLR 2015, Algorithm 1) with L2 weight decay and the AMSGrad
 * variant (Reddi et al., ICLR 2018), as torch.optim.Adam of PyTorch 1.13 computes it
 * (_single_tensor_adam). With step t counted from 1:
 *   d_t = g_t (or -g_t when maximizing) + weight_decay * p_{t-1}
 *   m_t = beta1 * m_{t-1} + (1 - beta1) * d_t
 *   v_t = beta2 * v_{t-1} + (1 - beta2) * d_t^2
 *   u_t = max(u_{t-1}, v_t) with AMSGrad, v_t without
 *   p_t = p_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(u_t) / sqrt(1 - beta2^t) + eps)
 * The bias corrections are per-step scalars and the corrected moments are never stored,
 * so eps is added after v has been corrected. The float32 kernel rounds every scalar
 * coefficient to float first, as torch does for a float32 tensor. */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void adam_defaults(so_optim_params *hp)
{
    hp->lr = 1e-3;
    hp->beta1 = 0.9;
    hp->beta2 = 0.999;
    hp->eps = 1e-8;
}

static int adam_validate(const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_("adam", hp)) != SO_OK ||
        (rc = so_optim_check_range_("adam", "beta1", hp->beta1, 0.0, 1.0, 1)) != SO_OK ||
        (rc = so_optim_check_range_("adam", "beta2", hp->beta2, 0.0, 1.0, 1)) != SO_OK ||
        (rc = so_optim_check_range_("adam", "eps", hp->eps, 0.0, INFINITY, 1)) != SO_OK ||
        (rc = so_optim_check_flag_("adam", "amsgrad", hp->amsgrad)) != SO_OK)
        return rc;
    return SO_OK;
}

static size_t adam_buffers(const so_optim_params *hp, const char *names[SO_OPTIM_MAX_BUFFERS])
{
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    if (!hp->amsgrad)
        return 2;
    names[2] = "max_exp_avg_sq";
    return 3;
}

/* Per-step scalars, computed in double as torch does in Python. */
typedef struct adam_scalars {
    double neg_step_size;  /* -lr / (1 - beta1^t) */
    double root_bc2;       /* sqrt(1 - beta2^t) */
} adam_scalars;

static adam_scalars adam_scalars_at(const so_optim_params *hp, uint64_t step)
{
    adam_scalars s;
    double t = (double)step;
    s.neg_step_size = -(hp->lr / (1.0 - pow(hp->beta1, t)));
    s.root_bc2 = sqrt(1.0 - pow(hp->beta2, t));
    return s;
}

/* Maximum that returns NaN when either argument is NaN, like torch.maximum. */
static inline float max_nan_f32(float a, float b)
{
    return (a > b || a != a) ? a : b;
}

static inline double max_nan_f64(double a, double b)
{
    return (a > b || a != a) ? a : b;
}

static void adam_step_f32(const so_optim_update *u, size_t lo, size_t hi, float *params,
                          const float *grads, float *const *buf)
{
    const so_optim_params *hp = u->hp;
    const adam_scalars s = adam_scalars_at(hp, u->step);
    const float scale = (float)u->grad_scale * (hp->maximize ? -1.0f : 1.0f);
    const float wd = (float)hp->weight_decay;
    const float b1 = (float)hp->beta1, c1 = (float)(1.0 - hp->beta1);
    const float b2 = (float)hp->beta2, c2 = (float)(1.0 - hp->beta2);
    const float root_bc2 = (float)s.root_bc2, eps = (float)hp->eps;
    const float neg_step = (float)s.neg_step_size;
    float d[SO_OPTIM_BLOCK], root[SO_OPTIM_BLOCK];

    /* Each block is read from memory once; d and root stay in L1 cache. */
    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b, *restrict m = buf[0] + b, *restrict v = buf[1] + b;
        const float *restrict g = grads + b;

        for (size_t i = 0; i < len; i++)
            d[i] = g[i] * scale;
        if (hp->weight_decay != 0.0)
            for (size_t i = 0; i < len; i++)
                d[i] = d[i] + wd * p[i];
        for (size_t i = 0; i < len; i++) {
            m[i] = m[i] * b1 + c1 * d[i];
            v[i] = v[i] * b2 + (c2 * d[i]) * d[i];
            root[i] = v[i];
        }
        if (hp->amsgrad) {
            float *restrict vmax = buf[2] + b;
            for (size_t i = 0; i < len; i++)
                root[i] = vmax[i] = max_nan_f32(vmax[i], v[i]);
        }
        so_sqrt_inplace_f32_(root, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_step * m[i]) / (root[i] / root_bc2 + eps);
    }
}

static void adam_step_f64(const so_optim_update *u, size_t lo, size_t hi, double *params,
                          const double *grads, double *const *buf)
{
    const so_optim_params *hp = u->hp;
    const adam_scalars s = adam_scalars_at(hp, u->step);
    const double scale = u->grad_scale * (hp->maximize ? -1.0 : 1.0);
    const double wd = hp->weight_decay;
    const double b1 = hp->beta1, c1 = 1.0 - hp->beta1;
    const double b2 = hp->beta2, c2 = 1.0 - hp->beta2;
    const double root_bc2 = s.root_bc2, eps = hp->eps, neg_step = s.neg_step_size;
    double d[SO_OPTIM_BLOCK], root[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b, *restrict m = buf[0] + b, *restrict v = buf[1] + b;
        const double *restrict g = grads + b;

        for (size_t i = 0; i < len; i++)
            d[i] = g[i] * scale;
        if (hp->weight_decay != 0.0)
            for (size_t i = 0; i < len; i++)
                d[i] = d[i] + wd * p[i];
        for (size_t i = 0; i < len; i++) {
            m[i] = m[i] * b1 + c1 * d[i];
            v[i] = v[i] * b2 + (c2 * d[i]) * d[i];
            root[i] = v[i];
        }
        if (hp->amsgrad) {
            double *restrict vmax = buf[2] + b;
            for (size_t i = 0; i < len; i++)
                root[i] = vmax[i] = max_nan_f64(vmax[i], v[i]);
        }
        so_sqrt_inplace_f64_(root, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_step * m[i]) / (root[i] / root_bc2 + eps);
    }
}

const so_optim_type so_optim_adam_type_ = {
    .name = "adam",
    .defaults = adam_defaults,
    .validate = adam_validate,
    .buffers = adam_buffers,
    .step_f32 = adam_step_f32,
    .step_f64 = adam_step_f64,
};

const so_optim_type *const so_optim_adam = &so_optim_adam_type_;
