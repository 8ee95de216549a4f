/* AdaGrad (Duchi, Hazan, Singer, JMLR 2011) as torch.optim.Adagrad of PyTorch 1.13
 * computes it for dense gradients (_single_tensor_adagrad). With step t counted from 1:
 *   d_t = g_t (or -g_t when maximizing) + weight_decay * p_{t-1}
 *   s_t = s_{t-1} + d_t^2,  s_0 = initial_accumulator_value
 *   p_t = p_{t-1} - lr / (1 + (t - 1) lr_decay) * d_t / (sqrt(s_t) + eps)
 * The float32 kernel rounds every scalar coefficient to float first, as torch does. */
#include <math.h>
#include <stddef.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static void adagrad_defaults(so_optim_params *hp)
{
    hp->lr = 1e-2;
    hp->eps = 1e-10;
}

static int adagrad_validate(const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_("adagrad", hp)) != SO_OK ||
        (rc = so_optim_check_range_("adagrad", "lr_decay", hp->lr_decay, 0.0, INFINITY, 1)) !=
            SO_OK ||
        (rc = so_optim_check_range_("adagrad", "initial_accumulator_value",
                                    hp->initial_accumulator_value, 0.0, INFINITY, 1)) !=
            SO_OK ||
        (rc = so_optim_check_range_("adagrad", "eps", hp->eps, 0.0, INFINITY, 1)) != SO_OK)
        return rc;
    return SO_OK;
}

static size_t adagrad_buffers(const so_optim_params *hp,
                              const char *names[SO_OPTIM_MAX_BUFFERS])
{
    (void)hp;
    names[0] = "sum";
    return 1;
}

static double adagrad_buffer_initial(const so_optim_params *hp, size_t k)
{
    (void)k;
    return hp->initial_accumulator_value;
}

/* The learning rate of step t, computed in double as torch does in Python. */
static double adagrad_step_lr(const so_optim_update *u)
{
    return u->lr / (1.0 + (double)(u->step - 1) * u->hp->lr_decay);
}

static void adagrad_step_f32(const so_optim_update *u, size_t lo, size_t hi, float *params,
                             const float *grads, float *const *buf)
{
    const float neg_lr = (float)-adagrad_step_lr(u), eps = (float)u->hp->eps;
    float d[SO_OPTIM_BLOCK], den[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b, *restrict sum = buf[0] + b;

        so_optim_direction_f32_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++)
            den[i] = sum[i] = sum[i] + d[i] * d[i];
        so_sqrt_inplace_f32_(den, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_lr * d[i]) / (den[i] + eps);
    }
}

static void adagrad_step_f64(const so_optim_update *u, size_t lo, size_t hi, double *params,
                             const double *grads, double *const *buf)
{
    const double neg_lr = -adagrad_step_lr(u), eps = u->hp->eps;
    double d[SO_OPTIM_BLOCK], den[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b, *restrict sum = buf[0] + b;

        so_optim_direction_f64_(u, p, grads + b, d, len);
        for (size_t i = 0; i < len; i++)
            den[i] = sum[i] = sum[i] + d[i] * d[i];
        so_sqrt_inplace_f64_(den, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_lr * d[i]) / (den[i] + eps);
    }
}

const so_optim_type so_optim_adagrad_type_ = {
    .name = "adagrad",
    .params = "lr,lr_decay,initial_accumulator_value,eps,weight_decay,decoupled_weight_decay,"
              "maximize,clip_norm,clip_value",
    .defaults = adagrad_defaults,
    .validate = adagrad_validate,
    .buffers = adagrad_buffers,
    .buffer_initial = adagrad_buffer_initial,
    .step_f32 = adagrad_step_f32,
    .step_f64 = adagrad_step_f64,
};

const so_optim_type *const so_optim_adagrad = &so_optim_adagrad_type_;
