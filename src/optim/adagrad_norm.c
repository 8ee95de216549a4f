/* AdaGrad-Norm (Ward, Wu, Bottou, "AdaGrad stepsizes: sharp convergence over nonconvex
 * landscapes", ICML 2019, Algorithm 1): one scalar accumulator for all parameters.
 *   d_t = g_t (or -g_t when maximizing) + weight_decay * p_{t-1}
 *   b_t^2 = b_{t-1}^2 + ||d_t||^2,  b_0^2 = initial_accumulator_value
 *   p_t = p_{t-1} - lr * d_t / (b_t + eps)
 * Because b_t >= ||d_t||, no step is longer than lr. torch.optim has no AdaGrad-Norm; the
 * defaults (lr 1, b_0^2 = 0, eps 0) are this library's choice. With b_t = 0 the direction
 * is zero too, and the step leaves p unchanged instead of dividing 0 by 0.
 *
 * ||d_t||^2 is accumulated in double. Without L2 decay it is the scan's sum of squared
 * (value-clipped) gradients times the squared clipping coefficient, so the step reads the
 * arrays once more than other methods only when L2 weight decay is on. */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void adagrad_norm_defaults(so_optim_params *hp)
{
    hp->lr = 1.0;
}

static int adagrad_norm_validate(const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_("adagrad_norm", hp)) != SO_OK ||
        (rc = so_optim_check_range_("adagrad_norm", "initial_accumulator_value",
                                    hp->initial_accumulator_value, 0.0, INFINITY, 1)) !=
            SO_OK ||
        (rc = so_optim_check_range_("adagrad_norm", "eps", hp->eps, 0.0, INFINITY, 1)) !=
            SO_OK)
        return rc;
    return SO_OK;
}

static size_t adagrad_norm_buffers(const so_optim_params *hp,
                                   const char *names[SO_OPTIM_MAX_BUFFERS])
{
    (void)hp;
    (void)names;
    return 0;
}

static size_t adagrad_norm_scalars(const so_optim_params *hp,
                                   const char *names[SO_OPTIM_MAX_SCALARS],
                                   double initial[SO_OPTIM_MAX_SCALARS])
{
    names[0] = "sum_of_squared_norms";
    initial[0] = hp->initial_accumulator_value;
    return 1;
}

/* Sum over [lo, hi) of (s * clamp(g) + wd * p)^2 in double, for one group's wd. */
static double decayed_sum_squares(const so_optimizer *opt, double s, double wd, size_t lo,
                                  size_t hi, const void *params, const void *grads)
{
    /* Float32 kernels clamp to the float nearest clip_value. */
    const double c = opt->precision == SO_F32 ? (double)(float)opt->hp.clip_value
                                              : opt->hp.clip_value;
    double sum = 0.0;
    for (size_t i = lo; i < hi; i++) {
        double g = opt->precision == SO_F32 ? ((const float *)grads)[i]
                                            : ((const double *)grads)[i];
        double p = opt->precision == SO_F32 ? ((const float *)params)[i]
                                            : ((const double *)params)[i];
        if (c > 0.0)
            g = fmin(fmax(g, -c), c);
        double d = s * g + wd * p;
        sum += d * d;
    }
    return sum;
}

/* ||d||^2 with L2 decay: chunk by chunk in a fixed order, each chunk split at the group
 * boundaries, so that the sum does not depend on the number of threads. */
static double direction_norm_squared(const so_optimizer *opt, double grad_scale,
                                     const void *params, const void *grads)
{
    const long chunks = (long)((opt->n + SO_OPTIM_CHUNK - 1) / SO_OPTIM_CHUNK);
    double total = 0.0;

#pragma omp parallel for schedule(static) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * SO_OPTIM_CHUNK;
        size_t hi = opt->n - lo < SO_OPTIM_CHUNK ? opt->n : lo + SO_OPTIM_CHUNK;
        double sum = 0.0;
        for (size_t k = 0; k < opt->num_segments; k++) {
            const so_optim_segment *seg = &opt->segments[k];
            size_t a = seg->lo > lo ? seg->lo : lo, b = seg->hi < hi ? seg->hi : hi;
            if (a < b)
                sum += decayed_sum_squares(opt, grad_scale,
                                           opt->hp.weight_decay * seg->weight_decay_scale, a,
                                           b, params, grads);
        }
        opt->chunk_sums[c] = sum;
    }
    for (long c = 0; c < chunks; c++)
        total += opt->chunk_sums[c];
    return total;
}

static void adagrad_norm_begin_step(so_optimizer *opt, so_optim_update *u, const void *params,
                                    const void *grads, double sum_squares)
{
    double norm_squared;
    if (opt->hp.weight_decay != 0.0 && !opt->hp.decoupled_weight_decay)
        norm_squared = direction_norm_squared(opt, u->grad_scale, params, grads);
    else
        norm_squared = u->grad_scale * u->grad_scale * sum_squares;
    opt->scalars[0] += norm_squared;
    u->method_scalar = sqrt(opt->scalars[0]) + opt->hp.eps;
}

static void adagrad_norm_step_f32(const so_optim_update *u, size_t lo, size_t hi,
                                  float *params, const float *grads, float *const *buf)
{
    const double den = u->method_scalar;
    const float coef = den > 0.0 ? (float)-(u->lr / den) : 0.0f;
    float d[SO_OPTIM_BLOCK];
    (void)buf;

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b;
        so_optim_direction_f32_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + coef * d[i];
    }
}

static void adagrad_norm_step_f64(const so_optim_update *u, size_t lo, size_t hi,
                                  double *params, const double *grads, double *const *buf)
{
    const double den = u->method_scalar;
    const double coef = den > 0.0 ? -(u->lr / den) : 0.0;
    double d[SO_OPTIM_BLOCK];
    (void)buf;

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b;
        so_optim_direction_f64_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + coef * d[i];
    }
}

const so_optim_type so_optim_adagrad_norm_type_ = {
    .name = "adagrad_norm",
    .params = "lr,initial_accumulator_value,eps,weight_decay,decoupled_weight_decay,"
              "maximize,clip_norm,clip_value",
    .defaults = adagrad_norm_defaults,
    .validate = adagrad_norm_validate,
    .buffers = adagrad_norm_buffers,
    .scalars = adagrad_norm_scalars,
    .begin_step = adagrad_norm_begin_step,
    .needs_grad_norm = 1,
    .step_f32 = adagrad_norm_step_f32,
    .step_f64 = adagrad_norm_step_f64,
};

const so_optim_type *const so_optim_adagrad_norm = &so_optim_adagrad_norm_type_;
