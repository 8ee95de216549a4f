/* The optimizer object that every method shares: creation, the step driver (gradient
 * check, clipping, parallel dispatch to the method's kernel) and accessors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/internal.h"
#include "optim/optim_internal.h"

int so_optim_buffers_alloc_(size_t n, so_precision precision, size_t count,
                            void *buffers[SO_OPTIM_MAX_BUFFERS])
{
    const size_t size = so_optim_elem_size_(precision);
    for (size_t k = 0; k < count; k++) {
        buffers[k] = so_alloc_aligned_(n, size);
        if (buffers[k] == NULL) {
            so_optim_buffers_free_(buffers, k);
            return SO_ERR_NOMEM;
        }
        /* All-zero bytes are +0.0 in IEEE 754, the initial value of every torch state. */
        memset(buffers[k], 0, n * size);
    }
    return SO_OK;
}

void so_optim_buffers_free_(void *buffers[SO_OPTIM_MAX_BUFFERS], size_t count)
{
    for (size_t k = 0; k < count; k++) {
        so_free_aligned_(buffers[k]);
        buffers[k] = NULL;
    }
}

static int check_new_args(const so_optim_type *type, size_t n, so_precision precision)
{
    if (type == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_new: type is NULL: pass so_optim_sgd, "
                                        "so_optim_adam or a result of so_optim_type_find");
    if (precision != SO_F32 && precision != SO_F64)
        return so_fail_(SO_ERR_INVALID,
                        "so_optimizer_new: precision = %d is invalid: expected SO_F32 or SO_F64",
                        (int)precision);
    if (n == 0)
        return so_fail_(SO_ERR_INVALID,
                        "so_optimizer_new: n = 0: an optimizer needs at least one parameter");
    /* Checked here so that no allocation is even attempted for an impossible size. */
    if (n > SIZE_MAX / SO_OPTIM_MAX_BUFFERS / sizeof(double))
        return so_fail_(SO_ERR_NOMEM,
                        "so_optimizer_new: n = %zu: the state buffers' size overflows size_t",
                        n);
    return SO_OK;
}

int so_optimizer_new(const so_optim_type *type, size_t n, so_precision precision,
                     const so_optim_params *params, so_optimizer **out)
{
    const char *names[SO_OPTIM_MAX_BUFFERS];
    so_optimizer *opt;
    int rc;

    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_new: out is NULL: pass the address of "
                                        "an so_optimizer pointer");
    *out = NULL;
    if ((rc = check_new_args(type, n, precision)) != SO_OK)
        return rc;
    so_optim_params hp = params != NULL ? *params : so_optim_params_default(type);
    if ((rc = type->validate(&hp)) != SO_OK)
        return rc;

    opt = so_calloc_(1, sizeof *opt);
    if (opt == NULL)
        return SO_ERR_NOMEM;
    opt->type = type;
    opt->precision = precision;
    opt->n = n;
    opt->hp = hp;
    opt->num_buffers = type->buffers(&hp, names);
    opt->chunk_sums = so_calloc_(n / SO_OPTIM_CHUNK + 1, sizeof(double));
    if (opt->chunk_sums == NULL ||
        so_optim_buffers_alloc_(n, precision, opt->num_buffers, opt->buffers) != SO_OK) {
        opt->num_buffers = 0;
        so_optimizer_free(&opt);
        return SO_ERR_NOMEM;
    }
    *out = opt;
    return SO_OK;
}

void so_optimizer_free(so_optimizer **opt)
{
    if (opt == NULL || *opt == NULL)
        return;
    so_optim_buffers_free_((*opt)->buffers, (*opt)->num_buffers);
    free((*opt)->chunk_sums);
    free(*opt);
    *opt = NULL;
}

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
        if (lo < hi && opt->precision == SO_F32)
            opt->type->step_f32(u, lo, hi, params, grads, buf32);
        else if (lo < hi)
            opt->type->step_f64(u, lo, hi, params, grads, buf64);
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
    if (opt->hp.clip_norm > 0.0)
        want_sum = &sum_squares;
    /* Nothing is written before the whole gradient is known to be finite. */
    if (opt->precision == SO_F32)
        rc = so_optim_scan_f32_(grads, opt->n, opt->chunk_sums, want_sum);
    else
        rc = so_optim_scan_f64_(grads, opt->n, opt->chunk_sums, want_sum);
    if (rc != SO_OK) {
        so_error_prefix_("%s step %llu", opt->type->name,
                         (unsigned long long)(opt->steps + 1));
        return rc;
    }

    so_optim_update u;
    u.hp = &opt->hp;
    u.step = opt->steps + 1;
    /* NOTE: finite gradients whose norm overflows (a float64 sum of squares above 1.8e308,
     * a float32 norm above 3.4e38) give an infinite norm, which clips them all to zero. */
    u.grad_scale = want_sum != NULL ? clip_scale(opt, sum_squares) : 1.0;
    run_kernel(opt, &u, params, grads);
    opt->steps++;
    return SO_OK;
}

double so_optimizer_lr(const so_optimizer *opt)
{
    return opt != NULL ? opt->hp.lr : NAN;
}

void so_optimizer_set_lr(so_optimizer *opt, double lr)
{
    if (opt == NULL)
        return;
    if (!(lr >= 0.0) || isinf(lr)) {
        so_fail_(SO_ERR_INVALID, "so_optimizer_set_lr: lr = %g ignored: expected a finite "
                                 "value >= 0; the learning rate stays %g",
                 lr, opt->hp.lr);
        so_log_(SO_LOG_WARN, "%s", so_last_error());
        return;
    }
    opt->hp.lr = lr;
}

uint64_t so_optimizer_steps(const so_optimizer *opt)
{
    return opt != NULL ? opt->steps : 0;
}

const so_optim_params *so_optimizer_params(const so_optimizer *opt)
{
    return opt != NULL ? &opt->hp : NULL;
}
