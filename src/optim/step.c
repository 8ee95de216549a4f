/* The step driver shared by every method: the gradient check, clipping, the method's
 * per-step scalars, and the parallel dispatch of the method's kernel over threads and
 * parameter groups. */
#include <math.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/internal.h"
#include "optim/optim_internal.h"

/* Returns the factor that clipping applies to the gradients, 1 when it is inactive.
 * torch.nn.utils.clip_grad_norm_ (PyTorch 1.13) computes
 *   coef = min(1, max_norm * (1 / (||g||_2 + 1e-6)))
 * in the gradients' precision, the reciprocal coming from Python's max_norm / tensor. */
static double clip_scale(const so_optimizer *opt, double sum_squares)
{
    if (opt->precision == SO_F32) {
        float norm = (float)sqrt(sum_squares);
        float coef = 1.0f / (norm + 1e-6f) * (float)opt->hp.clip_norm;
        return coef < 1.0f ? coef : 1.0;
    }
    double coef = 1.0 / (sqrt(sum_squares) + 1e-6) * opt->hp.clip_norm;
    return coef < 1.0 ? coef : 1.0;
}

/* Sets [*lo, *hi) to the calling thread's share of n elements, in whole chunks. */
static void thread_range(size_t n, size_t *lo, size_t *hi)
{
    size_t chunks = (n + SO_OPTIM_CHUNK - 1) / SO_OPTIM_CHUNK, thread = 0, threads = 1;
#ifdef _OPENMP
    thread = (size_t)omp_get_thread_num();
    threads = (size_t)omp_get_num_threads();
#endif
    size_t first = chunks * thread / threads, last = chunks * (thread + 1) / threads;
    *lo = first * SO_OPTIM_CHUNK < n ? first * SO_OPTIM_CHUNK : n;
    *hi = last * SO_OPTIM_CHUNK < n ? last * SO_OPTIM_CHUNK : n;
}

/* Runs the kernel over [lo, hi), one call per parameter group that meets the range, each
 * with the group's learning rate and weight decay. */
static void run_range(const so_optimizer *opt, const so_optim_update *u, size_t lo,
                      size_t hi, void *params, const void *grads, float *const *buf32,
                      double *const *buf64)
{
    for (size_t k = 0; k < opt->num_segments; k++) {
        const so_optim_segment *seg = &opt->segments[k];
        size_t a = seg->lo > lo ? seg->lo : lo, b = seg->hi < hi ? seg->hi : hi;
        if (a >= b)
            continue;
        so_optim_update group = *u;
        /* Multipliers of 1, the default, leave the rates bit for bit unchanged. */
        group.lr = u->lr * seg->lr_scale;
        group.weight_decay = opt->hp.weight_decay * seg->weight_decay_scale;
        if (opt->precision == SO_F32)
            opt->type->step_f32(&group, a, b, params, grads, buf32);
        else
            opt->type->step_f64(&group, a, b, params, grads, buf64);
    }
}

/* Runs the method's kernel over all elements. The update of one element never reads
 * another, so the result does not depend on how the threads split the range. */
static void run_kernel(const so_optimizer *opt, const so_optim_update *u, void *params,
                       const void *grads)
{
    float *buf32[SO_OPTIM_MAX_BUFFERS] = {NULL};
    double *buf64[SO_OPTIM_MAX_BUFFERS] = {NULL};
    for (size_t k = 0; k < opt->num_buffers; k++) {
        buf32[k] = opt->buffers[k];
        buf64[k] = opt->buffers[k];
    }
#pragma omp parallel if (opt->n > SO_OPTIM_CHUNK)
    {
        size_t lo, hi;
        thread_range(opt->n, &lo, &hi);
        if (lo < hi)
            run_range(opt, u, lo, hi, params, grads, buf32, buf64);
    }
}

int so_optimizer_step(so_optimizer *opt, void *params, const void *grads)
{
    double sum_squares = 0.0;
    double *want_sum = NULL;
    int rc;

    if (opt == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_step: opt is NULL");
    if (params == NULL || grads == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_step: %s is NULL",
                        params == NULL ? "params" : "grads");
    if (opt->hp.clip_norm > 0.0 || opt->type->needs_grad_norm)
        want_sum = &sum_squares;
    /* Nothing is written before the whole gradient is known to be finite. */
    if (opt->precision == SO_F32)
        rc = so_optim_scan_f32_(grads, opt->n, opt->hp.clip_value, opt->chunk_sums, want_sum);
    else
        rc = so_optim_scan_f64_(grads, opt->n, opt->hp.clip_value, opt->chunk_sums, want_sum);
    if (rc != SO_OK) {
        so_error_prefix_("%s step %llu", opt->type->name,
                         (unsigned long long)(opt->steps + 1));
        return rc;
    }

    so_optim_update u = {&opt->hp, opt->steps + 1, 1.0, opt->hp.lr, opt->hp.weight_decay, 0.0};
    /* NOTE: finite gradients whose norm overflows (a float64 sum of squares above 1.8e308,
     * a float32 norm above 3.4e38) give an infinite norm, which clips them all to zero. */
    if (opt->hp.clip_norm > 0.0)
        u.grad_scale = clip_scale(opt, sum_squares);
    if (opt->type->begin_step != NULL)
        opt->type->begin_step(opt, &u, params, grads, sum_squares);
    run_kernel(opt, &u, params, grads);
    opt->steps++;
    opt->hp.lr = so_optim_scheduled_lr_(opt, opt->steps);
    return SO_OK;
}
