/* First-order optimizers over flat float32 or float64 arrays. Each method is a constant
 * descriptor; one generic object holds the hyperparameters, buffers and step count. */
#ifndef STOCHOPT_OPTIM_H
#define STOCHOPT_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum so_precision { SO_F32, SO_F64 } so_precision;

/* Hyperparameters. so_optim_params_default fills the defaults of torch.optim 1.13 for
 * the given method; callers override only what they need. A method ignores the fields it
 * does not use. Flags take 0 or 1. */
typedef struct so_optim_params {
    double lr;
    double momentum;      /* SGD */
    double dampening;     /* SGD */
    int nesterov;         /* SGD */
    double beta1, beta2;  /* Adam */
    double eps;           /* Adam; with eps = 0 a zero gradient history divides 0 by 0 */
    int amsgrad;          /* Adam */
    double weight_decay;  /* added to the gradient (L2) */
    int maximize;         /* ascend instead of descend */
    double clip_norm;     /* global-norm clipping threshold; 0 disables */
} so_optim_params;

typedef struct so_optim_type so_optim_type;

extern const so_optim_type *const so_optim_sgd;
extern const so_optim_type *const so_optim_adam;

/* Looks a method up by name ("sgd", "adam"), ignoring ASCII case; NULL if unknown. */
const so_optim_type *so_optim_type_find(const char *name);
const char *so_optim_type_name(const so_optim_type *type);
/* Writes the comma-separated list of method names into buf. */
void so_optim_type_list(char *buf, size_t size);

/* torch.optim.SGD has no default learning rate; this library uses 0.01 for it. */
so_optim_params so_optim_params_default(const so_optim_type *type);

typedef struct so_optimizer so_optimizer;

/* Creates an optimizer for n > 0 parameters of the given precision; params NULL means
 * so_optim_params_default(type). Fails on an invalid hyperparameter (negative lr, beta
 * outside [0, 1), ...) naming it. State buffers start at zero. */
int so_optimizer_new(const so_optim_type *type, size_t n, so_precision precision,
                     const so_optim_params *params, so_optimizer **out);
void so_optimizer_free(so_optimizer **opt);

/* Applies one update to params (n floats or doubles) from grads. If any gradient is NaN
 * or infinite the step is skipped: params, buffers and the step count stay unchanged and
 * SO_ERR_NONFINITE is returned with the first bad index in the error detail. grads is
 * read only; clipping and weight decay are applied to each value as it is read. The
 * result does not depend on the number of OpenMP threads. */
int so_optimizer_step(so_optimizer *opt, void *params, const void *grads);

double so_optimizer_lr(const so_optimizer *opt);
/* Sets the learning rate for the following steps. A negative or non-finite lr is ignored:
 * the old value stays, and the error detail and a warning log message record it. */
void so_optimizer_set_lr(so_optimizer *opt, double lr);
/* Completed steps. */
uint64_t so_optimizer_steps(const so_optimizer *opt);
const so_optim_params *so_optimizer_params(const so_optimizer *opt);

/* Serializes the full state (method, precision, n, hyperparameters, step count, buffers)
 * into a self-describing little-endian byte string with a CRC-32. With buf NULL, returns
 * the size needed in *size. Otherwise *size is the capacity on input and the bytes written
 * on output. A capacity that is too small fails with SO_ERR_RANGE and sets *size to the
 * size needed. */
int so_optimizer_save(const so_optimizer *opt, void *buf, size_t *size);
/* Restores a state written by so_optimizer_save into opt, replacing its hyperparameters,
 * step count and buffers, so that the next steps equal those of the saved optimizer bit
 * for bit. Fails with SO_ERR_INVALID if the method, precision or n differ, and with
 * SO_ERR_FORMAT on truncated or corrupt bytes; on failure opt is unchanged. */
int so_optimizer_load(so_optimizer *opt, const void *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
