/* Adam (Kingma and Ba, ICLR 2015, Algorithm 1) with L2 or decoupled weight decay (AdamW,
 * Loshchilov and Hutter, ICLR 2019) and the AMSGrad variant (Reddi et al., ICLR 2018), as
 * torch.optim.Adam and torch.optim.AdamW of PyTorch 1.13 compute them
 * (_single_tensor_adam, _single_tensor_adamw). With the moments of adam_core.c and eps
 * after the bias correction (the default placement):
 *   p_t = p_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(u_t) / sqrt(1 - beta2^t) + eps)
 * The float32 kernel rounds every scalar coefficient to float first, as torch does for a
 * float32 tensor. On x86-64 processors with AVX2 the float32 step runs an AVX2 kernel
 * (adam_avx2.c) that gives the same bits. */
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

/* torch.optim.AdamW 1.13 defaults: Adam's, with decoupled weight decay 0.01. */
static void adamw_defaults(so_optim_params *hp)
{
    adam_defaults(hp);
    hp->weight_decay = 1e-2;
    hp->decoupled_weight_decay = 1;
}

static void amsgrad_defaults(so_optim_params *hp)
{
    adam_defaults(hp);
    hp->amsgrad = 1;
}

/* Shared by every member of the Adam family; method names the one being checked. */
static int adam_family_validate(const char *method, const so_optim_params *hp)
{
    int rc;
    if ((rc = so_optim_check_common_(method, hp)) != SO_OK ||
        (rc = so_optim_check_range_(method, "beta1", hp->beta1, 0.0, 1.0, 1)) != SO_OK ||
        (rc = so_optim_check_range_(method, "beta2", hp->beta2, 0.0, 1.0, 1)) != SO_OK ||
        (rc = so_optim_check_range_(method, "eps", hp->eps, 0.0, INFINITY, 1)) != SO_OK)
        return rc;
    return SO_OK;
}

static int adam_validate(const so_optim_params *hp)
{
    return adam_family_validate("adam", hp);
}

static int adamw_validate(const so_optim_params *hp)
{
    return adam_family_validate("adamw", hp);
}

static int amsgrad_validate(const so_optim_params *hp)
{
    return adam_family_validate("amsgrad", hp);
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

void so_adam_step_f32_scalar_(const so_optim_update *u, size_t lo, size_t hi, float *params,
                              const float *grads, float *const *buf)
{
    const so_optim_params *hp = u->hp;
    const so_adam_scalars s = so_adam_scalars_(u);
    const float neg_step = (float)s.neg_step;
    float d[SO_OPTIM_BLOCK], den[SO_OPTIM_BLOCK];

    /* Each block is read from memory once; d and den stay in L1 cache. */
    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        float *restrict p = params + b, *restrict m = buf[0] + b;
        float *vmax = hp->amsgrad ? buf[2] + b : NULL;

        so_optim_direction_f32_(u, p, grads + b, d, len);
        so_adam_moments_f32_(hp, d, m, buf[1] + b, vmax, den, len);
        so_adam_denominator_f32_(hp, &s, den, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_step * m[i]) / den[i];
    }
}

static void adam_step_f32(const so_optim_update *u, size_t lo, size_t hi, float *params,
                          const float *grads, float *const *buf)
{
    if (u->hp->eps_placement == SO_EPS_AFTER_CORRECTION && so_adam_avx2_available_())
        so_adam_step_f32_avx2_(u, lo, hi, params, grads, buf);
    else
        so_adam_step_f32_scalar_(u, lo, hi, params, grads, buf);
}

static void adam_step_f64(const so_optim_update *u, size_t lo, size_t hi, double *params,
                          const double *grads, double *const *buf)
{
    const so_optim_params *hp = u->hp;
    const so_adam_scalars s = so_adam_scalars_(u);
    const double neg_step = s.neg_step;
    double d[SO_OPTIM_BLOCK], den[SO_OPTIM_BLOCK];

    for (size_t b = lo; b < hi; b += SO_OPTIM_BLOCK) {
        const size_t len = hi - b < SO_OPTIM_BLOCK ? hi - b : SO_OPTIM_BLOCK;
        double *restrict p = params + b, *restrict m = buf[0] + b;
        double *vmax = hp->amsgrad ? buf[2] + b : NULL;

        so_optim_direction_f64_(u, p, grads + b, d, len);
        so_adam_moments_f64_(hp, d, m, buf[1] + b, vmax, den, len);
        so_adam_denominator_f64_(hp, &s, den, len);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] + (neg_step * m[i]) / den[i];
    }
}

#define ADAM_PARAMS                                                                        \
    "lr,beta1,beta2,eps,amsgrad,eps_placement,weight_decay,decoupled_weight_decay,"       \
    "maximize,clip_norm,clip_value"

const so_optim_type so_optim_adam_type_ = {
    .name = "adam",
    .params = ADAM_PARAMS,
    .defaults = adam_defaults,
    .validate = adam_validate,
    .buffers = adam_buffers,
    .step_f32 = adam_step_f32,
    .step_f64 = adam_step_f64,
};

const so_optim_type so_optim_adamw_type_ = {
    .name = "adamw",
    .params = ADAM_PARAMS,
    .defaults = adamw_defaults,
    .validate = adamw_validate,
    .buffers = adam_buffers,
    .step_f32 = adam_step_f32,
    .step_f64 = adam_step_f64,
};

const so_optim_type so_optim_amsgrad_type_ = {
    .name = "amsgrad",
    .params = ADAM_PARAMS,
    .defaults = amsgrad_defaults,
    .validate = amsgrad_validate,
    .buffers = adam_buffers,
    .step_f32 = adam_step_f32,
    .step_f64 = adam_step_f64,
};

const so_optim_type *const so_optim_adam = &so_optim_adam_type_;
const so_optim_type *const so_optim_adamw = &so_optim_adamw_type_;
const so_optim_type *const so_optim_amsgrad = &so_optim_amsgrad_type_;
