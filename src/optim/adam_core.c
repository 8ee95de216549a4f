/* Arithmetic shared by the Adam family (Adam, AdamW, AMSGrad, diffGrad): the per-step
 * bias-correction scalars, the moment updates and the denominator for each placement of
 * eps. With step t counted from 1 and d the direction from so_optim_direction:
 *   m_t = beta1 * m_{t-1} + (1 - beta1) * d_t
 *   v_t = beta2 * v_{t-1} + (1 - beta2) * d_t^2
 *   u_t = max(u_{t-1}, v_t) with AMSGrad, v_t without
 * AMSGrad keeps the maximum of the raw v and bias-corrects the maximum, as torch.optim 1.13
 * does (Reddi et al., ICLR 2018, take the maximum of v without any correction). The bias
 * corrections are per-step scalars and the corrected moments are never stored. */
#include <math.h>
#include <stddef.h>

#include "optim/optim_internal.h"

so_adam_scalars so_adam_scalars_(const so_optim_update *u)
{
    const so_optim_params *hp = u->hp;
    const double t = (double)u->step;
    so_adam_scalars s;
    s.bc2 = 1.0 - pow(hp->beta2, t);
    s.root_bc2 = sqrt(s.bc2);
    if (hp->eps_placement == SO_EPS_BEFORE_CORRECTION)
        s.neg_step = -(u->lr * s.root_bc2 / (1.0 - pow(hp->beta1, t)));
    else
        s.neg_step = -(u->lr / (1.0 - pow(hp->beta1, t)));
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

void so_adam_moments_f32_(const so_optim_params *hp, const float *restrict d,
                          float *restrict m, float *restrict v, float *restrict vmax,
                          float *restrict x, size_t len)
{
    const float b1 = (float)hp->beta1, c1 = (float)(1.0 - hp->beta1);
    const float b2 = (float)hp->beta2, c2 = (float)(1.0 - hp->beta2);
    for (size_t i = 0; i < len; i++) {
        m[i] = m[i] * b1 + c1 * d[i];
        v[i] = v[i] * b2 + (c2 * d[i]) * d[i];
        x[i] = v[i];
    }
    if (hp->amsgrad)
        for (size_t i = 0; i < len; i++)
            x[i] = vmax[i] = max_nan_f32(vmax[i], v[i]);
}

void so_adam_moments_f64_(const so_optim_params *hp, const double *restrict d,
                          double *restrict m, double *restrict v, double *restrict vmax,
                          double *restrict x, size_t len)
{
    const double b1 = hp->beta1, c1 = 1.0 - hp->beta1;
    const double b2 = hp->beta2, c2 = 1.0 - hp->beta2;
    for (size_t i = 0; i < len; i++) {
        m[i] = m[i] * b1 + c1 * d[i];
        v[i] = v[i] * b2 + (c2 * d[i]) * d[i];
        x[i] = v[i];
    }
    if (hp->amsgrad)
        for (size_t i = 0; i < len; i++)
            x[i] = vmax[i] = max_nan_f64(vmax[i], v[i]);
}

void so_adam_denominator_f32_(const so_optim_params *hp, const so_adam_scalars *s,
                              float *x, size_t len)
{
    const float eps = (float)hp->eps;
    if (hp->eps_placement == SO_EPS_INSIDE_SQRT) {
        const float bc2 = (float)s->bc2;
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] / bc2 + eps;
        so_sqrt_inplace_f32_(x, len);
        return;
    }
    so_sqrt_inplace_f32_(x, len);
    if (hp->eps_placement == SO_EPS_BEFORE_CORRECTION) {
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] + eps;
    } else {
        const float root_bc2 = (float)s->root_bc2;
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] / root_bc2 + eps;
    }
}

void so_adam_denominator_f64_(const so_optim_params *hp, const so_adam_scalars *s,
                              double *x, size_t len)
{
    const double eps = hp->eps, bc2 = s->bc2, root_bc2 = s->root_bc2;
    if (hp->eps_placement == SO_EPS_INSIDE_SQRT) {
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] / bc2 + eps;
        so_sqrt_inplace_f64_(x, len);
        return;
    }
    so_sqrt_inplace_f64_(x, len);
    if (hp->eps_placement == SO_EPS_BEFORE_CORRECTION) {
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] + eps;
    } else {
        for (size_t i = 0; i < len; i++)
            x[i] = x[i] / root_bc2 + eps;
    }
}
