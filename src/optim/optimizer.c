/* The optimizer object that every method shares: creation, destruction, the learning rate
 * and its schedule, and accessors. The step driver is in step.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

int so_optim_buffers_alloc_(size_t n, so_precision precision, size_t count,
                            const double *initial, void *buffers[SO_OPTIM_MAX_BUFFERS])
{
    const size_t size = so_optim_elem_size_(precision);
    for (size_t k = 0; k < count; k++) {
        buffers[k] = so_alloc_aligned_(n, size);
        if (buffers[k] == NULL) {
            so_optim_buffers_free_(buffers, k);
            return SO_ERR_NOMEM;
        }
        /* All-zero bytes are +0.0 in IEEE 754, the initial value of most torch states. */
        if (initial == NULL || initial[k] == 0.0) {
            memset(buffers[k], 0, n * size);
        } else if (precision == SO_F32) {
            for (size_t i = 0; i < n; i++)
                ((float *)buffers[k])[i] = (float)initial[k];
        } else {
            for (size_t i = 0; i < n; i++)
                ((double *)buffers[k])[i] = initial[k];
        }
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

/* Allocates the buffers, scalars, chunk sums and the single group of a new optimizer. */
static int allocate_state(so_optimizer *opt)
{
    const char *names[SO_OPTIM_MAX_BUFFERS];
    double initial[SO_OPTIM_MAX_BUFFERS] = {0};
    const so_optim_type *type = opt->type;

    size_t count = type->buffers(&opt->hp, names);
    for (size_t k = 0; k < count && type->buffer_initial != NULL; k++)
        initial[k] = type->buffer_initial(&opt->hp, k);
    if (type->scalars != NULL) {
        const char *scalar_names[SO_OPTIM_MAX_SCALARS];
        opt->num_scalars = type->scalars(&opt->hp, scalar_names, opt->scalars);
    }
    opt->chunk_sums = so_calloc_(opt->n / SO_OPTIM_CHUNK + 1, sizeof(double));
    opt->segments = so_calloc_(1, sizeof *opt->segments);
    if (opt->chunk_sums == NULL || opt->segments == NULL ||
        so_optim_buffers_alloc_(opt->n, opt->precision, count, initial, opt->buffers) != SO_OK)
        return SO_ERR_NOMEM;
    opt->num_buffers = count;
    opt->segments[0] = (so_optim_segment){0, opt->n, 1.0, 1.0};
    opt->num_segments = 1;
    return SO_OK;
}

int so_optimizer_new(const so_optim_type *type, size_t n, so_precision precision,
                     const so_optim_params *params, so_optimizer **out)
{
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
    opt->base_lr = hp.lr;
    if (allocate_state(opt) != SO_OK) {
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
    free((*opt)->segments);
    free(*opt);
    *opt = NULL;
}

double so_optim_scheduled_lr_(const so_optimizer *opt, uint64_t steps)
{
    if (!opt->has_schedule)
        return opt->hp.lr;
    return so_schedule_lr(&opt->schedule, opt->base_lr, steps - opt->schedule_start);
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
                 lr, opt->has_schedule ? opt->base_lr : opt->hp.lr);
        so_log_(SO_LOG_WARN, "%s", so_last_error());
        return;
    }
    opt->base_lr = lr;
    opt->hp.lr = lr;
    opt->hp.lr = so_optim_scheduled_lr_(opt, opt->steps);
}

int so_optimizer_set_schedule(so_optimizer *opt, const so_schedule *schedule)
{
    int rc;
    if (opt == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_set_schedule: opt is NULL");
    if (schedule == NULL) {
        opt->has_schedule = 0;
        opt->base_lr = opt->hp.lr;
        return SO_OK;
    }
    if ((rc = so_schedule_validate(schedule)) != SO_OK)
        return rc;
    /* A schedule attached again starts over from the base rate it scaled. */
    opt->base_lr = opt->has_schedule ? opt->base_lr : opt->hp.lr;
    opt->schedule = *schedule;
    opt->schedule_start = opt->steps;
    opt->has_schedule = 1;
    opt->hp.lr = so_optim_scheduled_lr_(opt, opt->steps);
    return SO_OK;
}

const so_schedule *so_optimizer_schedule(const so_optimizer *opt)
{
    return opt != NULL && opt->has_schedule ? &opt->schedule : NULL;
}

double so_optimizer_base_lr(const so_optimizer *opt)
{
    if (opt == NULL)
        return NAN;
    return opt->has_schedule ? opt->base_lr : opt->hp.lr;
}

uint64_t so_optimizer_steps(const so_optimizer *opt)
{
    return opt != NULL ? opt->steps : 0;
}

const so_optim_params *so_optimizer_params(const so_optimizer *opt)
{
    return opt != NULL ? &opt->hp : NULL;
}
