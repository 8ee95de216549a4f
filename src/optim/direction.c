/* The gradient as every update kernel reads it: value clipping, the global-norm clipping
 * coefficient, the sign for maximizing and weight decay. They are applied block by block
 * while the block is in L1 cache, so no method needs an extra pass over memory.
 *
 * The order follows a PyTorch 1.13 training loop that calls
 * torch.nn.utils.clip_grad_value_, then clip_grad_norm_, then the optimizer. The optimizer
 * negates the gradient when maximizing and then adds weight_decay * p (L2 decay). AdamW
 * instead first multiplies p by 1 - lr * weight_decay (decoupled decay, Loshchilov and
 * Hutter, ICLR 2019, with the schedule multiplier folded into lr). */
#include <stddef.h>

#include "optim/optim_internal.h"

void so_optim_direction_f32_(const so_optim_update *u, float *restrict p,
                             const float *restrict g, float *restrict d, size_t len)
{
    const so_optim_params *hp = u->hp;
    /* Multiplying by a scale of +-1 is exact, so the unclipped path loses nothing. */
    const float scale = (float)u->grad_scale * (hp->maximize ? -1.0f : 1.0f);

    if (hp->clip_value > 0.0) {
        const float c = (float)hp->clip_value;
        for (size_t i = 0; i < len; i++) {
            float x = g[i] < -c ? -c : g[i];
            d[i] = (x > c ? c : x) * scale;
        }
    } else {
        for (size_t i = 0; i < len; i++)
            d[i] = g[i] * scale;
    }
    if (u->weight_decay == 0.0)
        return;
    if (hp->decoupled_weight_decay) {
        const float keep = (float)(1.0 - u->lr * u->weight_decay);
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] * keep;
    } else {
        const float wd = (float)u->weight_decay;
        for (size_t i = 0; i < len; i++)
            d[i] = d[i] + wd * p[i];
    }
}

void so_optim_direction_f64_(const so_optim_update *u, double *restrict p,
                             const double *restrict g, double *restrict d, size_t len)
{
    const so_optim_params *hp = u->hp;
    const double scale = u->grad_scale * (hp->maximize ? -1.0 : 1.0);

    if (hp->clip_value > 0.0) {
        const double c = hp->clip_value;
        for (size_t i = 0; i < len; i++) {
            double x = g[i] < -c ? -c : g[i];
            d[i] = (x > c ? c : x) * scale;
        }
    } else {
        for (size_t i = 0; i < len; i++)
            d[i] = g[i] * scale;
    }
    if (u->weight_decay == 0.0)
        return;
    if (hp->decoupled_weight_decay) {
        const double keep = 1.0 - u->lr * u->weight_decay;
        for (size_t i = 0; i < len; i++)
            p[i] = p[i] * keep;
    } else {
        const double wd = u->weight_decay;
        for (size_t i = 0; i < len; i++)
            d[i] = d[i] + wd * p[i];
    }
}
